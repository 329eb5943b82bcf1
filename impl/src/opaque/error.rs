//! The errors of the OPAQUE adapter.

use super::fleet::FleetPublicKey;
use super::suite::KsfError;
use opaque_ke::errors::{InternalError, ProtocolError};

/// Bytes that are not a valid encoding of the named value.
///
/// Every decoder of this module returns this on untrusted input; none panics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value has a fixed length and the input has another.
    #[error("{what}: expected {expected} bytes, got {actual}")]
    WrongLength {
        /// Which value was being decoded.
        what: &'static str,
        /// The only accepted length.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The length is right but the content is not a valid encoding (for
    /// example a group element that is not a canonical ristretto255 point, a
    /// zero scalar, or an unknown version byte).
    #[error("{what}: malformed encoding")]
    Malformed {
        /// Which value was being decoded.
        what: &'static str,
    },
}

/// A registration or login step that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpaqueError {
    /// The server's static public key is not the fleet key pinned in the client.
    /// The client stops: nothing it computed is returned.
    #[error("the vault's public key {received} is not the pinned fleet key {pinned}")]
    FleetKeyMismatch {
        /// The key the client trusts.
        pinned: FleetPublicKey,
        /// The key the server presented.
        received: FleetPublicKey,
    },
    /// Authentication failed. On the client: a wrong password, or a response
    /// made for another user, another fleet or with other KSF parameters (the
    /// envelope does not open). On the server: a KE3 that does not answer this
    /// login's KE2 (wrong password, another session, another user, a replay).
    /// The two cases are deliberately not told apart.
    #[error("login failed: wrong password, or a record or message of another user or session")]
    InvalidLogin,
    /// The server sent back the client's own blinded element (a reflection attack).
    #[error("the server reflected the client's blinded OPRF element")]
    ReflectedValue,
    /// The user id is empty or longer than [`super::MAX_USER_ID_LEN`].
    #[error("user id must be 1..={max} bytes, got {len}", max = super::MAX_USER_ID_LEN)]
    InvalidUserId {
        /// The length received.
        len: usize,
    },
    /// The KSF parameters are unusable, or the KSF failed.
    #[error(transparent)]
    Ksf(#[from] KsfError),
    /// A stored value (state or record) failed to decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// opaque-ke refused its input for another reason (for example a password
    /// longer than 65535 bytes). The text is opaque-ke's error.
    #[error("OPAQUE protocol error: {0}")]
    Protocol(String),
}

impl From<ProtocolError> for OpaqueError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::InvalidLoginError => OpaqueError::InvalidLogin,
            ProtocolError::ReflectedValueError => OpaqueError::ReflectedValue,
            ProtocolError::LibraryError(InternalError::KsfError) => {
                OpaqueError::Ksf(KsfError::Failed)
            }
            other => OpaqueError::Protocol(format!("{other:?}")),
        }
    }
}

/// A wrapped or session-sealed key that does not open: wrong key (wrong
/// password, wrong session), wrong user id, wrong direction, or tampered bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sealed key does not open: wrong key, user id or direction, or tampered bytes")]
pub struct UnwrapError;

/// A proof of key that does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the proof of key does not verify for this user, challenge and request")]
pub struct ProofError;
