//! The implementation in the loop: exhaustive search over the vault node's
//! own code (`backup_vault::vault::node::VaultNode`), with the symbolic
//! password check.
//!
//! # What a state is
//! A [`VaultState`] holds, per node, the implementation's `VaultNode` (or
//! nothing while it is down), the node's clock, its durable disk (sealed
//! records), the writes it asked for that are not yet synced, and (while a
//! rollback may still happen) the disks it had at its last few syncs. Next
//! to the nodes: the messages in flight, what the two clients know, fault
//! budgets, and *ghost* variables, which observe the run for the
//! properties (KE2s released per registration, every entry ever committed,
//! the leader of each term, the client-visible history for the
//! linearizability tester).
//!
//! # What an action is
//! Every step is one input to one node, exactly as a driver would give it
//! (see [`Action`]): deliver a message (or deliver a copy and keep it in
//! flight: a duplicate), fire a node's timer, sync a node's disk, crash a
//! node (unsynced writes are lost), restart it from its disk, roll a down
//! node's disk back to an earlier synced state with a new HSM (whose counter
//! starts empty, so the node cannot tell: the case the rollback tolerance R
//! covers), or a client request to a node that believes it leads. Loss is a message that is never delivered;
//! reordering is choosing which message to deliver.
//!
//! The host (a node's machine, disk and network) is untrusted: a node seals
//! every disk record and message it hands it. Beyond losing, duplicating
//! (a replay of a captured message) and reordering messages, a host
//! adversary, off by default, forges an `Append` in the clear (what a host
//! without keys can make), delivers a message to a node it was not sealed
//! for, edits a down node's disk, and rolls back a down node's disk under
//! the same HSM, on any node, every node at once included (see
//! [`VaultBounds::forged_appends`], [`VaultBounds::misdirections`],
//! [`VaultBounds::disk_edits`], [`VaultBounds::host_rollbacks`]). A state
//! keeps the disks as the host holds them, sealed records; the properties
//! open them as the node would on a restart ([`Slot::durable`]).
//!
//! # Why a custom `Model` and not stateright's actor model
//! The actor model (`stateright::actor`) offers crash and recovery with a
//! `Storage` that survives, but no sync boundary and no rollback of storage
//! to an older version (DESIGN.md §7). Both matter here: LOCK-2 and CONS-1
//! depend on *what reached the disk* when a message left, and R=1 quorums
//! exist because of rollbacks. So this model drives `VaultNode` itself, the
//! way the simulator does, with every driver choice made an action.
//!
//! # Determinism
//! Stateright replays paths by re-running actions, so a transition must be
//! a pure function of the state. The node draws randomness (registration
//! ids, login ids) from an RNG seeded with a hash of the node's state and
//! the input, and time is a per-node clock stored in the state (see
//! [`VaultModel::tick`]).

mod props;
pub mod slice;
pub mod spec;
#[cfg(test)]
mod tests;

use backup_vault::flaws::VaultFlaw;
use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, Ke1Digest, OprfKeyId, ProofStatement, RegistrationId,
    ReplyStatement, SymBlinded, SymKey, SymPassword, SymProof, SymRegistration, SymTag,
    SymbolicCrypto, TicketClaims, VaultCrypto, DELETE_NONCE_LEN,
};
use backup_vault::vault::host::{HostStep, NodeHost};
use backup_vault::vault::ids::{LogIndex, Millis, NodeId, Term, UserId};
use backup_vault::vault::io::{Effect, Input};
use backup_vault::vault::node::{
    ClientId, NodeConfig, Reply, RequestId, VaultDisk, VaultNode, VaultPeerMessage, VaultWrite,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId, Replacing};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::raft::durable::DiskWrite;
use backup_vault::vault::raft::log::Entry;
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::{Role, Timing};
use backup_vault::vault::records::{Command, Tombstone};
use backup_vault::vault::sealed::{open_disk, DiskOp, DiskRecord, SealedMessage, StoredRecord};
use backup_vault::vault::storage::{self, Recovery};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Property};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

pub use spec::{RecordOp, RecordRet, RecordSpec, RecordState};

type C = SymbolicCrypto;
/// The implementation's vault node, with symbolic cryptography.
pub type Node = VaultNode<C>;
/// A consensus message.
pub type Msg = VaultPeerMessage<C>;
/// A consensus message as it travels: sealed for its link (or, if a host
/// made it, in the clear). Symbolic, so the model reads `.value` directly.
pub type SealedMsg = SealedMessage<C>;
/// A node's disk as its host keeps it: the node's sealed records, as in the
/// library's plain-data `SealedDisk`, but shared between states until one
/// of them writes (copy on write): most successors of a state leave every
/// disk as it was, and the search keeps its states whole.
///
/// The search hashes every state it reaches, and the disks (each node's,
/// and the earlier ones a rollback may return to) were most of what it
/// hashed. So a disk keeps, beside its records, the digest of each prefix
/// of them, made as the record is written, and hashes as its length and
/// its last digest: one word, not every record again. Equal records give
/// equal digests, so equal disks hash alike; two different disks hash
/// alike only by a 64-bit collision, the chance the search's fingerprints
/// already take for whole states.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    records: Arc<Vec<StoredRecord<C>>>,
    /// `prefix[i]`: the digest of `records[..=i]`.
    prefix: Arc<Vec<u64>>,
}

impl Disk {
    /// The records, in order.
    pub fn records(&self) -> &[StoredRecord<C>] {
        &self.records
    }

    /// The digest of the records (0 for none).
    fn digest(&self) -> u64 {
        debug_assert_eq!(self.records.len(), self.prefix.len(), "a digest per record");
        self.prefix.last().copied().unwrap_or(0)
    }

    /// Appends `record`, and its prefix's digest.
    fn push(&mut self, record: StoredRecord<C>) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.digest().hash(&mut h);
        record.hash(&mut h);
        Arc::make_mut(&mut self.prefix).push(h.finish());
        Arc::make_mut(&mut self.records).push(record);
    }

    /// Keeps the first `n` records.
    fn truncate(&mut self, n: usize) {
        if n < self.records.len() {
            Arc::make_mut(&mut self.records).truncate(n);
            Arc::make_mut(&mut self.prefix).truncate(n);
        }
    }

    /// Puts `record` at `at` (a host's edit), the records after it kept.
    fn set(&mut self, at: usize, record: StoredRecord<C>) {
        let after = self.records[at + 1..].to_vec();
        self.truncate(at);
        self.push(record);
        for r in after {
            self.push(r);
        }
    }
}

impl PartialEq for Disk {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
    }
}

impl Eq for Disk {}

impl Hash for Disk {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.records.len().hash(state);
        self.digest().hash(state);
    }
}

impl storage::Disk<C> for Disk {
    fn persist(&mut self, op: &DiskOp<C>) -> std::ops::Range<usize> {
        match op {
            DiskOp::Append(r) => self.push(r.clone()),
            DiskOp::Replace(r) => {
                *self = Disk::default();
                self.push(r.clone());
            }
        }
        0..0
    }

    fn read(&mut self) -> (Vec<StoredRecord<C>>, Recovery) {
        (self.records.to_vec(), Recovery::Clean)
    }

    fn keep(&mut self, n: usize) {
        self.truncate(n);
    }
}
/// What a node's disk holds, opened: its term, vote, snapshot and log.
pub type Durable = VaultDisk<C>;
/// A node host on a disk of sealed records, as the model keeps it.
pub type Host = NodeHost<C, Disk>;
type Write = VaultWrite<C>;
type Req = ClientRequest<C>;
type Resp = ClientResponse<C>;

/// The user whose record is attacked.
pub const ALICE: UserId = UserId(1);
/// A second registered user, whose record the attacker tries to reach with
/// Alice's messages (REG-1).
pub const BOB: UserId = UserId(2);
/// The honest client: Alice's own device, which holds K.
pub const OWNER: ClientId = ClientId(1);
/// The attacker: the chat server acting as Alice's account. It sees every
/// request and reply, guesses (by logins and by registration requests, the
/// two OPRF entry points), re-registers, replays and splices requests.
pub const ATTACKER: ClientId = ClientId(2);
/// Alice's key K.
pub const OWNER_KEY: SymKey = SymKey(1);
/// The key in the attacker's own registrations.
pub const ATTACKER_KEY: SymKey = SymKey(2);
/// Alice's first password.
pub const PASSWORD: SymPassword = SymPassword(1);
/// Alice's password after a change.
pub const NEW_PASSWORD: SymPassword = SymPassword(2);
/// What the attacker guesses (never right).
pub const WRONG_GUESS: SymPassword = SymPassword(9);
/// The password of the attacker's own registrations.
pub const ATTACKER_PASSWORD: SymPassword = SymPassword(8);

/// How the search starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Start {
    /// Every node up with an empty disk, no leader, no records.
    Fresh,
    /// After a fixed, fault-free bootstrap run through the same transitions:
    /// node 0 elected, Alice and Bob registered and active, every write
    /// synced, no message in flight. Faults start from there.
    Registered,
}

/// Whether nodes' timers fire, and how many times in all.
///
/// Every action of the model but a timer's firing and the owner's
/// activation of its staged registration (sent again until it is answered,
/// [`VaultBounds::activations`]) is budgeted or consumes something (a
/// message, an unsynced write, a crash), so bounds on these two are what
/// make the model's state space finite: with
/// [`Timers::Unbounded`] leaders send heartbeats, followers campaign and
/// clocks advance without end, and only a depth bound ends a search. With
/// [`Timers::AtMost`] a search without a depth bound ends when the space
/// does, and proves the whole bound in any order and on any number of
/// threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timers {
    /// No timer fires: no election, heartbeat or login expiry.
    Off,
    /// At most this many firings, over all nodes together.
    AtMost(u8),
    /// Timers fire whenever a node is up.
    Unbounded,
}

impl Timers {
    /// Whether a timer can fire at all.
    pub fn fire(self) -> bool {
        !matches!(self, Timers::Off | Timers::AtMost(0))
    }

    /// The firings a search starts with (`u16::MAX` stands for no limit
    /// and is never spent).
    fn budget(self) -> u16 {
        match self {
            Timers::Off => 0,
            Timers::AtMost(n) => u16::from(n),
            Timers::Unbounded => u16::MAX,
        }
    }
}

