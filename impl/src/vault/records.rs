//! The record store: the state machine that consensus replicates.
//!
//! Every change to a user's record is a [`Command`] in the log; every node
//! applies the committed commands in log order with [`RecordStore::apply`],
//! which is deterministic (ordered maps only, no randomness, no clock), so
//! all nodes hold the same records (CONS-4). The leader validates requests
//! (proofs of key, password checks) *before* proposing; `apply` re-checks
//! only what can have changed since: that the registration a command was
//! validated against is still the current one.
//!
//! Per user there is at most one *active* record (the one logins guess
//! against) and at most one *staged* registration (not guessable until it
//! is activated with a proof of K; REG-2). Destroying or deleting a record
//! drops its secrets from the state (LOCK-4); a tombstone keeps only the
//! registration id, so a client can be told its key was destroyed.

use super::crypto::{RegistrationId, VaultCrypto};
use super::ids::UserId;
use super::lockout::{Attempts, LoginStart};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A record logins can guess against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ActiveRecord<C: VaultCrypto> {
    /// Which registration this is.
    pub registration: RegistrationId,
    /// What checks passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped so that only a logged-in client can unwrap it.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K.
    pub verifier: C::KeyVerifier,
    /// The guess budget.
    pub attempts: Attempts,
}

/// A registration waiting for activation; it cannot be guessed against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct StagedRecord<C: VaultCrypto> {
    /// Which registration this is.
    pub registration: RegistrationId,
    /// What will check passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K (the activation proof among them).
    pub verifier: C::KeyVerifier,
}

/// Why a record went away; kept without any secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tombstone {
    /// The guess limit was reached (LOCK-4).
    Destroyed(RegistrationId),
    /// Replaced by a registration without proof of K: destroyed first (LOCK-3).
    Displaced(RegistrationId),
    /// The user disabled backups.
    Deleted(RegistrationId),
}

/// Everything the vault holds for one user.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct UserRecord<C: VaultCrypto> {
    /// The record logins guess against.
    pub active: Option<ActiveRecord<C>>,
    /// A registration waiting for activation.
    pub staged: Option<StagedRecord<C>>,
    /// What happened to the last record that went away.
    pub tombstone: Option<Tombstone>,
}

impl<C: VaultCrypto> UserRecord<C> {
    /// The active record, if it is registration `registration`: the check
    /// every command about an active record makes before it applies.
    fn active_for(&mut self, registration: RegistrationId) -> Option<&mut ActiveRecord<C>> {
        self.active
            .as_mut()
            .filter(|a| a.registration == registration)
    }
}

impl<C: VaultCrypto> Default for UserRecord<C> {
    fn default() -> Self {
        UserRecord {
            active: None,
            staged: None,
            tombstone: None,
        }
    }
}

/// A change to the record store: one log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Command<C: VaultCrypto> {
    /// Stage a registration. `keep_active` names the active registration a
    /// proof of K was checked against; without it the active record, if
    /// any, is destroyed first.
    Stage {
        /// The user.
        user: UserId,
        /// The new registration's id (chosen by the leader).
        registration: RegistrationId,
        /// Its password file.
        password_file: C::PasswordFile,
        /// Its wrapped key.
        wrapped_key: C::WrappedKey,
        /// Its proof-of-key verifier.
        verifier: C::KeyVerifier,
        /// The active registration proved to be replaced by the owner of K.
        keep_active: Option<RegistrationId>,
    },
    /// Make a staged registration active, with a fresh guess budget (the
    /// leader checked a proof of K for it).
    Activate {
        /// The user.
        user: UserId,
        /// The staged registration.
        registration: RegistrationId,
    },
    /// A login started: consume one attempt, or destroy an exhausted record.
    ConsumeAttempt {
        /// The user.
        user: UserId,
        /// The active registration the login is against.
        registration: RegistrationId,
    },
    /// A login finished with a verified KE3: the full budget again.
    Reset {
        /// The user.
        user: UserId,
        /// The active registration the login was against.
        registration: RegistrationId,
    },
    /// Delete the user's records (the leader checked a proof of K).
    Delete {
        /// The user.
        user: UserId,
        /// The registration the proof was about.
        registration: RegistrationId,
    },
}

impl<C: VaultCrypto> Command<C> {
    /// The user the command is about.
    pub fn user(&self) -> UserId {
        match self {
            Command::Stage { user, .. }
            | Command::Activate { user, .. }
            | Command::ConsumeAttempt { user, .. }
            | Command::Reset { user, .. }
            | Command::Delete { user, .. } => *user,
        }
    }
}

