//! Everything cryptographic a vault node does, behind one trait.
//!
//! The node is generic over [`VaultCrypto`], with two implementations:
//! real OPAQUE and AES-GCM in the simulator and the real runtime
//! ([`super::opaque_crypto::OpaqueCrypto`]), and [`SymbolicCrypto`] in the
//! model checker, where passwords, keys and proofs are small values and
//! every cryptographic output is a *term* that names what it was made from.
//! Model checking then explores the node's real consensus and lockout code,
//! at the cost of trusting the cryptography, which the property tests and
//! fuzzers cover.
//!
//! The trait is deliberately narrow: it evaluates the OPRF under a key the
//! node names, checks passwords and proofs, and authenticates answers; all
//! counting, committing and state changes stay in the node.
//!
//! # The oracles, and why the symbolic stand-in counts each of them
//! An OPRF evaluation is a password test: whoever holds the evaluation of
//! their own blinded guess under the key a record's password file was made
//! with can check that guess against anything masked under that record
//! (KE2's `masked_response`) offline. Real OPAQUE offers an evaluation at
//! two entry points, and the symbolic stand-in returns the same thing at
//! both, as a term naming the key and the input ([`SymEval`]):
//! - [`VaultCrypto::registration_response`] evaluates under the key the node
//!   passes in [`TicketClaims::key`];
//! - [`VaultCrypto::login_start`] evaluates under the record's key, in KE2.
//!
//! Checkers count distinct inputs evaluated under each record's key, from
//! any entry point (LOCK-1). The stand-in is sound for this because it
//! cannot evaluate under a key other than the one the node names, exactly
//! like the real code, and because it gives the attacker no oracle the real
//! primitives lack: a symbolic guess is tested only through an evaluation
//! term or a login finish, each of which the checkers see.

// Defined with every other id in `vault::ids`.
use super::ids::{NodeId, UserId};
pub use super::ids::{OprfKeyId, RegistrationId, OPRF_KEY_ID_LEN};
use core::fmt::{self, Debug};
use core::hash::Hash;
use rand_core::{CryptoRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

/// A value that can live in the node's state and on the wire: cloned,
/// compared, hashed (the model checker hashes whole states) and serialized.
pub trait Value:
    Clone + PartialEq + Eq + Hash + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<T> Value for T where
    T: Clone + PartialEq + Eq + Hash + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $show:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// SHA-256 of `label` then `bytes`.
            pub fn of(label: &[u8], bytes: &[u8]) -> Self {
                let mut h = Sha256::new();
                h.update((label.len() as u64).to_be_bytes());
                h.update(label);
                h.update(bytes);
                $name(h.finalize().into())
            }
        }

        impl Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($show, "({})"), hex::encode(&self.0[..6]))
            }
        }
    };
}

digest_type! {
    /// Names one login's KE1: SHA-256 of its bytes. Two sends of the same
    /// KE1 are the same password test, so they cost one attempt (LOCK-5).
    Ke1Digest, "Ke1Digest"
}

digest_type! {
    /// Names the content of one sealed registration: SHA-256 of its bytes.
    /// Proofs of K about a registration name its content, so a proof made
    /// for one registration authorises nothing else.
    ContentDigest, "ContentDigest"
}

digest_type! {
    /// Names one proof of K: a digest of its bytes
    /// ([`VaultCrypto::proof_digest`]). The vault's "gone" names the proof
    /// of the delete it answers, so that only the prover can take it as
    /// the answer to its own fresh request.
    ProofDigest, "ProofDigest"
}

/// Length of a [`DeleteNonce`].
pub const DELETE_NONCE_LEN: usize = 16;

/// A fresh random value a device puts in each delete it makes, under its
/// proof of K. The answer "gone" names that proof, so an answer the chat
/// server kept from an earlier delete of the same registration does not
/// answer this one (REG-2: a replayed "gone" must not make a device forget
/// a key a record of which came to live since).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeleteNonce(pub [u8; DELETE_NONCE_LEN]);

