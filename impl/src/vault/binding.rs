//! What the client and the vault compute alike: the bindings of the
//! protocol's messages to users, registrations and content.
//!
//! Both sides must agree on these bytes exactly, so they are written once:
//! how a user id becomes an OPAQUE identity ([`user_bytes`]), which OPRF key
//! a registration is made under ([`credential_id`]), what a registration
//! ticket's MAC covers ([`ticket_bytes`]), what a client seals to the fleet
//! when it registers ([`RegistrationPayload`]), what its content digest
//! is ([`content_digest`]) and how a proof of K is named in the vault's
//! "gone" ([`proof_digest`]). The vault's side (opening, MACs under fleet
//! keys) is in [`super::opaque_crypto`]; the client's (sealing, proving,
//! checking answers) in `crate::client::crypto`.

use super::crypto::{ContentDigest, OprfKeyId, ProofDigest, TicketClaims, OPRF_KEY_ID_LEN};
use super::ids::UserId;
use crate::opaque::wrap::WrappedKey;
use crate::opaque::{
    KeyProof, ProofOfKeyVerifier, RegistrationRequest, RegistrationResponse, RegistrationUpload,
    SealedToFleet,
};
use serde::{Deserialize, Serialize};

/// Label of a content digest (of the sealed registration's bytes).
pub const CONTENT_LABEL: &[u8] = b"bvault v1 sealed registration";
/// Label of a KE1 digest.
pub const KE1_LABEL: &[u8] = b"bvault v1 ke1";
/// Label of a proof digest.
pub const PROOF_DIGEST_LABEL: &[u8] = b"bvault v1 proof of key";

/// The name of a proof of K in the vault's "gone": SHA-256 of its bytes.
pub fn proof_digest(proof: &KeyProof) -> ProofDigest {
    ProofDigest::of(PROOF_DIGEST_LABEL, proof.as_bytes())
}

/// A user id as an OPAQUE identity and proof input: 8 bytes, big-endian.
pub fn user_bytes(user: UserId) -> [u8; 8] {
    user.0.to_be_bytes()
}

/// The OPAQUE credential identifier of one registration: the user id, then
/// the registration's OPRF key id. It selects the OPRF key (derived from the
/// fleet's OPRF seed), so each registration has a key of its own.
pub fn credential_id(user: UserId, key: &OprfKeyId) -> [u8; 8 + OPRF_KEY_ID_LEN] {
    let mut id = [0u8; 8 + OPRF_KEY_ID_LEN];
    id[..8].copy_from_slice(&user_bytes(user));
    id[8..].copy_from_slice(&key.0);
    id
}

/// A vault-issued ticket: the claims, and the fleet's MAC over them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegistrationTicket {
    /// What the ticket vouches for.
    pub claims: TicketClaims,
    /// HMAC-SHA256 of [`ticket_bytes`] under the ticket key.
    pub mac: [u8; 32],
}

/// The bytes a ticket's MAC covers.
pub fn ticket_bytes(claims: &TicketClaims) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(b"bvticket");
    b.extend_from_slice(&claims.user.0.to_be_bytes());
    b.extend_from_slice(&claims.key.0);
    b.extend_from_slice(&claims.seq.to_be_bytes());
    b
}

/// The vault's answer to a registration request: the OPAQUE response and
/// the ticket to seal into the registration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VaultRegistrationResponse {
    /// The OPAQUE registration response.
    pub response: RegistrationResponse,
    /// The ticket.
    pub ticket: RegistrationTicket,
}

/// What a client seals to the fleet key when it registers.
#[derive(Serialize, Deserialize)]
pub struct RegistrationPayload {
    /// The OPAQUE registration upload (the password file to be).
    pub upload: RegistrationUpload,
    /// K, wrapped under the export key.
    pub wrapped_key: WrappedKey,
    /// The proof-of-key verifier derived from K.
    pub verifier: ProofOfKeyVerifier,
    /// The ticket of the registration response.
    pub ticket: RegistrationTicket,
    /// The OPRF exchange the upload was made from.
    pub transcript: RegistrationTranscript,
}

/// The OPRF exchange a registration was finished from: the client's
/// blinded element and the response it got (module docs, "Registration
/// transcripts").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationTranscript {
    /// What the client sent.
    pub request: RegistrationRequest,
    /// What the client finished its registration with.
    pub response: RegistrationResponse,
}

/// The digest of a sealed registration: what proofs and answers about it name.
pub fn content_digest(sealed: &SealedToFleet) -> ContentDigest {
    ContentDigest::of(CONTENT_LABEL, sealed.as_bytes())
}
