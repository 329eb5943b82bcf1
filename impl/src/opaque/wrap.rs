//! Wrapping K under the OPAQUE export key, and carrying the wrapped K under
//! the session key.
//!
//! **Wrap** (client only; the vault stores the result and never holds K in the clear):
//! ```text
//! wrap_key   = HKDF-SHA256(salt = empty, IKM = export_key (64 B), info = WRAP_LABEL)  (32 B)
//! WrappedKey = 0x01 || nonce (12 B, random) || AES-256-GCM(wrap_key, nonce, K, aad)   (61 B)
//! aad        = WRAP_LABEL || 0x01 || user_id
//! ```
//! The export key exists only on a client that opened the envelope with the
//! right password, so only such a client can unwrap; the user id in the
//! associated data stops a wrapped key from being served to another user.
//!
//! **Session seal** (vault to client on a successful login):
//! ```text
//! seal_key  = HKDF-SHA256(salt = empty, IKM = session_key (64 B), info = SESSION_LABEL || direction)
//! release   = WrappedKey (61 B) || registration (8 B, big-endian) || remaining (1 B)
//! Sealed    = 0x01 || nonce (12 B, random) || AES-256-GCM(seal_key, nonce, release, aad)   (99 B)
//! aad       = SESSION_LABEL || direction || 0x01 || user_id
//! direction = "vault->client" or "client->vault"
//! ```
//! The registration and the guesses available travel inside the seal, so
//! the client takes them from the vault, not from whoever relays the reply.
//! Each direction has its own key, so a sealed value cannot be reflected back
//! to its sender, and the session key is fresh per login, so a sealed value
//! from one login opens in no other.
//!
//! Random 96-bit nonces are safe here: each wrap key encrypts a handful of
//! values over its life (one per registration or password change), and each
//! seal key one or two.

use super::bytes::{self, Encoded};
use super::error::{DecodeError, UnwrapError};
use super::secrets::{ExportKey, SessionKey};
use crate::key::{BackupKey, KEY_LEN};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use core::fmt;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF `info` for the wrapping key, and prefix of the wrap's associated data.
pub const WRAP_LABEL: &[u8] = b"bvault v1 opaque export key wraps K";
/// HKDF `info` prefix for the session seal keys, and prefix of its associated data.
pub const SESSION_LABEL: &[u8] = b"bvault v1 opaque session seal ";
/// The format version byte that starts [`WrappedKey`] and [`SessionSealedKey`].
pub const SEAL_VERSION: u8 = 1;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Length of a [`WrappedKey`].
pub const WRAPPED_KEY_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
/// Length of a [`SessionRelease`] in the clear.
pub const SESSION_RELEASE_LEN: usize = WRAPPED_KEY_LEN + 8 + 1;
/// Length of a [`SessionSealedKey`].
pub const SESSION_SEALED_KEY_LEN: usize = 1 + NONCE_LEN + SESSION_RELEASE_LEN + TAG_LEN;

/// Which way a session-sealed value travels. Each way has its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the vault to the client (releasing the wrapped K after login).
    VaultToClient,
    /// From the client to the vault (for example a new wrapped K in a change).
    ClientToVault,
}

impl Direction {
    /// The label appended to [`SESSION_LABEL`].
    pub const fn label(self) -> &'static [u8] {
        match self {
            Direction::VaultToClient => b"vault->client",
            Direction::ClientToVault => b"client->vault",
        }
    }
}

/// K encrypted under a key derived from the export key: what the vault stores.
///
/// Not secret on its own (without the export key it reveals nothing about K),
/// but it is only released after a successful login, so that offline guessing
/// against it also needs the OPRF key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WrappedKey([u8; WRAPPED_KEY_LEN]);

/// A [`SessionRelease`] encrypted under a login's session key, for one direction.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionSealedKey([u8; SESSION_SEALED_KEY_LEN]);

/// What a vault releases after a successful login: K wrapped, which
/// registration the login was against, and the guesses available.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionRelease {
    /// K, wrapped under the export key.
    pub wrapped: WrappedKey,
    /// The registration id (the vault's number for the record).
    pub registration: u64,
    /// Guesses available after the login.
    pub remaining: u8,
}

