//! LOCK-4's timing: when a record whose budget is spent is destroyed; and
//! LOCK-5's side of the same clock: a login is not ended before its time.
//!
//! The rule (`vault::lockout`): a spent budget destroys its record as soon
//! as no login against it can still prove knowledge. These checks time it
//! from what they see, not from the node's own bookkeeping of logins:
//! - **never too early**: a leader proposes `Exhaust` for a registration
//!   neither while a login it opened for that registration in its term may
//!   still finish (a KE2 younger than the login TTL without an answer to
//!   that login's KE3, `LoginOk`, `WrongPassword`, ...; against a spent
//!   budget, only until one TTL after the leader's store showed the budget
//!   spent or it took over, whichever came last), nor within one login TTL
//!   of taking over (logins a former leader opened may still be finished at
//!   a retry);
//! - **never too late**: once a budget is spent (in the reference store
//!   the consensus checks apply the ledger to), every login opened against
//!   it has ended, and the leader has led, and held the budget spent, for
//!   one login TTL, that leader proposes
//!   `Exhaust` before anything else: a serving leader that appends a
//!   command more than [`LATE_MARGIN_MS`] after that moment, without having
//!   proposed it in its term, is late (unless a command about the same user
//!   other than a login start is still in flight in its log: the rule waits
//!   for it). And at the end
//!   of a run no budget is still spent [`COMMIT_SLACK_MS`] after it was due;
//! - **never ended early**: a leader answers the first KE3 of a login it
//!   opened in its term `LoginExpired` only once the login's end by the
//!   same rule has passed, or its registration was replaced.
//!
//! The login TTL is the scenario's node configuration, which the checks
//! are given. "Early" is timed by the proposing node's own clock (both
//! ends of the interval are its own), "late" by the virtual clock, with a
//! margin far above clock drift and timer jitter.

use super::consensus::{Added, Kind};
use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{RegistrationId, VaultCrypto};
use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
use backup_vault::vault::node::VaultNode;
use backup_vault::vault::protocol::{ClientResponse, LoginId};
use backup_vault::vault::raft::Role;
use backup_vault::vault::records::Command;
use backup_vault::vault::records::RecordStore;
use std::collections::{BTreeMap, BTreeSet};

