//! DEV-1: a device keeps what its operations did.
//!
//! The device's saved state ([`DeviceState`]) is what the app resumes from
//! after every operation; the user's choices live in it. The rules are
//! restated from the design (`client::state`, the flows' documentation),
//! not taken from the client's code:
//! - the mode: turning backups on sets it (key or password mode), turning
//!   them off clears it, a password set, changed or logged into means
//!   password mode, and a restore with the 64 digits sets key mode only on a
//!   device not in password mode (the vault still keeps K for one that is);
//!   a backup changes nothing; an operation that fails leaves the mode as it
//!   was or where the operation was taking it;
//! - the key: only turning backups on (a new K) or off (forgotten), or a
//!   restore by password on a device without one, change it; a backup, a
//!   restore with the digits the device keeps and a password change keep it;
//! - the registration: only a password set or changed, a login, or backups
//!   turned off change it (a disable to the live record of its key the
//!   vault names), and a password set or changed moves it to the new
//!   registration; a set-up or change that failed leaves it as it was; the
//!   world checks that a registration a device takes is one the vault
//!   staged for its user (`actors::finish`: a forged answer's is not);
//! - the acknowledged generation never goes back; a backup acknowledged as
//!   generation `g` is above every generation acknowledged on the device
//!   before, and the device's count covers it, as it covers a restored one;
//! - within one backup, the generations of the backup objects written never
//!   go back, and one generation is written with one content only (a write
//!   the read-back found lost is put again as it was; a name another writer
//!   holds moves the backup to a later generation); the manifest it puts
//!   names, under the device's key, the generation it wrote last; and it is
//!   acknowledged as generation `g` only on an answer that shows the
//!   manifest naming `g`: its put of it answered Ok, or a read of the
//!   manifest (a put refused is read again, and put again unless what was
//!   read names `g`: an earlier put of it that was stored, its answer
//!   lost).
//!
//! The world judges the honest devices, whose saved state it keeps.

use super::Violation;
use backup_vault::client::layout::decode_manifest;
use backup_vault::client::{ClientError, Completed, DeviceState, Mode, Operation};
use backup_vault::format::Generation;
use backup_vault::invariant::Invariant;
use backup_vault::key::BackupKey;
use backup_vault::vault::ids::UserId;
use bytes::Bytes;

/// What the user asked the device to do, as far as its state cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Turn backups on in key mode.
    EnableKey,
    /// Turn backups on in password mode.
    EnablePassword,
    /// Back up.
    Backup,
    /// Restore with the 64 digits.
    RestoreWithKey,
    /// Restore with the password (a login).
    RestoreWithPassword,
    /// Change the password.
    ChangePassword,
    /// Turn backups off.
    Disable,
}

impl Kind {
    /// The kind of `op`.
    pub fn of(op: &Operation) -> Kind {
        match op {
            Operation::EnableKeyMode => Kind::EnableKey,
            Operation::EnablePasswordMode { .. } => Kind::EnablePassword,
            Operation::Backup { .. } => Kind::Backup,
            Operation::RestoreWithKey { .. } => Kind::RestoreWithKey,
            Operation::RestoreWithPassword { .. } => Kind::RestoreWithPassword,
            Operation::ChangePassword { .. } => Kind::ChangePassword,
            Operation::Disable => Kind::Disable,
        }
    }

    /// The mode the operation leaves a device in that was in `before`, when
    /// it completes.
    fn mode_after(self, before: Mode) -> Mode {
        match self {
            Kind::EnableKey => Mode::Key,
            Kind::EnablePassword | Kind::ChangePassword | Kind::RestoreWithPassword => {
                Mode::Password
            }
            Kind::Disable => Mode::Off,
            Kind::RestoreWithKey if before == Mode::Password => Mode::Password,
            Kind::RestoreWithKey => Mode::Key,
            Kind::Backup => before,
        }
    }

    /// Whether the operation may change the device's key.
    fn may_change_key(self, before: &DeviceState) -> bool {
        match self {
            Kind::EnableKey | Kind::EnablePassword | Kind::Disable => true,
            // A device that lost K gets it back from the vault.
            Kind::RestoreWithPassword => before.key.is_none(),
            // The digits typed are the device's own (the world types them
            // from its saved key); with none, the restore fails.
            Kind::RestoreWithKey => before.key.is_none(),
            Kind::Backup | Kind::ChangePassword => false,
        }
    }

