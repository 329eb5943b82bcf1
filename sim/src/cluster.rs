//! The simulator's kernel: a vault cluster in virtual time.
//!
//! Events wait in a queue ordered by (virtual time, sequence number), so the
//! order is total and independent of anything but the seed. Each event is a
//! message delivery, a client request, a node's timer or a disk sync. Nodes
//! are the implementation's [`VaultNode`]s. Their disks are modelled
//! faithfully: a write is durable only after its sync event, a crash loses
//! what was not synced, and a restarted node recovers from what was.
//!
//! Disks hold real bytes in the real record format
//! ([`backup_vault::vault::storage::RecordLog`]): the nodes' sealed records,
//! which checkers read with the fleet's keys (`Cluster::disk`, an auditor's
//! view kept up to date at every sync), as no host could.
//!
//! Faults: message loss, delay and duplication (between nodes, and between
//! clients and nodes); partitions; clock drift and timer jitter; crash and
//! restart (unsynced writes lost, the write in flight possibly torn); bit
//! rot in a synced record; disk rollback to an earlier durable state, with
//! or without a new HSM (`replace_hsm`); a host editing a disk
//! (`splice_disk`) or injecting messages (`inject`).
//!
//! The kernel is shared by scripted tests ([`Cluster::call`]) and by the
//! whole-system simulator ([`crate::world`]), which adds its own events
//! (`X`: clients, cloud, adversaries, faults) to the same queue and reads
//! what each step did from [`Cluster::effects`].

use backup_vault::client::retry::Route;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::host::{HostStep, NodeHost};
use backup_vault::vault::ids::{LogIndex, Millis, NodeId, Term, UserId};
use backup_vault::vault::io::{Applied, Effect, Input};
use backup_vault::vault::node::{
    ClientId, NodeConfig, Reply, RequestId, VaultDisk, VaultNode, VaultPeerMessage,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId};
use backup_vault::vault::raft::durable::WriteId;
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::watermark::Watermark;
use backup_vault::vault::raft::Role;
use backup_vault::vault::sealed::{
    audit_disk, audit_message, audit_record, DiskOp, DiskRecord, SealedMessage, StoredRecord,
};
use backup_vault::vault::storage::{RecordLog, Recovery};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

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
    /// Client requests and replies dropped, per thousand.
    pub client_drop_per_mille: u32,
    /// Client requests and replies delivered twice, per thousand.
    pub client_duplicate_per_mille: u32,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            min_delay_ms: 1,
            max_delay_ms: 30,
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            client_drop_per_mille: 0,
            client_duplicate_per_mille: 0,
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
    /// Largest clock drift of a node, in parts per million (each node draws
    /// its own rate; 0 means every clock is exact).
    pub max_drift_ppm: u32,
    /// Largest extra delay of a timer firing, in milliseconds.
    pub max_timer_jitter_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            node: NodeConfig::default(),
            net: NetConfig::default(),
            sync_delay_ms: 2,
            max_drift_ppm: 0,
            max_timer_jitter_ms: 0,
        }
    }
}

/// What the checkers learn of a peer message a node handled
/// ([`Effects::handled`]), read from the auditor's opening of it when it was
/// sent, so that a delivery is not opened a second time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peek {
    /// A pre-vote request: the term asked for, the candidate's last index
    /// and term, and how far its counter reached.
    PreVote {
        /// The term asked for.
        term: Term,
        /// The candidate's last log index.
        last_index: LogIndex,
        /// The candidate's last log term.
        last_term: Term,
        /// The candidate's counter: (last term, last index).
        reached: (Term, LogIndex),
    },
    /// A vote request: the candidate's term, where its log ends, and how
    /// far its counter reached (its word, see `raft/watermark.rs`).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// The candidate's last log index.
        last_index: LogIndex,
        /// The candidate's last log term.
        last_term: Term,
        /// The candidate's counter: (last term, last index).
        reached: (Term, LogIndex),
    },
    /// A node that deferred its vote asks for this node's word, in `term`.
    Attest {
        /// The asker's term.
        term: Term,
    },
    /// An answer to a pre-vote: granted for the term asked about, or
    /// refused with the answerer's term.
    PreVoteReply {
        /// The term asked about if granted, else the answerer's term.
        term: Term,
        /// Whether it was granted.
        granted: bool,
    },
    /// A node's word, asked for by a node that deferred its vote: how far
    /// its counter reached, in `term`.
    Attested {
        /// The sender's term.
        term: Term,
        /// Its counter: (last term, last index).
        reached: (Term, LogIndex),
    },
    /// An `Append` or `InstallSnapshot`: a leader's message of `term`.
    Leader {
        /// Its term.
        term: Term,
    },
    /// An `AppendReply` or `SnapshotReply`: a follower's answer of `term`.
    Answer {
        /// Its term.
        term: Term,
    },
    /// An answer to a vote request: the voter's term, and whether it
    /// granted its vote.
    Vote {
        /// The voter's term.
        term: Term,
        /// Whether it was granted.
        granted: bool,
    },
}

