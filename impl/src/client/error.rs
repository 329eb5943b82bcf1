//! What can go wrong in a client operation, phrased so the app can tell the
//! user what to do.

use crate::format::Generation;
use crate::key::KeyTextError;
use thiserror::Error;

/// Why an operation failed. Every variant's message says what the user can do.
///
/// No variant carries a secret: messages never quote the key's digits, the
/// password or backup plaintext.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The password was wrong. Each wrong password uses up one guess.
    #[error(
        "wrong password: {remaining} attempt(s) left before the backup key is destroyed for good"
    )]
    WrongPassword {
        /// Guesses left; at 0 the next login destroys the key.
        remaining: u8,
    },
    /// Too many wrong passwords: the vault destroyed the key. The backups
    /// can only be read with the 64-digit key, if the user wrote it down.
    #[error("too many wrong passwords: the backup key was destroyed; restore with the 64-digit key if you have it, or start new backups")]
    KeyDestroyed,
    /// The vault holds no password-protected key for this account (never set
    /// up, turned off, replaced from another device, or destroyed): a
    /// password change whose registration is gone ends so, never by
    /// registering afresh (DEV-2).
    #[error("no password-protected backup key is set up for this account; turn on encrypted backups again, or restore with the 64-digit key")]
    NotRegistered,
    /// The vault did not answer after the client's retry budget.
    #[error("the key vault is not reachable right now; try again later")]
    VaultUnavailable,
    /// The cloud did not answer after the client's retry budget.
    #[error("the cloud storage is not reachable right now; try again later")]
    CloudUnavailable,
    /// The newest usable backup is damaged, and no backup at least as new as
    /// the last one this device made could be read instead.
    #[error("the backup in the cloud is damaged ({detail}); back up again from a device that has the chats")]
    BackupDamaged {
        /// What is wrong (from the backup format's error).
        detail: String,
    },
    /// The backup was made with another key than the one given: said only
    /// when the restore found a backup under another key and none it could
    /// open (DEV-2).
    #[error("this 64-digit key does not fit the backup: check the digits")]
    WrongKey,
    /// The cloud served a backup older than one this device already stored:
    /// restoring it would silently lose chats, so it is refused.
    #[error("the cloud only offers backup generation {}, older than generation {} that this device stored; try again later, the cloud may be serving stale data", .found.0, .expected_at_least.0)]
    StaleBackup {
        /// The newest generation found.
        found: Generation,
        /// The generation this device acknowledged.
        expected_at_least: Generation,
    },
    /// No backup was found in the cloud: said only when the restore found
    /// no backup under any key (one under another key is [`WrongKey`](Self::WrongKey), DEV-2).
    #[error("no backup was found in the cloud for this account")]
    NoBackup,
    /// The 64-digit key text does not parse.
    #[error("the key text is not valid: {0}")]
    BadKeyText(KeyTextError),
    /// Disabling could not confirm that the vault no longer holds a
    /// guessable record of this device's key, so nothing was deleted and
    /// the key stays on the device.
    #[error("the key vault did not confirm that the password-protected key is deleted; the key stays on this device; try again later")]
    DeleteUnconfirmed,
    /// A password restore on a device that holds a key found that the
    /// vault keeps another key for the account (set up from another
    /// device): taking it would lose this device's own key, and the
    /// backups only that key opens, so nothing was changed.
    #[error("the key vault keeps a different backup key for this account (set up on another device); this device keeps its own key and nothing was changed")]
    KeyDiffers,
    /// Another operation is running; wait for its result.
    #[error("another backup operation is still running; wait for it to finish")]
    Busy,
    /// The operation needs encrypted backups to be on (a key on this device,
    /// and for password changes a vault registration).
    #[error("encrypted backups are not turned on on this device")]
    NotEnabled,
    /// An answer that a correct vault or store never gives, or a check that
    /// failed in a way only an attacker or a bug explains.
    #[error("unexpected answer ({0}); try again, and report it if it persists")]
    Protocol(String),
}