    /// Whether the operation may change the device's registration, having
    /// completed (`done`) or failed. A set-up or change moves it only when
    /// the vault's authenticated `Activated` completes the operation: one
    /// that failed never reached it, so it leaves the registration as it
    /// was, whatever refusals it met (an unauthenticated refusal, which the
    /// chat server can forge, is no news about the registration held).
    fn may_change_registration(self, done: bool) -> bool {
        match self {
            Kind::EnablePassword | Kind::ChangePassword => done,
            Kind::RestoreWithPassword | Kind::Disable => true,
            _ => false,
        }
    }
}

/// The backup objects one backup operation wrote: the last generation and
/// its content (generations never go back, so the last is all a later
/// write needs to be judged against).
#[derive(Clone, Debug, Default)]
pub struct Writes {
    last: Option<(Generation, Bytes)>,
    /// The generation the last answer about the manifest showed this
    /// backup (see [`Writes::manifest_answer`]).
    shown: Option<Generation>,
}

/// DUR-1, the order of backups: a manifest a backup stored over another
/// (`replaced`, the version just below it) names, under the backup's key
/// `key`, a later generation than the one it replaced. The manifest is the
/// record of the newest backup, and generations are the order a restore
/// goes by: stored over a newer one (a second device of the key backed up
/// meanwhile, its put first), it goes back, and the backup acknowledged
/// with it, the user's latest, lies below the other device's older one,
/// which every restore returns instead. A backup whose put of the manifest
/// is refused reads it again and moves above a newer generation it finds
/// (`impl/src/client/flows/backup.rs`). A replaced manifest that does not
/// open under `key` (another key's) is not judged.
///
/// # Errors
/// Both open under `key`, and `stored` names no later generation.
pub fn manifest_moves_on(
    user: UserId,
    key: &BackupKey,
    replaced: &[u8],
    stored: &[u8],
) -> Result<(), Violation> {
    let (Some(before), Some(after)) = (
        decode_manifest(key, user, replaced),
        decode_manifest(key, user, stored),
    ) else {
        return Ok(());
    };
    if after > before {
        return Ok(());
    }
    Err(Violation::user(
        Invariant::Dur1,
        user,
        None,
        format!(
            "user {}'s backup stored a manifest naming generation {} over one naming {}: the manifest went back below another backup of its key",
            user.0, after.0, before.0
        ),
    ))
}

/// A DEV-1 violation of `user`'s backup.
fn dev1(user: UserId, why: String) -> Violation {
    Violation::user(Invariant::Dev1, user, None, why)
}

impl Writes {
    /// The backup puts `data` as the user's manifest: it must name, under
    /// the device's key `key`, the generation the backup wrote last (the
    /// manifest is a hint restores may skip, so a wrong one fails no restore
    /// and needs its own rule).
    ///
    /// # Errors
    /// The bytes are not a manifest of `user` under `key`, or name another
    /// generation, or the backup wrote no backup object before.
    pub fn manifest(&self, user: UserId, key: &BackupKey, data: &[u8]) -> Result<(), Violation> {
        let wrote = self.last.as_ref().map(|(g, _)| *g);
        let names = decode_manifest(key, user, data);
        if wrote.is_some() && names == wrote {
            return Ok(());
        }
        Err(dev1(
            user,
            format!(
                "user {}'s backup put a manifest that names generation {:?} under its key, after writing generation {:?}",
                user.0,
                names.map(|g| g.0),
                wrote.map(|g| g.0)
            ),
        ))
    }

    /// The generation this backup wrote last, if it wrote one.
    pub fn last_generation(&self) -> Option<Generation> {
        self.last.as_ref().map(|(g, _)| *g)
    }

