//! A vault node: consensus, the record store and the login rules, as one
//! sans-IO state machine.
//!
//! A driver gives it one [`Input`] at a time through [`VaultNode::handle`],
//! with its clock and an RNG (the node has no clock and no randomness of its
//! own), and carries out the [`Step`] it gets back: effects in order, then a
//! timer for the next deadline. The contract is in [`super::io`].
//!
//! The rules that matter, each in one place:
//! - **Answers only from current state** (`VaultNode::on_client`). A new
//!   leader serves nothing until it has applied the no-op that opened its
//!   term (so its state holds every earlier commit); requests wait in a
//!   bounded queue. Then a request is validated against the applied state
//!   (proofs of key, password checks) and either proposed as a
//!   [`Command`], answered once that command is committed and applied, or
//!   refused; a refusal read from the state is held back until an entry of
//!   this term proposed after it commits (a read barrier), which proves the
//!   node still led when it answered. Only answers that read no record
//!   (a registration response, a malformed message, an unknown login) leave at once.
//!   A copy of a KE3 whose `Reset` is in flight gets none: its original's does.
//! - **No entry point is an oracle** ([`VaultNode::validate`]): a
//!   registration request is evaluated under a fresh OPRF key, never a
//!   record's; the only evaluations under a record's key are KE2s; and a
//!   registration is staged only if its password file was made from that
//!   fresh key's evaluation, not from one a relay substituted.
//! - LOCK-2: KE2 is computed only when the `ConsumeAttempt` it depends on has
//!   been applied, i.e. committed at a quorum ([`VaultNode::answer`]).
//! - Logins between KE2 and KE3 live in the leader's memory with an expiry;
//!   losing leadership drops them all.
//! - A spent budget destroys its record once no login against it can
//!   finish ([`VaultNode::exhaust_spent`]; the rule is in
//!   [`super::lockout`]).

// Defined with every other id in `vault::ids`.
use super::crypto::SealPlace;
use super::crypto::{
    ContentDigest, DeleteNonce, Ke1Digest, OpenedRegistration, OprfKeyId, ProofStatement,
    RegistrationId, Release, ReplyStatement, TicketClaims, VaultCrypto,
};
pub use super::ids::{ClientId, RequestId};
use super::ids::{LogIndex, Millis, NodeId, Term, UserId};
use super::io::{Applied, Effect, Input, Step};
use super::lockout::DEFAULT_GUESS_LIMIT;
use super::protocol::{ClientRequest, ClientResponse, LoginId, Refusal, Replacing};
use super::quorum::ClusterConfig;
use super::raft::durable::{DiskWrite, Durable, WriteId};
use super::raft::message::PeerMessage;
use super::raft::watermark::Watermark;
use super::raft::{Drained, Raft, RaftEvent, Role, Timing};
use super::records::{Command, Gone, Outcome, RecordStore, Tombstone, UserRecord};
use super::sealed::{open_disk, DiskCursor, OpenedDisk, SealedMessage, StoredRecord};
use crate::flaws::{flaw_on, VaultFlaw};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A consensus message of a vault cluster.
pub type VaultPeerMessage<C> = PeerMessage<Command<C>, RecordStore<C>>;
/// A durable write of a vault node.
pub type VaultWrite<C> = DiskWrite<Command<C>, RecordStore<C>>;
/// What a vault node keeps on disk.
pub type VaultDisk<C> = Durable<Command<C>, RecordStore<C>>;

/// How many requests a new leader holds while it catches up, before it
/// answers `Retry` to more.
pub const MAX_QUEUED_REQUESTS: usize = 256;

/// How long a login may take between KE2 and KE3, by default.
pub const DEFAULT_LOGIN_TTL_MS: u64 = 30_000;

/// A vault node's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Cluster size and rollback tolerance.
    pub cluster: ClusterConfig,
    /// Consensus timing.
    pub timing: Timing,
    /// Guesses per record.
    pub guess_limit: u8,
    /// How long a login may take between KE2 and KE3.
    pub login_ttl_ms: u64,
    /// Take a snapshot and compact the log every this many applied entries.
    pub snapshot_every: u64,
    /// A deliberately broken variant to run instead of the correct code;
    /// always `None` unless built with the `flaws` feature (see [`crate::flaws`]).
    pub flaw: Option<VaultFlaw>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            cluster: ClusterConfig::DEFAULT,
            timing: Timing::DEFAULT,
            guess_limit: DEFAULT_GUESS_LIMIT,
            login_ttl_ms: DEFAULT_LOGIN_TTL_MS,
            snapshot_every: 1000,
            flaw: None,
        }
    }
}

/// A reply for the driver to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reply<C: VaultCrypto> {
    /// The client.
    pub to: ClientId,
    /// The request answered.
    pub request: RequestId,
    /// The answer.
    pub response: ClientResponse<C>,
    /// The log index of the committed command whose outcome this reply
    /// reports (for a KE2, the entry that consumed its attempt); `None` for
    /// answers given without a state change. Drivers log it; the
    /// simulator's checkers use it to tie a reply to the entry it depends on.
    pub index: Option<LogIndex>,
}

/// A request waiting for its command to commit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Waiting<C: VaultCrypto> {
    client: ClientId,
    request: RequestId,
    term: Term,
    then: Then<C>,
}

/// What to do once the command is applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Then<C: VaultCrypto> {
    /// Report the outcome (stage, activate).
    Report,
    /// Delete: answer from the state once it applied, about the proof it
    /// carried ([`VaultNode::delete_answer`]).
    AnswerDelete {
        registration: RegistrationId,
        nonce: DeleteNonce,
        proof: C::KeyProof,
    },
    /// LoginStart: compute KE2 from this KE1 if the attempt was consumed.
    SendKe2 { ke1: C::Ke1, digest: Ke1Digest },
    /// LoginFinish: release the sealed key if the reset applied. The login
    /// it finishes is kept so that a copy of its KE3 can be told apart.
    ReleaseKey {
        sealed_key: C::SealedKey,
        user: UserId,
        login: LoginId,
    },
}

/// An answer read from the leader's state, held until an entry proposed
/// after it commits (the read barrier; see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Deferred<C: VaultCrypto> {
    /// The log's last index when the answer was read.
    after: LogIndex,
    reply: Reply<C>,
}

/// How a request is answered without a command of its own.
enum Answer<C: VaultCrypto> {
    /// At once: the answer reads no record.
    Now(ClientResponse<C>),
    /// Read from the record store: after the read barrier.
    FromState(ClientResponse<C>),
    /// Never: a copy of a request whose original will be answered (see
    /// [`VaultNode::finishing`]).
    Silent,
}

/// A login between KE2 and KE3, in the leader's memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PendingLogin<C: VaultCrypto> {
    registration: RegistrationId,
    ke1: Ke1Digest,
    state: C::LoginState,
    expires: Millis,
}

/// One vault node. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VaultNode<C: VaultCrypto> {
    config: NodeConfig,
    crypto: C,
    raft: Raft<Command<C>, RecordStore<C>>,
    store: RecordStore<C>,
    applied: LogIndex,
    waiting: BTreeMap<LogIndex, Waiting<C>>,
    queued: VecDeque<(ClientId, RequestId, ClientRequest<C>)>,
    deferred: Vec<Deferred<C>>,
    logins: BTreeMap<(UserId, LoginId), PendingLogin<C>>,
    /// The node's own effects of the input being handled (replies, applied
    /// entries, restores), in the order they happened; empty between inputs.
    effects: Vec<Effect<C>>,
    /// Where the next disk record goes (see [`super::sealed`]).
    cursor: DiskCursor,
    /// Peer messages dropped because they did not open, since the start.
    dropped: u64,
    /// An applied entry took a registration's key material out of the
    /// store: compact through it before this input's effects leave.
    erase: bool,
    /// Users whose active record's budget is spent (derived from `store`,
    /// kept so that the exhaustion rule costs nothing per idle user), each
    /// with when this node learned it (by its clock; `Millis(0)` for what
    /// it found spent at its start).
    spent: BTreeMap<UserId, Millis>,
    /// Until when a new leader leaves spent records alone: logins a former
    /// leader opened may still finish (at a retry) until then.
    grace_until: Option<Millis>,
    /// When this node last took the lead, by its clock.
    led_since: Millis,
}

