//! What a device keeps between operations.

use crate::cloud::Version;
use crate::format::Generation;
use crate::key::BackupKey;
use crate::vault::crypto::RegistrationId;
use crate::vault::ids::UserId;

/// How this device keeps its backup key, as far as it knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Encrypted backups are off (or not set up on this device yet).
    #[default]
    Off,
    /// Key mode: the user keeps the 64 digits; the vault holds nothing.
    Key,
    /// Password mode: the vault keeps K behind the password.
    Password,
}

/// The device's durable state: what an app writes to its own storage after
/// every operation that ends, completed or failed (a failed backup's
/// [`DeviceState::written`] must survive it), and what a restarted client
/// resumes from ([`super::Client::from_state`]).
///
/// K is a secret: it is wiped on drop and redacted in `Debug` (which shows
/// only its fingerprint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceState {
    /// The account.
    pub user: UserId,
    /// How K is kept.
    pub mode: Mode,
    /// K, if this device has it (after enabling, or after a restore).
    pub key: Option<BackupKey>,
    /// The vault registration this device set up or logged into; needed for
    /// password change and disable (proofs of K name it).
    pub registration: Option<RegistrationId>,
    /// The highest backup generation this device was told is stored (0: none).
    /// A restore on this device never accepts an older generation.
    pub acknowledged: Generation,
    /// The highest generation a backup on this device chose for its object,
    /// put or about to be, acknowledged or not (0: none). A backup starts
    /// above both this and `acknowledged`
    /// ([`DeviceState::backup_floor`]).
    ///
    /// A backup that fails after its put (the cloud refused the manifest)
    /// leaves its bytes on `backups/<g>`, and a later backup that chose
    /// that name again would spend a conflict on it; enough such names
    /// would outnumber the conflict budget, and no backup would succeed
    /// again (LIVE-5). It is raised in memory before the put goes out, so
    /// the state saved after a failed backup holds it too. A crash before
    /// the state is saved loses the names of the run it cut short (one,
    /// unless that run had moved on to another generation): the next
    /// backup spends a conflict on each.
    ///
    /// It is no promise that anything is stored (the put may have been
    /// lost, the name deleted), so a restore never compares with it; only
    /// `acknowledged` bounds what a restore accepts. A disable keeps it, as
    /// it keeps `acknowledged`, so that names stay increasing if backups
    /// are turned on again, and raises it to the highest name it listed to
    /// delete: another device of K may have written names above this one's,
    /// and a deleted name has a history the next key's backups would meet
    /// one by one, more of them than the conflict budget.
    pub written: Generation,
    /// The manifest version this device last wrote or read, for the next
    /// conditional manifest update.
    pub manifest_version: Option<Version>,
}

impl DeviceState {
    /// A fresh device of `user`: no key, backups off.
    pub fn new(user: UserId) -> Self {
        DeviceState {
            user,
            mode: Mode::Off,
            key: None,
            registration: None,
            acknowledged: Generation(0),
            written: Generation(0),
            manifest_version: None,
        }
    }

    /// Records that `generation` is stored (acknowledged to the user or
    /// restored): the acknowledged generation only grows.
    pub(crate) fn acknowledge(&mut self, generation: Generation) {
        self.acknowledged = self.acknowledged.max(generation);
    }

    /// Records that a backup chose `generation` for its object: the floor
    /// of written names only grows.
    pub(crate) fn write(&mut self, generation: Generation) {
        self.written = self.written.max(generation);
    }

    /// The generation a backup on this device starts after (unless the
    /// manifest names a later one): the highest it acknowledged, restored
    /// or chose a name for.
    pub fn backup_floor(&self) -> Generation {
        self.acknowledged.max(self.written)
    }
}