impl Debug for DeleteNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeleteNonce({})", hex::encode(&self.0[..6]))
    }
}

/// What a registration ticket vouches for: the vault evaluated this user's
/// registration request under `key`, when the user had staged `seq`
/// registrations. A ticket without a proof of K stages at most one
/// registration: the one at `seq` (see `records.rs`, the stage rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketClaims {
    /// The user.
    pub user: UserId,
    /// The OPRF key the request was evaluated under.
    pub key: OprfKeyId,
    /// How many registrations the user had staged when it was issued.
    pub seq: u64,
}

/// A statement a proof of knowledge of K is about: what it authorises, for
/// whom, about which registration, and (for changes) which content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProofStatement {
    /// Keep active registration `active` while `content` is staged to
    /// replace it (a password change).
    Replace {
        /// The user.
        user: UserId,
        /// The active registration being replaced.
        active: RegistrationId,
        /// The content of the new sealed registration.
        content: ContentDigest,
    },
    /// Activate staged registration `registration`, whose content is `content`.
    Activate {
        /// The user.
        user: UserId,
        /// The staged registration.
        registration: RegistrationId,
        /// Its content.
        content: ContentDigest,
    },
    /// Delete registration `registration` (disable backups), in the
    /// request that carries `nonce`.
    Delete {
        /// The user.
        user: UserId,
        /// The registration.
        registration: RegistrationId,
        /// The request's fresh nonce.
        nonce: DeleteNonce,
    },
}

impl ProofStatement {
    /// The user the statement is about.
    pub fn user(&self) -> UserId {
        match self {
            ProofStatement::Replace { user, .. }
            | ProofStatement::Activate { user, .. }
            | ProofStatement::Delete { user, .. } => *user,
        }
    }

    /// The registration the statement names (the proof's challenge).
    pub fn registration(&self) -> RegistrationId {
        match self {
            ProofStatement::Replace { active, .. } => *active,
            ProofStatement::Activate { registration, .. }
            | ProofStatement::Delete { registration, .. } => *registration,
        }
    }

    /// The canonical bytes a real proof MACs: `"bvproof"`, a purpose byte,
    /// the user and the registration (8 bytes big-endian each), then the
    /// content digest (replace, activate) or the nonce (delete).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (purpose, tail): (u8, &[u8]) = match self {
            ProofStatement::Replace { content, .. } => (1, &content.0),
            ProofStatement::Activate { content, .. } => (2, &content.0),
            ProofStatement::Delete { nonce, .. } => (3, &nonce.0),
        };
        let mut b = Vec::with_capacity(56);
        b.extend_from_slice(b"bvproof");
        b.push(purpose);
        b.extend_from_slice(&self.user().0.to_be_bytes());
        b.extend_from_slice(&self.registration().0.to_be_bytes());
        b.extend_from_slice(tail);
        b
    }
}

/// A statement the vault makes to the key holder about a registration,
/// authenticated with a key derived from K ([`VaultCrypto::reply_tag`]), so
/// that nobody between the client and the vault can forge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplyStatement {
    /// `content` is staged as `registration`.
    Staged {
        /// The user.
        user: UserId,
        /// The new registration.
        registration: RegistrationId,
        /// Its content.
        content: ContentDigest,
    },
    /// `registration`, of content `content`, is active with `remaining` guesses.
    Activated {
        /// The user.
        user: UserId,
        /// The registration.
        registration: RegistrationId,
        /// Its content.
        content: ContentDigest,
        /// Guesses available.
        remaining: u8,
    },
    /// `registration` is not a live record (deleted, now or before,
    /// destroyed by the guess limit, or displaced by a registration without
    /// proof of K), and no live record of the user is one the delete's
    /// proof, named by `proof`, verifies under: made with K, that proof
    /// verifies under every record of K, so none of K lives. Only this lets
    /// a client forget K, and only as the answer to its own delete: the
    /// proof covers that request's fresh nonce (REG-2).
    Gone {
        /// The user.
        user: UserId,
        /// The registration.
        registration: RegistrationId,
        /// The digest of the delete's proof.
        proof: ProofDigest,
    },
    /// `registration` is not a live record, and the key it was made with
    /// lives on in the record `live` (active or staged): a registration of
    /// the same K the client may never have heard of (its staging or its
    /// activation answer lost or held back). The client deletes `live` to
    /// forget K; a `Gone` is never said while it lives (REG-2).
    KeyLivesOn {
        /// The user.
        user: UserId,
        /// The registration the client named.
        registration: RegistrationId,
        /// The live registration of the same key.
        live: RegistrationId,
    },
}

