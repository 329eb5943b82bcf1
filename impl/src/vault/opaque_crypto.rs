//! The real cryptography of a vault node: OPAQUE and AES-GCM from
//! [`crate::opaque`], behind [`VaultCrypto`]. The client's half of the same
//! primitives (sealing a registration, proving K, checking answers) is in
//! `crate::client::crypto`, and the bytes both sides compute in
//! [`super::binding`].
//!
//! What the vault sees of a user, and what it can do with it:
//! - the password file (OPAQUE registration record), made under the OPRF
//!   key of [`credential_id`]`(user, key id)`: it can run logins, it cannot
//!   learn the password or test guesses without a client;
//! - K wrapped under a key derived from the client's OPAQUE export key: it
//!   cannot unwrap it; after a verified KE3 it sends it to the client sealed
//!   under the session key, with the registration and the guesses left;
//! - the proof-of-key verifier and the reply key derived from it, which
//!   arrive sealed to the fleet key.
//!
//! # Registration tickets
//! A registration request is evaluated under a fresh [`OprfKeyId`] the node
//! draws; the answer carries a [`RegistrationTicket`]: the [`TicketClaims`]
//! and an HMAC-SHA256 over them under a key derived from the fleet secrets
//! ([`TICKET_KEY_LABEL`]), which only HSMs hold. The client seals the ticket
//! into its registration; the vault checks it when it opens the seal
//! ([`OpenedRegistration::ticket_authentic`]; the node refuses a forged
//! one), so a registration's password file is always stored under the key
//! of its ticket, and under no key the client chose.
//!
//! # Registration transcripts
//! The OPRF evaluation in a registration response is not authenticated to
//! the client (OPAQUE assumes registration runs over an authenticated
//! channel; here the chat server relays it). A relay that answers the
//! client's blinded element with an evaluation under a key of its *own*
//! would make the client derive its password file from that key: the relay
//! could then test passwords against the record offline, from one KE2. So
//! the client seals the transcript it finished with (its request and the
//! response) into the registration, and the vault, when it opens the seal,
//! re-evaluates the request under the ticket's key and reports whether the
//! response matches ([`OpenedRegistration::evaluated_under_ticket`]); the
//! node refuses a registration whose transcript does not.
//!
//! User ids become OPAQUE identities as 8 big-endian bytes ([`user_bytes`]).
//! A proof of key is an HMAC under the verifier over the user, the
//! registration id (the challenge) and the [`ProofStatement`] bytes.

use super::crypto::{
    ContentDigest, CryptoError, Ke1Digest, OpenedRegistration, OprfKeyId, ProofDigest,
    ProofStatement, Release, ReplyStatement, SealPlace, TicketClaims, Value, VaultCrypto,
};
use super::hsm_seal::{self, SealKeys, SealedBytes};
use super::ids::UserId;
use crate::opaque::wrap::{
    seal_for_session, Direction, SessionRelease, SessionSealedKey, WrappedKey,
};
use crate::opaque::{
    open_at_fleet, server, DecodeError, FleetPublicKey, FleetSecrets, Ke1, Ke2, Ke3, KeyProof,
    OpaqueError, PasswordFile, ProofOfKeyVerifier, RegistrationRequest, RegistrationResponse,
    ReplyKey, ReplyTag, SealedToFleet, ServerLoginState,
};
use core::hash::{Hash, Hasher};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The fleet subkey that authenticates registration tickets.
pub const TICKET_KEY_LABEL: &[u8] = b"bvault v1 registration ticket key";

// The bindings both sides compute, re-exported where the vault's code has
// always found them.
pub use super::binding::{
    content_digest, credential_id, ticket_bytes, user_bytes, RegistrationPayload,
    RegistrationTicket, RegistrationTranscript, VaultRegistrationResponse, CONTENT_LABEL,
    KE1_LABEL,
};

/// The leader's memory of one login between KE2 and KE3.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpaqueLoginState {
    user: UserId,
    state: ServerLoginState,
}

/// Real OPAQUE cryptography for a vault node holding the fleet's secrets.
///
/// Equality and hashing look only at the fleet's public key.
#[derive(Clone)]
pub struct OpaqueCrypto {
    fleet: Arc<FleetSecrets>,
    ticket_key: Arc<Zeroizing<[u8; 32]>>,
    seal_keys: Arc<SealKeys>,
}

impl core::fmt::Debug for OpaqueCrypto {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpaqueCrypto")
            .field("fleet", &self.fleet)
            .finish_non_exhaustive()
    }
}

impl OpaqueCrypto {
    /// A node's cryptography with the fleet's secrets.
    pub fn new(fleet: FleetSecrets) -> Self {
        let ticket_key = fleet.derive_key(TICKET_KEY_LABEL);
        let seal_keys = SealKeys::derive(&fleet);
        OpaqueCrypto {
            fleet: Arc::new(fleet),
            ticket_key: Arc::new(ticket_key),
            seal_keys: Arc::new(seal_keys),
        }
    }

    /// The fleet's public key, which clients pin.
    pub fn public_key(&self) -> FleetPublicKey {
        self.fleet.public_key()
    }

