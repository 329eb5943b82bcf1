//! The client's half of the vault protocol's cryptography: sealing a
//! registration to the fleet, proving knowledge of K, and checking the
//! vault's authenticated answers. The bytes both sides agree on are in
//! [`crate::vault::binding`].

use crate::key::BackupKey;
use crate::opaque::{
    prove_key, seal_to_fleet, FleetPublicKey, KeyProof, ProofOfKeyVerifier, ReplyKey, ReplyTag,
    SealedToFleet,
};
use crate::vault::binding::{user_bytes, RegistrationPayload};
use crate::vault::crypto::{ProofDigest, ProofStatement, ReplyStatement};
use crate::vault::ids::UserId;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// Seals a registration for `user` to the fleet (client side): the payload
/// carries the ticket and the transcript of the registration response it
/// was made from.
///
/// # Panics
/// Never in practice: the payload is a few hundred bytes, far below the
/// sealing limit.
pub fn seal_registration<R: RngCore + CryptoRng>(
    rng: &mut R,
    fleet_key: &FleetPublicKey,
    user: UserId,
    payload: RegistrationPayload,
) -> SealedToFleet {
    let bytes = Zeroizing::new(
        postcard::to_allocvec(&payload).expect("a registration payload always serializes"),
    );
    seal_to_fleet(rng, fleet_key, &user_bytes(user), &bytes)
        .expect("a registration payload is far below the sealing limit")
}

/// A proof of knowledge of `key` about `statement` (client side).
pub fn prove(key: &BackupKey, statement: &ProofStatement) -> KeyProof {
    let user = user_bytes(statement.user());
    prove_key(
        key,
        &user,
        &statement.registration().0.to_be_bytes(),
        &statement.to_bytes(),
    )
}

/// The name of `proof` in the vault's "gone" (client side).
pub fn proof_digest(proof: &KeyProof) -> ProofDigest {
    crate::vault::binding::proof_digest(proof)
}

/// The verifier the vault stores for `key` and `user` (client side).
pub fn verifier(key: &BackupKey, user: UserId) -> ProofOfKeyVerifier {
    ProofOfKeyVerifier::derive(key, &user_bytes(user))
}

/// Whether `tag` is the vault's authentic answer `statement` to the holder
/// of `key` (client side).
pub fn verify_reply(key: &BackupKey, statement: &ReplyStatement, tag: &ReplyTag) -> bool {
    let user = match statement {
        ReplyStatement::Staged { user, .. }
        | ReplyStatement::Activated { user, .. }
        | ReplyStatement::Gone { user, .. }
        | ReplyStatement::KeyLivesOn { user, .. } => *user,
    };
    ReplyKey::derive(key, &user_bytes(user)).verify(&statement.to_bytes(), tag)
}