impl ReplyStatement {
    /// The canonical bytes a real reply tag MACs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(b"bvreply");
        match self {
            ReplyStatement::Staged {
                user,
                registration,
                content,
            } => {
                b.push(1);
                b.extend_from_slice(&user.0.to_be_bytes());
                b.extend_from_slice(&registration.0.to_be_bytes());
                b.extend_from_slice(&content.0);
            }
            ReplyStatement::Activated {
                user,
                registration,
                content,
                remaining,
            } => {
                b.push(2);
                b.extend_from_slice(&user.0.to_be_bytes());
                b.extend_from_slice(&registration.0.to_be_bytes());
                b.extend_from_slice(&content.0);
                b.push(*remaining);
            }
            ReplyStatement::Gone {
                user,
                registration,
                proof,
            } => {
                b.push(3);
                b.extend_from_slice(&user.0.to_be_bytes());
                b.extend_from_slice(&registration.0.to_be_bytes());
                b.extend_from_slice(&proof.0);
            }
            ReplyStatement::KeyLivesOn {
                user,
                registration,
                live,
            } => {
                b.push(4);
                b.extend_from_slice(&user.0.to_be_bytes());
                b.extend_from_slice(&registration.0.to_be_bytes());
                b.extend_from_slice(&live.0.to_be_bytes());
            }
        }
        b
    }
}

/// Where a value an HSM seals for its host belongs: the associated data
/// of the seal. A sealed value opens only at the place it was sealed for,
/// so a host that moves it (to another node, another file position, another
/// link) turns it into a forgery, which the node drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SealPlace {
    /// A record of node `node`'s disk: record `position` of the file
    /// segment `segment`, which continues the segment `follows` names
    /// (its id and its record count) or starts a file.
    Disk {
        /// The node whose disk it is.
        node: NodeId,
        /// The segment (a random id drawn by the node when it starts one).
        segment: u64,
        /// The record's position within the segment, from 0.
        position: u64,
        /// For position 0: the segment this one continues, and how many of
        /// its records it continues after; `None` if it starts the file.
        follows: Option<(u64, u64)>,
    },
    /// A message from node `from` to node `to`.
    Wire {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
    },
}

impl SealPlace {
    /// The canonical associated-data bytes: `"bvseal"`, a kind byte, then
    /// the fields big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(48);
        b.extend_from_slice(b"bvseal");
        match self {
            SealPlace::Disk {
                node,
                segment,
                position,
                follows,
            } => {
                b.push(1);
                b.push(node.0);
                b.extend_from_slice(&segment.to_be_bytes());
                b.extend_from_slice(&position.to_be_bytes());
                match follows {
                    None => b.push(0),
                    Some((s, n)) => {
                        b.push(1);
                        b.extend_from_slice(&s.to_be_bytes());
                        b.extend_from_slice(&n.to_be_bytes());
                    }
                }
            }
            SealPlace::Wire { from, to } => {
                b.push(2);
                b.push(from.0);
                b.push(to.0);
            }
        }
        b
    }
}

/// A cryptographic check failed, or a message did not decode.
#[derive(Clone, Debug, Error, PartialEq, Eq, Hash)]
pub enum CryptoError {
    /// A protocol message is malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The password check failed at KE3: a wrong guess.
    #[error("wrong password")]
    WrongPassword,
    /// A sealed registration did not open under the fleet key, or its
    /// ticket names another user.
    #[error("registration envelope did not open")]
    Envelope,
    /// A value sealed for the host did not open at its place: forged,
    /// altered, moved, or left in the clear.
    #[error("sealed value did not open")]
    Seal,
}

