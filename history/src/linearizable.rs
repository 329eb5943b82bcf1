//! A small linearizability checker for the vault history, against the
//! sequential model of `docs/history.md`.
//!
//! Linearizability is local: operations on different users' records never
//! interact, so each user's operations are checked on their own. The
//! search is Wing and Gong's, with Lowe's memo: it linearizes, one at a
//! time, an operation invoked before the earliest return among those not
//! linearized yet, keeps it if the model accepts its answer there, and
//! backtracks otherwise; a (set of linearized operations, model state) pair
//! is explored once. `fail` operations had no effect and are left out, and
//! so are `info` operations the network lost or the committed log shows
//! had none; other `info` operations may take effect at any point after
//! their invocation, or never, and of several with the same request only
//! the earliest is tried (they are interchangeable); a duplicated request
//! is its answered operation plus an unanswered twin. Registration
//! requests change no record and are left out.
//!
//! The model does not know whether a proof of K was valid (the simulator
//! cannot tell an adversary's from a replay's without the key). Refusals
//! are `fail` operations and left out; an answer that shows an operation
//! took effect shows its proof was valid; and an `info` operation may take
//! effect (as with a valid proof) or never.

use super::{Answer, Call, EventType, History};
use backup_vault::vault::crypto::{ContentDigest, Ke1Digest, RegistrationId};
use backup_vault::vault::protocol::LoginId;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Why a history is not (known to be) linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every user's operations linearize.
    Linearizable,
    /// No order of this user's operations fits the model.
    NotLinearizable {
        /// The user.
        user: u64,
        /// Operations the search could not get past, described.
        stuck_at: String,
    },
    /// The search for this user gave up (too many states): no verdict.
    Undecided {
        /// The user.
        user: u64,
    },
}

/// States the search may visit per user before it gives up.
pub const MAX_STATES_PER_USER: usize = 2_000_000;

/// One operation of one user.
#[derive(Clone, Debug)]
struct Op {
    invoke: usize,
    /// `None` for `info` (returns at infinity, may never take effect).
    ret: Option<usize>,
    call: Call,
    answer: Option<Answer>,
}

/// The model's registration: its id, which an `info` stage leaves unknown
/// until an answer names it.
type Reg = Option<RegistrationId>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Active {
    reg: RegistrationId,
    content: ContentDigest,
    tested: BTreeSet<Ke1Digest>,
    proven: Option<Ke1Digest>,
}

/// One user's record, sequentially (docs/history.md).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct Model {
    active: Option<Active>,
    staged: Option<(Reg, ContentDigest, bool)>,
    /// The last registration that went away, and whether by the guess limit.
    gone: Option<(RegistrationId, bool)>,
    stages: u64,
    /// Logins answered with KE2: their registration and KE1.
    logins: BTreeMap<LoginId, (RegistrationId, Ke1Digest)>,
    /// Every registration the record has held (active, staged under a
    /// known id, or gone): a staging of unknown id made since is none of
    /// them, not only not the last that went (ids are never reused).
    held: BTreeSet<RegistrationId>,
}

fn same(reg: Reg, r: RegistrationId) -> bool {
    reg.is_none_or(|x| x == r)
}

impl Model {
    /// Whether the staged registration may be `r`: it is, or its id is
    /// unknown and `r` is not known to be another registration (ids are
    /// never reused): not one the record held before, active, staged or
    /// gone. While a staging's id is unknown, the record holds no new id
    /// (an activation or an answer naming it makes it known), so `held`
    /// is what came before it.
    fn staged_may_be(&self, r: RegistrationId) -> bool {
        match self.staged {
            Some((Some(x), _, _)) => x == r,
            Some((None, _, _)) => !self.held.contains(&r),
            None => false,
        }
    }

    /// `self` with every registration it holds noted in `held`.
    fn noted(mut self) -> Model {
        let active = self.active.as_ref().map(|a| a.reg);
        let staged = self.staged.and_then(|(r, _, _)| r);
        let gone = self.gone.map(|(g, _)| g);
        self.held
            .extend(active.into_iter().chain(staged).chain(gone));
        self
    }

