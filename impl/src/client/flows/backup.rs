//! Backup: encrypt, store as the next generation, read it back, update the
//! manifest; acknowledge only then.
//!
//! ```text
//! [Get latest                        -> the newest generation  (first backup on a device)]
//! g = max(acknowledged, manifest) + 1
//! Put backups/<g> IfAbsent            -> Put(v)
//! GetVersion backups/<g> v            -> the same bytes       (catches a lost write)
//! Put latest IfVersion(seen)|IfAbsent -> Put(v')              then BackedUp{g}
//! ```
//!
//! # What the client assumes of the cloud, and checks
//! - A put that answers `Ok` may still be lost: the backup is read back by
//!   version and compared byte for byte before anything is acknowledged. A
//!   mismatch or `NotFound` puts it again.
//! - Conditional puts are atomic when the cloud behaves; they make resends
//!   idempotent. `PreconditionFailed` on the backup means its name is taken:
//!   the object is read and compared; if it holds our bytes (an earlier send
//!   succeeded and its answer was lost) the flow goes on, otherwise another
//!   writer has that generation and this backup moves to the next one.
//! - `PreconditionFailed` on the manifest: the manifest is read again. If it
//!   names this generation, an earlier send succeeded; if it names a higher
//!   one, another device is ahead and this backup is re-encrypted as the
//!   generation after it (a backup acknowledged as the newest must be the
//!   newest); if lower, the put is retried on the version just read.
//! - The manifest is only a hint (restores also list the folder, and check
//!   the generation in each backup's authenticated header), so its own
//!   lost writes are not read back.
//! - A cloud that keeps refusing or contradicting itself exhausts the
//!   conflict budget ([`Restarts::backup_conflicts`](crate::client::Restarts))
//!   and the backup fails with `CloudUnavailable`, never with a false
//!   acknowledgement.

use super::{cloud_error, CloudResult, Ctx, Step};
use crate::client::api::{CloudOp, CloudReply, Completed};
use crate::client::error::ClientError;
use crate::client::layout::{backup_key, decode_manifest, encode_manifest, manifest_key};
use crate::cloud::{Precondition, StoreError, Version};
use crate::format::{self, BackupParams, Generation};
use crate::key::BackupKey;
use bytes::Bytes;

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// This device has never seen the manifest: `Get latest` sent to learn
    /// the newest generation before choosing ours.
    Discover,
    /// `Put backups/<g> IfAbsent` sent.
    PutBackup,
    /// The name was taken: `Get backups/<g>` sent to compare.
    CheckTaken,
    /// `GetVersion backups/<g> v` sent to read back.
    Verify,
    /// Manifest put sent.
    PutManifest,
    /// Manifest put refused: `Get latest` sent.
    ReadManifest,
}

/// A backup run.
pub(crate) struct Backup {
    key: BackupKey,
    plaintext: Bytes,
    generation: Generation,
    /// The encrypted file of `generation`.
    file: Bytes,
    phase: Phase,
    conflicts: u32,
    /// Broken variant `BackupIdReused`: the id and nonce prefix drawn first.
    #[cfg(feature = "flaws")]
    flaw_first: Option<(format::BackupId, format::NoncePrefix)>,
}

impl Backup {
    /// Starts a backup of `plaintext` under `key`.
    pub(crate) fn start(key: BackupKey, plaintext: Bytes, ctx: &mut Ctx<'_>) -> (Backup, Step) {
        let mut flow = Backup {
            key,
            plaintext,
            generation: Generation(0),
            file: Bytes::new(),
            phase: Phase::Discover,
            conflicts: 0,
            #[cfg(feature = "flaws")]
            flaw_first: None,
        };
        let step = if ctx.device.manifest_version.is_none() {
            Step::cloud(CloudOp::Get {
                key: manifest_key(ctx.device.user),
            })
        } else {
            flow.encrypt_as(ctx.device.acknowledged, ctx)
        };
        (flow, step)
    }

    /// Encrypts the plaintext as the generation after `after` and puts it.
    fn encrypt_as(&mut self, after: Generation, ctx: &mut Ctx<'_>) -> Step {
        let Some(next) = after.0.checked_add(1) else {
            return Step::protocol("backup generation counter exhausted");
        };
        self.generation = Generation(next);
        let params = BackupParams::new(&mut ctx.rng, self.generation, ctx.config.chunk_size);
        #[cfg(feature = "flaws")]
        let params = if ctx.config.flaw == Some(crate::flaws::ClientFlaw::BackupIdReused) {
            let (id, prefix) = *self
                .flaw_first
                .get_or_insert((params.backup_id, params.nonce_prefix));
            BackupParams::from_parts(self.generation, params.chunk_size, id, prefix)
        } else {
            params
        };
        #[cfg(feature = "flaws")]
        let params = if ctx.config.flaw == Some(crate::flaws::ClientFlaw::SkipLastChunkFlag) {
            params.with_flaw(crate::flaws::FormatFlaw::SkipLastChunkFlag)
        } else {
            params
        };
        self.file = Bytes::from(format::encrypt(&self.key, &params, &self.plaintext));
        self.put_backup(ctx)
    }

    fn put_backup(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.phase = Phase::PutBackup;
        Step::cloud(CloudOp::Put {
            key: backup_key(ctx.device.user, self.generation),
            data: self.file.clone(),
            cond: Precondition::IfAbsent,
        })
    }