impl<C: VaultCrypto> VaultNode<C> {
    /// Starts node `id` with an empty disk.
    pub fn new<R: RngCore>(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        now: Millis,
        rng: &mut R,
    ) -> Self {
        let cursor = DiskCursor::new_segment(None, rng);
        let empty = VaultDisk::default();
        Self::from_disk(
            id,
            config,
            crypto,
            empty,
            Watermark::default(),
            cursor,
            now,
            rng,
        )
    }

    /// Restarts node `id` after a crash from the records its host read back
    /// from its disk, in order, and what its HSM's counter remembers
    /// (`watermark`, kept in the HSM, out of the host's reach; see
    /// [`super::raft::watermark`]). The node reads the records up to the
    /// first that does not open where it stands ([`open_disk`]); the host
    /// must cut its file to [`OpenedDisk::authentic`] records before it
    /// carries out the node's first write.
    pub fn restart<R: RngCore>(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        records: &[StoredRecord<C>],
        watermark: Watermark,
        now: Millis,
        rng: &mut R,
    ) -> (Self, OpenedDisk<C>) {
        let clear = flaw_on!(config.flaw, VaultFlaw::UnsealedStorage);
        let opened = open_disk(&crypto, id, records, clear);
        // A new segment, continuing the authentic records: nothing this
        // incarnation writes can be spliced into what an earlier one wrote.
        let cursor = DiskCursor::new_segment(opened.last_segment, rng);
        let state = opened.state.clone();
        let node = Self::from_disk(id, config, crypto, state, watermark, cursor, now, rng);
        (node, opened)
    }

    #[allow(clippy::too_many_arguments)]
    fn from_disk<R: RngCore>(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        disk: VaultDisk<C>,
        watermark: Watermark,
        cursor: DiskCursor,
        now: Millis,
        rng: &mut R,
    ) -> Self {
        let (store, applied) = match &disk.snapshot {
            Some((index, _, state)) => (state.clone(), *index),
            None => {
                let limit = if flaw_on!(config.flaw, VaultFlaw::LimitOffByOne) {
                    config.guess_limit.saturating_add(1)
                } else {
                    config.guess_limit
                };
                (RecordStore::new(limit), LogIndex(0))
            }
        };
        let raft = Raft::new(id, config.cluster, config.timing, disk, now, rng)
            .with_flaw(config.flaw)
            .with_watermark(watermark);
        VaultNode {
            config,
            crypto,
            raft,
            store,
            applied,
            waiting: BTreeMap::new(),
            queued: VecDeque::new(),
            deferred: Vec::new(),
            logins: BTreeMap::new(),
            effects: Vec::new(),
            cursor,
            dropped: 0,
            erase: false,
            spent: BTreeMap::new(),
            grace_until: None,
            led_since: Millis(0),
        }
        .with_spent_index()
    }

    /// Rebuilds the index of spent budgets from the whole store (at start
    /// and after a snapshot replaced the store).
    fn with_spent_index(mut self) -> Self {
        self.reindex_spent(Millis(0));
        self
    }

    /// Rebuilds the index; a user already in it keeps when it was learned,
    /// one new to it is learned `now`.
    fn reindex_spent(&mut self, now: Millis) {
        let before = std::mem::take(&mut self.spent);
        self.spent = self
            .store
            .iter()
            .filter(|(_, r)| r.active.as_ref().is_some_and(|a| a.attempts.spent()))
            .map(|(u, _)| (*u, before.get(u).copied().unwrap_or(now)))
            .collect();
    }

