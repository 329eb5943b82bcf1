//! The record store: the state machine that consensus replicates.
//!
//! Every change to a user's record is a [`Command`] in the log; every node
//! applies the committed commands in log order with [`RecordStore::apply`],
//! which is deterministic (ordered maps only, no randomness, no clock), so
//! all nodes hold the same records (CONS-4). The leader validates requests
//! (proofs of key, password checks) *before* proposing; `apply` re-checks
//! what can have changed since: that the registration a command was
//! validated against is still the current one, that a ticket is still
//! good, that a KE1 was not tested already.
//!
//! Per user there is at most one *active* record (the one logins guess
//! against) and at most one *staged* registration (not guessable until it
//! is activated with a proof of K; REG-2). Destroying or deleting a record
//! drops its secrets from the state (LOCK-4); what stays is a [`Gone`]
//! record: the registration id, why it went, and the key that lets the
//! vault tell the key holder so (a MAC key for that statement only).
//!
//! # The stage rule (one place)
//! Every `Stage` needs a ticket issued at the user's current stage count
//! ([`UserRecord::stages`]), which every staging raises, so that each
//! ticket, and so each OPRF key, serves at most one registration ever:
//! nobody can build a second record under the key of an earlier one and
//! test guesses against that key through logins of their own. This holds
//! for a stage with a proof of K too: the proof shows who holds the
//! *current* K (the chat server, once it has displaced the user's record
//! and activated its own), not whose registration the ticket was issued
//! for. Then a `Stage` either carries `keep_active`, the active
//! registration a proof of K named together with the staged content (a
//! password change by the key holder), which stays until the new one is
//! activated, or it does not, and then the active record, if any, is
//! destroyed first (LOCK-3): without a proof of K, a new registration
//! never inherits a guess budget.
//!
//! Staging content that is already staged changes nothing (a resent Stage).

use super::crypto::{ContentDigest, Ke1Digest, OprfKeyId, RegistrationId, VaultCrypto};
use super::ids::{LogIndex, UserId};
use super::lockout::{Attempts, LoginStart};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A record logins can guess against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ActiveRecord<C: VaultCrypto> {
    /// Which registration this is.
    pub registration: RegistrationId,
    /// The OPRF key its password file was made under.
    pub oprf_key: OprfKeyId,
    /// The digest of the sealed registration it came from.
    pub content: ContentDigest,
    /// What checks passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped so that only a logged-in client can unwrap it.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K.
    pub verifier: C::KeyVerifier,
    /// What authenticates answers to the key holder.
    pub reply_key: C::ReplyKey,
    /// The guess budget.
    pub attempts: Attempts,
}

/// A registration waiting for activation; it cannot be guessed against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct StagedRecord<C: VaultCrypto> {
    /// Which registration this is.
    pub registration: RegistrationId,
    /// The OPRF key its password file was made under.
    pub oprf_key: OprfKeyId,
    /// The digest of the sealed registration.
    pub content: ContentDigest,
    /// Whether staging it destroyed an active record (no proof of K).
    pub displaced: bool,
    /// What will check passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K (the activation proof among them).
    pub verifier: C::KeyVerifier,
    /// What authenticates answers to the key holder.
    pub reply_key: C::ReplyKey,
}

/// Why a record went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tombstone {
    /// The guess limit was reached (LOCK-4).
    Destroyed(RegistrationId),
    /// Replaced by a registration without proof of K: destroyed first (LOCK-3).
    Displaced(RegistrationId),
    /// The user disabled backups.
    Deleted(RegistrationId),
}

impl Tombstone {
    /// The registration that went away.
    pub fn registration(self) -> RegistrationId {
        match self {
            Tombstone::Destroyed(r) | Tombstone::Displaced(r) | Tombstone::Deleted(r) => r,
        }
    }
}

