//! Enable password mode and change password: an OPAQUE registration, staged
//! then activated (docs/protocol.md s4.2, s4.4).
//!
//! ```text
//! RegistrationStart -> RegistrationResponse{OPAQUE response, ticket}
//!   (finish OPAQUE with the pinned fleet key; wrap K under the export key;
//!    seal {upload, wrapped K, verifier(K, user), ticket,
//!          transcript = (request, response)} to the fleet;
//!    content = digest of the sealed bytes)
//! Stage{sealed, content, replacing}  -> Staged{r, tag}       (tag checked with K)
//! Activate{r, content, proof_K(Activate, r, content)} -> Activated{r, remaining, tag}
//! ```
//!
//! `replacing` names the registration to keep until activation, with a proof
//! of K about it *and the content staged*: for a password change the
//! device's registration (required), for enabling the device's registration
//! if it has one, else nothing (which destroys any active record first,
//! docs/protocol.md s5).
//!
//! # What the client checks
//! `Staged` and `Activated` must carry a tag under the reply key derived
//! from K, over this user, the registration and the *content this device
//! sealed*. So a relay that swaps in another registration (an old one of
//! this user, or its own) is noticed before the device activates anything,
//! and the device reports "registered" or "password changed" only when the
//! vault says, authentically, that this content is active. An answer that
//! does not check out is ignored.
//!
//! # The registration a device names
//! A device names the registration the vault activated for it. One that
//! holds K and names none (key mode) names the staged one already, so
//! that an `Activated` lost cannot leave a record of K its disable never
//! asks about ([`Register::name_if_unnamed`]).
//!
//! # Resends
//! - `RegistrationStart` is stateless at the vault: resending is free.
//! - `Stage` and `Activate` resent after their first send took effect get the
//!   same answer again (the vault recognises the content).
//! - `StaleTicket` (another registration of this account was staged since
//!   the ticket was issued), `ForeignEvaluation` (the registration response
//!   was replaced in transit, so the password file was not made under the
//!   vault's key) and an `Activate` refused because the staging was
//!   displaced restart the registration from `RegistrationStart`, at most
//!   [`Restarts::registration`](crate::client::Restarts) times.

use super::{vault_error, Ctx, Step, VaultResponse};
use crate::client::api::{Completed, Password};
use crate::client::crypto::{prove, seal_registration, verifier, verify_reply};
use crate::client::error::ClientError;
use crate::client::state::Mode;
use crate::key::BackupKey;
use crate::opaque::client::{registration_finish, registration_start, ClientRegistrationState};
use crate::opaque::{wrap_backup_key, RegistrationRequest, SealedToFleet};
use crate::vault::binding::{
    content_digest, user_bytes, RegistrationPayload, RegistrationTranscript,
};
use crate::vault::crypto::{ContentDigest, ProofStatement, RegistrationId, ReplyStatement};
use crate::vault::protocol::{ClientRequest, ClientResponse, Refusal, Replacing};

/// Which operation this registration serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Enable,
    Change,
}