/// The bounds of a search: cluster shape and budgets of faults and client
/// actions. Depth is the checker's bound, not the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VaultBounds {
    /// N.
    pub nodes: u8,
    /// R.
    pub rollback_tolerance: u8,
    /// Guesses per record.
    pub guess_limit: u8,
    /// Crashes (each needs a restart to matter).
    pub crashes: u8,
    /// Disk rollbacks of a down node to an earlier synced state, on at
    /// most R distinct nodes (none if R = 0: quorums tolerate no rollback).
    /// The node's HSM is replaced with it: a new HSM's counter starts
    /// empty, so the node cannot tell its disk is older, which is the case
    /// R exists for (a rollback under the same HSM is noticed: a disk edit,
    /// [`VaultBounds::disk_edits`], is one, and so is a host rollback,
    /// [`VaultBounds::host_rollbacks`]).
    pub rollbacks: u8,
    /// How many synced states back a rollback may go.
    pub rollback_depth: u8,
    /// Duplicate deliveries.
    pub duplicates: u8,
    /// Attacker logins with a wrong guess.
    pub guesses: u8,
    /// Owner logins with the right password.
    pub logins: u8,
    /// Owner password changes (stage with proof of K, then activate).
    pub changes: u8,
    /// How many times in all the owner sends the activation of a
    /// registration its change staged (`None`: as often as it likes, until
    /// the activation is answered). A number makes the space finite (see
    /// [`Timers`]).
    pub activations: Option<u8>,
    /// Owner deletes (disable): a `Delete` with proof of K naming the
    /// registration it knows is active, or the one its change staged,
    /// possibly while its activation is still in flight.
    pub deletes: u8,
    /// Attacker registrations of Alice without proof of K.
    pub reregistrations: u8,
    /// Attacker KE3s naming Bob for one of Alice's logins (REG-1).
    pub forgeries: u8,
    /// Attacker replays of requests the owner sent, or resends of its own
    /// stage requests.
    pub replays: u8,
    /// Attacker activations of the owner's staged registration under a
    /// proof of the attacker's own key (it saw the stage go by, so it
    /// knows the registration and its content, not the owner's key).
    pub forged_activations: u8,
    /// Attacker registration requests for Alice with a guess: OPRF
    /// evaluations it asks for outside a login (LOCK-1).
    pub probes: u8,
    /// Attacker stages that put the owner's older sealed registration under
    /// the proof of K of the owner's password change (LOCK-3).
    pub splices: u8,
    /// Owner password changes whose registration response the chat server
    /// answers with an OPRF evaluation under a key of its own (LOCK-1).
    pub foreign_evaluations: u8,
    /// Attacker stages, under a proof of the K of a registration of its own
    /// that it activated, of a registration made under one of the owner's
    /// tickets (the chat server relays them in the clear): a ticket serves
    /// one registration, whoever proves K (LOCK-1, one key per
    /// registration).
    pub ticket_reuses: u8,
    /// Owner resends of its pending KE1, as a client does after a timeout
    /// (LOCK-5).
    pub resends: u8,
    /// Host adversary: forged `Append`s. Each is one `Append` per up node,
    /// from a made-up leader (another member) at a term above every
    /// node's, carrying a `Reset` of Alice's record and a commit index that
    /// covers it, made in the clear (all a host without the fleet's keys
    /// can make). A host replaying a captured message is a duplicate.
    pub forged_appends: u8,
    /// Host adversary: copies of a message in flight delivered to a node
    /// it was not sealed for.
    pub misdirections: u8,
    /// Host adversary: edits of a down node's disk, each replacing one
    /// record by another record of the same disk, another node's record at
    /// the same position, or a record in the clear (holding a `Reset` of
    /// Alice's record). A node reads its disk only up to such a record, so
    /// an edit is at best a rollback, under the same HSM, whose counter
    /// notices it. It still counts as one against R (the nodes a rollback
    /// or an edit touched are at most R).
    pub disk_edits: u8,
    /// Host adversary: rollbacks of a down node's disk to an earlier synced
    /// state (at most [`VaultBounds::rollback_depth`] syncs back) while its
    /// HSM stays, with its counter: what an operator who runs the hosts can
    /// do to every node at once. Not limited to R nodes, and allowed with
    /// R = 0: the counter, not the quorum size, is what covers it (a
    /// restarting node keeps the counter's term and vote, votes only for
    /// logs as up to date as the counter's, and does not campaign while
    /// behind it). Rolling back every disk may stop elections (liveness),
    /// never lose a committed entry.
    pub host_rollbacks: u8,
    /// Whether timers fire (elections, heartbeats, login expiry), and how
    /// often.
    pub timers: Timers,
    /// Applied entries between routine compactions (the node's
    /// `snapshot_every`). The default, 1000, never compacts within any
    /// bound explored; a small value makes nodes compact and leaders send
    /// snapshots to lagging followers, so that snapshot code is in the
    /// loop. (The erasure rule compacts whatever this is.)
    pub snapshot_every: u64,
    /// The initial state.
    pub start: Start,
}

impl Default for VaultBounds {
    /// The bounds the issue asks for: 3 nodes, guess limit 3, two crashes,
    /// one rollback with R = 1, and every kind of client action; no host
    /// adversary beyond losing, duplicating and reordering messages.
    fn default() -> Self {
        VaultBounds {
            nodes: 3,
            rollback_tolerance: 1,
            guess_limit: 3,
            crashes: 2,
            rollbacks: 1,
            rollback_depth: 2,
            duplicates: 1,
            guesses: 4,
            logins: 1,
            changes: 1,
            activations: None,
            deletes: 0,
            reregistrations: 1,
            forgeries: 1,
            replays: 1,
            forged_activations: 1,
            probes: 1,
            splices: 1,
            foreign_evaluations: 1,
            ticket_reuses: 1,
            resends: 1,
            forged_appends: 0,
            misdirections: 0,
            disk_edits: 0,
            host_rollbacks: 0,
            timers: Timers::Unbounded,
            snapshot_every: 1_000,
            start: Start::Registered,
        }
    }
}

impl VaultBounds {
    /// Whether the state space within these bounds is finite, so that a
    /// search without a depth bound ends: the timers are bounded and, if
    /// the owner changes its password, so are its activation sends (every
    /// other action is budgeted or consumes something; see [`Timers`]).
    pub fn space_ends(&self) -> bool {
        self.timers != Timers::Unbounded && (self.changes == 0 || self.activations.is_some())
    }

    /// No faults and no client actions: a base for tests that switch on
    /// only what a scenario needs (swarm style).
    pub fn quiet() -> Self {
        VaultBounds {
            crashes: 0,
            rollbacks: 0,
            duplicates: 0,
            guesses: 0,
            logins: 0,
            changes: 0,
            deletes: 0,
            reregistrations: 0,
            forgeries: 0,
            replays: 0,
            forged_activations: 0,
            probes: 0,
            splices: 0,
            foreign_evaluations: 0,
            ticket_reuses: 0,
            resends: 0,
            timers: Timers::Off,
            ..VaultBounds::default()
        }
    }
}

/// The implementation-in-the-loop model. See the module documentation.
#[derive(Clone, Debug)]
pub struct VaultModel {
    /// The bounds.
    pub bounds: VaultBounds,
    /// The broken variant every node runs, if any.
    pub flaw: Option<VaultFlaw>,
    node_config: NodeConfig,
    init: VaultState,
    /// Steps taken before the search starts (see [`VaultModel::after`]).
    prefix: Vec<Action>,
    /// The state before the prefix.
    origin: VaultState,
    /// Whether the linearizability observer runs (it ends a path at the
    /// first non-linearizable answer, before other observers may see the
    /// harm that answer leads to).
    history: bool,
}

/// A message in flight. It hashes as its link and `key` (the message's
/// own hash, made once when it is sent), not the message again: the
/// search hashes every message in flight in every state it reaches, as it
/// does a disk (see [`Disk`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// A hash of `msg`, so the network can be kept sorted (canonical).
    key: u64,
    /// The message, sealed for the link `from` to `to`.
    pub msg: SealedMsg,
}

impl Hash for Envelope {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.from, self.to, self.key).hash(state);
    }
}

impl Envelope {
    fn new(from: NodeId, to: NodeId, msg: SealedMsg) -> Self {
        let key = hash_of(&msg);
        Envelope { from, to, key, msg }
    }

    fn order(&self) -> (NodeId, NodeId, u64) {
        (self.to, self.from, self.key)
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}->{:?} {}",
            self.from,
            self.to,
            show_sealed_msg(&self.msg)
        )
    }
}

/// One node's slot: the node if up, its clock, its disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The node (while it is up), its disk of sealed records and its writes
    /// not yet synced (lost in a crash): the library's node host.
    pub host: Host,
    /// The node's clock (it restarts at 0 with the node: clocks are per
    /// incarnation, and the node only compares times it read itself).
    pub clock: Millis,
    /// Earlier synced disks, oldest first, while a rollback may happen.
    pub history: Vec<Disk>,
}

impl Slot {
    /// The node, `None` while it is down.
    pub fn node(&self) -> Option<&Node> {
        self.host.node()
    }

    /// What is durable: the sealed records, as the host holds them.
    pub fn disk(&self) -> &Disk {
        self.host.disk()
    }

    /// What node `id` would read from its disk if it restarted now: its
    /// records opened up to the first that does not open where it stands
    /// (`in_clear`: as the `UnsealedStorage` variant reads them). Computed
    /// on demand, so a state keeps the records only.
    pub fn durable(&self, id: NodeId, in_clear: bool) -> Durable {
        open_disk(&SymbolicCrypto, id, self.disk().records(), in_clear).state
    }
}

/// What the owner's device knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OwnerView {
    /// The active registration and its password, as far as the owner knows.
    pub known: Option<(RegistrationId, SymPassword)>,
    /// The registration a password change is making: its sealed form, and
    /// the id it was staged under once an authentic `Staged` said so.
    pub changing: Option<(SymRegistration, Option<RegistrationId>)>,
    /// Every registration the owner sealed, oldest first.
    pub sealed: Vec<SymRegistration>,
    /// The KE1 of the owner's current login.
    pub login: Option<SymBlinded>,
    /// Logins answered with KE2, not yet finished.
    pub logins: Vec<LoginId>,
    /// The ticket of the last registration response the owner got.
    pub ticket: Option<TicketClaims>,
    /// Requests the owner sent (the attacker sees and may replay them).
    pub sent: Vec<Req>,
}

/// What the attacker knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttackerView {
    /// Its own registrations of Alice, staged and not yet activated.
    pub staged: Vec<(RegistrationId, ContentDigest)>,
    /// Login ids of Alice's logins it saw in KE2 replies.
    pub seen_logins: Vec<LoginId>,
    /// The ticket of the last registration response it got.
    pub ticket: Option<TicketClaims>,
    /// Its own stage requests, as it sent them (it may send one again).
    pub sent: Vec<Req>,
    /// Registrations of Alice it activated (an authentic `Activated` under
    /// its own key said so): it holds their K, and may prove it in a change.
    pub holds: Vec<RegistrationId>,
}

/// What remains of each budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Budgets {
    /// Crashes left.
    pub crashes: u8,
    /// Rollbacks left.
    pub rollbacks: u8,
    /// Nodes whose disk was rolled back (a bit per node): at most R.
    pub rolled_back: u16,
    /// Duplicate deliveries left.
    pub duplicates: u8,
    /// Attacker guesses left.
    pub guesses: u8,
    /// Owner logins left.
    pub logins: u8,
    /// Owner changes left.
    pub changes: u8,
    /// Owner deletes left.
    pub deletes: u8,
    /// Attacker re-registrations left.
    pub reregistrations: u8,
    /// Attacker forgeries left.
    pub forgeries: u8,
    /// Attacker replays left.
    pub replays: u8,
    /// Attacker forged activations left.
    pub forged_activations: u8,
    /// Attacker registration probes left.
    pub probes: u8,
    /// Attacker splices left.
    pub splices: u8,
    /// Attacker substituted evaluations left.
    pub foreign_evaluations: u8,
    /// Attacker ticket reuses left.
    pub ticket_reuses: u8,
    /// Owner resends left.
    pub resends: u8,
    /// Host-forged `Append`s left.
    pub forged_appends: u8,
    /// Host misdirections left.
    pub misdirections: u8,
    /// Host disk edits left.
    pub disk_edits: u8,
    /// Host rollbacks (HSM kept) left.
    pub host_rollbacks: u8,
    /// Nodes whose disk a host rolled back under the same HSM (a bit per
    /// node), for LOCK-2's observer; not limited by R.
    pub host_rolled: u16,
    /// Timer firings left (`u16::MAX`: [`Timers::Unbounded`], never spent).
    pub ticks: u16,
    /// Owner activation sends left (`u16::MAX`: no limit, never spent).
    pub activations: u16,
}

/// What the chat server does to an owner's password change it relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relay {
    /// Relays it as it is.
    Honest,
    /// Forwards the owner's oldest registration under the proof of K made
    /// for the new one (the change-revert attack; LOCK-3).
    Spliced,
    /// Answers the owner's registration request with an OPRF evaluation
    /// under a key of its own ([`CHAT_SERVER_OPRF_KEY`]), beside the
    /// vault's genuine ticket: a password file made from it could be tested
    /// offline by the chat server (LOCK-1).
    ForeignEvaluation,
}

/// The attacker's own registration of Alice under `ticket`: its password
/// and its key, the password file made from the vault's evaluation under
/// the ticket's key.
fn attacker_registration(ticket: TicketClaims) -> SymRegistration {
    SymRegistration {
        user: ALICE,
        password: ATTACKER_PASSWORD,
        key: ATTACKER_KEY,
        ticket,
        evaluated_under: ticket.key,
    }
}

/// The OPRF key the chat server evaluates under when it substitutes an
/// evaluation. Vault keys are drawn at random per registration request, so
/// one equals it with probability 2^-128.
pub const CHAT_SERVER_OPRF_KEY: OprfKeyId = OprfKeyId([0xC5; 16]);

/// A request waiting for its final answer, for the ghost observers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Outstanding {
    client: ClientId,
    req: Req,
    /// The operation recorded in the linearizability tester, if any.
    op: Option<RecordOp>,
    /// What the node it was sent to had applied when it arrived: an answer
    /// read from the store (the read barrier's, with no log index of its
    /// own) was read at this point or later.
    applied_at_arrival: LogIndex,
}

/// Violations observed during a transition (rather than visible in a state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// A KE2 left while its attempt was durable on fewer than a quorum.
    pub ke2_before_quorum: bool,
    /// A key was released for a destroyed registration.
    pub destroyed_key_released: bool,
    /// Two nodes led the same term.
    pub two_leaders: bool,
    /// Two different entries were committed at one index.
    pub commit_conflict: bool,
    /// A KE3 naming one user finished another user's login.
    pub cross_user_login: bool,
    /// The client-visible history stopped being linearizable.
    pub not_linearizable: bool,
    /// The owner was told, authentically, that its password change is
    /// active, while the record holds another registration's password.
    pub change_reverted: bool,
    /// A node's store held a registration under an OPRF key that another
    /// registration was held under before (in any node's store).
    pub key_serves_two: bool,
}

