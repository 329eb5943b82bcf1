//! The real cryptography of a vault node: OPAQUE and AES-GCM from
//! [`crate::opaque`], behind [`VaultCrypto`].
//!
//! What the vault sees of a user, and what it can do with it:
//! - the password file (OPAQUE registration record): it can run logins, it
//!   cannot learn the password or test guesses without a client;
//! - K wrapped under a key derived from the client's OPAQUE export key: it
//!   cannot unwrap it; after a verified KE3 it sends it to the client sealed
//!   under the session key;
//! - the proof-of-key verifier, which arrives sealed to the fleet key.
//!
//! User ids become OPAQUE identities as 8 big-endian bytes ([`user_bytes`]).
//! A proof of key is an HMAC under the verifier over the user, the
//! registration id (the challenge) and the [`ProofStatement`] bytes.

use super::crypto::{CryptoError, OpenedRegistration, ProofStatement, VaultCrypto};
use super::ids::UserId;
use crate::key::BackupKey;
use crate::opaque::wrap::{seal_for_session, Direction, SessionSealedKey, WrappedKey};
use crate::opaque::{
    open_at_fleet, prove_key, seal_to_fleet, server, FleetPublicKey, FleetSecrets, Ke1, Ke2, Ke3,
    KeyProof, PasswordFile, ProofOfKeyVerifier, RegistrationRequest, RegistrationResponse,
    RegistrationUpload, SealedToFleet, ServerLoginState,
};
use core::hash::{Hash, Hasher};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A user id as an OPAQUE identity and proof input: 8 bytes, big-endian.
pub fn user_bytes(user: UserId) -> [u8; 8] {
    user.0.to_be_bytes()
}

/// What a client seals to the fleet key when it registers.
#[derive(Serialize, Deserialize)]
struct RegistrationPayload {
    upload: RegistrationUpload,
    wrapped_key: WrappedKey,
    verifier: ProofOfKeyVerifier,
}

/// Seals a registration for `user` to the fleet (client side).
///
/// # Panics
/// Never in practice: the payload is a few hundred bytes, far below the
/// sealing limit.
pub fn seal_registration<R: RngCore + CryptoRng>(
    rng: &mut R,
    fleet_key: &FleetPublicKey,
    user: UserId,
    upload: RegistrationUpload,
    wrapped_key: WrappedKey,
    verifier: ProofOfKeyVerifier,
) -> SealedToFleet {
    let payload = RegistrationPayload {
        upload,
        wrapped_key,
        verifier,
    };
    let bytes = zeroize::Zeroizing::new(
        postcard::to_allocvec(&payload).expect("a registration payload always serializes"),
    );
    seal_to_fleet(rng, fleet_key, &user_bytes(user), &bytes)
        .expect("a registration payload is far below the sealing limit")
}

/// A proof of knowledge of `key` about `statement` (client side).
pub fn prove(key: &BackupKey, statement: &ProofStatement) -> KeyProof {
    let user = user_bytes(statement.user);
    prove_key(
        key,
        &user,
        &statement.registration.0.to_be_bytes(),
        &statement.to_bytes(),
    )
}

/// The verifier the vault stores for `key` and `user` (client side).
pub fn verifier(key: &BackupKey, user: UserId) -> ProofOfKeyVerifier {
    ProofOfKeyVerifier::derive(key, &user_bytes(user))
}

/// The leader's memory of one login between KE2 and KE3.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpaqueLoginState {
    user: UserId,
    state: ServerLoginState,
}

/// Real OPAQUE cryptography for a vault node holding the fleet's secrets.
///
/// Equality and hashing look only at the fleet's public key.
#[derive(Clone, Debug)]
pub struct OpaqueCrypto {
    fleet: Arc<FleetSecrets>,
}

impl OpaqueCrypto {
    /// A node's cryptography with the fleet's secrets.
    pub fn new(fleet: FleetSecrets) -> Self {
        OpaqueCrypto {
            fleet: Arc::new(fleet),
        }
    }

    /// The fleet's public key, which clients pin.
    pub fn public_key(&self) -> FleetPublicKey {
        self.fleet.public_key()
    }
}

impl PartialEq for OpaqueCrypto {
    fn eq(&self, other: &Self) -> bool {
        self.public_key().ct_eq(&other.public_key())
    }
}

impl Eq for OpaqueCrypto {}

impl Hash for OpaqueCrypto {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.public_key().as_bytes().hash(state);
    }
}

impl VaultCrypto for OpaqueCrypto {
    type RegistrationRequest = RegistrationRequest;
    type RegistrationResponse = RegistrationResponse;
    type SealedRegistration = SealedToFleet;
    type PasswordFile = PasswordFile;
    type WrappedKey = WrappedKey;
    type KeyVerifier = ProofOfKeyVerifier;
    type KeyProof = KeyProof;
    type Ke1 = Ke1;
    type Ke2 = Ke2;
    type Ke3 = Ke3;
    type LoginState = OpaqueLoginState;
    type SealedKey = SessionSealedKey;

    fn registration_response(
        &self,
        user: UserId,
        request: &RegistrationRequest,
    ) -> Result<RegistrationResponse, CryptoError> {
        server::registration_start(&self.fleet, &user_bytes(user), request)
            .map_err(|_| CryptoError::Malformed("registration request"))
    }

    fn open_registration(
        &self,
        user: UserId,
        sealed: &SealedToFleet,
    ) -> Result<OpenedRegistration<Self>, CryptoError> {
        let plain = open_at_fleet(&self.fleet, &user_bytes(user), sealed)
            .map_err(|_| CryptoError::Envelope)?;
        let payload: RegistrationPayload =
            postcard::from_bytes(&plain).map_err(|_| CryptoError::Envelope)?;
        Ok(OpenedRegistration {
            password_file: server::registration_finish(payload.upload),
            wrapped_key: payload.wrapped_key,
            verifier: payload.verifier,
        })
    }

    fn login_start<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        user: UserId,
        file: &PasswordFile,
        ke1: &Ke1,
    ) -> Result<(OpaqueLoginState, Ke2), CryptoError> {
        let started = server::login_start(rng, &self.fleet, &user_bytes(user), file, ke1)
            .map_err(|_| CryptoError::Malformed("KE1"))?;
        Ok((
            OpaqueLoginState {
                user,
                state: started.state,
            },
            started.ke2,
        ))
    }

    fn login_finish<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        state: &OpaqueLoginState,
        ke3: &Ke3,
        wrapped: &WrappedKey,
    ) -> Result<SessionSealedKey, CryptoError> {
        let session = server::login_finish(state.state.clone(), ke3)
            .map_err(|_| CryptoError::WrongPassword)?;
        Ok(seal_for_session(
            &session,
            Direction::VaultToClient,
            &user_bytes(state.user),
            wrapped,
            rng,
        ))
    }

    fn verify_proof(
        &self,
        verifier: &ProofOfKeyVerifier,
        statement: &ProofStatement,
        proof: &KeyProof,
    ) -> bool {
        verifier
            .verify(
                &user_bytes(statement.user),
                &statement.registration.0.to_be_bytes(),
                &statement.to_bytes(),
                proof,
            )
            .is_ok()
    }
}
