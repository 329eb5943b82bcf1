//! Disable: delete the vault record (with a proof of K about the device's
//! registration), then, best effort, every backup and the manifest.
//!
//! ```text
//! Delete{r, n, p = proof_K(Delete, r, n)} -> Deleted{r, h(p)}  (skipped if no r)
//!                                         |  KeyLivesOn{r, r'}  -> Delete{r', n', ...}
//! List users/<u>/backups/          -> keys
//! Delete <each key>, Delete latest -> Deleted | NotFound
//! ```
//!
//! The vault step must succeed for the operation to go on: the device
//! forgets K only on a `Deleted` whose tag, under the reply key derived from
//! K, says that its registration is gone (deleted now, or already deleted,
//! destroyed or displaced) and that no live record verifies the proof this
//! delete carried. Made with K, that proof verifies under every record of
//! K, so the vault says that no record of K lives. The tag names the proof
//! ([`ReplyStatement::Gone`]), and the proof covers a nonce drawn afresh for
//! each delete: a "gone" the chat server earned with a proof of its own,
//! or kept from an earlier delete of the same registration, does not
//! verify (a resend of the same request repeats the nonce, and gets the
//! same answer). Any other answer, "not registered" included, is
//! unauthenticated and may be forged or stale: the operation fails with
//! `DeleteUnconfirmed` and the device keeps K and its registration, so a
//! client never forgets its key while the vault may still hold a
//! guessable record of it (REG-2).
//!
//! A `KeyLivesOn` whose tag verifies under K says that the registration is
//! not live and that K lives on in another record, one the device may
//! never have heard of (its staging held back by the chat server and
//! delivered later, or its `Activated` lost). The device takes that
//! registration as its own and deletes it: otherwise it could never have
//! its deletion confirmed, and would keep K for good. It follows at most
//! [`MAX_LIVE_HOPS`] such answers in one run. A crash after the vault
//! applied a later delete but before the operation ended leaves the device
//! naming an earlier registration: the vault answers that one "gone" too,
//! under the reply key of K's tombstone, once no record of K lives.
//!
//! A device that names no registration asks the vault nothing. A device
//! in key mode whose password set-up lost its `Activated` names the staged
//! registration all the same (`flows/register.rs`), so its disable asks
//! about it; a phone set up again from the 64 digits names none.
//!
//! Cloud deletions are best effort: what could not be deleted after the retry
//! budget is reported in `Completed::Disabled`. Afterwards the device
//! forgets K and its registration; it keeps its acknowledged generation and
//! the highest one it wrote a name for (`DeviceState::written`), raised to
//! the highest name it listed to delete (another device of K may have
//! written above it), so generations stay increasing, above every deleted
//! name, if backups are turned on again.
//!
//! A disable cut short (a crash after some deletions, before the end) leaves
//! the device with K, in its mode, at its acknowledged generation, while
//! the deleted names are free again. A generation written above the
//! acknowledged one and never acknowledged (a backup interrupted after its
//! put) may be among them, and its bytes stay servable as an older version
//! of that name. Neither the acknowledged generation nor the names written
//! keep the next backup off that generation (the crash lost the
//! interrupted backup's names before its state was saved); what does is
//! the backup's rule that a name it writes has no history but its own: it
//! moves on when the put's version says the name was used before
//! (`flows/backup.rs`, "One generation, one plaintext").

use super::backup::reply_name;
use super::{vault_error, CloudResult, Ctx, Step, VaultResponse};
use crate::client::api::{CloudOp, CloudReply, Completed};
use crate::client::crypto::{proof_digest, prove, verify_reply};
use crate::client::error::ClientError;
use crate::client::layout::{backups_prefix, manifest_key, parse_backup_key};
use crate::client::state::Mode;
use crate::cloud::{ObjectKey, Precondition, StoreError};
use crate::key::BackupKey;
use crate::vault::crypto::{
    DeleteNonce, ProofDigest, ProofStatement, RegistrationId, ReplyStatement, DELETE_NONCE_LEN,
};
use crate::vault::protocol::{ClientRequest, ClientResponse, Refusal};

