//! Client requests to the vault, and the vault's replies.
//!
//! Every request names its user (REG-1). Every reply a client acts on is
//! authenticated to it: `Staged`, `Activated`, `Deleted` and `KeyLivesOn`
//! carry a tag made with a key derived from K
//! ([`crate::vault::crypto::ReplyStatement`]), and `LoginOk` carries
//! everything inside the session seal. The other replies
//! (remaining guesses, refusals, `NotLeader`) are advice: nothing a client
//! does on them can lose its key or grant anyone a guess.

// Defined with every other id in `vault::ids`.
use super::crypto::{ContentDigest, DeleteNonce, ProofDigest, RegistrationId, VaultCrypto};
pub use super::ids::LoginId;
use super::ids::{NodeId, UserId};
use serde::{Deserialize, Serialize};

/// The active registration a password change replaces, with the key
/// holder's proof of K for replacing it with the content staged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Replacing<C: VaultCrypto> {
    /// The active registration.
    pub registration: RegistrationId,
    /// Proof of K for `Replace { user, registration, content }`.
    pub proof: C::KeyProof,
}

/// A request from a client (through the untrusted chat server).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientRequest<C: VaultCrypto> {
    /// OPAQUE registration, first message. Evaluated under a fresh OPRF key
    /// of its own, never a record's, and answered with a ticket for it.
    RegistrationStart {
        /// The user.
        user: UserId,
        /// The OPAQUE registration request.
        request: C::RegistrationRequest,
    },
    /// Stage a registration (sealed to the fleet key). With `replacing`, a
    /// proof of K naming this content keeps the active registration until
    /// activation; without, the active record is destroyed first (LOCK-3).
    Stage {
        /// The user.
        user: UserId,
        /// The registration, sealed to the fleet key (it carries its ticket).
        sealed: C::SealedRegistration,
        /// The digest of `sealed`, as the proofs name it; the vault checks it.
        content: ContentDigest,
        /// The active registration being replaced, and a proof of K.
        replacing: Option<Replacing<C>>,
    },
    /// Activate a staged registration with a proof of K about it.
    Activate {
        /// The user.
        user: UserId,
        /// The staged registration.
        registration: RegistrationId,
        /// Its content, as the client sealed it.
        content: ContentDigest,
        /// Proof of K for `Activate { user, registration, content }`.
        proof: C::KeyProof,
    },
    /// Start a login: KE1. A KE1 not seen since the last proof costs one
    /// guess, committed before KE2 is sent; the same KE1 again costs nothing.
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
        /// Fresh for each delete the device makes (a resend repeats it).
        nonce: DeleteNonce,
        /// Proof of K for `Delete { user, registration, nonce }`.
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

    /// A short name of the request kind, for traces and histories.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientRequest::RegistrationStart { .. } => "registration-start",
            ClientRequest::Stage { .. } => "stage",
            ClientRequest::Activate { .. } => "activate",
            ClientRequest::LoginStart { .. } => "login-start",
            ClientRequest::LoginFinish { .. } => "login-finish",
            ClientRequest::Delete { .. } => "delete",
        }
    }
}

/// Why a request was refused without any state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// A proof of K did not verify, or named a registration that is not current.
    BadProof,
    /// A message did not decode or did not open, or its content digest is
    /// not the digest of what it carries.
    Malformed,
    /// The registration named is not the staged or active one (any more).
    UnknownRegistration,
    /// A registration without proof of K carried a ticket that is used up
    /// (another registration was staged since it was issued): start again
    /// from `RegistrationStart`.
    StaleTicket,
    /// The registration's password file was not made from the vault's own
    /// evaluation of its request: the registration response was replaced
    /// on its way to the client. Nothing was stored.
    ForeignEvaluation,
}

