//! The simulator's kernel: a vault cluster in virtual time.
//!
//! Events wait in a queue ordered by (virtual time, sequence number), so the
//! order is total and independent of anything but the seed. Each event is a
//! message delivery, a client request, a node's timer or a disk sync. Nodes
//! are the implementation's [`VaultNode`]s. Their disks are modelled
//! faithfully: a write is durable only after its sync event, a crash loses
//! what was not synced, and a restarted node recovers from what was.
//!
//! Faults available today: message loss, delay and duplication; partitions;
//! crash and restart; disk rollback to an earlier durable state.

use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{Millis, NodeId};
use backup_vault::vault::node::{
    ClientId, NodeConfig, RequestId, VaultDisk, VaultNode, VaultPeerMessage, VaultWrite,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault::vault::raft::durable::WriteId;
use backup_vault::vault::raft::Role;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// How many earlier durable states a disk remembers for rollbacks.
pub const DISK_HISTORY: usize = 64;

/// Network behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Shortest one-way delay.
    pub min_delay_ms: u64,
    /// Longest one-way delay.
    pub max_delay_ms: u64,
    /// Messages dropped, per thousand.
    pub drop_per_mille: u32,
    /// Messages delivered twice, per thousand.
    pub duplicate_per_mille: u32,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            min_delay_ms: 1,
            max_delay_ms: 30,
            drop_per_mille: 0,
            duplicate_per_mille: 0,
        }
    }
}

/// Cluster simulation settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The nodes' settings (cluster size, R, timing, guess limit).
    pub node: NodeConfig,
    /// The network.
    pub net: NetConfig,
    /// Time from a write to its sync.
    pub sync_delay_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            node: NodeConfig::default(),
            net: NetConfig::default(),
            sync_delay_ms: 2,
        }
    }
}

#[derive(Clone, Debug)]
enum Event<C: VaultCrypto> {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: VaultPeerMessage<C>,
    },
    Request {
        to: NodeId,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
    },
    Sync {
        node: NodeId,
        incarnation: u32,
        up_to: WriteId,
    },
}

struct SimNode<C: VaultCrypto> {
    node: Option<VaultNode<C>>,
    incarnation: u32,
    disk: VaultDisk<C>,
    /// The last [`DISK_HISTORY`] durable states, for rollback faults (one per
    /// sync). Bounded: a full copy per sync would make long runs quadratic.
    history: std::collections::VecDeque<VaultDisk<C>>,
    unsynced: Vec<(WriteId, VaultWrite<C>)>,
    timer_at: Option<Millis>,
}

/// A reply a client received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered<C: VaultCrypto> {
    /// When it arrived.
    pub at: Millis,
    /// The client.
    pub client: ClientId,
    /// The request it answers.
    pub request: RequestId,
    /// The answer.
    pub response: ClientResponse<C>,
}

/// A vault cluster in virtual time. See the module documentation.
pub struct Cluster<C: VaultCrypto> {
    config: SimConfig,
    crypto: C,
    rng: ChaCha8Rng,
    now: Millis,
    seq: u64,
    queue: BTreeMap<(Millis, u64), Event<C>>,
    nodes: Vec<SimNode<C>>,
    /// Directed links that drop everything.
    cut: BTreeSet<(NodeId, NodeId)>,
    replies: Vec<Delivered<C>>,
    events_processed: u64,
}

impl<C: VaultCrypto> Cluster<C> {
    /// A fresh cluster: every node up with an empty disk.
    pub fn new(config: SimConfig, crypto: C, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let nodes = config
            .node
            .cluster
            .members()
            .map(|id| SimNode {
                node: Some(VaultNode::new(
                    id,
                    config.node,
                    crypto.clone(),
                    VaultDisk::default(),
                    Millis(0),
                    &mut rng,
                )),
                incarnation: 0,
                disk: VaultDisk::default(),
                history: std::collections::VecDeque::from([VaultDisk::default()]),
                unsynced: Vec::new(),
                timer_at: None,
            })
            .collect();
        let mut cluster = Cluster {
            config,
            crypto,
            rng,
            now: Millis(0),
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            cut: BTreeSet::new(),
            replies: Vec::new(),
            events_processed: 0,
        };
        for i in 0..cluster.nodes.len() {
            cluster.schedule_timer(i);
        }
        cluster
    }

