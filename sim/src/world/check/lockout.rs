//! LOCK-2 to LOCK-4, REG-1 and REG-2, checked on what nodes release and
//! propose, and on their record stores (LOCK-1 and LOCK-5: `oracle.rs`).
//!
//! - LOCK-2: when a KE2 leaves a node, its entry is on the *disks* (synced)
//!   of at least a quorum of nodes. The quorum size is computed here, from
//!   N and R, not taken from the code under test.
//! - LOCK-3: a leader proposes `Reset` only while handling a `LoginFinish`
//!   of that user (whose KE3 it then verified); a committed `Stage`
//!   names the content it stages (the digest of a sealed registration whose
//!   password file it holds), so a proof of K made for one registration
//!   never stages another (`content`); and a committed `Delete` of a
//!   registration follows a delete of it that a device holding its K
//!   asked for, so a proof made for another statement (an activation, a
//!   change) deletes nothing.
//! - LOCK-4: no `LoginOk` for a destroyed registration; no node keeps the
//!   key material of a registration next to its `Destroyed` tombstone.
//! - LOCK-1, one registration per key: no OPRF key is ever the key of two
//!   registrations, staged or active, in any node's store. Logins evaluate
//!   under the record's key, and a proof of K about a record starts a new
//!   count of tests under that key; a second registration under a key
//!   whose first one protects another password (one of the user's earlier
//!   registrations, made under a ticket the chat server kept) would buy its
//!   holder, with proofs of its own, budget after budget of tests of that
//!   password. Judged on the stores, whoever staged it and however.
//! - REG-1: the command a reply reports is about the requesting user, and a
//!   `LoginFinish` only finishes a login whose KE2 went to that same user.
//! - REG-2: a KE2 is only ever released for a registration that some
//!   client asked to activate (an `Activate` request carries a proof of K):
//!   a registration the client has not finished is never guessable.

use super::consensus::{Added, Consensus};
use super::{RequestInfo, Violation};
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{ContentDigest, OprfKeyId, RegistrationId, VaultCrypto};
use backup_vault::vault::ids::{LogIndex, NodeId, UserId};
use backup_vault::vault::node::{ClientId, Reply, RequestId, VaultDisk, VaultNode};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientResponse, LoginId};
use backup_vault::vault::raft::Role;
use backup_vault::vault::records::{Command, Tombstone};
use std::collections::{BTreeMap, BTreeSet};

/// The lockout checks' memory.
#[derive(Default)]
pub struct Lockout {
    quorum: usize,
    activation_requested: BTreeSet<RegistrationId>,
    /// The registrations a device holding their K asked to delete.
    delete_requested: BTreeSet<RegistrationId>,
    /// The registrations whose activation was committed.
    activated: BTreeSet<RegistrationId>,
    /// The password file each submitted sealed registration carries, by its
    /// content digest.
    contents: BTreeMap<ContentDigest, Vec<u8>>,
    /// The step at which a leader proposed each `ConsumeAttempt`.
    proposed_at: BTreeMap<LogIndex, u64>,
    /// The last step at which each node came back with an older disk.
    rolled_back_at: BTreeMap<NodeId, u64>,
    destroyed: BTreeSet<RegistrationId>,
    /// The registration each OPRF key was first seen serving, in any store.
    key_served: BTreeMap<OprfKeyId, RegistrationId>,
    logins: BTreeMap<LoginId, UserId>,
    /// The registration whose key the last `LoginOk` to each client
    /// released (DEV-1: a login moves the device to it).
    released: BTreeMap<ClientId, RegistrationId>,
    last_index: BTreeMap<NodeId, LogIndex>,
    applied: BTreeMap<NodeId, LogIndex>,
    /// KE2s released (a figure for the run report).
    pub ke2_released: u64,
}

