//! A node's storage: the [`Disk`] a host persists through, the on-disk
//! record log with its recovery policy, and a typed disk for model checking.
//!
//! - [`RecordLog`]: every durable write is encoded with [`crate::wire::disk`]
//!   (the checksummed record format) and appended to a byte log; a restarted
//!   node recovers by decoding those bytes with the recovery policy in
//!   [`RecordLog::recover`]. When a snapshot compacts the log, the byte log
//!   is rewritten from the compacted state, as a node rewrites its file.
//!   The simulator runs it with byte-level faults (torn writes, bit rot), so
//!   the recovery policy meets them on the real decoder.
//! - [`VaultDisk`] itself (typed, plain data) is a disk that never fails,
//!   for the model checker and the fuzzer.
//!
//! The recovery policy: every record up to the first bad one is kept. A bad
//! last record is a write torn by a crash, and is dropped; a bad record in
//! the middle is corruption, and the node starts from the valid prefix
//! before it, an older state: a rollback, which the quorums tolerate on at
//! most R nodes.

use crate::vault::crypto::VaultCrypto;
use crate::vault::ids::LogIndex;
use crate::vault::node::{VaultDisk, VaultWrite};
use crate::vault::raft::durable::DiskWrite;
use crate::wire::disk::{decode_log, encode_record, DiskLimits, Tail};

/// Where a node host keeps what must survive a crash.
pub trait Disk<C: VaultCrypto> {
    /// Makes `write` durable, after every earlier write. Returns the byte
    /// range of the disk it now occupies (the whole disk if it was
    /// rewritten), for a scanner that looks for secrets on disk.
    fn persist(&mut self, write: &VaultWrite<C>) -> std::ops::Range<usize>;
    /// What a restarting node reads, and how it was found.
    fn recover(&mut self) -> (VaultDisk<C>, Recovery);
}

impl<C: VaultCrypto> Disk<C> for VaultDisk<C> {
    fn persist(&mut self, write: &VaultWrite<C>) -> std::ops::Range<usize> {
        self.apply(write);
        0..0
    }

    fn recover(&mut self) -> (VaultDisk<C>, Recovery) {
        (self.clone(), Recovery::Clean)
    }
}

/// How recovery found a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Every record was intact.
    Clean,
    /// The last write was torn; it was dropped.
    TornTail,
    /// A record in the middle was corrupt: the node restarted from the valid
    /// prefix, which is an older state (a rollback).
    Corrupt {
        /// Where the bad record starts.
        offset: usize,
    },
}

/// A node's record log: its bytes, and the typed state they hold. See the
/// module documentation.
#[derive(Clone, Debug)]
pub struct RecordLog<C: VaultCrypto> {
    bytes: Vec<u8>,
    state: VaultDisk<C>,
    /// The bytes were damaged from outside since the last recovery, so they
    /// may no longer decode to `state`.
    damaged: bool,
}

impl<C: VaultCrypto> Default for RecordLog<C> {
    fn default() -> Self {
        RecordLog {
            bytes: Vec::new(),
            state: VaultDisk::default(),
            damaged: false,
        }
    }
}

fn record<C: VaultCrypto>(write: &VaultWrite<C>) -> Vec<u8> {
    // A write that cannot be encoded is a bug in the node, not a fault.
    encode_record(write, &DiskLimits::DEFAULT).expect("every disk write encodes")
}

impl<C: VaultCrypto> RecordLog<C> {
    /// The disk holding exactly `state`.
    pub fn from_state(state: VaultDisk<C>) -> Self {
        let mut bytes = Vec::new();
        bytes.extend(record::<C>(&DiskWrite::HardState {
            term: state.term,
            voted_for: state.voted_for,
        }));
        if let Some((index, index_term, s)) = &state.snapshot {
            bytes.extend(record::<C>(&DiskWrite::Snapshot {
                index: *index,
                index_term: *index_term,
                state: s.clone(),
            }));
        }
        let first = state.log.base_index().next();
        let entries: Vec<_> = (first.0..=state.log.last_index().0)
            .filter_map(|i| state.log.get(LogIndex(i)).cloned())
            .collect();
        if !entries.is_empty() {
            bytes.extend(record::<C>(&DiskWrite::Entries { first, entries }));
        }
        RecordLog {
            bytes,
            state,
            damaged: false,
        }
    }

    /// The typed state the bytes hold.
    pub fn state(&self) -> &VaultDisk<C> {
        &self.state
    }

    /// The bytes on disk.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A crash in the middle of writing `write` (a fault, for simulators):
    /// only its first `keep` bytes (fewer than the whole record) reach the
    /// disk.
    pub fn tear(&mut self, write: &VaultWrite<C>, keep: usize) {
        let rec = record::<C>(write);
        let keep = keep % rec.len().max(1);
        self.bytes.extend_from_slice(&rec[..keep]);
    }

    /// Flips one bit of the record area at `offset % len` (bit rot; a
    /// fault, for simulators).
    pub fn flip_bit(&mut self, offset: usize, bit: u8) {
        if self.bytes.is_empty() {
            return;
        }
        let at = offset % self.bytes.len();
        self.bytes[at] ^= 1 << (bit % 8);
        self.damaged = true;
    }
}

