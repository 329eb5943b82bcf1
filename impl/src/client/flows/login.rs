//! Restore with a password: an OPAQUE login gets K from the vault, then the
//! cloud half ([`super::restore`]) runs with it.
//!
//! ```text
//! LoginStart{KE1}  -> Ke2{login, KE2, remaining}      (the guess is spent here)
//!   login_finish: a wrong password fails here; no KE3 is sent, and the
//!   error carries the KE2's `remaining`
//! LoginFinish{KE3} -> LoginOk{sealed K, r}
//!   open the seal with the session key, unwrap K with the export key
//! ```
//!
//! # Resends and their cost
//! - `LoginStart` is resent (after a timeout, `NotLeader` or `Retry`) only
//!   while no KE2 has been accepted: once one is, the flow has moved on and
//!   answers to the other sends are ignored. **Each `LoginStart` that reaches
//!   the leader costs one guess**, even if its KE2 is lost: a resend after a
//!   timeout may spend a guess the user never sees. `NotLeader` and `Retry`
//!   mean nothing was spent.
//! - `LoginFinish` is resent as is; if the leader forgot the login (a leader
//!   change, expiry, or the first send was consumed), the answer is
//!   `LoginExpired` and the login restarts once, from a new KE1, which costs
//!   another guess.

use super::restore::Restore;
use super::{vault_error, CloudResult, Ctx, Step, VaultResponse};
use crate::client::api::Password;
use crate::client::error::ClientError;
use crate::client::state::Mode;
use crate::opaque::client::{login_finish, login_start, ClientLoginState};
use crate::opaque::{
    open_from_session, unwrap_backup_key, Direction, ExportKey, OpaqueError, SessionKey,
};
use crate::vault::opaque_crypto::user_bytes;
use crate::vault::protocol::{ClientRequest, ClientResponse};

enum Phase {
    /// `LoginStart` sent.
    Started(ClientLoginState),
    /// `LoginFinish` sent.
    Finishing {
        session_key: SessionKey,
        export_key: ExportKey,
    },
    /// K is known; the cloud half runs.
    Restoring(Restore),
}

/// A password restore.
pub(crate) struct Login {
    password: Password,
    phase: Phase,
    restarted: bool,
}

impl Login {
    /// Starts a login with `password`.
    pub(crate) fn start(password: Password, ctx: &mut Ctx<'_>) -> (Option<Login>, Step) {
        match Self::ke1(&password, ctx) {
            Ok((state, step)) => (
                Some(Login {
                    password,
                    phase: Phase::Started(state),
                    restarted: false,
                }),
                step,
            ),
            Err(step) => (None, step),
        }
    }

    fn ke1(password: &Password, ctx: &mut Ctx<'_>) -> Result<(ClientLoginState, Step), Step> {
        let user = ctx.device.user;
        let started = login_start(&mut ctx.rng, &user_bytes(user), password.expose_secret())
            .map_err(|e| Step::protocol(format!("login start: {e}")))?;
        Ok((
            started.state,
            Step::vault(ClientRequest::LoginStart {
                user,
                ke1: started.ke1,
            }),
        ))
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        match (&mut self.phase, response) {
            (
                Phase::Started(state),
                ClientResponse::Ke2 {
                    login,
                    ke2,
                    remaining,
                },
            ) => match login_finish(
                &mut ctx.rng,
                state.clone(),
                self.password.expose_secret(),
                &ke2,
                &ctx.config.opaque(),
            ) {
                Ok(finished) => {
                    self.phase = Phase::Finishing {
                        session_key: finished.session_key,
                        export_key: finished.export_key,
                    };
                    Step::vault(ClientRequest::LoginFinish {
                        user,
                        login,
                        ke3: finished.ke3,
                    })
                }
                Err(OpaqueError::InvalidLogin) => {
                    Step::Failed(ClientError::WrongPassword { remaining })
                }
                Err(e) => Step::protocol(format!("login: {e}")),
            },
            (
                Phase::Finishing {
                    session_key,
                    export_key,
                },
                ClientResponse::LoginOk {
                    sealed_key,
                    registration,
                    ..
                },
            ) => {
                let user_id = user_bytes(user);
                let key =
                    open_from_session(session_key, Direction::VaultToClient, &user_id, &sealed_key)
                        .ok()
                        .and_then(|wrapped| unwrap_backup_key(export_key, &wrapped, &user_id).ok());
                let Some(key) = key else {
                    return Step::protocol("the vault released a key that does not open");
                };
                let device = &mut *ctx.device;
                device.key = Some(key.clone());
                device.registration = Some(registration);
                device.mode = Mode::Password;
                let (restore, step) = Restore::start(key, Mode::Password, ctx);
                self.phase = Phase::Restoring(restore);
                step
            }
            (Phase::Finishing { .. }, ClientResponse::LoginExpired) if !self.restarted => {
                self.restarted = true;
                match Self::ke1(&self.password, ctx) {
                    Ok((state, step)) => {
                        self.phase = Phase::Started(state);
                        step
                    }
                    Err(step) => step,
                }
            }
            (_, other) => Step::Failed(vault_error(&other)),
        }
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        match &mut self.phase {
            Phase::Restoring(restore) => restore.on_cloud(result, ctx),
            _ => Step::protocol("cloud answer during the vault login"),
        }
    }
}
