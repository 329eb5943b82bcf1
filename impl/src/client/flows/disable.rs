//! Disable: delete the vault record (with a proof of K about the device's
//! registration), then, best effort, every backup and the manifest.
//!
//! ```text
//! Delete{r, proof_K(Delete, r)}    -> Deleted            (skipped in key mode)
//! List users/<u>/backups/          -> keys
//! Delete <each key>, Delete latest -> Deleted | NotFound
//! ```
//!
//! The vault step must succeed (or find the registration already gone) for
//! the operation to go on: a vault error fails the operation and leaves the
//! device as it was. Cloud deletions are best effort: what could not be
//! deleted after the retry budget is reported in `Completed::Disabled`. A
//! resent `Delete` whose first send succeeded is refused as naming an unknown
//! registration, which is the outcome wanted, so that refusal counts as done.
//! Afterwards the device forgets K and its registration; it keeps its
//! acknowledged generation, so generations stay increasing if backups are
//! turned on again.

use super::backup::reply_name;
use super::{prove, vault_error, CloudResult, Ctx, Step, VaultResponse};
use crate::client::api::{CloudOp, CloudReply, Completed};
use crate::client::layout::{backups_prefix, manifest_key};
use crate::client::state::Mode;
use crate::cloud::{ObjectKey, Precondition, StoreError};
use crate::vault::crypto::ProofPurpose;
use crate::vault::protocol::{ClientRequest, ClientResponse, Refusal};

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
}

impl Disable {
    /// Starts disabling.
    pub(crate) fn start(ctx: &mut Ctx<'_>) -> (Disable, Step) {
        let mut flow = Disable {
            phase: Phase::Vault,
            queue: Vec::new(),
            not_deleted: Vec::new(),
            listing_failed: false,
        };
        let step = match (ctx.device.registration, &ctx.device.key) {
            (Some(registration), Some(key)) => Step::vault(ClientRequest::Delete {
                user: ctx.device.user,
                registration,
                proof: prove(key, ctx.device.user, ProofPurpose::Delete, registration),
            }),
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
        match response {
            ClientResponse::Deleted
            | ClientResponse::Refused(Refusal::UnknownRegistration)
            | ClientResponse::NotRegistered
            | ClientResponse::KeyDestroyed => {
                ctx.device.registration = None;
                self.list(ctx)
            }
            other => Step::Failed(vault_error(&other)),
        }
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        match (self.phase, result) {
            (Phase::List, Ok(CloudReply::Listed(infos))) => {
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
