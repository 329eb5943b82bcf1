//! The lockout rule: the one place that counts password tests.
//!
//! A password test is one OPRF evaluation, under a record's key, of an input
//! the requester chose: with it the requester can check one guess against
//! the record offline. The vault offers evaluations under a record's key
//! only in logins (KE2); registration requests are evaluated under a fresh
//! key of their own (`node.rs`, the `RegistrationStart` arm), so they test
//! nothing (docs/protocol.md, "No entry point is an oracle").
//!
//! Each active record has a guess budget of `limit` tests (default 10),
//! kept as the set of KE1s tested since the last proof of knowledge:
//! - a login with a KE1 not in the set is a new test: it consumes an
//!   attempt, committed through consensus before the vault releases KE2
//!   (which already lets the client test the guess offline; LOCK-2);
//! - a login with a KE1 already in the set (a retry, a duplicate, a replay)
//!   is the *same* test: it costs nothing, and its KE2 tests nothing new
//!   (the OPRF evaluates the same blinded element to the same value). So
//!   faults alone never spend an honest client's guesses (LOCK-5);
//! - only a proof of knowledge empties the set: a verified KE3 or an
//!   authenticated change (LOCK-3); the KE1 of the login that proved
//!   stays answerable, so a restore whose `LoginOk` was lost can finish;
//! - a login with a new KE1 when `limit` tests are spent destroys the
//!   record instead (LOCK-4);
//! - a spent budget ([`Attempts::spent`]) destroys the record as soon as
//!   no login against it can still prove knowledge: the leader proposes
//!   `Exhaust` once the logins it holds against the record failed (a KE3
//!   that did not verify) or expired, and, after a leader change, once one
//!   login TTL has passed since it took over (every login a former leader
//!   opened has expired by then). A login opened against a spent budget
//!   (a resent KE1) ends no later than one TTL after the leader learned the
//!   budget was spent or took the lead (`VaultNode::login_expiry`), so no
//!   stream of resends holds the record open. So "after `limit` wrong guesses the key is
//!   gone" holds in the storage within one login TTL and one commit, not
//!   only in the answers (LOCK-4; `node.rs`, `VaultNode::exhaust_spent`).
//!   The vault cannot tell an owner whose last login stalled past the TTL
//!   from an attacker who stopped after KE2 (which already tested the
//!   guess), so both cost the record.
//!
//! So between two proofs of knowledge at most `limit` distinct inputs are
//! evaluated under a record's key (LOCK-1).

use super::crypto::Ke1Digest;
use super::ids::LogIndex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The default guess limit, as in WhatsApp, iCloud Keychain escrow and SVR2.
pub const DEFAULT_GUESS_LIMIT: u8 = 10;

/// A record's guess budget. Always `1 <= limit` and at most `limit` tests;
/// a decoded value that breaks this (a corrupt snapshot) is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawAttempts")]
pub struct Attempts {
    limit: u8,
    /// Each KE1 tested since the last proof, and the log index of the
    /// entry that consumed its attempt.
    tested: BTreeMap<Ke1Digest, LogIndex>,
    /// The KE1 of the login that made the last proof, and the index that
    /// consumed its attempt.
    proven: Option<(Ke1Digest, LogIndex)>,
}

/// [`Attempts`] as it is encoded, before validation.
#[derive(Deserialize)]
struct RawAttempts {
    limit: u8,
    tested: BTreeMap<Ke1Digest, LogIndex>,
    proven: Option<(Ke1Digest, LogIndex)>,
}

impl TryFrom<RawAttempts> for Attempts {
    type Error = &'static str;

    fn try_from(raw: RawAttempts) -> Result<Self, Self::Error> {
        if raw.limit == 0 || raw.tested.len() > usize::from(raw.limit) {
            return Err("attempts: need 1 <= limit and at most limit tests");
        }
        Ok(Attempts {
            limit: raw.limit,
            tested: raw.tested,
            proven: raw.proven,
        })
    }
}

/// What starting a login does to the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginStart {
    /// A new test: one attempt consumed; this many remain after it.
    Consumed {
        /// Attempts left after this one.
        remaining: u8,
    },
    /// This KE1 was tested already (or made the last proof): nothing is
    /// consumed. Its attempt was consumed by the entry at `at`.
    AlreadyTested {
        /// Attempts left.
        remaining: u8,
        /// The index of the entry that consumed this KE1's attempt.
        at: LogIndex,
    },
    /// The budget was already spent: the record must be destroyed.
    Exhausted,
}

impl Attempts {
    /// A fresh budget of `limit` attempts. A limit of 0 is raised to 1.
    pub fn new(limit: u8) -> Self {
        Attempts {
            limit: limit.max(1),
            tested: BTreeMap::new(),
            proven: None,
        }
    }

    /// Attempts consumed since the last proof of knowledge.
    pub fn used(&self) -> u8 {
        // At most `limit`, so it fits.
        self.tested.len() as u8
    }

    /// The limit.
    pub fn limit(&self) -> u8 {
        self.limit
    }

    /// Attempts still available.
    pub fn remaining(&self) -> u8 {
        self.limit - self.used()
    }

    /// Whether every attempt is spent: a new KE1 would destroy the record,
    /// and once no login against it can finish, so does `Exhaust`.
    pub fn spent(&self) -> bool {
        self.tested.len() >= usize::from(self.limit)
    }

