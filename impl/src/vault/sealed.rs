//! What a node hands its host, sealed: its disk records and its messages to
//! peers, and how a restarting node reads its disk back.
//!
//! The node is the HSM; its host (the machine, its disk, its network) is
//! not trusted. Everything the node persists or sends is sealed with
//! [`VaultCrypto::seal`] for a [`SealPlace`] that binds it to where it
//! belongs, so the host can store, drop, delay, copy and reorder it, and
//! can neither read it nor make anything the node accepts.
//!
//! # The disk
//! A node's file is a chain of *segments*. A segment is a run of records
//! one incarnation of the node appended, in order, under a segment id it
//! drew at random. Record `p` of segment `s` is sealed for
//! `Disk { node, segment: s, position: p, follows }`, where the first
//! record of a segment names the segment it continues and after how many
//! records (`follows`), or starts the file. A node that restarts starts a
//! new segment; a compaction replaces the file by one record holding the
//! node's whole durable image, in a new file.
//!
//! [`open_disk`] reads records from the start and stops at the first one
//! that does not open at its expected place. So what a restarted node
//! reads is always a state it had: an authentic prefix of its own history.
//! The host can roll a disk back (the quorums tolerate that on R nodes,
//! and the HSM's counter on more; see the protocol document), but it
//! cannot edit, swap, splice, replay records from another place, or move
//! records between nodes: each of those makes a record that does not open,
//! and the disk is read only up to it.
//!
//! # Messages
//! A message from `a` to `b` is sealed for `Wire { from: a, to: b }`. A
//! node drops (and counts) one that does not open. A host can still replay
//! an authentic message later, to the same node: that is a duplicated,
//! delayed message, which consensus already tolerates (terms and indices
//! make each message's effect idempotent or stale; see the protocol
//! document).

use super::crypto::{CryptoError, SealPlace, VaultCrypto};
use super::ids::NodeId;
use super::node::{VaultDisk, VaultPeerMessage, VaultWrite};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// What one disk record holds, once opened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum DiskRecord<C: VaultCrypto> {
    /// The node's whole durable state: the first record of a file written
    /// by a compaction.
    Image(VaultDisk<C>),
    /// One write, applied after the records before it.
    Write(VaultWrite<C>),
}

/// A disk record as the host stores it: the segment it belongs to and its
/// place in it, in the clear (the host needs nothing else), and the sealed
/// record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct StoredRecord<C: VaultCrypto> {
    /// The segment.
    pub segment: u64,
    /// The position within it.
    pub position: u64,
    /// For position 0: the segment it continues and after how many of its
    /// records; `None` if it starts the file.
    pub follows: Option<(u64, u64)>,
    /// The sealed record.
    pub sealed: C::Sealed<DiskRecord<C>>,
}

/// A message to a peer, sealed for the link.
pub type SealedMessage<C> = <C as VaultCrypto>::Sealed<VaultPeerMessage<C>>;

/// What a host does with one sealed write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DiskOp<C: VaultCrypto> {
    /// Append the record to the file.
    Append(StoredRecord<C>),
    /// Replace the whole file by this one record, atomically (write a new
    /// file, sync it, rename it over the old one). The old records, and
    /// any secret they held, are gone from the file.
    Replace(StoredRecord<C>),
}

impl<C: VaultCrypto> DiskOp<C> {
    /// The record written.
    pub fn record(&self) -> &StoredRecord<C> {
        match self {
            DiskOp::Append(r) | DiskOp::Replace(r) => r,
        }
    }
}

/// Where a node's next record goes: the node's half of the segment chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiskCursor {
    segment: u64,
    position: u64,
    follows: Option<(u64, u64)>,
}

impl DiskCursor {
    /// A new segment, continuing `follows` (the last authentic segment of
    /// the disk and its length), or starting the file.
    pub fn new_segment<R: RngCore>(follows: Option<(u64, u64)>, rng: &mut R) -> Self {
        DiskCursor {
            segment: rng.next_u64(),
            position: 0,
            follows,
        }
    }

    /// Seals `record` for the next place, and moves on.
    fn next<C: VaultCrypto, R: RngCore + CryptoRng>(
        &mut self,
        crypto: &C,
        node: NodeId,
        record: &DiskRecord<C>,
        rng: &mut R,
        in_clear: bool,
    ) -> StoredRecord<C> {
        let follows = if self.position == 0 {
            self.follows
        } else {
            None
        };
        let place = SealPlace::Disk {
            node,
            segment: self.segment,
            position: self.position,
            follows,
        };
        let sealed = if in_clear {
            C::in_clear(record)
        } else {
            crypto.seal(&place, record, rng)
        };
        let stored = StoredRecord {
            segment: self.segment,
            position: self.position,
            follows,
            sealed,
        };
        self.position += 1;
        stored
    }

    /// Seals one write, appended after the last record.
    pub fn append<C: VaultCrypto, R: RngCore + CryptoRng>(
        &mut self,
        crypto: &C,
        node: NodeId,
        write: VaultWrite<C>,
        rng: &mut R,
        in_clear: bool,
    ) -> DiskOp<C> {
        DiskOp::Append(self.next(crypto, node, &DiskRecord::Write(write), rng, in_clear))
    }