/// What a sealed registration carries, once opened and checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpenedRegistration<C: VaultCrypto> {
    /// What will check passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K.
    pub verifier: C::KeyVerifier,
    /// What authenticates the vault's answers to the key holder.
    pub reply_key: C::ReplyKey,
    /// The ticket the registration was made with.
    pub ticket: TicketClaims,
    /// Whether the ticket is one this fleet issued with these claims (its
    /// MAC checks). If not, the client chose the claims, such as the OPRF
    /// key its password file is stored under; the node refuses such a
    /// registration (`node.rs`, the stage rule).
    pub ticket_authentic: bool,
    /// Whether the password file was made from the fleet's evaluation under
    /// the ticket's key. If not, whoever made the evaluation the client
    /// used can test passwords against the record without the vault; the
    /// node refuses such a registration (`node.rs`, the stage rule).
    pub evaluated_under_ticket: bool,
    /// The digest of the sealed bytes.
    pub content: ContentDigest,
}

/// What a successful login releases, sealed under the session key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Release<C: VaultCrypto> {
    /// K, wrapped.
    pub wrapped_key: C::WrappedKey,
    /// The registration logged into.
    pub registration: RegistrationId,
    /// Guesses available after the login (the full budget).
    pub remaining: u8,
}

/// The cryptography of a vault node. See the module documentation.
///
/// `Eq` and `Hash` are required because node states are compared and
/// hashed by the model checker; an implementation holding secrets should
/// compare and hash only public configuration (such as the fleet's public key).
pub trait VaultCrypto: Clone + Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// OPAQUE registration request (client to vault): a blinded password.
    type RegistrationRequest: Value;
    /// OPAQUE registration response (vault to client), with its ticket.
    type RegistrationResponse: Value;
    /// A registration as it travels: sealed to the fleet key.
    type SealedRegistration: Value;
    /// What the vault stores to check passwords (OPAQUE: the password file).
    type PasswordFile: Value;
    /// K wrapped under a key only a logged-in client can derive.
    type WrappedKey: Value;
    /// What the vault stores to check proofs of key.
    type KeyVerifier: Value;
    /// A proof of knowledge of K about a [`ProofStatement`].
    type KeyProof: Value;
    /// What the vault stores to authenticate answers to the key holder.
    type ReplyKey: Value;
    /// An authenticated [`ReplyStatement`].
    type ReplyTag: Value;
    /// KE1.
    type Ke1: Value;
    /// KE2.
    type Ke2: Value;
    /// KE3.
    type Ke3: Value;
    /// The leader's memory of a login between KE2 and KE3.
    type LoginState: Value;
    /// A [`Release`], sealed under the session key.
    type SealedKey: Value;
    /// A value an HSM sealed for its host: encrypted and authenticated
    /// under a key only HSMs hold, bound to a [`SealPlace`].
    type Sealed<T: Value>: Value;

    /// Seals `value` for `place`: the host can store or carry the result,
    /// and can neither read it nor make another that opens.
    fn seal<T: Value, R: RngCore + CryptoRng>(
        &self,
        place: &SealPlace,
        value: &T,
        rng: &mut R,
    ) -> Self::Sealed<T>;

    /// Opens a sealed value at `place`.
    ///
    /// # Errors
    /// `Seal` if it was not sealed by an HSM of this fleet for exactly
    /// `place`, was altered, or is in the clear.
    fn open<T: Value>(&self, place: &SealPlace, sealed: &Self::Sealed<T>)
        -> Result<T, CryptoError>;

    /// What anyone can make without keys: `value` in the clear, in the
    /// sealed form's encoding. [`VaultCrypto::open`] refuses it. Host
    /// adversaries forge with it; only broken variants seal with it.
    fn in_clear<T: Value>(value: &T) -> Self::Sealed<T>;

    /// What anyone can read without keys: the value, if it was left in the
    /// clear; `None` if it was sealed.
    fn read_clear<T: Value>(sealed: &Self::Sealed<T>) -> Option<T>;

    /// Answers a registration request: evaluates the OPRF under
    /// `claims.key` for `claims.user`, and attaches a ticket for `claims`
    /// that only this fleet can issue. Stateless. **An OPRF evaluation:**
    /// the node must never name a key that protects a record.
    ///
    /// # Errors
    /// `Malformed` if the request does not decode.
    fn registration_response(
        &self,
        claims: &TicketClaims,
        request: &Self::RegistrationRequest,
    ) -> Result<Self::RegistrationResponse, CryptoError>;

    /// Opens a sealed registration for `user`, checks the ticket inside it
    /// names `user`, and reports whether this fleet issued the ticket
    /// ([`OpenedRegistration::ticket_authentic`]) and whether the password
    /// file was made from its evaluation
    /// ([`OpenedRegistration::evaluated_under_ticket`]).
    ///
    /// # Errors
    /// `Envelope` if it was not sealed to this fleet for this user, was
    /// altered, or carries a ticket for another user.
    fn open_registration(
        &self,
        user: UserId,
        sealed: &Self::SealedRegistration,
    ) -> Result<OpenedRegistration<Self>, CryptoError>;

    /// The digest of a sealed registration (what proofs about it name).
    fn content_digest(&self, sealed: &Self::SealedRegistration) -> ContentDigest;

    /// The digest of a KE1: which password test it is.
    fn ke1_digest(&self, ke1: &Self::Ke1) -> Ke1Digest;

    /// Starts a login: answers KE1 with KE2 and the state to keep until KE3.
    /// **An OPRF evaluation under `key`**: the node calls this only after the
    /// attempt for this KE1 is committed (LOCK-2).
    ///
    /// # Errors
    /// `Malformed` if KE1 does not decode.
    fn login_start<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        user: UserId,
        key: &OprfKeyId,
        file: &Self::PasswordFile,
        ke1: &Self::Ke1,
    ) -> Result<(Self::LoginState, Self::Ke2), CryptoError>;

    /// Finishes a login: checks KE3 and, if the password was right, seals
    /// `release` for the client under the session key.
    ///
    /// # Errors
    /// `WrongPassword` if KE3 does not verify.
    fn login_finish<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        state: &Self::LoginState,
        ke3: &Self::Ke3,
        release: &Release<Self>,
    ) -> Result<Self::SealedKey, CryptoError>;

    /// Checks a proof of knowledge of K about `statement`.
    fn verify_proof(
        &self,
        verifier: &Self::KeyVerifier,
        statement: &ProofStatement,
        proof: &Self::KeyProof,
    ) -> bool;

    /// Authenticates `statement` for the key holder.
    fn reply_tag(&self, key: &Self::ReplyKey, statement: &ReplyStatement) -> Self::ReplyTag;

    /// Names `proof`: equal digests, equal proofs (collision resistance).
    fn proof_digest(&self, proof: &Self::KeyProof) -> ProofDigest;
}