    /// Peer messages this node dropped because they did not open (forged,
    /// altered or misdirected), since it started.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped
    }

    /// The consensus state, for checkers.
    pub fn raft(&self) -> &Raft<Command<C>, RecordStore<C>> {
        &self.raft
    }

    /// The users whose active budget this node holds as spent: an index
    /// derived from its store, which the exhaustion rule reads instead of
    /// the whole store. Exposed so that a checker can hold it to the store.
    pub fn spent_index(&self) -> BTreeSet<UserId> {
        self.spent.keys().copied().collect()
    }

    /// The applied record store, for checkers.
    pub fn store(&self) -> &RecordStore<C> {
        &self.store
    }

    /// The last applied log index.
    pub fn applied(&self) -> LogIndex {
        self.applied
    }

    /// Logins waiting for KE3 on this node.
    pub fn pending_logins(&self) -> usize {
        self.logins.len()
    }

    /// The next time an [`Input::Timer`] has work to do.
    pub fn next_deadline(&self) -> Millis {
        let mut next = self.raft.next_deadline();
        if let Some(first) = self.logins.values().map(|l| l.expires).min() {
            next = next.min(first);
        }
        if let Some(grace) = self.grace_until.filter(|_| !self.spent.is_empty()) {
            next = next.min(grace);
        }
        next
    }

    /// Handles one input and returns what the driver must do; see
    /// [`super::io`] for the contract. `now` is the node's clock, which
    /// never goes back across calls.
    pub fn handle<R: RngCore + CryptoRng>(
        &mut self,
        input: Input<C>,
        now: Millis,
        rng: &mut R,
    ) -> Step<C> {
        debug_assert!(
            self.effects.is_empty(),
            "effects left from an earlier input"
        );
        let role_before = (self.raft.term(), self.raft.role());
        match input {
            Input::Client { from, id, request } => self.on_client(from, id, request, now, rng),
            Input::Peer { from, message } => self.on_peer(from, message, now, rng),
            Input::Timer => self.on_tick(now, rng),
            Input::Persisted { up_to } => self.on_persisted(up_to, now, rng),
        }
        self.step(role_before, rng)
    }

    /// Collects the effects of the input just handled, in the contract's
    /// order, sealing every write and message for the host (the HSM
    /// boundary: nothing leaves the node in the clear).
    fn step<R: RngCore + CryptoRng>(&mut self, role_before: (Term, Role), rng: &mut R) -> Step<C> {
        let Drained { writes, messages } = self.raft.take_outbox();
        let mut effects = Vec::with_capacity(writes.len() + messages.len() + self.effects.len());
        let me = self.raft.id();
        let clear_disk = flaw_on!(self.config.flaw, VaultFlaw::UnsealedStorage);
        for (id, write) in writes {
            let op = if matches!(write, DiskWrite::Snapshot { .. }) {
                // A compaction rewrites the file from the node's whole
                // durable image, as of now: writes queued after the
                // snapshot in this step are in it too, and are applied
                // again harmlessly (each is idempotent) when they follow.
                let mut image = self.raft.durable_image();
                if flaw_on!(self.config.flaw, VaultFlaw::CompactionDropsTail) {
                    image.log.truncate_from(image.log.base_index().next());
                }
                self.cursor
                    .replace(&self.crypto, me, image, rng, clear_disk)
            } else {
                self.cursor.append(&self.crypto, me, write, rng, clear_disk)
            };
            effects.push(Effect::Persist { id, op });
        }
        let clear_wire = flaw_on!(self.config.flaw, VaultFlaw::UnauthenticatedPeers);
        for (to, message) in messages {
            let sealed = if clear_wire {
                C::in_clear(&message)
            } else {
                self.crypto
                    .seal(&SealPlace::Wire { from: me, to }, &message, rng)
            };
            effects.push(Effect::Send {
                to,
                message: sealed,
            });
        }
        effects.append(&mut self.effects);
        let role = (self.raft.term(), self.raft.role());
        if role != role_before && !flaw_on!(self.config.flaw, VaultFlaw::RoleChangeUnreported) {
            effects.push(Effect::Role {
                term: role.0,
                role: role.1,
            });
        }
        Step {
            effects,
            next_deadline: self.next_deadline(),
        }
    }

    /// Whether this node may answer from its record store: it leads, and
    /// it has applied the no-op that opened its term. Requests that arrive
    /// before then wait.
    pub fn serving(&self) -> bool {
        if flaw_on!(self.config.flaw, VaultFlaw::StaleAnswers) {
            return self.raft.role() == Role::Leader;
        }
        self.raft.term_start().is_some_and(|s| self.applied >= s)
    }

    // ----- inputs ----------------------------------------------------------

    /// A sealed consensus message, which the driver says came from `from`.
    /// One that does not open as sealed by an HSM for the link from `from`
    /// to this node is dropped and counted.
    fn on_peer<R: RngCore + CryptoRng>(
        &mut self,
        from: NodeId,
        sealed: SealedMessage<C>,
        now: Millis,
        rng: &mut R,
    ) {
        let place = SealPlace::Wire {
            from,
            to: self.raft.id(),
        };
        let opened = if flaw_on!(self.config.flaw, VaultFlaw::UnauthenticatedPeers) {
            C::read_clear(&sealed).ok_or(super::crypto::CryptoError::Seal)
        } else if flaw_on!(self.config.flaw, VaultFlaw::MisdirectedPeers) {
            self.flaw_open_for_anyone(from, &sealed)
        } else {
            self.crypto.open(&place, &sealed)
        };
        match opened {
            Ok(msg) if from != self.raft.id() => {
                self.raft.step(from, msg, now, rng);
                self.after_raft(now, rng);
            }
            _ => {
                self.dropped += 1;
                self.effects.push(Effect::Dropped { from });
            }
        }
    }

    /// The clock reached a deadline.
    fn on_tick<R: RngCore + CryptoRng>(&mut self, now: Millis, rng: &mut R) {
        self.logins.retain(|_, l| l.expires > now);
        self.raft.tick(now, rng);
        self.after_raft(now, rng);
    }

    /// The driver made every write up to `up_to` durable.
    fn on_persisted<R: RngCore + CryptoRng>(&mut self, up_to: WriteId, now: Millis, rng: &mut R) {
        self.raft.persisted(up_to);
        self.after_raft(now, rng);
    }

    /// A client request. Followers answer `NotLeader`; a leader that cannot
    /// answer from its state yet holds the request until it can.
    fn on_client<R: RngCore + CryptoRng>(
        &mut self,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
        now: Millis,
        rng: &mut R,
    ) {
        if self.raft.role() != Role::Leader {
            let leader = self.raft.leader();
            self.reply(client, request, ClientResponse::NotLeader { leader });
            return;
        }
        if self.serving() {
            self.serve(client, request, req, now, rng);
        } else if self.queued.len() < MAX_QUEUED_REQUESTS
            || flaw_on!(self.config.flaw, VaultFlaw::UnboundedQueue)
        {
            self.queued.push_back((client, request, req));
            // A flood after an election must not grow the node's memory:
            // beyond the bound, requests are answered `Retry`.
            assert!(
                self.queued.len() <= MAX_QUEUED_REQUESTS
                    || flaw_on!(self.config.flaw, VaultFlaw::UnboundedQueue),
                "a leader holds {} requests, past its bound of {MAX_QUEUED_REQUESTS}",
                self.queued.len()
            );
        } else {
            self.reply(client, request, ClientResponse::Retry);
        }
        self.after_raft(now, rng);
    }

    /// Handles one request at a leader that is serving.
    fn serve<R: RngCore + CryptoRng>(
        &mut self,
        client: ClientId,
        request: RequestId,
        req: ClientRequest<C>,
        now: Millis,
        rng: &mut R,
    ) {
        debug_assert!(self.serving(), "serve() before the term's no-op applied");
        if flaw_on!(self.config.flaw, VaultFlaw::ResetOnReregistration) {
            self.flaw_reset_on_reregistration(&req);
        }
        if flaw_on!(self.config.flaw, VaultFlaw::UnverifiedFinishResets) {
            self.flaw_reset_before_ke3(&req, now);
        }
        match self.validate(req, now, rng) {
            Ok((command, then)) => self.propose(client, request, command, then, now, rng),
            Err(Answer::Now(response)) => self.reply(client, request, response),
            Err(Answer::Silent) => {}
            Err(Answer::FromState(response)) => {
                let reply = Reply {
                    to: client,
                    request,
                    response,
                    index: None,
                };
                if flaw_on!(self.config.flaw, VaultFlaw::StaleAnswers) {
                    self.effects.push(Effect::Reply(reply));
                    return;
                }
                let after = self.raft.log().last_index();
                self.deferred.push(Deferred { after, reply });
            }
        }
    }

    fn propose<R: RngCore + CryptoRng>(
        &mut self,
        client: ClientId,
        request: RequestId,
        command: Command<C>,
        then: Then<C>,
        now: Millis,
        rng: &mut R,
    ) {
        // Only the StageIsGuessable flaw needs these, after the move.
        let staged = match &command {
            Command::Stage {
                user,
                registration,
                content,
                ..
            } => Some((*user, *registration, *content)),
            _ => None,
        };
        match self.raft.propose(command) {
            Ok(index) if flaw_on!(self.config.flaw, VaultFlaw::Ke2BeforeCommit) => {
                self.flaw_ke2_before_commit(client, request, index, then, now, rng);
            }
            Ok(index) => {
                if flaw_on!(self.config.flaw, VaultFlaw::StageIsGuessable) {
                    if let Some((user, registration, content)) = staged {
                        // Broken: activated along with staging, before
                        // (and without) the owner's proof of K.
                        let _ = self.raft.propose(Command::Activate {
                            user,
                            registration,
                            content,
                        });
                    }
                }
                let term = self.raft.term();
                self.waiting.insert(
                    index,
                    Waiting {
                        client,
                        request,
                        term,
                        then,
                    },
                );
            }
            Err(not_leader) => self.reply(
                client,
                request,
                ClientResponse::NotLeader {
                    leader: not_leader.leader,
                },
            ),
        }
    }

    fn reply(&mut self, to: ClientId, request: RequestId, response: ClientResponse<C>) {
        self.reply_at(to, request, response, None);
    }

    fn reply_at(
        &mut self,
        to: ClientId,
        request: RequestId,
        response: ClientResponse<C>,
        index: Option<LogIndex>,
    ) {
        if let Some(i) = index {
            assert!(
                i <= self.applied,
                "a reply about entry {i:?} before it is applied"
            );
        }
        self.effects.push(Effect::Reply(Reply {
            to,
            request,
            response,
            index,
        }));
    }

    // ----- deliberately broken variants (see `crate::flaws`) ---------------

    /// Broken: a registration without proof of K first resets the active
    /// record's budget (as if a proof had been given) and then keeps it.
    fn flaw_reset_on_reregistration(&mut self, req: &ClientRequest<C>) {
        let ClientRequest::Stage {
            user,
            replacing: None,
            ..
        } = req
        else {
            return;
        };
        let Some(active) = self.store.get(*user).and_then(|r| r.active.as_ref()) else {
            return;
        };
        let registration = active.registration;
        // Ignoring a refusal is fine: this is the broken variant.
        let _ = self.raft.propose(Command::Reset {
            user: *user,
            registration,
            ke1: Ke1Digest([0; 32]),
        });
    }

    /// Broken variant `UnverifiedFinishResets` (see [`crate::flaws`]): the
    /// `Reset` of a known, unexpired login against the active registration
    /// is proposed before its KE3 is checked, so whatever the KE3, the
    /// budget is refilled; the finish is then validated as usual.
    fn flaw_reset_before_ke3(&mut self, req: &ClientRequest<C>, now: Millis) {
        let ClientRequest::LoginFinish { user, login, .. } = req else {
            return;
        };
        let Some(pending) = self.logins.get(&(*user, *login)) else {
            return;
        };
        let active = self.store.get(*user).and_then(|r| r.active.as_ref());
        if pending.expires <= now || active.map(|a| a.registration) != Some(pending.registration) {
            return;
        }
        let reset = Command::Reset {
            user: *user,
            registration: pending.registration,
            ke1: pending.ke1,
        };
        // Ignoring a refusal is fine: this is the broken variant.
        let _ = self.raft.propose(reset);
    }

    /// Broken: KE2 leaves as soon as the attempt is proposed.
    fn flaw_ke2_before_commit<R: RngCore + CryptoRng>(
        &mut self,
        client: ClientId,
        request: RequestId,
        index: LogIndex,
        then: Then<C>,
        now: Millis,
        rng: &mut R,
    ) {
        let Then::SendKe2 { ke1, digest } = then else {
            let term = self.raft.term();
            self.waiting.insert(
                index,
                Waiting {
                    client,
                    request,
                    term,
                    then,
                },
            );
            return;
        };
        let Some(user) = self
            .raft
            .log()
            .get(index)
            .and_then(|e| e.command.as_ref())
            .map(Command::user)
        else {
            return;
        };
        let remaining = self
            .store
            .get(user)
            .and_then(|r| r.active.as_ref())
            .map_or(0, |a| a.attempts.remaining().saturating_sub(1));
        let response = self.ke2(user, &ke1, digest, remaining, now, rng);
        // Past `reply_at`, whose assertion would stop this reply: the flaw
        // exists to show that the checkers, not the assertion, catch it.
        self.effects.push(Effect::Reply(Reply {
            to: client,
            request,
            response,
            index: Some(index),
        }));
    }

    // ----- validation: the leader decides what to propose -------------------

    /// Checks a request against the applied state; returns the command to
    /// propose, or the answer.
    fn validate<R: RngCore + CryptoRng>(
        &mut self,
        req: ClientRequest<C>,
        now: Millis,
        rng: &mut R,
    ) -> Result<(Command<C>, Then<C>), Answer<C>> {
        let user = req.user();
        match req {
            ClientRequest::RegistrationStart { request, .. } => {
                let claims = self.ticket_for(user, rng);
                Err(Answer::Now(
                    match self.crypto.registration_response(&claims, &request) {
                        Ok(r) => ClientResponse::RegistrationResponse(r),
                        Err(_) => ClientResponse::Refused(Refusal::Malformed),
                    },
                ))
            }
            ClientRequest::Stage {
                sealed,
                content,
                replacing,
                ..
            } => self.validate_stage(user, &sealed, content, replacing, rng),
            ClientRequest::Activate {
                registration,
                content,
                proof,
                ..
            } => self.validate_activate(user, registration, content, &proof),
            ClientRequest::Delete {
                registration,
                nonce,
                proof,
                ..
            } => self.validate_delete(user, registration, nonce, proof),
            ClientRequest::LoginStart { ke1, .. } => {
                let record = self.store.get(user);
                let Some(active) = record.and_then(|r| r.active.as_ref()) else {
                    return Err(Answer::FromState(Self::no_active_record(record)));
                };
                let digest = if flaw_on!(self.config.flaw, VaultFlaw::RetriedLoginCostsAttempt) {
                    // Broken: a fresh name per request, so a resend is a new test.
                    let mut salt = [0u8; 8];
                    rng.fill_bytes(&mut salt);
                    let mut d = self.crypto.ke1_digest(&ke1).0;
                    d[..8].copy_from_slice(&salt);
                    Ke1Digest(d)
                } else {
                    self.crypto.ke1_digest(&ke1)
                };
                Ok((
                    Command::ConsumeAttempt {
                        user,
                        registration: active.registration,
                        ke1: digest,
                    },
                    Then::SendKe2 { ke1, digest },
                ))
            }
            ClientRequest::LoginFinish { login, ke3, .. } => {
                self.validate_login_finish(user, login, &ke3, now, rng)
            }
        }
    }

    /// The ticket a registration request gets: a fresh OPRF key, at the
    /// user's current stage count. A fresh key is what keeps registration
    /// from being a free password test against the active record.
    fn ticket_for<R: RngCore>(&self, user: UserId, rng: &mut R) -> TicketClaims {
        let record = self.store.get(user);
        let key = match record.and_then(|r| r.active.as_ref()) {
            // Broken: evaluated under the active record's own key, as when
            // the OPRF key depended on the user alone.
            Some(active) if flaw_on!(self.config.flaw, VaultFlaw::RegistrationOracle) => {
                active.oprf_key
            }
            _ if flaw_on!(self.config.flaw, VaultFlaw::TicketKeyPerStage) => {
                Self::flaw_stage_key(user, record.map_or(0, |r| r.stages))
            }
            _ => OprfKeyId::random(rng),
        };
        TicketClaims {
            user,
            key,
            seq: record.map_or(0, |r| r.stages),
        }
    }

    /// The stage rule at the leader: the registration opens, was made from
    /// the vault's own evaluation and is what the request claims; a resent
    /// one gets its answer again; it uses an unspent ticket; and it either
    /// replaces the active record with the key holder's proof, or displaces
    /// it.
    fn validate_stage<R: RngCore>(
        &self,
        user: UserId,
        sealed: &C::SealedRegistration,
        claimed: ContentDigest,
        replacing: Option<Replacing<C>>,
        rng: &mut R,
    ) -> Result<(Command<C>, Then<C>), Answer<C>> {
        let opened = self.open_stage(user, sealed, claimed)?;
        let content = opened.content;
        if let Some(answer) = self.staged_already(user, content) {
            return Err(answer);
        }
        let keep_active = self.replaced(user, opened.ticket.seq, content, replacing)?;
        let ticket_seq = match keep_active {
            // Broken: the change is staged as if its ticket were unspent.
            Some(_) if flaw_on!(self.config.flaw, VaultFlaw::ProofStageReusesTicket) => {
                self.store.get(user).map_or(0, |r| r.stages)
            }
            _ => opened.ticket.seq,
        };
        let command = Command::Stage {
            user,
            registration: RegistrationId(rng.next_u64()),
            oprf_key: opened.ticket.key,
            ticket_seq,
            content,
            password_file: opened.password_file,
            wrapped_key: opened.wrapped_key,
            verifier: opened.verifier,
            reply_key: opened.reply_key,
            keep_active,
        };
        Ok((command, Then::Report))
    }

    /// Opens a sealed registration and checks what it carries; its
    /// `content` is then the digest every proof about it must name.
    fn open_stage(
        &self,
        user: UserId,
        sealed: &C::SealedRegistration,
        claimed: ContentDigest,
    ) -> Result<OpenedRegistration<C>, Answer<C>> {
        let mut opened = self
            .crypto
            .open_registration(user, sealed)
            .map_err(|_| Answer::Now(ClientResponse::Refused(Refusal::Malformed)))?;
        // The ticket must be the fleet's: its claims choose the OPRF key the
        // password file is stored under and the stage sequence number.
        if !opened.ticket_authentic && !flaw_on!(self.config.flaw, VaultFlaw::ForgeableTickets) {
            return Err(Answer::Now(ClientResponse::Refused(Refusal::Malformed)));
        }
        // The password file must come from the fleet's evaluation under the
        // ticket's key, else whoever evaluated can test guesses offline.
        if !opened.evaluated_under_ticket
            && !flaw_on!(self.config.flaw, VaultFlaw::UncheckedRegistrationTranscript)
        {
            return Err(Answer::Now(ClientResponse::Refused(
                Refusal::ForeignEvaluation,
            )));
        }
        // Proofs name the content they authorise: it must be what arrived.
        if flaw_on!(self.config.flaw, VaultFlaw::ContentFreeProofs) {
            // Broken: the digest is taken from the request, unchecked.
            opened.content = claimed;
        } else if claimed != opened.content {
            return Err(Answer::Now(ClientResponse::Refused(Refusal::Malformed)));
        }
        Ok(opened)
    }

    /// The answer to a resent Stage of what is staged already: the same
    /// answer again.
    fn staged_already(&self, user: UserId, content: ContentDigest) -> Option<Answer<C>> {
        let s = self
            .store
            .get(user)
            .and_then(|r| r.staged.as_ref())
            .filter(|s| s.content == content)?;
        let tag = self.crypto.reply_tag(
            &s.reply_key,
            &ReplyStatement::Staged {
                user,
                registration: s.registration,
                content,
            },
        );
        Some(Answer::FromState(ClientResponse::Staged {
            registration: s.registration,
            displaced: s.displaced,
            tag,
        }))
    }

    /// Which active registration a stage keeps until it is activated: the
    /// one the key holder proved it replaces, or none for a registration
    /// without proof. Either way its ticket must be unspent (the stage
    /// rule, `records.rs`): a proof of K shows who holds the current K,
    /// not whose registration the ticket was issued for.
    fn replaced(
        &self,
        user: UserId,
        ticket_seq: u64,
        content: ContentDigest,
        replacing: Option<Replacing<C>>,
    ) -> Result<Option<RegistrationId>, Answer<C>> {
        let record = self.store.get(user);
        let active = record.and_then(|r| r.active.as_ref());
        let keep = match replacing {
            None if flaw_on!(self.config.flaw, VaultFlaw::ResetOnReregistration) => {
                return Ok(active.map(|a| a.registration));
            }
            None => None,
            Some(Replacing {
                registration,
                proof,
            }) => {
                let Some(active) = active.filter(|a| a.registration == registration) else {
                    return Err(Answer::FromState(ClientResponse::Refused(
                        Refusal::UnknownRegistration,
                    )));
                };
                let statement = ProofStatement::Replace {
                    user,
                    active: registration,
                    content,
                };
                if !self
                    .crypto
                    .verify_proof(&active.verifier, &statement, &proof)
                {
                    return Err(Answer::FromState(ClientResponse::Refused(
                        Refusal::BadProof,
                    )));
                }
                Some(registration)
            }
        };
        // Broken: a change is taken to need no unspent ticket.
        let any_ticket =
            keep.is_some() && flaw_on!(self.config.flaw, VaultFlaw::ProofStageReusesTicket);
        if ticket_seq != record.map_or(0, |r| r.stages) && !any_ticket {
            return Err(Answer::FromState(ClientResponse::Refused(
                Refusal::StaleTicket,
            )));
        }
        Ok(keep)
    }

    fn validate_activate(
        &self,
        user: UserId,
        registration: RegistrationId,
        content: ContentDigest,
        proof: &C::KeyProof,
    ) -> Result<(Command<C>, Then<C>), Answer<C>> {
        let record = self.store.get(user);
        let statement = ProofStatement::Activate {
            user,
            registration,
            content,
        };
        let refuse = |r| Err(Answer::FromState(ClientResponse::Refused(r)));
        if let Some(s) = record
            .and_then(|r| r.staged.as_ref())
            .filter(|s| s.registration == registration)
        {
            let unchecked = flaw_on!(self.config.flaw, VaultFlaw::ActivateWithoutProof);
            if s.content != content
                || !(unchecked || self.crypto.verify_proof(&s.verifier, &statement, proof))
            {
                return refuse(Refusal::BadProof);
            }
            return Ok((
                Command::Activate {
                    user,
                    registration,
                    content,
                },
                Then::Report,
            ));
        }
        let by_id = flaw_on!(self.config.flaw, VaultFlaw::ResentActivationById);
        match record.and_then(|r| r.active.as_ref()) {
            Some(a) if a.registration == registration && (a.content == content || by_id) => {
                if !self.crypto.verify_proof(&a.verifier, &statement, proof) {
                    return refuse(Refusal::BadProof);
                }
                // Activated already (a resent Activate): the same answer.
                let remaining = a.attempts.remaining();
                let tag = self.crypto.reply_tag(
                    &a.reply_key,
                    &ReplyStatement::Activated {
                        user,
                        registration,
                        content,
                        remaining,
                    },
                );
                let response = ClientResponse::Activated {
                    registration,
                    remaining,
                    tag,
                };
                if flaw_on!(self.config.flaw, VaultFlaw::ResentActivationUnbarriered) {
                    return Err(Answer::Now(response));
                }
                Err(Answer::FromState(response))
            }
            _ => refuse(Refusal::UnknownRegistration),
        }
    }

    /// The live record (active, else staged) of `user` made with the key
    /// behind `proof`, a device's proof for deleting `registration`, which
    /// is not live: its id and reply key. "Gone" is the device's word to
    /// forget K, so it is not said while such a record lives: a
    /// registration the device staged afresh after `registration` went,
    /// whose `Activated` was lost or whose activation the chat server
    /// holds back, or whose staging the chat server held back and
    /// delivered later, keeps K guessable or lets it become so (REG-2).
    /// The proof is made with K, and the verifier depends only on K and
    /// the user, so it verifies exactly under such a record's verifier.
    fn live_record_of_key(
        &self,
        statement: &ProofStatement,
        proof: &C::KeyProof,
    ) -> Option<(RegistrationId, &C::ReplyKey)> {
        if flaw_on!(self.config.flaw, VaultFlaw::GoneDespiteLiveKey) {
            return None;
        }
        let record = self.store.get(statement.user())?;
        let active = record
            .active
            .as_ref()
            .map(|a| (a.registration, &a.verifier, &a.reply_key));
        let staged = record
            .staged
            .as_ref()
            .map(|s| (s.registration, &s.verifier, &s.reply_key));
        active
            .into_iter()
            .chain(staged)
            .find(|(_, verifier, _)| self.crypto.verify_proof(verifier, statement, proof))
            .map(|(live, _, reply_key)| (live, reply_key))
    }

    /// The delete rule's validation. A delete naming a live registration
    /// needs the key holder's proof under that record, and is answered
    /// once it committed. One naming a registration that is not live is
    /// answered from the state at once ([`Self::delete_answer`]).
    fn validate_delete(
        &self,
        user: UserId,
        registration: RegistrationId,
        nonce: DeleteNonce,
        proof: C::KeyProof,
    ) -> Result<(Command<C>, Then<C>), Answer<C>> {
        let record = self.store.get(user);
        let active = record.and_then(|r| r.active.as_ref());
        let staged = record.and_then(|r| r.staged.as_ref());
        let verifier = match (active, staged) {
            (Some(a), _) if a.registration == registration => &a.verifier,
            (_, Some(s)) if s.registration == registration => &s.verifier,
            _ => {
                return Err(Answer::FromState(self.delete_answer(
                    user,
                    registration,
                    nonce,
                    &proof,
                )))
            }
        };
        let statement = ProofStatement::Delete {
            user,
            registration,
            nonce,
        };
        if !(self.crypto.verify_proof(verifier, &statement, &proof)
            || self.flaw_skips_delete_proof()
            || self.flaw_takes_activation_proof(user, registration, &proof))
        {
            return Err(Answer::FromState(ClientResponse::Refused(
                Refusal::BadProof,
            )));
        }
        Ok((
            Command::Delete { user, registration },
            Then::AnswerDelete {
                registration,
                nonce,
                proof,
            },
        ))
    }

    /// The answer to a delete of `registration` once it is not live (the
    /// delete applied, or it named a registration that went before): if a
    /// record of the key behind the proof lives, its id (`KeyLivesOn`), so
    /// that the device deletes that one, even one it never heard of; else,
    /// if the user has a tombstone, "gone", naming the proof and tagged
    /// under the tombstone's reply key. That says only what the vault can
    /// check now, whoever sent the proof: the registration is not live and
    /// no live record verifies this proof. The device trusts it only with
    /// its own fresh proof named, under its own key: a chat server that
    /// sends a proof of its own, or replays a "gone" earned before, gets a
    /// "gone" the device rejects (REG-2). A tombstone of another key gives
    /// a tag the device cannot verify: its delete stays unconfirmed.
    fn delete_answer(
        &self,
        user: UserId,
        registration: RegistrationId,
        nonce: DeleteNonce,
        proof: &C::KeyProof,
    ) -> ClientResponse<C> {
        let statement = ProofStatement::Delete {
            user,
            registration,
            nonce,
        };
        let found = self.live_record_of_key(&statement, proof);
        if found.is_some() && self.flaw_key_lives_on_refused() {
            return ClientResponse::Refused(Refusal::UnknownRegistration);
        }
        if let Some((live, reply_key)) = found {
            let statement = ReplyStatement::KeyLivesOn {
                user,
                registration,
                live,
            };
            return ClientResponse::KeyLivesOn {
                registration,
                live,
                tag: self.crypto.reply_tag(reply_key, &statement),
            };
        }
        let gone = self.store.get(user).and_then(|r| r.gone.as_ref());
        let Some(gone) = gone.filter(|g| !self.flaw_gone_only_for_last(g, registration)) else {
            return ClientResponse::Refused(Refusal::UnknownRegistration);
        };
        let proof = self.crypto.proof_digest(proof);
        let statement = ReplyStatement::Gone {
            user,
            registration,
            proof,
        };
        ClientResponse::Deleted {
            registration,
            proof,
            tag: self.crypto.reply_tag(&gone.reply_key, &statement),
        }
    }

    fn validate_login_finish<R: RngCore + CryptoRng>(
        &mut self,
        user: UserId,
        login: LoginId,
        ke3: &C::Ke3,
        now: Millis,
        rng: &mut R,
    ) -> Result<(Command<C>, Then<C>), Answer<C>> {
        let by_id_only = flaw_on!(self.config.flaw, VaultFlaw::LoginsKeyedByIdOnly);
        let found = if by_id_only {
            let key = self.logins.keys().find(|(_, l)| *l == login).copied();
            key.and_then(|k| self.logins.remove(&k))
        } else {
            self.logins.remove(&(user, login))
        };
        if found.is_none()
            && self.finishing(user, login)
            && !flaw_on!(self.config.flaw, VaultFlaw::DuplicateFinishExpiresLogin)
        {
            // A copy of the KE3 that is finishing this login (a network
            // duplicate, a resend): the original's `LoginOk` follows the
            // commit. "Expired" now would usually reach the device first
            // and send it back to a login start, and after its restarts an
            // honest restore fails on duplication alone (LIVE-1). If that
            // answer is lost, the device's next resend, after the entry
            // applied, finds the login over and restarts it for free: the
            // `Reset` keeps its KE1 counted.
            return Err(Answer::Silent);
        }
        let Some(pending) = found.filter(|p| p.expires > now) else {
            return Err(Answer::Now(ClientResponse::LoginExpired));
        };
        let record = self.store.get(user);
        let Some(active) = record.and_then(|r| r.active.as_ref()) else {
            return Err(Answer::FromState(Self::no_active_record(record)));
        };
        let across = flaw_on!(self.config.flaw, VaultFlaw::LoginAcrossChange);
        if !(by_id_only || across) && active.registration != pending.registration {
            // The login was against a registration that has been replaced
            // since: it cannot finish; a new login can.
            return Err(Answer::FromState(ClientResponse::LoginExpired));
        }
        let release = Release {
            wrapped_key: active.wrapped_key.clone(),
            registration: active.registration,
            remaining: active.attempts.limit(),
        };
        match self.crypto.login_finish(rng, &pending.state, ke3, &release) {
            Ok(sealed_key) => Ok((
                Command::Reset {
                    user,
                    registration: active.registration,
                    ke1: pending.ke1,
                },
                Then::ReleaseKey {
                    sealed_key,
                    user,
                    login,
                },
            )),
            Err(_) => Err(Answer::FromState(ClientResponse::WrongPassword {
                remaining: active.attempts.remaining(),
            })),
        }
    }

    /// Whether `user`'s `login` verified its KE3 here and its `Reset` waits
    /// to apply: read from the requests waiting for their commands, so it
    /// ends where they do, when the entry applies or the node stops leading.
    fn finishing(&self, user: UserId, login: LoginId) -> bool {
        self.waiting.values().any(|w| {
            matches!(w.then, Then::ReleaseKey { user: u, login: l, .. } if (u, l) == (user, login))
        })
    }

    fn no_active_record(record: Option<&UserRecord<C>>) -> ClientResponse<C> {
        match record.and_then(UserRecord::tombstone) {
            Some(Tombstone::Destroyed(_)) => ClientResponse::KeyDestroyed,
            _ => ClientResponse::NotRegistered,
        }
    }

    // ----- after consensus moved: apply, answer, compact -------------------

    fn after_raft<R: RngCore + CryptoRng>(&mut self, now: Millis, rng: &mut R) {
        for event in self.raft.take_events() {
            match event {
                RaftEvent::Restore { index, state } => {
                    assert!(index > self.applied, "a snapshot restore goes forward");
                    self.store = state;
                    self.applied = index;
                    if flaw_on!(self.config.flaw, VaultFlaw::SnapshotPrunesSpentIndex) {
                        self.flaw_prune_spent();
                    } else {
                        self.reindex_spent(now);
                    }
                    self.effects.push(Effect::Restored { index });
                }
                RaftEvent::SteppedDown => self.drop_leader_memory(),
                RaftEvent::BecameLeader => {
                    self.grace_until = Some(now.plus(self.config.login_ttl_ms));
                    self.led_since = now;
                }
            }
        }
        for (index, entry) in self.raft.committed_after(self.applied) {
            assert_eq!(index, self.applied.next(), "CONS-4: applied in order");
            let held_before = entry.command.as_ref().map(|c| self.held(c.user()));
            let outcome = entry
                .command
                .as_ref()
                .map(|c| (c.user(), self.apply(index, c)));
            if let Some(command) = &entry.command {
                self.note_spent(command, now);
            }
            if let (Some(before), Some((user, _))) = (held_before, outcome.as_ref()) {
                let after = self.held(*user);
                // A registration whose material left the store, or a
                // Stage whose material never entered it (refused): erase
                // it from the log and the disk too (LOCK-4 on disk).
                let refused = match &entry.command {
                    Some(Command::Stage { registration, .. }) => {
                        !after.contains(&Some(*registration))
                    }
                    _ => false,
                };
                if refused || before.iter().flatten().any(|r| !after.contains(&Some(*r))) {
                    self.erase = true;
                }
            }
            self.applied = index;
            self.effects.push(Effect::Applied(Applied {
                index,
                term: entry.term,
                command: entry.command.clone(),
                outcome: outcome.map(|(_, o)| o),
            }));
            if let Some(waiting) = self.waiting.remove(&index) {
                if waiting.term == entry.term {
                    if let Some((user, outcome)) = outcome {
                        self.answer(waiting, index, user, outcome, now, rng);
                    }
                } else {
                    // Another leader's entry took this index: ours was lost.
                    self.reply(waiting.client, waiting.request, ClientResponse::Retry);
                }
            }
        }
        self.release_deferred();
        if self.serving() {
            while let Some((client, request, req)) = self.queued.pop_front() {
                self.serve(client, request, req, now, rng);
            }
        }
        self.exhaust_spent(now);
        self.ensure_read_barrier();
        let base = self.raft.log().base_index();
        let erase = std::mem::take(&mut self.erase)
            && !flaw_on!(self.config.flaw, VaultFlaw::ErasureSkipped);
        if erase || self.applied.0 >= base.0 + self.config.snapshot_every.max(1) {
            // The erasure rule: a compaction through the entry that took a
            // record's material away drops every log entry that carried it,
            // and rewrites the disk file without them (one `Replace`).
            self.raft.compact(self.applied, self.store.clone());
        }
    }

    /// Keeps the index of spent budgets up to date after `command` applied
    /// at `now`.
    fn note_spent(&mut self, command: &Command<C>, now: Millis) {
        let user = command.user();
        let spent = self
            .store
            .get(user)
            .and_then(|r| r.active.as_ref())
            .is_some_and(|a| a.attempts.spent());
        if spent {
            self.spent.entry(user).or_insert(now);
            self.flaw_drop_logins(user);
        } else {
            self.spent.remove(&user);
        }
    }

    /// When a login this leader opens at `now` for `user` expires: one
    /// login TTL later, but against a spent budget no later than one TTL
    /// after this node learned the budget was spent or took the lead,
    /// whichever came last. Every login against a spent budget answers a
    /// KE1 already tested (a new one destroys the record instead), and a
    /// resend costs nothing; if each opened a login for a whole TTL, a
    /// party that resends the last KE1 faster than the TTL (the chat
    /// server, which relays it) would keep a login open, and so the spent
    /// record alive, for ever (LOCK-4: the key is gone within one login
    /// TTL and one commit of its last test, `lockout.rs`).
    fn login_expiry(&self, user: UserId, now: Millis) -> Millis {
        let ttl = self.config.login_ttl_ms;
        let full = now.plus(ttl);
        match self.spent.get(&user) {
            Some(learned) if !flaw_on!(self.config.flaw, VaultFlaw::ResentLoginRenewsExpiry) => {
                full.min((*learned).max(self.led_since).plus(ttl))
            }
            _ => full,
        }
    }

    /// The exhaustion rule at the leader (see [`super::lockout`]): each
    /// record whose budget is spent and against which no login can still
    /// finish is destroyed through an `Exhaust` entry. A login can still
    /// finish while this leader holds one against it that has not expired
    /// (a failed KE3 removes it), and, for one login TTL after this leader
    /// took over, at a retry of a login a former leader opened. Cost: the
    /// spent budgets and the uncommitted tail, not the whole store.
    fn exhaust_spent(&mut self, now: Millis) {
        if self.grace_until.is_some_and(|until| now >= until) {
            self.grace_until = None;
        }
        if self.spent.is_empty()
            || !self.serving()
            || flaw_on!(self.config.flaw, VaultFlaw::ExhaustionWaits)
        {
            return;
        }
        let hasty = flaw_on!(self.config.flaw, VaultFlaw::ExhaustDuringLogin);
        if self.grace_until.is_some() && !hasty {
            return;
        }
        // A user with a command in flight that may save or end the record
        // (a Reset about to refill the budget, a Delete, a Stage or an
        // Activate, an Exhaust already proposed) is decided once it has
        // applied. A login start is not one: against a spent budget it is a
        // resend of a counted KE1, which changes nothing, or a new test,
        // which destroys the record. Counted, resends of the last KE1 that
        // come faster than commits would keep the record for ever.
        let log = self.raft.log();
        let resends_hold = flaw_on!(self.config.flaw, VaultFlaw::ResendsHoldExhaustion);
        let in_flight: BTreeSet<UserId> = (self.applied.0 + 1..=log.last_index().0)
            .filter_map(|i| log.get(LogIndex(i))?.command.as_ref())
            .filter(|c| resends_hold || !matches!(c, Command::ConsumeAttempt { .. }))
            .map(Command::user)
            .collect();
        let due: Vec<(UserId, RegistrationId)> = self
            .spent
            .keys()
            .filter(|user| !in_flight.contains(user))
            .filter_map(|user| {
                let active = self.store.get(*user)?.active.as_ref()?;
                let registration = active.registration;
                let open = self
                    .logins
                    .range((*user, LoginId(0))..=(*user, LoginId(u64::MAX)))
                    .any(|(_, l)| l.registration == registration && l.expires > now);
                (hasty || !open).then_some((*user, registration))
            })
            .collect();
        for (user, registration) in due {
            // Refused only when not leading, which `serving` ruled out.
            let _ = self.raft.propose(Command::Exhaust { user, registration });
        }
    }

    /// The registrations whose key material the store holds for `user`:
    /// its active and its staged one.
    fn held(&self, user: UserId) -> [Option<RegistrationId>; 2] {
        let r = self.store.get(user);
        [
            r.and_then(|r| r.active.as_ref()).map(|a| a.registration),
            r.and_then(|r| r.staged.as_ref()).map(|s| s.registration),
        ]
    }

    /// Releases the answers read from the state before an entry of this
    /// term that has now committed.
    fn release_deferred(&mut self) {
        let commit = self.raft.commit_index();
        let at_commit = flaw_on!(self.config.flaw, VaultFlaw::ReadBarrierAtCommit);
        let (ready, held): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|d| d.after < commit || (at_commit && d.after == commit));
        self.deferred = held;
        self.effects
            .extend(ready.into_iter().map(|d| Effect::Reply(d.reply)));
    }

    /// Proposes a no-op if an answer waits for a commit that nothing
    /// proposed yet would bring.
    fn ensure_read_barrier(&mut self) {
        let last = self.raft.log().last_index();
        if self.deferred.iter().any(|d| d.after >= last) {
            let _ = self.raft.propose_noop();
        }
    }

    /// Applies one committed command to the record store.
    fn apply(&mut self, index: LogIndex, command: &Command<C>) -> Outcome {
        let keep_key = flaw_on!(self.config.flaw, VaultFlaw::KeepKeyOnDestroy);
        let before = if keep_key {
            self.store
                .get(command.user())
                .and_then(|r| r.active.clone())
        } else {
            None
        };
        let renamed;
        let command = match command {
            // Broken: the delete takes the active registration, whichever
            // one it names.
            Command::Delete { user, .. }
                if flaw_on!(self.config.flaw, VaultFlaw::DeleteIgnoresId) =>
            {
                match self.store.get(*user).and_then(|r| r.active.as_ref()) {
                    Some(a) => {
                        renamed = Command::Delete {
                            user: *user,
                            registration: a.registration,
                        };
                        &renamed
                    }
                    None => command,
                }
            }
            // Broken: the delete takes the staged registration once the one
            // it names is not active, whichever one it names.
            Command::Delete { user, registration }
                if flaw_on!(self.config.flaw, VaultFlaw::DeleteTakesStaged) =>
            {
                let rec = self.store.get(*user);
                let active = rec.and_then(|r| r.active.as_ref()).map(|a| a.registration);
                match rec.and_then(|r| r.staged.as_ref()) {
                    Some(s) if active != Some(*registration) => {
                        renamed = Command::Delete {
                            user: *user,
                            registration: s.registration,
                        };
                        &renamed
                    }
                    _ => command,
                }
            }
            // Broken: a delete matches one of the two registrations only.
            Command::Delete { user, registration }
                if self.flaw_delete_spared(*user, *registration) =>
            {
                return Outcome::Stale
            }
            _ => command,
        };
        let staged = flaw_on!(self.config.flaw, VaultFlaw::DestroyKeepsStaged)
            .then(|| {
                self.store
                    .get(command.user())
                    .and_then(|r| r.staged.clone())
            })
            .flatten();
        let outcome = self.store.apply(index, command);
        if outcome == Outcome::Destroyed {
            // Broken: a change staged beside the record outlives it.
            self.store.flaw_restore_staged(command.user(), staged);
        }
        if keep_key && outcome == Outcome::Destroyed {
            // Broken: the tombstone is written but the secrets stay.
            self.store.flaw_restore_active(command.user(), before);
        }
        outcome
    }

    /// Broken variant `MisdirectedPeers` (see [`crate::flaws`]): opens a
    /// message from `from` as sealed for whichever node it was sealed for.
    fn flaw_open_for_anyone(
        &self,
        from: NodeId,
        sealed: &SealedMessage<C>,
    ) -> Result<VaultPeerMessage<C>, super::crypto::CryptoError> {
        (0..self.config.cluster.nodes())
            .map(|to| SealPlace::Wire {
                from,
                to: NodeId(to),
            })
            .find_map(|place| self.crypto.open(&place, sealed).ok())
            .ok_or(super::crypto::CryptoError::Seal)
    }

    /// Broken variant `SpentDropsOpenLogins` (see [`crate::flaws`]): drops
    /// `user`'s open logins as an entry of theirs applies against a spent
    /// budget.
    fn flaw_drop_logins(&mut self, user: UserId) {
        if flaw_on!(self.config.flaw, VaultFlaw::SpentDropsOpenLogins) {
            self.logins.retain(|(u, _), _| *u != user);
        }
    }

    /// Broken variant `SnapshotPrunesSpentIndex` (see [`crate::flaws`]):
    /// the users the new store holds no spent budget for leave the index;
    /// none joins it.
    fn flaw_prune_spent(&mut self) {
        let store = &self.store;
        self.spent.retain(|u, _| {
            store
                .get(*u)
                .and_then(|r| r.active.as_ref())
                .is_some_and(|a| a.attempts.spent())
        });
    }

    /// Broken variant `TicketKeyPerStage` (see [`crate::flaws`]): the key id
    /// of `user`'s registration at stage count `seq`, the same for every
    /// request at that count.
    fn flaw_stage_key(user: UserId, seq: u64) -> OprfKeyId {
        use sha2::{Digest as _, Sha256};
        let digest: [u8; 32] = Sha256::new()
            .chain_update(b"ticket key per stage")
            .chain_update(user.0.to_be_bytes())
            .chain_update(seq.to_be_bytes())
            .finalize()
            .into();
        let mut id = [0u8; super::ids::OPRF_KEY_ID_LEN];
        id.copy_from_slice(&digest[..super::ids::OPRF_KEY_ID_LEN]);
        OprfKeyId(id)
    }

    /// Broken variant `KeyLivesOnRefused` (see [`crate::flaws`]).
    fn flaw_key_lives_on_refused(&self) -> bool {
        flaw_on!(self.config.flaw, VaultFlaw::KeyLivesOnRefused)
    }

    /// Broken variant `GoneOnlyForTheLastGone` (see [`crate::flaws`]):
    /// whether "gone" is withheld because `registration` did not go last.
    fn flaw_gone_only_for_last(&self, gone: &Gone<C>, registration: RegistrationId) -> bool {
        flaw_on!(self.config.flaw, VaultFlaw::GoneOnlyForTheLastGone)
            && gone.why.registration() != registration
    }

    /// Broken variant `DeleteProofUnchecked` (see [`crate::flaws`]).
    fn flaw_skips_delete_proof(&self) -> bool {
        flaw_on!(self.config.flaw, VaultFlaw::DeleteProofUnchecked)
    }

    /// Broken variant `DeleteTakesActivationProof` (see [`crate::flaws`]):
    /// whether `proof` is the proof that activated the registration a
    /// delete names.
    fn flaw_takes_activation_proof(
        &self,
        user: UserId,
        registration: RegistrationId,
        proof: &C::KeyProof,
    ) -> bool {
        if !flaw_on!(self.config.flaw, VaultFlaw::DeleteTakesActivationProof) {
            return false;
        }
        let record = self.store.get(user);
        let named = record
            .and_then(|r| r.active.as_ref())
            .filter(|a| a.registration == registration)
            .map(|a| (&a.verifier, a.content))
            .or_else(|| {
                record
                    .and_then(|r| r.staged.as_ref())
                    .filter(|s| s.registration == registration)
                    .map(|s| (&s.verifier, s.content))
            });
        named.is_some_and(|(verifier, content)| {
            let activation = ProofStatement::Activate {
                user,
                registration,
                content,
            };
            self.crypto.verify_proof(verifier, &activation, proof)
        })
    }

    /// Broken variants `DeleteSparesStaged` and `DeleteSparesActive` (see
    /// [`crate::flaws`]): whether a delete naming `registration` misses it.
    fn flaw_delete_spared(&self, user: UserId, registration: RegistrationId) -> bool {
        let staged = flaw_on!(self.config.flaw, VaultFlaw::DeleteSparesStaged);
        let active = flaw_on!(self.config.flaw, VaultFlaw::DeleteSparesActive);
        // The correct code reads nothing: this sits on every delete's apply.
        if !(staged || active) {
            return false;
        }
        let Some(rec) = self.store.get(user) else {
            return false;
        };
        let names = |r: Option<RegistrationId>| r == Some(registration);
        (staged && names(rec.staged.as_ref().map(|s| s.registration)))
            || (active && names(rec.active.as_ref().map(|a| a.registration)))
    }

    /// Leadership is lost: pending logins, held requests and answers, and
    /// unanswered requests go.
    fn drop_leader_memory(&mut self) {
        self.logins.clear();
        self.grace_until = None;
        let leader = self.raft.leader();
        let waiting = std::mem::take(&mut self.waiting)
            .into_values()
            .map(|w| (w.client, w.request));
        let queued = std::mem::take(&mut self.queued)
            .into_iter()
            .map(|(c, r, _)| (c, r));
        let deferred = std::mem::take(&mut self.deferred)
            .into_iter()
            .map(|d| (d.reply.to, d.reply.request));
        let dropped: Vec<_> = waiting.chain(queued).chain(deferred).collect();
        for (client, request) in dropped {
            self.reply(client, request, ClientResponse::NotLeader { leader });
        }
    }

    /// Answers a request whose command has been applied.
    fn answer<R: RngCore + CryptoRng>(
        &mut self,
        waiting: Waiting<C>,
        index: LogIndex,
        user: UserId,
        outcome: Outcome,
        now: Millis,
        rng: &mut R,
    ) {
        let mut at = index;
        let response = match (waiting.then, outcome) {
            (_, Outcome::Stale) => ClientResponse::Retry,
            (_, Outcome::StaleTicket) => ClientResponse::Refused(Refusal::StaleTicket),
            (_, Outcome::Destroyed) => ClientResponse::KeyDestroyed,
            (Then::SendKe2 { ke1, digest }, Outcome::AttemptConsumed { remaining }) => {
                // LOCK-2: the attempt is committed at a quorum; only now may
                // the vault produce KE2.
                self.ke2(user, &ke1, digest, remaining, now, rng)
            }
            (
                Then::SendKe2 { ke1, digest },
                Outcome::AlreadyTested {
                    remaining,
                    at: consumed,
                },
            ) => {
                // The same KE1 again: its attempt was committed at `consumed`,
                // and the same input evaluates to the same value.
                at = consumed;
                self.ke2(user, &ke1, digest, remaining, now, rng)
            }
            (Then::ReleaseKey { sealed_key, .. }, Outcome::Reset { .. }) => {
                ClientResponse::LoginOk { sealed_key }
            }
            (
                Then::AnswerDelete {
                    registration,
                    nonce,
                    proof,
                },
                Outcome::Deleted,
            ) => self.delete_answer(user, registration, nonce, &proof),
            (Then::Report, outcome) => self.report(user, outcome),
            (_, _) => ClientResponse::Retry,
        };
        self.reply_at(waiting.client, waiting.request, response, Some(at));
    }

    /// The authenticated answer to a stage or activate.
    fn report(&self, user: UserId, outcome: Outcome) -> ClientResponse<C> {
        let record = self.store.get(user);
        match outcome {
            Outcome::Staged {
                registration,
                displaced,
            } => match record
                .and_then(|r| r.staged.as_ref())
                .filter(|s| s.registration == registration)
            {
                Some(s) => ClientResponse::Staged {
                    registration,
                    displaced,
                    tag: self.crypto.reply_tag(
                        &s.reply_key,
                        &ReplyStatement::Staged {
                            user,
                            registration,
                            content: s.content,
                        },
                    ),
                },
                None => ClientResponse::Retry,
            },
            Outcome::Activated { remaining } => match record.and_then(|r| r.active.as_ref()) {
                Some(a) => ClientResponse::Activated {
                    registration: a.registration,
                    remaining,
                    tag: self.crypto.reply_tag(
                        &a.reply_key,
                        &ReplyStatement::Activated {
                            user,
                            registration: a.registration,
                            content: a.content,
                            remaining,
                        },
                    ),
                },
                None => ClientResponse::Retry,
            },
            _ => ClientResponse::Retry,
        }
    }

    fn ke2<R: RngCore + CryptoRng>(
        &mut self,
        user: UserId,
        ke1: &C::Ke1,
        digest: Ke1Digest,
        remaining: u8,
        now: Millis,
        rng: &mut R,
    ) -> ClientResponse<C> {
        let Some(active) = self.store.get(user).and_then(|r| r.active.as_ref()) else {
            return ClientResponse::Retry;
        };
        match self
            .crypto
            .login_start(rng, user, &active.oprf_key, &active.password_file, ke1)
        {
            Ok((state, ke2)) => {
                let login = LoginId(rng.next_u64());
                self.logins.insert(
                    (user, login),
                    PendingLogin {
                        registration: active.registration,
                        ke1: digest,
                        state,
                        expires: if flaw_on!(self.config.flaw, VaultFlaw::LoginExpiresAtOnce) {
                            now
                        } else {
                            self.login_expiry(user, now)
                        },
                    },
                );
                ClientResponse::Ke2 {
                    login,
                    ke2,
                    remaining,
                }
            }
            // The attempt stays consumed: a malformed KE1 costs a guess too.
            Err(_) => ClientResponse::Refused(Refusal::Malformed),
        }
    }
}