enum Phase {
    /// Waiting for the OPAQUE registration response to the request sent.
    Started(Option<(ClientRegistrationState, RegistrationRequest)>),
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
    sealed: Option<(SealedToFleet, ContentDigest)>,
    /// Registrations to name in `replacing`, tried in order.
    candidates: Vec<RegistrationId>,
    /// Whether staging without `replacing` is allowed once candidates run out.
    allow_fresh: bool,
    restarts: u32,
    /// The tag of the "staged" answer this flow trusted (read only by a
    /// broken variant: a tag vouches for its own statement only).
    staged_tag: Option<crate::opaque::ReplyTag>,
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
            restarts: 0,
            staged_tag: None,
        };
        let step = flow.registration_start(ctx);
        (flow, step)
    }

    fn registration_start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        self.sealed = None;
        match registration_start(
            &mut ctx.rng,
            &user_bytes(user),
            self.password.expose_secret(),
        ) {
            Ok(started) => {
                self.phase = Phase::Started(Some((started.state, started.request.clone())));
                Step::vault(ClientRequest::RegistrationStart {
                    user,
                    request: started.request,
                })
            }
            Err(e) => Step::protocol(format!("registration start: {e}")),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self.purpose {
            Purpose::Enable => "enable password mode",
            Purpose::Change => "change password",
        }
    }

    fn content(&self) -> Option<ContentDigest> {
        self.sealed.as_ref().map(|(_, c)| *c)
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        match (&mut self.phase, response) {
            (Phase::Started(state), ClientResponse::RegistrationResponse(answer)) => {
                if answer.ticket.claims.user != user {
                    return Step::Wait;
                }
                let Some((state, request)) = state.take() else {
                    return Step::Wait;
                };
                let finished = match registration_finish(
                    &mut ctx.rng,
                    state,
                    self.password.expose_secret(),
                    &answer.response,
                    &ctx.config.opaque(),
                ) {
                    Ok(f) => f,
                    Err(e) => return Step::protocol(format!("registration: {e}")),
                };
                let wrapped = wrap_backup_key(
                    &finished.export_key,
                    &user_bytes(user),
                    &self.key,
                    &mut ctx.rng,
                );
                let sealed = seal_registration(
                    &mut ctx.rng,
                    &ctx.config.fleet_key,
                    user,
                    RegistrationPayload {
                        upload: finished.upload,
                        wrapped_key: wrapped,
                        verifier: verifier(&self.key, user),
                        ticket: answer.ticket,
                        transcript: RegistrationTranscript {
                            request,
                            response: answer.response,
                        },
                    },
                );
                let content = content_digest(&sealed);
                self.sealed = Some((sealed, content));
                self.stage(ctx)
            }
            (
                Phase::Staging,
                ClientResponse::Staged {
                    registration, tag, ..
                },
            ) => {
                let Some(content) = self.content() else {
                    return Step::Wait;
                };
                let statement = ReplyStatement::Staged {
                    user,
                    registration,
                    content,
                };
                if !self.trusts(&statement, &tag) {
                    return Step::Wait;
                }
                self.staged_tag = Some(tag);
                self.name_if_unnamed(ctx, registration);
                self.phase = Phase::Activating(registration);
                Step::vault(ClientRequest::Activate {
                    user,
                    registration,
                    content,
                    proof: prove(
                        &self.key,
                        &ProofStatement::Activate {
                            user,
                            registration,
                            content,
                        },
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
                // A change never registers afresh: its registration gone
                // (destroyed by guessing, or displaced) is news the user
                // must hear, not paper over (DEV-2).
                let fresh = self.allow_fresh
                    || crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::ChangeRegistersAfresh);
                if self.candidates.is_empty()
                    && (!fresh
                        || crate::flaws::flaw_on!(
                            ctx.config.flaw,
                            ClientFlaw::EnableGivesUpOnStaleRegistration
                        ))
                {
                    if crate::flaws::flaw_on!(
                        ctx.config.flaw,
                        ClientFlaw::RefusedChangeForgetsRegistration
                    ) {
                        // Broken: the refused registration is forgotten.
                        ctx.device.registration = None;
                    }
                    return Step::Failed(ClientError::NotRegistered);
                }
                self.stage(ctx)
            }
            (
                Phase::Staging,
                ClientResponse::Refused(Refusal::StaleTicket | Refusal::ForeignEvaluation),
            )
            | (
                Phase::Activating(_),
                ClientResponse::Refused(Refusal::UnknownRegistration | Refusal::BadProof),
            ) if self.restarts < ctx.config.restarts.registration
                || crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::RestartsPastBudget) =>
            {
                // Another registration of this account overtook ours (our
                // ticket is used up, or our staging was displaced), or our
                // registration response was replaced in transit: start over.
                self.restarts += 1;
                self.registration_start(ctx)
            }
            (
                Phase::Activating(expected),
                ClientResponse::Activated {
                    registration,
                    remaining,
                    tag,
                },
            ) => {
                let expected = *expected;
                let Some(content) = self.content() else {
                    return Step::Wait;
                };
                let statement = ReplyStatement::Activated {
                    user,
                    registration,
                    content,
                    remaining,
                };
                if registration != expected
                    || !(self.trusts(&statement, &tag) || self.flaw_takes_staged_tag(ctx, &tag))
                {
                    return Step::Wait;
                }
                // Broken: a change keeps the registration it replaced.
                let keep = self.purpose == Purpose::Change
                    && crate::flaws::flaw_on!(
                        ctx.config.flaw,
                        ClientFlaw::ChangeKeepsOldRegistration
                    );
                let device = &mut *ctx.device;
                device.key = Some(self.key.clone());
                if !keep {
                    device.registration = Some(registration);
                }
                device.mode = Mode::Password;
                Step::Done(match self.purpose {
                    Purpose::Enable => Completed::Registered { remaining },
                    Purpose::Change => Completed::PasswordChanged,
                })
            }
            // Answers for another phase, or without a tag that checks out:
            // not ours to act on.
            (
                _,
                ClientResponse::RegistrationResponse(_)
                | ClientResponse::Staged { .. }
                | ClientResponse::Activated { .. },
            ) => Step::Wait,
            (_, other) => Step::Failed(vault_error(&other)),
        }
    }

    /// A device that holds this flow's K and names no registration (key
    /// mode turning password mode on) names the one the vault staged, as
    /// soon as the vault vouched for it. If the `Activated` is then lost,
    /// or the chat server holds the `Activate` back to deliver it later,
    /// a record of K lives or comes to live while the device stays in key
    /// mode: naming it, the device's disable asks the vault to delete it
    /// (directly, or through `KeyLivesOn` once it is replaced), where a
    /// device naming nothing would forget K without asking (REG-2). A
    /// device that names a registration keeps it: its disable finds this
    /// one through `KeyLivesOn`.
    fn name_if_unnamed(&self, ctx: &mut Ctx<'_>, registration: RegistrationId) {
        let holds_key = ctx.device.key.as_ref() == Some(&self.key);
        if holds_key
            && ctx.device.registration.is_none()
            && !crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::StagedLeftUnnamed)
        {
            ctx.device.registration = Some(registration);
        }
    }

    /// Whether `tag` authenticates `statement` under this flow's K.
    fn trusts(&self, statement: &ReplyStatement, tag: &crate::opaque::ReplyTag) -> bool {
        verify_reply(&self.key, statement, tag)
    }

    /// Broken variant `StagedTagTakenForActivation` (see [`crate::flaws`]).
    fn flaw_takes_staged_tag(&self, ctx: &Ctx<'_>, tag: &crate::opaque::ReplyTag) -> bool {
        crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::StagedTagTakenForActivation)
            && self.staged_tag.as_ref() == Some(tag)
    }

    fn stage(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some((sealed, content)) = self.sealed.clone() else {
            return Step::protocol("staging before the registration was sealed");
        };
        let user = ctx.device.user;
        self.phase = Phase::Staging;
        let replacing = self.candidates.first().map(|r| Replacing {
            registration: *r,
            proof: prove(
                &self.key,
                &ProofStatement::Replace {
                    user,
                    active: *r,
                    content,
                },
            ),
        });
        Step::vault(ClientRequest::Stage {
            user,
            sealed,
            content,
            replacing,
        })
    }
}