/// A login answered with KE2, as the observers saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeenLogin {
    /// The user.
    pub user: UserId,
    /// The registration it was against.
    pub registration: RegistrationId,
    /// Whether its guess was the password.
    pub right: bool,
    /// Its KE1.
    pub ke1: SymBlinded,
}

/// The observers' memory. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Every OPRF evaluation the vault handed out, per key: where it stands
    /// in the log (a KE2 at the index that consumed its attempt; a
    /// registration response just after the answering node's applied
    /// index) and the input.
    pub evals: BTreeMap<OprfKeyId, BTreeSet<(LogIndex, bool, SymBlinded)>>,
    /// The OPRF key of each registration, from committed stages (a stage
    /// the rules then refuse, a resend committed twice, is here too).
    pub record_keys: BTreeMap<RegistrationId, OprfKeyId>,
    /// The first registration any node's store held, staged or active,
    /// under each OPRF key (LOCK-1, one key per registration): judged on
    /// the stores, so only registrations the rules took count.
    pub served: BTreeMap<OprfKeyId, RegistrationId>,
    /// Indices of committed proofs of knowledge (activations, and resets of
    /// registrations a right KE3 was sent for), per OPRF key: each starts a
    /// fresh budget. A reset nobody proved for is no proof (LOCK-3's to
    /// flag), and LOCK-1 keeps counting across it.
    pub proofs: BTreeMap<OprfKeyId, BTreeSet<LogIndex>>,
    /// Registrations for which a KE3 of a right login was sent.
    pub proved_for: BTreeSet<RegistrationId>,
    /// For each KE1 of the owner and record, the entries that consumed an
    /// attempt for it, as KE2s reported them (LOCK-5: at most one).
    pub owner_attempts: BTreeMap<(SymBlinded, RegistrationId), BTreeSet<LogIndex>>,
    /// KE3s delivered to a node, per user: the only thing that may reset a count.
    pub ke3_delivered: BTreeMap<UserId, u8>,
    /// Registrations for which an activation with a proof of K was sent.
    pub activations: BTreeSet<RegistrationId>,
    /// Every entry ever committed, with the lowest term it was known
    /// committed in.
    pub committed: BTreeMap<LogIndex, (Entry<Command<C>>, Term)>,
    /// The leader of each term.
    pub leaders: BTreeMap<Term, NodeId>,
    /// Registrations destroyed by the guess limit.
    pub destroyed: BTreeSet<RegistrationId>,
    /// What each login answered with KE2 was.
    pub logins: BTreeMap<LoginId, SeenLogin>,
    /// Successful logins.
    pub logins_ok: u8,
    /// A node's store was replaced by a snapshot (from its leader, or from
    /// its own disk at a restart).
    pub restored: bool,
    /// Transition-time violations.
    pub flags: Flags,
    /// An assertion inside the implementation failed: its message.
    pub panic: Option<String>,
    requests: BTreeMap<RequestId, Outstanding>,
    next_request: u64,
    history: LinearizabilityTester<u64, RecordSpec>,
}

impl Ghost {
    /// Entry `entry` is known committed at `index` by a node in `term`:
    /// record it (or flag a conflict with what was committed there before),
    /// and what it tells the observers (a registration's OPRF key, a proof).
    fn note_committed(&mut self, index: LogIndex, entry: &Entry<Command<C>>, term: Term) {
        if let Some((known, at)) = self.committed.get_mut(&index) {
            if known != entry {
                self.flags.commit_conflict = true;
            }
            *at = (*at).min(term);
            return;
        }
        self.committed.insert(index, (entry.clone(), term));
        match &entry.command {
            Some(Command::Stage {
                registration,
                oprf_key,
                ..
            }) => {
                self.record_keys.insert(*registration, *oprf_key);
            }
            Some(Command::Activate { registration, .. }) => {
                if let Some(key) = self.record_keys.get(registration) {
                    self.proofs.entry(*key).or_default().insert(index);
                }
            }
            Some(Command::Reset { registration, .. }) if self.proved_for.contains(registration) => {
                if let Some(key) = self.record_keys.get(registration) {
                    self.proofs.entry(*key).or_default().insert(index);
                }
            }
            _ => {}
        }
    }
}

/// A state of the model. See the module documentation. Its `Debug` is a
/// short summary (the Explorer shows it), not a dump of every field.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VaultState {
    /// The nodes.
    pub slots: Vec<Slot>,
    /// Messages in flight, sorted, without repeats.
    pub net: Vec<Envelope>,
    /// The owner's device.
    pub owner: OwnerView,
    /// The attacker.
    pub attacker: AttackerView,
    /// Budgets left.
    pub budgets: Budgets,
    /// The ticket of the registration response answered in this step, for
    /// the client that asked (always `None` between steps).
    pub last_ticket: Option<TicketClaims>,
    /// Observers.
    pub ghost: Ghost,
}

/// A client's request, as an action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientOp {
    /// The attacker guesses (KE1 with a wrong password).
    Guess,
    /// The attacker asks for an OPRF evaluation outside a login: a
    /// registration request for Alice with a guess.
    Probe,
    /// The owner logs in with its password (KE1).
    Login,
    /// The owner sends its login's KE1 again (a timeout, a retry).
    Resend,
    /// The owner finishes a login (KE3).
    Finish(LoginId),
    /// The owner changes the password: a registration request, then a stage
    /// with a proof of K naming the new content, relayed by the chat server
    /// as `relay` says.
    Change {
        /// What the chat server does to the change.
        relay: Relay,
    },
    /// The owner activates its staged registration.
    ActivateOwn(RegistrationId),
    /// The owner deletes a registration it knows (disable).
    DeleteOwn(RegistrationId),
    /// The attacker registers Alice anew without proof of K.
    Reregister,
    /// The attacker activates its own registration (it knows its key).
    ActivateAttacker(RegistrationId),
    /// The attacker sends KE3 for one of Alice's logins under Bob's name.
    Forge(LoginId),
    /// The attacker replays the owner's k-th request.
    Replay(u8),
    /// The attacker sends its own k-th stage request again, as a client
    /// does after a timeout (from the replays' budget).
    ResendStage(u8),
    /// The attacker activates the owner's staged registration with a
    /// proof under its own key.
    ActivateForged(RegistrationId),
    /// The attacker sends an activation of the owner's active
    /// registration with a content the owner did not seal, under its own
    /// key: an activation it relayed, replayed with its content changed
    /// (from the forged activations' budget). The rules refuse it as naming
    /// no registration they know.
    ActivateAltered(RegistrationId),
    /// The attacker, as the holder of the K of `active` (a registration of
    /// its own it activated), stages a registration made under the ticket
    /// of the owner's `ticket`-th sealed registration, which the chat server
    /// relayed to the owner's device and kept. The ticket is spent, so the
    /// rules refuse it; a vault that took it would hold a second
    /// registration under the OPRF key of one of the owner's, and the
    /// attacker's proofs about it would refill tests of the owner's
    /// password (LOCK-1, one key per registration).
    ReuseTicket {
        /// The attacker's active registration, which the stage replaces.
        active: RegistrationId,
        /// Which of the owner's sealed registrations' ticket it reuses.
        ticket: u8,
    },
}

impl ClientOp {
    /// Whether the owner's device sends it (otherwise the attacker does).
    pub fn by_owner(&self) -> bool {
        match self {
            ClientOp::Login
            | ClientOp::Resend
            | ClientOp::Finish(_)
            | ClientOp::Change { .. }
            | ClientOp::ActivateOwn(_)
            | ClientOp::DeleteOwn(_) => true,
            ClientOp::Guess
            | ClientOp::Probe
            | ClientOp::Reregister
            | ClientOp::ActivateAttacker(_)
            | ClientOp::Forge(_)
            | ClientOp::Replay(_)
            | ClientOp::ResendStage(_)
            | ClientOp::ActivateForged(_)
            | ClientOp::ActivateAltered(_)
            | ClientOp::ReuseTicket { .. } => false,
        }
    }
}

/// One step. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Deliver a message and remove it from the network.
    Deliver(Envelope),
    /// Deliver a copy of a message and leave it in flight.
    Duplicate(Envelope),
    /// A node's timer fires.
    Tick(NodeId),
    /// A node's disk completes every pending write.
    Sync(NodeId),
    /// A node crashes.
    Crash(NodeId),
    /// A down node restarts from its disk.
    Restart(NodeId),
    /// A down node's disk goes back to the state `back` syncs ago, and its
    /// HSM is replaced by a new one (its counter empty).
    Rollback {
        /// The node.
        node: NodeId,
        /// How many syncs back.
        back: u8,
    },
    /// The host rolls a down node's disk back to the state `back` syncs
    /// ago; the node's HSM stays, with its counter (see
    /// [`VaultBounds::host_rollbacks`]).
    HostRollback {
        /// The node.
        node: NodeId,
        /// How many syncs back.
        back: u8,
    },
    /// A client request to a node that believes it leads.
    Client {
        /// The node.
        to: NodeId,
        /// The request.
        op: ClientOp,
    },
    /// The host forges an `Append` carrying a `Reset` of Alice's record
    /// and delivers it to every up node (see [`VaultBounds::forged_appends`]).
    ForgeAppend,
    /// The host delivers a copy of a message in flight to a node it was
    /// not sealed for, as from its sender; the message stays in flight.
    Misdirect {
        /// The message.
        env: Envelope,
        /// The node it is delivered to.
        to: NodeId,
    },
    /// The host replaces record `at` of a down node's disk.
    EditDisk {
        /// The node.
        node: NodeId,
        /// The record replaced.
        at: u8,
        /// What replaces it.
        edit: DiskEdit,
    },
}

/// What a host puts in place of a disk record it edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiskEdit {
    /// The disk's own record at another position.
    Replay {
        /// The position copied.
        from: u8,
    },
    /// Another node's record at the same position.
    Foreign(NodeId),
    /// A record in the clear at the same place, holding one write: a
    /// `Reset` of Alice's record appended after the records before it.
    Clear,
}

/// The KE1 digest a host-forged `Reset` names (no login's).
pub const FORGED_KE1: Ke1Digest = Ke1Digest([0xF0; 32]);

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    // SipHash with fixed keys: the same on every run.
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn rng_for<T: Hash + ?Sized>(seed: &T) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash_of(seed))
}

/// Consensus timing in the model: fixed timeouts (no random spread, so
/// states depend only on the order of events) and short ones (so a leader
/// that hears nothing steps down after a few heartbeats).
pub const MODEL_TIMING: Timing = Timing {
    election_min_ms: 4,
    election_max_ms: 4,
    heartbeat_ms: 1,
    max_entries_per_append: 64,
};

impl VaultModel {
    /// A model with `bounds`, every node running `flaw` (or the correct code).
    ///
    /// # Panics
    /// If the bounds name an impossible cluster (N, R).
    pub fn new(bounds: VaultBounds, flaw: Option<VaultFlaw>) -> Self {
        let cluster = ClusterConfig::new(bounds.nodes, bounds.rollback_tolerance)
            .expect("a valid cluster size and rollback tolerance");
        let node_config = NodeConfig {
            cluster,
            timing: MODEL_TIMING,
            guess_limit: bounds.guess_limit,
            login_ttl_ms: 8,
            // Routine compaction as the bounds say; the erasure rule
            // compacts whenever an applied entry takes a registration's key
            // material out of the store (a destroy, a delete, a displaced
            // registration).
            snapshot_every: bounds.snapshot_every,
            flaw,
        };
        let mut model = VaultModel {
            bounds,
            flaw,
            node_config,
            init: VaultState::placeholder(),
            prefix: Vec::new(),
            origin: VaultState::placeholder(),
            history: true,
        };
        model.init = model.initial_state();
        model.origin = model.init.clone();
        model
    }

    /// The quorum size as the observers count it: the smallest k with
    /// 2k - N > R (any two quorums share more than R nodes). Computed here
    /// from the bounds, not by `backup_vault::vault::quorum`, so that a
    /// wrong quorum in the code under test cannot blind the check of it.
    fn oracle_quorum(&self) -> usize {
        let n = usize::from(self.bounds.nodes);
        let r = usize::from(self.bounds.rollback_tolerance);
        (1..=n).find(|k| 2 * k > n + r).unwrap_or(n + 1)
    }