impl Peek {
    /// What kind of message it is, for a violation's message.
    pub fn name(&self) -> &'static str {
        match self {
            Peek::PreVote { .. } => "pre-vote request",
            Peek::RequestVote { .. } => "vote request",
            Peek::Attested { .. } => "attestation",
            Peek::PreVoteReply { .. } => "pre-vote answer",
            Peek::Attest { .. } => "request for a word",
            Peek::Leader { .. } => "leader's message",
            Peek::Answer { .. } => "follower's answer",
            Peek::Vote { .. } => "vote",
        }
    }

    /// The vote request a step handled, `handled` as in
    /// [`Effects::handled`]: (the candidate, the term it asks in, where
    /// its log ends as (last term, last index)); None for anything else.
    pub fn vote_request(
        handled: Option<(NodeId, Peek)>,
    ) -> Option<(NodeId, Term, (Term, LogIndex))> {
        match handled? {
            (
                from,
                Peek::RequestVote {
                    term,
                    last_index,
                    last_term,
                    ..
                },
            ) => Some((from, term, (last_term, last_index))),
            _ => None,
        }
    }

    fn of<C: VaultCrypto>(message: &VaultPeerMessage<C>) -> Self {
        match message {
            PeerMessage::PreVote {
                term,
                last_index,
                last_term,
                reached,
            } => Peek::PreVote {
                term: *term,
                last_index: *last_index,
                last_term: *last_term,
                reached: *reached,
            },
            PeerMessage::RequestVote {
                term,
                last_index,
                last_term,
                reached,
            } => Peek::RequestVote {
                term: *term,
                last_index: *last_index,
                last_term: *last_term,
                reached: *reached,
            },
            PeerMessage::Attest { term } => Peek::Attest { term: *term },
            PeerMessage::PreVoteReply { term, granted } => Peek::PreVoteReply {
                term: *term,
                granted: *granted,
            },
            PeerMessage::Vote { term, granted } => Peek::Vote {
                term: *term,
                granted: *granted,
            },
            PeerMessage::Attested { term, reached } => Peek::Attested {
                term: *term,
                reached: *reached,
            },
            PeerMessage::Append { term, .. } | PeerMessage::InstallSnapshot { term, .. } => {
                Peek::Leader { term: *term }
            }
            PeerMessage::AppendReply { term, .. } | PeerMessage::SnapshotReply { term, .. } => {
                Peek::Answer { term: *term }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Event<C: VaultCrypto, X> {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: SealedMessage<C>,
        /// When observing: what the checkers learn of it.
        peek: Option<Peek>,
        /// The link it was sealed for, when the host put it on another
        /// ([`Cluster::inject`]): the receiver must drop it (HOST-1).
        sealed_for: Option<(NodeId, NodeId)>,
    },
    Request {
        to: NodeId,
        client: ClientId,
        request: RequestId,
        // Boxed, like replies: the queue moves its values on every insert
        // and pop, and these are the large ones.
        req: Box<ClientRequest<C>>,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        at: Millis,
    },
    Sync {
        node: NodeId,
        incarnation: u32,
        up_to: WriteId,
    },
    Reply(Box<Delivered<C>>),
    External(X),
}

/// What one [`Cluster::step`] did.
#[derive(Clone, Debug)]
pub enum Stepped<C: VaultCrypto, X> {
    /// A node handled a message, request, timer or sync (its output is in
    /// [`Cluster::effects`]), or the event was for a node that is down.
    Node(NodeId),
    /// A node's reply reached its client.
    Reply(Delivered<C>),
    /// An event of the driver's own came due.
    External(X),
}

/// What the last step produced, for checkers. Messages are recorded only
/// while [`Cluster::set_observe`] is on. The writes a step issued are not
/// copied here: a checker reads what became durable ([`Effects::synced`]),
/// and a copy would cost a whole store for every snapshot written.
#[derive(Clone, Debug)]
pub struct Effects<C: VaultCrypto> {
    /// The node that ran, if any.
    pub node: Option<NodeId>,
    /// If the step was a client request: its user and kind.
    pub request: Option<(UserId, &'static str)>,
    /// If the step was a client request: who sent it, and its id.
    pub request_id: Option<(ClientId, RequestId)>,
    /// If the step was a `LoginFinish`: the login its KE3 is for.
    pub finishing: Option<LoginId>,
    /// Messages sent: (from, to, message as an auditor holding the
    /// fleet's keys opens it), before any loss.
    pub messages: Vec<(NodeId, NodeId, VaultPeerMessage<C>)>,
    /// The same messages as the host carries them: sealed.
    pub sealed: Vec<(NodeId, NodeId, SealedMessage<C>)>,
    /// Records that became durable: (node, byte range of its disk).
    pub synced: Vec<(NodeId, std::ops::Range<usize>)>,
    /// Replies issued to clients, before any loss.
    pub replies: Vec<(NodeId, Reply<C>)>,
    /// Committed entries the nodes applied, in order per node.
    pub applied: Vec<(NodeId, Applied<C>)>,
    /// Snapshots that replaced a node's store: (node, last index covered).
    pub restored: Vec<(NodeId, LogIndex)>,
    /// The peer message the node handled: (sender, what the checkers learn
    /// of it). `None` if the step delivered no peer message, or the node
    /// dropped it (a forgery, a message not sealed for it).
    pub handled: Option<(NodeId, Peek)>,
    /// How the step broke the driver contract, as the driver saw it
    /// (DRV-1), if it did.
    pub contract_breach: Option<String>,
    /// A message the host moved off the link it was sealed for, which the
    /// node took instead of dropping: (the link it was sealed for, the link
    /// it came on). Known from where the host captured it, not from the
    /// seal, so a seal that binds too little cannot blind it (HOST-1).
    pub misdirected_taken: Option<((NodeId, NodeId), (NodeId, NodeId))>,
}

impl<C: VaultCrypto> Default for Effects<C> {
    fn default() -> Self {
        Effects {
            node: None,
            request: None,
            request_id: None,
            finishing: None,
            messages: Vec::new(),
            sealed: Vec::new(),
            synced: Vec::new(),
            replies: Vec::new(),
            applied: Vec::new(),
            restored: Vec::new(),
            handled: None,
            contract_breach: None,
            misdirected_taken: None,
        }
    }
}

/// A node's disk in the simulator: real record bytes, with the byte-level
/// faults of [`RecordLog`].
pub type SimDisk<C> = RecordLog<C>;

struct SimNode<C: VaultCrypto> {
    /// The node, its disk and its unsynced writes.
    host: NodeHost<C, SimDisk<C>>,
    /// Bumped by every crash: events queued for an earlier incarnation
    /// (timers, syncs) are ignored.
    incarnation: u32,
    /// Clock rate: local time = global time * (1e6 + drift) / 1e6.
    drift_ppm: i64,
    /// What the disk's durable records hold, as an auditor holding the
    /// fleet's keys reads them (for checkers; the host cannot).
    view: VaultDisk<C>,
    /// The records of the durable disk, each shared with the
    /// [`SimNode::history`] entries that hold it: written once, when its
    /// write syncs.
    durable: Vec<Arc<StoredRecord<C>>>,
    /// The last [`DISK_HISTORY`] durable disks, for rollback faults (one
    /// per sync). An entry shares its records with the disk and the other
    /// entries, and its view is read again only when a rollback puts it
    /// back: a deep copy of the records and of the store they hold at
    /// every sync made a step's cost grow with the number of users.
    history: VecDeque<Vec<Arc<StoredRecord<C>>>>,
    timer_at: Option<Millis>,
    /// The node deadline (its own clock) that timer is for.
    timer_for: Option<Millis>,
    /// The term and role the node last reported (`Effect::Role`), or had
    /// when it started: what the driver contract's next report is judged
    /// against.
    reported: Option<(Term, Role)>,
}

/// Records, each shared (see [`SimNode::durable`]).
fn shared<C: VaultCrypto>(records: Vec<StoredRecord<C>>) -> Vec<Arc<StoredRecord<C>>> {
    records.into_iter().map(Arc::new).collect()
}

/// A term and role as a breach report names them.
fn show_role(r: Option<(Term, Role)>) -> String {
    match r {
        Some((term, role)) => format!("{role:?} of term {}", term.0),
        None => "nothing".to_string(),
    }
}

/// A node's term and role, if it is up.
fn role_of<C: VaultCrypto>(host: &NodeHost<C, SimDisk<C>>) -> Option<(Term, Role)> {
    host.node().map(|n| (n.raft().term(), n.raft().role()))
}

/// A reply a client received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Delivered<C: VaultCrypto> {
    /// When it arrived.
    pub at: Millis,
    /// The client.
    pub client: ClientId,
    /// The request it answers.
    pub request: RequestId,
    /// The answer.
    pub response: ClientResponse<C>,
    /// The node that sent it.
    pub from: NodeId,
    /// The log index the answer reports, if any (see [`Reply::index`]).
    pub index: Option<LogIndex>,
}

/// A vault cluster in virtual time. See the module documentation.
pub struct Cluster<C: VaultCrypto, X = ()> {
    config: SimConfig,
    rng: ChaCha8Rng,
    now: Millis,
    seq: u64,
    queue: BTreeMap<(Millis, u64), Event<C, X>>,
    nodes: Vec<SimNode<C>>,
    /// Directed links that drop everything.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Nodes that clients cannot reach.
    unreachable: BTreeSet<NodeId>,
    replies: Vec<Delivered<C>>,
    events_processed: u64,
    observe: bool,
    effects: Effects<C>,
    /// The fleet's cryptography, for auditor views of sealed data.
    crypto: C,
    /// Peer messages nodes dropped because they did not open.
    dropped: u64,
}

impl<C: VaultCrypto> Cluster<C, ()> {
    /// A fresh cluster: every node up with an empty disk.
    pub fn new(config: SimConfig, crypto: C, seed: u64) -> Self {
        Cluster::with_rng(config, crypto, ChaCha8Rng::seed_from_u64(seed))
    }
}

impl<C: VaultCrypto, X> Cluster<C, X> {
    /// A fresh cluster drawing all its randomness from `rng`.
    pub fn with_rng(config: SimConfig, crypto: C, mut rng: ChaCha8Rng) -> Self {
        let nodes = config
            .node
            .cluster
            .members()
            .map(|id| SimNode {
                host: NodeHost::init(
                    id,
                    config.node,
                    crypto.clone(),
                    SimDisk::default(),
                    Millis(0),
                    &mut rng,
                ),
                incarnation: 0,
                drift_ppm: 0,
                view: VaultDisk::default(),
                durable: Vec::new(),
                history: VecDeque::from([Vec::new()]),
                timer_at: None,
                timer_for: None,
                reported: None,
            })
            .map(|mut sim| {
                sim.reported = role_of(&sim.host);
                sim
            })
            .collect();
        let mut cluster = Cluster {
            config,
            rng,
            now: Millis(0),
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            cut: BTreeSet::new(),
            unreachable: BTreeSet::new(),
            replies: Vec::new(),
            events_processed: 0,
            observe: false,
            effects: Effects::default(),
            crypto: crypto.clone(),
            dropped: 0,
        };
        let max_drift = i64::from(config.max_drift_ppm);
        for i in 0..cluster.nodes.len() {
            if max_drift > 0 {
                let span = (2 * max_drift + 1) as u64;
                cluster.nodes[i].drift_ppm = (cluster.rng.next_u64() % span) as i64 - max_drift;
            }
            cluster.schedule_timer(i);
        }
        cluster
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The kernel's RNG: drivers draw from it so one seed fixes everything.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Records messages in [`Cluster::effects`] from now on.
    pub fn set_observe(&mut self, on: bool) {
        self.observe = on;
    }

    /// What the last [`Cluster::step`] produced.
    pub fn effects(&self) -> &Effects<C> {
        &self.effects
    }

    /// Changes the network's behaviour from now on.
    pub fn set_net(&mut self, net: NetConfig) {
        self.config.net = net;
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Schedules a driver event at `at` (not before now).
    pub fn schedule(&mut self, at: Millis, event: X) {
        let at = at.max(self.now);
        self.push(at, Event::External(event));
    }

    /// Node `id`'s clock: drifts from the virtual clock by its rate.
    fn local(&self, i: usize, global: Millis) -> Millis {
        let d = self.nodes[i].drift_ppm;
        Millis((i128::from(global.0) * i128::from(1_000_000 + d) / 1_000_000) as u64)
    }

    /// The virtual time at which node `i`'s clock shows `local`.
    fn global_at(&self, i: usize, local: Millis) -> Millis {
        let d = self.nodes[i].drift_ppm;
        let rate = i128::from(1_000_000 + d);
        Millis(((i128::from(local.0) * 1_000_000 + rate - 1) / rate) as u64)
    }

    /// Node `id`'s clock now, as the node reads it (the checks that time a
    /// node's own deadlines use it, so drift cannot blur them).
    pub fn clock_of(&self, id: NodeId) -> Millis {
        self.local(usize::from(id.0), self.now)
    }

    /// How many times node `id` has crashed: its volatile state (timers,
    /// the leader it heard) is from this incarnation only.
    pub fn incarnation(&self, id: NodeId) -> u32 {
        self.nodes[usize::from(id.0)].incarnation
    }

    /// Whether node `id` is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes[usize::from(id.0)].host.is_up()
    }

    /// Node `id`'s disk as bytes and as typed state.
    pub fn sim_disk(&self, id: NodeId) -> &SimDisk<C> {
        self.nodes[usize::from(id.0)].host.disk()
    }

    /// Whether a link is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// The virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Peer messages nodes dropped because they did not open (forged,
    /// altered or misdirected), so far.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Node `id`, if it is up.
    pub fn node(&self, id: NodeId) -> Option<&VaultNode<C>> {
        self.nodes[usize::from(id.0)].host.node()
    }

    /// What node `id`'s durable disk holds, as an auditor holding the
    /// fleet's keys reads it.
    pub fn disk(&self, id: NodeId) -> &VaultDisk<C> {
        &self.nodes[usize::from(id.0)].view
    }

    /// The cryptography every node runs (it holds the fleet's keys): what
    /// checkers open sealed records and messages with.
    pub fn crypto(&self) -> &C {
        &self.crypto
    }

    /// Writes node `id` issued that are not durable yet.
    pub fn unsynced(&self, id: NodeId) -> usize {
        self.nodes[usize::from(id.0)].host.unsynced().len()
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

    fn push(&mut self, at: Millis, event: Event<C, X>) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn random_delay(&mut self) -> u64 {
        let net = self.config.net;
        net.min_delay_ms + self.rng.next_u64() % (net.max_delay_ms - net.min_delay_ms + 1)
    }

    fn schedule_timer(&mut self, i: usize) {
        let sim = &self.nodes[i];
        let Some(node) = sim.host.node() else {
            return;
        };
        let deadline = node.next_deadline();
        if sim.timer_at.is_some() && sim.timer_for == Some(deadline) {
            // Already queued for this very deadline (jitter drawn once).
            return;
        }
        let mut at = self.global_at(i, deadline).max(self.now);
        if sim.timer_at.is_some_and(|t| t <= at) {
            // An earlier wake-up is already queued; it will re-arm.
            return;
        }
        if self.config.max_timer_jitter_ms > 0 {
            at = at.plus(self.rng.next_u64() % (self.config.max_timer_jitter_ms + 1));
        }
        let incarnation = sim.incarnation;
        // Only this timer counts from now on: an earlier-queued one for a
        // later deadline is stale and is ignored when it comes due.
        self.nodes[i].timer_at = Some(at);
        self.nodes[i].timer_for = Some(deadline);
        self.push(
            at,
            Event::Timer {
                node: NodeId(i as u8),
                incarnation,
                at,
            },
        );
    }

    /// Carries out a node's step, effect by effect in order: writes to its
    /// disk queue, messages into the network, replies to the clients; then
    /// arms its timer.
    fn collect(&mut self, i: usize, step: HostStep<C>) {
        let from = NodeId(i as u8);
        self.check_role_report(i, &step.effects);
        // The sync is queued before anything the step sends.
        if let Some(up_to) = step.wrote.last() {
            self.queue_sync(i, *up_to);
        }
        for effect in step.effects {
            match effect {
                Effect::Send { to, message } => {
                    let mut peek = None;
                    if self.observe {
                        if let Some(opened) = audit_message(&self.crypto, from, to, &message) {
                            peek = Some(Peek::of(&opened));
                            self.effects.messages.push((from, to, opened));
                        }
                        self.effects.sealed.push((from, to, message.clone()));
                    }
                    self.send(from, to, message, peek);
                }
                Effect::Dropped { .. } => self.dropped += 1,
                Effect::Reply(r) => self.deliver_reply(from, r),
                Effect::Applied(applied) => self.effects.applied.push((from, applied)),
                Effect::Restored { index } => self.effects.restored.push((from, index)),
                Effect::Persist { .. } => unreachable!("the host keeps the writes"),
                Effect::Role { .. } => {}
            }
        }
        self.schedule_timer(i);
    }

    /// The driver contract's `Effect::Role` (`vault/io.rs`), judged as the
    /// driver sees it (DRV-1): a step reports the node's term and role,
    /// once and last among its effects, exactly when they differ from
    /// before the step. The real runtime relies on it: it rewrites a node's
    /// status file, where `bvault cluster` looks for the leader, at once on
    /// a report, and otherwise only now and then. A breach is recorded in
    /// [`Effects::contract_breach`] for the world to report.
    fn check_role_report(&mut self, i: usize, effects: &[Effect<C>]) {
        let Some(now) = role_of(&self.nodes[i].host) else {
            return;
        };
        let before = self.nodes[i].reported;
        self.nodes[i].reported = Some(now);
        // Every step runs this: count the reports and keep the first,
        // without collecting them.
        let mut reports = effects.iter().enumerate().filter_map(|(k, e)| match e {
            Effect::Role { term, role } => Some((k, (*term, *role))),
            _ => None,
        });
        let first = reports.next();
        let more = reports.count();
        let breach = match first {
            None if before != Some(now) => Some(format!(
                "n{i} went from {} to {} in a step that did not report it",
                show_role(before),
                show_role(Some(now))
            )),
            None => None,
            Some((k, said))
                if more == 0 && (said != now || before == Some(now) || k + 1 != effects.len()) =>
            {
                Some(format!(
                    "n{i}, at {} after {}, reported {} as effect {} of {}",
                    show_role(Some(now)),
                    show_role(before),
                    show_role(Some(said)),
                    k + 1,
                    effects.len()
                ))
            }
            Some(_) if more == 0 => None,
            Some(_) => Some(format!(
                "n{i} reported its role {} times in one step",
                more + 1
            )),
        };
        if breach.is_some() && self.effects.contract_breach.is_none() {
            self.effects.contract_breach = breach;
        }
    }

    /// Node `i`'s disk syncs every write up to `up_to` after the sync delay.
    fn queue_sync(&mut self, i: usize, up_to: WriteId) {
        let at = self.now.plus(self.config.sync_delay_ms);
        let incarnation = self.nodes[i].incarnation;
        let node = NodeId(i as u8);
        self.push(
            at,
            Event::Sync {
                node,
                incarnation,
                up_to,
            },
        );
    }

    /// Puts a node's reply on the way to its client.
    fn deliver_reply(&mut self, from: NodeId, r: Reply<C>) {
        if !self.unreachable.contains(&from) {
            for _ in 0..self.client_copies() {
                let at = self.now.plus(self.random_delay());
                let d = Delivered {
                    at,
                    client: r.to,
                    request: r.request,
                    response: r.response.clone(),
                    from,
                    index: r.index,
                };
                self.push(at, Event::Reply(Box::new(d)));
            }
        }
        self.effects.replies.push((from, r));
    }

    /// How many copies of a client request or reply the network delivers.
    fn client_copies(&mut self) -> u32 {
        let net = self.config.net;
        if net.client_drop_per_mille > 0 && (self.rng.next_u32() % 1000) < net.client_drop_per_mille
        {
            return 0;
        }
        if net.client_duplicate_per_mille > 0
            && (self.rng.next_u32() % 1000) < net.client_duplicate_per_mille
        {
            return 2;
        }
        1
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: SealedMessage<C>, peek: Option<Peek>) {
        if self.cut.contains(&(from, to)) {
            return;
        }
        let net = self.config.net;
        if net.drop_per_mille > 0 && (self.rng.next_u32() % 1000) < net.drop_per_mille {
            return;
        }
        let copies = if net.duplicate_per_mille > 0
            && (self.rng.next_u32() % 1000) < net.duplicate_per_mille
        {
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.deliver_later(from, to, msg.clone(), peek, None);
        }
    }

    /// Sends a client request to node `to`, arriving after a network delay.
    /// Returns how many copies the network delivers (0: lost, 2: duplicated).
    pub fn submit(
        &mut self,
        to: NodeId,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
    ) -> u32 {
        if self.unreachable.contains(&to) {
            return 0;
        }
        let copies = self.client_copies();
        self.submit_copies(to, client, request, req, copies)
    }

    /// Delivers `copies` copies of a client request to node `to`, each
    /// after its own network delay (a flood of one request, sent again and
    /// again). Returns how many copies the network delivers.
    pub fn submit_copies(
        &mut self,
        to: NodeId,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
        copies: u32,
    ) -> u32 {
        if self.unreachable.contains(&to) {
            return 0;
        }
        for _ in 0..copies {
            let at = self.now.plus(self.random_delay());
            self.push(
                at,
                Event::Request {
                    to,
                    client,
                    request,
                    req: Box::new(req.clone()),
                },
            );
        }
        copies
    }

    /// Processes the next event; `None` if the queue is empty.
    pub fn step(&mut self) -> Option<Stepped<C, X>> {
        let ((at, _), event) = self.queue.pop_first()?;
        self.now = self.now.max(at);
        self.events_processed += 1;
        self.effects.node = None;
        self.effects.request = None;
        self.effects.request_id = None;
        self.effects.messages.clear();
        self.effects.sealed.clear();
        self.effects.synced.clear();
        self.effects.replies.clear();
        self.effects.applied.clear();
        self.effects.restored.clear();
        self.effects.handled = None;
        self.effects.contract_breach = None;
        self.effects.misdirected_taken = None;
        let node_id = match event {
            Event::Deliver { to, .. } | Event::Request { to, .. } => to,
            Event::Timer { node, .. } | Event::Sync { node, .. } => node,
            Event::Reply(d) => return Some(Stepped::Reply(*d)),
            Event::External(x) => return Some(Stepped::External(x)),
        };
        self.effects.node = Some(node_id);
        self.effects.finishing = None;
        if let Event::Request {
            req,
            client,
            request,
            ..
        } = &event
        {
            self.effects.request = Some((req.user(), request_kind(req)));
            self.effects.request_id = Some((*client, *request));
            if let ClientRequest::LoginFinish { login, .. } = &**req {
                self.effects.finishing = Some(*login);
            }
        }
        let i = usize::from(node_id.0);
        let now = self.local(i, self.now);
        match event {
            Event::Reply(_) | Event::External(_) => {}
            Event::Deliver {
                from,
                to,
                msg,
                peek,
                sealed_for,
            } => {
                let i = usize::from(to.0);
                if self.nodes[i].host.is_up() {
                    let input = Input::Peer { from, message: msg };
                    let step = self.nodes[i].host.handle(input, now, &mut self.rng);
                    let dropped = self.dropped;
                    self.collect(i, step);
                    if self.dropped == dropped {
                        self.effects.handled = peek.map(|p| (from, p));
                        self.effects.misdirected_taken = sealed_for
                            .filter(|link| *link != (from, to))
                            .map(|link| (link, (from, to)));
                    }
                }
            }
            Event::Request {
                to,
                client,
                request,
                req,
            } => {
                let i = usize::from(to.0);
                if self.nodes[i].host.is_up() {
                    let input = Input::Client {
                        from: client,
                        id: request,
                        request: *req,
                    };
                    let step = self.nodes[i].host.handle(input, now, &mut self.rng);
                    self.collect(i, step);
                }
            }
            Event::Timer {
                node,
                incarnation,
                at,
            } => {
                let i = usize::from(node.0);
                if self.nodes[i].incarnation == incarnation && self.nodes[i].timer_at == Some(at) {
                    self.nodes[i].timer_at = None;
                    self.nodes[i].timer_for = None;
                    if let Some(n) = self.nodes[i].host.node() {
                        if n.next_deadline() <= now {
                            let step = self.nodes[i].host.handle(Input::Timer, now, &mut self.rng);
                            self.collect(i, step);
                        } else {
                            self.schedule_timer(i);
                        }
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
                if sim.incarnation == incarnation && sim.host.is_up() {
                    let observe = self.observe;
                    let synced = &mut self.effects.synced;
                    let crypto = &self.crypto;
                    let view = &mut sim.view;
                    let durable = &mut sim.durable;
                    let step = sim.host.sync(up_to, now, &mut self.rng, |op, range| {
                        match audit_record(crypto, node, op.record()) {
                            Some(DiskRecord::Image(image)) => *view = image,
                            Some(DiskRecord::Write(w)) => view.apply(&w),
                            None => unreachable!("a node writes records it can read"),
                        }
                        if let DiskOp::Replace(_) = op {
                            durable.clear();
                        }
                        durable.push(Arc::new(op.record().clone()));
                        if observe {
                            synced.push((node, range));
                        }
                    });
                    assert_eq!(
                        sim.durable.len(),
                        sim.host.disk().records().len(),
                        "node {}'s shared records follow its disk",
                        node.0
                    );
                    if sim.history.len() == DISK_HISTORY {
                        sim.history.pop_front();
                    }
                    sim.history.push_back(sim.durable.clone());
                    self.collect(i, step);
                }
            }
        }
        Some(Stepped::Node(node_id))
    }

    /// Processes events until `until`, keeping replies for [`Cluster::take_replies`]
    /// and dropping driver events (for scripted tests without a driver).
    fn run_kernel_until(&mut self, until: Millis) {
        while let Some((&(at, _), _)) = self.queue.first_key_value() {
            if at > until {
                break;
            }
            if let Some(Stepped::Reply(d)) = self.step() {
                self.replies.push(d);
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs until virtual time `until` (or the queue empties). Replies are
    /// kept for [`Cluster::take_replies`]; driver events are dropped.
    pub fn run_until(&mut self, until: Millis) {
        self.run_kernel_until(until);
    }

    /// Runs for `ms` more milliseconds of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now.plus(ms);
        self.run_until(until);
    }

    /// Node `id` crashes: its memory and unsynced writes are lost.
    pub fn crash(&mut self, id: NodeId) {
        self.crash_tearing(id, None);
    }

    /// Node `id` crashes while its first unsynced write is being written:
    /// `Some(keep)` puts the first `keep` bytes of that write's record on
    /// disk (a torn write, which recovery must detect and drop).
    pub fn crash_tearing(&mut self, id: NodeId, keep: Option<usize>) {
        let sim = &mut self.nodes[usize::from(id.0)];
        if let (Some(keep), Some((_, w))) = (keep, sim.host.unsynced().first()) {
            let w = w.clone();
            let before = sim.host.disk().bytes().len();
            sim.host.disk_mut().tear(&w, keep);
            // The fault must bite as it says: an append leaves a prefix of
            // its record's frame, `keep` bytes of it (modulo the frame's
            // length, so never the whole record); a replace leaves the old
            // file as it was.
            let torn = match &w {
                DiskOp::Append(record) => {
                    let frame = backup_vault::wire::disk::encode_record(
                        record,
                        &backup_vault::wire::disk::DiskLimits::DEFAULT,
                    )
                    .expect("every disk record encodes");
                    keep % frame.len().max(1)
                }
                DiskOp::Replace(_) => 0,
            };
            assert_eq!(
                sim.host.disk().bytes().len(),
                before + torn,
                "a torn write of {keep} bytes left the wrong number on node {}'s disk",
                id.0
            );
        }
        sim.host.crash();
        sim.incarnation += 1;
        sim.timer_at = None;
        sim.timer_for = None;
    }

    /// Flips one bit of node `id`'s synced records (bit rot); recovery will
    /// find the record corrupt and start from the valid prefix before it.
    pub fn rot(&mut self, id: NodeId, offset: usize, bit: u8) {
        let disk = self.nodes[usize::from(id.0)].host.disk_mut();
        let len = disk.bytes().len();
        let old = (len > 0).then(|| disk.bytes()[offset % len]);
        disk.flip_bit(offset, bit);
        // The fault must bite: exactly the bit asked for, at the offset
        // asked for (modulo the disk's length), is flipped.
        if let Some(old) = old {
            assert_eq!(
                disk.bytes()[offset % len] ^ old,
                1 << (bit % 8),
                "bit rot at {offset} did not flip bit {bit} of node {}'s disk",
                id.0
            );
        }
    }

    /// Node `id` restarts from its disk, recovering it from its bytes.
    /// Returns what recovery found.
    pub fn restart(&mut self, id: NodeId) -> Recovery {
        let i = usize::from(id.0);
        let local = self.local(i, self.now);
        let sim = &mut self.nodes[i];
        let written = sim.host.disk().records().len();
        let recovery = sim.host.restart(local, &mut self.rng);
        let records = sim.host.disk().records().to_vec();
        // What the host reports is what the restart kept: records lost
        // (corrupt, or not authentic) exactly when it reports an older
        // state. The report tells the operator, and the checks, that the
        // node came back rolled back.
        assert_eq!(
            records.len() < written,
            matches!(recovery, Recovery::Corrupt { .. } | Recovery::Forged { .. }),
            "node {}'s restart kept {} of its {written} records and reported {recovery:?}",
            id.0,
            records.len()
        );
        let audited = audit_disk(&self.crypto, id, &records);
        // The host cut the disk where the node stopped reading: what it
        // appends next follows records that open (else every write of this
        // incarnation would be lost at the next restart).
        assert_eq!(
            audited.authentic,
            records.len(),
            "node {}'s disk still holds records it could not read after its restart",
            id.0
        );
        sim.view = audited.state;
        sim.reported = role_of(&sim.host);
        sim.durable = shared(records);
        if matches!(recovery, Recovery::Corrupt { .. } | Recovery::Forged { .. }) {
            // The restarted node holds an older state: remember it as such.
            sim.history.push_back(sim.durable.clone());
        }
        self.schedule_timer(i);
        recovery
    }

    /// Node `id`'s HSM is replaced by a fresh one (it must be down): its
    /// counter is lost, so a rollback of its disk goes unnoticed and only
    /// the quorum's tolerance R covers it.
    pub fn replace_hsm(&mut self, id: NodeId) {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(
            !sim.host.is_up(),
            "replace a node's HSM only while it is down"
        );
        sim.host.replace_hsm();
        // The fault must bite: a counter that survived would turn the
        // rollback it comes with into one the HSM sees, and R's case would
        // never be exercised.
        assert_eq!(
            sim.host.nvram(),
            Watermark::default(),
            "a new HSM's counter starts from nothing"
        );
    }

    /// What node `id`'s HSM's counter holds, up or down.
    pub fn nvram(&self, id: NodeId) -> Watermark {
        self.nodes[usize::from(id.0)].host.nvram()
    }

    /// Node `id`'s disk as it is now (its records and their view), to put
    /// back later with [`Cluster::put_disk`].
    pub fn take_disk(&self, id: NodeId) -> (Vec<StoredRecord<C>>, VaultDisk<C>) {
        let sim = &self.nodes[usize::from(id.0)];
        (sim.host.disk().records().to_vec(), sim.view.clone())
    }

    /// Puts `disk` (from [`Cluster::take_disk`]) on node `id`, which must be
    /// down: an operator restoring a copy of a disk it kept.
    pub fn put_disk(&mut self, id: NodeId, disk: (Vec<StoredRecord<C>>, VaultDisk<C>)) {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(
            !sim.host.is_up(),
            "replace a node's disk only while it is down"
        );
        *sim.host.disk_mut() = SimDisk::from_records(disk.0.clone());
        sim.view = disk.1;
        sim.durable = shared(disk.0);
        sim.history.push_back(sim.durable.clone());
    }

    /// How many syncs back node `id`'s disk last ended its log before the
    /// entry it ends with now: the rollback that loses its last entry (and
    /// any written in the same sync or after). `None` if the disks it
    /// remembers all end there.
    pub fn syncs_back_to_lose_last_entry(&self, id: NodeId) -> Option<usize> {
        let sim = &self.nodes[usize::from(id.0)];
        let last = |disk: &Vec<Arc<StoredRecord<C>>>| {
            let records: Vec<StoredRecord<C>> = disk.iter().map(|r| (**r).clone()).collect();
            audit_disk(&self.crypto, id, &records)
                .state
                .log
                .last_index()
        };
        let now = last(sim.history.back()?);
        sim.history.iter().rev().position(|d| last(d) < now)
    }

    /// Node `id`'s disk loses its last record (it must be down), as a
    /// disk that loses a synced write's last block does, when that record
    /// continues a segment; false (nothing done) when it starts one, whose
    /// loss would take the whole image it begins.
    pub fn drop_last_record(&mut self, id: NodeId) -> bool {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(!sim.host.is_up(), "cut a node's disk only while it is down");
        let Some((last, kept)) = sim.durable.split_last() else {
            return false;
        };
        if last.position == 0 {
            return false;
        }
        let records: Vec<StoredRecord<C>> = kept.iter().map(|r| (**r).clone()).collect();
        let audited = audit_disk(&self.crypto, id, &records);
        assert_eq!(
            audited.authentic,
            records.len(),
            "node {}'s synced records did not open",
            id.0
        );
        sim.view = audited.state;
        sim.durable = kept.to_vec();
        *sim.host.disk_mut() = SimDisk::from_records(records);
        sim.history.pop_back();
        sim.history.push_back(sim.durable.clone());
        true
    }

    /// Node `id`'s disk goes back `syncs_back` syncs (it must be down), or
    /// to the oldest state it remembers ([`DISK_HISTORY`] syncs back).
    pub fn roll_back(&mut self, id: NodeId, syncs_back: usize) {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(
            !sim.host.is_up(),
            "roll back a node's disk only while it is down"
        );
        let k = sim.history.len().saturating_sub(1 + syncs_back);
        let records: Vec<StoredRecord<C>> = sim.history[k].iter().map(|r| (**r).clone()).collect();
        let audited = audit_disk(&self.crypto, id, &records);
        // Every record of a remembered disk was synced by the node, so it
        // opens: the view is the one the disk had at that sync.
        assert_eq!(
            audited.authentic,
            records.len(),
            "node {}'s remembered disk holds records it could not read",
            id.0
        );
        sim.view = audited.state;
        sim.durable = sim.history[k].clone();
        *sim.host.disk_mut() = SimDisk::from_records(records);
        sim.history.truncate(k + 1);
    }

    /// Puts `message` on the wire to `to` as if `from` sent it: what a host
    /// that carries every node's traffic can do (forge, replay, misdirect).
    ///
    /// `sealed_for` is the link a captured message was sealed for (`None`
    /// for bytes the host made): delivered on another, the receiver must
    /// drop it, and [`Effects::misdirected_taken`] reports it if it does not.
    pub fn inject(
        &mut self,
        from: NodeId,
        to: NodeId,
        message: SealedMessage<C>,
        sealed_for: Option<(NodeId, NodeId)>,
    ) {
        let peek = if self.observe {
            audit_message(&self.crypto, from, to, &message).map(|m| Peek::of(&m))
        } else {
            None
        };
        self.deliver_later(from, to, message, peek, sealed_for);
    }

    fn deliver_later(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: SealedMessage<C>,
        peek: Option<Peek>,
        sealed_for: Option<(NodeId, NodeId)>,
    ) {
        let at = self.now.plus(self.random_delay());
        self.push(
            at,
            Event::Deliver {
                from,
                to,
                msg,
                peek,
                sealed_for,
            },
        );
    }

    /// Replaces node `id`'s records from `at` on by `records` (it must be
    /// down): a host editing its disk with the records it has, re-framed so
    /// the framing is intact. The restart that follows reads the disk up to
    /// the first record that does not open.
    pub fn splice_disk(&mut self, id: NodeId, at: usize, records: Vec<StoredRecord<C>>) {
        let sim = &mut self.nodes[usize::from(id.0)];
        assert!(
            !sim.host.is_up(),
            "edit a node's disk only while it is down"
        );
        let disk = sim.host.disk_mut();
        let mut edited = disk.records()[..at.min(disk.records().len())].to_vec();
        edited.extend(records.iter().cloned());
        disk.splice(at, records);
        // The fault must bite: the disk holds the edit, framed intact.
        let framed = RecordLog::from_records(edited);
        assert!(
            disk.records() == framed.records() && disk.bytes() == framed.bytes(),
            "node {}'s disk does not hold the host's edit",
            id.0
        );
    }

    /// Clients cannot reach node `id` (or, with `false`, can again).
    pub fn set_unreachable(&mut self, id: NodeId, unreachable: bool) {
        if unreachable {
            self.unreachable.insert(id);
        } else {
            self.unreachable.remove(&id);
        }
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
        self.unreachable.clear();
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
        // The client's own leader hint (`client::retry::Route`), seeded with
        // the leader the cluster knows of, as a scripted test may.
        let nodes = self.config.node.cluster.nodes();
        let mut route = Route::starting_at(nodes, self.leader().unwrap_or(NodeId(0)));
        let _ = self.submit(route.leader(), client, request, req.clone());
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
                // Scripted tests resend at once, even without a named
                // leader: they have no backoff to keep.
                Some(ClientResponse::NotLeader { leader }) => {
                    let _ = route.not_leader(*leader);
                    true
                }
                Some(ClientResponse::Retry) => true,
                Some(other) => return Some(other.clone()),
                // No answer for a while: the node may be down or cut off.
                None if self.now.0 >= asked_at.0 + 500 => {
                    route.next();
                    true
                }
                None => false,
            };
            if resend {
                request = RequestId(self.rng.next_u64());
                let _ = self.submit(route.leader(), client, request, req.clone());
                asked_at = self.now;
            }
        }
        None
    }
}

/// A client request's kind, as the checkers and traces name it.
pub fn request_kind<C: VaultCrypto>(req: &ClientRequest<C>) -> &'static str {
    req.kind()
}

/// A client response's kind, for traces.
pub fn response_kind<C: VaultCrypto>(resp: &ClientResponse<C>) -> &'static str {
    resp.kind()
}