    fn remaining(&self, limit: u8, a: &Active) -> u8 {
        limit.saturating_sub(a.tested.len() as u8)
    }

    fn destroyed(&self) -> bool {
        self.gone.is_some_and(|(_, d)| d)
    }

    /// The internal step `Exhaust` (no client's operation): an active
    /// record whose budget is spent may be destroyed at any point. When
    /// the vault may take it (no login can still finish) is checked by the
    /// simulator's lockout checks, not by this model.
    fn exhausted(&self, limit: u8) -> Option<Model> {
        let a = self.active.as_ref()?;
        if a.tested.len() < usize::from(limit) {
            return None;
        }
        let mut m = self.clone();
        m.destroy(a.reg);
        Some(m)
    }

    /// The record with active registration `reg` destroyed by the guess
    /// limit. A change staged beside it goes with it: it holds the same K,
    /// and activated later it would bring K back with a fresh budget
    /// (`docs/protocol.md`, the lockout rule; the vault's `destroy`).
    fn destroy(&mut self, reg: RegistrationId) {
        self.active = None;
        self.staged = None;
        self.gone = Some((reg, true));
    }

    /// The state after `call` answered `answer` (`None`: an `info`
    /// operation taking effect, with valid proofs), if the model allows it.
    fn step(&self, call: &Call, answer: Option<&Answer>, limit: u8) -> Option<Model> {
        self.step_unnoted(call, answer, limit).map(Model::noted)
    }

    fn step_unnoted(&self, call: &Call, answer: Option<&Answer>, limit: u8) -> Option<Model> {
        let mut m = self.clone();
        match (*call, answer) {
            (Call::RegistrationStart, _) => Some(m),
            (
                Call::Stage { content, .. },
                Some(Answer::Staged {
                    registration,
                    displaced,
                }),
            ) if m.staged.is_some_and(|(_, c, _)| c == content) => {
                let (reg, _, was_displaced) = m.staged.expect("checked");
                (m.staged_may_be(*registration)
                    && same(reg, *registration)
                    && *displaced == was_displaced)
                    .then(|| {
                        m.staged = Some((Some(*registration), content, was_displaced));
                        m
                    })
            }
            (Call::Stage { content, .. }, None)
                if m.staged.is_some_and(|(_, c, _)| c == content) =>
            {
                Some(m)
            }
            (
                Call::Stage {
                    content,
                    genuine,
                    replacing,
                    seq,
                },
                answer,
            ) => {
                let (registration, displaced) = match answer {
                    Some(Answer::Staged {
                        registration,
                        displaced,
                    }) => (Some(*registration), Some(*displaced)),
                    None => (None, None),
                    Some(_) => return None,
                };
                if !genuine {
                    return None;
                }
                let mut was_displaced = false;
                match replacing {
                    Some(r) => {
                        if m.active.as_ref().map(|a| a.reg) != Some(r) {
                            return None;
                        }
                    }
                    None => {
                        if seq != Some(m.stages) {
                            return None;
                        }
                        if let Some(old) = m.active.take() {
                            m.gone = Some((old.reg, false));
                            was_displaced = true;
                        }
                    }
                }
                if displaced.is_some_and(|d| d != was_displaced) {
                    return None;
                }
                m.stages += 1;
                m.staged = Some((registration, content, was_displaced));
                Some(m)
            }
            (
                Call::Activate {
                    registration,
                    content,
                },
                answer,
            ) => {
                let remaining = match answer {
                    Some(Answer::Activated {
                        registration: r,
                        remaining,
                    }) if *r == registration => Some(*remaining),
                    None => None,
                    Some(_) => return None,
                };
                if let Some((_, c, _)) = m.staged {
                    if m.staged_may_be(registration) && c == content {
                        m.staged = None;
                        m.active = Some(Active {
                            reg: registration,
                            content,
                            tested: BTreeSet::new(),
                            proven: None,
                        });
                        return remaining.is_none_or(|r| r == limit).then_some(m);
                    }
                }
                match &m.active {
                    Some(a) if a.reg == registration && a.content == content => remaining
                        .is_none_or(|r| r == m.remaining(limit, a))
                        .then_some(m.clone()),
                    _ => answer.is_none().then_some(m),
                }
            }
            (Call::LoginStart { ke1 }, answer) => m.login_start(ke1, answer, limit),
            (Call::LoginFinish { login, valid }, answer) => {
                m.login_finish(login, valid, answer, limit)
            }
            (Call::Delete { registration }, answer) => {
                let matches = m.active.as_ref().is_some_and(|a| a.reg == registration)
                    || m.staged_may_be(registration);
                match answer {
                    Some(Answer::Deleted { registration: r }) if *r == registration => {
                        if matches {
                            m.active = None;
                            m.staged = None;
                            m.gone = Some((registration, false));
                            Some(m)
                        } else {
                            // Read from the state: the registration named
                            // is not live and the user has a tombstone,
                            // whose reply key tags the answer (and no live
                            // record holds the proof's key, which is not
                            // in the model).
                            m.gone.is_some().then_some(m)
                        }
                    }
                    // Read from the state: the registration named is not
                    // live, and the one named as living on is (which key a
                    // record holds is not in the model).
                    Some(Answer::KeyLivesOn {
                        registration: r,
                        live,
                    }) if *r == registration => {
                        let lives = m.active.as_ref().is_some_and(|a| a.reg == *live)
                            || m.staged_may_be(*live);
                        (!matches && lives).then_some(m)
                    }
                    None => {
                        if matches {
                            m.active = None;
                            m.staged = None;
                            m.gone = Some((registration, false));
                        }
                        Some(m)
                    }
                    Some(_) => None,
                }
            }
        }
    }