impl Lockout {
    /// Checks for a cluster of `nodes` nodes of which up to `rollback`
    /// may come back with an older disk: a quorum is the smallest k with
    /// 2k - N > R ([`super::independent_quorum`]).
    pub fn new(nodes: u8, rollback: u8) -> Self {
        let quorum = super::independent_quorum(nodes, rollback);
        Lockout {
            quorum,
            ..Lockout::default()
        }
    }

    /// A client asked to activate `registration` (with a proof of K).
    pub fn activation_requested(&mut self, registration: RegistrationId) {
        self.activation_requested.insert(registration);
    }

    /// A device holding the K of `registration` asked to delete it.
    pub fn delete_requested(&mut self, registration: RegistrationId) {
        self.delete_requested.insert(registration);
    }

    /// The registration whose key the last `LoginOk` a node sent to
    /// `client` released, if any.
    pub fn released_to(&self, client: ClientId) -> Option<RegistrationId> {
        self.released.get(&client).copied()
    }

    /// Whether the activation of `registration` was committed.
    pub fn activated(&self, registration: RegistrationId) -> bool {
        self.activated.contains(&registration)
    }

    /// A sealed registration with digest `content`, carrying
    /// `password_file`, was submitted (or made by a device).
    pub fn sealed(&mut self, content: ContentDigest, password_file: Vec<u8>) {
        self.contents.insert(content, password_file);
    }

