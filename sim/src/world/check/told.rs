//! DEV-2: a device tells its user what it found.
//!
//! Three of a client's answers decide what the user does next, and a wrong
//! one sends them the wrong way. The rules, restated from the design (the
//! documentation of `ClientError` and `Operation::ChangePassword`):
//! - **"Wrong key"** sends the user to check 64 digits that may be right.
//!   A restore may say it only when it found a backup made under another
//!   key. The world knows under which key every backup object was put (the
//!   key of the device whose backup put it), so it judges the answer
//!   against the history of the user's folder: a restore with digits says
//!   "wrong key" only if some backup object put there was made under other
//!   digits; a restore by password (whose key the vault returns, unknown
//!   here before the restore ends) only if some backup object was put there
//!   at all. A cloud fault cannot make a right key look wrong: a flipped
//!   bit in a header fails its checksum before the key is consulted.
//!   Conversely, a restore with digits that received, intact, a backup
//!   object put under other digits (the very bytes put, in the answer it
//!   acted on) found a backup: it never answers "no backup", which would
//!   tell the user there is nothing to restore when there is, under the
//!   key they had before.
//! - **"Password set"** and **"password changed"** tell the user the vault
//!   keeps K behind the new password: the registration the device then
//!   holds was activated (a committed `Activate` of it), so a forged
//!   "activated", under a tag the chat server made or replayed from
//!   another answer, never ends a registration.
//! - **"Password changed"** tells the user their record stands. A change
//!   proves knowledge of K and replaces the registration the device holds:
//!   every staging it sends names that registration in `replacing`, and
//!   when the vault no longer has it (destroyed by guessing, or displaced)
//!   the change fails "not registered", and the app sets the password up
//!   again with the user told. A change that staged without `replacing`
//!   would register afresh and report success: an attacker's ten guesses,
//!   and the destruction they caused, would go unnoticed.
//!
//! The world judges the honest devices only.

use super::Violation;
use backup_vault::client::{ClientError, CloudReply};
use backup_vault::cloud::{Object, ObjectKey, StoreError};
use backup_vault::invariant::Invariant;
use backup_vault::key::{BackupKey, KeyFingerprint};
use backup_vault::vault::crypto::RegistrationId;
use backup_vault::vault::ids::UserId;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// Under which keys each user's backup objects were put.
#[derive(Debug, Default)]
pub struct Told {
    folders: BTreeMap<UserId, Folder>,
}

/// The keys one user's folder has held backup objects under.
#[derive(Debug, Default)]
struct Folder {
    keys: BTreeSet<KeyFingerprint>,
    /// Every backup object put, by name: its bytes (shared with the cloud's
    /// copy, not copied) and the key it was made under.
    objects: BTreeMap<ObjectKey, Vec<(Bytes, Option<KeyFingerprint>)>>,
    /// A backup object was put by a writer whose key the world did not know
    /// (none in the simulator; kept so that such a writer would make every
    /// "wrong key" plausible rather than a false alarm).
    unknown: bool,
}

/// A DEV-2 violation of `user`'s device.
fn dev2(user: UserId, why: String) -> Violation {
    Violation::user(Invariant::Dev2, user, None, why)
}

impl Told {
    /// The backup object `name` with `data` was put into `user`'s folder by
    /// a backup under `key` (`None`: a writer whose key is not known).
    pub fn backup_put(
        &mut self,
        user: UserId,
        name: &ObjectKey,
        data: &Bytes,
        key: Option<&BackupKey>,
    ) {
        let folder = self.folders.entry(user).or_default();
        let fingerprint = key.map(BackupKey::fingerprint);
        match fingerprint {
            Some(f) => {
                folder.keys.insert(f);
            }
            None => folder.unknown = true,
        }
        folder
            .objects
            .entry(name.clone())
            .or_default()
            .push((data.clone(), fingerprint));
    }

    /// Whether `object`, as a restore of `user` with `key` received it, is
    /// a backup object put under another known key, byte for byte.
    pub fn made_under_other_key(&self, user: UserId, object: &Object, key: &BackupKey) -> bool {
        let given = key.fingerprint();
        self.folders
            .get(&user)
            .and_then(|folder| folder.objects.get(&object.key))
            .is_some_and(|puts| {
                puts.iter()
                    .any(|(data, f)| *data == object.data && f.is_some_and(|f| f != given))
            })
    }