/// What applying a command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// The registration is staged.
    Staged {
        /// Its id.
        registration: RegistrationId,
        /// Whether an active record was destroyed to make room (no proof of K).
        displaced: bool,
    },
    /// The registration is active with this many guesses.
    Activated {
        /// Guesses available.
        remaining: u8,
    },
    /// One attempt consumed; KE2 may now be released.
    AttemptConsumed {
        /// Guesses left after this one.
        remaining: u8,
    },
    /// The budget was spent: the record is destroyed and its secrets erased.
    Destroyed,
    /// The budget is full again.
    Reset {
        /// Guesses available.
        remaining: u8,
    },
    /// The records are deleted.
    Deleted,
    /// The command no longer applies: the registration it was validated
    /// against is gone or was replaced since.
    Stale,
}

/// All users' records, replicated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RecordStore<C: VaultCrypto> {
    users: BTreeMap<UserId, UserRecord<C>>,
    guess_limit: u8,
}

impl<C: VaultCrypto> RecordStore<C> {
    /// An empty store whose new records get `guess_limit` guesses.
    pub fn new(guess_limit: u8) -> Self {
        RecordStore {
            users: BTreeMap::new(),
            guess_limit,
        }
    }

    /// The guess limit of new records.
    pub fn guess_limit(&self) -> u8 {
        self.guess_limit
    }

    /// One user's records.
    pub fn get(&self, user: UserId) -> Option<&UserRecord<C>> {
        self.users.get(&user)
    }

    /// Every user's records, in user order.
    pub fn iter(&self) -> impl Iterator<Item = (&UserId, &UserRecord<C>)> {
        self.users.iter()
    }

    /// Broken variant `KeepKeyOnDestroy` (see [`crate::flaws`]): puts a
    /// destroyed record's secrets back next to its tombstone.
    pub(crate) fn flaw_restore_active(&mut self, user: UserId, active: Option<ActiveRecord<C>>) {
        if let Some(active) = active {
            self.users.entry(user).or_default().active = Some(active);
        }
    }

    /// Applies one committed command. Deterministic.
    pub fn apply(&mut self, command: &Command<C>) -> Outcome {
        let limit = self.guess_limit;
        let rec = self.users.entry(command.user()).or_default();
        let outcome = Self::apply_to(rec, command, limit);
        if rec.active.is_none() && rec.staged.is_none() && rec.tombstone.is_none() {
            self.users.remove(&command.user());
        }
        outcome
    }