    fn put_manifest(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.phase = Phase::PutManifest;
        let named = if crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::ManifestLags) {
            Generation(self.generation.0.saturating_sub(1))
        } else {
            self.generation
        };
        #[allow(unused_mut)]
        let mut manifest = encode_manifest(&self.key, ctx.device.user, named).to_vec();
        #[cfg(feature = "flaws")]
        if ctx.config.flaw == Some(crate::flaws::ClientFlaw::KeyInManifest) {
            // Broken: "for recovery", K rides along in the clear.
            manifest.extend_from_slice(self.key.expose_secret());
        }
        Step::cloud(CloudOp::Put {
            key: manifest_key(ctx.device.user),
            data: Bytes::from(manifest),
            cond: ctx
                .device
                .manifest_version
                .map_or(Precondition::IfAbsent, Precondition::IfVersion),
        })
    }

    /// Counts one conflict; fails the backup when there were too many.
    fn conflict(&mut self, ctx: &Ctx<'_>) -> Result<(), Step> {
        self.conflicts += 1;
        if (self.conflicts > ctx.config.restarts.backup_conflicts
            && !crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::RestartsPastBudget))
            || crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::GivesUpAtFirstConflict)
        {
            Err(Step::Failed(ClientError::CloudUnavailable))
        } else {
            Ok(())
        }
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        match (self.phase, result) {
            (Phase::Discover, Ok(CloudReply::Got(object))) => {
                let newest = decode_manifest(&self.key, user, &object.data).unwrap_or_default();
                ctx.device.manifest_version = Some(object.version);
                self.encrypt_as(newest.max(ctx.device.acknowledged), ctx)
            }
            (Phase::Discover, Err(StoreError::NotFound | StoreError::Corrupt { .. })) => {
                self.encrypt_as(ctx.device.acknowledged, ctx)
            }
            (Phase::PutBackup, Ok(CloudReply::Put(version))) => {
                self.phase = Phase::Verify;
                Step::cloud(CloudOp::GetVersion {
                    key: backup_key(user, self.generation),
                    version,
                })
            }
            (Phase::PutBackup, Err(StoreError::PreconditionFailed { .. })) => {
                self.phase = Phase::CheckTaken;
                Step::cloud(CloudOp::Get {
                    key: backup_key(user, self.generation),
                })
            }
            (Phase::Verify | Phase::CheckTaken, Ok(CloudReply::Got(object)))
                if object.data == self.file =>
            {
                self.put_manifest(ctx)
            }
            (Phase::Verify, Err(StoreError::NotFound))
                if crate::flaws::flaw_on!(
                    ctx.config.flaw,
                    ClientFlaw::ReadbackMissingTakenAsLag
                ) =>
            {
                self.put_manifest(ctx)
            }
            (
                Phase::Verify,
                Ok(CloudReply::Got(_)) | Err(StoreError::NotFound | StoreError::Corrupt { .. }),
            )
            | (Phase::CheckTaken, Err(StoreError::NotFound | StoreError::Corrupt { .. })) => {
                // Lost, or read back damaged: put it again.
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                self.put_backup(ctx)
            }
            (Phase::CheckTaken, Ok(CloudReply::Got(_))) => {
                // Another writer holds this generation: take the next one.
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                self.encrypt_as(self.generation, ctx)
            }
            (Phase::PutManifest, Ok(CloudReply::Put(version))) => self.acknowledge(version, ctx),
            (Phase::PutManifest, Err(StoreError::PreconditionFailed { .. })) => {
                self.phase = Phase::ReadManifest;
                Step::cloud(CloudOp::Get {
                    key: manifest_key(user),
                })
            }
            (Phase::ReadManifest, Ok(CloudReply::Got(object))) => {
                let found = decode_manifest(&self.key, user, &object.data);
                if found == Some(self.generation) || flaw_acknowledged_past_conflict(ctx) {
                    // An earlier send of our manifest put succeeded.
                    return self.acknowledge(object.version, ctx);
                }
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                ctx.device.manifest_version = Some(object.version);
                match found {
                    Some(newer)
                        if newer > self.generation
                            || crate::flaws::flaw_on!(
                                ctx.config.flaw,
                                ClientFlaw::BackupRewritesGeneration
                            ) =>
                    {
                        self.encrypt_as(newer, ctx)
                    }
                    _ => self.put_manifest(ctx),
                }
            }
            (Phase::ReadManifest, Err(StoreError::NotFound)) => {
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                ctx.device.manifest_version = None;
                self.put_manifest(ctx)
            }
            (_, Err(err @ StoreError::TooLarge { .. })) => {
                Step::protocol(format!("the cloud refused the backup: {err}"))
            }
            (_, Err(err)) => Step::Failed(cloud_error(&err)),
            (phase, Ok(reply)) => Step::protocol(format!(
                "cloud answer {} while the backup was at {phase:?}",
                reply_name(&reply)
            )),
        }
    }

    fn acknowledge(&mut self, manifest_version: Version, ctx: &mut Ctx<'_>) -> Step {
        ctx.device.manifest_version = Some(manifest_version);
        ctx.device.acknowledge(self.generation);
        Step::Done(Completed::BackedUp {
            generation: self.generation,
        })
    }
}

/// Broken variant `AcknowledgedPastManifestConflict` (see [`crate::flaws`]).
fn flaw_acknowledged_past_conflict(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(
        ctx.config.flaw,
        ClientFlaw::AcknowledgedPastManifestConflict
    )
}

/// A short name of a cloud reply.
pub(crate) fn reply_name(reply: &CloudReply) -> &'static str {
    match reply {
        CloudReply::Put(_) => "Put",
        CloudReply::Got(_) => "Got",
        CloudReply::Listed(_) => "Listed",
        CloudReply::Deleted => "Deleted",
    }
}
