//! A vault node: consensus, the record store and the login rules, as one
//! sans-IO state machine.
//!
//! Inputs: [`VaultNode::on_client`] (a request), [`VaultNode::on_peer`] (a
//! consensus message), [`VaultNode::on_tick`] (the clock reached
//! [`VaultNode::next_deadline`]), [`VaultNode::on_persisted`] (writes are
//! durable). Every input carries the driver's time and an RNG; the node has
//! no clock and no randomness of its own. Outputs accumulate until
//! [`VaultNode::take_output`]: writes to make durable, messages to peers
//! (those that depend on a write are released only once it is durable), and
//! replies to clients.
//!
//! The rules that matter, each in one place:
//! - A request is validated by the leader against its applied state (proofs
//!   of key, password checks), proposed as a [`Command`], and answered only
//!   once that command is committed and applied.
//! - LOCK-2: KE2 is computed only when the `ConsumeAttempt` it depends on has
//!   been applied, i.e. committed at a quorum ([`VaultNode::answer`]).
//! - Logins between KE2 and KE3 live in the leader's memory with an expiry;
//!   losing leadership drops them all.

use super::crypto::{ProofPurpose, ProofStatement, RegistrationId, VaultCrypto};
use super::ids::{LogIndex, Millis, NodeId, Term, UserId};
use super::lockout::DEFAULT_GUESS_LIMIT;
use super::protocol::{ClientRequest, ClientResponse, LoginId, Refusal};
use super::quorum::ClusterConfig;
use super::raft::durable::{DiskWrite, Durable, WriteId};
use super::raft::message::PeerMessage;
use super::raft::{Drained, Raft, RaftEvent, Role, Timing};
use super::records::{Command, Outcome, RecordStore, Tombstone};
use crate::flaws::{flaw_on, VaultFlaw};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The log entry type of a vault cluster.
pub type VaultCommand<C> = Command<C>;
/// A consensus message of a vault cluster.
pub type VaultPeerMessage<C> = PeerMessage<Command<C>, RecordStore<C>>;
/// A durable write of a vault node.
pub type VaultWrite<C> = DiskWrite<Command<C>, RecordStore<C>>;
/// What a vault node keeps on disk.
pub type VaultDisk<C> = Durable<Command<C>, RecordStore<C>>;

/// Who sent a client request, as the driver names the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientId(pub u64);

/// The driver's number for one request of one client, echoed in the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u64);

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
            login_ttl_ms: 30_000,
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
    /// reports; `None` for answers given without a state change. Drivers
    /// log it; the simulator's checkers use it to tie a reply (a KE2, say)
    /// to the entry it depends on.
    pub index: Option<LogIndex>,
}

/// Everything a node asks of its driver since the last call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeOutput<C: VaultCrypto> {
    /// Writes to make durable, in order; report with [`VaultNode::on_persisted`].
    pub writes: Vec<(WriteId, VaultWrite<C>)>,
    /// Messages to other nodes.
    pub messages: Vec<(NodeId, VaultPeerMessage<C>)>,
    /// Replies to clients.
    pub replies: Vec<Reply<C>>,
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
    /// Report the outcome (stage, activate, delete).
    Report,
    /// LoginStart: compute KE2 from this KE1 if the attempt was consumed.
    SendKe2 { ke1: C::Ke1 },
    /// LoginFinish: release the sealed key if the reset applied.
    ReleaseKey {
        sealed_key: C::SealedKey,
        registration: RegistrationId,
    },
}

/// A login between KE2 and KE3, in the leader's memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PendingLogin<C: VaultCrypto> {
    registration: RegistrationId,
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
    logins: BTreeMap<(UserId, LoginId), PendingLogin<C>>,
    replies: Vec<Reply<C>>,
}

impl<C: VaultCrypto> VaultNode<C> {
    /// Starts (or restarts after a crash) node `id` from its disk.
    pub fn new<R: RngCore>(
        id: NodeId,
        config: NodeConfig,
        crypto: C,
        disk: VaultDisk<C>,
        now: Millis,
        rng: &mut R,
    ) -> Self {
        let (store, applied) = match &disk.snapshot {
            Some((index, _, state)) => (state.clone(), *index),
            None => (RecordStore::new(config.guess_limit), LogIndex(0)),
        };
        let raft =
            Raft::new(id, config.cluster, config.timing, disk, now, rng).with_flaw(config.flaw);
        VaultNode {
            config,
            crypto,
            raft,
            store,
            applied,
            waiting: BTreeMap::new(),
            logins: BTreeMap::new(),
            replies: Vec::new(),
        }
    }