    fn login_start(mut self, ke1: Ke1Digest, answer: Option<&Answer>, limit: u8) -> Option<Model> {
        let Some(mut a) = self.active.take() else {
            return match answer {
                None => Some(self),
                Some(Answer::NotRegistered) => (!self.destroyed()).then_some(self),
                Some(Answer::KeyDestroyed) => self.destroyed().then_some(self),
                Some(_) => None,
            };
        };
        let known = a.tested.contains(&ke1) || a.proven == Some(ke1);
        if !known && a.tested.len() >= usize::from(limit) {
            // A new test with the budget spent: the record is destroyed.
            let gone = matches!(answer, None | Some(Answer::KeyDestroyed));
            self.destroy(a.reg);
            return gone.then_some(self);
        }
        if !known {
            a.tested.insert(ke1);
        }
        let left = limit.saturating_sub(a.tested.len() as u8);
        let ok = match answer {
            None => true,
            Some(Answer::Ke2 {
                login,
                registration,
                remaining,
            }) => {
                self.logins.insert(*login, (a.reg, ke1));
                registration.is_none_or(|r| r == a.reg) && *remaining == left
            }
            Some(_) => false,
        };
        self.active = Some(a);
        ok.then_some(self)
    }

    fn login_finish(
        mut self,
        login: LoginId,
        valid: bool,
        answer: Option<&Answer>,
        limit: u8,
    ) -> Option<Model> {
        let issued = self.logins.get(&login).copied();
        let Some(a) = self.active.as_mut() else {
            return match answer {
                None => Some(self),
                Some(Answer::NotRegistered) => (!self.destroyed()).then_some(self),
                Some(Answer::KeyDestroyed) => self.destroyed().then_some(self),
                Some(_) => None,
            };
        };
        let mine = issued.filter(|(reg, _)| *reg == a.reg);
        match answer {
            Some(Answer::LoginOk { registration }) => {
                let (_, ke1) = mine.filter(|_| valid)?;
                if registration.is_some_and(|r| r != a.reg) {
                    return None;
                }
                let known = a.tested.contains(&ke1) || a.proven == Some(ke1);
                a.tested.clear();
                a.proven = known.then_some(ke1);
                // One KE3 per login: the vault forgets the login.
                self.logins.remove(&login);
                Some(self)
            }
            Some(Answer::WrongPassword { remaining }) => {
                let left = limit.saturating_sub(a.tested.len() as u8);
                let ok = !valid && mine.is_some() && *remaining == left;
                self.logins.remove(&login);
                ok.then_some(self)
            }
            None => {
                if let (true, Some((_, ke1))) = (valid, mine) {
                    let known = a.tested.contains(&ke1) || a.proven == Some(ke1);
                    a.tested.clear();
                    a.proven = known.then_some(ke1);
                    self.logins.remove(&login);
                }
                Some(self)
            }
            Some(_) => None,
        }
    }
}

