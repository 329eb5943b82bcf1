//! The record store as one client sees it, as a sequential object: the
//! reference for the linearizability check (CONS-4).
//!
//! The spec covers one user's record. An operation is a client request and
//! its return the vault's final answer, with the values a client cannot
//! predict (login ids, KE2 bytes, sealed keys) left out. Answers that say
//! "the outcome is unknown" (`NotLeader`, `Retry`) are not returns: such an
//! operation stays in flight forever, and the tester may place it anywhere
//! after its invocation, or nowhere.

use backup_vault::vault::crypto::{RegistrationId, SymPassword, SymbolicCrypto};
use backup_vault::vault::protocol::{ClientResponse, Refusal};
use stateright::semantics::SequentialSpec;

/// An operation on one user's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordOp {
    /// KE1 with this guess.
    LoginStart {
        /// The guessed password.
        guess: SymPassword,
    },
    /// KE3 for a login that KE2 started against `registration`; `right`
    /// says whether that login's guess was the password.
    LoginFinish {
        /// The registration the login was against.
        registration: RegistrationId,
        /// Whether the guess was right.
        right: bool,
    },
    /// Stage a registration with `password`, replacing `replacing` with a
    /// proof of K, or without proof.
    Stage {
        /// The new password.
        password: SymPassword,
        /// The active registration replaced with a proof of K.
        replacing: Option<RegistrationId>,
    },
    /// Activate a staged registration (with a proof of K).
    Activate {
        /// The staged registration.
        registration: RegistrationId,
    },
}

/// A final answer, without unpredictable values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordRet {
    /// KE2: the attempt was consumed.
    Ke2 {
        /// Guesses left.
        remaining: u8,
    },
    /// The key was released.
    LoginOk {
        /// Guesses available.
        remaining: u8,
    },
    /// KE3 did not verify.
    WrongPassword {
        /// Guesses left.
        remaining: u8,
    },
    /// The record is destroyed.
    KeyDestroyed,
    /// No active record.
    NotRegistered,
    /// The login is unknown to this leader.
    LoginExpired,
    /// Staged with this id.
    Staged {
        /// The new registration.
        registration: RegistrationId,
        /// Whether the active record was destroyed.
        displaced: bool,
    },
    /// Activated.
    Activated {
        /// Guesses available.
        remaining: u8,
    },
    /// Refused without a state change.
    Refused(Refusal),
}

impl RecordRet {
    /// The final answer a response gives, or `None` if the outcome is
    /// unknown to the client (`NotLeader`, `Retry`).
    pub fn from_response(response: &ClientResponse<SymbolicCrypto>) -> Option<RecordRet> {
        Some(match response {
            ClientResponse::Ke2 { remaining, .. } => RecordRet::Ke2 {
                remaining: *remaining,
            },
            ClientResponse::LoginOk { remaining, .. } => RecordRet::LoginOk {
                remaining: *remaining,
            },
            ClientResponse::WrongPassword { remaining } => RecordRet::WrongPassword {
                remaining: *remaining,
            },
            ClientResponse::KeyDestroyed => RecordRet::KeyDestroyed,
            ClientResponse::NotRegistered => RecordRet::NotRegistered,
            ClientResponse::LoginExpired => RecordRet::LoginExpired,
            ClientResponse::Staged {
                registration,
                displaced,
            } => RecordRet::Staged {
                registration: *registration,
                displaced: *displaced,
            },
            ClientResponse::Activated { remaining } => RecordRet::Activated {
                remaining: *remaining,
            },
            ClientResponse::Refused(r) => RecordRet::Refused(*r),
            ClientResponse::NotLeader { .. }
            | ClientResponse::Retry
            | ClientResponse::RegistrationResponse(_)
            | ClientResponse::Deleted => return None,
        })
    }
}

/// An active record in the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpecActive {
    /// Its registration.
    pub registration: RegistrationId,
    /// Its password.
    pub password: SymPassword,
    /// Attempts used since the last proof.
    pub used: u8,
}

/// One user's record, sequentially.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordSpec {
    /// The guess limit.
    pub limit: u8,
    /// The record logins guess against.
    pub active: Option<SpecActive>,
    /// A registration waiting for activation.
    pub staged: Option<(RegistrationId, SymPassword)>,
    /// Whether the last record went away by the guess limit.
    pub destroyed: bool,
}

impl RecordSpec {
    fn no_active(&self) -> RecordRet {
        if self.destroyed {
            RecordRet::KeyDestroyed
        } else {
            RecordRet::NotRegistered
        }
    }