// ----- the symbolic stand-in ------------------------------------------------

/// Symbolic cryptography for the model checker: passwords, keys and proofs
/// are small values, and every output is a term naming what it was made
/// from. See the module documentation for why it is sound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SymbolicCrypto;

/// A symbolic password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SymPassword(pub u8);

/// A symbolic backup key K.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SymKey(pub u8);

/// A symbolic blinded password: a guess, and which blind hides it. KE1 and
/// registration requests carry one. Two different blinds of one password are
/// two evaluations, and two tests, exactly as in the real OPRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SymBlinded {
    /// The password guessed.
    pub password: SymPassword,
    /// The blind.
    pub blind: u8,
}

/// The symbolic OPRF evaluation term `Eval(key, input)`: what a
/// registration response and KE2 hand the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymEval {
    /// The key evaluated under.
    pub key: OprfKeyId,
    /// The blinded input.
    pub input: SymBlinded,
}

/// A symbolic registration response: the evaluation and the ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymRegistrationResponse {
    /// The evaluation.
    pub eval: SymEval,
    /// The ticket (symbolically unforgeable: only the node makes one).
    pub ticket: TicketClaims,
}

/// A symbolic sealed registration: who it is for, the password, the key,
/// the ticket it was made with, and the key of the evaluation the client
/// finished it from (the transcript: `ticket.key` unless a relay answered
/// the registration request with an evaluation of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymRegistration {
    /// The user it was sealed for.
    pub user: UserId,
    /// The password it registers.
    pub password: SymPassword,
    /// The key it wraps.
    pub key: SymKey,
    /// The ticket it was made with.
    pub ticket: TicketClaims,
    /// The key the OPRF evaluation it was finished from was made under.
    pub evaluated_under: OprfKeyId,
}

