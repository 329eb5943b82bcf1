//! One module per flow. Each flow is a small state machine that turns an
//! answer into its next step; the [`super::Client`] does the bookkeeping that
//! all flows share (call numbers, resends, the retry budget, stale answers).
//!
//! | module | operations |
//! |---|---|
//! | [`register`] | enable password mode, change password |
//! | [`backup`] | backup |
//! | [`restore`] | the cloud half of both restores: find, fetch, decrypt, check |
//! | [`login`] | the vault half of a password restore, then [`restore`] |
//! | [`disable`] | disable |

pub(crate) mod backup;
pub(crate) mod disable;
pub(crate) mod login;
pub(crate) mod register;
pub(crate) mod restore;

use super::api::{CloudOp, CloudReply, Completed};
use super::config::ClientConfig;
use super::error::ClientError;
use super::state::DeviceState;
use crate::cloud::StoreError;
use crate::vault::opaque_crypto::OpaqueCrypto;
use crate::vault::protocol::{ClientRequest, ClientResponse, Refusal};
use rand_core::CryptoRngCore;

/// A vault request.
pub(crate) type VaultRequest = ClientRequest<OpaqueCrypto>;
/// A vault answer.
pub(crate) type VaultResponse = ClientResponse<OpaqueCrypto>;
/// A cloud answer.
pub(crate) type CloudResult = Result<CloudReply, StoreError>;

/// A request a flow waits on.
#[derive(Clone, Debug)]
pub(crate) enum Request {
    Vault(VaultRequest),
    Cloud(CloudOp),
}

/// What a flow does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this request and wait for its answer.
    Send(Request),
    /// The operation finished.
    Done(Completed),
    /// The operation failed.
    Failed(ClientError),
    /// The answer is not one to act on (it did not authenticate, or it
    /// answers something else): keep waiting for the awaited answer; the
    /// timeout resends as usual. A forged answer then costs the client
    /// nothing but time.
    Wait,
}

impl Step {
    pub(crate) fn vault(request: VaultRequest) -> Step {
        Step::Send(Request::Vault(request))
    }

    pub(crate) fn cloud(op: CloudOp) -> Step {
        Step::Send(Request::Cloud(op))
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Step {
        Step::Failed(ClientError::Protocol(detail.into()))
    }
}

/// What a flow may touch while it handles an input.
pub(crate) struct Ctx<'a> {
    pub(crate) device: &'a mut DeviceState,
    pub(crate) config: &'a ClientConfig,
    pub(crate) rng: &'a mut dyn CryptoRngCore,
}

/// The error for a vault answer that ends a flow, where the flow has no more
/// specific meaning for it.
pub(crate) fn vault_error(response: &VaultResponse) -> ClientError {
    match response {
        ClientResponse::KeyDestroyed => ClientError::KeyDestroyed,
        ClientResponse::NotRegistered => ClientError::NotRegistered,
        ClientResponse::WrongPassword { remaining } => ClientError::WrongPassword {
            remaining: *remaining,
        },
        ClientResponse::Refused(Refusal::UnknownRegistration) => ClientError::NotRegistered,
        ClientResponse::Refused(Refusal::BadProof) => ClientError::Protocol(
            "the vault refused this device's proof of key: the record was replaced with another key"
                .into(),
        ),
        ClientResponse::Refused(Refusal::Malformed) => {
            ClientError::Protocol("the vault could not read the request".into())
        }
        ClientResponse::Refused(Refusal::StaleTicket) => ClientError::Protocol(
            "another registration for this account overtook this one; try again".into(),
        ),
        ClientResponse::Refused(Refusal::ForeignEvaluation) => ClientError::Protocol(
            "the vault's registration answer was replaced on its way to this device (by the chat server or the network); nothing was stored"
                .into(),
        ),
        other => ClientError::Protocol(format!("unexpected vault answer {}", answer_name(other))),
    }
}

/// A short name of a vault answer, without its (possibly large) contents.
pub(crate) fn answer_name(response: &VaultResponse) -> &'static str {
    response.kind()
}

/// The error for a cloud answer that ends a flow.
pub(crate) fn cloud_error(err: &StoreError) -> ClientError {
    match err {
        StoreError::Unavailable | StoreError::Io(_) => ClientError::CloudUnavailable,
        other => ClientError::Protocol(format!("cloud: {other}")),
    }
}

/// A flow in progress.
pub(crate) enum Flow {
    Register(register::Register),
    Backup(backup::Backup),
    Restore(restore::Restore),
    Login(login::Login),
    Disable(disable::Disable),
}

impl Flow {
    /// The flow's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Flow::Register(r) => r.name(),
            Flow::Backup(_) => "backup",
            Flow::Restore(_) => "restore with key",
            Flow::Login(_) => "restore with password",
            Flow::Disable(_) => "disable",
        }
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        match self {
            Flow::Register(f) => f.on_vault(response, ctx),
            Flow::Login(f) => f.on_vault(response, ctx),
            Flow::Disable(f) => f.on_vault(response, ctx),
            Flow::Backup(_) | Flow::Restore(_) => Step::protocol(format!(
                "vault answer {} in a cloud-only flow",
                answer_name(&response)
            )),
        }
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        match self {
            Flow::Backup(f) => f.on_cloud(result, ctx),
            Flow::Restore(f) => f.on_cloud(result, ctx),
            Flow::Login(f) => f.on_cloud(result, ctx),
            Flow::Disable(f) => f.on_cloud(result, ctx),
            Flow::Register(_) => Step::protocol("cloud answer in a vault-only flow"),
        }
    }

    /// The request was sent `max_attempts` times without a usable answer.
    pub(crate) fn on_exhausted(&mut self, request: &Request, ctx: &mut Ctx<'_>) -> Step {
        match (self, request) {
            (Flow::Disable(f), Request::Cloud(_)) => f.on_cloud_exhausted(ctx),
            (_, Request::Vault(_)) => Step::Failed(ClientError::VaultUnavailable),
            (_, Request::Cloud(_)) => Step::Failed(ClientError::CloudUnavailable),
        }
    }
}
