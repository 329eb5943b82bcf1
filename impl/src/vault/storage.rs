//! A node's storage: the [`Disk`] a host persists through, the on-disk
//! record log with its recovery policy, and a plain disk for model checking.
//!
//! What a disk holds are the node's sealed records ([`StoredRecord`]): the
//! host stores them and gives them back, and cannot read them (see
//! [`super::sealed`]). Two layers decide what a restarted node starts from:
//! - the disk's framing ([`RecordLog::read`]): every record up to the first
//!   bad one is kept. A bad last record is a write torn by a crash, and is
//!   dropped; a bad record in the middle is corruption, and what follows it
//!   is not read.
//! - the node's seal ([`super::sealed::open_disk`]): of what the framing
//!   returned, the node keeps the records that open where they stand, up to
//!   the first that does not (an edited, swapped, replayed or foreign
//!   record), and the host cuts the file there ([`Disk::keep`]).
//!
//! Either way the node starts from an authentic prefix of its own history,
//! an older state: a rollback, which the quorums tolerate on at most R
//! nodes.
//!
//! - [`RecordLog`]: every record is encoded with [`crate::wire::disk`] (the
//!   checksummed record format) and appended to a byte log; a `Replace`
//!   rewrites the whole log, as a node writes a new file and renames it.
//!   The simulator runs it with byte-level faults (torn writes, bit rot), so
//!   the recovery policy meets them on the real decoder.
//! - [`SealedDisk`]: the records as plain data, a disk that never fails,
//!   for the model checker and the fuzzer.

use crate::vault::crypto::VaultCrypto;
use crate::vault::sealed::{DiskOp, StoredRecord};
use crate::wire::disk::{decode_log, encode_record, DiskLimits, Tail};

/// Where a node host keeps what must survive a crash.
pub trait Disk<C: VaultCrypto> {
    /// Writes `op` after every earlier one; it is durable once the next
    /// [`Disk::flush`] returns (a disk whose writes are durable at once has
    /// nothing to flush). Returns the byte range of the disk it now
    /// occupies (the whole disk if it was rewritten), for a scanner that
    /// looks for secrets on disk.
    fn persist(&mut self, op: &DiskOp<C>) -> std::ops::Range<usize>;
    /// The records a restarting node reads, in order, and how the disk's
    /// framing was found.
    fn read(&mut self) -> (Vec<StoredRecord<C>>, Recovery);
    /// Cuts the disk to its first `n` records: the node found the rest not
    /// authentic, and appends after them.
    fn keep(&mut self, n: usize);
    /// Makes every op handed to [`Disk::persist`] durable. [`NodeHost::sync`]
    /// calls it once per batch, after the batch's persists and before the node
    /// hears [`Input::Persisted`], so that a disk on a file system can write
    /// each op as it comes and pay one `fsync` for the batch (group commit).
    /// A disk whose `persist` is already durable has nothing to do.
    ///
    /// [`NodeHost::sync`]: super::host::NodeHost::sync
    /// [`Input::Persisted`]: super::io::Input::Persisted
    fn flush(&mut self) {}
}

/// A disk that holds the records as plain data and never fails: for the
/// model checker and the fuzzer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SealedDisk<C: VaultCrypto> {
    /// The records, in order.
    pub records: Vec<StoredRecord<C>>,
}

impl<C: VaultCrypto> Default for SealedDisk<C> {
    fn default() -> Self {
        SealedDisk {
            records: Vec::new(),
        }
    }
}

impl<C: VaultCrypto> Disk<C> for SealedDisk<C> {
    fn persist(&mut self, op: &DiskOp<C>) -> std::ops::Range<usize> {
        match op {
            DiskOp::Append(r) => self.records.push(r.clone()),
            DiskOp::Replace(r) => self.records = vec![r.clone()],
        }
        0..0
    }

    fn read(&mut self) -> (Vec<StoredRecord<C>>, Recovery) {
        (self.records.clone(), Recovery::Clean)
    }

    fn keep(&mut self, n: usize) {
        self.records.truncate(n);
    }
}

