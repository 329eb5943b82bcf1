//! LOCK-5 on the committed log: a login start named again within its
//! budget (a resend, a duplicate, a retry at another leader) is answered
//! from its first test, and never destroys the record.
//!
//! A device whose `LoginOk` or KE2 was lost sends the same KE1 again, and
//! the leader proposes a `ConsumeAttempt` naming it again. Once the
//! budget is spent (the honest login was its last attempt), a vault that
//! looks at the budget before it looks the KE1 up destroys the record for
//! a guess nobody made: faults alone cost an honest restore its record.
//! LOCK-4 allows a destruction at a spent budget and LOCK-5's KE2 count
//! sees nothing (the resend gets no KE2), so the rule is judged here, on
//! the entries in the order they apply, against a ledger of each budget's
//! tested KE1s that this checker keeps itself: the KE1s of the committed
//! `ConsumeAttempt`s naming a registration since its activation or the
//! last committed `Reset` of it (a proof of knowledge: the full budget
//! again, the proving login's own KE1 still known). Only the outcome is
//! the code's, read where the auditor's reference store applies the
//! entry (`consensus.rs`).
//!
//! The ledger may hold a KE1 the store does not (a `ConsumeAttempt` or a
//! `Reset` that applied as stale); that only makes the rule lenient,
//! never a false alarm: a registration it names is not active then, and
//! becomes so again only through an activation, which starts its ledger
//! afresh.

use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::{Ke1Digest, RegistrationId, VaultCrypto};
use backup_vault::vault::ids::LogIndex;
use backup_vault::vault::records::{Command, Outcome};
use std::collections::{BTreeMap, BTreeSet};

/// The ledger of tested KE1s, per registration.
#[derive(Debug, Default)]
pub struct Resends {
    /// Per registration, the KE1s of its current budget.
    tested: BTreeMap<RegistrationId, BTreeSet<Ke1Digest>>,
}

impl Resends {
    /// Judges the entry at `index`, which the reference applied with
    /// `outcome`, and learns from it. True: it was a resent login start
    /// (coverage).
    ///
    /// # Errors
    /// LOCK-5 if a `ConsumeAttempt` naming a KE1 already tested in the
    /// registration's budget destroyed the record.
    pub fn applied<C: VaultCrypto>(
        &mut self,
        index: LogIndex,
        command: &Command<C>,
        outcome: &Outcome,
    ) -> Result<bool, Violation> {
        match *command {
            Command::Activate { registration, .. } => {
                self.tested.remove(&registration);
            }
            Command::Reset {
                registration, ke1, ..
            } => {
                // The full budget again; the proving login's KE1 stays
                // known, so that its own resend is answered from it.
                let known = self
                    .tested
                    .get(&registration)
                    .is_some_and(|t| t.contains(&ke1));
                let budget = self.tested.entry(registration).or_default();
                budget.clear();
                if known {
                    budget.insert(ke1);
                }
            }
            Command::ConsumeAttempt {
                user,
                registration,
                ke1,
            } => {
                let budget = self.tested.entry(registration).or_default();
                if !budget.insert(ke1) {
                    if matches!(outcome, Outcome::Destroyed) {
                        return Err(Violation::user(
                            Invariant::Lock5,
                            user,
                            None,
                            format!(
                                "the login start at index {} names a KE1 already tested in registration {:x}'s budget (a resend), and destroyed the record: a resend must be answered from its first test, or faults alone cost an honest restore its record",
                                index.0, registration.0
                            ),
                        ));
                    }
                    return Ok(true);
                }
            }
            Command::Stage { .. } | Command::Delete { .. } | Command::Exhaust { .. } => {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::vault::crypto::ContentDigest;
    use backup_vault::vault::ids::UserId;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;

    type Cmd = Command<OpaqueCrypto>;
    const R: RegistrationId = RegistrationId(7);

    fn consume(n: u8) -> Cmd {
        Command::ConsumeAttempt {
            user: UserId(1),
            registration: R,
            ke1: Ke1Digest([n; 32]),
        }
    }

    fn reset(n: u8) -> Cmd {
        Command::Reset {
            user: UserId(1),
            registration: R,
            ke1: Ke1Digest([n; 32]),
        }
    }

    fn activate() -> Cmd {
        Command::Activate {
            user: UserId(1),
            registration: R,
            content: ContentDigest([0; 32]),
        }
    }

    fn consumed() -> Outcome {
        Outcome::AttemptConsumed { remaining: 0 }
    }

    #[test]
    fn a_resend_that_destroys_is_caught_and_a_new_guess_that_does_is_not() {
        let mut r = Resends::default();
        let at = LogIndex(1);
        assert_eq!(r.applied(at, &activate(), &Outcome::Stale), Ok(false));
        assert_eq!(r.applied(at, &consume(1), &consumed()), Ok(false));
        // A new KE1 at a spent budget destroys: LOCK-4's rule, not ours.
        assert_eq!(r.applied(at, &consume(2), &Outcome::Destroyed), Ok(false));
        // The first one again, answered from its test: judged, fine.
        let answered = Outcome::AlreadyTested {
            remaining: 0,
            at: LogIndex(1),
        };
        assert_eq!(r.applied(at, &consume(1), &answered), Ok(true));
        let v = r
            .applied(LogIndex(9), &consume(1), &Outcome::Destroyed)
            .expect_err("a resend destroyed the record");
        assert_eq!(v.invariant, "LOCK-5");
        assert!(v.message.contains("index 9"), "{}", v.message);
    }

    #[test]
    fn a_reset_keeps_only_the_proving_login_and_an_activation_forgets_all() {
        let mut r = Resends::default();
        let at = LogIndex(1);
        r.applied(at, &consume(1), &consumed()).unwrap();
        r.applied(at, &consume(2), &consumed()).unwrap();
        r.applied(at, &reset(2), &Outcome::Stale).unwrap();
        // KE1 1 belongs to the spent budget: a new test now.
        assert_eq!(r.applied(at, &consume(1), &Outcome::Destroyed), Ok(false));
        // KE1 2 proved: its resend is still answered from its test.
        assert!(r.applied(at, &consume(2), &Outcome::Destroyed).is_err());
        // A reset by a login never tested keeps nothing.
        r.applied(at, &reset(5), &Outcome::Stale).unwrap();
        assert_eq!(r.applied(at, &consume(2), &consumed()), Ok(false));
        r.applied(at, &activate(), &Outcome::Stale).unwrap();
        assert_eq!(r.applied(at, &consume(2), &consumed()), Ok(false));
    }
}