/// How many `KeyLivesOn` answers one disable follows. Registration ids are
/// never reused, so a chain of them is no loop; a second hop needs a new
/// staging of K between two answers, and a longer chain ends the run as
/// not confirmed, to be tried again.
pub(crate) const MAX_LIVE_HOPS: u32 = 3;

#[derive(Clone, Copy, Debug)]
enum Phase {
    Vault,
    List,
    Delete,
}

/// A disable run.
pub(crate) struct Disable {
    phase: Phase,
    /// Objects still to delete; the last is the one being deleted.
    queue: Vec<ObjectKey>,
    not_deleted: Vec<ObjectKey>,
    listing_failed: bool,
    /// `KeyLivesOn` answers followed in this run.
    live_hops: u32,
    /// The digest of the proof the pending delete carries: the "gone"
    /// that answers it names it.
    proof: Option<ProofDigest>,
}

impl Disable {
    /// Starts disabling.
    pub(crate) fn start(ctx: &mut Ctx<'_>) -> (Disable, Step) {
        let mut flow = Disable {
            phase: Phase::Vault,
            queue: Vec::new(),
            not_deleted: Vec::new(),
            listing_failed: false,
            live_hops: 0,
            proof: None,
        };
        let step = match (ctx.device.registration, ctx.device.key.clone()) {
            (Some(registration), Some(key)) => flow.delete(ctx, registration, &key),
            _ => flow.list(ctx),
        };
        (flow, step)
    }

    fn list(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.phase = Phase::List;
        Step::cloud(CloudOp::List {
            prefix: backups_prefix(ctx.device.user),
        })
    }

    pub(crate) fn on_vault(&mut self, response: VaultResponse, ctx: &mut Ctx<'_>) -> Step {
        let (Some(expected), Some(key)) = (ctx.device.registration, ctx.device.key.as_ref()) else {
            return Step::Wait;
        };
        let user = ctx.device.user;
        match response {
            ClientResponse::Deleted {
                registration,
                proof,
                tag,
            } => {
                let gone = ReplyStatement::Gone {
                    user,
                    registration,
                    proof,
                };
                // Broken variants: its own registration taken for another's;
                // a "gone" about another proof taken as the answer to its own.
                let ours = (registration == expected) != flaw_ignores_own_deletion(ctx);
                let answers_ours = self.proof == Some(proof) || flaw_gone_for_any_proof(ctx);
                if !ours || !answers_ours || !verify_reply(key, &gone, &tag) {
                    return Step::Wait;
                }
                ctx.device.registration = None;
                self.list(ctx)
            }
            ClientResponse::KeyLivesOn {
                registration,
                live,
                tag,
            } => {
                let statement = ReplyStatement::KeyLivesOn {
                    user,
                    registration,
                    live,
                };
                let authentic =
                    verify_reply(key, &statement, &tag) || flaw_unverified_key_lives_on(ctx);
                if registration != expected || !authentic {
                    return Step::Wait;
                }
                if self.live_hops == MAX_LIVE_HOPS {
                    return Step::Failed(ClientError::DeleteUnconfirmed);
                }
                self.live_hops += 1;
                let key = key.clone();
                let step = self.delete(ctx, live, &key);
                ctx.device.registration = Some(live);
                step
            }
            ClientResponse::Refused(Refusal::UnknownRegistration)
            | ClientResponse::NotRegistered
            | ClientResponse::KeyDestroyed
                if flaw_unauthenticated_delete(ctx) =>
            {
                // Broken: forgets K on the vault's unauthenticated word.
                ctx.device.registration = None;
                self.list(ctx)
            }
            ClientResponse::Refused(Refusal::UnknownRegistration)
            | ClientResponse::NotRegistered
            | ClientResponse::KeyDestroyed => Step::Failed(ClientError::DeleteUnconfirmed),
            other => Step::Failed(vault_error(&other)),
        }
    }