    fn ticket_mac(&self, claims: &TicketClaims) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.ticket_key[..])
            .expect("HMAC-SHA256 accepts a 32-byte key");
        mac.update(&ticket_bytes(claims));
        mac.finalize().into_bytes().into()
    }

    /// Evaluates `request` under the OPRF key of `credential` (for checkers
    /// that recompute which key an evaluation was made under). Deterministic.
    ///
    /// # Errors
    /// As [`server::registration_start`].
    pub fn evaluate(
        &self,
        credential: &[u8],
        request: &RegistrationRequest,
    ) -> Result<RegistrationResponse, crate::opaque::OpaqueError> {
        server::registration_start(&self.fleet, credential, request)
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
    type RegistrationResponse = VaultRegistrationResponse;
    type SealedRegistration = SealedToFleet;
    type PasswordFile = PasswordFile;
    type WrappedKey = WrappedKey;
    type KeyVerifier = ProofOfKeyVerifier;
    type KeyProof = KeyProof;
    type ReplyKey = ReplyKey;
    type ReplyTag = ReplyTag;
    type Ke1 = Ke1;
    type Ke2 = Ke2;
    type Ke3 = Ke3;
    type LoginState = OpaqueLoginState;
    type SealedKey = SessionSealedKey;

    fn registration_response(
        &self,
        claims: &TicketClaims,
        request: &RegistrationRequest,
    ) -> Result<VaultRegistrationResponse, CryptoError> {
        let credential = credential_id(claims.user, &claims.key);
        let response = server::registration_start(&self.fleet, &credential, request)
            .map_err(|_| CryptoError::Malformed("registration request"))?;
        Ok(VaultRegistrationResponse {
            response,
            ticket: RegistrationTicket {
                claims: *claims,
                mac: self.ticket_mac(claims),
            },
        })
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
        let ticket = payload.ticket;
        let ticket_authentic: bool = self.ticket_mac(&ticket.claims).ct_eq(&ticket.mac).into();
        if ticket.claims.user != user {
            return Err(CryptoError::Envelope);
        }
        // The evaluation the password file was made from must be the
        // fleet's, under the ticket's key (public values: no secret is
        // compared).
        let credential = credential_id(user, &ticket.claims.key);
        let evaluated_under_ticket =
            server::registration_start(&self.fleet, &credential, &payload.transcript.request)
                .is_ok_and(|genuine| genuine == payload.transcript.response);
        Ok(OpenedRegistration {
            ticket_authentic,
            evaluated_under_ticket,
            password_file: server::registration_finish(payload.upload),
            wrapped_key: payload.wrapped_key,
            reply_key: payload.verifier.reply_key(),
            verifier: payload.verifier,
            ticket: ticket.claims,
            content: content_digest(sealed),
        })
    }

    fn content_digest(&self, sealed: &SealedToFleet) -> ContentDigest {
        content_digest(sealed)
    }

    fn ke1_digest(&self, ke1: &Ke1) -> Ke1Digest {
        Ke1Digest::of(KE1_LABEL, ke1.as_bytes())
    }

    fn login_start<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        user: UserId,
        key: &OprfKeyId,
        file: &PasswordFile,
        ke1: &Ke1,
    ) -> Result<(OpaqueLoginState, Ke2), CryptoError> {
        let credential = credential_id(user, key);
        let started =
            server::login_start(rng, &self.fleet, &user_bytes(user), &credential, file, ke1)
                .map_err(|e| match e {
                    // The stored password file, decoded by its length only.
                    OpaqueError::Decode(DecodeError::Malformed { what }) => {
                        CryptoError::Malformed(what)
                    }
                    _ => CryptoError::Malformed("KE1"),
                })?;
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
        release: &Release<Self>,
    ) -> Result<SessionSealedKey, CryptoError> {
        let session = server::login_finish(state.state.clone(), ke3)
            .map_err(|_| CryptoError::WrongPassword)?;
        let release = SessionRelease {
            wrapped: release.wrapped_key.clone(),
            registration: release.registration.0,
            remaining: release.remaining,
        };
        Ok(seal_for_session(
            &session,
            Direction::VaultToClient,
            &user_bytes(state.user),
            &release,
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
                &user_bytes(statement.user()),
                &statement.registration().0.to_be_bytes(),
                &statement.to_bytes(),
                proof,
            )
            .is_ok()
    }

    fn reply_tag(&self, key: &ReplyKey, statement: &ReplyStatement) -> ReplyTag {
        key.tag(&statement.to_bytes())
    }

    fn proof_digest(&self, proof: &KeyProof) -> ProofDigest {
        super::binding::proof_digest(proof)
    }

    type Sealed<T: Value> = SealedBytes<T>;

    fn seal<T: Value, R: RngCore + CryptoRng>(
        &self,
        place: &SealPlace,
        value: &T,
        rng: &mut R,
    ) -> SealedBytes<T> {
        hsm_seal::seal(&self.seal_keys, place, value, rng)
    }

    fn open<T: Value>(&self, place: &SealPlace, sealed: &SealedBytes<T>) -> Result<T, CryptoError> {
        hsm_seal::open(&self.seal_keys, place, sealed)
    }

    fn in_clear<T: Value>(value: &T) -> SealedBytes<T> {
        hsm_seal::in_clear(value)
    }

    fn read_clear<T: Value>(sealed: &SealedBytes<T>) -> Option<T> {
        hsm_seal::read_clear(sealed)
    }
}
