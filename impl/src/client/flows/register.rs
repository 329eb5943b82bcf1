//! Enable password mode and change password: an OPAQUE registration, staged
//! then activated (docs/protocol.md s4.2, s4.4).
//!
//! ```text
//! RegistrationStart -> RegistrationResponse
//!   (finish OPAQUE with the pinned fleet key; wrap K under the export key;
//!    seal {upload, wrapped K, verifier(K, user)} to the fleet)
//! Stage{sealed, replacing}  -> Staged{r}
//! Activate{r, proof_K(Activate, r)} -> Activated{remaining}
//! ```
//!
//! `replacing` names the registration to keep until activation, with a proof
//! of K about it: for a password change the device's registration (required),
//! for enabling the device's registration if it has one, else nothing (which
//! destroys any active record first, docs/protocol.md s5).
//!
//! # Resends
//! - `RegistrationStart` is stateless at the vault: resending is free.
//! - `Stage`: each resend that arrives stages another registration, which
//!   replaces the previous staged one; none is guessable before activation
//!   (REG-2), so this is harmless. The client activates the one whose
//!   `Staged` answer it accepted; if a later one displaced it, `Activate` is
//!   refused and the client stages again (below).
//! - `Activate` of a registration already activated (the first send's answer
//!   was lost) is refused as unknown, since nothing is staged any more. The
//!   client cannot tell that from a displaced staging, so on that refusal it
//!   stages again, at most [`MAX_RESTAGES`] times, first with
//!   `replacing = r` (which succeeds exactly when `r` did become active),
//!   then with the original choice. Either way it ends with one active
//!   registration of its own, with a full budget, or an error.

use super::{prove, vault_error, Ctx, Step, VaultResponse};
use crate::client::api::{Completed, Password};
use crate::client::error::ClientError;
use crate::client::state::Mode;
use crate::key::BackupKey;
use crate::opaque::client::{registration_finish, registration_start, ClientRegistrationState};
use crate::opaque::{wrap_backup_key, SealedToFleet};
use crate::vault::crypto::{ProofPurpose, RegistrationId};
use crate::vault::opaque_crypto::{seal_registration, user_bytes, verifier};
use crate::vault::protocol::{ClientRequest, ClientResponse, Refusal};

/// How many times a refused activation leads to staging again.
pub(crate) const MAX_RESTAGES: u32 = 2;

/// Which operation this registration serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Enable,
    Change,
}

enum Phase {
    /// Waiting for the OPAQUE registration response.
    Started(Option<ClientRegistrationState>),
    /// Waiting for `Staged`.
    Staging,
    /// Waiting for `Activated`.
    Activating(RegistrationId),
}

/// An enable-password or change-password run.
pub(crate) struct Register {
    purpose: Purpose,
    password: Password,
    key: BackupKey,
    phase: Phase,
    sealed: Option<SealedToFleet>,
    /// Registrations to name in `replacing`, tried in order.
    candidates: Vec<RegistrationId>,
    /// Whether staging without `replacing` is allowed once candidates run out.
    allow_fresh: bool,
    restages: u32,
}

impl Register {
    /// Starts a registration of `key` behind `password`.
    pub(crate) fn start(
        purpose: Purpose,
        password: Password,
        key: BackupKey,
        ctx: &mut Ctx<'_>,
    ) -> (Register, Step) {
        let candidates = ctx.device.registration.into_iter().collect();
        let mut flow = Register {
            purpose,
            password,
            key,
            phase: Phase::Started(None),
            sealed: None,
            candidates,
            allow_fresh: purpose == Purpose::Enable,
            restages: 0,
        };
        let user = ctx.device.user;
        let step = match registration_start(
            &mut ctx.rng,
            &user_bytes(user),
            flow.password.expose_secret(),
        ) {
            Ok(started) => {
                flow.phase = Phase::Started(Some(started.state));
                Step::vault(ClientRequest::RegistrationStart {
                    user,
                    request: started.request,
                })
            }
            Err(e) => Step::protocol(format!("registration start: {e}")),
        };
        (flow, step)
    }

    pub(crate) fn name(&self) -> &'static str {
        match self.purpose {
            Purpose::Enable => "enable password mode",
            Purpose::Change => "change password",
        }
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        match (&mut self.phase, response) {
            (Phase::Started(state), ClientResponse::RegistrationResponse(response)) => {
                let Some(state) = state.take() else {
                    return Step::protocol("second registration response");
                };
                let finished = match registration_finish(
                    &mut ctx.rng,
                    state,
                    self.password.expose_secret(),
                    &response,
                    &ctx.config.opaque(),
                ) {
                    Ok(f) => f,
                    Err(e) => return Step::protocol(format!("registration: {e}")),
                };
                let user = ctx.device.user;
                let wrapped = wrap_backup_key(
                    &finished.export_key,
                    &user_bytes(user),
                    &self.key,
                    &mut ctx.rng,
                );
                self.sealed = Some(seal_registration(
                    &mut ctx.rng,
                    &ctx.config.fleet_key,
                    user,
                    finished.upload,
                    wrapped,
                    verifier(&self.key, user),
                ));
                self.stage(ctx)
            }
            (Phase::Staging, ClientResponse::Staged { registration, .. }) => {
                self.phase = Phase::Activating(registration);
                Step::vault(ClientRequest::Activate {
                    user: ctx.device.user,
                    registration,
                    proof: prove(
                        &self.key,
                        ctx.device.user,
                        ProofPurpose::Activate,
                        registration,
                    ),
                })
            }
            (
                Phase::Staging,
                ClientResponse::Refused(Refusal::UnknownRegistration | Refusal::BadProof),
            ) if !self.candidates.is_empty() => {
                // The registration named in `replacing` is not active (any
                // more), or is not ours: try the next choice.
                self.candidates.remove(0);
                if self.candidates.is_empty() && !self.allow_fresh {
                    return Step::Failed(ClientError::NotRegistered);
                }
                self.stage(ctx)
            }
            (Phase::Activating(registration), ClientResponse::Activated { remaining }) => {
                let registration = *registration;
                let device = &mut *ctx.device;
                device.key = Some(self.key.clone());
                device.registration = Some(registration);
                device.mode = Mode::Password;
                Step::Done(match self.purpose {
                    Purpose::Enable => Completed::Registered { remaining },
                    Purpose::Change => Completed::PasswordChanged,
                })
            }
            (
                Phase::Activating(registration),
                ClientResponse::Refused(Refusal::UnknownRegistration),
            ) if self.restages < MAX_RESTAGES => {
                // Either an earlier send of this Activate succeeded, or a
                // later Stage displaced ours: see the module documentation.
                self.restages += 1;
                let registration = *registration;
                self.candidates.retain(|r| *r != registration);
                self.candidates.insert(0, registration);
                self.stage(ctx)
            }
            (_, other) => Step::Failed(vault_error(&other)),
        }
    }

    fn stage(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(sealed) = self.sealed.clone() else {
            return Step::protocol("staging before the registration was sealed");
        };
        let user = ctx.device.user;
        self.phase = Phase::Staging;
        let replacing = self
            .candidates
            .first()
            .map(|r| (*r, prove(&self.key, user, ProofPurpose::Replace, *r)));
        Step::vault(ClientRequest::Stage {
            user,
            sealed,
            replacing,
        })
    }
}
