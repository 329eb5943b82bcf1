//! The node host: the glue between a vault node and its disk, written once
//! for every driver.
//!
//! A [`NodeHost`] owns a node's [`Disk`], the writes the node issued that
//! are not durable yet, and the node itself while it is up. It carries out
//! the [`Effect::Persist`] effects of every step (queueing them), makes them
//! durable when the driver says the disk synced ([`NodeHost::sync`]), loses
//! them on a crash ([`NodeHost::crash`]) and restarts the node from what
//! the disk recovers ([`NodeHost::restart`]). What is left for a driver is
//! to move messages, replies and time: the [`HostStep`] it gets back holds
//! every other effect, in the contract's order (see [`super::io`]).
//!
//! Why a sync is the driver's call: when a disk syncs is a fault-model
//! choice (the simulator waits a sync delay, the model checker makes it an
//! action, a runtime batches many writes into one fsync), while what a
//! sync means (every queued write durable, in order, then
//! [`Input::Persisted`]) is not.
//!
//! The host also keeps the HSM's counter ([`Watermark`]) across crashes:
//! it belongs to the HSM, so no disk fault touches it, and only
//! [`NodeHost::replace_hsm`] (a fault: new hardware) loses it.
//!
//! A host is plain data when its disk is, so the model checker keeps whole
//! hosts in its states.

use super::crypto::VaultCrypto;
use super::ids::{Millis, NodeId};
use super::io::{Effect, Input};
use super::node::{NodeConfig, VaultNode};
use super::raft::durable::WriteId;
use super::raft::watermark::Watermark;
use super::sealed::DiskOp;
use super::storage::{Disk, Recovery};
use rand_core::{CryptoRng, RngCore};

/// A node, its disk and its unsynced writes. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeHost<C: VaultCrypto, D> {
    id: NodeId,
    config: NodeConfig,
    crypto: C,
    node: Option<VaultNode<C>>,
    disk: D,
    unsynced: Vec<(WriteId, DiskOp<C>)>,
    /// The HSM's non-volatile counter ([`Watermark`]): it belongs to the
    /// HSM, not to the host, and survives crashes and every disk fault.
    /// Only the node moves it; drivers may only lose it with
    /// [`NodeHost::replace_hsm`].
    nvram: Watermark,
}

/// What a host's input asks of the driver: the step's effects without the
/// writes, which the host keeps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[must_use = "a step's effects must be carried out, in order"]
pub struct HostStep<C: VaultCrypto> {
    /// `Send`, `Reply`, `Applied`, `Restored` and `Role` effects, in order.
    pub effects: Vec<Effect<C>>,
    /// The writes this step queued, in order (see [`NodeHost::unsynced`]):
    /// the driver should sync the disk up to the last (see
    /// [`NodeHost::sync`]) when its fault model says so.
    pub wrote: Vec<WriteId>,
    /// When to hand the node [`Input::Timer`], by its clock; `None` while
    /// it is down.
    pub next_deadline: Option<Millis>,
}

impl<C: VaultCrypto> HostStep<C> {
    fn down() -> Self {
        HostStep {
            effects: Vec::new(),
            wrote: Vec::new(),
            next_deadline: None,
        }
    }
}

impl<C: VaultCrypto, D: Disk<C>> NodeHost<C, D> {
    /// Node `id` on `disk`, down: [`NodeHost::restart`] starts it from
    /// what the disk recovers.
    pub fn down(id: NodeId, config: NodeConfig, crypto: C, disk: D) -> Self {
        NodeHost {
            id,
            config,
            crypto,
            node: None,
            disk,
            unsynced: Vec::new(),
            nvram: Watermark::default(),
        }
    }

    /// Node `id` on `disk`, down, whose HSM already holds `nvram`: a
    /// runtime's emulated HSM gives its counter back after the process
    /// restarted (a real HSM keeps it in its own memory). The counter only
    /// ever comes from the HSM, never from the host's disk.
    pub fn down_with_hsm(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        disk: D,
        nvram: Watermark,
    ) -> Self {
        let mut host = NodeHost::down(id, config, crypto, disk);
        host.nvram = nvram;
        host
    }

    /// A new node on a new disk: it starts from the empty durable state,
    /// with nothing to recover.
    pub fn init<R: RngCore>(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        disk: D,
        now: Millis,
        rng: &mut R,
    ) -> Self {
        let node = VaultNode::new(id, config, crypto.clone(), now, rng);
        let mut host = NodeHost::down(id, config, crypto, disk);
        host.node = Some(node);
        host
    }