    /// Starts the search after `prefix` instead of at the initial state:
    /// for tests that steer to a suspicious state and let the checker
    /// explore exhaustively from there. Each step is the first enabled
    /// action whose description ([`show_action`]) contains the pattern.
    ///
    /// # Panics
    /// If a pattern matches no enabled action (see [`Self::try_after`]).
    pub fn after(self, patterns: &[&str]) -> Self {
        self.try_after(patterns).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::after`], for steering paths a run must not panic on (the
    /// slices, judging code that may take another path).
    ///
    /// # Errors
    /// The first pattern no enabled action matches, and the state it was
    /// looked for in.
    pub fn try_after(mut self, patterns: &[&str]) -> Result<Self, String> {
        let mut s = self.init.clone();
        for (i, pattern) in patterns.iter().enumerate() {
            let mut actions = Vec::new();
            self.enabled(&s, &mut actions);
            let Some(action) = actions
                .into_iter()
                .find(|a| show_action(a).contains(pattern))
            else {
                return Err(format!(
                    "step {} of the steering path: no enabled action matches {pattern:?} in {}",
                    i + 1,
                    self.describe_state(&s)
                ));
            };
            s = self.step(&s, &action, None);
            self.prefix.push(action);
        }
        self.init = s;
        Ok(self)
    }

    /// Switches the linearizability observer off, so that a search can
    /// follow a broken variant past its first wrong answer to the harm it
    /// does (the other properties still end a path).
    pub fn without_history(mut self) -> Self {
        self.history = false;
        self
    }

    /// The cluster configuration.
    pub fn cluster(&self) -> ClusterConfig {
        self.node_config.cluster
    }

    /// Whether the nodes read their disks in the clear (the broken variant
    /// `UnsealedStorage`) rather than sealed.
    fn reads_clear(&self) -> bool {
        self.flaw == Some(VaultFlaw::UnsealedStorage)
    }

    /// What node `id`'s disk holds in `s`, as the node would read it if it
    /// restarted now (see [`Slot::durable`]).
    pub fn durable(&self, s: &VaultState, id: NodeId) -> Durable {
        s.slots[usize::from(id.0)].durable(id, self.reads_clear())
    }

    fn ids(&self) -> impl Iterator<Item = NodeId> {
        self.node_config.cluster.members()
    }

    fn budgets(&self) -> Budgets {
        let b = &self.bounds;
        Budgets {
            crashes: b.crashes,
            // Quorums of size floor((N+R)/2)+1 tolerate rollbacks on at
            // most R nodes; more would be a fault the design excludes.
            rollbacks: if b.rollback_tolerance == 0 {
                0
            } else {
                b.rollbacks
            },
            rolled_back: 0,
            duplicates: b.duplicates,
            guesses: b.guesses,
            logins: b.logins,
            changes: b.changes,
            deletes: b.deletes,
            reregistrations: b.reregistrations,
            forgeries: b.forgeries,
            replays: b.replays,
            forged_activations: b.forged_activations,
            probes: b.probes,
            splices: b.splices,
            foreign_evaluations: b.foreign_evaluations,
            ticket_reuses: b.ticket_reuses,
            resends: b.resends,
            forged_appends: b.forged_appends,
            misdirections: b.misdirections,
            // Edits are rollbacks at best, tolerated only with R > 0.
            disk_edits: if b.rollback_tolerance == 0 {
                0
            } else {
                b.disk_edits
            },
            // The HSM's counter covers these, whatever R.
            host_rollbacks: b.host_rollbacks,
            host_rolled: 0,
            ticks: b.timers.budget(),
            activations: b.activations.map_or(u16::MAX, u16::from),
        }
    }

    fn fresh_state(&self) -> VaultState {
        let slots = self
            .ids()
            .map(|id| {
                let host = Host::init(
                    id,
                    self.node_config,
                    SymbolicCrypto,
                    Disk::default(),
                    Millis(0),
                    &mut rng_for(&(id, "start")),
                );
                Slot {
                    host,
                    clock: Millis(0),
                    history: Vec::new(),
                }
            })
            .collect();
        VaultState {
            slots,
            net: Vec::new(),
            owner: OwnerView::default(),
            attacker: AttackerView::default(),
            budgets: self.budgets(),
            last_ticket: None,
            ghost: Ghost {
                evals: BTreeMap::new(),
                record_keys: BTreeMap::new(),
                served: BTreeMap::new(),
                proofs: BTreeMap::new(),
                proved_for: BTreeSet::new(),
                owner_attempts: BTreeMap::new(),
                ke3_delivered: BTreeMap::new(),
                activations: BTreeSet::new(),
                committed: BTreeMap::new(),
                leaders: BTreeMap::new(),
                destroyed: BTreeSet::new(),
                logins: BTreeMap::new(),
                logins_ok: 0,
                restored: false,
                flags: Flags::default(),
                panic: None,
                requests: BTreeMap::new(),
                next_request: 0,
                history: LinearizabilityTester::new(self.record_spec(&VaultState::placeholder())),
            },
        }
    }

    /// The spec's view of Alice's record in `state`, as node 0 applied it.
    fn record_spec(&self, state: &VaultState) -> RecordSpec {
        let rec = state
            .slots
            .first()
            .and_then(|s| s.node())
            .and_then(|n| n.store().get(ALICE).cloned());
        let reg = |registration, password, key, content| spec::SpecRegistration {
            registration,
            password,
            key,
            content,
        };
        RecordSpec::from_state(spec::RecordState {
            limit: self.bounds.guess_limit,
            active: rec.as_ref().and_then(|r| r.active.as_ref()).map(|a| {
                spec::SpecActive {
                    reg: reg(a.registration, a.password_file, a.verifier, a.content),
                    // The bootstrap leaves no tests behind.
                    tested: BTreeSet::new(),
                    proven: None,
                }
            }),
            staged: rec.as_ref().and_then(|r| r.staged.as_ref()).map(|st| {
                (
                    reg(st.registration, st.password_file, st.verifier, st.content),
                    st.displaced,
                )
            }),
            stages: rec.as_ref().map_or(0, |r| r.stages),
            destroyed: matches!(
                rec.as_ref().and_then(|r| r.tombstone()),
                Some(Tombstone::Destroyed(_))
            ),
            gone: rec
                .as_ref()
                .and_then(|r| r.tombstone())
                .map(Tombstone::registration),
        })
    }

    fn initial_state(&self) -> VaultState {
        let mut s = self.fresh_state();
        if self.bounds.start == Start::Fresh {
            return s;
        }
        // Bootstrap, fault-free: node 0 is elected, then Alice and Bob
        // register. Every step goes through `step`, so the ghost observers
        // see the bootstrap like any other run. The bootstrap's election
        // is not one of the search's timer firings.
        s.budgets.ticks = s.budgets.ticks.saturating_add(1);
        s = self.step(&s, &Action::Tick(NodeId(0)), None);
        self.quiesce(&mut s);
        for user in [ALICE, BOB] {
            let (key, client) = if user == ALICE {
                (OWNER_KEY, OWNER)
            } else {
                (SymKey(3), ClientId(3))
            };
            let input = SymBlinded {
                password: PASSWORD,
                blind: 0,
            };
            let ticket = self
                .registration_start(&mut s, NodeId(0), client, user, input, &mut None)
                .expect("bootstrap: node 0 answers the registration request");
            let sealed = SymRegistration {
                user,
                password: PASSWORD,
                key,
                ticket,
                evaluated_under: ticket.key,
            };
            let content = sealed.content();
            let stage = Req::Stage {
                user,
                sealed,
                content,
                replacing: None,
            };
            self.request(&mut s, NodeId(0), client, stage, None);
            self.quiesce(&mut s);
            let registration = s
                .slots
                .first()
                .and_then(|sl| sl.node())
                .and_then(|n| n.store().get(user))
                .and_then(|r| {
                    // Staged, or already active under `StageIsGuessable`.
                    r.staged
                        .as_ref()
                        .map(|st| st.registration)
                        .or(r.active.as_ref().map(|a| a.registration))
                })
                .expect("bootstrap: the registration is staged");
            let activate = activation(user, registration, content, key);
            self.request(&mut s, NodeId(0), client, activate, None);
            self.quiesce(&mut s);
            if user == ALICE {
                s.owner.known = Some((registration, PASSWORD));
                s.owner.sealed.push(sealed);
            }
        }
        assert!(
            s.ghost.panic.is_none(),
            "bootstrap failed: {:?}",
            s.ghost.panic
        );
        // The bootstrap is not part of what the clients did: the owner's
        // sent requests and the history start empty, from the record as it
        // now stands.
        s.owner.sent.clear();
        s.ghost.requests.clear();
        s.ghost.history = LinearizabilityTester::new(self.record_spec(&s));
        // The bootstrap ran against a placeholder spec; the history starts here.
        s.ghost.flags.not_linearizable = false;
        for slot in &mut s.slots {
            slot.history.clear();
        }
        s
    }

    /// Syncs and delivers until nothing is pending (bootstrap only).
    fn quiesce(&self, s: &mut VaultState) {
        for _ in 0..1_000 {
            let next = if let Some(i) = s.slots.iter().position(|sl| !sl.host.unsynced().is_empty())
            {
                Action::Sync(NodeId(i as u8))
            } else if let Some(env) = s.net.first() {
                Action::Deliver(env.clone())
            } else {
                return;
            };
            *s = self.step(s, &next, None);
        }
        panic!("bootstrap did not quiesce");
    }

    /// Takes a step, optionally describing what happened in `trace`.
    pub fn step(
        &self,
        state: &VaultState,
        action: &Action,
        mut trace: Option<&mut Vec<String>>,
    ) -> VaultState {
        let mut s = state.clone();
        match action {
            Action::Deliver(env) | Action::Duplicate(env) => {
                let Ok(k) = s.net.binary_search_by(|e| e.order().cmp(&env.order())) else {
                    return s;
                };
                let env = if matches!(action, Action::Duplicate(_)) {
                    s.budgets.duplicates -= 1;
                    s.net[k].clone()
                } else {
                    s.net.remove(k)
                };
                let Envelope { from, to, msg, .. } = env;
                self.on_node(&mut s, to, 0, &mut trace, |host, now, rng| {
                    host.handle(Input::Peer { from, message: msg }, now, rng)
                });
            }
            Action::Tick(id) => self.tick(&mut s, *id, &mut trace),
            Action::Sync(id) => self.sync(&mut s, *id, &mut trace),
            Action::Crash(id) => {
                let slot = &mut s.slots[usize::from(id.0)];
                slot.host.crash();
                s.budgets.crashes -= 1;
            }
            Action::Restart(id) => {
                let slot = &mut s.slots[usize::from(id.0)];
                let mut rng = rng_for(&(*id, slot.disk(), "restart"));
                let recovery = slot.host.restart(Millis(0), &mut rng);
                slot.clock = Millis(0);
                if let (Some(t), Recovery::Forged { record }) = (trace.as_deref_mut(), &recovery) {
                    t.push(format!(
                        "   {id:?} reads its disk up to record {record}, which does not open; \
                         the rest is cut"
                    ));
                }
                // A node starts with nothing to do but wait for its timer.
            }
            Action::Rollback { node, back } => {
                let slot = &mut s.slots[usize::from(node.0)];
                let k = slot.history.len() - usize::from(*back);
                *slot.host.disk_mut() = slot.history[k].clone();
                slot.history.truncate(k);
                slot.host.replace_hsm();
                s.budgets.rollbacks -= 1;
                s.budgets.rolled_back |= 1 << node.0;
                Self::drop_histories_if_done(&mut s);
            }
            Action::HostRollback { node, back } => {
                // As `Rollback`, but the HSM and its counter stay.
                let slot = &mut s.slots[usize::from(node.0)];
                let k = slot.history.len() - usize::from(*back);
                *slot.host.disk_mut() = slot.history[k].clone();
                slot.history.truncate(k);
                s.budgets.host_rollbacks -= 1;
                s.budgets.host_rolled |= 1 << node.0;
                Self::drop_histories_if_done(&mut s);
            }
            Action::Client { to, op } => self.client(&mut s, *to, op, &mut trace),
            Action::ForgeAppend => self.forge_append(&mut s, &mut trace),
            Action::Misdirect { env, to } => {
                let Ok(k) = s.net.binary_search_by(|e| e.order().cmp(&env.order())) else {
                    return s;
                };
                s.budgets.misdirections -= 1;
                let Envelope { from, msg, .. } = s.net[k].clone();
                self.on_node(&mut s, *to, 0, &mut trace, |host, now, rng| {
                    host.handle(Input::Peer { from, message: msg }, now, rng)
                });
            }
            Action::EditDisk { node, at, edit } => {
                let Some(record) = self.edited_record(&s, *node, *at, *edit) else {
                    return s;
                };
                let slot = &mut s.slots[usize::from(node.0)];
                slot.host.disk_mut().set(usize::from(*at), record);
                s.budgets.disk_edits -= 1;
                s.budgets.rolled_back |= 1 << node.0;
            }
        }
        s.last_ticket = None;
        self.observe(&mut s);
        s
    }

    /// When no rollback of either kind can follow, the disk histories no
    /// longer matter: dropping them merges equal states.
    fn drop_histories_if_done(s: &mut VaultState) {
        if s.budgets.rollbacks == 0 && s.budgets.host_rollbacks == 0 {
            for slot in &mut s.slots {
                slot.history.clear();
            }
        }
    }

    /// The host forges an `Append` for each up node: from another member,
    /// at a term above every node's, right after the node's last entry, with
    /// one entry, a `Reset` of Alice's active registration (as the node
    /// holds it), and a commit index that covers it; in the clear, since the
    /// host holds no seal key.
    fn forge_append(&self, s: &mut VaultState, trace: &mut Option<&mut Vec<String>>) {
        s.budgets.forged_appends -= 1;
        let top = s
            .slots
            .iter()
            .filter_map(|sl| sl.node())
            .map(|n| n.raft().term())
            .max()
            .unwrap_or(Term(0));
        let term = Term(top.0 + 1);
        for id in self.ids() {
            let Some(node) = s.slots[usize::from(id.0)].node() else {
                continue;
            };
            let Some(registration) = node
                .store()
                .get(ALICE)
                .and_then(|r| r.active.as_ref())
                .map(|a| a.registration)
            else {
                continue;
            };
            let log = node.raft().log();
            let msg: Msg = PeerMessage::Append {
                term,
                prev_index: log.last_index(),
                prev_term: log.last_term(),
                entries: vec![Entry {
                    term,
                    command: Some(Command::Reset {
                        user: ALICE,
                        registration,
                        ke1: FORGED_KE1,
                    }),
                }],
                commit: log.last_index().next(),
            };
            let from = NodeId((id.0 + 1) % self.bounds.nodes);
            let message = <C as VaultCrypto>::in_clear(&msg);
            if let Some(t) = trace.as_deref_mut() {
                t.push(format!(
                    "   host -> {id:?} as from {from:?}: {}",
                    show_sealed_msg(&message)
                ));
            }
            self.on_node(s, id, 0, trace, |host, now, rng| {
                host.handle(Input::Peer { from, message }, now, rng)
            });
        }
    }

    /// The record a host puts at position `at` of node `node`'s disk, if
    /// the edit names records that exist.
    fn edited_record(
        &self,
        s: &VaultState,
        node: NodeId,
        at: u8,
        edit: DiskEdit,
    ) -> Option<StoredRecord<C>> {
        let records = &s.slots[usize::from(node.0)].disk().records();
        let at = usize::from(at);
        let original = records.get(at)?;
        match edit {
            DiskEdit::Replay { from } => records.get(usize::from(from)).cloned(),
            DiskEdit::Foreign(other) => s.slots[usize::from(other.0)]
                .disk()
                .records()
                .get(at)
                .cloned(),
            DiskEdit::Clear => {
                let (registration, _) = s.owner.known?;
                // After what the records before it hold (as the node would
                // read them), so that a node that reads records in the
                // clear takes it.
                let before =
                    open_disk(&SymbolicCrypto, node, &records[..at], self.reads_clear()).state;
                let write: Write = DiskWrite::Entries {
                    first: before.log.last_index().next(),
                    entries: vec![Entry {
                        term: before.log.last_term(),
                        command: Some(Command::Reset {
                            user: ALICE,
                            registration,
                            ke1: FORGED_KE1,
                        }),
                    }],
                };
                Some(StoredRecord {
                    segment: original.segment,
                    position: original.position,
                    follows: original.follows,
                    sealed: <C as VaultCrypto>::in_clear(&DiskRecord::Write(write)),
                })
            }
        }
    }

    /// Fires node `id`'s timer: its clock jumps to its next deadline.
    ///
    /// Clocks are per node and only move forward to the node's own next
    /// deadline; any interleaving of timer firings is an action order, so
    /// every relative timing of the nodes' timers is explored. Durations do
    /// not matter beyond the order of one node's own deadlines.
    fn tick(&self, s: &mut VaultState, id: NodeId, trace: &mut Option<&mut Vec<String>>) {
        if self.bounds.timers != Timers::Unbounded {
            s.budgets.ticks = s
                .budgets
                .ticks
                .checked_sub(1)
                .expect("a timer fired with none left");
        }
        let slot = &mut s.slots[usize::from(id.0)];
        let Some(node) = slot.node() else {
            return;
        };
        slot.clock = slot.clock.max(node.next_deadline());
        self.on_node(s, id, 0, trace, |host, now, rng| {
            host.handle(Input::Timer, now, rng)
        });
    }

    fn sync(&self, s: &mut VaultState, id: NodeId, trace: &mut Option<&mut Vec<String>>) {
        let keep_history = s.budgets.rollbacks > 0 || s.budgets.host_rollbacks > 0;
        let depth = usize::from(self.bounds.rollback_depth);
        let slot = &mut s.slots[usize::from(id.0)];
        let Some(up_to) = slot.host.unsynced().last().map(|(w, _)| *w) else {
            return;
        };
        if keep_history && depth > 0 {
            if slot.history.len() == depth {
                slot.history.remove(0);
            }
            slot.history.push(slot.disk().clone());
        }
        self.on_node(s, id, 0, trace, |host, now, rng| {
            host.sync(up_to, now, rng, |_, _| {})
        });
    }

    /// Runs one input on node `id` (if up), catching an assertion failure
    /// inside the implementation, then collects its output.
    /// `salt` tells apart inputs that leave a node's state as it was (a
    /// registration request), so that each draws its own randomness.
    fn on_node<F>(
        &self,
        s: &mut VaultState,
        id: NodeId,
        salt: u64,
        trace: &mut Option<&mut Vec<String>>,
        input: F,
    ) where
        F: FnOnce(&mut Host, Millis, &mut ChaCha8Rng) -> HostStep<SymbolicCrypto>,
    {
        let slot = &mut s.slots[usize::from(id.0)];
        let now = slot.clock;
        let Some(node) = slot.node() else {
            return;
        };
        let mut rng = rng_for(&(node, now, salt));
        let mut copy = slot.host.clone();
        let step = match catch_unwind(AssertUnwindSafe(|| {
            let step = input(&mut copy, now, &mut rng);
            (copy, step)
        })) {
            Ok((after, step)) => {
                slot.host = after;
                step
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|m| (*m).to_string()))
                    .unwrap_or_else(|| "a panic without a message".to_string());
                if let Some(t) = trace.as_deref_mut() {
                    t.push(format!("   {id:?} PANICS: {message}"));
                }
                s.ghost.panic = Some(message);
                return;
            }
        };
        self.collect(s, id, step, trace);
    }

    /// Carries out a node's step in order: writes to its disk queue,
    /// messages into the network, replies to the clients and observers.
    fn collect(
        &self,
        s: &mut VaultState,
        id: NodeId,
        step: HostStep<SymbolicCrypto>,
        trace: &mut Option<&mut Vec<String>>,
    ) {
        if let Some(t) = trace.as_deref_mut() {
            let host = &s.slots[usize::from(id.0)].host;
            for op in step.wrote.iter().filter_map(|w| host.unsynced_write(*w)) {
                t.push(format!("   {id:?} {}", show_op(op)));
            }
        }
        for effect in step.effects {
            match effect {
                Effect::Persist { .. } => unreachable!("the host keeps the writes"),
                Effect::Send { to, message } => {
                    let env = Envelope::new(id, to, message);
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(format!("   sends {env:?}"));
                    }
                    if let Err(k) = s.net.binary_search_by(|e| e.order().cmp(&env.order())) {
                        s.net.insert(k, env);
                    }
                }
                Effect::Dropped { from } => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(format!(
                            "   {id:?} drops a message from {from:?} (it does not open)"
                        ));
                    }
                }
                Effect::Reply(reply) => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(format!(
                            "   {id:?} replies to {:?}: {}",
                            reply.to,
                            show_response(&reply.response)
                        ));
                    }
                    self.on_reply(s, id, reply);
                }
                // An applied entry is committed. The observer also reads
                // the nodes' logs after each step, but an entry whose
                // application erases key material is compacted away in
                // the very step that commits it: only this effect shows it.
                Effect::Applied(applied) => {
                    if let Some(node) = s.slots[usize::from(id.0)].node() {
                        let term = node.raft().term();
                        let entry = Entry {
                            term: applied.term,
                            command: applied.command,
                        };
                        s.ghost.note_committed(applied.index, &entry, term);
                    }
                }
                Effect::Restored { .. } => s.ghost.restored = true,
                // Observability only: the model's properties read the
                // nodes' state directly.
                Effect::Role { .. } => {}
            }
        }
    }

    /// A client request, delivered to node `to` at once (the client-side
    /// network is the attacker's, so any order of requests is an action order).
    fn client(
        &self,
        s: &mut VaultState,
        to: NodeId,
        op: &ClientOp,
        trace: &mut Option<&mut Vec<String>>,
    ) {
        let b = &mut s.budgets;
        let (client, req) = match *op {
            ClientOp::Guess => {
                b.guesses -= 1;
                let ke1 = SymBlinded {
                    password: WRONG_GUESS,
                    blind: 100 + b.guesses,
                };
                (ATTACKER, Req::LoginStart { user: ALICE, ke1 })
            }
            ClientOp::Probe => {
                b.probes -= 1;
                let request = SymBlinded {
                    password: WRONG_GUESS,
                    blind: 150 + b.probes,
                };
                (
                    ATTACKER,
                    Req::RegistrationStart {
                        user: ALICE,
                        request,
                    },
                )
            }
            ClientOp::Login => {
                b.logins -= 1;
                let password = s.owner.known.map_or(PASSWORD, |(_, p)| p);
                let ke1 = SymBlinded {
                    password,
                    blind: 200 + b.logins,
                };
                s.owner.login = Some(ke1);
                (OWNER, Req::LoginStart { user: ALICE, ke1 })
            }
            ClientOp::Resend => {
                b.resends -= 1;
                let ke1 = s.owner.login.expect("a resend needs a login");
                (OWNER, Req::LoginStart { user: ALICE, ke1 })
            }
            ClientOp::Finish(login) => {
                s.owner.logins.retain(|l| *l != login);
                (
                    OWNER,
                    Req::LoginFinish {
                        user: ALICE,
                        login,
                        ke3: (),
                    },
                )
            }
            ClientOp::Change { relay } => {
                b.changes -= 1;
                match relay {
                    Relay::Honest => {}
                    Relay::Spliced => b.splices -= 1,
                    Relay::ForeignEvaluation => b.foreign_evaluations -= 1,
                }
                let (registration, _) = s.owner.known.expect("a change needs a known record");
                let input = SymBlinded {
                    password: NEW_PASSWORD,
                    blind: 1,
                };
                let Some(ticket) = self.registration_start(s, to, OWNER, ALICE, input, trace)
                else {
                    return;
                };
                let sealed = SymRegistration {
                    user: ALICE,
                    password: NEW_PASSWORD,
                    key: OWNER_KEY,
                    ticket,
                    evaluated_under: if relay == Relay::ForeignEvaluation {
                        CHAT_SERVER_OPRF_KEY
                    } else {
                        ticket.key
                    },
                };
                let content = sealed.content();
                let replacing = Some(Replacing {
                    registration,
                    proof: proof(
                        OWNER_KEY,
                        ProofStatement::Replace {
                            user: ALICE,
                            active: registration,
                            content,
                        },
                    ),
                });
                let stage = Req::Stage {
                    user: ALICE,
                    sealed,
                    content,
                    replacing: replacing.clone(),
                };
                let oldest = s.owner.sealed.first().copied();
                s.owner.changing = Some((sealed, None));
                s.owner.sealed.push(sealed);
                s.owner.sent.push(stage.clone());
                match oldest.filter(|_| relay == Relay::Spliced) {
                    // The chat server forwards the owner's oldest registration
                    // under the proof of K made for the new one.
                    Some(old) => (
                        OWNER,
                        Req::Stage {
                            user: ALICE,
                            sealed: old,
                            content,
                            replacing,
                        },
                    ),
                    None => (OWNER, stage),
                }
            }
            ClientOp::ActivateOwn(registration) => {
                if self.bounds.activations.is_some() {
                    b.activations -= 1;
                }
                let (sealed, _) = s.owner.changing.expect("an activation needs a change");
                let content = sealed.content();
                (OWNER, activation(ALICE, registration, content, OWNER_KEY))
            }
            ClientOp::DeleteOwn(registration) => {
                b.deletes -= 1;
                // Fresh per delete: the budget left counts down.
                let nonce = DeleteNonce([b.deletes; DELETE_NONCE_LEN]);
                (
                    OWNER,
                    Req::Delete {
                        user: ALICE,
                        registration,
                        nonce,
                        proof: proof(
                            OWNER_KEY,
                            ProofStatement::Delete {
                                user: ALICE,
                                registration,
                                nonce,
                            },
                        ),
                    },
                )
            }
            ClientOp::Reregister => {
                b.reregistrations -= 1;
                let input = SymBlinded {
                    password: ATTACKER_PASSWORD,
                    blind: 2,
                };
                let Some(ticket) = self.registration_start(s, to, ATTACKER, ALICE, input, trace)
                else {
                    return;
                };
                let sealed = attacker_registration(ticket);
                (
                    ATTACKER,
                    Req::Stage {
                        user: ALICE,
                        sealed,
                        content: sealed.content(),
                        replacing: None,
                    },
                )
            }
            ClientOp::ReuseTicket { active, ticket } => {
                b.ticket_reuses -= 1;
                let sealed = attacker_registration(s.owner.sealed[usize::from(ticket)].ticket);
                let content = sealed.content();
                (
                    ATTACKER,
                    Req::Stage {
                        user: ALICE,
                        sealed,
                        content,
                        replacing: Some(Replacing {
                            registration: active,
                            proof: proof(
                                ATTACKER_KEY,
                                ProofStatement::Replace {
                                    user: ALICE,
                                    active,
                                    content,
                                },
                            ),
                        }),
                    },
                )
            }
            ClientOp::ActivateAttacker(registration) => {
                let content = s
                    .attacker
                    .staged
                    .iter()
                    .find(|(r, _)| *r == registration)
                    .map(|(_, c)| *c)
                    .expect("the attacker activates what it staged");
                s.attacker.staged.retain(|(r, _)| *r != registration);
                (
                    ATTACKER,
                    activation(ALICE, registration, content, ATTACKER_KEY),
                )
            }
            ClientOp::ActivateForged(registration) => {
                b.forged_activations -= 1;
                let (sealed, _) = s
                    .owner
                    .changing
                    .expect("a forged activation needs a change");
                let content = sealed.content();
                (
                    ATTACKER,
                    activation(ALICE, registration, content, ATTACKER_KEY),
                )
            }
            ClientOp::ActivateAltered(registration) => {
                b.forged_activations -= 1;
                (
                    ATTACKER,
                    activation(ALICE, registration, ALTERED_CONTENT, ATTACKER_KEY),
                )
            }
            ClientOp::Forge(login) => {
                b.forgeries -= 1;
                (
                    ATTACKER,
                    Req::LoginFinish {
                        user: BOB,
                        login,
                        ke3: (),
                    },
                )
            }
            ClientOp::Replay(k) => {
                b.replays -= 1;
                (ATTACKER, s.owner.sent[usize::from(k)].clone())
            }
            ClientOp::ResendStage(k) => {
                b.replays -= 1;
                (ATTACKER, s.attacker.sent[usize::from(k)].clone())
            }
        };
        // The walks weigh the owner's requests apart from the attacker's by
        // `ClientOp::by_owner`: it must say who sends what.
        assert_eq!(client == OWNER, op.by_owner(), "{op:?} sent by {client:?}");
        if let Some(t) = trace.as_deref_mut() {
            t.push(format!("   {client:?} -> {to:?}: {}", show_request(&req)));
        }
        if client == OWNER && !matches!(op, ClientOp::Change { .. }) {
            s.owner.sent.push(req.clone());
        }
        if *op == ClientOp::Reregister {
            s.attacker.sent.push(req.clone());
        }
        self.request(s, to, client, req, trace.as_deref_mut());
    }

    /// Sends a registration request and returns the ticket of its answer
    /// (registration requests are answered at once by a serving leader).
    fn registration_start(
        &self,
        s: &mut VaultState,
        to: NodeId,
        client: ClientId,
        user: UserId,
        request: SymBlinded,
        trace: &mut Option<&mut Vec<String>>,
    ) -> Option<TicketClaims> {
        let req = Req::RegistrationStart { user, request };
        if let Some(t) = trace.as_deref_mut() {
            t.push(format!("   {client:?} -> {to:?}: {}", show_request(&req)));
        }
        s.last_ticket = None;
        self.request(s, to, client, req, trace.as_deref_mut());
        s.last_ticket.take()
    }

    fn request(
        &self,
        s: &mut VaultState,
        to: NodeId,
        client: ClientId,
        req: Req,
        mut trace: Option<&mut Vec<String>>,
    ) {
        let request = RequestId(s.ghost.next_request);
        s.ghost.next_request += 1;
        match &req {
            Req::LoginFinish { user, login, .. } => {
                *s.ghost.ke3_delivered.entry(*user).or_default() += 1;
                if let Some(seen) = s.ghost.logins.get(login).filter(|l| l.right) {
                    s.ghost.proved_for.insert(seen.registration);
                }
            }
            Req::Activate { registration, .. } => {
                s.ghost.activations.insert(*registration);
            }
            _ => {}
        }
        let op = self.record_op(s, &req).filter(|_| self.history);
        if let Some(op) = op {
            // Each request is its own "thread": real-time order between
            // requests is what the tester checks.
            let _ = s.ghost.history.on_invoke(request.0, op);
        }
        let applied_at_arrival = s.slots[usize::from(to.0)]
            .node()
            .map_or(LogIndex(0), |n| n.applied());
        s.ghost.requests.insert(
            request,
            Outstanding {
                client,
                req: req.clone(),
                op,
                applied_at_arrival,
            },
        );
        self.on_node(s, to, request.0, &mut trace, |host, now, rng| {
            let input = Input::Client {
                from: client,
                id: request,
                request: req,
            };
            host.handle(input, now, rng)
        });
    }

    /// The spec operation a request of Alice's is, if the spec covers it.
    fn record_op(&self, s: &VaultState, req: &Req) -> Option<RecordOp> {
        match req {
            Req::LoginStart { user, ke1 } if *user == ALICE => {
                Some(RecordOp::LoginStart { guess: *ke1 })
            }
            Req::LoginFinish { user, login, .. } if *user == ALICE => {
                let seen = s.ghost.logins.get(login)?;
                Some(RecordOp::LoginFinish {
                    registration: seen.registration,
                    right: seen.right,
                    ke1: seen.ke1,
                })
            }
            Req::Stage {
                user,
                sealed,
                content,
                replacing,
            } if *user == ALICE => Some(RecordOp::Stage {
                password: sealed.password,
                key: sealed.key,
                claimed: *content,
                actual: sealed.content(),
                seq: sealed.ticket.seq,
                own_evaluation: sealed.evaluated_under == sealed.ticket.key,
                replacing: replacing.as_ref().map(|r| {
                    let named = match r.proof.statement {
                        ProofStatement::Replace { content, .. } => content,
                        _ => ContentDigest([0; 32]),
                    };
                    (r.registration, r.proof.key, named)
                }),
            }),
            Req::Activate {
                user,
                registration,
                content,
                proof,
            } if *user == ALICE => Some(RecordOp::Activate {
                registration: *registration,
                content: *content,
                proof_key: proof.key,
            }),
            Req::Delete {
                user,
                registration,
                proof,
                ..
            } if *user == ALICE => Some(RecordOp::Delete {
                registration: *registration,
                proof_key: proof.key,
            }),
            _ => None,
        }
    }

    /// A reply reaches its client: update what the clients know and the
    /// observers (LOCK-1, LOCK-2, LOCK-3, LOCK-4, LOCK-5, REG-1,
    /// linearizability).
    fn on_reply(&self, s: &mut VaultState, from: NodeId, reply: Reply<C>) {
        let Some(out) = s.ghost.requests.get(&reply.request).cloned() else {
            return;
        };
        let fin = RecordRet::from_response(&reply.response);
        if fin.is_some() || matches!(reply.response, Resp::RegistrationResponse(_)) {
            s.ghost.requests.remove(&reply.request);
        }
        if let (Some(_), Some(ret)) = (out.op, fin) {
            let consistent = s
                .ghost
                .history
                .on_return(reply.request.0, ret)
                .map(|t| t.is_consistent())
                .unwrap_or(false);
            if !consistent {
                s.ghost.flags.not_linearizable = true;
            }
        }
        let node = s.slots[usize::from(from.0)].node();
        match reply.response {
            Resp::RegistrationResponse(answer) => {
                // LOCK-1: an evaluation, placed just after what the answering
                // node had applied.
                let applied = node.map_or(LogIndex(0), |n| n.applied());
                s.ghost.evals.entry(answer.eval.key).or_default().insert((
                    applied,
                    true,
                    answer.eval.input,
                ));
                s.last_ticket = Some(answer.ticket);
            }
            Resp::Ke2 { login, ke2, .. } => {
                // The entry that consumed the attempt: in the node's log, or
                // (compacted since, by the erasure rule) as the observer
                // saw it committed.
                let entry = reply.index.and_then(|i| {
                    node.and_then(|n| n.raft().log().get(i).cloned())
                        .or_else(|| s.ghost.committed.get(&i).map(|(e, _)| e.clone()))
                        .map(|e| (i, e))
                });
                let Some((index, entry)) = entry else {
                    return;
                };
                let Some(Command::ConsumeAttempt {
                    registration, user, ..
                }) = entry.command
                else {
                    return;
                };
                // LOCK-2: the attempt must already be on a quorum's disks
                // (in its log, or in a snapshot that covers it: a snapshot
                // holds only committed entries, and this one is committed).
                let durable = self
                    .ids()
                    .map(|id| self.durable(s, id))
                    .filter(|d| {
                        d.log.term_at(index) == Some(entry.term)
                            || d.snapshot.as_ref().is_some_and(|(at, _, _)| *at >= index)
                    })
                    .count();
                // A rollback after the acknowledgement is a fault R
                // tolerates: rolled-back nodes (at most R) count as holders.
                let rolled = s.budgets.rolled_back.count_ones() as usize;
                // A host's rollback under the same HSM is a fault the HSM's
                // counter covers: a node whose disk a host rolled back
                // counts as a holder if its counter reaches the entry (in
                // Raft's up-to-date order, which its votes then enforce).
                let remembered = self
                    .ids()
                    .filter(|id| {
                        s.budgets.host_rolled & (1 << id.0) != 0
                            && s.budgets.rolled_back & (1 << id.0) == 0
                            && s.slots[usize::from(id.0)].host.nvram().log >= (entry.term, index)
                    })
                    .filter(|id| {
                        let d = self.durable(s, *id);
                        !(d.log.term_at(index) == Some(entry.term)
                            || d.snapshot.as_ref().is_some_and(|(at, _, _)| *at >= index))
                    })
                    .count();
                if durable + rolled + remembered < self.oracle_quorum() {
                    s.ghost.flags.ke2_before_quorum = true;
                }
                // LOCK-1: an evaluation under the key the KE2 term names,
                // at the entry that consumed its attempt.
                s.ghost
                    .evals
                    .entry(ke2.key)
                    .or_default()
                    .insert((index, false, ke2.input));
                let Req::LoginStart { ke1, .. } = out.req else {
                    return;
                };
                // LOCK-5: the owner's KE1 costs one attempt per record.
                if out.client == OWNER {
                    s.ghost
                        .owner_attempts
                        .entry((ke1, registration))
                        .or_default()
                        .insert(index);
                }
                // Whether the guess was right, as the answering node judged it.
                let right = node
                    .and_then(|n| n.store().get(user))
                    .and_then(|r| r.active.as_ref())
                    .is_some_and(|a| {
                        a.registration == registration && a.password_file == ke1.password
                    });
                s.ghost.logins.insert(
                    login,
                    SeenLogin {
                        user,
                        registration,
                        right,
                        ke1,
                    },
                );
                if user == ALICE {
                    s.attacker.seen_logins.push(login);
                    if out.client == OWNER && right {
                        s.owner.logins.push(login);
                    }
                }
            }
            Resp::LoginOk { sealed_key } => {
                s.ghost.logins_ok = s.ghost.logins_ok.saturating_add(1);
                if s.ghost.destroyed.contains(&sealed_key.registration) {
                    s.ghost.flags.destroyed_key_released = true;
                }
                if let Req::LoginFinish { user, login, .. } = &out.req {
                    if s.ghost.logins.get(login).map(|l| l.user) != Some(*user) {
                        s.ghost.flags.cross_user_login = true;
                    }
                }
            }
            Resp::Staged {
                registration, tag, ..
            } => match out.client {
                OWNER => {
                    if let Some((sealed, None)) = s.owner.changing {
                        let expected = SymTag {
                            key: OWNER_KEY,
                            statement: ReplyStatement::Staged {
                                user: ALICE,
                                registration,
                                content: sealed.content(),
                            },
                        };
                        if tag == expected {
                            s.owner.changing = Some((sealed, Some(registration)));
                        }
                    }
                }
                ATTACKER => {
                    if let Req::Stage { content, .. } = &out.req {
                        s.attacker.staged.push((registration, *content));
                    }
                }
                _ => {}
            },
            Resp::Activated {
                registration,
                remaining,
                tag,
            } => {
                if out.client == ATTACKER {
                    // Its own activation: it holds that registration's K.
                    // (A replayed activation of the owner's is answered
                    // under the owner's key, which it lacks.)
                    if tag.key == ATTACKER_KEY && !s.attacker.holds.contains(&registration) {
                        s.attacker.holds.push(registration);
                    }
                    return;
                }
                let Some((sealed, Some(staged))) = s.owner.changing else {
                    return;
                };
                let expected = SymTag {
                    key: OWNER_KEY,
                    statement: ReplyStatement::Activated {
                        user: ALICE,
                        registration,
                        content: sealed.content(),
                        remaining,
                    },
                };
                if out.client != OWNER || staged != registration || tag != expected {
                    return;
                }
                s.owner.known = Some((registration, sealed.password));
                s.owner.changing = None;
                // LOCK-3: what the owner was told is active must be what it
                // sealed, with the budget that came with it. Judged on the
                // answering node's store, which may have applied commands
                // after the activation (a delete in the same batch): a
                // registration no longer active there is judged only if
                // nothing applied after the activation could have removed it.
                // An answer read from the store (a resend of an activation
                // already applied) was read when its request arrived or
                // later, and held until the read barrier's commit; what
                // applied meanwhile may have removed the registration since
                // (seen on a random walk: the attacker's guesses destroyed
                // it, then a registration without proof staged anew).
                let applied_after = match (node, reply.index) {
                    (Some(n), Some(at)) => n.applied() > at,
                    (Some(n), None) => n.applied() > out.applied_at_arrival,
                    _ => false,
                };
                let active_password = node
                    .and_then(|n| n.store().get(ALICE))
                    .and_then(|r| r.active.as_ref())
                    .filter(|a| a.registration == registration)
                    .map(|a| a.password_file);
                let reverted = match active_password {
                    Some(password) => password != sealed.password,
                    None => !applied_after,
                };
                if reverted {
                    s.ghost.flags.change_reverted = true;
                }
            }
            _ => {}
        }
    }

    /// After every step: who leads which term, what is committed, what is
    /// destroyed, which registration has which OPRF key, where proofs are.
    fn observe(&self, s: &mut VaultState) {
        for (i, slot) in s.slots.iter().enumerate() {
            let Some(node) = slot.node() else {
                continue;
            };
            let raft = node.raft();
            let id = NodeId(i as u8);
            if raft.role() == Role::Leader {
                match s.ghost.leaders.get(&raft.term()) {
                    Some(other) if *other != id => s.ghost.flags.two_leaders = true,
                    Some(_) => {}
                    None => {
                        s.ghost.leaders.insert(raft.term(), id);
                    }
                }
            }
            let commit = raft.commit_index();
            let mut index = raft.log().base_index().next();
            while index <= commit {
                if let Some(entry) = raft.log().get(index) {
                    s.ghost.note_committed(index, entry, raft.term());
                }
                index = index.next();
            }
            for (_, rec) in node.store().iter() {
                if let Some(Tombstone::Destroyed(r)) = rec.tombstone() {
                    s.ghost.destroyed.insert(r);
                }
                let held = rec
                    .active
                    .as_ref()
                    .map(|a| (a.oprf_key, a.registration))
                    .into_iter()
                    .chain(rec.staged.as_ref().map(|st| (st.oprf_key, st.registration)));
                for (key, registration) in held {
                    if *s.ghost.served.entry(key).or_insert(registration) != registration {
                        s.ghost.flags.key_serves_two = true;
                    }
                }
            }
        }
    }

    /// Every action enabled in `s`, in a fixed order.
    fn enabled(&self, s: &VaultState, actions: &mut Vec<Action>) {
        // A state where a violation was observed is terminal: the path to
        // it is the counterexample, and nothing after it adds evidence.
        if s.ghost.panic.is_some() || s.ghost.flags != Flags::default() {
            return;
        }
        let b = s.budgets;
        for env in &s.net {
            if s.slots[usize::from(env.to.0)].node().is_some() {
                actions.push(Action::Deliver(env.clone()));
                if b.duplicates > 0 {
                    actions.push(Action::Duplicate(env.clone()));
                }
            }
            if b.misdirections > 0 {
                for to in self.ids() {
                    if to != env.to && to != env.from && s.slots[usize::from(to.0)].node().is_some()
                    {
                        actions.push(Action::Misdirect {
                            env: env.clone(),
                            to,
                        });
                    }
                }
            }
        }
        if b.forged_appends > 0 {
            actions.push(Action::ForgeAppend);
        }
        for (i, slot) in s.slots.iter().enumerate() {
            let id = NodeId(i as u8);
            match slot.node() {
                Some(node) => {
                    if !slot.host.unsynced().is_empty() {
                        actions.push(Action::Sync(id));
                    }
                    if b.ticks > 0 {
                        actions.push(Action::Tick(id));
                    }
                    if b.crashes > 0 {
                        actions.push(Action::Crash(id));
                    }
                    if node.raft().role() == Role::Leader {
                        self.client_actions(s, id, node.serving(), actions);
                    }
                }
                None => {
                    actions.push(Action::Restart(id));
                    let rolled = b.rolled_back.count_ones() as u8;
                    let may_roll =
                        b.rolled_back & (1 << i) != 0 || rolled < self.bounds.rollback_tolerance;
                    if b.rollbacks > 0 && may_roll {
                        for back in 1..=slot.history.len() {
                            actions.push(Action::Rollback {
                                node: id,
                                back: back as u8,
                            });
                        }
                    }
                    if b.disk_edits > 0 && may_roll {
                        self.disk_edits(s, id, actions);
                    }
                    if b.host_rollbacks > 0 {
                        for back in 1..=slot.history.len() {
                            actions.push(Action::HostRollback {
                                node: id,
                                back: back as u8,
                            });
                        }
                    }
                }
            }
        }
    }

    /// The host's edits of down node `id`'s disk: each record replaced by
    /// its neighbours, by the other nodes' records at its position, or by a
    /// record in the clear.
    fn disk_edits(&self, s: &VaultState, id: NodeId, actions: &mut Vec<Action>) {
        let len = s.slots[usize::from(id.0)]
            .disk()
            .records()
            .len()
            .min(usize::from(u8::MAX));
        for at in 0..len {
            let mut push = |edit| {
                actions.push(Action::EditDisk {
                    node: id,
                    at: at as u8,
                    edit,
                })
            };
            if at > 0 {
                push(DiskEdit::Replay { from: at as u8 - 1 });
            }
            if at + 1 < len {
                push(DiskEdit::Replay { from: at as u8 + 1 });
            }
            for other in self.ids().filter(|o| *o != id) {
                if s.slots[usize::from(other.0)].disk().records().len() > at {
                    push(DiskEdit::Foreign(other));
                }
            }
            if s.owner.known.is_some() {
                push(DiskEdit::Clear);
            }
        }
    }

    /// Client requests to leader `to`. Those that need a registration
    /// response first are offered only where it comes at once (`serving`).
    fn client_actions(&self, s: &VaultState, to: NodeId, serving: bool, actions: &mut Vec<Action>) {
        let b = s.budgets;
        let mut push = |op| actions.push(Action::Client { to, op });
        if b.guesses > 0 {
            push(ClientOp::Guess);
        }
        if b.probes > 0 {
            push(ClientOp::Probe);
        }
        if b.logins > 0 {
            push(ClientOp::Login);
        }
        if b.resends > 0 && s.owner.login.is_some() {
            push(ClientOp::Resend);
        }
        for login in &s.owner.logins {
            push(ClientOp::Finish(*login));
        }
        if serving && b.changes > 0 && s.owner.known.is_some() && s.owner.changing.is_none() {
            push(ClientOp::Change {
                relay: Relay::Honest,
            });
            if b.splices > 0 {
                push(ClientOp::Change {
                    relay: Relay::Spliced,
                });
            }
            if b.foreign_evaluations > 0 {
                push(ClientOp::Change {
                    relay: Relay::ForeignEvaluation,
                });
            }
        }
        if let Some((_, Some(r))) = s.owner.changing {
            if b.activations > 0 {
                push(ClientOp::ActivateOwn(r));
            }
            if b.forged_activations > 0 {
                push(ClientOp::ActivateForged(r));
            }
        }
        if b.forged_activations > 0 && b.changes == 0 {
            if let Some((r, _)) = s.owner.known {
                push(ClientOp::ActivateAltered(r));
            }
        }
        if b.deletes > 0 {
            if let Some((r, _)) = s.owner.known {
                push(ClientOp::DeleteOwn(r));
            }
            if let Some((_, Some(r))) = s.owner.changing {
                push(ClientOp::DeleteOwn(r));
            }
        }
        if serving && b.reregistrations > 0 {
            push(ClientOp::Reregister);
        }
        for (r, _) in &s.attacker.staged {
            push(ClientOp::ActivateAttacker(*r));
        }
        if b.ticket_reuses > 0 {
            for active in &s.attacker.holds {
                for k in 0..s.owner.sealed.len().min(usize::from(u8::MAX)) {
                    push(ClientOp::ReuseTicket {
                        active: *active,
                        ticket: k as u8,
                    });
                }
            }
        }
        if b.forgeries > 0 {
            for login in &s.attacker.seen_logins {
                push(ClientOp::Forge(*login));
            }
        }
        if b.replays > 0 {
            for k in 0..s.owner.sent.len().min(usize::from(u8::MAX)) {
                push(ClientOp::Replay(k as u8));
            }
            for k in 0..s.attacker.sent.len().min(usize::from(u8::MAX)) {
                push(ClientOp::ResendStage(k as u8));
            }
        }
    }

    /// The path as lines a person can read: each action, then what the
    /// node did (writes, messages, replies).
    pub fn describe_path(&self, actions: &[Action]) -> Vec<String> {
        let mut lines = vec!["start: ".to_string() + &self.describe_state(&self.origin)];
        let mut s = self.origin.clone();
        if !self.prefix.is_empty() {
            lines.push(format!(
                "(the first {} steps are the steering path)",
                self.prefix.len()
            ));
        }
        for (k, action) in self.prefix.iter().chain(actions).enumerate() {
            lines.push(format!("{:>3}. {}", k + 1, show_action(action)));
            let mut trace = Vec::new();
            s = self.step(&s, action, Some(&mut trace));
            lines.extend(trace);
        }
        lines.push("end: ".to_string() + &self.describe_state(&s));
        lines
    }

    /// One line per node: role, term, log length, commit, Alice's record.
    pub fn describe_state(&self, s: &VaultState) -> String {
        let mut parts = Vec::new();
        for (i, slot) in s.slots.iter().enumerate() {
            let part = match slot.node() {
                None => format!(
                    "n{i} down (disk: {} records, log to {})",
                    slot.disk().records().len(),
                    self.durable(s, NodeId(i as u8)).log.last_index().0
                ),
                Some(n) => node_line(i, n),
            };
            parts.push(part);
        }
        parts.join("; ")
    }
}

/// An up node as one line: role, term, log length, commit index, and
/// Alice's active record with its attempts used.
fn node_line(i: usize, n: &Node) -> String {
    let r = n.raft();
    let alice = n
        .store()
        .get(ALICE)
        .and_then(|rec| rec.active.as_ref())
        .map_or("no record".to_string(), |a| {
            format!("{:?} used {}", a.registration, a.attempts.used())
        });
    format!(
        "n{i} {:?} {:?} log {} commit {} ({alice})",
        r.role(),
        r.term(),
        r.log().last_index().0,
        r.commit_index().0
    )
}

impl fmt::Debug for VaultState {
    /// One line per node (role, term, log, commit, Alice's active record),
    /// the messages in flight, the clients' views and the budgets left:
    /// what a person exploring the model needs, in a screenful.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, slot) in self.slots.iter().enumerate() {
            match slot.node() {
                None => writeln!(
                    f,
                    "n{i} down, disk {} records, clock {:?}",
                    slot.disk().records().len(),
                    slot.clock
                )?,
                Some(n) => writeln!(f, "{}, clock {:?}", node_line(i, n), slot.clock)?,
            }
        }
        writeln!(f, "in flight: {} message(s)", self.net.len())?;
        for env in self.net.iter().take(8) {
            writeln!(f, "  {env:?}")?;
        }
        if self.net.len() > 8 {
            writeln!(f, "  ... {} more", self.net.len() - 8)?;
        }
        writeln!(
            f,
            "owner: knows {:?}, changing {}, login {}, {} request(s) sent",
            self.owner.known.as_ref().map(|(r, _)| r),
            self.owner.changing.is_some(),
            self.owner.login.is_some(),
            self.owner.sent.len()
        )?;
        writeln!(
            f,
            "attacker: {} staged, {} login(s) seen",
            self.attacker.staged.len(),
            self.attacker.seen_logins.len()
        )?;
        writeln!(f, "budgets left: {:?}", self.budgets)?;
        let flags = &self.ghost.flags;
        write!(
            f,
            "ghost: {} committed entries, {} destroyed, {} logins ok, flags {:?}",
            self.ghost.committed.len(),
            self.ghost.destroyed.len(),
            self.ghost.logins_ok,
            flags
        )
    }
}

impl VaultState {
    fn placeholder() -> Self {
        VaultState {
            slots: Vec::new(),
            net: Vec::new(),
            owner: OwnerView::default(),
            attacker: AttackerView::default(),
            budgets: Budgets {
                crashes: 0,
                rollbacks: 0,
                rolled_back: 0,
                duplicates: 0,
                guesses: 0,
                logins: 0,
                changes: 0,
                deletes: 0,
                reregistrations: 0,
                forgeries: 0,
                replays: 0,
                forged_activations: 0,
                probes: 0,
                splices: 0,
                foreign_evaluations: 0,
                ticket_reuses: 0,
                resends: 0,
                forged_appends: 0,
                misdirections: 0,
                disk_edits: 0,
                host_rollbacks: 0,
                host_rolled: 0,
                ticks: 0,
                activations: 0,
            },
            last_ticket: None,
            ghost: Ghost {
                evals: BTreeMap::new(),
                record_keys: BTreeMap::new(),
                served: BTreeMap::new(),
                proofs: BTreeMap::new(),
                proved_for: BTreeSet::new(),
                owner_attempts: BTreeMap::new(),
                ke3_delivered: BTreeMap::new(),
                activations: BTreeSet::new(),
                committed: BTreeMap::new(),
                leaders: BTreeMap::new(),
                destroyed: BTreeSet::new(),
                logins: BTreeMap::new(),
                logins_ok: 0,
                restored: false,
                flags: Flags::default(),
                panic: None,
                requests: BTreeMap::new(),
                next_request: 0,
                history: LinearizabilityTester::new(RecordSpec::new(1)),
            },
        }
    }
}

/// A content no client sealed: what the chat server puts in an activation
/// it alters.
const ALTERED_CONTENT: ContentDigest = ContentDigest([0xa1; 32]);

/// An activation of `registration` with its content, proved under `key`
/// (the staged registration's own key if the sender holds it).
fn activation(
    user: UserId,
    registration: RegistrationId,
    content: ContentDigest,
    key: SymKey,
) -> Req {
    Req::Activate {
        user,
        registration,
        content,
        proof: proof(
            key,
            ProofStatement::Activate {
                user,
                registration,
                content,
            },
        ),
    }
}

fn proof(key: SymKey, statement: ProofStatement) -> SymProof {
    SymProof { key, statement }
}

impl Model for VaultModel {
    type State = VaultState;
    type Action = Action;

    fn init_states(&self) -> Vec<VaultState> {
        vec![self.init.clone()]
    }

    fn actions(&self, state: &VaultState, actions: &mut Vec<Action>) {
        self.enabled(state, actions);
    }

    fn next_state(&self, last: &VaultState, action: Action) -> Option<VaultState> {
        Some(self.step(last, &action, None))
    }

    fn format_action(&self, action: &Action) -> String {
        show_action(action)
    }

    /// The Explorer's picture of a path: the path drawn as a sequence
    /// diagram (the same drawing `bvault-suite verify` gives a
    /// counterexample).
    fn as_svg(&self, path: stateright::Path<VaultState, Action>) -> Option<String> {
        let actions = path.into_actions();
        let lines = self.describe_path(&actions);
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut seq = crate::diagram::Sequence::from_model_path(&lines, "");
        // No property is violated on a path the user is exploring.
        seq.events.pop();
        Some(seq.svg())
    }

    fn properties(&self) -> Vec<Property<Self>> {
        props::properties(&self.bounds)
    }
}

/// The kinds a walk weighs apart (`crate::walk`): each timer is its own
/// kind, so that some walks let the leader's timer fire far more often than
/// its followers' (a leader that keeps its term for a login's lifetime),
/// and the owner's requests are apart from the attacker's, which outnumber
/// them.
impl crate::walk::ActionKinds for VaultModel {
    fn kinds(&self) -> usize {
        9 + usize::from(self.bounds.nodes)
    }

    fn kind(&self, action: &Action) -> usize {
        match action {
            Action::Deliver(_) => 0,
            Action::Duplicate(_) => 1,
            Action::Sync(_) => 2,
            Action::Crash(_) => 3,
            Action::Restart(_) => 4,
            Action::Rollback { .. } | Action::HostRollback { .. } => 5,
            Action::Client { op, .. } if op.by_owner() => 6,
            Action::Client { .. } => 7,
            Action::ForgeAppend | Action::Misdirect { .. } | Action::EditDisk { .. } => 8,
            Action::Tick(node) => 9 + usize::from(node.0),
        }
    }
}

// ----- readable output ------------------------------------------------------

/// An action as one line.
pub fn show_action(action: &Action) -> String {
    match action {
        Action::Deliver(env) => format!("deliver {env:?}"),
        Action::Duplicate(env) => format!("deliver a duplicate of {env:?}"),
        Action::Tick(id) => format!("{id:?} timer fires"),
        Action::Sync(id) => format!("{id:?} disk syncs"),
        Action::Crash(id) => format!("{id:?} crashes (unsynced writes lost)"),
        Action::Restart(id) => format!("{id:?} restarts from its disk"),
        Action::Rollback { node, back } => {
            format!("{node:?} disk rolled back {back} sync(s), with a new HSM")
        }
        Action::HostRollback { node, back } => {
            format!("host rolls {node:?} disk back {back} sync(s), same HSM (counter kept)")
        }
        Action::Client { to, op } => format!("client -> {to:?}: {op:?}"),
        Action::ForgeAppend => {
            "host forges an Append with a Reset of Alice's record, to every node".to_string()
        }
        Action::Misdirect { env, to } => format!("host delivers a copy of {env:?} to {to:?}"),
        Action::EditDisk { node, at, edit } => {
            let what = match edit {
                DiskEdit::Replay { from } => format!("its record {from}"),
                DiskEdit::Foreign(other) => format!("{other:?}'s record {at}"),
                DiskEdit::Clear => "a record in the clear".to_string(),
            };
            format!("host edits {node:?} disk: record {at} replaced by {what}")
        }
    }
}

fn show_entries(entries: &[Entry<Command<C>>]) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|e| match &e.command {
            None => format!("{:?}:noop", e.term),
            Some(c) => format!("{:?}:{}", e.term, show_command(c)),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn show_command(c: &Command<C>) -> String {
    match c {
        Command::Stage {
            user,
            registration,
            keep_active,
            ..
        } => format!("Stage({user:?} {registration:?} keep {keep_active:?})"),
        Command::Activate {
            user, registration, ..
        } => format!("Activate({user:?} {registration:?})"),
        Command::ConsumeAttempt {
            user, registration, ..
        } => format!("ConsumeAttempt({user:?} {registration:?})"),
        Command::Reset {
            user, registration, ..
        } => format!("Reset({user:?} {registration:?})"),
        Command::Delete { user, registration } => format!("Delete({user:?} {registration:?})"),
        Command::Exhaust { user, registration } => format!("Exhaust({user:?} {registration:?})"),
    }
}

/// A message as it travels, as one line: the message, marked if it is in
/// the clear.
pub fn show_sealed_msg(msg: &SealedMsg) -> String {
    match msg.place {
        Some(_) => show_msg(&msg.value),
        None => format!("{} (in the clear)", show_msg(&msg.value)),
    }
}

/// A consensus message as one line.
pub fn show_msg(msg: &Msg) -> String {
    use backup_vault::vault::raft::message::PeerMessage as P;
    match msg {
        P::Append {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
        } => format!(
            "Append {term:?} prev {prev_index:?}/{prev_term:?} {} commit {commit:?}",
            show_entries(entries)
        ),
        P::InstallSnapshot {
            term,
            index,
            index_term,
            ..
        } => format!("InstallSnapshot {term:?} at {index:?}/{index_term:?}"),
        other => format!("{other:?}"),
    }
}

/// A disk operation as one line.
fn show_op(op: &DiskOp<C>) -> String {
    match op {
        DiskOp::Append(r) => format!("appends {}", show_record(r)),
        DiskOp::Replace(r) => format!("replaces its file by {}", show_record(r)),
    }
}

/// A disk record as one line: what it holds, marked if it is in the clear.
fn show_record(r: &StoredRecord<C>) -> String {
    let what = match &r.sealed.value {
        DiskRecord::Write(w) => show_write(w),
        DiskRecord::Image(d) => format!(
            "an image ({:?} vote {:?}, snapshot at {:?}, log to {:?})",
            d.term,
            d.voted_for,
            d.snapshot.as_ref().map(|(i, _, _)| i.0),
            d.log.last_index().0
        ),
    };
    match r.sealed.place {
        Some(_) => what,
        None => format!("{what} (in the clear)"),
    }
}

fn show_write(w: &Write) -> String {
    use backup_vault::vault::raft::durable::DiskWrite as W;
    match w {
        W::HardState { term, voted_for } => format!("HardState {term:?} vote {voted_for:?}"),
        W::Entries { first, entries } => format!("Entries at {first:?} {}", show_entries(entries)),
        W::Snapshot { index, .. } => format!("Snapshot at {index:?}"),
    }
}

fn show_request(req: &Req) -> String {
    match req {
        Req::RegistrationStart { user, request } => format!(
            "RegistrationStart {user:?} guess {} blind {}",
            request.password.0, request.blind
        ),
        Req::Stage {
            user,
            sealed,
            content,
            replacing,
        } => format!(
            "Stage {user:?} password {} (ticket seq {}){} {}",
            sealed.password.0,
            sealed.ticket.seq,
            if *content == sealed.content() {
                ""
            } else {
                " claiming another content"
            },
            if replacing.is_some() {
                "with proof of K"
            } else {
                "without proof of K"
            }
        ),
        Req::Activate {
            user, registration, ..
        } => format!("Activate {user:?} {registration:?}"),
        Req::LoginStart { user, ke1 } => {
            format!("KE1 {user:?} guess {} blind {}", ke1.password.0, ke1.blind)
        }
        Req::LoginFinish { user, login, .. } => format!("KE3 {user:?} login {}", login.0),
        other => format!("{other:?}"),
    }
}

fn show_response(r: &Resp) -> String {
    match r {
        Resp::RegistrationResponse(answer) => format!(
            "RegistrationResponse under {:?} (ticket seq {})",
            answer.eval.key, answer.ticket.seq
        ),
        Resp::Ke2 {
            login, remaining, ..
        } => format!("KE2 login {} ({remaining} left)", login.0),
        Resp::LoginOk { sealed_key } => format!(
            "LoginOk, key released ({:?}, {} left)",
            sealed_key.registration, sealed_key.remaining
        ),
        Resp::Staged {
            registration,
            displaced,
            ..
        } => format!("Staged {registration:?} (displaced: {displaced})"),
        Resp::Activated {
            registration,
            remaining,
            ..
        } => format!("Activated {registration:?} ({remaining} left)"),
        other => format!("{other:?}"),
    }
}
