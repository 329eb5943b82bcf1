//! Restore with a password: an OPAQUE login gets K from the vault, then the
//! cloud half ([`super::restore`]) runs with it.
//!
//! ```text
//! LoginStart{KE1}  -> Ke2{login, KE2, remaining}      (the guess is spent here, once)
//!   login_finish: a wrong password fails here; no KE3 is sent, and the
//!   error carries the KE2's `remaining`
//! LoginFinish{KE3} -> LoginOk{Seal_session(wrapped K, r, remaining)}
//!   open the seal with the session key, unwrap K with the export key
//! ```
//!
//! # Resends and their cost
//! The flow makes **one** KE1 and sends it for every attempt of this
//! restore. The vault counts a KE1 once (`vault::lockout`): resends after a
//! timeout, `NotLeader` or `Retry`, duplicates, and the restart after
//! `LoginExpired` (a leader change, an expiry, or a lost `LoginOk`) all cost
//! nothing beyond the first. So faults alone spend at most one guess per
//! restore (LOCK-5), and a restore whose password is right never loses its
//! record to faults. The client login state is kept for the restarts; each
//! KE2 is finished on its own.

use super::restore::Restore;
use super::{vault_error, CloudResult, Ctx, Step, VaultResponse};
use crate::client::api::Password;
use crate::client::error::ClientError;
use crate::client::state::Mode;
use crate::opaque::client::{login_finish, login_start, ClientLoginState};
use crate::opaque::{
    open_from_session, unwrap_backup_key, Direction, ExportKey, Ke1, OpaqueError, SessionKey,
};
use crate::vault::binding::user_bytes;
use crate::vault::crypto::RegistrationId;
use crate::vault::protocol::{ClientRequest, ClientResponse};

enum Phase {
    /// `LoginStart` sent.
    Started,
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
    /// The one KE1 of this restore, and the state that finishes it.
    ke1: Ke1,
    state: ClientLoginState,
    phase: Phase,
    restarts: u32,
}

impl Login {
    /// Starts a login with `password`.
    pub(crate) fn start(password: Password, ctx: &mut Ctx<'_>) -> (Option<Login>, Step) {
        let user = ctx.device.user;
        match login_start(&mut ctx.rng, &user_bytes(user), password.expose_secret()) {
            Ok(started) => {
                let step = Step::vault(ClientRequest::LoginStart {
                    user,
                    ke1: started.ke1.clone(),
                });
                let flow = Login {
                    password,
                    ke1: started.ke1,
                    state: started.state,
                    phase: Phase::Started,
                    restarts: 0,
                };
                (Some(flow), step)
            }
            Err(e) => (None, Step::protocol(format!("login start: {e}"))),
        }
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        match (&mut self.phase, response) {
            (
                Phase::Started,
                ClientResponse::Ke2 {
                    login,
                    ke2,
                    remaining,
                },
            ) => match login_finish(
                &mut ctx.rng,
                self.state.clone(),
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
                ClientResponse::LoginOk { sealed_key },
            ) => {
                // Broken variant: the registration the device held, kept.
                let held =
                    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::LoginKeepsRegistration)
                        .then_some(ctx.device.registration)
                        .flatten();
                let user_id = user_bytes(user);
                let opened =
                    open_from_session(session_key, Direction::VaultToClient, &user_id, &sealed_key)
                        .ok()
                        .and_then(|release| {
                            unwrap_backup_key(export_key, &release.wrapped, &user_id)
                                .ok()
                                .map(|key| (key, release.registration))
                        });
                // A device that holds a key keeps it (DEV-1): a different key
                // released for the account is another device's set-up, and
                // taking it would lose the backups only this device's key
                // opens. Compared in constant time (`BackupKey`'s `Eq`).
                let own = ctx.device.key.as_ref();
                let replaces_own = opened
                    .as_ref()
                    .is_some_and(|(key, _)| own.is_some_and(|own| own != key));
                if replaces_own
                    && !crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::RestoreReplacesOwnKey)
                {
                    return Step::Failed(ClientError::KeyDiffers);
                }
                // Not sealed under this login's session: not ours to act on.
                let Some((key, registration)) = opened else {
                    return Step::Wait;
                };
                let device = &mut *ctx.device;
                device.key = Some(key.clone());
                device.registration = Some(RegistrationId(registration));
                device.mode = Mode::Password;
                let (restore, step) = Restore::start(key, Mode::Password, ctx);
                self.phase = Phase::Restoring(restore);
                if let Some(held) = held {
                    ctx.device.registration = Some(held);
                }
                step
            }
            (Phase::Finishing { .. }, ClientResponse::LoginExpired)
                if self.restarts < ctx.config.restarts.login
                    || crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::RestartsPastBudget) =>
            {
                // The same KE1 again: the vault already counted it.
                self.restarts += 1;
                self.phase = Phase::Started;
                Step::vault(ClientRequest::LoginStart {
                    user,
                    ke1: self.ke1.clone(),
                })
            }
            (_, ClientResponse::Ke2 { .. } | ClientResponse::LoginOk { .. }) => Step::Wait,
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