/// Checks `history` against the model, for guess limit `limit`.
pub fn check(history: &History, limit: u8) -> Verdict {
    let mut per_user: BTreeMap<u64, Vec<Op>> = BTreeMap::new();
    let mut open: BTreeMap<u64, (usize, u64)> = BTreeMap::new();
    for (i, e) in history.events.iter().enumerate() {
        match e.kind {
            EventType::Invoke => {
                open.insert(e.process, (i, e.user));
            }
            kind => {
                let Some((invoke, user)) = open.remove(&e.process) else {
                    continue;
                };
                if kind == EventType::Fail
                    || (kind == EventType::Info && (!e.possible || e.copies == 0))
                    || matches!(e.call, Call::RegistrationStart)
                {
                    continue;
                }
                let ops = per_user.entry(user).or_default();
                ops.push(Op {
                    invoke,
                    ret: (kind == EventType::Ok).then_some(i),
                    call: e.call,
                    answer: if kind == EventType::Ok {
                        e.answer
                    } else {
                        None
                    },
                });
                // A duplicated request is two operations: the copy whose
                // answer was seen, and one whose answer was not.
                if e.copies > 1 && kind == EventType::Ok {
                    ops.push(Op {
                        invoke,
                        ret: None,
                        call: e.call,
                        answer: None,
                    });
                }
            }
        }
    }
    for (user, ops) in per_user {
        match Search::new(ops, limit).run() {
            Some(Ok(())) => {}
            Some(Err(stuck_at)) => return Verdict::NotLinearizable { user, stuck_at },
            None => return Verdict::Undecided { user },
        }
    }
    Verdict::Linearizable
}

struct Search {
    ops: Vec<Op>,
    limit: u8,
    seen: HashSet<(Vec<u64>, Model)>,
}

impl Search {
    fn new(mut ops: Vec<Op>, limit: u8) -> Self {
        ops.sort_by_key(|o| o.invoke);
        Search {
            ops,
            limit,
            seen: HashSet::new(),
        }
    }