    /// LOCK-3 on newly committed entries: a `Stage` names its own content,
    /// and a `Delete` was asked for by the key holder.
    pub fn on_commits(&mut self, added: &[Added<OpaqueCrypto>]) -> Result<(), Violation> {
        for (index, _, command) in added {
            if let Some(&Command::Activate { registration, .. }) = command.as_ref() {
                self.activated.insert(registration);
            }
            if let Some(&Command::Delete { user, registration }) = command.as_ref() {
                if !self.delete_requested.contains(&registration) {
                    return Err(Violation::user(
                        Invariant::Lock3,
                        user,
                        None,
                        format!(
                            "committed delete of user {}'s registration {:x} (index {}), which no device holding its K asked to delete: a proof of K made for another statement deleted it",
                            user.0, registration.0, index.0
                        ),
                    ));
                }
                continue;
            }
            let Some(&Command::Stage {
                user,
                registration,
                content,
                ref password_file,
                keep_active,
                ..
            }) = command.as_ref()
            else {
                continue;
            };
            let named = self.contents.get(&content);
            if named.map(Vec::as_slice) != Some(&password_file.as_bytes()[..]) {
                return Err(Violation::user(
                    Invariant::Lock3,
                    user,
                    None,
                    format!(
                        "committed stage {} of user {} (index {}, {}) names content {:?}, which is not the registration it stages: a proof of K for one registration staged another",
                        format_args!("{:x}", registration.0),
                        user.0,
                        index.0,
                        if keep_active.is_some() { "a change with proof of K" } else { "without proof of K" },
                        content
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Node `id` came back with an older disk at `step` (a rollback, or a
    /// corrupt record cut off): its copies of entries may be gone. Quorums
    /// of size quorum(N, R) stay safe with up to R such nodes, so LOCK-2
    /// does not count it against an entry proposed before then.
    pub fn rolled_back(&mut self, id: NodeId, step: u64) {
        self.rolled_back_at.insert(id, step);
    }

    /// Node `id` restarted: its log is what its disk held, possibly shorter
    /// than before, so the entries it proposes next may sit at indices it
    /// had already reached.
    pub fn restarted(&mut self, id: NodeId) {
        self.last_index.remove(&id);
        self.applied.remove(&id);
    }

    /// LOCK-3 and LOCK-4 on node `id` after a step whose input was `input`
    /// (a client request's kind and user, if the step handled one).
    pub fn after_step<C: VaultCrypto>(
        &mut self,
        id: NodeId,
        node: &VaultNode<C>,
        input: Option<(UserId, &'static str)>,
        step: u64,
    ) -> Result<(), Violation> {
        let raft = node.raft();
        let last = raft.log().last_index();
        let before = self.last_index.insert(id, last).unwrap_or(LogIndex(0));
        if raft.role() == Role::Leader && last > before {
            for k in (before.0 + 1)..=last.0 {
                let Some(entry) = raft.log().get(LogIndex(k)) else {
                    continue;
                };
                if entry.term != raft.term() {
                    continue;
                }
                if let Some(Command::ConsumeAttempt { .. }) = &entry.command {
                    self.proposed_at.insert(LogIndex(k), step);
                }
                let needed = match &entry.command {
                    Some(Command::Reset { user, .. }) => Some((*user, "login-finish", "Reset")),
                    _ => None,
                };
                if let Some((user, request, command)) = needed {
                    if input != Some((user, request)) {
                        return Err(Violation::user(
                            Invariant::Lock3,
                            user,
                            Some(id),
                            format!(
                                "leader n{} proposed {command} for user {} at index {k} while handling {} instead of a verified {request}",
                                id.0,
                                user.0,
                                input.map_or("no request".to_string(), |(u, r)| format!("{r} of user {}", u.0))
                            ),
                        ));
                    }
                }
            }
        }
        let applied = node.applied();
        if self.applied.insert(id, applied) != Some(applied) {
            for (user, rec) in node.store().iter() {
                let served = rec
                    .active
                    .as_ref()
                    .map(|a| (a.oprf_key, a.registration))
                    .into_iter()
                    .chain(rec.staged.as_ref().map(|s| (s.oprf_key, s.registration)));
                for (key, registration) in served {
                    let first = *self.key_served.entry(key).or_insert(registration);
                    if first != registration {
                        return Err(Violation::user(
                            Invariant::Lock1,
                            *user,
                            Some(id),
                            format!(
                                "n{} holds user {}'s registration {:x} under OPRF key {:?}, the key of registration {:x}: a key serves a second registration, and proofs about it refill tests of the first one's password",
                                id.0, user.0, registration.0, key, first.0
                            ),
                        ));
                    }
                }
                if let Some(Tombstone::Destroyed(reg)) = rec.tombstone() {
                    // Destroyed by a login start or by `Exhaust`: no key
                    // for it may be released from now on.
                    self.destroyed.insert(reg);
                }
                if let (Some(Tombstone::Destroyed(reg)), Some(active)) =
                    (rec.tombstone(), &rec.active)
                {
                    if active.registration == reg {
                        return Err(Violation::user(
                            Invariant::Lock4,
                            *user,
                            Some(id),
                            format!(
                                "n{} keeps the wrapped key of user {}'s registration {:x} after destroying it",
                                id.0, user.0, reg.0
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks one reply node `from` released.
    #[allow(clippy::too_many_arguments)]
    pub fn on_reply<C: VaultCrypto>(
        &mut self,
        from: NodeId,
        node: &VaultNode<C>,
        reply: &Reply<C>,
        request: Option<&RequestInfo>,
        disks: &[&VaultDisk<C>],
        consensus: &Consensus<C>,
    ) -> Result<(), Violation> {
        let Some(index) = reply.index else {
            return Ok(());
        };
        let entry = node.raft().log().get(index);
        // The entry's term: from the node's log, else from the ledger (a KE2
        // for a KE1 tested before reports the entry that consumed it, which
        // may be long compacted), else the node's own term (it answers only
        // for entries of the term it still leads, even one it compacted in
        // the very step it applied it).
        let term = entry
            .map(|e| e.term)
            .or_else(|| consensus.committed(index).map(|c| c.term))
            .or(Some(node.raft().term()));
        let command = entry.and_then(|e| e.command.as_ref());
        let (user, registration) = match (command, consensus.committed(index)) {
            (Some(c), _) => (Some(c.user()), registration_of(c)),
            (None, Some(c)) => (c.user, c.registration),
            // Compacted in the same step: the command was applied just now,
            // so the requester's active record is the one it concerned.
            (None, None) => {
                let user = request.map(|r| r.user);
                let registration = user
                    .and_then(|u| node.store().get(u))
                    .and_then(|r| r.active.as_ref())
                    .map(|a| a.registration);
                (user, registration)
            }
        };
        // REG-1: the reply's command is about the requester's user.
        if let (Some(req), Some(user)) = (request, user) {
            if req.user != user {
                return Err(Violation::user(
                    Invariant::Reg1,
                    user,
                    Some(from),
                    format!(
                        "a {} request of user {} changed user {}'s record (index {})",
                        req.kind, req.user.0, user.0, index.0
                    ),
                ));
            }
        }
        match &reply.response {
            ClientResponse::Ke2 { login, .. } => {
                self.ke2_released += 1;
                let user = user.unwrap_or(UserId(u64::MAX));
                // LOCK-2: durable on a quorum of disks.
                let durable = disks
                    .iter()
                    .filter(|d| {
                        d.snapshot.as_ref().is_some_and(|s| s.0 >= index)
                            || (term.is_some() && d.log.term_at(index) == term)
                    })
                    .count();
                let proposed = self.proposed_at.get(&index).copied().unwrap_or(0);
                let rolled_back = self
                    .rolled_back_at
                    .values()
                    .filter(|at| **at >= proposed)
                    .count();
                if durable + rolled_back < self.quorum {
                    return Err(Violation::user(
                        Invariant::Lock2,
                        user,
                        Some(from),
                        format!(
                            "n{} released KE2 for user {} when the attempt (index {}) was durable on {} disks, fewer than a quorum of {}",
                            from.0, user.0, index.0, durable, self.quorum
                        ),
                    ));
                }
                let Some(reg) = registration else {
                    return Ok(());
                };
                // REG-2: only activated registrations are guessable.
                if !self.activation_requested.contains(&reg) {
                    return Err(Violation::user(
                        Invariant::Reg2,
                        user,
                        Some(from),
                        format!(
                            "n{} released KE2 against user {}'s registration {:x}, which was never activated with the owner's proof",
                            from.0, user.0, reg.0
                        ),
                    ));
                }
                if let Some(req) = request {
                    self.logins.insert(*login, req.user);
                }
            }
            ClientResponse::LoginOk { .. } => {
                let user = user.unwrap_or(UserId(u64::MAX));
                let Some(registration) = registration else {
                    return Ok(());
                };
                self.released.insert(reply.to, registration);
                if self.destroyed.contains(&registration) {
                    return Err(Violation::user(
                        Invariant::Lock4,
                        user,
                        Some(from),
                        format!(
                            "n{} released the key of user {}'s registration {:x} after it was destroyed",
                            from.0, user.0, registration.0
                        ),
                    ));
                }
                if let Some(req) = request {
                    if let Some(owner) = req.login.and_then(|l| self.logins.get(&l)) {
                        if *owner != req.user {
                            return Err(Violation::user(
                                Invariant::Reg1,
                                req.user,
                                Some(from),
                                format!(
                                    "a KE3 sent for user {} finished a login that user {} started, and reset user {}'s record",
                                    req.user.0, owner.0, user.0
                                ),
                            ));
                        }
                    }
                }
            }
            ClientResponse::KeyDestroyed => {
                if let Some(reg) = registration {
                    self.destroyed.insert(reg);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Registrations destroyed by the guess limit so far.
    pub fn destroyed(&self) -> &BTreeSet<RegistrationId> {
        &self.destroyed
    }
}

fn registration_of<C: VaultCrypto>(c: &Command<C>) -> Option<RegistrationId> {
    Some(match c {
        Command::Stage { registration, .. }
        | Command::Activate { registration, .. }
        | Command::ConsumeAttempt { registration, .. }
        | Command::Reset { registration, .. }
        | Command::Delete { registration, .. }
        | Command::Exhaust { registration, .. } => *registration,
    })
}

/// Identifies a request: the sender and its number.
pub type RequestKey = (ClientId, RequestId);