    /// The node, while it is up.
    pub fn node(&self) -> Option<&VaultNode<C>> {
        self.node.as_ref()
    }

    /// Whether the node is up.
    pub fn is_up(&self) -> bool {
        self.node.is_some()
    }

    /// The disk.
    pub fn disk(&self) -> &D {
        &self.disk
    }

    /// The disk, for fault injection while the node is down (a rollback,
    /// bit rot, a torn write).
    pub fn disk_mut(&mut self) -> &mut D {
        &mut self.disk
    }

    /// Writes issued and not yet durable, in order.
    pub fn unsynced(&self) -> &[(WriteId, DiskOp<C>)] {
        &self.unsynced
    }

    /// The unsynced write `id`, if it is one.
    pub fn unsynced_write(&self, id: WriteId) -> Option<&DiskOp<C>> {
        let k = self.unsynced.binary_search_by_key(&id, |(w, _)| *w).ok()?;
        Some(&self.unsynced[k].1)
    }

    /// Hands the node one input. Does nothing while it is down.
    pub fn handle<R: RngCore + CryptoRng>(
        &mut self,
        input: Input<C>,
        now: Millis,
        rng: &mut R,
    ) -> HostStep<C> {
        let Some(node) = self.node.as_mut() else {
            return HostStep::down();
        };
        let step = node.handle(input, now, rng);
        self.nvram = node.raft().watermark();
        let mut effects = Vec::with_capacity(step.effects.len());
        let mut wrote = Vec::new();
        for effect in step.effects {
            match effect {
                Effect::Persist { id, op } => {
                    debug_assert!(
                        self.unsynced.last().is_none_or(|(last, _)| *last < id),
                        "writes come in WriteId order"
                    );
                    self.unsynced.push((id, op));
                    wrote.push(id);
                }
                other => effects.push(other),
            }
        }
        HostStep {
            effects,
            wrote,
            next_deadline: Some(step.next_deadline),
        }
    }

    /// The disk synced every write up to `up_to`: they become durable, in
    /// order, and the node learns it. `on_write` sees each write and the
    /// byte range of the disk it took. Does nothing while the node is down.
    pub fn sync<R: RngCore + CryptoRng>(
        &mut self,
        up_to: WriteId,
        now: Millis,
        rng: &mut R,
        mut on_write: impl FnMut(&DiskOp<C>, std::ops::Range<usize>),
    ) -> HostStep<C> {
        if self.node.is_none() {
            return HostStep::down();
        }
        let split = self.unsynced.partition_point(|(id, _)| *id <= up_to);
        for (_, write) in self.unsynced.drain(..split) {
            let range = self.disk.persist(&write);
            on_write(&write, range);
        }
        // One flush for the batch: the writes are durable before the node
        // hears so, and before anything that depends on them can leave.
        self.disk.flush();
        self.handle(Input::Persisted { up_to }, now, rng)
    }

    /// What the HSM's counter holds.
    pub fn nvram(&self) -> Watermark {
        self.nvram
    }

    /// The node's HSM is replaced by a fresh one of the fleet (a fault, for
    /// simulators and models): its counter starts from nothing, so a disk
    /// rolled back with it goes unnoticed. Only the quorum size's rollback
    /// tolerance R covers that, on at most R nodes.
    pub fn replace_hsm(&mut self) {
        self.nvram = Watermark::default();
    }

    /// The node crashes: its memory and its unsynced writes are lost; the
    /// disk keeps what was synced.
    pub fn crash(&mut self) {
        self.node = None;
        self.unsynced.clear();
    }

