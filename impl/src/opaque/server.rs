//! The vault's side of OPAQUE registration and login (runs inside the HSM).
//!
//! Sans-IO: pure functions of the fleet secrets, the stored record and the
//! client's message; randomness comes from the caller's `CryptoRng`.
//!
//! Two names go in: the *credential identifier*, which selects the OPRF key
//! (derived from the fleet's OPRF seed; the vault makes it from the user id
//! and a per-registration key id, so that no two registrations share a key),
//! and the user id as the OPAQUE client identity in the login transcript
//! (with [`FLEET_SERVER_IDENTITY`] as the server identity and
//! [`LOGIN_CONTEXT`] as the context). A record, KE1 or KE3 made for one user
//! therefore cannot complete a login under another user id (REG-1).
//!
//! **Every OPRF evaluation is a password test** against whatever password
//! file was made under the same credential identifier: both functions below
//! evaluate, and the caller decides under which identifier. The lockout is
//! not here: the vault commits the consumed attempt before it releases the
//! KE2 this module returns, and never answers a registration request under
//! a record's identifier.

use super::error::OpaqueError;
use super::fleet::FleetSecrets;
use super::messages::{
    Ke1, Ke2, Ke3, PasswordFile, RegistrationRequest, RegistrationResponse, RegistrationUpload,
    ServerLoginState,
};
use super::secrets::SessionKey;
use super::suite::Suite;
use super::{check_user_id, identifiers, FLEET_SERVER_IDENTITY, LOGIN_CONTEXT};
use opaque_ke::{ServerLogin, ServerLoginParameters, ServerRegistration};

use rand_core::{CryptoRng, RngCore};

/// Output of [`login_start`].
#[derive(Debug)]
pub struct ServerLoginStart {
    /// Keep (in the leader's memory) until KE3 arrives; use once.
    pub state: ServerLoginState,
    /// Release to the client only after the attempt is committed (LOCK-2).
    pub ke2: Ke2,
}

/// Answers a registration request: evaluates the OPRF under the key of
/// `credential_id` and attaches the fleet's public key. Deterministic: the
/// same request under the same identifier always gets the same response.
///
/// # Errors
/// [`OpaqueError::InvalidUserId`] for an empty or over-long identifier;
/// [`OpaqueError::Protocol`] if opaque-ke refuses the request (cannot happen
/// for a decoded [`RegistrationRequest`]).
pub fn registration_start(
    fleet: &FleetSecrets,
    credential_id: &[u8],
    request: &RegistrationRequest,
) -> Result<RegistrationResponse, OpaqueError> {
    check_user_id(credential_id)?;
    let started =
        ServerRegistration::<Suite>::start(fleet.setup(), request.to_opaque()?, credential_id)?;
    Ok(RegistrationResponse::from_opaque(&started.message))
}

/// Turns the client's upload into the record to store for the user. The
/// upload is not authenticated by OPAQUE: who may register or replace a
/// record is the vault's rule (proof of key, [`super::proof`]).
pub fn registration_finish(upload: RegistrationUpload) -> PasswordFile {
    PasswordFile::from_upload(&upload)
}

/// Answers KE1 with KE2 for `user_id`, whose stored record is `record`, made
/// under the OPRF key of `credential_id`.
///
/// Every call draws a fresh server nonce and key share, so answering the same
/// KE1 twice gives two unrelated KE2 and two states: a KE3 fits only the one
/// state whose KE2 the client actually answered.
///
/// # Errors
/// [`OpaqueError::InvalidUserId`]; [`OpaqueError::Protocol`] if opaque-ke
/// refuses the input (cannot happen for decoded messages).
pub fn login_start(
    rng: &mut (impl RngCore + CryptoRng),
    fleet: &FleetSecrets,
    user_id: &[u8],
    credential_id: &[u8],
    record: &PasswordFile,
    ke1: &Ke1,
) -> Result<ServerLoginStart, OpaqueError> {
    check_user_id(user_id)?;
    check_user_id(credential_id)?;
    let params = ServerLoginParameters {
        context: Some(LOGIN_CONTEXT),
        identifiers: identifiers(user_id, FLEET_SERVER_IDENTITY),
    };
    let started = ServerLogin::<Suite>::start(
        rng,
        fleet.setup(),
        Some(record.to_opaque()?),
        ke1.to_opaque()?,
        credential_id,
        params,
    )?;
    Ok(ServerLoginStart {
        state: ServerLoginState::from_opaque(&started.state),
        ke2: Ke2::from_opaque(&started.message),
    })
}

/// Checks KE3 against the state of the login it should finish (constant-time
/// MAC comparison) and returns the session key.
///
/// # Errors
/// [`OpaqueError::InvalidLogin`] if KE3 does not answer this state's KE2: a
/// guess with a wrong password never produces a KE3 at all (the client's
/// finish fails first), so this catches forged, replayed, cross-session or
/// cross-user KE3.
pub fn login_finish(state: ServerLoginState, ke3: &Ke3) -> Result<SessionKey, OpaqueError> {
    let finished = state
        .to_opaque()?
        .finish(ke3.to_opaque()?, ServerLoginParameters::default())?;
    Ok(SessionKey::take(finished.session_key))
}

#[cfg(test)]
mod tests {
    use super::super::client::{self, ClientConfig};
    use super::super::suite::KsfParams;
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// `registration_finish` copies the upload's bytes; this pins that it is
    /// what opaque-ke's own `ServerRegistration::finish` produces.
    #[test]
    fn the_record_is_opaque_kes_server_registration() {
        let rng = &mut ChaCha20Rng::seed_from_u64(1);
        let fleet = FleetSecrets::generate(rng);
        let config = ClientConfig {
            fleet_key: fleet.public_key(),
            ksf: KsfParams::CHEAP,
        };
        let start = client::registration_start(rng, b"u", b"pw").unwrap();
        let response = registration_start(&fleet, b"u", &start.request).unwrap();
        let done =
            client::registration_finish(rng, start.state, b"pw", &response, &config).unwrap();
        let via_opaque_ke = ServerRegistration::<Suite>::finish(done.upload.to_opaque().unwrap());
        assert_eq!(
            registration_finish(done.upload),
            PasswordFile::from_opaque(&via_opaque_ke)
        );
    }
}