/// What stays of the last record that went away: no password file, no
/// wrapped key, no verifier (LOCK-4); only why it went and the reply key,
/// which can vouch "this registration is gone" to the key holder and
/// nothing else of use (it cannot unwrap K, prove K or check a password).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Gone<C: VaultCrypto> {
    /// Why, and which registration.
    pub why: Tombstone,
    /// The gone registration's reply key.
    pub reply_key: C::ReplyKey,
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
    pub gone: Option<Gone<C>>,
    /// How many registrations were ever staged for the user: the sequence
    /// number the ticket of the next staging must carry (the stage rule).
    pub stages: u64,
}

impl<C: VaultCrypto> UserRecord<C> {
    /// Why the last record went away, if one did.
    pub fn tombstone(&self) -> Option<Tombstone> {
        self.gone.as_ref().map(|g| g.why)
    }

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
            gone: None,
            stages: 0,
        }
    }
}

/// A change to the record store: one log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Command<C: VaultCrypto> {
    /// Stage a registration (the stage rule, above).
    Stage {
        /// The user.
        user: UserId,
        /// The new registration's id (chosen by the leader).
        registration: RegistrationId,
        /// The OPRF key its password file was made under (from its ticket).
        oprf_key: OprfKeyId,
        /// The sequence number its ticket was issued at.
        ticket_seq: u64,
        /// The digest of the sealed registration.
        content: ContentDigest,
        /// Its password file.
        password_file: C::PasswordFile,
        /// Its wrapped key.
        wrapped_key: C::WrappedKey,
        /// Its proof-of-key verifier.
        verifier: C::KeyVerifier,
        /// Its reply key.
        reply_key: C::ReplyKey,
        /// The active registration a proof of K (naming `content`) was
        /// checked against: it stays until this one is activated.
        keep_active: Option<RegistrationId>,
    },
    /// Make a staged registration active, with a fresh guess budget (the
    /// leader checked a proof of K naming it and its content).
    Activate {
        /// The user.
        user: UserId,
        /// The staged registration.
        registration: RegistrationId,
        /// Its content, as the proof named it.
        content: ContentDigest,
    },
    /// A login started with KE1 `ke1`: a new test consumes one attempt (or
    /// destroys an exhausted record); a known one consumes nothing.
    ConsumeAttempt {
        /// The user.
        user: UserId,
        /// The active registration the login is against.
        registration: RegistrationId,
        /// Which KE1.
        ke1: Ke1Digest,
    },
    /// A login finished with a verified KE3: the full budget again.
    Reset {
        /// The user.
        user: UserId,
        /// The active registration the login was against.
        registration: RegistrationId,
        /// The KE1 of the login.
        ke1: Ke1Digest,
    },
    /// Delete the user's records (the leader checked a proof of K).
    Delete {
        /// The user.
        user: UserId,
        /// The registration the proof was about.
        registration: RegistrationId,
    },
    /// The active registration's budget is spent and no login against it
    /// can still finish (the leader's logins against it failed or expired):
    /// destroy it (LOCK-4; the rule is in [`super::lockout`]).
    Exhaust {
        /// The user.
        user: UserId,
        /// The registration whose budget is spent.
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
            | Command::Delete { user, .. }
            | Command::Exhaust { user, .. } => *user,
        }
    }

    /// The registration the command names.
    pub fn registration(&self) -> RegistrationId {
        match self {
            Command::Stage { registration, .. }
            | Command::Activate { registration, .. }
            | Command::ConsumeAttempt { registration, .. }
            | Command::Reset { registration, .. }
            | Command::Delete { registration, .. }
            | Command::Exhaust { registration, .. } => *registration,
        }
    }
}

