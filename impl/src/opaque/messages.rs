//! The OPAQUE protocol messages, the stored record and the server's login
//! state, as fixed-length byte newtypes.
//!
//! Each type holds exactly the bytes of opaque-ke's own encoding and is built
//! only by a validating decoder (`from_bytes`, serde) or by this module's
//! protocol steps, so a value of the type is always well formed; the stored
//! [`PasswordFile`], read back only from HSM-sealed bytes, is decoded by its
//! length alone (see its documentation). Decoding untrusted bytes never
//! panics: it returns [`DecodeError::WrongLength`] unless the length is exact
//! (opaque-ke itself ignores trailing bytes; we do not), or
//! [`DecodeError::Malformed`] if opaque-ke refuses the content (for example a
//! group element that is not a canonical, non-identity point).
//!
//! | type | opaque-ke | bytes | sent by | secret |
//! |---|---|---|---|---|
//! | [`RegistrationRequest`] | `RegistrationRequest` | 32 | client | no |
//! | [`RegistrationResponse`] | `RegistrationResponse` | 64 | vault | no |
//! | [`RegistrationUpload`] | `RegistrationUpload` | 192 | client | yes |
//! | [`PasswordFile`] | `ServerRegistration` | 192 | (stored) | yes |
//! | [`Ke1`] | `CredentialRequest` | 96 | client | no |
//! | [`Ke2`] | `CredentialResponse` | 320 | vault | no |
//! | [`Ke3`] | `CredentialFinalization` | 64 | client | no |
//! | [`ServerLoginState`] | `ServerLogin` | 128 | (leader memory) | yes |
//!
//! "Secret" values are wiped on drop, compared in constant time and redacted in
//! `Debug`: an upload or record plus the fleet's OPRF seed allows an offline
//! dictionary attack, and the login state holds the session key.

use super::bytes::{self, Encoded};
use super::error::DecodeError;
use super::suite::Suite;
use core::fmt;
use core::hash::{Hash, Hasher};
use opaque_ke::generic_array::typenum::Unsigned;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of [`RegistrationRequest`]: the blinded OPRF element.
pub const REGISTRATION_REQUEST_LEN: usize =
    <opaque_ke::RegistrationRequestLen<Suite> as Unsigned>::USIZE;
/// Length of [`RegistrationResponse`]: the evaluated element, then the server's public key.
pub const REGISTRATION_RESPONSE_LEN: usize =
    <opaque_ke::RegistrationResponseLen<Suite> as Unsigned>::USIZE;
/// Length of [`RegistrationUpload`]: client public key, masking key, envelope.
pub const REGISTRATION_UPLOAD_LEN: usize =
    <opaque_ke::RegistrationUploadLen<Suite> as Unsigned>::USIZE;
/// Length of [`PasswordFile`] (the same bytes as the upload it was made from).
pub const PASSWORD_FILE_LEN: usize = <opaque_ke::ServerRegistrationLen<Suite> as Unsigned>::USIZE;
/// Length of [`Ke1`]: blinded element, client nonce, client ephemeral key.
pub const KE1_LEN: usize = <opaque_ke::CredentialRequestLen<Suite> as Unsigned>::USIZE;
/// Length of [`Ke2`]: evaluated element, masking nonce, masked response,
/// server nonce, server ephemeral key, server MAC.
pub const KE2_LEN: usize = <opaque_ke::CredentialResponseLen<Suite> as Unsigned>::USIZE;
/// Length of [`Ke3`]: the client's MAC.
pub const KE3_LEN: usize = <opaque_ke::CredentialFinalizationLen<Suite> as Unsigned>::USIZE;
/// Length of [`ServerLoginState`]: the session key and the expected KE3 MAC
/// (opaque-ke does not export this length; a test pins it).
pub const SERVER_LOGIN_STATE_LEN: usize = 128;