    /// Whether the answer `result`, as a restore of `user` received it,
    /// is a backup object of `user`'s folder damaged on the way: bytes no
    /// put under its name holds, or the cloud's report of a damaged copy.
    pub fn damaged_backup(&self, user: UserId, result: &Result<CloudReply, StoreError>) -> bool {
        let puts = |name: &ObjectKey| {
            self.folders
                .get(&user)
                .and_then(|folder| folder.objects.get(name))
        };
        match result {
            Ok(CloudReply::Got(object)) => puts(&object.key)
                .is_some_and(|puts| puts.iter().all(|(data, _)| *data != object.data)),
            Err(StoreError::Corrupt { key, .. }) => puts(key).is_some(),
            _ => false,
        }
    }

    /// An honest restore of `user` ended with `error`; `key` is the key it
    /// was given (`None`: a restore by password), `received_other_key`
    /// whether it acted on an answer that held a backup object put under
    /// another key ([`Told::made_under_other_key`]), and `received_damaged`
    /// whether it acted on one that held a damaged backup object of the
    /// user ([`Told::damaged_backup`]).
    ///
    /// # Errors
    /// DEV-2 when it says "wrong key" with no backup under another key put
    /// in the folder, or "no backup" after receiving one, intact under
    /// other digits or damaged.
    pub fn restore_failed(
        &self,
        user: UserId,
        key: Option<&BackupKey>,
        error: &ClientError,
        received_other_key: bool,
        received_damaged: bool,
    ) -> Result<(), Violation> {
        if (received_other_key || received_damaged) && matches!(error, ClientError::NoBackup) {
            let what = if received_other_key {
                "intact, a backup made under other digits"
            } else {
                "a backup of its folder damaged on the way"
            };
            return Err(dev2(
                user,
                format!(
                    "user {}'s restore answered \"no backup\" after it received {what}",
                    user.0
                ),
            ));
        }
        if !matches!(error, ClientError::WrongKey) {
            return Ok(());
        }
        let found_other = self.folders.get(&user).is_some_and(|folder| {
            folder.unknown
                || match key {
                    Some(key) => {
                        let given = key.fingerprint();
                        folder.keys.iter().any(|k| *k != given)
                    }
                    None => !folder.keys.is_empty(),
                }
        });
        if found_other {
            return Ok(());
        }
        let under = if key.is_some() {
            "no backup under other digits was ever put in its folder"
        } else {
            "no backup was ever put in its folder"
        };
        Err(dev2(
            user,
            format!(
                "user {}'s restore answered \"wrong key\", but {under}",
                user.0
            ),
        ))
    }
}

/// An honest password change of `user`, on a device holding the
/// registration `held`, sent a staging that names `replacing`.
///
/// # Errors
/// DEV-2 when the staging does not name the registration the device holds:
/// the change would register afresh.
pub fn change_staged(
    user: UserId,
    held: Option<RegistrationId>,
    replacing: Option<RegistrationId>,
) -> Result<(), Violation> {
    if held.is_some() && replacing == held {
        return Ok(());
    }
    let named = match replacing {
        Some(r) => format!("registration {:x}", r.0),
        None => "no registration (a fresh one)".to_owned(),
    };
    let held = match held {
        Some(r) => format!("registration {:x}", r.0),
        None => "none".to_owned(),
    };
    Err(dev2(
        user,
        format!(
            "user {}'s password change staged replacing {named}; the device holds {held}: a change replaces the registration it holds or fails \"not registered\"",
            user.0
        ),
    ))
}

