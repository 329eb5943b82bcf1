//! FMT-1 and DUR-1, checked on what clients restore.
//!
//! - FMT-1: a restore returns a plaintext that its user really backed up,
//!   and for a generation acknowledged under the key it restored with
//!   exactly the acknowledged bytes. A generation names one plaintext under
//!   one key: after a disable, a new key numbers its backups afresh, and a
//!   device that never saw the old key's (another device of it wrote them)
//!   may use a generation the old key acknowledged.
//! - DUR-1 (during the run): a restore never returns a generation older
//!   than the newest one that device was told is stored.
//! - DUR-1 (at the end, after healing): every user's newest acknowledged
//!   backup restores byte for byte; see `World::final_checks`.
//! - DUR-1 (at each acknowledgement): the cloud holds what was
//!   acknowledged; see `device::Writes::stored`.

use super::{hash_of, Violation};
use backup_vault::format::Generation;
use backup_vault::invariant::Invariant;
use backup_vault::key::KeyFingerprint;
use backup_vault::vault::ids::UserId;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// What the backup checks remember per user.
#[derive(Default)]
pub struct Backups {
    written: BTreeMap<UserId, BTreeSet<u64>>,
    acked: BTreeMap<(UserId, KeyFingerprint, Generation), Bytes>,
    latest: BTreeMap<UserId, (Generation, Bytes)>,
}

impl Backups {
    /// A device started backing up `plaintext`.
    pub fn started(&mut self, user: UserId, plaintext: &Bytes) {
        self.written
            .entry(user)
            .or_default()
            .insert(hash_of(&plaintext[..]));
    }

    /// A device was told `generation` holding `plaintext` is stored under
    /// the key whose fingerprint is `key`.
    pub fn backed_up(
        &mut self,
        user: UserId,
        key: KeyFingerprint,
        generation: Generation,
        plaintext: &Bytes,
    ) {
        self.acked
            .insert((user, key, generation), plaintext.clone());
        let newer = self.latest.get(&user).is_none_or(|(g, _)| *g <= generation);
        if newer {
            self.latest.insert(user, (generation, plaintext.clone()));
        }
    }

    /// The user turned backups off: nothing is promised any more.
    pub fn disabled(&mut self, user: UserId) {
        self.latest.remove(&user);
    }

    /// The newest backup the user was told is stored, if any is promised.
    pub fn latest(&self, user: UserId) -> Option<&(Generation, Bytes)> {
        self.latest.get(&user)
    }

    /// A restore of `user` with the key whose fingerprint is `key` (if the
    /// device holds one after it: the exact bytes are judged per key) returned
    /// `plaintext` as `generation`, on a device that had acknowledged
    /// `acknowledged` when it started.
    pub fn restored(
        &self,
        user: UserId,
        key: Option<KeyFingerprint>,
        generation: Generation,
        plaintext: &Bytes,
        acknowledged: Generation,
    ) -> Result<(), Violation> {
        let known = self
            .written
            .get(&user)
            .is_some_and(|w| w.contains(&hash_of(&plaintext[..])));
        let exact = key.is_none_or(|key| {
            self.acked
                .get(&(user, key, generation))
                .is_none_or(|p| p == plaintext)
        });
        if !known || !exact {
            return Err(Violation::user(
                Invariant::Fmt1,
                user,
                None,
                format!(
                    "a restore of user {} returned {} bytes as generation {} that the user never backed up (a changed or cut backup decrypted)",
                    user.0,
                    plaintext.len(),
                    generation.0
                ),
            ));
        }
        if generation < acknowledged {
            return Err(Violation::user(
                Invariant::Dur1,
                user,
                None,
                format!(
                    "a restore of user {} returned generation {} although the device had been told generation {} was stored",
                    user.0, generation.0, acknowledged.0
                ),
            ));
        }
        Ok(())
    }
}
