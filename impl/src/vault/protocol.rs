//! Client requests to the vault, and the vault's replies.
//!
//! Every request names its user (REG-1); every reply about a record tells
//! the client its guesses remaining where that is known.

use super::crypto::{RegistrationId, VaultCrypto};
use super::ids::{NodeId, UserId};
use serde::{Deserialize, Serialize};

/// Identifies one login between KE2 and KE3; chosen by the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LoginId(pub u64);

/// A request from a client (through the untrusted chat server).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientRequest<C: VaultCrypto> {
    /// OPAQUE registration, first message. Answered without any state change.
    RegistrationStart {
        /// The user.
        user: UserId,
        /// The OPAQUE registration request.
        request: C::RegistrationRequest,
    },
    /// Stage a registration (sealed to the fleet key). With `replacing`, a
    /// proof of K against the active registration keeps it until activation;
    /// without, the active record is destroyed first (LOCK-3).
    Stage {
        /// The user.
        user: UserId,
        /// The registration, sealed to the fleet key.
        sealed: C::SealedRegistration,
        /// The active registration being replaced, and a proof of K about it.
        replacing: Option<(RegistrationId, C::KeyProof)>,
    },
    /// Activate a staged registration with a proof of K about it.
    Activate {
        /// The user.
        user: UserId,
        /// The staged registration.
        registration: RegistrationId,
        /// Proof of K for `(Activate, user, registration)`.
        proof: C::KeyProof,
    },
    /// Start a login: KE1. Costs one guess, committed before KE2 is sent.
    LoginStart {
        /// The user.
        user: UserId,
        /// KE1.
        ke1: C::Ke1,
    },
    /// Finish a login: KE3.
    LoginFinish {
        /// The user.
        user: UserId,
        /// The login, from the KE2 reply.
        login: LoginId,
        /// KE3.
        ke3: C::Ke3,
    },
    /// Delete the user's records, with a proof of K.
    Delete {
        /// The user.
        user: UserId,
        /// The registration the proof is about.
        registration: RegistrationId,
        /// Proof of K for `(Delete, user, registration)`.
        proof: C::KeyProof,
    },
}

impl<C: VaultCrypto> ClientRequest<C> {
    /// The user the request is about.
    pub fn user(&self) -> UserId {
        match self {
            ClientRequest::RegistrationStart { user, .. }
            | ClientRequest::Stage { user, .. }
            | ClientRequest::Activate { user, .. }
            | ClientRequest::LoginStart { user, .. }
            | ClientRequest::LoginFinish { user, .. }
            | ClientRequest::Delete { user, .. } => *user,
        }
    }
}

/// Why a request was refused without any state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// A proof of K did not verify, or named a registration that is not current.
    BadProof,
    /// A message did not decode or did not open.
    Malformed,
    /// The registration named is not the staged or active one (any more).
    UnknownRegistration,
}

/// The vault's reply to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientResponse<C: VaultCrypto> {
    /// OPAQUE registration response.
    RegistrationResponse(C::RegistrationResponse),
    /// The registration is staged; activate it with a proof about `registration`.
    Staged {
        /// The new registration.
        registration: RegistrationId,
        /// Whether an active record was destroyed (no proof of K was given).
        displaced: bool,
    },
    /// The registration is active.
    Activated {
        /// Guesses available.
        remaining: u8,
    },
    /// KE2: the attempt is committed.
    Ke2 {
        /// The login, to name in KE3.
        login: LoginId,
        /// KE2.
        ke2: C::Ke2,
        /// Guesses left after this one.
        remaining: u8,
    },
    /// The password was right: K, wrapped, sealed under the session key.
    LoginOk {
        /// The wrapped key, sealed under the session key.
        sealed_key: C::SealedKey,
        /// The registration logged into (for later proofs of K).
        registration: RegistrationId,
        /// Guesses available (the full budget).
        remaining: u8,
    },
    /// The password was wrong.
    WrongPassword {
        /// Guesses left.
        remaining: u8,
    },
    /// The record was destroyed after too many wrong guesses: K is gone.
    KeyDestroyed,
    /// There is no active record for this user.
    NotRegistered,
    /// The login is unknown here: expired, or the leader changed. Start again.
    LoginExpired,
    /// The records are deleted.
    Deleted,
    /// Refused; nothing changed.
    Refused(Refusal),
    /// This node does not lead; try `leader` if known.
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
    /// The vault changed under the request (a concurrent change, or a leader
    /// change before it committed). Retrying is safe.
    Retry,
}