    fn apply_to(rec: &mut UserRecord<C>, command: &Command<C>, limit: u8) -> Outcome {
        let active_is = |rec: &UserRecord<C>, id: RegistrationId| {
            rec.active.as_ref().is_some_and(|a| a.registration == id)
        };
        match command {
            Command::Stage {
                registration,
                password_file,
                wrapped_key,
                verifier,
                keep_active,
                ..
            } => {
                let mut displaced = false;
                match keep_active {
                    Some(id) if !active_is(rec, *id) => return Outcome::Stale,
                    Some(_) => {}
                    None => {
                        // LOCK-3: no proof of K, so the old record is
                        // destroyed before anything new can be guessed at.
                        if let Some(old) = rec.active.take() {
                            rec.tombstone = Some(Tombstone::Displaced(old.registration));
                            displaced = true;
                        }
                    }
                }
                rec.staged = Some(StagedRecord {
                    registration: *registration,
                    password_file: password_file.clone(),
                    wrapped_key: wrapped_key.clone(),
                    verifier: verifier.clone(),
                });
                Outcome::Staged {
                    registration: *registration,
                    displaced,
                }
            }
            Command::Activate { registration, .. } => {
                let Some(staged) = rec.staged.take_if(|s| s.registration == *registration) else {
                    return Outcome::Stale;
                };
                let attempts = Attempts::new(limit);
                rec.active = Some(ActiveRecord {
                    registration: staged.registration,
                    password_file: staged.password_file,
                    wrapped_key: staged.wrapped_key,
                    verifier: staged.verifier,
                    attempts,
                });
                Outcome::Activated {
                    remaining: attempts.remaining(),
                }
            }
            Command::ConsumeAttempt { registration, .. } => {
                let Some(active) = rec.active_for(*registration) else {
                    return Outcome::Stale;
                };
                match active.attempts.start_login() {
                    LoginStart::Consumed { remaining } => Outcome::AttemptConsumed { remaining },
                    LoginStart::Exhausted => {
                        // LOCK-4: the secrets go with the record.
                        rec.active = None;
                        rec.tombstone = Some(Tombstone::Destroyed(*registration));
                        Outcome::Destroyed
                    }
                }
            }
            Command::Reset { registration, .. } => {
                let Some(active) = rec.active_for(*registration) else {
                    return Outcome::Stale;
                };
                active.attempts.reset_on_proof();
                Outcome::Reset {
                    remaining: active.attempts.remaining(),
                }
            }
            Command::Delete { registration, .. } => {
                let matches_active = active_is(rec, *registration);
                let matches_staged = rec
                    .staged
                    .as_ref()
                    .is_some_and(|s| s.registration == *registration);
                if !matches_active && !matches_staged {
                    return Outcome::Stale;
                }
                rec.active = None;
                rec.staged = None;
                rec.tombstone = Some(Tombstone::Deleted(*registration));
                Outcome::Deleted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::{SymKey, SymPassword, SymbolicCrypto};

    type Store = RecordStore<SymbolicCrypto>;
    const U: UserId = UserId(7);

    fn stage(reg: u64, pw: u8, keep: Option<u64>) -> Command<SymbolicCrypto> {
        Command::Stage {
            user: U,
            registration: RegistrationId(reg),
            password_file: SymPassword(pw),
            wrapped_key: SymKey(1),
            verifier: SymKey(1),
            keep_active: keep.map(RegistrationId),
        }
    }

    fn consume(reg: u64) -> Command<SymbolicCrypto> {
        Command::ConsumeAttempt {
            user: U,
            registration: RegistrationId(reg),
        }
    }

    #[test]
    fn staged_is_not_guessable_until_activated() {
        let mut s = Store::new(3);
        s.apply(&stage(1, 5, None));
        assert_eq!(s.apply(&consume(1)), Outcome::Stale);
        let activate = Command::Activate {
            user: U,
            registration: RegistrationId(1),
        };
        assert_eq!(s.apply(&activate), Outcome::Activated { remaining: 3 });
        assert_eq!(
            s.apply(&consume(1)),
            Outcome::AttemptConsumed { remaining: 2 }
        );
        // A replayed activation does not refill the budget (REG-2, LOCK-3).
        assert_eq!(s.apply(&activate), Outcome::Stale);
        assert_eq!(
            s.get(U)
                .unwrap()
                .active
                .as_ref()
                .unwrap()
                .attempts
                .remaining(),
            2
        );
    }

    #[test]
    fn exhausting_the_budget_destroys_the_record() {
        let mut s = Store::new(2);
        s.apply(&stage(1, 5, None));
        s.apply(&Command::Activate {
            user: U,
            registration: RegistrationId(1),
        });
        s.apply(&consume(1));
        s.apply(&consume(1));
        assert_eq!(s.apply(&consume(1)), Outcome::Destroyed);
        let rec = s.get(U).unwrap();
        assert!(rec.active.is_none());
        assert_eq!(rec.tombstone, Some(Tombstone::Destroyed(RegistrationId(1))));
        assert_eq!(s.apply(&consume(1)), Outcome::Stale);
    }

    #[test]
    fn staging_without_proof_displaces_the_active_record() {
        let mut s = Store::new(3);
        s.apply(&stage(1, 5, None));
        s.apply(&Command::Activate {
            user: U,
            registration: RegistrationId(1),
        });
        assert_eq!(
            s.apply(&stage(2, 6, None)),
            Outcome::Staged {
                registration: RegistrationId(2),
                displaced: true
            }
        );
        assert!(s.get(U).unwrap().active.is_none());
        // With a proof against the active registration, it stays.
        let mut s = Store::new(3);
        s.apply(&stage(1, 5, None));
        s.apply(&Command::Activate {
            user: U,
            registration: RegistrationId(1),
        });
        assert_eq!(
            s.apply(&stage(2, 6, Some(1))),
            Outcome::Staged {
                registration: RegistrationId(2),
                displaced: false
            }
        );
        assert!(s.get(U).unwrap().active.is_some());
        // A proof about a registration that is no longer active is stale.
        assert_eq!(s.apply(&stage(3, 6, Some(9))), Outcome::Stale);
    }
}