/// How recovery found a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Every record was intact and authentic.
    Clean,
    /// The last write was torn; it was dropped.
    TornTail,
    /// A record in the middle was corrupt: the node restarted from the valid
    /// prefix, which is an older state (a rollback).
    Corrupt {
        /// Where the bad record starts.
        offset: usize,
    },
    /// The framing was intact, but record `record` (counted from 0) did
    /// not open where it stood: edited, swapped, replayed or foreign. The
    /// node restarted from the records before it (a rollback).
    Forged {
        /// The first record that did not open.
        record: usize,
    },
}

/// A node's record log: its bytes, and the records they hold. See the
/// module documentation.
#[derive(Clone, Debug)]
pub struct RecordLog<C: VaultCrypto> {
    bytes: Vec<u8>,
    records: Vec<StoredRecord<C>>,
    /// The bytes were damaged from outside since the last recovery, so they
    /// may no longer decode to `records`.
    damaged: bool,
}

impl<C: VaultCrypto> Default for RecordLog<C> {
    fn default() -> Self {
        RecordLog {
            bytes: Vec::new(),
            records: Vec::new(),
            damaged: false,
        }
    }
}

fn frame<C: VaultCrypto>(record: &StoredRecord<C>) -> Vec<u8> {
    // A record that cannot be encoded is a bug in the node, not a fault.
    encode_record(record, &DiskLimits::DEFAULT).expect("every disk record encodes")
}

impl<C: VaultCrypto> RecordLog<C> {
    /// The disk holding exactly `records`.
    pub fn from_records(records: Vec<StoredRecord<C>>) -> Self {
        let mut bytes = Vec::new();
        for record in &records {
            bytes.extend_from_slice(&frame::<C>(record));
        }
        RecordLog {
            bytes,
            records,
            damaged: false,
        }
    }

    /// The records the bytes hold (as written; damage from outside shows
    /// only when the log is read).
    pub fn records(&self) -> &[StoredRecord<C>] {
        &self.records
    }

    /// The bytes on disk.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A crash in the middle of writing `op` (a fault, for simulators):
    /// only its first `keep` bytes (fewer than the whole record) reach the
    /// disk. A torn `Replace` leaves the old file whole: the new file was
    /// never renamed over it.
    pub fn tear(&mut self, op: &DiskOp<C>, keep: usize) {
        if let DiskOp::Append(record) = op {
            let rec = frame::<C>(record);
            let keep = keep % rec.len().max(1);
            self.bytes.extend_from_slice(&rec[..keep]);
        }
    }

    /// Flips one bit of the record area at `offset % len` (bit rot, or a
    /// host editing its disk; a fault, for simulators).
    pub fn flip_bit(&mut self, offset: usize, bit: u8) {
        if self.bytes.is_empty() {
            return;
        }
        let at = offset % self.bytes.len();
        self.bytes[at] ^= 1 << (bit % 8);
        self.damaged = true;
    }

    /// Replaces the records from `at` on by `records`, re-framed so the
    /// framing is intact: what a host that edits its disk can do without
    /// any key (a fault, for simulators: swap, replay, splice).
    pub fn splice(&mut self, at: usize, records: Vec<StoredRecord<C>>) {
        let mut all = self.records[..at.min(self.records.len())].to_vec();
        all.extend(records);
        *self = RecordLog::from_records(all);
    }
}

impl<C: VaultCrypto> Disk<C> for RecordLog<C> {
    /// Appends the record; a `Replace` rewrites the whole log.
    fn persist(&mut self, op: &DiskOp<C>) -> std::ops::Range<usize> {
        match op {
            DiskOp::Append(record) => {
                let start = self.bytes.len();
                self.bytes.extend(frame::<C>(record));
                self.records.push(record.clone());
                start..self.bytes.len()
            }
            DiskOp::Replace(record) => {
                *self = RecordLog::from_records(vec![record.clone()]);
                0..self.bytes.len()
            }
        }
    }