    /// The cloud answered the backup about its user's manifest: `shown`
    /// is the manifest the answer shows (the one put, if the put was
    /// answered Ok; the one read), or `None` (refused, lost, not found).
    pub fn manifest_answer(&mut self, user: UserId, key: &BackupKey, shown: Option<&[u8]>) {
        self.shown = shown.and_then(|data| decode_manifest(key, user, data));
    }

    /// The backup is acknowledged as `generation`.
    ///
    /// # Errors
    /// The last answer about the manifest did not show one naming
    /// `generation`: a restore that goes by the manifest (while the
    /// folder's listing lags) does not find the acknowledged backup.
    pub fn acknowledged(&self, user: UserId, generation: Generation) -> Result<(), Violation> {
        if self.shown == Some(generation) {
            return Ok(());
        }
        Err(dev1(
            user,
            format!(
                "user {}'s backup was acknowledged as generation {} on an answer showing a manifest that names {:?}",
                user.0,
                generation.0,
                self.shown.map(|g| g.0)
            ),
        ))
    }

    /// DUR-1 at the acknowledgement: the backup was acknowledged as
    /// `generation`, and `stored` is that generation's backup object as the
    /// cloud holds it (read from its store, not through its answers). It
    /// must hold the bytes this backup put last: the cloud of the fault
    /// model loses a write only as it is put (it may answer "not found",
    /// stale or damaged later, but keeps what it stored), and the
    /// client's read-back is there to see a lost one and put it again.
    ///
    /// `history` is every version of that object the cloud stores with
    /// data, deleted ones included: each must hold the same bytes. A
    /// restore trusts the generation in a backup's authenticated header,
    /// and a cloud may serve any stored version, so an older version with
    /// other bytes under this name (a backup put and deleted, or left by a
    /// run that moved on) would be restored as this generation: one
    /// generation naming two plaintexts. The client's version rule
    /// (`impl/src/client/flows/backup.rs`) acknowledges a name only when
    /// every version below its own is its own.
    ///
    /// # Errors
    /// The object is not stored, or holds other bytes, or an older version
    /// of it does.
    pub fn stored<'a>(
        &self,
        user: UserId,
        generation: Generation,
        stored: Option<&Bytes>,
        mut history: impl Iterator<Item = &'a Bytes>,
    ) -> Result<(), Violation> {
        let put = self.last.as_ref().filter(|(g, _)| *g == generation);
        if let Some((_, data)) = put.filter(|(_, data)| stored == Some(data)) {
            if history.all(|version| version == data) {
                return Ok(());
            }
            return Err(Violation::user(
                Invariant::Dur1,
                user,
                None,
                format!(
                    "user {}'s backup was acknowledged as generation {}, but an older version of that name holds other bytes, which a restore served it would take for this generation",
                    user.0, generation.0
                ),
            ));
        }
        Err(Violation::user(
            Invariant::Dur1,
            user,
            None,
            format!(
                "user {}'s backup was acknowledged as generation {}, but the cloud holds {} for it: a write the cloud lost, acknowledged",
                user.0,
                generation.0,
                match stored {
                    None => "no object",
                    Some(_) if put.is_none() => "an object this backup did not put",
                    Some(_) => "other bytes",
                }
            ),
        ))
    }

    /// The backup writes `data` as generation `generation`.
    ///
    /// # Errors
    /// The generation is below one it wrote before, or equal to it with
    /// other bytes.
    pub fn put(
        &mut self,
        user: UserId,
        generation: Generation,
        data: &Bytes,
    ) -> Result<(), Violation> {
        if let Some((last, bytes)) = &self.last {
            if generation < *last {
                return Err(dev1(
                    user,
                    format!(
                        "user {}'s backup wrote generation {} after generation {}: a backup's generations never go back",
                        user.0, generation.0, last.0
                    ),
                ));
            }
            if generation == *last && bytes != data {
                return Err(dev1(
                    user,
                    format!(
                        "user {}'s backup wrote generation {} a second time with other bytes ({} and {} bytes)",
                        user.0,
                        generation.0,
                        bytes.len(),
                        data.len()
                    ),
                ));
            }
        }
        self.last = Some((generation, data.clone()));
        Ok(())
    }
}