    /// Starts a login with `ke1` in the entry at `at`: a new test consumes
    /// one attempt, a known one nothing; or the budget is spent.
    pub fn start_login(&mut self, ke1: Ke1Digest, at: LogIndex) -> LoginStart {
        assert!(
            self.tested.len() <= usize::from(self.limit),
            "LOCK-1: {self:?}"
        );
        if let Some(first) = self
            .tested
            .get(&ke1)
            .copied()
            .or(self.proven.filter(|(p, _)| *p == ke1).map(|(_, i)| i))
        {
            return LoginStart::AlreadyTested {
                remaining: self.remaining(),
                at: first,
            };
        }
        if self.spent() {
            return LoginStart::Exhausted;
        }
        self.tested.insert(ke1, at);
        LoginStart::Consumed {
            remaining: self.remaining(),
        }
    }

    /// A proof of knowledge: a verified KE3 of the login with `ke1`. The
    /// full budget again. Callers must only call this on a proof (LOCK-3).
    pub fn reset_on_proof(&mut self, ke1: Ke1Digest) {
        let at = self
            .tested
            .get(&ke1)
            .copied()
            .or(self.proven.filter(|(p, _)| *p == ke1).map(|(_, i)| i));
        self.tested.clear();
        self.proven = at.map(|i| (ke1, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ke1(n: u8) -> Ke1Digest {
        Ke1Digest([n; 32])
    }

    #[test]
    fn exactly_limit_new_tests_then_exhausted() {
        let mut a = Attempts::new(3);
        assert_eq!(
            a.start_login(ke1(1), LogIndex(1)),
            LoginStart::Consumed { remaining: 2 }
        );
        assert_eq!(
            a.start_login(ke1(2), LogIndex(2)),
            LoginStart::Consumed { remaining: 1 }
        );
        assert_eq!(
            a.start_login(ke1(3), LogIndex(3)),
            LoginStart::Consumed { remaining: 0 }
        );
        assert_eq!(a.start_login(ke1(4), LogIndex(4)), LoginStart::Exhausted);
        assert_eq!(a.start_login(ke1(5), LogIndex(5)), LoginStart::Exhausted);
        a.reset_on_proof(ke1(3));
        assert_eq!(a.remaining(), 3);
    }

    #[test]
    fn the_same_ke1_is_one_test() {
        let mut a = Attempts::new(2);
        assert_eq!(
            a.start_login(ke1(1), LogIndex(4)),
            LoginStart::Consumed { remaining: 1 }
        );
        for at in 5..10 {
            assert_eq!(
                a.start_login(ke1(1), LogIndex(at)),
                LoginStart::AlreadyTested {
                    remaining: 1,
                    at: LogIndex(4)
                }
            );
        }
        // Even with the budget spent, a known KE1 is answered, not destroyed.
        a.start_login(ke1(2), LogIndex(10));
        assert_eq!(
            a.start_login(ke1(1), LogIndex(11)),
            LoginStart::AlreadyTested {
                remaining: 0,
                at: LogIndex(4)
            }
        );
        assert_eq!(a.start_login(ke1(3), LogIndex(12)), LoginStart::Exhausted);
    }

    #[test]
    fn the_proving_login_stays_answerable_and_costs_nothing() {
        let mut a = Attempts::new(2);
        a.start_login(ke1(1), LogIndex(1));
        a.reset_on_proof(ke1(1));
        assert_eq!(a.remaining(), 2);
        assert_eq!(
            a.start_login(ke1(1), LogIndex(3)),
            LoginStart::AlreadyTested {
                remaining: 2,
                at: LogIndex(1)
            }
        );
        // Another proof forgets it: it is a new test again.
        a.start_login(ke1(2), LogIndex(4));
        a.reset_on_proof(ke1(2));
        assert_eq!(
            a.start_login(ke1(1), LogIndex(5)),
            LoginStart::Consumed { remaining: 1 }
        );
    }

    #[test]
    fn impossible_budgets_do_not_decode() {
        let mut ok = Attempts::new(3);
        ok.start_login(ke1(1), LogIndex(1));
        let bytes = postcard::to_allocvec(&ok).unwrap();
        assert_eq!(postcard::from_bytes::<Attempts>(&bytes).unwrap(), ok);
        // A spent budget (exactly `limit` tests) is a real state: a snapshot
        // of it must decode.
        let mut spent = Attempts::new(2);
        spent.start_login(ke1(1), LogIndex(1));
        spent.start_login(ke1(2), LogIndex(2));
        let bytes = postcard::to_allocvec(&spent).unwrap();
        assert_eq!(postcard::from_bytes::<Attempts>(&bytes).unwrap(), spent);
        let mut over = Attempts::new(1);
        over.tested.insert(ke1(1), LogIndex(1));
        over.tested.insert(ke1(2), LogIndex(2));
        let bytes = postcard::to_allocvec(&over).unwrap();
        assert!(
            postcard::from_bytes::<Attempts>(&bytes).is_err(),
            "more tests than the limit"
        );
        let zero = postcard::to_allocvec(&(0u8, 0u8, 0u8)).unwrap();
        assert!(postcard::from_bytes::<Attempts>(&zero).is_err(), "limit 0");
    }

    #[test]
    fn zero_limit_is_one() {
        assert_eq!(Attempts::new(0).limit(), 1);
    }
}
