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
/// every completed operation, and what a restarted client resumes from
/// ([`super::Client::from_state`]).
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
            manifest_version: None,
        }
    }

    /// Records that `generation` is stored (acknowledged to the user or
    /// restored): the acknowledged generation only grows.
    pub(crate) fn acknowledge(&mut self, generation: Generation) {
        self.acknowledged = self.acknowledged.max(generation);
    }
}