    /// The node (re)starts from what its disk holds: the records the
    /// disk's framing gives back, read by the node up to the first that
    /// does not open; the disk is cut there. A node that is up crashes
    /// first.
    pub fn restart<R: RngCore>(&mut self, now: Millis, rng: &mut R) -> Recovery {
        self.crash();
        let (records, mut recovery) = self.disk.read();
        let (node, opened) = VaultNode::restart(
            self.id,
            self.config,
            self.crypto.clone(),
            &records,
            self.nvram,
            now,
            rng,
        );
        if opened.authentic < records.len() {
            self.disk.keep(opened.authentic);
            if !matches!(recovery, Recovery::Corrupt { .. }) {
                recovery = Recovery::Forged {
                    record: opened.authentic,
                };
            }
        }
        self.node = Some(node);
        recovery
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::SymbolicCrypto;
    use crate::vault::quorum::ClusterConfig;
    use crate::vault::raft::Role;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use crate::vault::sealed::open_disk;
    use crate::vault::storage::SealedDisk;

    type Host = NodeHost<SymbolicCrypto, SealedDisk<SymbolicCrypto>>;

    fn one_node(rng: &mut ChaCha8Rng) -> Host {
        let config = NodeConfig {
            cluster: ClusterConfig::new(1, 0).expect("a valid cluster"),
            ..NodeConfig::default()
        };
        Host::init(
            NodeId(0),
            config,
            SymbolicCrypto,
            SealedDisk::default(),
            Millis(0),
            rng,
        )
    }

    fn timer(host: &mut Host, rng: &mut ChaCha8Rng) -> HostStep<SymbolicCrypto> {
        let now = host.node().expect("up").next_deadline();
        host.handle(Input::Timer, now, rng)
    }

    #[test]
    fn writes_wait_for_a_sync_and_a_crash_loses_them() {
        let rng = &mut ChaCha8Rng::seed_from_u64(7);
        let mut host = one_node(rng);
        assert!(host.is_up());
        let step = timer(&mut host, rng);
        for id in &step.wrote {
            let (_, write) = host
                .unsynced()
                .iter()
                .find(|(w, _)| w == id)
                .expect("queued");
            assert_eq!(host.unsynced_write(*id), Some(write));
        }
        assert!(!step.wrote.is_empty(), "an election writes its term");
        assert_eq!(
            host.unsynced()
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>(),
            step.wrote
        );
        assert_eq!(host.disk(), &SealedDisk::default(), "nothing durable yet");
        assert!(step
            .effects
            .iter()
            .all(|e| !matches!(e, Effect::Persist { .. })));
        host.crash();
        assert!(!host.is_up() && host.unsynced().is_empty());
        let down = host.handle(Input::Timer, Millis(10_000), rng);
        assert!(down.effects.is_empty() && down.next_deadline.is_none());
        assert_eq!(host.restart(Millis(0), rng), Recovery::Clean);
        assert_eq!(host.disk(), &SealedDisk::default(), "the writes were lost");
    }

    #[test]
    fn a_synced_election_is_durable_and_survives_a_restart() {
        let rng = &mut ChaCha8Rng::seed_from_u64(8);
        let mut host = one_node(rng);
        let mut roles = Vec::new();
        for _ in 0..10 {
            let step = timer(&mut host, rng);
            roles.extend(step.effects.iter().filter_map(|e| match e {
                Effect::Role { role, .. } => Some(*role),
                _ => None,
            }));
            if let Some(&last) = step.wrote.last() {
                let mut seen = Vec::new();
                let synced = host.sync(last, Millis(0), rng, |w, _| seen.push(w.clone()));
                roles.extend(synced.effects.iter().filter_map(|e| match e {
                    Effect::Role { role, .. } => Some(*role),
                    _ => None,
                }));
                assert_eq!(seen.len(), step.wrote.len(), "each write made durable once");
            }
            if host.node().is_some_and(|n| n.raft().role() == Role::Leader) {
                break;
            }
        }
        let term = host.node().expect("up").raft().term();
        assert_eq!(host.node().expect("up").raft().role(), Role::Leader);
        // One node wins its election within one step: its one change of
        // role, follower to leader, is reported once, and nothing else is.
        assert_eq!(roles, vec![Role::Leader]);
        let heartbeat = timer(&mut host, rng);
        assert!(
            !heartbeat
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Role { .. })),
            "a leader's heartbeat changes no role"
        );
        let opened = open_disk(&SymbolicCrypto, NodeId(0), &host.disk().records, false);
        assert_eq!(opened.state.term, term);
        assert!(host.unsynced().is_empty());
        let _ = host.restart(Millis(0), rng);
        assert_eq!(host.node().expect("up").raft().term(), term);
    }
}