impl SessionRelease {
    fn to_bytes(&self) -> Zeroizing<[u8; SESSION_RELEASE_LEN]> {
        let mut b = Zeroizing::new([0u8; SESSION_RELEASE_LEN]);
        b[..WRAPPED_KEY_LEN].copy_from_slice(&self.wrapped.0);
        b[WRAPPED_KEY_LEN..WRAPPED_KEY_LEN + 8].copy_from_slice(&self.registration.to_be_bytes());
        b[SESSION_RELEASE_LEN - 1] = self.remaining;
        b
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != SESSION_RELEASE_LEN {
            return None;
        }
        let wrapped = WrappedKey::from_bytes(&b[..WRAPPED_KEY_LEN]).ok()?;
        let registration =
            u64::from_be_bytes(b[WRAPPED_KEY_LEN..WRAPPED_KEY_LEN + 8].try_into().ok()?);
        Some(SessionRelease {
            wrapped,
            registration,
            remaining: b[SESSION_RELEASE_LEN - 1],
        })
    }
}

/// Wraps K for storage in the vault (client side, after registration or a
/// password change).
pub fn wrap_backup_key(
    export_key: &ExportKey,
    user_id: &[u8],
    key: &BackupKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> WrappedKey {
    let cipher = cipher(export_key.expose_secret(), WRAP_LABEL, b"");
    let sealed = seal::<WRAPPED_KEY_LEN>(
        &cipher,
        &aad(WRAP_LABEL, b"", user_id),
        key.expose_secret(),
        rng,
    );
    WrappedKey(sealed)
}

/// Unwraps K (client side, after login).
///
/// # Errors
/// [`UnwrapError`] for another password's export key, another user id, or tampered bytes.
pub fn unwrap_backup_key(
    export_key: &ExportKey,
    wrapped: &WrappedKey,
    user_id: &[u8],
) -> Result<BackupKey, UnwrapError> {
    let cipher = cipher(export_key.expose_secret(), WRAP_LABEL, b"");
    let plain = open(&cipher, &aad(WRAP_LABEL, b"", user_id), &wrapped.0)?;
    let bytes: &[u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| UnwrapError)?;
    Ok(BackupKey::from_bytes(bytes))
}

/// Seals a release under a session key for one direction.
pub fn seal_for_session(
    session_key: &SessionKey,
    direction: Direction,
    user_id: &[u8],
    release: &SessionRelease,
    rng: &mut (impl RngCore + CryptoRng),
) -> SessionSealedKey {
    let cipher = cipher(
        session_key.expose_secret(),
        SESSION_LABEL,
        direction.label(),
    );
    let aad = aad(SESSION_LABEL, direction.label(), user_id);
    SessionSealedKey(seal::<SESSION_SEALED_KEY_LEN>(
        &cipher,
        &aad,
        release.to_bytes().as_ref(),
        rng,
    ))
}

/// Opens [`seal_for_session`]'s output.
///
/// # Errors
/// [`UnwrapError`] for another session's key, the other direction, another
/// user id, or tampered bytes; also if the content is not a valid release.
pub fn open_from_session(
    session_key: &SessionKey,
    direction: Direction,
    user_id: &[u8],
    sealed: &SessionSealedKey,
) -> Result<SessionRelease, UnwrapError> {
    let cipher = cipher(
        session_key.expose_secret(),
        SESSION_LABEL,
        direction.label(),
    );
    let aad = aad(SESSION_LABEL, direction.label(), user_id);
    let plain = open(&cipher, &aad, &sealed.0)?;
    SessionRelease::from_bytes(&plain).ok_or(UnwrapError)
}

fn cipher(ikm: &[u8], label: &[u8], direction: &[u8]) -> Aes256Gcm {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, ikm)
        .expand_multi_info(&[label, direction], okm.as_mut())
        .expect("HKDF-SHA256 can always expand 32 bytes");
    Aes256Gcm::new(okm.as_ref().into())
}

fn aad(label: &[u8], direction: &[u8], user_id: &[u8]) -> Vec<u8> {
    [label, direction, &[SEAL_VERSION], user_id].concat()
}