/// Judges a device's saved state after an operation of kind `kind` that
/// ended with `result`, against the state it began with.
///
/// # Errors
/// The state moved where the operation does not take it (see the module
/// documentation).
pub fn judge(
    user: UserId,
    kind: Kind,
    before: &DeviceState,
    after: &DeviceState,
    result: Result<&Completed, &ClientError>,
) -> Result<(), Violation> {
    let fail = |why: String| {
        Err(Violation::user(
            Invariant::Dev1,
            user,
            None,
            format!("user {}'s device, after {kind:?}: {why}", user.0),
        ))
    };
    let target = kind.mode_after(before.mode);
    let mode_ok = match result {
        Ok(_) => after.mode == target,
        Err(_) => after.mode == before.mode || after.mode == target,
    };
    if !mode_ok {
        return fail(format!(
            "its mode went from {:?} to {:?} (the operation {} {target:?})",
            before.mode,
            after.mode,
            if result.is_ok() {
                "completed leaves it"
            } else {
                "failed may leave it as it was or"
            }
        ));
    }
    if !kind.may_change_key(before) && after.key != before.key {
        return fail(format!(
            "its key changed (from {} to {})",
            fingerprint(before),
            fingerprint(after)
        ));
    }
    // A set-up by a device that holds K and names no registration names
    // the one the vault staged for it, before it is activated: a failed
    // one may leave it named (the finish check sees that the vault staged
    // it).
    let names_staged = matches!(kind, Kind::EnablePassword | Kind::ChangePassword)
        && before.registration.is_none()
        && before.key.is_some()
        && after.key == before.key;
    if !(kind.may_change_registration(result.is_ok()) || names_staged)
        && after.registration != before.registration
    {
        return fail(format!(
            "its registration changed from {:?} to {:?}",
            before.registration.map(|r| r.0),
            after.registration.map(|r| r.0)
        ));
    }
    if after.acknowledged < before.acknowledged {
        return fail(format!(
            "its acknowledged generation went back from {} to {}",
            before.acknowledged.0, after.acknowledged.0
        ));
    }
    match result {
        Ok(Completed::BackedUp { generation }) => {
            if *generation <= before.acknowledged {
                return fail(format!(
                    "a backup was acknowledged as generation {}, not above the {} acknowledged before",
                    generation.0, before.acknowledged.0
                ));
            }
            if after.acknowledged < *generation {
                return fail(format!(
                    "a backup was acknowledged as generation {} and the device counts {}",
                    generation.0, after.acknowledged.0
                ));
            }
        }
        Ok(Completed::Restored { generation, .. }) if after.acknowledged < *generation => {
            return fail(format!(
                "a restore returned generation {} and the device counts {}",
                generation.0, after.acknowledged.0
            ));
        }
        // A password set or changed is a registration the vault activated
        // anew (its id is the leader's fresh choice): the device names it
        // from then on, else its disable deletes the registration that
        // went and leaves the one that holds K.
        Ok(Completed::Registered { .. } | Completed::PasswordChanged)
            if after.registration.is_none() || after.registration == before.registration =>
        {
            return fail(format!(
                "a password was set or changed and its registration is {:?}, as before",
                after.registration.map(|r| r.0)
            ));
        }
        _ => {}
    }
    Ok(())
}

