//! Crash consistency of [`FileDisk`], in the manner of redb's
//! `crash_consistency` test: every state a crash can leave the file in is
//! built, and the disk must recover from each to a prefix of what was
//! written, never to anything else, and go on appending after it.
//!
//! The crash model: a crash keeps every byte synced by a flush, and of the
//! bytes written since, any prefix (a torn append). A replace (a snapshot)
//! is atomic: the old file or the new one.

use backup_vault::vault::crypto::SymbolicCrypto;
use backup_vault::vault::ids::{LogIndex, NodeId, Term};
use backup_vault::vault::node::VaultWrite;
use backup_vault::vault::raft::durable::DiskWrite;
use backup_vault::vault::raft::log::Entry;
use backup_vault::vault::sealed::{DiskCursor, DiskOp, StoredRecord};
use backup_vault::vault::storage::{Disk, Recovery};
use backup_vault_runtime::disk::{FileDisk, LOG_FILE};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

type C = SymbolicCrypto;

fn writes(n: u64) -> Vec<VaultWrite<C>> {
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                DiskWrite::HardState {
                    term: Term(i + 1),
                    voted_for: Some(NodeId(1)),
                }
            } else {
                DiskWrite::Entries {
                    first: LogIndex(i),
                    entries: vec![Entry {
                        term: Term(i),
                        command: None,
                    }],
                }
            }
        })
        .collect()
}

fn sealed(n: u64, seed: u64) -> Vec<StoredRecord<C>> {
    let rng = &mut ChaCha8Rng::seed_from_u64(seed);
    let mut cursor = DiskCursor::new_segment(None, rng);
    writes(n)
        .into_iter()
        .map(
            |w| match cursor.append(&SymbolicCrypto, NodeId(0), w, rng, false) {
                DiskOp::Append(r) => r,
                DiskOp::Replace(r) => r,
            },
        )
        .collect()
}

#[test]
fn every_torn_state_recovers_to_a_prefix_and_appends_after_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let records = sealed(7, 1);
    // Write them, syncing after the third: the synced prefix.
    let full = tmp.path().join("full");
    let mut disk = FileDisk::<C>::open(&full).expect("open");
    let (none, clean) = disk.read();
    assert!(none.is_empty() && clean == Recovery::Clean);
    let mut ends = Vec::new();
    for (i, r) in records.iter().enumerate() {
        disk.persist(&DiskOp::Append(r.clone()));
        if i == 2 {
            disk.flush();
        }
        ends.push(std::fs::metadata(full.join(LOG_FILE)).expect("meta").len());
    }
    disk.flush();
    assert!(disk.failure().is_none());
    let bytes = std::fs::read(full.join(LOG_FILE)).expect("read");
    assert_eq!(bytes.len() as u64, *ends.last().expect("written"));
    let synced = ends[2] as usize;
    let more = sealed(2, 2);

    // Every length a crash can leave: the synced prefix plus any prefix of the rest.
    for cut in synced..=bytes.len() {
        let dir = tmp.path().join(format!("cut-{cut}"));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(LOG_FILE), &bytes[..cut]).expect("write");
        let mut disk = FileDisk::<C>::open(&dir).expect("open");
        let (got, recovery) = disk.read();
        let whole = ends.iter().filter(|&&e| e as usize <= cut).count();
        assert_eq!(got, records[..whole], "cut at {cut}");
        let at_boundary = cut == 0 || ends.contains(&(cut as u64));
        assert_eq!(
            recovery,
            if at_boundary {
                Recovery::Clean
            } else {
                Recovery::TornTail
            },
            "cut at {cut}"
        );
        // The torn tail was cut off: appends continue after the last whole record.
        for r in &more {
            disk.persist(&DiskOp::Append(r.clone()));
        }
        disk.flush();
        let (again, recovery) = disk.read();
        let mut expected = records[..whole].to_vec();
        expected.extend(more.iter().cloned());
        assert_eq!(again, expected, "cut at {cut}, then appended");
        assert_eq!(recovery, Recovery::Clean);
    }
}

#[test]
fn a_replace_is_the_old_file_or_the_new_and_keep_cuts_to_whole_records() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("node");
    let records = sealed(5, 3);
    let mut disk = FileDisk::<C>::open(&dir).expect("open");
    let _ = disk.read();
    for r in &records {
        disk.persist(&DiskOp::Append(r.clone()));
    }
    disk.flush();
    // A snapshot replaces the file; a stale temporary file from a crash
    // mid-replace is ignored.
    std::fs::write(dir.join(format!(".{LOG_FILE}.tmp")), b"half a snapshot").expect("tmp");
    disk.persist(&DiskOp::Replace(records[4].clone()));
    let (got, recovery) = disk.read();
    assert_eq!((got, recovery), (vec![records[4].clone()], Recovery::Clean));
    // keep(n): the node found records after n not authentic.
    for r in &records[..3] {
        disk.persist(&DiskOp::Append(r.clone()));
    }
    disk.flush();
    disk.keep(2);
    let (got, _) = disk.read();
    assert_eq!(got, vec![records[4].clone(), records[0].clone()]);
}

#[test]
fn corruption_in_the_middle_is_reported_and_the_valid_prefix_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("node");
    let records = sealed(4, 4);
    let mut disk = FileDisk::<C>::open(&dir).expect("open");
    let _ = disk.read();
    let mut ends = Vec::new();
    for r in &records {
        disk.persist(&DiskOp::Append(r.clone()));
        ends.push(std::fs::metadata(dir.join(LOG_FILE)).expect("meta").len() as usize);
    }
    disk.flush();
    drop(disk);
    let path = dir.join(LOG_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[ends[0] + 3] ^= 0x40; // inside the second record
    std::fs::write(&path, &bytes).expect("write");
    let mut disk = FileDisk::<C>::open(&dir).expect("open");
    let (got, recovery) = disk.read();
    assert_eq!(got, records[..1]);
    assert!(matches!(recovery, Recovery::Corrupt { .. }), "{recovery:?}");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").len() as usize,
        ends[0]
    );
}
