//! Proof of knowledge of K, which authorises replacing or deleting a vault
//! record without the password (DESIGN.md s2: "replacing an existing record
//! needs proof of K"); and, the other way, the vault's authenticated answers
//! to K's holder ([`ReplyKey`]).
//!
//! # Scheme (symmetric)
//! ```text
//! verifier = HKDF-SHA256(salt = user_id, IKM = K, info = "bvault v1 proof of key")    (32 B)
//!            = BackupKey::derive(Purpose::ProofOfKey, user_id)
//! proof    = HMAC-SHA256(verifier, PROOF_LABEL || len(user_id) || user_id
//!                                  || len(challenge) || challenge
//!                                  || len(request) || request)                        (32 B)
//! ```
//! (each `len` is 8 bytes big-endian). The client, which holds K, gives the
//! vault the verifier once, when it first registers; thereafter it proves
//! knowledge of K for a specific request by computing the HMAC under a
//! verifier it re-derives from K. The vault recomputes the HMAC under the
//! stored verifier and compares in constant time.
//!
//! # What the vault can and cannot do with what it stores
//! - It **cannot learn K** or any other subkey of K (backup payload keys,
//!   header MAC keys, the fingerprint): the verifier is a one-way HKDF output
//!   under its own label and the user id as salt. It cannot decrypt backups.
//! - It **can forge proofs** for that user: the verifier *is* the HMAC key.
//!   Whoever holds a verifier can authorise replacing or deleting that user's
//!   record. A public-key scheme (a signing key derived from K, the vault
//!   storing only the public key) would prevent this; no signature crate is
//!   available to this workspace, so it is not used.
//! - This is acceptable because the verifier lives **only inside the HSM**,
//!   which is already trusted with the records, the OPRF seed and the attempt
//!   counters: an HSM that wanted to could already destroy a record or reset a
//!   counter, so forging a proof gives it nothing new. The verifier must never
//!   reach the host, its disk in the clear, a log or the network after
//!   registration; a stolen verifier lets the thief replace the record (and so
//!   mint a fresh guess budget against a password *they* chose, which still
//!   does not reveal K) but not read K.
//! - Network and chat server: they see proofs only. A proof is bound to the user
//!   id, to a **vault-chosen challenge** and to the request bytes, so it cannot be
//!   replayed for another user, another request or, if the challenge is fresh
//!   (a nonce, or the record's generation number that every change bumps),
//!   a second time.
//! - The verifier does not change with the password (it depends on K and the
//!   user id only), so "set a new password on the device that holds K, having
//!   forgotten the old one" works.
//!
//! # Answers to the key holder
//! ```text
//! reply_key = HMAC-SHA256(verifier, REPLY_KEY_LABEL)                              (32 B)
//! tag       = HMAC-SHA256(reply_key, REPLY_LABEL || statement)                    (32 B)
//! ```
//! The vault derives the reply key when it opens a registration and keeps it
//! with the record, and, once the record is gone, with its tombstone; the
//! client derives it from K. A tag lets the client trust what the vault says
//! about *its* registration (staged, activated, gone) whatever relays the
//! answer. The reply key is one-way from the verifier: it cannot prove K,
//! and a tombstone that keeps it can vouch only for statements the vault makes.