/// The vault's reply to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientResponse<C: VaultCrypto> {
    /// OPAQUE registration response, with its ticket.
    RegistrationResponse(C::RegistrationResponse),
    /// The registration is staged; activate it with a proof about `registration`.
    Staged {
        /// The new registration.
        registration: RegistrationId,
        /// Whether an active record was destroyed (no proof of K was given).
        displaced: bool,
        /// Authenticates `Staged { user, registration, content }`.
        tag: C::ReplyTag,
    },
    /// The registration is active.
    Activated {
        /// The registration.
        registration: RegistrationId,
        /// Guesses available.
        remaining: u8,
        /// Authenticates `Activated { user, registration, content, remaining }`.
        tag: C::ReplyTag,
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
    /// The password was right: K, wrapped, with the registration and the
    /// guesses available, all sealed under the session key.
    LoginOk {
        /// The sealed release.
        sealed_key: C::SealedKey,
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
    /// The login is unknown here: expired, or the leader changed. Start
    /// again (with the same KE1: it costs nothing).
    LoginExpired,
    /// The registration is gone: deleted now, or already (deleted,
    /// destroyed or displaced); and no live record is one the delete's
    /// proof verifies under.
    Deleted {
        /// The registration.
        registration: RegistrationId,
        /// The digest of the delete's proof: the client takes the answer
        /// only if it names the proof of its own pending delete.
        proof: ProofDigest,
        /// Authenticates `Gone { user, registration, proof }`.
        tag: C::ReplyTag,
    },
    /// Refused; nothing changed.
    Refused(Refusal),
    /// This node does not lead; try `leader` if known.
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
    /// The vault changed under the request (a concurrent change, or a leader
    /// change before it committed), or is busy. Retrying is safe.
    Retry,
    /// The registration a delete named is not a live record, and its key
    /// lives on in the registration `live`: delete that one (the client
    /// forgets K only on a `Deleted`, said while no record of K lives).
    /// Last, so that the encodings of the kinds above stay as they were.
    KeyLivesOn {
        /// The registration the delete named.
        registration: RegistrationId,
        /// The live registration of the same key.
        live: RegistrationId,
        /// Authenticates `KeyLivesOn { user, registration, live }`.
        tag: C::ReplyTag,
    },
}

impl<C: VaultCrypto> ClientResponse<C> {
    /// Its kind, without its contents.
    pub fn response_kind(&self) -> ResponseKind {
        match self {
            ClientResponse::RegistrationResponse(_) => ResponseKind::RegistrationResponse,
            ClientResponse::Staged { .. } => ResponseKind::Staged,
            ClientResponse::Activated { .. } => ResponseKind::Activated,
            ClientResponse::Ke2 { .. } => ResponseKind::Ke2,
            ClientResponse::LoginOk { .. } => ResponseKind::LoginOk,
            ClientResponse::WrongPassword { .. } => ResponseKind::WrongPassword,
            ClientResponse::KeyDestroyed => ResponseKind::KeyDestroyed,
            ClientResponse::NotRegistered => ResponseKind::NotRegistered,
            ClientResponse::LoginExpired => ResponseKind::LoginExpired,
            ClientResponse::Deleted { .. } => ResponseKind::Deleted,
            ClientResponse::KeyLivesOn { .. } => ResponseKind::KeyLivesOn,
            ClientResponse::Refused(r) => ResponseKind::Refused(*r),
            ClientResponse::NotLeader { .. } => ResponseKind::NotLeader,
            ClientResponse::Retry => ResponseKind::Retry,
        }
    }

    /// Its name in traces and histories (see [`ResponseKind::name`]).
    pub fn kind(&self) -> &'static str {
        self.response_kind().name()
    }
}

/// The kind of a [`ClientResponse`], without its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// `RegistrationResponse`.
    RegistrationResponse,
    /// `Staged`.
    Staged,
    /// `Activated`.
    Activated,
    /// `Ke2`.
    Ke2,
    /// `LoginOk`.
    LoginOk,
    /// `WrongPassword`.
    WrongPassword,
    /// `KeyDestroyed`.
    KeyDestroyed,
    /// `NotRegistered`.
    NotRegistered,
    /// `LoginExpired`.
    LoginExpired,
    /// `Deleted`.
    Deleted,
    /// `KeyLivesOn`.
    KeyLivesOn,
    /// `Refused`, with its reason.
    Refused(Refusal),
    /// `NotLeader`.
    NotLeader,
    /// `Retry`.
    Retry,
}

impl ResponseKind {
    /// The name traces, histories and reports use: the one table of them.
    pub fn name(self) -> &'static str {
        match self {
            ResponseKind::RegistrationResponse => "registration-response",
            ResponseKind::Staged => "staged",
            ResponseKind::Activated => "activated",
            ResponseKind::Ke2 => "ke2",
            ResponseKind::LoginOk => "login-ok",
            ResponseKind::WrongPassword => "wrong-password",
            ResponseKind::KeyDestroyed => "key-destroyed",
            ResponseKind::NotRegistered => "not-registered",
            ResponseKind::LoginExpired => "login-expired",
            ResponseKind::Deleted => "deleted",
            ResponseKind::KeyLivesOn => "key-lives-on",
            ResponseKind::Refused(Refusal::BadProof) => "refused-bad-proof",
            ResponseKind::Refused(Refusal::Malformed) => "refused-malformed",
            ResponseKind::Refused(Refusal::UnknownRegistration) => "refused-unknown",
            ResponseKind::Refused(Refusal::StaleTicket) => "refused-stale-ticket",
            ResponseKind::Refused(Refusal::ForeignEvaluation) => "refused-foreign-evaluation",
            ResponseKind::NotLeader => "not-leader",
            ResponseKind::Retry => "retry",
        }
    }
}