/// A symbolic proof: the key the prover claims to know, and what it proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymProof {
    /// The key used.
    pub key: SymKey,
    /// The statement proved.
    pub statement: ProofStatement,
}

/// A symbolic reply tag: made with `key`, about `statement`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymTag {
    /// The key holder's key the tag was made with.
    pub key: SymKey,
    /// The statement.
    pub statement: ReplyStatement,
}

/// A symbolic release: the key and what the login was against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymRelease {
    /// The (wrapped) key.
    pub key: SymKey,
    /// The registration.
    pub registration: RegistrationId,
    /// Guesses available.
    pub remaining: u8,
}

/// A symbolic sealed value: the value, and the place an HSM sealed it for,
/// or `None` if it is in the clear (made by anyone). Whoever is not an HSM
/// may copy, drop or reorder it, and read it only when `place` is `None`:
/// the symbolic counterpart of an AEAD under a key only HSMs hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymSealed<T> {
    /// Where it was sealed for; `None` if it is in the clear.
    pub place: Option<SealPlace>,
    /// The value.
    pub value: T,
}

impl SymRegistration {
    /// The content digest of this sealed registration.
    pub fn content(&self) -> ContentDigest {
        ContentDigest::of(
            b"bvault sym registration",
            &postcard::to_allocvec(self).expect("a symbolic registration serializes"),
        )
    }
}

impl VaultCrypto for SymbolicCrypto {
    type RegistrationRequest = SymBlinded;
    type RegistrationResponse = SymRegistrationResponse;
    type SealedRegistration = SymRegistration;
    type PasswordFile = SymPassword;
    type WrappedKey = SymKey;
    type KeyVerifier = SymKey;
    type KeyProof = SymProof;
    type ReplyKey = SymKey;
    type ReplyTag = SymTag;
    type Ke1 = SymBlinded;
    type Ke2 = SymEval;
    type Ke3 = ();
    /// Whether the guess in KE1 was right.
    type LoginState = bool;
    type SealedKey = SymRelease;

    fn registration_response(
        &self,
        claims: &TicketClaims,
        request: &SymBlinded,
    ) -> Result<SymRegistrationResponse, CryptoError> {
        Ok(SymRegistrationResponse {
            eval: SymEval {
                key: claims.key,
                input: *request,
            },
            ticket: *claims,
        })
    }

    fn open_registration(
        &self,
        user: UserId,
        sealed: &SymRegistration,
    ) -> Result<OpenedRegistration<Self>, CryptoError> {
        if sealed.user != user || sealed.ticket.user != user {
            return Err(CryptoError::Envelope);
        }
        Ok(OpenedRegistration {
            password_file: sealed.password,
            wrapped_key: sealed.key,
            verifier: sealed.key,
            reply_key: sealed.key,
            ticket: sealed.ticket,
            // Symbolically unforgeable: only a node makes a ticket, and the
            // model's parties use only the tickets they were given (HMAC
            // under a key only HSMs hold).
            ticket_authentic: true,
            evaluated_under_ticket: sealed.evaluated_under == sealed.ticket.key,
            content: sealed.content(),
        })
    }

