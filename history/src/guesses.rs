//! LOCK-1 on the history alone, in the manner of Jepsen's counter checker:
//! a bound, not a search. Per registration, the KE2s clients received are
//! password tests; between two proofs of knowledge (a verified KE3) there
//! may be at most `limit` distinct KE1s tested, and each KE2's `remaining`
//! can be no more than the limit less the tests it must come after.
//!
//! The history does not say where in its interval an operation took
//! effect, so the check only counts together tests that no possible proof
//! can separate: a group of tests is kept while no proof that may have
//! taken effect (an `ok` login for this registration, or any valid KE3 of
//! the user that may have: `info` with `possible`, or an `ok` whose
//! registration is unknown) has an interval that overlaps the group's span.
//! A KE1 whose login was (or may have been) proved is left out altogether:
//! the node keeps answering the proving login without a new test, so its
//! resends after the proof are no tests.
//! A violation it reports is therefore certain; it may miss one that
//! concurrency hides, which the per-step oracle (`check/oracle.rs`) and the
//! linearizability search are there for. Sorting aside, it is linear in
//! the history.

use super::{Answer, Call, EventType, History};
use backup_vault::vault::crypto::{Ke1Digest, RegistrationId};
use backup_vault::vault::protocol::LoginId;
use std::collections::{BTreeMap, BTreeSet};

/// What the bound found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every group of tests is within the limit.
    Within,
    /// More distinct KE1s were tested between two proofs than the limit.
    TooManyTests {
        /// The user.
        user: u64,
        /// The registration.
        registration: RegistrationId,
        /// Distinct KE1s tested in a span no proof can split.
        tests: usize,
    },
    /// A KE2 reported more guesses left than the tests before it allow.
    RemainingTooHigh {
        /// The user.
        user: u64,
        /// The registration.
        registration: RegistrationId,
        /// What it reported.
        remaining: u8,
        /// The most it could have been.
        at_most: u8,
    },
}

/// An operation's span in the history, by event index; `end` is `None`
/// for an operation that never completed (`info`): it may take effect at
/// any later point.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: Option<usize>,
}

impl Span {
    /// Whether something in this span may have happened between `a` and `b`.
    fn overlaps(&self, a: usize, b: usize) -> bool {
        self.start < b && self.end.is_none_or(|e| e > a)
    }
}

struct Test {
    span: Span,
    end: usize,
    ke1: Ke1Digest,
    remaining: u8,
}

