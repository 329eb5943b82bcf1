//! A simulated node disk: real bytes in the real record format.
//!
//! Every durable write is encoded with [`backup_vault::wire::disk`] (the
//! checksummed record format a real node writes) and appended to a byte log;
//! a restarted node recovers by decoding those bytes with the same recovery
//! rule a real node uses. So a torn last write and a corrupted record are
//! exercised on the real decoder, not imagined.
//!
//! A typed copy of the disk is kept next to the bytes (`state`): checkers
//! read it, and recovery asserts that decoding the bytes gives it back.
//! When a snapshot compacts the log, the byte log is rewritten from the
//! typed state, as a real node would rewrite its file.

use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::node::{VaultDisk, VaultWrite};
use backup_vault::vault::raft::durable::DiskWrite;
use backup_vault::wire::disk::{decode_log, encode_record, DiskLimits, Tail};

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

/// One node's disk. See the module documentation.
#[derive(Clone, Debug)]
pub struct SimDisk<C: VaultCrypto> {
    bytes: Vec<u8>,
    state: VaultDisk<C>,
    /// A bit was flipped since the last recovery.
    rotted: bool,
}

impl<C: VaultCrypto> Default for SimDisk<C> {
    fn default() -> Self {
        SimDisk {
            bytes: Vec::new(),
            state: VaultDisk::default(),
            rotted: false,
        }
    }
}

fn record<C: VaultCrypto>(write: &VaultWrite<C>) -> Vec<u8> {
    // A write that cannot be encoded is a bug in the node, not a fault.
    encode_record(write, &DiskLimits::DEFAULT).expect("every disk write encodes")
}

impl<C: VaultCrypto> SimDisk<C> {
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
            .filter_map(|i| {
                state
                    .log
                    .get(backup_vault::vault::ids::LogIndex(i))
                    .cloned()
            })
            .collect();
        if !entries.is_empty() {
            bytes.extend(record::<C>(&DiskWrite::Entries { first, entries }));
        }
        SimDisk {
            bytes,
            state,
            rotted: false,
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

    /// Makes `write` durable: appends its record. Returns the record's bytes
    /// (for the secret scanner).
    pub fn append(&mut self, write: &VaultWrite<C>) -> std::ops::Range<usize> {
        self.state.apply(write);
        if matches!(write, DiskWrite::Snapshot { .. }) {
            // Compaction: the file is rewritten from the compacted state.
            *self = SimDisk::from_state(std::mem::take(&mut self.state));
            return 0..self.bytes.len();
        }
        let start = self.bytes.len();
        self.bytes.extend(record::<C>(write));
        start..self.bytes.len()
    }

    /// A crash in the middle of writing `write`: only its first `keep`
    /// bytes (fewer than the whole record) reach the disk.
    pub fn tear(&mut self, write: &VaultWrite<C>, keep: usize) {
        let rec = record::<C>(write);
        let keep = keep % rec.len().max(1);
        self.bytes.extend_from_slice(&rec[..keep]);
    }

    /// Flips one bit of the record area at `offset % len` (bit rot).
    pub fn flip_bit(&mut self, offset: usize, bit: u8) {
        if self.bytes.is_empty() {
            return;
        }
        let at = offset % self.bytes.len();
        self.bytes[at] ^= 1 << (bit % 8);
        self.rotted = true;
    }

    /// Recovery after a restart: decodes the bytes with the real recovery
    /// rule, cuts a torn tail, and returns what a restarted node reads.
    pub fn recover(&mut self) -> (VaultDisk<C>, Recovery) {
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
        if !self.rotted {
            // Without rot, the bytes and the typed copy never disagree.
            assert!(
                state == self.state,
                "simulator bug: the disk's bytes do not decode to its state"
            );
        }
        *self = SimDisk::from_state(state.clone());
        (state, recovery)
    }
}