    /// Applies `op`; a `Stage` takes its id from `chosen` (the vault picks
    /// it at random, so the spec accepts whatever the vault answered).
    fn apply(&mut self, op: &RecordOp, chosen: RegistrationId) -> RecordRet {
        match *op {
            RecordOp::LoginStart { .. } => match &mut self.active {
                Some(a) if a.used < self.limit => {
                    a.used += 1;
                    RecordRet::Ke2 {
                        remaining: self.limit - a.used,
                    }
                }
                Some(_) => {
                    self.active = None;
                    self.destroyed = true;
                    RecordRet::KeyDestroyed
                }
                None => self.no_active(),
            },
            RecordOp::LoginFinish {
                registration,
                right,
            } => match &mut self.active {
                Some(a) if a.registration == registration => {
                    if right {
                        a.used = 0;
                        RecordRet::LoginOk {
                            remaining: self.limit,
                        }
                    } else {
                        RecordRet::WrongPassword {
                            remaining: self.limit - a.used,
                        }
                    }
                }
                _ => self.no_active(),
            },
            RecordOp::Stage {
                password,
                replacing,
            } => {
                let mut displaced = false;
                match replacing {
                    Some(r) if self.active.map(|a| a.registration) != Some(r) => {
                        return RecordRet::Refused(Refusal::UnknownRegistration)
                    }
                    Some(_) => {}
                    None => {
                        if self.active.take().is_some() {
                            displaced = true;
                            self.destroyed = false;
                        }
                    }
                }
                self.staged = Some((chosen, password));
                RecordRet::Staged {
                    registration: chosen,
                    displaced,
                }
            }
            RecordOp::Activate { registration } => match self.staged {
                Some((r, password)) if r == registration => {
                    self.staged = None;
                    self.active = Some(SpecActive {
                        registration,
                        password,
                        used: 0,
                    });
                    self.destroyed = false;
                    RecordRet::Activated {
                        remaining: self.limit,
                    }
                }
                _ => RecordRet::Refused(Refusal::UnknownRegistration),
            },
        }
    }
}

impl SequentialSpec for RecordSpec {
    type Op = RecordOp;
    type Ret = RecordRet;

    fn invoke(&mut self, op: &RecordOp) -> RecordRet {
        // Only reached for operations that never returned; whatever id a
        // lost Stage chose, no client holds it.
        self.apply(op, RegistrationId(0))
    }

    fn is_valid_step(&mut self, op: &RecordOp, ret: &RecordRet) -> bool {
        match (op, ret) {
            // A login the leader no longer remembers (expired, or leadership
            // moved) changes nothing.
            (RecordOp::LoginFinish { .. }, RecordRet::LoginExpired) => true,
            (RecordOp::Stage { .. }, RecordRet::Staged { registration, .. }) => {
                self.apply(op, *registration) == *ret
            }
            _ => self.apply(op, RegistrationId(0)) == *ret,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    fn spec() -> RecordSpec {
        RecordSpec {
            limit: 2,
            active: Some(SpecActive {
                registration: RegistrationId(5),
                password: SymPassword(1),
                used: 0,
            }),
            staged: None,
            destroyed: false,
        }
    }

    #[test]
    fn sequential_guesses_count_down_then_destroy() {
        let mut s = spec();
        let guess = RecordOp::LoginStart {
            guess: SymPassword(9),
        };
        assert!(s.is_valid_step(&guess, &RecordRet::Ke2 { remaining: 1 }));
        assert!(s.is_valid_step(&guess, &RecordRet::Ke2 { remaining: 0 }));
        assert!(s.is_valid_step(&guess, &RecordRet::KeyDestroyed));
        assert!(s.is_valid_step(&guess, &RecordRet::KeyDestroyed));
    }

    #[test]
    fn a_stale_count_after_a_completed_guess_is_not_linearizable() {
        let guess = RecordOp::LoginStart {
            guess: SymPassword(9),
        };
        let mut t = LinearizabilityTester::new(spec());
        t.on_invret(1u64, guess, RecordRet::Ke2 { remaining: 1 })
            .unwrap();
        // A later guess that reports the full budget again is impossible.
        t.on_invret(2u64, guess, RecordRet::Ke2 { remaining: 1 })
            .unwrap();
        assert!(!t.is_consistent());
        // Concurrent guesses may come back in either order.
        let mut t = LinearizabilityTester::new(spec());
        t.on_invoke(1u64, guess).unwrap();
        t.on_invoke(2u64, guess).unwrap();
        t.on_return(2u64, RecordRet::Ke2 { remaining: 1 }).unwrap();
        t.on_return(1u64, RecordRet::Ke2 { remaining: 0 }).unwrap();
        assert!(t.is_consistent());
    }
}