/// Checks the bound on every registration of every user.
pub fn check(history: &History, limit: u8) -> Verdict {
    let mut invoked: BTreeMap<u64, (usize, u64, Call)> = BTreeMap::new();
    // Tests per (user, registration); possible proofs per user, with the
    // registration they are known to be for (None: unknown, any).
    let mut tests: BTreeMap<(u64, RegistrationId), Vec<Test>> = BTreeMap::new();
    let mut proofs: BTreeMap<u64, Vec<(Span, Option<RegistrationId>)>> = BTreeMap::new();
    // Which KE1 each login answered, and the KE1s of logins a valid KE3
    // may have proved.
    let mut login_ke1: BTreeMap<(u64, LoginId), Ke1Digest> = BTreeMap::new();
    let mut proven: BTreeSet<(u64, Ke1Digest)> = BTreeSet::new();
    let mut prove = |user: u64, login: LoginId, login_ke1: &BTreeMap<(u64, LoginId), Ke1Digest>| {
        if let Some(k) = login_ke1.get(&(user, login)) {
            proven.insert((user, *k));
        }
    };
    for (i, e) in history.events.iter().enumerate() {
        if e.kind == EventType::Invoke {
            invoked.insert(e.process, (i, e.user, e.call));
            continue;
        }
        let Some((start, user, call)) = invoked.remove(&e.process) else {
            continue;
        };
        match (call, e.kind, e.answer) {
            (
                Call::LoginStart { ke1 },
                EventType::Ok,
                Some(Answer::Ke2 {
                    login,
                    registration,
                    remaining,
                }),
            ) => {
                login_ke1.insert((user, login), ke1);
                let Some(registration) = registration else {
                    continue;
                };
                tests.entry((user, registration)).or_default().push(Test {
                    span: Span {
                        start,
                        end: Some(i),
                    },
                    end: i,
                    ke1,
                    remaining,
                });
            }
            (
                Call::LoginFinish { valid: true, login },
                EventType::Ok,
                Some(Answer::LoginOk { registration }),
            ) => {
                prove(user, login, &login_ke1);
                proofs.entry(user).or_default().push((
                    Span {
                        start,
                        end: Some(i),
                    },
                    registration,
                ));
            }
            (Call::LoginFinish { valid: true, login }, EventType::Info, _) if e.possible => {
                prove(user, login, &login_ke1);
                proofs
                    .entry(user)
                    .or_default()
                    .push((Span { start, end: None }, None));
            }
            _ => {}
        }
    }
    // Operations still open at the end are unfinished: a valid KE3 among
    // them may take effect at any point after it was sent.
    for (start, user, call) in invoked.into_values() {
        if let Call::LoginFinish { valid: true, login } = call {
            prove(user, login, &login_ke1);
            proofs
                .entry(user)
                .or_default()
                .push((Span { start, end: None }, None));
        }
    }
    for ((user, registration), mut list) in tests {
        list.retain(|t| !proven.contains(&(user, t.ke1)));
        list.sort_by_key(|t| t.span.start);
        let separating: Vec<Span> = proofs
            .get(&user)
            .into_iter()
            .flatten()
            .filter(|(_, r)| r.is_none_or(|r| r == registration))
            .map(|(s, _)| *s)
            .collect();
        let splits = |a: usize, b: usize| separating.iter().any(|p| p.overlaps(a, b));
        let mut group_start = 0;
        let mut group: Vec<&Test> = Vec::new();
        for t in &list {
            let span_end = group
                .iter()
                .map(|g| g.end)
                .max()
                .unwrap_or(t.end)
                .max(t.end);
            if !group.is_empty() && splits(group_start, span_end) {
                group.clear();
            }
            if group.is_empty() {
                group_start = t.span.start;
            }
            // The tests surely before this one in its group: answered
            // before it was sent.
            let before: BTreeSet<Ke1Digest> = group
                .iter()
                .filter(|g| g.end < t.span.start && g.ke1 != t.ke1)
                .map(|g| g.ke1)
                .collect();
            let at_most = u8::try_from(
                usize::from(limit)
                    .saturating_sub(before.len())
                    .saturating_sub(1),
            )
            .unwrap_or(0);
            if !splits(group_start, t.end) && t.remaining > at_most {
                return Verdict::RemainingTooHigh {
                    user,
                    registration,
                    remaining: t.remaining,
                    at_most,
                };
            }
            group.push(t);
            let distinct: BTreeSet<Ke1Digest> = group.iter().map(|g| g.ke1).collect();
            if distinct.len() > usize::from(limit) {
                return Verdict::TooManyTests {
                    user,
                    registration,
                    tests: distinct.len(),
                };
            }
        }
    }
    Verdict::Within
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HistoryEvent;

    fn reg() -> RegistrationId {
        RegistrationId(7)
    }

    fn ev(process: u64, kind: EventType, call: Call, answer: Option<Answer>) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            user: 1,
            actor: 0,
            call,
            answer,
            copies: 1,
            possible: true,
            time_ms: 0,
        }
    }

    fn guess(h: &mut History, p: u64, ke1: u8, remaining: u8) {
        let call = Call::LoginStart {
            ke1: Ke1Digest([ke1; 32]),
        };
        h.events.push(ev(p, EventType::Invoke, call, None));
        h.events.push(ev(
            p,
            EventType::Ok,
            call,
            Some(Answer::Ke2 {
                login: LoginId(u64::from(ke1)),
                registration: Some(reg()),
                remaining,
            }),
        ));
    }

    /// A verified KE3 of the login that KE1 number `ke1` started (0: a
    /// login the history never answered).
    fn proof(h: &mut History, p: u64, ke1: u8) {
        let call = Call::LoginFinish {
            login: LoginId(u64::from(ke1)),
            valid: true,
        };
        h.events.push(ev(p, EventType::Invoke, call, None));
        h.events.push(ev(
            p,
            EventType::Ok,
            call,
            Some(Answer::LoginOk {
                registration: Some(reg()),
            }),
        ));
    }

    #[test]
    fn tests_up_to_the_limit_pass_and_one_more_does_not() {
        let mut h = History::default();
        guess(&mut h, 1, 1, 2);
        guess(&mut h, 2, 2, 1);
        guess(&mut h, 3, 3, 0);
        assert_eq!(check(&h, 3), Verdict::Within);
        guess(&mut h, 4, 4, 0);
        assert!(matches!(
            check(&h, 3),
            Verdict::TooManyTests { tests: 4, .. }
        ));
    }

    #[test]
    fn a_resent_ke1_is_one_test_and_a_proof_starts_a_new_count() {
        let mut h = History::default();
        guess(&mut h, 1, 1, 1);
        guess(&mut h, 2, 1, 1);
        guess(&mut h, 3, 2, 0);
        proof(&mut h, 4, 0);
        guess(&mut h, 5, 3, 1);
        guess(&mut h, 6, 4, 0);
        assert_eq!(check(&h, 2), Verdict::Within);
    }

    #[test]
    fn the_proving_ke1_resent_after_its_proof_is_no_test() {
        let mut h = History::default();
        guess(&mut h, 1, 1, 0);
        proof(&mut h, 2, 1);
        guess(&mut h, 3, 1, 1); // a replay of the proving KE1: answered, free
        guess(&mut h, 4, 2, 0);
        assert_eq!(check(&h, 1), Verdict::Within);
    }

    #[test]
    fn a_budget_reported_fuller_than_it_can_be_is_caught() {
        let mut h = History::default();
        guess(&mut h, 1, 1, 2);
        guess(&mut h, 2, 2, 2); // must be at most 1 after the first test
        assert!(matches!(
            check(&h, 3),
            Verdict::RemainingTooHigh {
                remaining: 2,
                at_most: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_proof_that_may_fall_between_two_tests_keeps_them_apart() {
        let mut h = History::default();
        guess(&mut h, 1, 1, 0);
        // A KE3 sent and never answered: it may have reset the budget.
        h.events.push(ev(
            9,
            EventType::Invoke,
            Call::LoginFinish {
                login: LoginId(0),
                valid: true,
            },
            None,
        ));
        guess(&mut h, 2, 2, 0);
        assert_eq!(check(&h, 1), Verdict::Within);
    }
}
