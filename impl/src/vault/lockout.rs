//! The lockout rule: the one place that counts password guesses.
//!
//! Each active record has a guess budget: `limit` attempts (default 10). An
//! attempt is *consumed* when a login starts, before the vault releases KE2
//! (which already lets the client test a guess offline), and it is committed
//! through consensus first (LOCK-2). Only a proof of knowledge gives the
//! budget back: a verified KE3 or an authenticated change (LOCK-3). A login
//! that starts while the budget is spent destroys the record instead (LOCK-4).
//!
//! So between two proofs of knowledge at most `limit` KE2 messages are
//! released for a record (LOCK-1). A crash or a lost message between KE2 and
//! KE3 costs an attempt; nothing ever gives one back except a proof.

use serde::{Deserialize, Serialize};

/// The default guess limit, as in WhatsApp, iCloud Keychain escrow and SVR2.
pub const DEFAULT_GUESS_LIMIT: u8 = 10;

/// A record's guess budget. Always `1 <= limit` and `used <= limit`; a
/// decoded value that breaks this (a corrupt snapshot) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawAttempts")]
pub struct Attempts {
    used: u8,
    limit: u8,
}

/// [`Attempts`] as it is encoded, before validation.
#[derive(Deserialize)]
struct RawAttempts {
    used: u8,
    limit: u8,
}

impl TryFrom<RawAttempts> for Attempts {
    type Error = &'static str;

    fn try_from(raw: RawAttempts) -> Result<Self, Self::Error> {
        if raw.limit == 0 || raw.used > raw.limit {
            return Err("attempts: need 1 <= limit and used <= limit");
        }
        Ok(Attempts {
            used: raw.used,
            limit: raw.limit,
        })
    }
}

/// What starting a login does to the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginStart {
    /// One attempt consumed; this many remain after it.
    Consumed {
        /// Attempts left after this one.
        remaining: u8,
    },
    /// The budget was already spent: the record must be destroyed.
    Exhausted,
}

impl Attempts {
    /// A fresh budget of `limit` attempts. A limit of 0 is raised to 1.
    pub fn new(limit: u8) -> Self {
        Attempts {
            used: 0,
            limit: limit.max(1),
        }
    }

    /// Attempts consumed since the last proof of knowledge.
    pub fn used(self) -> u8 {
        self.used
    }

    /// The limit.
    pub fn limit(self) -> u8 {
        self.limit
    }

    /// Attempts still available.
    pub fn remaining(self) -> u8 {
        self.limit - self.used
    }

    /// Starts a login: consumes one attempt, or reports the budget spent.
    pub fn start_login(&mut self) -> LoginStart {
        debug_assert!(self.used <= self.limit, "LOCK-1: {self:?}");
        if self.used >= self.limit {
            return LoginStart::Exhausted;
        }
        self.used += 1;
        LoginStart::Consumed {
            remaining: self.remaining(),
        }
    }

    /// A proof of knowledge (verified KE3, authenticated change): the full
    /// budget again. Callers must only call this on a proof (LOCK-3).
    pub fn reset_on_proof(&mut self) {
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_limit_logins_then_exhausted() {
        let mut a = Attempts::new(3);
        assert_eq!(a.start_login(), LoginStart::Consumed { remaining: 2 });
        assert_eq!(a.start_login(), LoginStart::Consumed { remaining: 1 });
        assert_eq!(a.start_login(), LoginStart::Consumed { remaining: 0 });
        assert_eq!(a.start_login(), LoginStart::Exhausted);
        assert_eq!(a.start_login(), LoginStart::Exhausted);
        a.reset_on_proof();
        assert_eq!(a.remaining(), 3);
    }

    #[test]
    fn impossible_budgets_do_not_decode() {
        let ok = postcard::to_allocvec(&Attempts::new(3)).unwrap();
        assert_eq!(
            postcard::from_bytes::<Attempts>(&ok).unwrap(),
            Attempts::new(3)
        );
        assert!(
            postcard::from_bytes::<Attempts>(&[4, 3]).is_err(),
            "used > limit"
        );
        assert!(
            postcard::from_bytes::<Attempts>(&[0, 0]).is_err(),
            "limit 0"
        );
    }

    #[test]
    fn zero_limit_is_one() {
        assert_eq!(Attempts::new(0).limit(), 1);
    }
}