#[cfg(test)]
mod compaction_tests {
    use super::*;
    use crate::vault::crypto::SymbolicCrypto;
    use crate::vault::quorum::ClusterConfig;
    use crate::vault::raft::Role;
    use crate::vault::sealed::open_disk;
    use crate::vault::storage::SealedDisk;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_compacted_disk_keeps_the_term_and_the_vote_and_survives_a_new_hsm() {
        let rng = &mut ChaCha8Rng::seed_from_u64(9);
        let config = NodeConfig {
            cluster: ClusterConfig::new(1, 0).expect("a valid cluster"),
            // Compact after every applied entry: the no-op that opens the
            // term is compacted at once.
            snapshot_every: 1,
            ..NodeConfig::default()
        };
        let mut host = NodeHost::init(
            NodeId(0),
            config,
            SymbolicCrypto,
            SealedDisk::<SymbolicCrypto>::default(),
            Millis(0),
            rng,
        );
        for _ in 0..20 {
            let now = host.node().expect("up").next_deadline();
            let _ = host.handle(Input::Timer, now, rng);
            while let Some(&(last, _)) = host.unsynced().last() {
                let _ = host.sync(last, now, rng, |_, _| {});
            }
            let replaced = host.disk().records.len() == 1
                && open_disk(&SymbolicCrypto, NodeId(0), &host.disk().records, false)
                    .state
                    .snapshot
                    .is_some();
            if host.node().is_some_and(|n| n.raft().role() == Role::Leader) && replaced {
                break;
            }
        }
        let raft = host.node().expect("up").raft();
        let (term, vote) = (raft.term(), raft.voted_for());
        assert_eq!(vote, Some(NodeId(0)), "a single node votes for itself");
        let opened = open_disk(&SymbolicCrypto, NodeId(0), &host.disk().records, false);
        assert!(opened.state.snapshot.is_some(), "the disk was compacted");
        assert_eq!((opened.state.term, opened.state.voted_for), (term, vote));
        // A new HSM (empty counter): the disk alone must hold the vote.
        host.replace_hsm();
        let _ = host.restart(Millis(0), rng);
        let raft = host.node().expect("up").raft();
        assert_eq!((raft.term(), raft.voted_for()), (term, vote));
    }
}

#[cfg(test)]
mod runtime_hooks_tests {
    use super::*;
    use crate::vault::crypto::SymbolicCrypto;
    use crate::vault::quorum::ClusterConfig;
    use crate::vault::sealed::StoredRecord;
    use crate::vault::storage::SealedDisk;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A disk that counts what the host asks of it.
    #[derive(Default)]
    struct Counting {
        inner: SealedDisk<SymbolicCrypto>,
        persisted: usize,
        flushes: Vec<usize>,
    }

    impl Disk<SymbolicCrypto> for Counting {
        fn persist(&mut self, op: &DiskOp<SymbolicCrypto>) -> std::ops::Range<usize> {
            self.persisted += 1;
            self.inner.persist(op)
        }
        fn read(&mut self) -> (Vec<StoredRecord<SymbolicCrypto>>, Recovery) {
            self.inner.read()
        }
        fn keep(&mut self, n: usize) {
            self.inner.keep(n);
        }
        fn flush(&mut self) {
            self.flushes.push(self.persisted);
        }
    }

    fn config() -> NodeConfig {
        NodeConfig {
            cluster: ClusterConfig::new(1, 0).expect("a valid cluster"),
            ..NodeConfig::default()
        }
    }

    #[test]
    fn a_sync_flushes_the_disk_once_after_the_batch() {
        let rng = &mut ChaCha8Rng::seed_from_u64(11);
        let mut host = NodeHost::init(
            NodeId(0),
            config(),
            SymbolicCrypto,
            Counting::default(),
            Millis(0),
            rng,
        );
        let now = host.node().expect("up").next_deadline();
        let step = host.handle(Input::Timer, now, rng);
        let last = *step.wrote.last().expect("an election writes");
        let _ = host.sync(last, now, rng, |_, _| {});
        // One flush, after every write of the batch.
        assert_eq!(host.disk().flushes, vec![step.wrote.len()]);
    }

    #[test]
    fn a_host_down_with_an_hsm_keeps_its_counter_across_the_restart() {
        let rng = &mut ChaCha8Rng::seed_from_u64(12);
        let mark = Watermark {
            term: crate::vault::ids::Term(7),
            voted_for: Some(NodeId(0)),
            log: (crate::vault::ids::Term(7), crate::vault::ids::LogIndex(3)),
        };
        let mut host = NodeHost::down_with_hsm(
            NodeId(0),
            config(),
            SymbolicCrypto,
            SealedDisk::<SymbolicCrypto>::default(),
            mark,
        );
        assert_eq!(host.nvram(), mark);
        let _ = host.restart(Millis(0), rng);
        // The empty disk says term 0; the HSM's counter wins.
        let raft = host.node().expect("up").raft();
        assert_eq!((raft.term(), raft.voted_for()), (mark.term, mark.voted_for));
    }
}