/// The exhaustion rule reads a node's index of spent budgets
/// ([`VaultNode::spent_index`]), not its store: a user missing from it is
/// never destroyed by that node's leadership, however long its budget has
/// been spent. Held to the store wherever the store changes: for the users
/// of the entries `applied` in a step, and whole after a snapshot replaced
/// the store (`restored`). The store's own rule says what is spent.
///
/// # Errors
/// LOCK-4 if the index and the store disagree about a user.
pub fn index_matches_store<C: VaultCrypto>(
    id: NodeId,
    node: &VaultNode<C>,
    applied: impl Iterator<Item = UserId>,
    restored: bool,
) -> Result<(), Violation> {
    let index = node.spent_index();
    let spent_in_store = |user: UserId| {
        node.store()
            .get(user)
            .and_then(|r| r.active.as_ref())
            .is_some_and(|a| a.attempts.spent())
    };
    let mut users: BTreeSet<UserId> = applied.collect();
    if restored {
        users.extend(node.store().iter().map(|(u, _)| *u));
        users.extend(index.iter().copied());
    }
    for user in users {
        let (indexed, spent) = (index.contains(&user), spent_in_store(user));
        if indexed != spent {
            return Err(Violation::user(
                Invariant::Lock4,
                user,
                Some(id),
                format!(
                    "n{}'s index of spent budgets {} user {}, whose budget its store holds as {}: {}",
                    id.0,
                    if indexed { "names" } else { "lacks" },
                    user.0,
                    if spent { "spent" } else { "not spent" },
                    if spent {
                        "its leadership would never destroy the record"
                    } else {
                        "its leadership would destroy a record with guesses left"
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// How long an `Exhaust` may take to commit once it is due, with the
/// network healed: a timer, an append and an acknowledgement round, and
/// the simulated disks' sync latency, with a wide margin.
pub const COMMIT_SLACK_MS: u64 = 5_000;

/// How long after an `Exhaust` falls due a serving leader may still append
/// other commands without it: a leader handles an input (a heartbeat tick
/// at least) every few tens of milliseconds.
pub const LATE_MARGIN_MS: u64 = 1_000;

/// A login a leader opened with a KE2 and has not answered a KE3 of yet.
#[derive(Clone, Copy, Debug)]
struct Open {
    user: UserId,
    registration: RegistrationId,
    term: Term,
    /// Until when it may still finish, by its node's clock.
    until: u64,
}

/// The exhaustion checks' memory.
#[derive(Debug)]
pub struct Exhaustion {
    ttl: u64,
    last_index: BTreeMap<NodeId, LogIndex>,
    /// Per node, the term it leads and when it took over, by its own
    /// clock and by the virtual clock.
    leading: BTreeMap<NodeId, (Term, u64, u64)>,
    /// When some node last took over as leader.
    last_takeover: u64,
    open: BTreeMap<(NodeId, LoginId), Open>,
    /// Per registration, until when (virtual time) the last login a KE2
    /// opened against it may finish.
    login_ends: BTreeMap<(UserId, RegistrationId), u64>,
    /// Per node and user, since when the node's store has held the user's
    /// budget spent, as its index of spent budgets shows it (held to the
    /// store by [`index_matches_store`]): by the node's clock and by the
    /// virtual clock.
    learned: BTreeMap<(NodeId, UserId), (u64, u64)>,
    /// Registrations whose budget is spent in the reference store, and
    /// since when.
    spent: BTreeMap<(UserId, RegistrationId), u64>,
    /// `Exhaust` entries each leader proposed, by term.
    proposed: BTreeSet<(NodeId, Term, UserId, RegistrationId)>,
    /// Committed `Exhaust` entries (a figure for the run report).
    pub exhaust_commits: u64,
}

impl Exhaustion {
    /// Checks for nodes whose logins live `login_ttl_ms`.
    pub fn new(login_ttl_ms: u64) -> Self {
        Exhaustion {
            ttl: login_ttl_ms,
            last_index: BTreeMap::new(),
            leading: BTreeMap::new(),
            last_takeover: 0,
            open: BTreeMap::new(),
            login_ends: BTreeMap::new(),
            learned: BTreeMap::new(),
            spent: BTreeMap::new(),
            proposed: BTreeSet::new(),
            exhaust_commits: 0,
        }
    }

    /// After node `id` handled an input at `now` (virtual time), its own
    /// clock reading `clock` (a KE3 for login `finishing` of its user, if that was the
    /// input: the login is over, whatever the answer, which a read barrier
    /// may hold back; `expired_now` if the node answered it `LoginExpired`
    /// in this step): check the login had ended, note a takeover, check
    /// each `Exhaust` it just proposed is not early, and that none is late.
    pub fn after_step<C: VaultCrypto>(
        &mut self,
        id: NodeId,
        node: &VaultNode<C>,
        finishing: Option<(LoginId, UserId)>,
        expired_now: bool,
        clock: u64,
        now: u64,
    ) -> Result<(), Violation> {
        if let Some(login) = finishing {
            let open = self.close(id, login);
            if let (Some(open), true) = (open, expired_now) {
                self.not_expired_early(id, node, login.0, open, clock)?;
            }
        }
        let index = node.spent_index();
        self.learned
            .retain(|(n, u), _| *n != id || index.contains(u));
        for user in index {
            self.learned.entry((id, user)).or_insert((clock, now));
        }
        let raft = node.raft();
        let last = raft.log().last_index();
        let before = self.last_index.insert(id, last).unwrap_or(LogIndex(0));
        if raft.role() != Role::Leader {
            return Ok(());
        }
        let term = raft.term();
        if self.leading.get(&id).map(|(t, _, _)| *t) != Some(term) {
            self.leading.insert(id, (term, clock, now));
            self.last_takeover = now;
        }
        let (_, since, since_now) = self.leading[&id];
        let mut commands = Vec::new();
        for k in (before.0 + 1)..=last.0 {
            let Some(entry) = raft.log().get(LogIndex(k)) else {
                continue;
            };
            if entry.term != term {
                continue;
            }
            match &entry.command {
                Some(Command::Exhaust { user, registration }) => {
                    self.early(id, term, since, *user, *registration, clock)?;
                    self.proposed.insert((id, term, *user, *registration));
                }
                Some(c) => commands.push(c.user()),
                None => {}
            }
        }
        if !commands.is_empty() {
            self.late(id, node, term, since_now, &commands, now)?;
        }
        Ok(())
    }

    /// A KE3 for `login` of `user` reached node `id`: the login it names is
    /// over, whatever the answer. A KE3 naming another user's login id
    /// (an adversary's) leaves that login open: the node finds logins by
    /// user and id.
    fn close(&mut self, id: NodeId, (login, user): (LoginId, UserId)) -> Option<Open> {
        match self.open.get(&(id, login)) {
            Some(open) if open.user == user => self.open.remove(&(id, login)),
            _ => None,
        }
    }

    /// Leader `id` answered the first KE3 of `login`, which it opened in
    /// this term, `LoginExpired` at `clock` (its own clock): the login must
    /// have ended by the rule ([`Exhaustion::login_end`]), or its
    /// registration been replaced since. A login that ends early costs an
    /// honest restore a new test, and against a spent budget the record
    /// itself: every restart opens a login that has ended already, and the
    /// record is destroyed once the leader's grace ends (LOCK-5).
    fn not_expired_early<C: VaultCrypto>(
        &self,
        id: NodeId,
        node: &VaultNode<C>,
        login: LoginId,
        open: Open,
        clock: u64,
    ) -> Result<(), Violation> {
        let raft = node.raft();
        let same_leadership = raft.role() == Role::Leader && raft.term() == open.term;
        let active = node
            .store()
            .get(open.user)
            .and_then(|r| r.active.as_ref())
            .map(|a| a.registration);
        if same_leadership && active == Some(open.registration) && clock < open.until {
            return Err(Violation::user(
                Invariant::Lock5,
                open.user,
                Some(id),
                format!(
                    "n{} answered login {:x}'s KE3 LoginExpired at {clock} ms by its clock, {} ms before the login's end by the rule (one login TTL of {} ms, and against a spent budget one TTL after the leader learned it spent or took over, whichever came last)",
                    id.0,
                    login.0,
                    open.until - clock,
                    self.ttl
                ),
            ));
        }
        Ok(())
    }

    /// The `Exhaust` leader `id` proposed at `clock` (its own clock) in
    /// `term`, which it has led since `since`, is not early.
    fn early(
        &self,
        id: NodeId,
        term: Term,
        since: u64,
        user: UserId,
        registration: RegistrationId,
        clock: u64,
    ) -> Result<(), Violation> {
        if clock < since + self.ttl {
            return Err(Violation::user(
                Invariant::Lock4,
                user,
                Some(id),
                format!(
                    "n{} proposed to destroy user {}'s registration {:x} {} ms after it took over: a login a former leader opened could still finish (login TTL {} ms)",
                    id.0, user.0, registration.0, clock - since, self.ttl
                ),
            ));
        }
        let open = self.open.iter().find(|((n, _), o)| {
            *n == id
                && o.user == user
                && o.registration == registration
                && o.term == term
                && o.until > clock
        });
        if let Some(((_, login), o)) = open {
            return Err(Violation::user(
                Invariant::Lock4,
                user,
                Some(id),
                format!(
                    "n{} proposed to destroy user {}'s registration {:x} while login {:x} could still finish for {} ms (login TTL {} ms)",
                    id.0, user.0, registration.0, login.0, o.until - clock, self.ttl
                ),
            ));
        }
        Ok(())
    }

    /// When the `Exhaust` of `key` falls due, by the virtual clock, for
    /// leader `id` that took over at `since`: once no login opened against
    /// it may finish, and one login TTL after the leader took over and
    /// after it learned the budget was spent (a login a resent KE1 opens
    /// against a spent budget ends by then, however late it came).
    fn due(&self, id: NodeId, key: (UserId, RegistrationId), spent_at: u64, since: u64) -> u64 {
        let learned = self
            .learned
            .get(&(id, key.0))
            .map_or(spent_at, |(_, at)| *at);
        [
            spent_at,
            self.login_ends.get(&key).copied().unwrap_or(0),
            since.max(learned) + self.ttl,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Until when a login node `from` opens at `at` may finish, by the
    /// node's clock (`on_node_clock`) or by the virtual clock: one TTL, but
    /// against a spent budget no later than one TTL after the node learned
    /// the budget was spent or took the lead, whichever came last
    /// (`VaultNode`'s login expiry).
    fn login_end(&self, from: NodeId, user: UserId, at: u64, on_node_clock: bool) -> u64 {
        let pick = |(clock, now): (u64, u64)| if on_node_clock { clock } else { now };
        let full = at + self.ttl;
        let Some(&learned) = self.learned.get(&(from, user)) else {
            return full;
        };
        let took_over = self
            .leading
            .get(&from)
            .map_or(0, |(_, since, since_now)| pick((*since, *since_now)));
        full.min(pick(learned).max(took_over) + self.ttl)
    }

    /// Leader `id` appended commands about `users` at `now` (virtual
    /// time): every spent budget due long enough ago has its `Exhaust`.
    fn late<C: VaultCrypto>(
        &self,
        id: NodeId,
        node: &VaultNode<C>,
        term: Term,
        since: u64,
        users: &[UserId],
        now: u64,
    ) -> Result<(), Violation> {
        if self.spent.is_empty() {
            return Ok(());
        }
        let log = node.raft().log();
        for (&(user, registration), &spent_at) in &self.spent {
            if users.contains(&user) || self.proposed.contains(&(id, term, user, registration)) {
                continue;
            }
            let due = self.due(id, (user, registration), spent_at, since);
            if now <= due + LATE_MARGIN_MS {
                continue;
            }
            // A login start in flight is no reason to wait: against a spent
            // budget it is a resend, which changes nothing, or a new test,
            // which destroys the record.
            let in_flight = (node.applied().0 + 1..=log.last_index().0).any(|i| {
                log.get(LogIndex(i))
                    .and_then(|e| e.command.as_ref())
                    .is_some_and(|c| {
                        c.user() == user && !matches!(c, Command::ConsumeAttempt { .. })
                    })
            });
            if in_flight {
                continue;
            }
            return Err(Violation::user(
                Invariant::Lock4,
                user,
                Some(id),
                format!(
                    "leader n{} went on appending commands at {now} ms without destroying user {}'s registration {:x}, whose budget is spent: its destruction was due at {due} ms (no login against it could finish after that)",
                    id.0, user.0, registration.0
                ),
            ));
        }
        Ok(())
    }

    /// A reply node `from` released at `now` (virtual time), its clock
    /// reading `clock`: a KE2 opens a login against the registration its
    /// consuming entry names (`registration`, from the committed ledger);
    /// any answer to a KE3 closes the login. The open login is timed by
    /// the node's clock (the early check compares it with that clock), the
    /// last KE2 by the virtual clock (the late check compares it across
    /// nodes).
    #[allow(clippy::too_many_arguments)]
    pub fn on_reply<C: VaultCrypto>(
        &mut self,
        from: NodeId,
        response: &ClientResponse<C>,
        finishing: Option<(LoginId, UserId)>,
        registration: Option<(UserId, RegistrationId)>,
        term: Term,
        clock: u64,
        now: u64,
    ) {
        if let Some(login) = finishing {
            self.close(from, login);
        }
        if let (ClientResponse::Ke2 { login, .. }, Some((user, registration))) =
            (response, registration)
        {
            let until = self.login_end(from, user, clock, true);
            let end = self.login_end(from, user, now, false);
            self.open.insert(
                (from, *login),
                Open {
                    user,
                    registration,
                    term,
                    until,
                },
            );
            let ends = self.login_ends.entry((user, registration)).or_insert(0);
            *ends = (*ends).max(end);
        }
        // Logins their node can no longer finish are forgotten.
        self.open.retain(|(n, _), o| *n != from || o.until > clock);
    }

    /// Entries newly committed at `now`, and the reference store after
    /// them: which budgets became spent, and which are no longer.
    pub fn on_commits<C: VaultCrypto>(
        &mut self,
        added: &[Added<C>],
        reference: &RecordStore<C>,
        now: u64,
    ) {
        for (_, committed, _) in added {
            let Some(user) = committed.user else {
                continue;
            };
            if committed.kind == Kind::Exhaust {
                self.exhaust_commits += 1;
            }
            let spent = reference
                .get(user)
                .and_then(|r| r.active.as_ref())
                .filter(|a| a.attempts.spent())
                .map(|a| a.registration);
            self.spent
                .retain(|(u, r), _| *u != user || Some(*r) == spent);
            if let Some(registration) = spent {
                self.spent.entry((user, registration)).or_insert(now);
            }
        }
    }

    /// At the end of a run, at `now` (virtual time), with the nodes that
    /// are up: if one leads, no budget is still spent whose destruction
    /// was due more than [`COMMIT_SLACK_MS`] ago.
    pub fn at_end<C: VaultCrypto>(
        &self,
        nodes: &[(NodeId, &VaultNode<C>)],
        now: u64,
    ) -> Result<(), Violation> {
        let Some((id, _)) = nodes.iter().find(|(_, n)| n.raft().role() == Role::Leader) else {
            return Ok(());
        };
        for (&(user, registration), &spent_at) in &self.spent {
            let due = self.due(*id, (user, registration), spent_at, self.last_takeover);
            if now > due + COMMIT_SLACK_MS {
                return Err(Violation::user(
                    Invariant::Lock4,
                    user,
                    Some(*id),
                    format!(
                        "user {}'s registration {:x}, whose budget is spent, is still not destroyed at {now} ms: its destruction was due at {due} ms (no login against it could finish after that)",
                        user.0, registration.0
                    ),
                ));
            }
        }
        Ok(())
    }
}