use super::bytes::{self, Encoded};
use super::error::{DecodeError, ProofError};
use crate::key::{BackupKey, Purpose};
use core::fmt;
use core::hash::{Hash, Hasher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Domain-separation prefix of every proof's HMAC input.
pub const PROOF_LABEL: &[u8] = b"bvault v1 proof of key for request";
/// Length of a [`ProofOfKeyVerifier`].
pub const VERIFIER_LEN: usize = 32;
/// Length of a [`KeyProof`].
pub const PROOF_LEN: usize = 32;
/// HMAC input that derives the [`ReplyKey`] from the verifier.
pub const REPLY_KEY_LABEL: &[u8] = b"bvault v1 vault reply key";
/// Domain-separation prefix of every reply tag's HMAC input.
pub const REPLY_LABEL: &[u8] = b"bvault v1 vault reply";
/// Length of a [`ReplyTag`].
pub const REPLY_TAG_LEN: usize = 32;

/// What the vault stores per user to check proofs of K. Secret: see the module
/// documentation. Wiped on drop, compared in constant time, redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ProofOfKeyVerifier([u8; VERIFIER_LEN]);

/// A proof that the sender knows K, for one user, challenge and request.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyProof([u8; PROOF_LEN]);

impl ProofOfKeyVerifier {
    /// Derives the verifier from K (client side, sent to the vault with the
    /// first registration, or re-derived to prove).
    pub fn derive(key: &BackupKey, user_id: &[u8]) -> Self {
        ProofOfKeyVerifier(*key.derive(Purpose::ProofOfKey, user_id))
    }

    /// Decodes a stored verifier.
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] unless [`VERIFIER_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <Self as Encoded>::decode(bytes)
    }

    /// The raw bytes, for storage inside the HSM. Named so that every use of
    /// the secret is easy to find.
    pub fn expose_secret(&self) -> &[u8; VERIFIER_LEN] {
        &self.0
    }

    /// Computes the proof for `request` under `challenge` (client side).
    pub fn prove(&self, user_id: &[u8], challenge: &[u8], request: &[u8]) -> KeyProof {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts a 32-byte key");
        mac.update(PROOF_LABEL);
        for part in [user_id, challenge, request] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        KeyProof(mac.finalize().into_bytes().into())
    }

    /// Checks a proof (vault side), in constant time.
    ///
    /// # Errors
    /// [`ProofError`] unless `proof` was made from the same K for the same user
    /// id, challenge and request.
    pub fn verify(
        &self,
        user_id: &[u8],
        challenge: &[u8],
        request: &[u8],
        proof: &KeyProof,
    ) -> Result<(), ProofError> {
        let expected = self.prove(user_id, challenge, request);
        if bool::from(expected.0.ct_eq(&proof.0)) {
            Ok(())
        } else {
            Err(ProofError)
        }
    }
}

impl ProofOfKeyVerifier {
    /// The reply key of this verifier (vault side, when a registration is
    /// opened; the client derives the same with [`ReplyKey::derive`]).
    pub fn reply_key(&self) -> ReplyKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts a 32-byte key");
        mac.update(REPLY_KEY_LABEL);
        ReplyKey(mac.finalize().into_bytes().into())
    }
}

/// The key that authenticates the vault's answers to K's holder. Secret to
/// the vault (HSM) and the client: wiped on drop, compared in constant time,
/// redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ReplyKey([u8; VERIFIER_LEN]);

/// An authenticated statement of the vault's, checked with [`ReplyKey::verify`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReplyTag([u8; REPLY_TAG_LEN]);

impl ReplyKey {
    /// Derives the reply key from K (client side).
    pub fn derive(key: &BackupKey, user_id: &[u8]) -> Self {
        ProofOfKeyVerifier::derive(key, user_id).reply_key()
    }

    /// Tags `statement` (vault side).
    pub fn tag(&self, statement: &[u8]) -> ReplyTag {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts a 32-byte key");
        mac.update(REPLY_LABEL);
        mac.update(statement);
        ReplyTag(mac.finalize().into_bytes().into())
    }

    /// Whether `tag` is this key's tag of `statement` (client side), in
    /// constant time.
    pub fn verify(&self, statement: &[u8], tag: &ReplyTag) -> bool {
        self.tag(statement).0.ct_eq(&tag.0).into()
    }
}

impl PartialEq for ReplyKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ReplyKey {}

impl Hash for ReplyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyKey(<redacted>)")
    }
}

impl Encoded for ReplyKey {
    const WHAT: &'static str = "reply key";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        bytes::fixed::<VERIFIER_LEN>(Self::WHAT, bytes).map(ReplyKey)
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(ReplyKey);

impl ReplyTag {
    /// Decodes a tag received from the network.
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] unless [`REPLY_TAG_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <Self as Encoded>::decode(bytes)
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8; REPLY_TAG_LEN] {
        &self.0
    }
}