    fn content_digest(&self, sealed: &SymRegistration) -> ContentDigest {
        sealed.content()
    }

    fn ke1_digest(&self, ke1: &SymBlinded) -> Ke1Digest {
        Ke1Digest::of(b"bvault sym ke1", &[ke1.password.0, ke1.blind])
    }

    fn login_start<R: RngCore + CryptoRng>(
        &self,
        _: &mut R,
        _: UserId,
        key: &OprfKeyId,
        file: &SymPassword,
        guess: &SymBlinded,
    ) -> Result<(bool, SymEval), CryptoError> {
        Ok((
            *file == guess.password,
            SymEval {
                key: *key,
                input: *guess,
            },
        ))
    }

    fn login_finish<R: RngCore + CryptoRng>(
        &self,
        _: &mut R,
        right: &bool,
        _: &(),
        release: &Release<Self>,
    ) -> Result<SymRelease, CryptoError> {
        if *right {
            Ok(SymRelease {
                key: release.wrapped_key,
                registration: release.registration,
                remaining: release.remaining,
            })
        } else {
            Err(CryptoError::WrongPassword)
        }
    }

    fn verify_proof(
        &self,
        verifier: &SymKey,
        statement: &ProofStatement,
        proof: &SymProof,
    ) -> bool {
        proof.key == *verifier && proof.statement == *statement
    }

    fn reply_tag(&self, key: &SymKey, statement: &ReplyStatement) -> SymTag {
        SymTag {
            key: *key,
            statement: *statement,
        }
    }

    fn proof_digest(&self, proof: &SymProof) -> ProofDigest {
        ProofDigest::of(
            b"bvault sym proof",
            &postcard::to_allocvec(proof).expect("a symbolic proof serializes"),
        )
    }

    type Sealed<T: Value> = SymSealed<T>;

    fn seal<T: Value, R: RngCore + CryptoRng>(
        &self,
        place: &SealPlace,
        value: &T,
        _: &mut R,
    ) -> SymSealed<T> {
        SymSealed {
            place: Some(*place),
            value: value.clone(),
        }
    }

    fn open<T: Value>(&self, place: &SealPlace, sealed: &SymSealed<T>) -> Result<T, CryptoError> {
        if sealed.place == Some(*place) {
            Ok(sealed.value.clone())
        } else {
            Err(CryptoError::Seal)
        }
    }

    fn in_clear<T: Value>(value: &T) -> SymSealed<T> {
        SymSealed {
            place: None,
            value: value.clone(),
        }
    }

    fn read_clear<T: Value>(sealed: &SymSealed<T>) -> Option<T> {
        sealed.place.is_none().then(|| sealed.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_differ_in_every_field() {
        let user = UserId(7);
        let r = RegistrationId(9);
        let c = ContentDigest([1; 32]);
        let all = [
            ProofStatement::Replace {
                user,
                active: r,
                content: c,
            },
            ProofStatement::Activate {
                user,
                registration: r,
                content: c,
            },
            ProofStatement::Delete {
                user,
                registration: r,
                nonce: DeleteNonce([1; DELETE_NONCE_LEN]),
            },
            ProofStatement::Delete {
                user,
                registration: r,
                nonce: DeleteNonce([2; DELETE_NONCE_LEN]),
            },
            ProofStatement::Activate {
                user,
                registration: r,
                content: ContentDigest([2; 32]),
            },
            ProofStatement::Activate {
                user: UserId(8),
                registration: r,
                content: c,
            },
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.to_bytes(), b.to_bytes(), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn digests_are_domain_separated() {
        assert_ne!(Ke1Digest::of(b"a", b"bc").0, Ke1Digest::of(b"ab", b"c").0);
        assert_ne!(Ke1Digest::of(b"x", b"y").0, ContentDigest::of(b"z", b"y").0);
    }
}