impl<C: VaultCrypto> Disk<C> for RecordLog<C> {
    /// Appends the write's record; a snapshot rewrites the whole log from
    /// the compacted state.
    fn persist(&mut self, write: &VaultWrite<C>) -> std::ops::Range<usize> {
        self.state.apply(write);
        if matches!(write, DiskWrite::Snapshot { .. }) {
            *self = RecordLog::from_state(std::mem::take(&mut self.state));
            return 0..self.bytes.len();
        }
        let start = self.bytes.len();
        self.bytes.extend(record::<C>(write));
        start..self.bytes.len()
    }

    /// Decodes the bytes with the recovery policy (see the module
    /// documentation), cuts a torn tail, and returns what a restarted node
    /// reads. The log then holds exactly that.
    fn recover(&mut self) -> (VaultDisk<C>, Recovery) {
        let (writes, tail) = decode_log::<VaultWrite<C>>(&self.bytes, &DiskLimits::DEFAULT);
        let mut state = VaultDisk::<C>::default();
        for w in &writes {
            state.apply(w);
        }
        let recovery = match &tail {
            Tail::Clean => Recovery::Clean,
            // Rot in the last record looks exactly like a torn write (the
            // recovery rule cannot tell them apart): the node comes back
            // without that write, which is a rollback.
            Tail::Torn { valid_len, .. } if state != self.state => {
                Recovery::Corrupt { offset: *valid_len }
            }
            Tail::Torn { .. } => Recovery::TornTail,
            Tail::Corrupt(c) => Recovery::Corrupt { offset: c.offset },
        };
        if !self.damaged {
            // Undamaged, the bytes and the typed copy never disagree.
            assert!(
                state == self.state,
                "the record log's bytes do not decode to its state"
            );
        }
        *self = RecordLog::from_state(state.clone());
        (state, recovery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::SymbolicCrypto;
    use crate::vault::ids::{NodeId, Term};
    use crate::vault::raft::log::Entry;
    use crate::vault::records::RecordStore;

    type Log = RecordLog<SymbolicCrypto>;
    type Write = VaultWrite<SymbolicCrypto>;

    fn hard(term: u64) -> Write {
        DiskWrite::HardState {
            term: Term(term),
            voted_for: Some(NodeId(1)),
        }
    }

    fn noops(first: u64, n: u64, term: u64) -> Write {
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

    fn written(writes: &[Write]) -> (Log, VaultDisk<SymbolicCrypto>) {
        let mut log = Log::default();
        let mut typed = VaultDisk::default();
        for w in writes {
            let range = log.persist(w);
            assert_eq!(range.end, log.bytes().len(), "a write ends the log");
            typed.apply(w);
        }
        (log, typed)
    }

    #[test]
    fn a_clean_log_recovers_every_write() {
        let (mut log, typed) = written(&[hard(1), noops(1, 3, 1), hard(2), noops(4, 2, 2)]);
        let (state, recovery) = log.recover();
        assert_eq!(recovery, Recovery::Clean);
        assert_eq!(state, typed);
        assert_eq!(log.state(), &typed);
        // A new disk recovers to nothing.
        assert_eq!(
            Log::default().recover(),
            (VaultDisk::default(), Recovery::Clean)
        );
    }

    #[test]
    fn a_torn_last_write_is_dropped() {
        let (mut log, typed) = written(&[hard(1), noops(1, 3, 1)]);
        for keep in [1, 5, 20] {
            let mut torn = log.clone();
            torn.tear(&noops(4, 2, 1), keep);
            assert!(torn.bytes().len() > log.bytes().len());
            assert_eq!(torn.recover(), (typed.clone(), Recovery::TornTail));
        }
        assert_eq!(log.recover().1, Recovery::Clean);
    }

    #[test]
    fn rot_in_the_middle_restarts_from_the_valid_prefix() {
        let (log, typed) = written(&[hard(1), noops(1, 3, 1), hard(2)]);
        let first_len = written(&[hard(1)]).0.bytes().len();
        let mut rotted = log.clone();
        // A bit inside the second record: the first survives, the rest not.
        rotted.flip_bit(first_len + 3, 2);
        let (state, recovery) = rotted.recover();
        assert_eq!(recovery, Recovery::Corrupt { offset: first_len });
        assert_eq!(state.term, Term(1));
        assert_eq!(state.log.last_index(), LogIndex(0));
        assert_ne!(state, typed);
        // The log now holds exactly what it recovered.
        assert_eq!(rotted.state(), &state);
        assert_eq!(rotted.recover(), (state, Recovery::Clean));
    }

    #[test]
    fn rot_flips_exactly_the_bit_asked_for() {
        let (log, _) = written(&[hard(1), noops(1, 3, 1)]);
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
        let (log, typed) = written(&[hard(1), noops(1, 3, 1)]);
        let mut rotted = log.clone();
        rotted.flip_bit(log.bytes().len() - 2, 0);
        let (state, recovery) = rotted.recover();
        assert!(matches!(recovery, Recovery::Corrupt { .. }), "{recovery:?}");
        assert_ne!(state, typed);
    }

    #[test]
    fn a_snapshot_rewrites_the_log_from_the_compacted_state() {
        let (mut log, mut typed) = written(&[hard(1), noops(1, 5, 1)]);
        let before = log.bytes().len();
        let snapshot: Write = DiskWrite::Snapshot {
            index: LogIndex(4),
            index_term: Term(1),
            state: RecordStore::new(3),
        };
        let range = log.persist(&snapshot);
        typed.apply(&snapshot);
        assert_eq!(range, 0..log.bytes().len(), "the whole log was rewritten");
        assert_ne!(log.bytes().len(), before);
        assert_eq!(log.state(), &typed);
        assert_eq!(log.recover(), (typed, Recovery::Clean));
    }
}