    /// The virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Node `id`, if it is up.
    pub fn node(&self, id: NodeId) -> Option<&VaultNode<C>> {
        self.nodes[usize::from(id.0)].node.as_ref()
    }

    /// Node `id`'s durable disk.
    pub fn disk(&self, id: NodeId) -> &VaultDisk<C> {
        &self.nodes[usize::from(id.0)].disk
    }

    /// Every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        self.config.node.cluster.members()
    }

    /// The node that currently believes it leads with the highest term.
    pub fn leader(&self) -> Option<NodeId> {
        self.ids()
            .filter_map(|id| self.node(id).map(|n| (id, n)))
            .filter(|(_, n)| n.raft().role() == Role::Leader)
            .max_by_key(|(_, n)| n.raft().term())
            .map(|(id, _)| id)
    }

    /// Takes the replies delivered so far.
    pub fn take_replies(&mut self) -> Vec<Delivered<C>> {
        std::mem::take(&mut self.replies)
    }

    fn push(&mut self, at: Millis, event: Event<C>) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn random_delay(&mut self) -> u64 {
        let net = self.config.net;
        net.min_delay_ms + self.rng.next_u64() % (net.max_delay_ms - net.min_delay_ms + 1)
    }

    fn schedule_timer(&mut self, i: usize) {
        let sim = &self.nodes[i];
        let Some(node) = sim.node.as_ref() else {
            return;
        };
        let at = node.next_deadline().max(self.now);
        if sim.timer_at == Some(at) {
            return;
        }
        let incarnation = sim.incarnation;
        self.nodes[i].timer_at = Some(at);
        self.push(
            at,
            Event::Timer {
                node: NodeId(i as u8),
                incarnation,
            },
        );
    }

    /// Collects a node's output into the world: writes to its disk queue,
    /// messages into the network, replies to the clients.
    fn collect(&mut self, i: usize) {
        let Some(node) = self.nodes[i].node.as_mut() else {
            return;
        };
        let out = node.take_output();
        let from = NodeId(i as u8);
        if let Some(last) = out.writes.last().map(|w| w.0) {
            self.nodes[i].unsynced.extend(out.writes);
            let at = self.now.plus(self.config.sync_delay_ms);
            let incarnation = self.nodes[i].incarnation;
            self.push(
                at,
                Event::Sync {
                    node: from,
                    incarnation,
                    up_to: last,
                },
            );
        }
        for (to, msg) in out.messages {
            self.send(from, to, msg);
        }
        for r in out.replies {
            // Replies travel over the network too, but clients are not yet
            // simulated: they arrive after one network delay.
            let at = self.now.plus(self.random_delay());
            self.replies.push(Delivered {
                at,
                client: r.to,
                request: r.request,
                response: r.response,
            });
        }
        self.schedule_timer(i);
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: VaultPeerMessage<C>) {
        if self.cut.contains(&(from, to)) {
            return;
        }
        let net = self.config.net;
        if (self.rng.next_u32() % 1000) < net.drop_per_mille {
            return;
        }
        let copies = if (self.rng.next_u32() % 1000) < net.duplicate_per_mille {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = self.now.plus(self.random_delay());
            self.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }

    /// Sends a client request to node `to`, arriving after a network delay.
    pub fn submit(
        &mut self,
        to: NodeId,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
    ) {
        let at = self.now.plus(self.random_delay());
        self.push(
            at,
            Event::Request {
                to,
                client,
                request,
                req,
            },
        );
    }

    /// Processes the next event; returns false if none is left.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), event)) = self.queue.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        self.events_processed += 1;
        let now = self.now;
        match event {
            Event::Deliver { from, to, msg } => {
                let i = usize::from(to.0);
                if let Some(node) = self.nodes[i].node.as_mut() {
                    node.on_peer(from, msg, now, &mut self.rng);
                    self.collect(i);
                }
            }
            Event::Request {
                to,
                client,
                request,
                req,
            } => {
                let i = usize::from(to.0);
                if let Some(node) = self.nodes[i].node.as_mut() {
                    node.on_client(client, request, req, now, &mut self.rng);
                    self.collect(i);
                }
            }
            Event::Timer { node, incarnation } => {
                let i = usize::from(node.0);
                if self.nodes[i].incarnation == incarnation {
                    self.nodes[i].timer_at = None;
                    if let Some(n) = self.nodes[i].node.as_mut() {
                        if n.next_deadline() <= now {
                            n.on_tick(now, &mut self.rng);
                        }
                        self.collect(i);
                    }
                }
            }
            Event::Sync {
                node,
                incarnation,
                up_to,
            } => {
                let i = usize::from(node.0);
                let sim = &mut self.nodes[i];
                if sim.incarnation == incarnation && sim.node.is_some() {
                    let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut sim.unsynced)
                        .into_iter()
                        .partition(|(id, _)| *id <= up_to);
                    sim.unsynced = rest;
                    for (_, w) in &done {
                        sim.disk.apply(w);
                    }
                    if sim.history.len() == DISK_HISTORY {
                        sim.history.pop_front();
                    }
                    sim.history.push_back(sim.disk.clone());
                    if let Some(n) = sim.node.as_mut() {
                        n.on_persisted(up_to, now, &mut self.rng);
                    }
                    self.collect(i);
                }
            }
        }
        true
    }

    /// Runs until virtual time `until` (or the queue empties).
    pub fn run_until(&mut self, until: Millis) {
        while let Some((&(at, _), _)) = self.queue.first_key_value() {
            if at > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Runs for `ms` more milliseconds of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now.plus(ms);
        self.run_until(until);
    }

    /// Node `id` crashes: its memory and unsynced writes are lost.
    pub fn crash(&mut self, id: NodeId) {
        let sim = &mut self.nodes[usize::from(id.0)];
        sim.node = None;
        sim.unsynced.clear();
        sim.incarnation += 1;
        sim.timer_at = None;
    }

    /// Node `id` restarts from its disk.
    pub fn restart(&mut self, id: NodeId) {
        let i = usize::from(id.0);
        let disk = self.nodes[i].disk.clone();
        let node = VaultNode::new(
            id,
            self.config.node,
            self.crypto.clone(),
            disk,
            self.now,
            &mut self.rng,
        );
        self.nodes[i].node = Some(node);
        self.collect(i);
    }

    /// Node `id`'s disk goes back `syncs_back` syncs (it must be down), or
    /// to the oldest state it remembers ([`DISK_HISTORY`] syncs back).
    pub fn roll_back(&mut self, id: NodeId, syncs_back: usize) {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(
            sim.node.is_none(),
            "roll back a node's disk only while it is down"
        );
        let k = sim.history.len().saturating_sub(1 + syncs_back);
        sim.disk = sim.history[k].clone();
        sim.history.truncate(k + 1);
    }

    /// Cuts both directions between `a` and `b`.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Isolates `id` from every other node.
    pub fn isolate(&mut self, id: NodeId) {
        let others: Vec<NodeId> = self.ids().filter(|o| *o != id).collect();
        for o in others {
            self.partition(id, o);
        }
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Sends `req` to the leader and runs until a final answer arrives,
    /// following `NotLeader` redirects and retrying `Retry`, for at most
    /// `timeout_ms` of virtual time. For tests and scripted scenarios.
    pub fn call(
        &mut self,
        client: ClientId,
        req: ClientRequest<C>,
        timeout_ms: u64,
    ) -> Option<ClientResponse<C>> {
        let deadline = self.now.plus(timeout_ms);
        let mut request = RequestId(self.rng.next_u64());
        let mut target = self.leader().unwrap_or(NodeId(0));
        self.submit(target, client, request, req.clone());
        let mut asked_at = self.now;
        while self.now < deadline {
            self.run_for(5);
            let mine: Vec<_> = self
                .replies
                .iter()
                .filter(|d| d.client == client && d.request == request && d.at <= self.now)
                .cloned()
                .collect();
            self.replies
                .retain(|d| !(d.client == client && d.request == request && d.at <= self.now));
            let resend = match mine.last().map(|d| &d.response) {
                Some(ClientResponse::NotLeader { leader }) => {
                    target =
                        leader.unwrap_or(NodeId((target.0 + 1) % self.config.node.cluster.nodes()));
                    true
                }
                Some(ClientResponse::Retry) => true,
                Some(other) => return Some(other.clone()),
                // No answer for a while: the node may be down or cut off.
                None => self.now.0 >= asked_at.0 + 500,
            };
            if resend {
                if mine.is_empty() {
                    target = NodeId((target.0 + 1) % self.config.node.cluster.nodes());
                }
                request = RequestId(self.rng.next_u64());
                self.submit(target, client, request, req.clone());
                asked_at = self.now;
            }
        }
        None
    }
}