    /// Decodes the bytes with the recovery policy (see the module
    /// documentation) and cuts a torn tail. The log then holds exactly the
    /// records returned.
    fn read(&mut self) -> (Vec<StoredRecord<C>>, Recovery) {
        let (records, tail) = decode_log::<StoredRecord<C>>(&self.bytes, &DiskLimits::DEFAULT);
        let recovery = match &tail {
            Tail::Clean => Recovery::Clean,
            // Rot in the last record looks exactly like a torn write (the
            // recovery rule cannot tell them apart): the node comes back
            // without that write, which is a rollback.
            Tail::Torn { valid_len, .. } if records != self.records => {
                Recovery::Corrupt { offset: *valid_len }
            }
            Tail::Torn { .. } => Recovery::TornTail,
            // Damage past every record the log held is what a crash left
            // of its last write, rotted too (a flipped length can make it
            // look like a whole record with bytes after it): dropping it
            // loses nothing, so it is a torn write, not a rollback.
            Tail::Corrupt(_) if records == self.records => Recovery::TornTail,
            Tail::Corrupt(c) => Recovery::Corrupt { offset: c.offset },
        };
        if !self.damaged {
            // Undamaged, the bytes and the records never disagree.
            assert!(
                records == self.records,
                "the record log's bytes do not decode to its records"
            );
        }
        *self = RecordLog::from_records(records.clone());
        (records, recovery)
    }