    /// `Some(Ok(()))` if the operations linearize, `Some(Err(what))` if
    /// they cannot (with the operations the longest attempt could not
    /// place), or `None` if the search gave up.
    fn run(mut self) -> Option<Result<(), String>> {
        let words = self.ops.len().div_ceil(64);
        let mut stack = vec![(vec![0u64; words], Model::default(), 0usize)];
        let mut best = (0usize, vec![0u64; words]);
        while let Some((done, model, linearized)) = stack.pop() {
            if self.seen.len() > MAX_STATES_PER_USER {
                return None;
            }
            let is_done = |k: usize| done[k / 64] & (1 << (k % 64)) != 0;
            let min_ret = self
                .ops
                .iter()
                .enumerate()
                .filter(|(k, o)| !is_done(*k) && o.ret.is_some())
                .filter_map(|(_, o)| o.ret)
                .min();
            // Every `ok` operation is linearized: this order works.
            let Some(min_ret) = min_ret else {
                return Some(Ok(()));
            };
            if linearized >= best.0 {
                best = (linearized, done.clone());
            }
            // Candidates in invocation order; pushed in reverse, so the
            // earliest is tried first.
            let mut next_states = Vec::new();
            // `info` operations with the same request are interchangeable:
            // only the earliest invoked of them is a candidate.
            let mut info_calls: Vec<&Call> = Vec::new();
            for (k, op) in self.ops.iter().enumerate() {
                if op.invoke > min_ret {
                    break;
                }
                if is_done(k) {
                    continue;
                }
                if op.ret.is_none() {
                    if info_calls.contains(&&op.call) {
                        continue;
                    }
                    info_calls.push(&op.call);
                }
                let Some(next) = model.step(&op.call, op.answer.as_ref(), self.limit) else {
                    continue;
                };
                // An `info` operation that changes nothing here need not be
                // placed here (placing it later, or never, is the same).
                if op.ret.is_none() && next == model {
                    continue;
                }
                let mut d = done.clone();
                d[k / 64] |= 1 << (k % 64);
                if self.seen.insert((d.clone(), next.clone())) {
                    next_states.push((d, next, linearized + 1));
                }
            }
            // Or the internal step first, placing no operation.
            if let Some(next) = model.exhausted(self.limit) {
                if self.seen.insert((done.clone(), next.clone())) {
                    next_states.push((done.clone(), next, linearized));
                }
            }
            stack.extend(next_states.into_iter().rev());
        }
        let (_, done) = best;
        let stuck = self
            .ops
            .iter()
            .enumerate()
            .filter(|(k, o)| done[k / 64] & (1 << (k % 64)) == 0 && o.ret.is_some())
            .take(3)
            .map(|(_, o)| format!("{} {:?} answered {:?}", o.call.name(), o.call, o.answer))
            .collect::<Vec<_>>()
            .join("; ");
        Some(Err(stuck))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::History;

    const USER: u64 = 1;
    const R: RegistrationId = RegistrationId(7);

    fn content(n: u8) -> ContentDigest {
        ContentDigest([n; 32])
    }

    fn ke1(n: u8) -> Call {
        Call::LoginStart {
            ke1: Ke1Digest([n; 32]),
        }
    }

    fn ke2(login: u64, remaining: u8) -> Answer {
        Answer::Ke2 {
            login: LoginId(login),
            registration: Some(R),
            remaining,
        }
    }

    /// A registered user: stage and activate `R`, each answered.
    fn registered() -> History {
        let mut h = History::default();
        let stage = Call::Stage {
            content: content(1),
            genuine: true,
            replacing: None,
            seq: Some(0),
        };
        let p = h.invoke(USER, 0, stage, 0);
        h.delivered(p, 1);
        let staged = Answer::Staged {
            registration: R,
            displaced: false,
        };
        h.complete(p, staged, true, 1);
        let activate = Call::Activate {
            registration: R,
            content: content(1),
        };
        let p = h.invoke(USER, 0, activate, 2);
        h.delivered(p, 1);
        let activated = Answer::Activated {
            registration: R,
            remaining: 3,
        };
        h.complete(p, activated, true, 3);
        h
    }

    fn sequential(h: &mut History, call: Call, answer: Answer, at: u64) {
        let p = h.invoke(USER, 0, call, at);
        h.delivered(p, 1);
        h.complete(p, answer, true, at + 1);
    }

    #[test]
    fn a_correct_history_linearizes() {
        let mut h = registered();
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        // The same KE1 again is the same test: the same count.
        sequential(&mut h, ke1(1), ke2(12, 2), 12);
        sequential(&mut h, ke1(2), ke2(13, 1), 14);
        let finish = Call::LoginFinish {
            login: LoginId(13),
            valid: true,
        };
        sequential(
            &mut h,
            finish,
            Answer::LoginOk {
                registration: Some(R),
            },
            16,
        );
        sequential(&mut h, ke1(3), ke2(14, 2), 18);
        h.close(20, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
    }

    #[test]
    fn a_resend_counted_twice_does_not_linearize() {
        let mut h = registered();
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        sequential(&mut h, ke1(1), ke2(12, 1), 12);
        h.close(20, |_, _| true);
        assert!(matches!(
            check(&h, 3),
            Verdict::NotLinearizable { user: USER, .. }
        ));
    }

    #[test]
    fn a_stale_not_registered_does_not_linearize() {
        let mut h = registered();
        sequential(&mut h, ke1(1), Answer::NotRegistered, 10);
        h.close(20, |_, _| true);
        assert!(matches!(check(&h, 3), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn an_unanswered_request_may_have_taken_effect() {
        let mut h = registered();
        let lost = h.invoke(USER, 0, ke1(1), 10);
        h.delivered(lost, 1);
        sequential(&mut h, ke1(2), ke2(12, 1), 12);
        // Only if the first took effect is 1 the right count; the log
        // says it may have.
        h.close(20, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
        // If the log shows it had no effect, the count is wrong.
        let mut h = registered();
        let lost = h.invoke(USER, 0, ke1(1), 10);
        h.delivered(lost, 1);
        sequential(&mut h, ke1(2), ke2(12, 1), 12);
        h.close(20, |_, _| false);
        assert!(matches!(check(&h, 3), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn a_duplicated_request_is_also_an_unanswered_twin() {
        // Two copies of one KE1 request: the first consumed, a second
        // request consumed, and the answer seen is the second copy's
        // re-answer, read after both.
        let mut h = registered();
        let dup = h.invoke(USER, 0, ke1(1), 10);
        h.delivered(dup, 2);
        sequential(&mut h, ke1(2), ke2(12, 1), 11);
        h.complete(dup, ke2(11, 1), false, 14);
        h.close(20, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
    }

    /// A password change staged beside the record (replacing it, with a
    /// proof of K), then the record's budget spent by three guesses.
    fn change_staged_then_budget_spent() -> History {
        const S: RegistrationId = RegistrationId(8);
        let mut h = registered();
        let change = Call::Stage {
            content: content(2),
            genuine: true,
            replacing: Some(R),
            seq: Some(1),
        };
        let staged = Answer::Staged {
            registration: S,
            displaced: false,
        };
        sequential(&mut h, change, staged, 4);
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        sequential(&mut h, ke1(2), ke2(12, 1), 12);
        sequential(&mut h, ke1(3), ke2(13, 0), 14);
        h
    }

    #[test]
    fn a_destruction_takes_the_change_staged_beside_the_record() {
        const S: RegistrationId = RegistrationId(8);
        // A new KE1 destroys the record, and the staged change with it: a
        // delete naming the change is answered from the tombstone, and
        // the record stays destroyed. (Found by the simulator on the toy
        // group: `sim run --seed 315 --guess-limit 1 --faults all
        // --check-history`, a model that kept the change judged the
        // vault's `key-destroyed` impossible after the delete.)
        let mut h = change_staged_then_budget_spent();
        sequential(&mut h, ke1(4), Answer::KeyDestroyed, 16);
        let delete = Call::Delete { registration: S };
        sequential(&mut h, delete, Answer::Deleted { registration: S }, 18);
        sequential(&mut h, ke1(5), Answer::KeyDestroyed, 20);
        h.close(30, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
        // Nor can the change be activated after the destruction: that
        // would bring K back with a fresh budget (LOCK-4).
        for destroy in [ke1(4), ke1(1)] {
            let mut h = change_staged_then_budget_spent();
            // A new KE1 destroys it at once; a known one only lets Exhaust.
            let answer = Answer::KeyDestroyed;
            sequential(&mut h, destroy, answer, 16);
            let activate = Call::Activate {
                registration: S,
                content: content(2),
            };
            let activated = Answer::Activated {
                registration: S,
                remaining: 3,
            };
            sequential(&mut h, activate, activated, 18);
            h.close(30, |_, _| true);
            assert!(
                matches!(check(&h, 3), Verdict::NotLinearizable { .. }),
                "an activation after the destruction was accepted"
            );
        }
    }

    #[test]
    fn a_spent_budget_may_be_exhausted_between_operations() {
        // Three guesses spend a budget of 3; the record is then destroyed
        // without a client's operation (Exhaust), so even a KE1 already
        // tested is answered `KeyDestroyed`.
        let mut h = registered();
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        sequential(&mut h, ke1(2), ke2(12, 1), 12);
        sequential(&mut h, ke1(3), ke2(13, 0), 14);
        sequential(&mut h, ke1(3), Answer::KeyDestroyed, 16);
        h.close(20, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
        // With a guess left, nothing may destroy it.
        let mut h = registered();
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        sequential(&mut h, ke1(1), Answer::KeyDestroyed, 12);
        h.close(20, |_, _| true);
        assert!(matches!(check(&h, 3), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn a_login_takes_one_ke3() {
        let mut h = registered();
        sequential(&mut h, ke1(1), ke2(11, 2), 10);
        let finish = Call::LoginFinish {
            login: LoginId(11),
            valid: true,
        };
        let ok = Answer::LoginOk {
            registration: Some(R),
        };
        sequential(&mut h, finish, ok, 12);
        // The same login cannot be finished, and reset, twice.
        sequential(&mut h, finish, ok, 14);
        h.close(20, |_, _| true);
        assert!(matches!(check(&h, 3), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn an_unnamed_staging_is_not_a_registration_known_by_another_id() {
        // A stage of unknown outcome displaces R; R's owner deletes R and
        // is told it is gone; then the stage's resend is answered with the
        // staging it made. The delete must not be taken to have removed
        // that staging (R is known to be another registration).
        let mut h = registered();
        let stage = Call::Stage {
            content: content(2),
            genuine: true,
            replacing: None,
            seq: Some(1),
        };
        let lost = h.invoke(USER, 1, stage, 10);
        h.delivered(lost, 1);
        sequential(
            &mut h,
            Call::Delete { registration: R },
            Answer::Deleted { registration: R },
            12,
        );
        let staged = Answer::Staged {
            registration: RegistrationId(8),
            displaced: true,
        };
        sequential(&mut h, stage, staged, 14);
        h.close(20, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
    }

    #[test]
    fn an_unnamed_staging_is_no_registration_that_went_before_the_last() {
        // Seed 43, guess limit 1: R is displaced by another staging, R2,
        // which goes too (here deleted; there, exhausted). R's owner
        // stages afresh, its answer lost, then deletes R: the vault
        // answers that R's key lives on in that staging, and the staging's
        // delete is then answered `deleted`. The unnamed staging cannot be
        // R, though R is not the last registration that went: ids are
        // never reused.
        let r2 = RegistrationId(8);
        let r3 = RegistrationId(9);
        let mut h = registered();
        let stage = |n: u8, seq: u64| Call::Stage {
            content: content(n),
            genuine: true,
            replacing: None,
            seq: Some(seq),
        };
        let staged = |registration, displaced| Answer::Staged {
            registration,
            displaced,
        };
        sequential(&mut h, stage(2, 1), staged(r2, true), 10);
        let deleted = |registration| Answer::Deleted { registration };
        let delete = |registration| Call::Delete { registration };
        sequential(&mut h, delete(r2), deleted(r2), 12);
        let lost = h.invoke(USER, 0, stage(3, 2), 14);
        h.delivered(lost, 1);
        let lives_on = Answer::KeyLivesOn {
            registration: R,
            live: r3,
        };
        sequential(&mut h, delete(R), lives_on, 16);
        sequential(&mut h, delete(r3), deleted(r3), 18);
        sequential(&mut h, stage(4, 3), staged(RegistrationId(10), false), 20);
        h.close(30, |_, _| true);
        assert_eq!(check(&h, 3), Verdict::Linearizable);
    }
}