/// A key's public fingerprint, or "none" (never the key).
fn fingerprint(state: &DeviceState) -> String {
    state
        .key
        .as_ref()
        .map_or_else(|| "none".to_owned(), |k| format!("{k:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::client::layout::encode_manifest;
    use backup_vault::vault::crypto::RegistrationId;
    use rand_chacha::rand_core::SeedableRng;

    fn device(mode: Mode) -> DeviceState {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut d = DeviceState::new(UserId(1));
        d.mode = mode;
        d.key = Some(BackupKey::generate(&mut rng));
        d.registration = Some(RegistrationId(9));
        d.acknowledged = Generation(3);
        d
    }

    fn restored(g: u64) -> Completed {
        Completed::Restored {
            plaintext: Bytes::new(),
            generation: Generation(g),
        }
    }

    #[test]
    fn a_key_restore_keeps_password_mode_and_sets_up_any_other() {
        let before = device(Mode::Password);
        let mut after = before.clone();
        let done = restored(3);
        assert!(judge(UserId(1), Kind::RestoreWithKey, &before, &after, Ok(&done)).is_ok());
        after.mode = Mode::Key;
        let v = judge(UserId(1), Kind::RestoreWithKey, &before, &after, Ok(&done))
            .expect_err("password mode dropped");
        assert_eq!(v.invariant, "DEV-1");
        let off = device(Mode::Off);
        let mut set = off.clone();
        set.mode = Mode::Key;
        assert!(judge(UserId(1), Kind::RestoreWithKey, &off, &set, Ok(&done)).is_ok());
        assert!(judge(UserId(1), Kind::RestoreWithKey, &off, &off, Ok(&done)).is_err());
    }

    #[test]
    fn a_failed_operation_may_stop_half_way_but_nowhere_else() {
        let before = device(Mode::Password);
        let mut after = before.clone();
        after.mode = Mode::Off;
        let e = ClientError::CloudUnavailable;
        assert!(judge(UserId(1), Kind::Disable, &before, &after, Err(&e)).is_ok());
        assert!(judge(UserId(1), Kind::Backup, &before, &after, Err(&e)).is_err());
        assert!(judge(UserId(1), Kind::Disable, &before, &before, Err(&e)).is_ok());
    }

    #[test]
    fn key_registration_and_generations_move_only_as_the_operation_says() {
        let before = device(Mode::Key);
        let up = Completed::BackedUp {
            generation: Generation(4),
        };
        let mut after = before.clone();
        after.acknowledged = Generation(4);
        assert!(judge(UserId(1), Kind::Backup, &before, &after, Ok(&up)).is_ok());
        // The device does not count what it acknowledged.
        assert!(judge(UserId(1), Kind::Backup, &before, &before, Ok(&up)).is_err());
        // A backup acknowledged at or below the device's count.
        let old = Completed::BackedUp {
            generation: Generation(3),
        };
        assert!(judge(UserId(1), Kind::Backup, &before, &before, Ok(&old)).is_err());
        // The count going back.
        let mut back = before.clone();
        back.acknowledged = Generation(2);
        assert!(judge(
            UserId(1),
            Kind::RestoreWithKey,
            &before,
            &back,
            Ok(&restored(3))
        )
        .is_err());
        // A restored generation the device does not count.
        assert!(judge(
            UserId(1),
            Kind::RestoreWithKey,
            &before,
            &before,
            Ok(&restored(5))
        )
        .is_err());
        // The key or the registration changed by a backup.
        let mut rekeyed = after.clone();
        rekeyed.key = None;
        assert!(judge(UserId(1), Kind::Backup, &before, &rekeyed, Ok(&up)).is_err());
        let mut moved = after.clone();
        moved.registration = Some(RegistrationId(10));
        assert!(judge(UserId(1), Kind::Backup, &before, &moved, Ok(&up)).is_err());
        assert!(judge(
            UserId(1),
            Kind::ChangePassword,
            &device(Mode::Password),
            &{
                let mut d = device(Mode::Password);
                d.registration = Some(RegistrationId(10));
                d
            },
            Ok(&Completed::PasswordChanged)
        )
        .is_ok());
        // A password change that leaves the device on the registration it
        // replaced (outside bug vault-client/23).
        assert!(judge(
            UserId(1),
            Kind::ChangePassword,
            &device(Mode::Password),
            &device(Mode::Password),
            Ok(&Completed::PasswordChanged)
        )
        .is_err());
    }

    #[test]
    fn a_backup_writes_each_generation_once_and_never_goes_back() {
        let (a, b) = (Bytes::from_static(b"one"), Bytes::from_static(b"two"));
        let mut w = Writes::default();
        w.put(UserId(1), Generation(4), &a).expect("first");
        w.put(UserId(1), Generation(4), &a)
            .expect("a lost write put again as it was");
        w.put(UserId(1), Generation(5), &b).expect("moved up");
        let v = w
            .put(UserId(1), Generation(5), &a)
            .expect_err("other bytes");
        assert_eq!(v.invariant, "DEV-1");
        let mut w = Writes::default();
        w.put(UserId(1), Generation(6), &a).expect("first");
        assert!(w.put(UserId(1), Generation(5), &b).is_err());
    }

    #[test]
    fn the_manifest_names_the_generation_written_under_the_key() {
        let key = device(Mode::Key).key.expect("a key");
        let other = {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
            BackupKey::generate(&mut rng)
        };
        let u = UserId(1);
        let mut w = Writes::default();
        let named = encode_manifest(&key, u, Generation(4));
        assert!(
            w.manifest(u, &key, &named).is_err(),
            "no backup written yet"
        );
        w.put(u, Generation(4), &Bytes::from_static(b"x"))
            .expect("first");
        w.manifest(u, &key, &named).expect("the generation written");
        assert!(w
            .manifest(u, &key, &encode_manifest(&key, u, Generation(3)))
            .is_err());
        assert!(w
            .manifest(u, &key, &encode_manifest(&other, u, Generation(4)))
            .is_err());
        assert!(w.manifest(u, &key, &[0u8; 32]).is_err());
    }

    #[test]
    fn a_backup_is_acknowledged_only_on_an_answer_showing_its_manifest() {
        let key = device(Mode::Key).key.expect("a key");
        let u = UserId(1);
        let mut w = Writes::default();
        assert!(w.acknowledged(u, Generation(4)).is_err(), "no answer yet");
        let ours = encode_manifest(&key, u, Generation(4));
        w.manifest_answer(u, &key, Some(&ours));
        w.acknowledged(u, Generation(4))
            .expect("its put answered Ok");
        w.manifest_answer(u, &key, None);
        assert!(
            w.acknowledged(u, Generation(4)).is_err(),
            "a refused put shows nothing"
        );
        w.manifest_answer(u, &key, Some(&encode_manifest(&key, u, Generation(5))));
        assert!(
            w.acknowledged(u, Generation(4)).is_err(),
            "a read naming another generation"
        );
        w.manifest_answer(u, &key, Some(&ours));
        w.acknowledged(u, Generation(4))
            .expect("a read showing an earlier put of it that was stored");
    }

    #[test]
    fn an_acknowledged_generation_holds_its_bytes_in_every_stored_version() {
        let u = UserId(1);
        let (ours, theirs) = (Bytes::from_static(b"ours"), Bytes::from_static(b"old"));
        let mut w = Writes::default();
        w.put(u, Generation(4), &ours).expect("first");
        w.stored(u, Generation(4), Some(&ours), [&ours].into_iter())
            .expect("one version, ours");
        w.stored(u, Generation(4), Some(&ours), [&ours, &ours].into_iter())
            .expect("an earlier send of the same bytes");
        let v = w
            .stored(u, Generation(4), Some(&ours), [&theirs, &ours].into_iter())
            .expect_err("an older version with other bytes (put, then deleted)");
        assert_eq!(v.invariant, Invariant::Dur1.id());
        assert!(w
            .stored(u, Generation(4), Some(&theirs), [&theirs].into_iter())
            .is_err());
        assert!(w
            .stored(u, Generation(5), Some(&ours), [&ours].into_iter())
            .is_err());
        assert!(w
            .stored(u, Generation(4), None, std::iter::empty())
            .is_err());
    }

    #[test]
    fn a_manifest_stored_over_another_must_name_a_later_generation() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let (key, other) = (BackupKey::generate(&mut rng), BackupKey::generate(&mut rng));
        let u = UserId(2);
        let named = |k: &BackupKey, g| encode_manifest(k, u, Generation(g)).to_vec();
        assert!(manifest_moves_on(u, &key, &named(&key, 4), &named(&key, 5)).is_ok());
        // Back, or in place: the newer backup is no longer the one named.
        let back = manifest_moves_on(u, &key, &named(&key, 6), &named(&key, 5)).unwrap_err();
        assert_eq!(back.invariant, "DUR-1");
        assert!(manifest_moves_on(u, &key, &named(&key, 5), &named(&key, 5)).is_err());
        // Another key's manifest replaced: not this key's order.
        assert!(manifest_moves_on(u, &key, &named(&other, 9), &named(&key, 1)).is_ok());
    }
}