    fn keep(&mut self, n: usize) {
        if n < self.records.len() {
            let kept = self.records[..n].to_vec();
            *self = RecordLog::from_records(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::SymbolicCrypto;
    use crate::vault::ids::{LogIndex, NodeId, Term};
    use crate::vault::node::{VaultDisk, VaultWrite};
    use crate::vault::raft::durable::DiskWrite;
    use crate::vault::raft::log::Entry;
    use crate::vault::sealed::DiskCursor;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    type Log = RecordLog<SymbolicCrypto>;
    type Op = DiskOp<SymbolicCrypto>;

    fn hard(term: u64) -> VaultWrite<SymbolicCrypto> {
        DiskWrite::HardState {
            term: Term(term),
            voted_for: Some(NodeId(1)),
        }
    }

    fn noops(first: u64, n: u64, term: u64) -> VaultWrite<SymbolicCrypto> {
        DiskWrite::Entries {
            first: LogIndex(first),
            entries: (0..n)
                .map(|_| Entry {
                    term: Term(term),
                    command: None,
                })
                .collect(),
        }
    }

    /// The ops a node would issue for `writes`.
    fn sealed(writes: Vec<VaultWrite<SymbolicCrypto>>) -> Vec<Op> {
        let rng = &mut ChaCha8Rng::seed_from_u64(1);
        let mut cursor = DiskCursor::new_segment(None, rng);
        writes
            .into_iter()
            .map(|w| cursor.append(&SymbolicCrypto, NodeId(0), w, rng, false))
            .collect()
    }

    /// A compaction's file: one image (of an empty state).
    fn empty_image(seed: u64) -> Op {
        let rng = &mut ChaCha8Rng::seed_from_u64(seed);
        DiskCursor::new_segment(None, rng).replace(
            &SymbolicCrypto,
            NodeId(0),
            VaultDisk::default(),
            rng,
            false,
        )
    }

    fn written(ops: &[Op]) -> Log {
        let mut log = Log::default();
        for op in ops {
            let range = log.persist(op);
            assert_eq!(range.end, log.bytes().len(), "a write ends the log");
        }
        log
    }

    fn records(ops: &[Op]) -> Vec<StoredRecord<SymbolicCrypto>> {
        ops.iter().map(|op| op.record().clone()).collect()
    }

    #[test]
    fn a_clean_log_reads_back_every_record() {
        let ops = sealed(vec![hard(1), noops(1, 3, 1), hard(2), noops(4, 2, 2)]);
        let mut log = written(&ops);
        assert_eq!(log.read(), (records(&ops), Recovery::Clean));
        assert_eq!(log.records(), &records(&ops)[..]);
        assert_eq!(Log::default().read(), (Vec::new(), Recovery::Clean));
    }

    #[test]
    fn a_torn_last_write_is_dropped_and_a_torn_replace_leaves_the_old_file() {
        let ops = sealed(vec![hard(1), noops(1, 3, 1), noops(4, 2, 1)]);
        let log = written(&ops[..2]);
        for keep in [1, 5, 20] {
            let mut torn = log.clone();
            torn.tear(&ops[2], keep);
            assert!(torn.bytes().len() > log.bytes().len());
            assert_eq!(torn.read(), (records(&ops[..2]), Recovery::TornTail));
        }
        let replace = empty_image(2);
        let mut torn = log.clone();
        torn.tear(&replace, 7);
        assert_eq!(
            torn.bytes(),
            log.bytes(),
            "the new file never replaced the old"
        );
    }

    #[test]
    fn rot_in_a_torn_write_is_still_a_torn_write() {
        // Seen at seed 442 of `sim sweep --nodes 3 --faults all --nemesis
        // crash-leader-after-append`: a torn write's remains, rotted, read
        // as a corrupt record with bytes after it, and the restart reported
        // a rollback though every record it held was kept.
        let ops = sealed(vec![hard(1), noops(1, 3, 1), noops(4, 2, 1)]);
        let log = written(&ops[..2]);
        let whole = written(&ops).bytes().len() - log.bytes().len();
        for keep in [whole / 2, whole - 1] {
            let mut torn = log.clone();
            torn.tear(&ops[2], keep);
            for at in log.bytes().len()..torn.bytes().len() {
                for bit in 0..8 {
                    let mut rotted = torn.clone();
                    rotted.flip_bit(at, bit);
                    assert_eq!(
                        rotted.read(),
                        (records(&ops[..2]), Recovery::TornTail),
                        "keep {keep}, bit {bit} of byte {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn rot_in_the_middle_keeps_the_valid_prefix() {
        let ops = sealed(vec![hard(1), noops(1, 3, 1), hard(2)]);
        let log = written(&ops);
        let first_len = written(&ops[..1]).bytes().len();
        let mut rotted = log.clone();
        rotted.flip_bit(first_len + 3, 2);
        let (read, recovery) = rotted.read();
        assert_eq!(recovery, Recovery::Corrupt { offset: first_len });
        assert_eq!(read, records(&ops[..1]));
        assert_eq!(rotted.records(), &read[..], "the log holds what it read");
        assert_eq!(rotted.read(), (read, Recovery::Clean));
    }

    #[test]
    fn rot_flips_exactly_the_bit_asked_for() {
        let log = written(&sealed(vec![hard(1), noops(1, 3, 1)]));
        let mut rotted = log.clone();
        let at = log.bytes().len() + 5; // wraps around to offset 5
        rotted.flip_bit(at, 10); // bit 10 % 8 = 2
        let diff: Vec<(usize, u8)> = log
            .bytes()
            .iter()
            .zip(rotted.bytes())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i, a ^ b))
            .collect();
        assert_eq!(diff, vec![(5, 1 << 2)]);
        rotted.flip_bit(at, 10);
        assert_eq!(rotted.bytes(), log.bytes(), "a second flip restores it");
    }

    #[test]
    fn rot_in_the_last_record_is_a_rollback_not_a_torn_write() {
        let ops = sealed(vec![hard(1), noops(1, 3, 1)]);
        let log = written(&ops);
        let mut rotted = log.clone();
        rotted.flip_bit(log.bytes().len() - 2, 0);
        let (read, recovery) = rotted.read();
        assert!(matches!(recovery, Recovery::Corrupt { .. }), "{recovery:?}");
        assert_eq!(read, records(&ops[..1]));
    }

    #[test]
    fn a_replace_rewrites_the_log_and_keep_cuts_it() {
        let ops = sealed(vec![hard(1), noops(1, 5, 1)]);
        let mut log = written(&ops);
        let replace = empty_image(3);
        let range = log.persist(&replace);
        assert_eq!(range, 0..log.bytes().len(), "the whole log was rewritten");
        assert_eq!(
            log.read(),
            (vec![replace.record().clone()], Recovery::Clean)
        );
        let mut log = written(&ops);
        log.keep(1);
        assert_eq!(log.read(), (records(&ops[..1]), Recovery::Clean));
        let mut plain = SealedDisk::default();
        for op in &ops {
            plain.persist(op);
        }
        plain.keep(5);
        assert_eq!(plain.read(), (records(&ops), Recovery::Clean));
        plain.persist(&replace);
        assert_eq!(plain.records, vec![replace.record().clone()]);
    }
}
