//! The values that cross the client's boundary: operations in, outputs out,
//! answers back.

use super::error::ClientError;
use crate::cloud::{Object, ObjectInfo, ObjectKey, Precondition, Version};
use crate::format::Generation;
use crate::vault::ids::NodeId;
use crate::vault::opaque_crypto::OpaqueCrypto;
use crate::vault::protocol::ClientRequest;
use bytes::Bytes;
use core::fmt;
use zeroize::Zeroizing;

/// A password, as the user typed it. Wiped on drop; `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Takes the password's bytes (UTF-8 as typed, or any bytes).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Password(Zeroizing::new(bytes.into()))
    }

    /// The bytes. Named so that every use of the secret is easy to find.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s.as_bytes())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What the user asked for. One runs at a time.
#[derive(Clone)]
pub enum Operation {
    /// Turn on backups in key mode: generate K (or keep the device's) and show
    /// its 64 digits once.
    EnableKeyMode,
    /// Turn on backups in password mode: generate K (or keep the device's) and
    /// store it in the vault behind `password`.
    EnablePasswordMode {
        /// The new password.
        password: Password,
    },
    /// Encrypt `plaintext` with K and store it as the next generation.
    Backup {
        /// The backup's content (the chat archive).
        plaintext: Bytes,
    },
    /// Restore the newest backup with the 64-digit key.
    RestoreWithKey {
        /// The key as typed or pasted; wiped after parsing.
        key_text: Zeroizing<String>,
    },
    /// Restore the newest backup, getting K from the vault with the password.
    RestoreWithPassword {
        /// The password.
        password: Password,
    },
    /// Set a new password, proving knowledge of K (the old password is not
    /// needed). It replaces the registration the device holds; when the
    /// vault no longer has it (destroyed by guessing, or displaced) the
    /// change fails with [`ClientError::NotRegistered`](crate::client::ClientError::NotRegistered)
    /// and registers nothing, so the user learns of it (DEV-2).
    ChangePassword {
        /// The new password.
        new_password: Password,
    },
    /// Turn backups off: delete the vault record and the cloud backups.
    Disable,
}

impl Operation {
    /// The operation's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::EnableKeyMode => "enable key mode",
            Operation::EnablePasswordMode { .. } => "enable password mode",
            Operation::Backup { .. } => "backup",
            Operation::RestoreWithKey { .. } => "restore with key",
            Operation::RestoreWithPassword { .. } => "restore with password",
            Operation::ChangePassword { .. } => "change password",
            Operation::Disable => "disable",
        }
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Backup { plaintext } => write!(f, "Backup({} bytes)", plaintext.len()),
            other => write!(f, "Operation({})", other.name()),
        }
    }
}

/// Numbers every request the client emits. The driver hands it back with the
/// answer, so that a late answer to a request the client has moved past is
/// recognised and ignored. A resend (after a timeout or a `NotLeader`) gets a
/// new number; an answer to any send of the request the client is waiting
/// for is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// A cloud operation for the driver to perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloudOp {
    /// `ObjectStore::put`.
    Put {
        /// The object.
        key: ObjectKey,
        /// Its bytes (reference-counted: no copy).
        data: Bytes,
        /// The condition.
        cond: Precondition,
    },
    /// `ObjectStore::get`.
    Get {
        /// The object.
        key: ObjectKey,
    },
    /// `ObjectStore::get_version`.
    GetVersion {
        /// The object.
        key: ObjectKey,
        /// The version.
        version: Version,
    },
    /// `ObjectStore::list`.
    List {
        /// The prefix.
        prefix: String,
    },
    /// `ObjectStore::delete`.
    Delete {
        /// The object.
        key: ObjectKey,
        /// The condition.
        cond: Precondition,
    },
}

/// A successful answer to a [`CloudOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloudReply {
    /// A put stored this version.
    Put(Version),
    /// A get or get_version read this object.
    Got(Object),
    /// A list found these objects.
    Listed(Vec<ObjectInfo>),
    /// A delete took effect.
    Deleted,
}

/// What a finished operation produced.
#[derive(Clone, PartialEq, Eq)]
pub enum Completed {
    /// Key mode is on: show these 64 digits (4 lines of 4 groups) once, and
    /// ask the user to write them down.
    KeyShown {
        /// The digits. Wiped on drop; redacted in `Debug`.
        text: Zeroizing<String>,
    },
    /// Password mode is on.
    Registered {
        /// Guesses available.
        remaining: u8,
    },
    /// The backup is stored: both its file and the manifest were written,
    /// and the file was read back intact.
    BackedUp {
        /// Its generation.
        generation: Generation,
    },
    /// The newest backup, decrypted and authenticated.
    Restored {
        /// The backup's content.
        plaintext: Bytes,
        /// Its generation, from its authenticated header.
        generation: Generation,
    },
    /// The new password is active; the old one no longer works.
    PasswordChanged,
    /// Backups are off and the vault record is deleted.
    Disabled {
        /// Cloud objects that could not be deleted (the cloud was
        /// unavailable); they are ciphertext and harmless, but take space.
        not_deleted: Vec<ObjectKey>,
        /// Whether the listing of the backups folder failed, so that some
        /// backups may remain that are not named in `not_deleted`.
        listing_failed: bool,
    },
}

impl fmt::Debug for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Completed::KeyShown { .. } => f.write_str("KeyShown(<redacted>)"),
            Completed::Registered { remaining } => {
                write!(f, "Registered {{ remaining: {remaining} }}")
            }
            Completed::BackedUp { generation } => write!(f, "BackedUp({})", generation.0),
            Completed::Restored {
                plaintext,
                generation,
            } => {
                write!(
                    f,
                    "Restored({} bytes, generation {})",
                    plaintext.len(),
                    generation.0
                )
            }
            Completed::PasswordChanged => f.write_str("PasswordChanged"),
            Completed::Disabled {
                not_deleted,
                listing_failed,
            } => f
                .debug_struct("Disabled")
                .field("not_deleted", not_deleted)
                .field("listing_failed", listing_failed)
                .finish(),
        }
    }
}

/// What the client asks of its driver, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this request to vault node `to` (the leader, as far as the
    /// client knows) and call [`super::Client::on_vault`] with `call` and
    /// the answer.
    Vault {
        /// Echo this with the answer.
        call: CallId,
        /// The node to send it to.
        to: NodeId,
        /// The request.
        request: ClientRequest<OpaqueCrypto>,
    },
    /// Perform this cloud operation and call [`super::Client::on_cloud`] with
    /// `call` and the result.
    Cloud {
        /// Echo this with the answer.
        call: CallId,
        /// The operation.
        op: CloudOp,
    },
    /// Save [`super::Client::state`] durably now, before acting on the
    /// outputs that follow: the device named a registration mid-operation
    /// (the one its set-up staged, or the live one a disable was pointed
    /// at), and a crash that lost it would leave a record of K the device
    /// never asks the vault to delete. Drivers that keep no state across
    /// runs may ignore it.
    Persist,
    /// The operation finished.
    Done(Completed),
    /// The operation failed; the device state is as before it, except where
    /// the error's documentation says otherwise.
    Failed(ClientError),
}