/// An honest device of `user` reported a password set or changed, and now
/// holds `held`; `activated` says whether the vault committed the
/// activation of that registration.
///
/// # Errors
/// DEV-2 when it holds none, or one the vault never activated.
pub fn registered(
    user: UserId,
    held: Option<RegistrationId>,
    activated: impl Fn(RegistrationId) -> bool,
) -> Result<(), Violation> {
    if held.is_some_and(&activated) {
        return Ok(());
    }
    let held = match held {
        Some(r) => format!("registration {:x}, which the vault never activated", r.0),
        None => "no registration".to_owned(),
    };
    Err(dev2(
        user,
        format!(
            "user {}'s device reported the password set, holding {held}: it believed an activation the vault did not make",
            user.0
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> BackupKey {
        BackupKey::from_bytes(&[b; 32])
    }

    fn name(g: u64) -> ObjectKey {
        ObjectKey::new(&format!("users/1/backups/{g}")).expect("a valid name")
    }

    fn object(g: u64, data: &'static [u8]) -> Object {
        Object {
            key: name(g),
            version: backup_vault::cloud::Version(1),
            data: Bytes::from_static(data),
        }
    }

    #[test]
    fn wrong_key_needs_a_backup_under_another_key() {
        let mut told = Told::default();
        let u = UserId(1);
        let wrong = ClientError::WrongKey;
        let b = Bytes::from_static(b"a backup");
        assert!(told
            .restore_failed(u, Some(&key(1)), &wrong, false, false)
            .is_err());
        assert!(told.restore_failed(u, None, &wrong, false, false).is_err());
        told.backup_put(u, &name(1), &b, Some(&key(1)));
        assert!(told
            .restore_failed(u, Some(&key(1)), &wrong, false, false)
            .is_err());
        assert!(told.restore_failed(u, None, &wrong, false, false).is_ok());
        assert!(told
            .restore_failed(UserId(2), None, &wrong, false, false)
            .is_err());
        told.backup_put(u, &name(2), &b, Some(&key(2)));
        assert!(told
            .restore_failed(u, Some(&key(1)), &wrong, false, false)
            .is_ok());
        let nothing = ClientError::NoBackup;
        assert!(told
            .restore_failed(UserId(3), Some(&key(1)), &nothing, false, false)
            .is_ok());
        told.backup_put(UserId(3), &name(1), &b, None);
        assert!(told
            .restore_failed(UserId(3), Some(&key(1)), &wrong, false, false)
            .is_ok());
    }

    #[test]
    fn no_backup_after_receiving_one_under_other_digits_is_caught() {
        let mut told = Told::default();
        let u = UserId(1);
        told.backup_put(u, &name(1), &Bytes::from_static(b"old"), Some(&key(2)));
        told.backup_put(u, &name(2), &Bytes::from_static(b"new"), Some(&key(1)));
        assert!(told.made_under_other_key(u, &object(1, b"old"), &key(1)));
        assert!(!told.made_under_other_key(u, &object(1, b"olD"), &key(1)));
        assert!(!told.made_under_other_key(u, &object(2, b"new"), &key(1)));
        assert!(!told.made_under_other_key(u, &object(1, b"old"), &key(2)));
        assert!(!told.made_under_other_key(UserId(2), &object(1, b"old"), &key(1)));
        let nothing = ClientError::NoBackup;
        assert!(told
            .restore_failed(u, Some(&key(1)), &nothing, true, false)
            .is_err());
        assert!(told
            .restore_failed(u, Some(&key(1)), &nothing, false, false)
            .is_ok());
    }

    #[test]
    fn no_backup_after_receiving_a_damaged_one_is_caught() {
        let mut told = Told::default();
        let u = UserId(1);
        told.backup_put(u, &name(1), &Bytes::from_static(b"intact"), Some(&key(1)));
        let got = |data: &'static [u8]| Ok(CloudReply::Got(object(1, data)));
        assert!(told.damaged_backup(u, &got(b"intacT")));
        assert!(!told.damaged_backup(u, &got(b"intact")));
        assert!(
            !told.damaged_backup(UserId(2), &got(b"intacT")),
            "another folder"
        );
        let corrupt = Err(StoreError::Corrupt {
            key: name(1),
            version: object(1, b"x").version,
            reason: "checksum",
        });
        assert!(told.damaged_backup(u, &corrupt));
        let nothing = ClientError::NoBackup;
        assert!(told
            .restore_failed(u, Some(&key(1)), &nothing, false, true)
            .is_err());
        assert!(
            told.restore_failed(u, Some(&key(1)), &ClientError::WrongKey, false, true)
                .is_err(),
            "the wrong-key rule still applies"
        );
    }

    #[test]
    fn a_change_replaces_the_registration_it_holds() {
        let (u, r1, r2) = (UserId(1), RegistrationId(1), RegistrationId(2));
        assert!(change_staged(u, Some(r1), Some(r1)).is_ok());
        assert!(change_staged(u, Some(r1), None).is_err());
        assert!(change_staged(u, Some(r1), Some(r2)).is_err());
        assert!(change_staged(u, None, None).is_err());
    }

    #[test]
    fn a_password_is_set_only_on_an_activated_registration() {
        let (u, r1, r2) = (UserId(1), RegistrationId(1), RegistrationId(2));
        let activated = |r: RegistrationId| r == r1;
        assert!(registered(u, Some(r1), activated).is_ok());
        assert!(registered(u, Some(r2), activated).is_err());
        assert!(registered(u, None, activated).is_err());
    }
}