/// Offset of the server's static public key inside a [`RegistrationResponse`].
const RESPONSE_SERVER_PK_AT: usize = REGISTRATION_RESPONSE_LEN - super::fleet::FLEET_PUBLIC_KEY_LEN;

macro_rules! fixed_bytes_type {
    ($(#[$doc:meta])* $name:ident, $len:ident, $what:literal, $opaque:ty) => {
        fixed_bytes_type!(@define $(#[$doc])* $name, $len, $what, $opaque, true);
    };
    // Decoded by length only: see `PasswordFile`.
    ($(#[$doc:meta])* $name:ident, $len:ident, $what:literal, $opaque:ty, stored) => {
        fixed_bytes_type!(@define $(#[$doc])* $name, $len, $what, $opaque, false);
    };
    (@define $(#[$doc:meta])* $name:ident, $len:ident, $what:literal, $opaque:ty, $validate:literal) => {
        $(#[$doc])*
        pub struct $name([u8; $len]);

        impl $name {
            /// Decodes bytes received from the network or storage, validated
            /// (except a stored `PasswordFile`: see its documentation).
            ///
            /// # Errors
            /// [`DecodeError::WrongLength`] unless exactly
            #[doc = concat!("[`", stringify!($len), "`]")]
            /// bytes; [`DecodeError::Malformed`] if opaque-ke refuses the content.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                <Self as Encoded>::decode(bytes)
            }

            /// The encoding.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            #[allow(dead_code)]
            pub(crate) fn to_opaque(&self) -> Result<$opaque, DecodeError> {
                <$opaque>::deserialize(&self.0).map_err(|_| DecodeError::Malformed { what: $what })
            }

            #[allow(dead_code)]
            pub(crate) fn from_opaque(value: &$opaque) -> Self {
                let mut encoded = value.serialize();
                let mut out = [0u8; $len];
                out.copy_from_slice(&encoded);
                encoded.as_mut_slice().zeroize();
                $name(out)
            }
        }

        impl Encoded for $name {
            const WHAT: &'static str = $what;

            fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let value = $name(bytes::fixed::<$len>($what, bytes)?);
                if $validate {
                    value.to_opaque()?;
                }
                Ok(value)
            }

            fn encoding(&self) -> &[u8] {
                &self.0
            }
        }

        bytes::serde_as_bytes!($name);
    };
}

macro_rules! public_message {
    ($(#[$doc:meta])* $name:ident, $len:ident, $what:literal, $opaque:ty) => {
        fixed_bytes_type!($(#[$doc])* #[derive(Clone, PartialEq, Eq, Hash)] $name, $len, $what, $opaque);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} bytes, "), $len)?;
                bytes::hex(f, &self.0[..8])?;
                f.write_str("..)")
            }
        }
    };
}

macro_rules! secret_value {
    ($(#[$doc:meta])* $name:ident, $len:ident, $what:literal, $opaque:ty $(, $stored:ident)?) => {
        fixed_bytes_type!($(#[$doc])* #[derive(Clone, Zeroize, ZeroizeOnDrop)] $name, $len, $what, $opaque $(, $stored)?);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

public_message! {
    /// Registration, client to vault: the password blinded for the OPRF.
    RegistrationRequest, REGISTRATION_REQUEST_LEN, "registration request",
    opaque_ke::RegistrationRequest<Suite>
}

public_message! {
    /// Registration, vault to client: the OPRF evaluated under the user's key,
    /// and the fleet's static public key (which the client checks against its pin).
    RegistrationResponse, REGISTRATION_RESPONSE_LEN, "registration response",
    opaque_ke::RegistrationResponse<Suite>
}

secret_value! {
    /// Registration, client to vault: the client's public key, masking key
    /// and envelope. Secret: with the fleet's OPRF seed it allows an offline
    /// dictionary attack on the password.
    RegistrationUpload, REGISTRATION_UPLOAD_LEN, "registration upload",
    opaque_ke::RegistrationUpload<Suite>
}

secret_value! {
    /// The record the vault stores per user (opaque-ke's `ServerRegistration`).
    ///
    /// The one type decoded by its length alone: it is made only from a
    /// validated [`RegistrationUpload`] and is read back only from what an
    /// HSM sealed (disk records, peer messages, snapshots), which the AEAD
    /// authenticates before any decoding. Validating its group element again
    /// at every read cost a point decompression per user in every snapshot
    /// a node opens: the simulator's cost per event grew with the number of
    /// users. A malformed one (possible only with the seals broken) fails
    /// the login that uses it with a typed error, never a panic.
    PasswordFile, PASSWORD_FILE_LEN, "password file", opaque_ke::ServerRegistration<Suite>, stored
}

public_message! {
    /// Login, client to vault (KE1): blinded password, client nonce and
    /// ephemeral key. The vault commits "attempt consumed" before answering.
    Ke1, KE1_LEN, "KE1", opaque_ke::CredentialRequest<Suite>
}

public_message! {
    /// Login, vault to client (KE2): OPRF evaluation, masked envelope and
    /// server key share with MAC. Lets the holder of KE1's client state test
    /// one password guess offline: this is the message the lockout counts.
    Ke2, KE2_LEN, "KE2", opaque_ke::CredentialResponse<Suite>
}

public_message! {
    /// Login, client to vault (KE3): the client's MAC over the transcript,
    /// which only a client that opened the envelope (knew the password) can make.
    Ke3, KE3_LEN, "KE3", opaque_ke::CredentialFinalization<Suite>
}

secret_value! {
    /// What the vault keeps between sending KE2 and receiving KE3: the session
    /// key and the expected KE3 MAC. Plain bytes, so a leader can hold it in
    /// memory, clone, hash and compare it; single use (consumed by
    /// [`super::server::login_finish`]).
    ServerLoginState, SERVER_LOGIN_STATE_LEN, "server login state", opaque_ke::ServerLogin<Suite>
}

impl RegistrationResponse {
    /// The server static public key the response carries, as sent (not yet
    /// checked against any pin).
    pub(crate) fn server_public_key_bytes(&self) -> &[u8] {
        &self.0[RESPONSE_SERVER_PK_AT..]
    }
}

impl PasswordFile {
    /// The record made from an upload. In opaque-ke 4.0.1
    /// `ServerRegistration::finish(upload)` is `ServerRegistration(upload)` and
    /// serializes as the upload, so the record's bytes are the upload's bytes
    /// (a test checks this against opaque-ke).
    pub(crate) fn from_upload(upload: &RegistrationUpload) -> Self {
        PasswordFile(upload.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_the_ristretto255_sha512_suite() {
        assert_eq!(REGISTRATION_REQUEST_LEN, 32);
        assert_eq!(REGISTRATION_RESPONSE_LEN, 64);
        assert_eq!(REGISTRATION_UPLOAD_LEN, 192);
        assert_eq!(PASSWORD_FILE_LEN, 192);
        assert_eq!(KE1_LEN, 96);
        assert_eq!(KE2_LEN, 320);
        assert_eq!(KE3_LEN, 64);
        assert_eq!(SERVER_LOGIN_STATE_LEN, 128);
    }

    #[test]
    fn server_login_state_accepts_any_128_bytes_and_nothing_else() {
        assert!(ServerLoginState::from_bytes(&[7u8; SERVER_LOGIN_STATE_LEN]).is_ok());
        assert!(matches!(
            ServerLoginState::from_bytes(&[7u8; SERVER_LOGIN_STATE_LEN + 1]),
            Err(DecodeError::WrongLength {
                expected: 128,
                actual: 129,
                ..
            })
        ));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let state = ServerLoginState::from_bytes(&[0xab; SERVER_LOGIN_STATE_LEN]).unwrap();
        let shown = format!("{state:?}");
        assert!(!shown.contains("ab"), "{shown}");
    }
}
