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
        // An image is authentic only as record 0: a node seals one only at
        // position 0 of a segment that follows nothing, which is in place
        // only where no record came before.
        match opened {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opaque::FleetSecrets;
    use crate::vault::ids::{LogIndex, Term};
    use crate::vault::opaque_crypto::OpaqueCrypto;
    use crate::vault::raft::durable::DiskWrite;
    use crate::vault::raft::log::Entry;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    type C = OpaqueCrypto;

    fn crypto(seed: u64) -> C {
        OpaqueCrypto::new(FleetSecrets::generate(&mut ChaCha8Rng::seed_from_u64(seed)))
    }

    fn writes() -> Vec<VaultWrite<C>> {
        vec![
            DiskWrite::HardState {
                term: Term(1),
                voted_for: Some(NodeId(0)),
            },
            DiskWrite::Entries {
                first: LogIndex(1),
                entries: vec![Entry {
                    term: Term(1),
                    command: None,
                }],
            },
            DiskWrite::HardState {
                term: Term(2),
                voted_for: None,
            },
        ]
    }

    /// Node 0's records for `writes`, and the state after each prefix.
    fn disk(c: &C, rng: &mut ChaCha8Rng) -> (Vec<StoredRecord<C>>, Vec<VaultDisk<C>>) {
        let mut cursor = DiskCursor::new_segment(None, rng);
        let mut state = VaultDisk::<C>::default();
        let mut states = vec![state.clone()];
        let mut records = Vec::new();
        for w in writes() {
            state.apply(&w);
            states.push(state.clone());
            records.push(cursor.append(c, NodeId(0), w, rng, false).record().clone());
        }
        (records, states)
    }

    #[test]
    fn an_intact_disk_opens_whole_and_a_cut_one_to_its_prefix() {
        let c = crypto(1);
        let rng = &mut ChaCha8Rng::seed_from_u64(2);
        let (records, states) = disk(&c, rng);
        let opened = open_disk(&c, NodeId(0), &records, false);
        assert_eq!((opened.authentic, opened.stopped), (3, None));
        assert_eq!(opened.state, states[3]);
        for n in 0..3 {
            let opened = open_disk(&c, NodeId(0), &records[..n], false);
            assert_eq!(opened.state, states[n], "a rollback is an authentic prefix");
        }
    }

    #[test]
    fn every_edit_a_host_can_make_stops_reading_there() {
        let c = crypto(1);
        let rng = &mut ChaCha8Rng::seed_from_u64(3);
        let (records, states) = disk(&c, rng);
        let stops_at = |edited: &[StoredRecord<C>], at: usize| {
            let opened = open_disk(&c, NodeId(0), edited, false);
            assert_eq!(opened.authentic, at);
            assert_eq!(opened.state, states[at]);
            assert_eq!(opened.stopped, Some(CryptoError::Seal));
        };
        // An earlier record replayed at the end.
        stops_at(&[&records[..], &records[..1]].concat(), 3);
        // Two records swapped.
        stops_at(
            &[records[0].clone(), records[2].clone(), records[1].clone()],
            1,
        );
        // A record moved to another position by rewriting its header.
        let mut moved = records.clone();
        moved[2].position = 1;
        moved.remove(1);
        stops_at(&moved, 1);
        // Another node's record.
        let mut other = DiskCursor::new_segment(None, rng);
        let theirs = other.append(&c, NodeId(1), writes()[0].clone(), rng, false);
        stops_at(&[theirs.record().clone()], 0);
        // A record in the clear, where a sealed one belongs.
        let mut clear = records.clone();
        clear[1].sealed = C::in_clear(&DiskRecord::Write(writes()[1].clone()));
        stops_at(&clear, 1);
        // Another fleet's seal.
        let (foreign, _) = disk(&crypto(9), rng);
        stops_at(&foreign, 0);
    }

    #[test]
    fn a_restart_continues_the_prefix_and_no_splice_of_two_histories_opens() {
        let c = crypto(1);
        let rng = &mut ChaCha8Rng::seed_from_u64(4);
        let (records, _) = disk(&c, rng);
        // The node restarted after two records: its new segment follows them.
        let first = open_disk(&c, NodeId(0), &records[..2], false);
        let mut cursor = DiskCursor::new_segment(first.last_segment, rng);
        let next = cursor.append(&c, NodeId(0), writes()[2].clone(), rng, false);
        let mut restarted = records[..2].to_vec();
        restarted.push(next.record().clone());
        let opened = open_disk(&c, NodeId(0), &restarted, false);
        assert_eq!(opened.authentic, 3);
        // The old third record after the new one: two histories spliced.
        let mut spliced = restarted.clone();
        spliced.push(records[2].clone());
        assert_eq!(open_disk(&c, NodeId(0), &spliced, false).authentic, 3);
        // The new segment without the records it follows.
        assert_eq!(
            open_disk(&c, NodeId(0), &restarted[2..], false).authentic,
            0
        );
    }

    #[test]
    fn an_image_opens_only_as_the_first_record_and_the_auditor_reads_clear_records() {
        let c = crypto(1);
        let rng = &mut ChaCha8Rng::seed_from_u64(5);
        let (records, states) = disk(&c, rng);
        let mut cursor = DiskCursor::new_segment(None, rng);
        let image = cursor.replace(&c, NodeId(0), states[3].clone(), rng, false);
        let opened = open_disk(&c, NodeId(0), &[image.record().clone()], false);
        assert_eq!((opened.authentic, opened.state), (1, states[3].clone()));
        let mut late = records.clone();
        late.push(image.record().clone());
        assert_eq!(open_disk(&c, NodeId(0), &late, false).authentic, 3);
        // A broken variant's clear records: refused by a node, read by an
        // auditor, and by the broken variant itself.
        let mut clear_cursor = DiskCursor::new_segment(None, rng);
        let clear: Vec<_> = writes()
            .into_iter()
            .map(|w| {
                clear_cursor
                    .append(&c, NodeId(0), w, rng, true)
                    .record()
                    .clone()
            })
            .collect();
        assert_eq!(open_disk(&c, NodeId(0), &clear, false).authentic, 0);
        assert_eq!(open_disk(&c, NodeId(0), &clear, true).state, states[3]);
        assert_eq!(audit_disk(&c, NodeId(0), &clear).state, states[3]);
        assert_eq!(audit_disk(&c, NodeId(0), &records).state, states[3]);
    }
}