/// What applying a command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// The registration is staged (or was already: a resent Stage).
    Staged {
        /// Its id.
        registration: RegistrationId,
        /// Whether an active record was destroyed to make room (no proof of K).
        displaced: bool,
    },
    /// The registration is active with this many guesses (or already was).
    Activated {
        /// Guesses available.
        remaining: u8,
    },
    /// A new test: one attempt consumed; KE2 may now be released.
    AttemptConsumed {
        /// Guesses left after this one.
        remaining: u8,
    },
    /// This KE1 was tested already: nothing consumed; KE2 may be released
    /// again (the attempt was consumed by the entry at `at`).
    AlreadyTested {
        /// Guesses left.
        remaining: u8,
        /// The entry that consumed the attempt.
        at: LogIndex,
    },
    /// The budget was spent: the record is destroyed and its secrets erased.
    Destroyed,
    /// The budget is full again.
    Reset {
        /// Guesses available.
        remaining: u8,
    },
    /// The records are deleted (or the registration was already gone).
    Deleted,
    /// A registration without proof of K carried a ticket issued at another
    /// stage count (reused, or overtaken by another registration).
    StaleTicket,
    /// The command no longer applies: the registration it was validated
    /// against is gone or was replaced since.
    Stale,
}

/// All users' records, replicated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RecordStore<C: VaultCrypto> {
    // Each record shared, copied only when written (`Arc::make_mut`): the
    // store is cloned whole at every compaction, snapshot and audit, and a
    // clone then costs a pointer per user, not the user's password files.
    users: BTreeMap<UserId, Arc<UserRecord<C>>>,
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

    /// One user's records.
    pub fn get(&self, user: UserId) -> Option<&UserRecord<C>> {
        self.users.get(&user).map(|r| &**r)
    }

    /// Every user's records, in user order.
    pub fn iter(&self) -> impl Iterator<Item = (&UserId, &UserRecord<C>)> {
        self.users.iter().map(|(u, r)| (u, &**r))
    }

    /// How many users hold a record (or a tombstone).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Broken variant `DestroyKeepsStaged` (see [`crate::flaws`]): puts a
    /// change staged beside a destroyed record back.
    pub(crate) fn flaw_restore_staged(&mut self, user: UserId, staged: Option<StagedRecord<C>>) {
        if let Some(staged) = staged {
            Arc::make_mut(self.users.entry(user).or_default()).staged = Some(staged);
        }
    }

    /// Broken variant `KeepKeyOnDestroy` (see [`crate::flaws`]): puts a
    /// destroyed record's secrets back next to its tombstone.
    pub(crate) fn flaw_restore_active(&mut self, user: UserId, active: Option<ActiveRecord<C>>) {
        if let Some(active) = active {
            Arc::make_mut(self.users.entry(user).or_default()).active = Some(active);
        }
    }

    /// Applies the committed command at log index `index`. Deterministic.
    pub fn apply(&mut self, index: LogIndex, command: &Command<C>) -> Outcome {
        let limit = self.guess_limit;
        let rec = Arc::make_mut(self.users.entry(command.user()).or_default());
        let outcome = Self::apply_to(rec, index, command, limit);
        // Every record, and every tombstone, comes from a staging: a user
        // with none holds nothing, and the entry the lookup made goes.
        if rec.stages == 0 {
            debug_assert!(rec.active.is_none() && rec.staged.is_none() && rec.gone.is_none());
            self.users.remove(&command.user());
        }
        outcome
    }

    fn apply_to(
        rec: &mut UserRecord<C>,
        index: LogIndex,
        command: &Command<C>,
        limit: u8,
    ) -> Outcome {
        match command {
            Command::Stage { .. } => Self::stage(rec, command),
            Command::Activate {
                registration,
                content,
                ..
            } => Self::activate(rec, *registration, *content, limit),
            Command::ConsumeAttempt {
                registration, ke1, ..
            } => Self::consume(rec, *registration, *ke1, index),
            Command::Reset {
                registration, ke1, ..
            } => {
                let Some(active) = rec.active_for(*registration) else {
                    return Outcome::Stale;
                };
                active.attempts.reset_on_proof(*ke1);
                Outcome::Reset {
                    remaining: active.attempts.remaining(),
                }
            }
            Command::Delete { registration, .. } => Self::delete(rec, *registration),
            Command::Exhaust { registration, .. } => {
                // Applies only if the budget is still spent: a proof (a
                // Reset ordered before it) refilled it, or the record went.
                match rec.active_for(*registration) {
                    Some(a) if a.attempts.spent() => Self::destroy(rec),
                    _ => Outcome::Stale,
                }
            }
        }
    }

    /// The activate rule: the staged registration with this id and content
    /// becomes the active one, with a full budget; resent, it changes nothing.
    fn activate(
        rec: &mut UserRecord<C>,
        registration: RegistrationId,
        content: ContentDigest,
        limit: u8,
    ) -> Outcome {
        if let Some(a) = rec
            .active
            .as_ref()
            .filter(|a| a.registration == registration && a.content == content)
        {
            // Activated already (a resent Activate): nothing changes.
            return Outcome::Activated {
                remaining: a.attempts.remaining(),
            };
        }
        let Some(staged) = rec
            .staged
            .take_if(|s| s.registration == registration && s.content == content)
        else {
            return Outcome::Stale;
        };
        let attempts = Attempts::new(limit);
        let remaining = attempts.remaining();
        rec.active = Some(ActiveRecord {
            registration: staged.registration,
            oprf_key: staged.oprf_key,
            content: staged.content,
            password_file: staged.password_file,
            wrapped_key: staged.wrapped_key,
            verifier: staged.verifier,
            reply_key: staged.reply_key,
            attempts,
        });
        Outcome::Activated { remaining }
    }

    /// A login start against the active registration: the lockout rule
    /// counts it, and a spent budget destroys the record (LOCK-4).
    fn consume(
        rec: &mut UserRecord<C>,
        registration: RegistrationId,
        ke1: Ke1Digest,
        index: LogIndex,
    ) -> Outcome {
        let Some(active) = rec.active_for(registration) else {
            return Outcome::Stale;
        };
        match active.attempts.start_login(ke1, index) {
            LoginStart::Consumed { remaining } => Outcome::AttemptConsumed { remaining },
            LoginStart::AlreadyTested { remaining, at } => Outcome::AlreadyTested { remaining, at },
            LoginStart::Exhausted => Self::destroy(rec),
        }
    }

    /// LOCK-4: the active record goes with its secrets, leaving a
    /// `Destroyed` tombstone. Only called with an active record.
    fn destroy(rec: &mut UserRecord<C>) -> Outcome {
        let Some(old) = rec.active.take() else {
            unreachable!("destroy() is called with an active record")
        };
        assert!(old.attempts.spent(), "LOCK-4: destroyed with guesses left");
        // A change staged beside the record holds K too: kept, an
        // activation held back until after a delete confirmed the record
        // gone would bring K back, with a fresh budget (LOCK-4: the key is
        // gone from the store, not only the record guessed against).
        rec.staged = None;
        rec.gone = Some(Gone {
            why: Tombstone::Destroyed(old.registration),
            reply_key: old.reply_key,
        });
        Outcome::Destroyed
    }

    /// The delete rule: the registration named, active or staged, goes with
    /// everything else of the user's, leaving a tombstone; resent, the same.
    fn delete(rec: &mut UserRecord<C>, registration: RegistrationId) -> Outcome {
        if rec.tombstone().map(Tombstone::registration) == Some(registration) {
            return Outcome::Deleted;
        }
        let reply_key = match (&rec.active, &rec.staged) {
            (Some(a), _) if a.registration == registration => a.reply_key.clone(),
            (_, Some(s)) if s.registration == registration => s.reply_key.clone(),
            _ => return Outcome::Stale,
        };
        rec.active = None;
        rec.staged = None;
        rec.gone = Some(Gone {
            why: Tombstone::Deleted(registration),
            reply_key,
        });
        Outcome::Deleted
    }

    /// The stage rule; see the module documentation.
    fn stage(rec: &mut UserRecord<C>, command: &Command<C>) -> Outcome {
        let Command::Stage {
            registration,
            oprf_key,
            ticket_seq,
            content,
            password_file,
            wrapped_key,
            verifier,
            reply_key,
            keep_active,
            ..
        } = command
        else {
            unreachable!("stage() is called for Stage commands only")
        };
        if let Some(s) = rec.staged.as_ref().filter(|s| s.content == *content) {
            return Outcome::Staged {
                registration: s.registration,
                displaced: s.displaced,
            };
        }
        if let Some(id) = keep_active {
            if rec.active.as_ref().map(|a| a.registration) != Some(*id) {
                return Outcome::Stale;
            }
        }
        if *ticket_seq != rec.stages {
            return Outcome::StaleTicket;
        }
        let mut displaced = false;
        if keep_active.is_none() {
            // LOCK-3: no proof of K, so the old record is destroyed before
            // anything new can be guessed at.
            if let Some(old) = rec.active.take() {
                rec.gone = Some(Gone {
                    why: Tombstone::Displaced(old.registration),
                    reply_key: old.reply_key,
                });
                displaced = true;
            }
        }
        rec.stages += 1;
        rec.staged = Some(StagedRecord {
            registration: *registration,
            oprf_key: *oprf_key,
            content: *content,
            displaced,
            password_file: password_file.clone(),
            wrapped_key: wrapped_key.clone(),
            verifier: verifier.clone(),
            reply_key: reply_key.clone(),
        });
        Outcome::Staged {
            registration: *registration,
            displaced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::{SymKey, SymPassword, SymbolicCrypto};

    type Store = RecordStore<SymbolicCrypto>;
    const U: UserId = UserId(7);

    fn content(n: u8) -> ContentDigest {
        ContentDigest([n; 32])
    }

    fn stage(reg: u64, pw: u8, seq: u64, keep: Option<u64>) -> Command<SymbolicCrypto> {
        Command::Stage {
            user: U,
            registration: RegistrationId(reg),
            oprf_key: OprfKeyId([reg as u8; 16]),
            ticket_seq: seq,
            content: content(reg as u8),
            password_file: SymPassword(pw),
            wrapped_key: SymKey(1),
            verifier: SymKey(1),
            reply_key: SymKey(reg as u8),
            keep_active: keep.map(RegistrationId),
        }
    }

    fn activate(reg: u64) -> Command<SymbolicCrypto> {
        Command::Activate {
            user: U,
            registration: RegistrationId(reg),
            content: content(reg as u8),
        }
    }

    fn consume(reg: u64, ke1: u8) -> Command<SymbolicCrypto> {
        Command::ConsumeAttempt {
            user: U,
            registration: RegistrationId(reg),
            ke1: Ke1Digest([ke1; 32]),
        }
    }

    fn remaining(s: &Store) -> u8 {
        s.get(U)
            .unwrap()
            .active
            .as_ref()
            .unwrap()
            .attempts
            .remaining()
    }

    #[test]
    fn staged_is_not_guessable_until_activated() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        assert_eq!(s.apply(LogIndex(2), &consume(1, 1)), Outcome::Stale);
        assert_eq!(
            s.apply(LogIndex(3), &activate(1)),
            Outcome::Activated { remaining: 3 }
        );
        assert_eq!(
            s.apply(LogIndex(4), &consume(1, 1)),
            Outcome::AttemptConsumed { remaining: 2 }
        );
        // A replayed activation does not refill the budget (REG-2, LOCK-3).
        assert_eq!(
            s.apply(LogIndex(5), &activate(1)),
            Outcome::Activated { remaining: 2 }
        );
        assert_eq!(remaining(&s), 2);
    }

    #[test]
    fn activation_names_the_content() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        let other = Command::Activate {
            user: U,
            registration: RegistrationId(1),
            content: content(9),
        };
        assert_eq!(s.apply(LogIndex(2), &other), Outcome::Stale);
        assert!(s.get(U).unwrap().active.is_none());
    }

    #[test]
    fn exhausting_the_budget_destroys_the_record() {
        let mut s = Store::new(2);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        s.apply(LogIndex(3), &consume(1, 1));
        s.apply(LogIndex(4), &consume(1, 2));
        // A retried KE1 is still answered, and costs nothing.
        assert_eq!(
            s.apply(LogIndex(5), &consume(1, 2)),
            Outcome::AlreadyTested {
                remaining: 0,
                at: LogIndex(4)
            }
        );
        assert_eq!(s.apply(LogIndex(6), &consume(1, 3)), Outcome::Destroyed);
        let rec = s.get(U).unwrap();
        assert!(rec.active.is_none());
        assert_eq!(
            rec.tombstone(),
            Some(Tombstone::Destroyed(RegistrationId(1)))
        );
        assert_eq!(s.apply(LogIndex(7), &consume(1, 4)), Outcome::Stale);
    }

    #[test]
    fn exhaust_destroys_only_a_spent_budget() {
        let exhaust = |reg| Command::<SymbolicCrypto>::Exhaust {
            user: U,
            registration: RegistrationId(reg),
        };
        let reset = |ke1| Command::<SymbolicCrypto>::Reset {
            user: U,
            registration: RegistrationId(1),
            ke1: Ke1Digest([ke1; 32]),
        };
        let mut s = Store::new(2);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        s.apply(LogIndex(3), &consume(1, 1));
        // One guess left: not spent, nothing happens.
        assert_eq!(s.apply(LogIndex(4), &exhaust(1)), Outcome::Stale);
        s.apply(LogIndex(5), &consume(1, 2));
        // A proof ordered before it refills the budget: stale again.
        s.apply(LogIndex(6), &reset(2));
        assert_eq!(s.apply(LogIndex(7), &exhaust(1)), Outcome::Stale);
        assert_eq!(remaining(&s), 2);
        s.apply(LogIndex(8), &consume(1, 3));
        s.apply(LogIndex(9), &consume(1, 4));
        // Another registration's id changes nothing.
        assert_eq!(s.apply(LogIndex(10), &exhaust(2)), Outcome::Stale);
        assert_eq!(s.apply(LogIndex(11), &exhaust(1)), Outcome::Destroyed);
        let rec = s.get(U).unwrap();
        assert!(rec.active.is_none());
        assert_eq!(
            rec.tombstone(),
            Some(Tombstone::Destroyed(RegistrationId(1)))
        );
        // Resent, it finds nothing to destroy.
        assert_eq!(s.apply(LogIndex(12), &exhaust(1)), Outcome::Stale);
    }

    #[test]
    fn staging_without_proof_displaces_the_active_record() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        assert_eq!(
            s.apply(LogIndex(3), &stage(2, 6, 1, None)),
            Outcome::Staged {
                registration: RegistrationId(2),
                displaced: true
            }
        );
        assert!(s.get(U).unwrap().active.is_none());
        // With a proof against the active registration, it stays.
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        assert_eq!(
            s.apply(LogIndex(3), &stage(2, 6, 1, Some(1))),
            Outcome::Staged {
                registration: RegistrationId(2),
                displaced: false
            }
        );
        assert!(s.get(U).unwrap().active.is_some());
        // A proof about a registration that is no longer active is stale.
        assert_eq!(
            s.apply(LogIndex(4), &stage(3, 6, 2, Some(9))),
            Outcome::Stale
        );
    }

    #[test]
    fn a_ticket_without_proof_stages_one_registration_ever() {
        let mut s = Store::new(3);
        assert!(matches!(
            s.apply(LogIndex(1), &stage(1, 5, 0, None)),
            Outcome::Staged { .. }
        ));
        // The same content again: the same staging, nothing new.
        assert_eq!(
            s.apply(LogIndex(2), &stage(1, 5, 0, None)),
            Outcome::Staged {
                registration: RegistrationId(1),
                displaced: false
            }
        );
        s.apply(LogIndex(3), &activate(1));
        // Another registration with the ticket of seq 0 (its OPRF key is
        // registration 1's): refused, however many records come and go.
        assert_eq!(
            s.apply(LogIndex(4), &stage(2, 6, 0, None)),
            Outcome::StaleTicket
        );
        assert!(matches!(
            s.apply(LogIndex(5), &stage(3, 6, 1, None)),
            Outcome::Staged {
                displaced: true,
                ..
            }
        ));
        assert_eq!(
            s.apply(LogIndex(6), &stage(4, 6, 1, None)),
            Outcome::StaleTicket
        );
        assert_eq!(s.get(U).unwrap().stages, 2);
    }

    #[test]
    fn a_change_needs_an_unspent_ticket_too() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        // Whoever holds registration 1's K (its proof names it) stages under
        // the spent ticket of seq 0, whose OPRF key is registration 1's own:
        // refused, so no second record is ever made under that key.
        assert_eq!(
            s.apply(LogIndex(3), &stage(2, 6, 0, Some(1))),
            Outcome::StaleTicket
        );
        assert!(s.get(U).unwrap().staged.is_none());
        // With the ticket of seq 1 the change is staged, the active record kept.
        assert_eq!(
            s.apply(LogIndex(4), &stage(3, 6, 1, Some(1))),
            Outcome::Staged {
                registration: RegistrationId(3),
                displaced: false
            }
        );
        assert_eq!(remaining(&s), 3);
        assert_eq!(s.get(U).unwrap().stages, 2);
    }

    #[test]
    fn delete_leaves_only_what_vouches_for_it() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        let delete = Command::Delete {
            user: U,
            registration: RegistrationId(1),
        };
        assert_eq!(s.apply(LogIndex(3), &delete), Outcome::Deleted);
        let rec = s.get(U).unwrap();
        assert!(rec.active.is_none() && rec.staged.is_none());
        assert_eq!(rec.tombstone(), Some(Tombstone::Deleted(RegistrationId(1))));
        // A resent delete finds it gone: the same outcome.
        assert_eq!(s.apply(LogIndex(4), &delete), Outcome::Deleted);
    }

    /// An activation is "resent" only if the active record is the same
    /// registration, not merely one with the same content digest. (Real
    /// digests cover sealed bytes and do not repeat; the rule must not
    /// depend on that.)
    #[test]
    fn an_activation_is_resent_only_for_the_same_registration() {
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        s.apply(LogIndex(3), &consume(1, 1));
        let mut change = stage(2, 6, 1, Some(1));
        let mut same = activate(2);
        if let (Command::Stage { content: c, .. }, Command::Activate { content: a, .. }) =
            (&mut change, &mut same)
        {
            *c = content(1);
            *a = content(1);
        }
        s.apply(LogIndex(4), &change);
        assert_eq!(
            s.apply(LogIndex(5), &same),
            Outcome::Activated { remaining: 3 }
        );
        let rec = s.get(U).unwrap();
        assert_eq!(rec.active.as_ref().unwrap().registration, RegistrationId(2));
        assert!(rec.staged.is_none());
    }

    /// A delete is proved against the record current when it was proposed;
    /// a change may commit first. It must then remove only the registration
    /// it names, and tombstone under that registration's own reply key.
    #[test]
    fn delete_removes_only_the_registration_it_names() {
        let delete = |reg| Command::Delete {
            user: U,
            registration: RegistrationId(reg),
        };
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        s.apply(LogIndex(3), &stage(2, 6, 1, Some(1)));
        // Neither active nor staged: stale, and both stay.
        assert_eq!(s.apply(LogIndex(4), &delete(9)), Outcome::Stale);
        let rec = s.get(U).unwrap();
        assert!(rec.active.is_some() && rec.staged.is_some());
        // The staged one, while another is active: its own reply key.
        assert_eq!(s.apply(LogIndex(5), &delete(2)), Outcome::Deleted);
        let gone = s.get(U).unwrap().gone.as_ref().unwrap();
        assert_eq!(gone.why, Tombstone::Deleted(RegistrationId(2)));
        assert_eq!(gone.reply_key, SymKey(2));
        // The old active one, after a change activated another: stale.
        let mut s = Store::new(3);
        s.apply(LogIndex(1), &stage(1, 5, 0, None));
        s.apply(LogIndex(2), &activate(1));
        s.apply(LogIndex(3), &stage(2, 6, 1, Some(1)));
        s.apply(LogIndex(4), &activate(2));
        assert_eq!(s.apply(LogIndex(5), &delete(1)), Outcome::Stale);
        assert_eq!(remaining(&s), 3);
    }
}