impl Encoded for ReplyTag {
    const WHAT: &'static str = "reply tag";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        bytes::fixed::<REPLY_TAG_LEN>(Self::WHAT, bytes).map(ReplyTag)
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(ReplyTag);

impl fmt::Debug for ReplyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyTag(")?;
        bytes::hex(f, &self.0[..8])?;
        f.write_str("..)")
    }
}

/// Proves knowledge of `key` for `request` (client side): shorthand for
/// deriving the verifier and calling [`ProofOfKeyVerifier::prove`].
pub fn prove_key(key: &BackupKey, user_id: &[u8], challenge: &[u8], request: &[u8]) -> KeyProof {
    ProofOfKeyVerifier::derive(key, user_id).prove(user_id, challenge, request)
}

impl PartialEq for ProofOfKeyVerifier {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ProofOfKeyVerifier {}

impl Hash for ProofOfKeyVerifier {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for ProofOfKeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProofOfKeyVerifier(<redacted>)")
    }
}

impl Encoded for ProofOfKeyVerifier {
    const WHAT: &'static str = "proof-of-key verifier";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        bytes::fixed::<VERIFIER_LEN>(Self::WHAT, bytes).map(ProofOfKeyVerifier)
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(ProofOfKeyVerifier);

impl KeyProof {
    /// Decodes a proof received from the network.
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] unless [`PROOF_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <Self as Encoded>::decode(bytes)
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8; PROOF_LEN] {
        &self.0
    }
}

impl Encoded for KeyProof {
    const WHAT: &'static str = "proof of key";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        bytes::fixed::<PROOF_LEN>(Self::WHAT, bytes).map(KeyProof)
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(KeyProof);

impl fmt::Debug for KeyProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyProof(")?;
        bytes::hex(f, &self.0[..8])?;
        f.write_str("..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_binds_key_user_challenge_and_request() {
        let k = BackupKey::from_bytes(&[1; 32]);
        let verifier = ProofOfKeyVerifier::derive(&k, b"alice");
        let proof = prove_key(&k, b"alice", b"gen 7", b"replace record");
        assert_eq!(
            verifier.verify(b"alice", b"gen 7", b"replace record", &proof),
            Ok(())
        );
        assert_eq!(
            verifier.verify(b"bob", b"gen 7", b"replace record", &proof),
            Err(ProofError)
        );
        assert_eq!(
            verifier.verify(b"alice", b"gen 8", b"replace record", &proof),
            Err(ProofError)
        );
        assert_eq!(
            verifier.verify(b"alice", b"gen 7", b"delete record", &proof),
            Err(ProofError)
        );
        let other = prove_key(
            &BackupKey::from_bytes(&[2; 32]),
            b"alice",
            b"gen 7",
            b"replace record",
        );
        assert_eq!(
            verifier.verify(b"alice", b"gen 7", b"replace record", &other),
            Err(ProofError)
        );
        // Length prefixes: moving bytes between fields changes the proof.
        assert_eq!(
            verifier.verify(b"alice", b"gen 7r", b"eplace record", &proof),
            Err(ProofError)
        );
    }

    #[test]
    fn verifier_is_per_user_and_not_a_subkey_used_elsewhere() {
        let k = BackupKey::from_bytes(&[1; 32]);
        let a = ProofOfKeyVerifier::derive(&k, b"alice");
        assert_ne!(a, ProofOfKeyVerifier::derive(&k, b"bob"));
        assert_ne!(a.expose_secret(), k.expose_secret());
        assert_ne!(
            *a.expose_secret(),
            *k.derive(Purpose::BackupPayload, b"alice")
        );
        let hex = hex::encode(&a.expose_secret()[..4]);
        assert!(!format!("{a:?}").contains(&hex));
    }
}
