//! Everything cryptographic a vault node does, behind one trait.
//!
//! The node is generic over [`VaultCrypto`], with two implementations:
//! real OPAQUE and AES-GCM in the simulator and the real runtime
//! (`OpaqueCrypto`, vault issue), and [`SymbolicCrypto`] in the model
//! checker, where a password is a small number, a guess is right when it is
//! equal, and a proof is right when it names the right key. Model checking
//! then explores the node's real consensus and lockout code, at the cost of
//! trusting the cryptography, which the property tests and fuzzers cover.
//!
//! The trait is deliberately narrow: it decides "is this guess right?" and
//! "does this request prove knowledge of K?", and carries opaque values; all
//! counting, committing and state changes stay in the node.

use super::ids::UserId;
use core::fmt::Debug;
use core::hash::Hash;
use rand_core::{CryptoRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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

/// A random identifier of one registration of one user, chosen by the leader
/// when it stages the registration. Every proof of key names the
/// registration it is about, so no proof can be replayed against another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegistrationId(pub u64);

/// What a proof of knowledge of K is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProofPurpose {
    /// Keep the active record while a replacement is staged (password change).
    Replace,
    /// Activate a staged registration.
    Activate,
    /// Delete the record (disable backups).
    Delete,
}

/// The statement a proof of key is about: purpose, user and registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProofStatement {
    /// What the proof authorises.
    pub purpose: ProofPurpose,
    /// Whose record.
    pub user: UserId,
    /// Which registration of that record.
    pub registration: RegistrationId,
}

impl ProofStatement {
    /// The canonical bytes a real proof signs or MACs.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..7].copy_from_slice(b"bvproof");
        b[7] = match self.purpose {
            ProofPurpose::Replace => 1,
            ProofPurpose::Activate => 2,
            ProofPurpose::Delete => 3,
        };
        b[8..16].copy_from_slice(&self.user.0.to_be_bytes());
        b[16..24].copy_from_slice(&self.registration.0.to_be_bytes());
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
    /// A sealed registration did not open under the fleet key.
    #[error("registration envelope did not open")]
    Envelope,
}

/// What a sealed registration carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpenedRegistration<C: VaultCrypto> {
    /// What will check passwords.
    pub password_file: C::PasswordFile,
    /// K, wrapped.
    pub wrapped_key: C::WrappedKey,
    /// What checks proofs of K.
    pub verifier: C::KeyVerifier,
}

/// The cryptography of a vault node. See the module documentation.
///
/// `Eq` and `Hash` are required because node states are compared and
/// hashed by the model checker; an implementation holding secrets should
/// compare and hash only public configuration (such as the fleet's public key).
pub trait VaultCrypto: Clone + Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// OPAQUE registration request (client to vault).
    type RegistrationRequest: Value;
    /// OPAQUE registration response (vault to client).
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
    /// KE1.
    type Ke1: Value;
    /// KE2.
    type Ke2: Value;
    /// KE3.
    type Ke3: Value;
    /// The leader's memory of a login between KE2 and KE3.
    type LoginState: Value;
    /// The wrapped key as released to the client, under the session key.
    type SealedKey: Value;

    /// Answers a registration request for `user` (stateless: OPRF evaluation).
    ///
    /// # Errors
    /// `Malformed` if the request does not decode.
    fn registration_response(
        &self,
        user: UserId,
        request: &Self::RegistrationRequest,
    ) -> Result<Self::RegistrationResponse, CryptoError>;

    /// Opens a sealed registration for `user`: the password file, the wrapped
    /// key and the key verifier it carries.
    ///
    /// # Errors
    /// `Envelope` if it was not sealed to this fleet for this user, or was altered.
    fn open_registration(
        &self,
        user: UserId,
        sealed: &Self::SealedRegistration,
    ) -> Result<OpenedRegistration<Self>, CryptoError>;

    /// Starts a login: answers KE1 with KE2 and the state to keep until KE3.
    /// The node calls this only after the attempt is committed (LOCK-2).
    ///
    /// # Errors
    /// `Malformed` if KE1 does not decode.
    fn login_start<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        user: UserId,
        file: &Self::PasswordFile,
        ke1: &Self::Ke1,
    ) -> Result<(Self::LoginState, Self::Ke2), CryptoError>;

    /// Finishes a login: checks KE3 and, if the password was right, seals
    /// `wrapped` for the client under the session key.
    ///
    /// # Errors
    /// `WrongPassword` if KE3 does not verify.
    fn login_finish<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        state: &Self::LoginState,
        ke3: &Self::Ke3,
        wrapped: &Self::WrappedKey,
    ) -> Result<Self::SealedKey, CryptoError>;

    /// Checks a proof of knowledge of K about `statement`.
    fn verify_proof(
        &self,
        verifier: &Self::KeyVerifier,
        statement: &ProofStatement,
        proof: &Self::KeyProof,
    ) -> bool;
}

/// Symbolic cryptography for the model checker: passwords, keys and proofs
/// are small numbers. See the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SymbolicCrypto;

/// A symbolic password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SymPassword(pub u8);

/// A symbolic backup key K.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SymKey(pub u8);

/// A symbolic registration: who it is for, the password and the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymRegistration {
    /// The user it was sealed for.
    pub user: UserId,
    /// The password it registers.
    pub password: SymPassword,
    /// The key it wraps.
    pub key: SymKey,
}

/// A symbolic proof: the key the prover claims to know, and what it proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SymProof {
    /// The key used.
    pub key: SymKey,
    /// The statement proved.
    pub statement: ProofStatement,
}

impl VaultCrypto for SymbolicCrypto {
    type RegistrationRequest = ();
    type RegistrationResponse = ();
    type SealedRegistration = SymRegistration;
    type PasswordFile = SymPassword;
    type WrappedKey = SymKey;
    type KeyVerifier = SymKey;
    type KeyProof = SymProof;
    type Ke1 = SymPassword;
    type Ke2 = ();
    type Ke3 = ();
    /// Whether the guess in KE1 was right.
    type LoginState = bool;
    type SealedKey = SymKey;

    fn registration_response(&self, _: UserId, _: &()) -> Result<(), CryptoError> {
        Ok(())
    }

    fn open_registration(
        &self,
        user: UserId,
        sealed: &SymRegistration,
    ) -> Result<OpenedRegistration<Self>, CryptoError> {
        if sealed.user != user {
            return Err(CryptoError::Envelope);
        }
        Ok(OpenedRegistration {
            password_file: sealed.password,
            wrapped_key: sealed.key,
            verifier: sealed.key,
        })
    }

    fn login_start<R: RngCore + CryptoRng>(
        &self,
        _: &mut R,
        _: UserId,
        file: &SymPassword,
        guess: &SymPassword,
    ) -> Result<(bool, ()), CryptoError> {
        Ok((file == guess, ()))
    }

    fn login_finish<R: RngCore + CryptoRng>(
        &self,
        _: &mut R,
        right: &bool,
        _: &(),
        wrapped: &SymKey,
    ) -> Result<SymKey, CryptoError> {
        if *right {
            Ok(*wrapped)
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
}