    /// The vault request deleting `registration`, with a fresh nonce and
    /// its proof of K; notes the proof the answer must name.
    fn delete(&mut self, ctx: &mut Ctx<'_>, registration: RegistrationId, key: &BackupKey) -> Step {
        let user = ctx.device.user;
        let mut nonce = DeleteNonce([0; DELETE_NONCE_LEN]);
        ctx.rng.fill_bytes(&mut nonce.0);
        let proof = prove(
            key,
            &ProofStatement::Delete {
                user,
                registration,
                nonce,
            },
        );
        self.proof = Some(proof_digest(&proof));
        Step::vault(ClientRequest::Delete {
            user,
            registration,
            nonce,
            proof,
        })
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        match (self.phase, result) {
            (Phase::List, Ok(CloudReply::Listed(infos))) => {
                // Every listed name gets a history: the next backups go
                // above them, whoever wrote them (`DeviceState::written`).
                let user = ctx.device.user;
                if let Some(highest) = infos
                    .iter()
                    .filter_map(|info| parse_backup_key(user, &info.key))
                    .max()
                {
                    if !flaw_forgets_deleted_names(ctx) {
                        ctx.device.write(highest);
                    }
                }
                self.queue.push(manifest_key(ctx.device.user));
                self.queue.extend(infos.into_iter().rev().map(|i| i.key));
                self.next(ctx)
            }
            (Phase::Delete, Ok(CloudReply::Deleted) | Err(StoreError::NotFound)) => {
                self.queue.pop();
                self.next(ctx)
            }
            (Phase::Delete, Err(_)) => self.on_cloud_exhausted(ctx),
            (Phase::List, Err(_)) => self.on_cloud_exhausted(ctx),
            (phase, other) => Step::protocol(format!(
                "cloud answer {} while disabling at {phase:?}",
                other.as_ref().map_or("an error", reply_name)
            )),
        }
    }

    /// The current cloud request got no usable answer: note it and go on.
    pub(crate) fn on_cloud_exhausted(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.phase {
            Phase::List => {
                self.listing_failed = true;
                self.queue.push(manifest_key(ctx.device.user));
            }
            Phase::Delete | Phase::Vault => {
                if let Some(key) = self.queue.pop() {
                    self.not_deleted.push(key);
                }
            }
        }
        self.next(ctx)
    }

    fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.queue.last() {
            Some(key) => {
                self.phase = Phase::Delete;
                Step::cloud(CloudOp::Delete {
                    key: key.clone(),
                    cond: Precondition::Any,
                })
            }
            None => {
                let device = &mut *ctx.device;
                device.key = None;
                device.registration = None;
                device.mode = Mode::Off;
                device.manifest_version = None;
                Step::Done(Completed::Disabled {
                    not_deleted: std::mem::take(&mut self.not_deleted),
                    listing_failed: self.listing_failed,
                })
            }
        }
    }
}

/// Broken variant `DisableForgetsDeletedNames` (see [`crate::flaws`]).
fn flaw_forgets_deleted_names(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::DisableForgetsDeletedNames)
}

/// Broken variant `GoneForAnyProof` (see [`crate::flaws`]).
fn flaw_gone_for_any_proof(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::GoneForAnyProof)
}

/// Broken variant `IgnoresOwnDeletion` (see [`crate::flaws`]).
fn flaw_ignores_own_deletion(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::IgnoresOwnDeletion)
}

/// Broken variant `UnverifiedKeyLivesOn` (see [`crate::flaws`]).
fn flaw_unverified_key_lives_on(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::UnverifiedKeyLivesOn)
}

/// Broken variant `UnauthenticatedDelete` (see [`crate::flaws`]).
fn flaw_unauthenticated_delete(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::UnauthenticatedDelete)
}