    /// Seals the node's whole durable image as a new file.
    pub fn replace<C: VaultCrypto, R: RngCore + CryptoRng>(
        &mut self,
        crypto: &C,
        node: NodeId,
        image: VaultDisk<C>,
        rng: &mut R,
        in_clear: bool,
    ) -> DiskOp<C> {
        *self = DiskCursor::new_segment(None, rng);
        DiskOp::Replace(self.next(crypto, node, &DiskRecord::Image(image), rng, in_clear))
    }
}

/// A disk as a restarting node reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedDisk<C: VaultCrypto> {
    /// The state its authentic records hold.
    pub state: VaultDisk<C>,
    /// How many records, from the start, are authentic; the host must cut
    /// the file to them before appending.
    pub authentic: usize,
    /// The last authentic segment and its length, which the next segment
    /// continues.
    pub last_segment: Option<(u64, u64)>,
    /// Why reading stopped before the end, if it did.
    pub stopped: Option<CryptoError>,
}

/// How a reader opens records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// Sealed records only: a node.
    Sealed,
    /// Records in the clear only: a node of the broken variant that writes
    /// in the clear.
    Clear,
    /// Either: an auditor holding the fleet's keys, who must see what any
    /// variant of the node wrote.
    Either,
}

fn open_record<C: VaultCrypto>(
    crypto: &C,
    place: &SealPlace,
    sealed: &C::Sealed<DiskRecord<C>>,
    reading: Reading,
) -> Result<DiskRecord<C>, CryptoError> {
    match reading {
        Reading::Sealed => crypto.open(place, sealed),
        Reading::Clear => C::read_clear(sealed).ok_or(CryptoError::Seal),
        Reading::Either => crypto
            .open(place, sealed)
            .or_else(|_| C::read_clear(sealed).ok_or(CryptoError::Seal)),
    }
}

/// Reads node `node`'s disk records in order, up to the first that does not
/// open where it stands (see the module documentation). `in_clear` reads
/// records left in the clear (a broken variant only).
pub fn open_disk<C: VaultCrypto>(
    crypto: &C,
    node: NodeId,
    records: &[StoredRecord<C>],
    in_clear: bool,
) -> OpenedDisk<C> {
    let reading = if in_clear {
        Reading::Clear
    } else {
        Reading::Sealed
    };
    read_disk(crypto, node, records, reading)
}

/// What an auditor holding the fleet's keys reads on node `node`'s disk:
/// as [`open_disk`], accepting sealed records and records in the clear
/// alike, so that checkers see what any variant of the node wrote.
pub fn audit_disk<C: VaultCrypto>(
    crypto: &C,
    node: NodeId,
    records: &[StoredRecord<C>],
) -> OpenedDisk<C> {
    read_disk(crypto, node, records, Reading::Either)
}

/// What an auditor holding the fleet's keys reads in one record of node
/// `node`'s disk, wherever it stands; `None` if it opens neither sealed
/// nor in the clear.
pub fn audit_record<C: VaultCrypto>(
    crypto: &C,
    node: NodeId,
    record: &StoredRecord<C>,
) -> Option<DiskRecord<C>> {
    let place = SealPlace::Disk {
        node,
        segment: record.segment,
        position: record.position,
        follows: record.follows,
    };
    open_record(crypto, &place, &record.sealed, Reading::Either).ok()
}

/// What an auditor holding the fleet's keys reads in a message sealed for
/// the link `from` to `to` (sealed or in the clear).
pub fn audit_message<C: VaultCrypto>(
    crypto: &C,
    from: NodeId,
    to: NodeId,
    sealed: &SealedMessage<C>,
) -> Option<VaultPeerMessage<C>> {
    crypto
        .open(&SealPlace::Wire { from, to }, sealed)
        .ok()
        .or_else(|| C::read_clear(sealed))
}

fn read_disk<C: VaultCrypto>(
    crypto: &C,
    node: NodeId,
    records: &[StoredRecord<C>],
    reading: Reading,
) -> OpenedDisk<C> {
    let mut state = VaultDisk::<C>::default();
    let mut current: Option<(u64, u64)> = None;
    for (i, r) in records.iter().enumerate() {
        // Where this record must stand: the next position of the current
        // segment, or the start of a segment continuing it.
        let in_place = match current {
            Some((segment, len)) if r.segment == segment => {
                r.position == len && r.follows.is_none()
            }
            _ => r.position == 0 && r.follows == current,
        };
        let place = SealPlace::Disk {
            node,
            segment: r.segment,
            position: r.position,
            follows: r.follows,
        };
        let opened = if in_place {
            open_record(crypto, &place, &r.sealed, reading)
        } else {
            Err(CryptoError::Seal)
        };
        let record = match opened {
            // An image starts a file: it is authentic only as record 0.
            Ok(DiskRecord::Image(_)) if i != 0 => Err(CryptoError::Seal),
            other => other,
        };
        match record {
            Ok(DiskRecord::Image(image)) => state = image,
            Ok(DiskRecord::Write(w)) => state.apply(&w),
            Err(e) => {
                return OpenedDisk {
                    state,
                    authentic: i,
                    last_segment: current,
                    stopped: Some(e),
                }
            }
        }
        current = Some((r.segment, r.position + 1));
    }
    OpenedDisk {
        state,
        authentic: records.len(),
        last_segment: current,
        stopped: None,
    }
}