    /// The consensus state, for checkers.
    pub fn raft(&self) -> &Raft<Command<C>, RecordStore<C>> {
        &self.raft
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

    /// The next time [`VaultNode::on_tick`] has work to do.
    pub fn next_deadline(&self) -> Millis {
        let mut next = self.raft.next_deadline();
        if let Some(first) = self.logins.values().map(|l| l.expires).min() {
            next = next.min(first);
        }
        next
    }

    /// Takes everything the node has produced.
    pub fn take_output(&mut self) -> NodeOutput<C> {
        let Drained { writes, messages } = self.raft.take_outbox();
        NodeOutput {
            writes,
            messages,
            replies: std::mem::take(&mut self.replies),
        }
    }

    // ----- inputs ----------------------------------------------------------

    /// A consensus message from another node.
    pub fn on_peer<R: RngCore + CryptoRng>(
        &mut self,
        from: NodeId,
        msg: VaultPeerMessage<C>,
        now: Millis,
        rng: &mut R,
    ) {
        self.raft.step(from, msg, now, rng);
        self.after_raft(now, rng);
    }

    /// The clock reached a deadline.
    pub fn on_tick<R: RngCore + CryptoRng>(&mut self, now: Millis, rng: &mut R) {
        self.logins.retain(|_, l| l.expires > now);
        self.raft.tick(now, rng);
        self.after_raft(now, rng);
    }

    /// The driver made every write up to `up_to` durable.
    pub fn on_persisted<R: RngCore + CryptoRng>(
        &mut self,
        up_to: WriteId,
        now: Millis,
        rng: &mut R,
    ) {
        self.raft.persisted(up_to, now);
        self.after_raft(now, rng);
    }

    /// A client request.
    pub fn on_client<R: RngCore + CryptoRng>(
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
        if flaw_on!(self.config.flaw, VaultFlaw::ResetOnReregistration) {
            self.flaw_reset_on_reregistration(&req);
        }
        match self.validate(req, now, rng) {
            Ok((command, then)) => {
                // Only the StageIsGuessable flaw needs these, after the move.
                let staged = match &command {
                    Command::Stage {
                        user, registration, ..
                    } => Some((*user, *registration)),
                    _ => None,
                };
                match self.raft.propose(command) {
                    Ok(index) if flaw_on!(self.config.flaw, VaultFlaw::Ke2BeforeCommit) => {
                        self.flaw_ke2_before_commit(client, request, index, then, now, rng);
                    }
                    Ok(index) => {
                        if flaw_on!(self.config.flaw, VaultFlaw::StageIsGuessable) {
                            if let Some((user, registration)) = staged {
                                // Broken: activated along with staging, before
                                // (and without) the owner's proof of K.
                                let _ = self.raft.propose(Command::Activate { user, registration });
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
            Err(response) => self.reply(client, request, response),
        }
        self.after_raft(now, rng);
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
        self.replies.push(Reply {
            to,
            request,
            response,
            index,
        });
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
        });
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
        let Then::SendKe2 { ke1 } = then else {
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
        let response = self.ke2(user, &ke1, remaining, now, rng);
        self.reply_at(client, request, response, Some(index));
    }

    // ----- validation: the leader decides what to propose -------------------

    /// Checks a request against the applied state; returns the command to
    /// propose, or the immediate answer.
    fn validate<R: RngCore + CryptoRng>(
        &mut self,
        req: ClientRequest<C>,
        now: Millis,
        rng: &mut R,
    ) -> Result<(Command<C>, Then<C>), ClientResponse<C>> {
        let user = req.user();
        // Borrowed, not cloned: this runs for every request. `self.store` and
        // `self.logins` are distinct fields, so both can be used below.
        let record = self.store.get(user);
        let active = record.and_then(|r| r.active.as_ref());
        let staged = record.and_then(|r| r.staged.as_ref());
        let tombstone = record.and_then(|r| r.tombstone);
        match req {
            ClientRequest::RegistrationStart { request, .. } => {
                Err(match self.crypto.registration_response(user, &request) {
                    Ok(r) => ClientResponse::RegistrationResponse(r),
                    Err(_) => ClientResponse::Refused(Refusal::Malformed),
                })
            }
            ClientRequest::Stage {
                sealed, replacing, ..
            } => {
                let opened = self
                    .crypto
                    .open_registration(user, &sealed)
                    .map_err(|_| ClientResponse::Refused(Refusal::Malformed))?;
                let keep_active = match replacing {
                    None if flaw_on!(self.config.flaw, VaultFlaw::ResetOnReregistration) => {
                        active.map(|a| a.registration)
                    }
                    None => None,
                    Some((registration, proof)) => {
                        let active = active
                            .filter(|a| a.registration == registration)
                            .ok_or(ClientResponse::Refused(Refusal::UnknownRegistration))?;
                        let statement = ProofStatement {
                            purpose: ProofPurpose::Replace,
                            user,
                            registration,
                        };
                        if !self
                            .crypto
                            .verify_proof(&active.verifier, &statement, &proof)
                        {
                            return Err(ClientResponse::Refused(Refusal::BadProof));
                        }
                        Some(registration)
                    }
                };
                let command = Command::Stage {
                    user,
                    registration: RegistrationId(rng.next_u64()),
                    password_file: opened.password_file,
                    wrapped_key: opened.wrapped_key,
                    verifier: opened.verifier,
                    keep_active,
                };
                Ok((command, Then::Report))
            }
            ClientRequest::Activate {
                registration,
                proof,
                ..
            } => {
                let staged = staged
                    .filter(|s| s.registration == registration)
                    .ok_or(ClientResponse::Refused(Refusal::UnknownRegistration))?;
                let statement = ProofStatement {
                    purpose: ProofPurpose::Activate,
                    user,
                    registration,
                };
                if !self
                    .crypto
                    .verify_proof(&staged.verifier, &statement, &proof)
                {
                    return Err(ClientResponse::Refused(Refusal::BadProof));
                }
                Ok((Command::Activate { user, registration }, Then::Report))
            }
            ClientRequest::Delete {
                registration,
                proof,
                ..
            } => {
                let verifier = match (active, staged) {
                    (Some(a), _) if a.registration == registration => &a.verifier,
                    (_, Some(s)) if s.registration == registration => &s.verifier,
                    _ => return Err(ClientResponse::Refused(Refusal::UnknownRegistration)),
                };
                let statement = ProofStatement {
                    purpose: ProofPurpose::Delete,
                    user,
                    registration,
                };
                if !self.crypto.verify_proof(verifier, &statement, &proof) {
                    return Err(ClientResponse::Refused(Refusal::BadProof));
                }
                Ok((Command::Delete { user, registration }, Then::Report))
            }
            ClientRequest::LoginStart { ke1, .. } => match active {
                Some(active) => Ok((
                    Command::ConsumeAttempt {
                        user,
                        registration: active.registration,
                    },
                    Then::SendKe2 { ke1 },
                )),
                None => Err(Self::no_active_record(tombstone)),
            },
            ClientRequest::LoginFinish { login, ke3, .. } => {
                let by_id_only = flaw_on!(self.config.flaw, VaultFlaw::LoginsKeyedByIdOnly);
                let found = if by_id_only {
                    let key = self.logins.keys().find(|(_, l)| *l == login).copied();
                    key.and_then(|k| self.logins.remove(&k))
                } else {
                    self.logins.remove(&(user, login))
                };
                let Some(pending) = found else {
                    return Err(ClientResponse::LoginExpired);
                };
                if pending.expires <= now {
                    return Err(ClientResponse::LoginExpired);
                }
                let Some(active) =
                    active.filter(|a| by_id_only || a.registration == pending.registration)
                else {
                    return Err(Self::no_active_record(tombstone));
                };
                match self
                    .crypto
                    .login_finish(rng, &pending.state, &ke3, &active.wrapped_key)
                {
                    Ok(sealed_key) => Ok((
                        Command::Reset {
                            user,
                            registration: active.registration,
                        },
                        Then::ReleaseKey {
                            sealed_key,
                            registration: active.registration,
                        },
                    )),
                    Err(_) => Err(ClientResponse::WrongPassword {
                        remaining: active.attempts.remaining(),
                    }),
                }
            }
        }
    }

    fn no_active_record(tombstone: Option<Tombstone>) -> ClientResponse<C> {
        match tombstone {
            Some(Tombstone::Destroyed(_)) => ClientResponse::KeyDestroyed,
            _ => ClientResponse::NotRegistered,
        }
    }

    // ----- after consensus moved: apply, answer, compact -------------------

    fn after_raft<R: RngCore + CryptoRng>(&mut self, now: Millis, rng: &mut R) {
        for event in self.raft.take_events() {
            match event {
                RaftEvent::Restore { index, state } => {
                    self.store = state;
                    self.applied = index;
                }
                RaftEvent::SteppedDown => self.drop_leader_memory(),
                RaftEvent::BecameLeader => {}
            }
        }
        for (index, entry) in self.raft.committed_after(self.applied) {
            let outcome = entry.command.as_ref().map(|c| (c.user(), self.apply(c)));
            self.applied = index;
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
        let base = self.raft.log().base_index();
        if self.applied.0 >= base.0 + self.config.snapshot_every.max(1) {
            self.raft.compact(self.applied, self.store.clone());
        }
    }

    /// Applies one committed command to the record store.
    fn apply(&mut self, command: &Command<C>) -> Outcome {
        let keep_key = flaw_on!(self.config.flaw, VaultFlaw::KeepKeyOnDestroy);
        let before = if keep_key {
            self.store
                .get(command.user())
                .and_then(|r| r.active.clone())
        } else {
            None
        };
        let outcome = self.store.apply(command);
        if keep_key && outcome == Outcome::Destroyed {
            // Broken: the tombstone is written but the secrets stay.
            self.store.flaw_restore_active(command.user(), before);
        }
        outcome
    }

    /// Leadership is lost: pending logins and unanswered requests go.
    fn drop_leader_memory(&mut self) {
        self.logins.clear();
        let leader = self.raft.leader();
        for (_, w) in std::mem::take(&mut self.waiting) {
            self.reply(w.client, w.request, ClientResponse::NotLeader { leader });
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
        let response = match (waiting.then, outcome) {
            (_, Outcome::Stale) => ClientResponse::Retry,
            (_, Outcome::Destroyed) => ClientResponse::KeyDestroyed,
            (Then::SendKe2 { ke1 }, Outcome::AttemptConsumed { remaining }) => {
                // LOCK-2: the attempt is committed at a quorum; only now may
                // the vault produce KE2.
                self.ke2(user, &ke1, remaining, now, rng)
            }
            (
                Then::ReleaseKey {
                    sealed_key,
                    registration,
                },
                Outcome::Reset { remaining },
            ) => ClientResponse::LoginOk {
                sealed_key,
                registration,
                remaining,
            },
            (
                Then::Report,
                Outcome::Staged {
                    registration,
                    displaced,
                },
            ) => ClientResponse::Staged {
                registration,
                displaced,
            },
            (Then::Report, Outcome::Activated { remaining }) => {
                ClientResponse::Activated { remaining }
            }
            (Then::Report, Outcome::Deleted) => ClientResponse::Deleted,
            (_, _) => ClientResponse::Retry,
        };
        self.reply_at(waiting.client, waiting.request, response, Some(index));
    }

    fn ke2<R: RngCore + CryptoRng>(
        &mut self,
        user: UserId,
        ke1: &C::Ke1,
        remaining: u8,
        now: Millis,
        rng: &mut R,
    ) -> ClientResponse<C> {
        let Some(active) = self.store.get(user).and_then(|r| r.active.as_ref()) else {
            return ClientResponse::Retry;
        };
        match self
            .crypto
            .login_start(rng, user, &active.password_file, ke1)
        {
            Ok((state, ke2)) => {
                let login = LoginId(rng.next_u64());
                self.logins.insert(
                    (user, login),
                    PendingLogin {
                        registration: active.registration,
                        state,
                        expires: if flaw_on!(self.config.flaw, VaultFlaw::LoginExpiresAtOnce) {
                            now
                        } else {
                            now.plus(self.config.login_ttl_ms)
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