/// `version || nonce || AES-256-GCM(plaintext)`, exactly `N` bytes.
fn seal<const N: usize>(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> [u8; N] {
    debug_assert_eq!(N, 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-256-GCM encrypts any short message");
    let mut out = [0u8; N];
    out[0] = SEAL_VERSION;
    out[1..1 + NONCE_LEN].copy_from_slice(&nonce);
    out[1 + NONCE_LEN..].copy_from_slice(&ciphertext);
    out
}

fn open(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, UnwrapError> {
    let (nonce, ciphertext) = sealed
        .get(1..)
        .ok_or(UnwrapError)?
        .split_at_checked(NONCE_LEN)
        .ok_or(UnwrapError)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| UnwrapError)
}

macro_rules! sealed_type {
    ($name:ident, $len:ident, $what:literal) => {
        impl $name {
            /// Decodes bytes from the network or storage.
            ///
            /// # Errors
            /// [`DecodeError::WrongLength`] unless exactly
            #[doc = concat!("[`", stringify!($len), "`]")]
            /// bytes; [`DecodeError::Malformed`] for an unknown version byte.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                <Self as Encoded>::decode(bytes)
            }

            /// The encoding.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl Encoded for $name {
            const WHAT: &'static str = $what;

            fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let array = bytes::fixed::<$len>($what, bytes)?;
                if array[0] != SEAL_VERSION {
                    return Err(DecodeError::Malformed { what: $what });
                }
                Ok($name(array))
            }

            fn encoding(&self) -> &[u8] {
                &self.0
            }
        }

        bytes::serde_as_bytes!($name);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} bytes, "), $len)?;
                bytes::hex(f, &self.0[..8])?;
                f.write_str("..)")
            }
        }
    };
}

sealed_type!(WrappedKey, WRAPPED_KEY_LEN, "wrapped key");
sealed_type!(
    SessionSealedKey,
    SESSION_SEALED_KEY_LEN,
    "session-sealed key"
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn wrap_round_trips_and_binds_key_and_user() {
        let rng = &mut ChaCha20Rng::seed_from_u64(1);
        let k = BackupKey::generate(rng);
        let export = ExportKey::from_bytes(&[3; 64]);
        let wrapped = wrap_backup_key(&export, b"alice", &k, rng);
        assert_eq!(unwrap_backup_key(&export, &wrapped, b"alice").unwrap(), k);
        assert_eq!(
            unwrap_backup_key(&export, &wrapped, b"bob"),
            Err(UnwrapError)
        );
        let other = ExportKey::from_bytes(&[4; 64]);
        assert_eq!(
            unwrap_backup_key(&other, &wrapped, b"alice"),
            Err(UnwrapError)
        );
        for i in 1..WRAPPED_KEY_LEN {
            let mut bytes = *wrapped.as_bytes();
            bytes[i] ^= 1;
            let tampered = WrappedKey::from_bytes(&bytes).unwrap();
            assert_eq!(
                unwrap_backup_key(&export, &tampered, b"alice"),
                Err(UnwrapError),
                "byte {i}"
            );
        }
    }

    #[test]
    fn session_seal_binds_key_direction_and_user() {
        let rng = &mut ChaCha20Rng::seed_from_u64(2);
        let k = BackupKey::generate(rng);
        let wrapped = wrap_backup_key(&ExportKey::from_bytes(&[3; 64]), b"alice", &k, rng);
        let session = SessionKey::from_bytes(&[5; 64]);
        let release = SessionRelease {
            wrapped,
            registration: 0x0102_0304_0506_0708,
            remaining: 7,
        };
        let sealed = seal_for_session(&session, Direction::VaultToClient, b"alice", &release, rng);
        assert_eq!(
            open_from_session(&session, Direction::VaultToClient, b"alice", &sealed).unwrap(),
            release
        );
        assert!(open_from_session(&session, Direction::ClientToVault, b"alice", &sealed).is_err());
        assert!(open_from_session(&session, Direction::VaultToClient, b"bob", &sealed).is_err());
        let other = SessionKey::from_bytes(&[6; 64]);
        assert!(open_from_session(&other, Direction::VaultToClient, b"alice", &sealed).is_err());
    }

    #[test]
    fn decoders_check_length_and_version() {
        assert!(matches!(
            WrappedKey::from_bytes(&[1; WRAPPED_KEY_LEN - 1]),
            Err(DecodeError::WrongLength { .. })
        ));
        assert!(matches!(
            WrappedKey::from_bytes(&[2; WRAPPED_KEY_LEN]),
            Err(DecodeError::Malformed { .. })
        ));
        assert!(SessionSealedKey::from_bytes(&[1; SESSION_SEALED_KEY_LEN]).is_ok());
    }
}
