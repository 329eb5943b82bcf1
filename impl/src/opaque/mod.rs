//! OPAQUE for the backup key vault: a sans-IO adapter over `opaque-ke` 4.0.1.
//!
//! The vault learns neither the password nor K; the client learns nothing
//! about other users. Pure functions and plain-data states, no I/O, no clock,
//! randomness only from the caller's `CryptoRng`.
//!
//! | module | job |
//! |---|---|
//! | [`suite`] | the cipher suite (ristretto255, 3DH with SHA-512, Argon2id) and [`KsfParams`] |
//! | [`fleet`] | the fleet's long-term secrets ([`FleetSecrets`]) and its pinned [`FleetPublicKey`] |
//! | [`messages`] | the wire messages, the stored [`PasswordFile`] and the [`ServerLoginState`] |
//! | [`client`] | registration and login, client side; checks the fleet pin |
//! | [`server`] | registration and login, vault (HSM) side |
//! | [`secrets`] | [`ExportKey`] and [`SessionKey`] |
//! | [`wrap`] | K wrapped under the export key; the wrapped K sealed under the session key |
//! | [`proof`] | proof of knowledge of K, to authorise replacing or deleting a record |
//! | [`to_fleet`] | public-key encryption to the fleet key, for what a registration carries |
//! | `toy_group` | **insecure**: a fast stand-in for ristretto255, only in tests and in simulator builds with `--cfg bvault_toy_group` |
//!
//! # Flows
//! ```text
//! registration:  client::registration_start  -> RegistrationRequest  ->
//!                server::registration_start  -> RegistrationResponse ->
//!                client::registration_finish -> RegistrationUpload (+ export key) ->
//!                server::registration_finish -> PasswordFile (stored)
//! login:         client::login_start  -> Ke1 ->
//!                server::login_start  -> Ke2 (+ ServerLoginState) ->
//!                client::login_finish -> Ke3 (+ session key, export key) ->
//!                server::login_finish -> session key, or InvalidLogin
//! ```
//!
//! # Binding to the user (REG-1)
//! - opaque-ke's **credential identifier** names the OPRF key: the server
//!   derives it from the fleet seed and the identifier. The vault makes the
//!   identifier from the user id and a per-registration key id
//!   (`vault::opaque_crypto::credential_id`), so different users, and
//!   different registrations of one user, get independent OPRF keys.
//! - The user id is the OPAQUE **client identity** and [`FLEET_SERVER_IDENTITY`]
//!   the **server identity**. The client seals both into the envelope at
//!   registration and both sides put them in the login transcript, together
//!   with the context [`LOGIN_CONTEXT`].
//!
//! Consequences, each checked by `impl/tests/integration/opaque_*.rs`: a KE1 answered under
//! another user's id or record fails at the client (the envelope does not
//! open); a record registered for one user and stored under another never
//! completes a login (the envelope names the first user, the server's KE2 MAC
//! covers the second, so the client refuses either way and never makes a
//! KE3); a KE3 fits only the KE2, and so the user, it answers. What OPAQUE alone does **not** bind is who
//! sends a [`RegistrationUpload`]: that the vault decides (proof of K, [`proof`]).

pub mod client;
pub mod fleet;
pub mod messages;
pub mod proof;
pub mod secrets;
pub mod server;
pub mod suite;
pub mod to_fleet;
#[cfg(any(test, bvault_toy_group))]
pub mod toy_group;
pub mod wrap;

mod bytes;
mod error;

pub use error::{DecodeError, OpaqueError, ProofError, UnwrapError};
pub use fleet::{FleetPublicKey, FleetSecrets};
pub use messages::{
    Ke1, Ke2, Ke3, PasswordFile, RegistrationRequest, RegistrationResponse, RegistrationUpload,
    ServerLoginState,
};
pub use proof::{prove_key, KeyProof, ProofOfKeyVerifier, ReplyKey, ReplyTag};
pub use secrets::{ExportKey, SessionKey};
pub use suite::{KsfError, KsfParams};
pub use to_fleet::{open_at_fleet, seal_to_fleet, PlaintextTooLong, SealedToFleet};
pub use wrap::{
    open_from_session, seal_for_session, unwrap_backup_key, wrap_backup_key, Direction,
    SessionRelease, SessionSealedKey, WrappedKey,
};

use opaque_ke::Identifiers;

/// The OPAQUE server identity of every vault node of the fleet. A fixed name:
/// the fleet is told apart from others by its pinned public key.
pub const FLEET_SERVER_IDENTITY: &[u8] = b"bvault v1 key vault fleet";

/// The OPAQUE login context (part of the 3DH transcript on both sides).
pub const LOGIN_CONTEXT: &[u8] = b"bvault v1 opaque login";

/// The longest accepted user id, in bytes. User ids are opaque bytes (for
/// example a UTF-8 account name or a big-endian account number); the empty id
/// is refused.
pub const MAX_USER_ID_LEN: usize = 255;

fn check_user_id(user_id: &[u8]) -> Result<(), OpaqueError> {
    if (1..=MAX_USER_ID_LEN).contains(&user_id.len()) {
        Ok(())
    } else {
        Err(OpaqueError::InvalidUserId { len: user_id.len() })
    }
}

fn identifiers<'a>(user_id: &'a [u8], server: &'a [u8]) -> Identifiers<'a> {
    Identifiers {
        client: Some(user_id),
        server: Some(server),
    }
}
