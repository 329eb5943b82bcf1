//! Backup: encrypt, store as the next generation, read it back, update the
//! manifest; acknowledge only then.
//!
//! ```text
//! [Get latest                        -> the newest generation  (first backup on a device)]
//! g = max(acknowledged, written, manifest) + 1
//! Put backups/<g> IfAbsent            -> Put(v)               (v the name's first version)
//!   [taken by another writer: Get latest, g = max(g, manifest) + 1, put again]
//! GetVersion backups/<g> v            -> the same bytes       (catches a lost write)
//! Put latest IfVersion(seen)|IfAbsent -> Put(v')              then BackedUp{g}
//! ```
//!
//! # One generation, one plaintext
//! A restore trusts only the generation in a backup's authenticated header
//! (`flows/restore.rs`), and a cloud may serve any older version of an
//! object, deleted ones included. That is safe only while a generation
//! names one plaintext under K: every version of `backups/<g>` that holds
//! data below the one acknowledged must be this backup's own bytes. A
//! generation above the acknowledged one may have been written before,
//! though: by a backup interrupted before its acknowledgement, or by
//! another device with K; and a disable deletes backups while the device
//! keeps K if it is cut short, or never reaches this device. `IfAbsent`
//! sees only the current version, so a deleted name is free again. The
//! store's versions are what tell (`crate::cloud`: they start at 1 and
//! strictly increase per key across puts and deletes, and are never
//! reused): a put of `backups/<g>` must be answered with the key's first
//! version, or the one after this run's last answered put of it (its own
//! lost write), and a read of it counts as ours only with our bytes at a
//! version no later than that. Anything else is a history that is not
//! ours, and the backup moves to the next generation. Its own bytes left
//! on such a name are never acknowledged as that generation.
//!
//! # Where a backup starts
//! Above every generation the device acknowledged and every one a backup of
//! this device chose for its object
//! ([`DeviceState::written`](crate::client::DeviceState::written)), which
//! the state saved after a failed backup holds too. A backup that failed
//! after its put (the manifest refused) leaves its bytes on its name; a
//! later backup that started at the acknowledged generation again would
//! spend a conflict on each such name, and enough of them would outnumber
//! the budget for good (LIVE-5). Only the names of a run a crash cut short,
//! before the state was saved, are met again, at one conflict each. A
//! restore's floor stays the acknowledged generation alone.
//!
//! One case stays open. The bytes a backup leaves on a name it moved on
//! from stay servable. A device writes only above its own acknowledged
//! generation, so they can lie on a name some device acknowledged only
//! when a second device of the same K, behind the first, writes after a
//! deletion; a restore on the first device may then be served them as
//! that generation.
//!
//! # What the client assumes of the cloud, and checks
//! - A put that answers `Ok` may still be lost: the backup is read back by
//!   version and compared byte for byte before anything is acknowledged. A
//!   mismatch or `NotFound` puts it again.
//! - Conditional puts are atomic when the cloud behaves; they make resends
//!   idempotent. `PreconditionFailed` on the backup means its name is taken:
//!   the object is read and compared; if it holds our bytes (an earlier send
//!   succeeded and its answer was lost) at a version no later than the one
//!   expected the flow goes on, otherwise another writer has that
//!   generation, or ours lies on a deleted one, and this backup moves on:
//!   it reads the manifest and takes the generation after the later of
//!   this one and the one the manifest names. Another device of K may be
//!   more backups ahead than the conflict budget lets a backup meet names
//!   one by one; its manifest says how far.
//! - Versions are never reused, so a put answered with a later version
//!   than expected (see above) is a name with a history, and this backup
//!   moves to the next generation too. One of our own sends whose answer
//!   never came (a lost write, a resend's late twin) can also use a
//!   version up, so a backup may move on needlessly: a conflict spent,
//!   never a generation reused.
//! - `PreconditionFailed` on the manifest: the manifest is read again. If it
//!   names this generation, an earlier send succeeded; if it names a higher
//!   one, another device is ahead and this backup is re-encrypted as the
//!   generation after it (a backup acknowledged as the newest must be the
//!   newest); if lower, the put is retried on the version just read.
//! - A manifest that does not open under K was damaged on the way, or is
//!   another key's. Put over unseen, a damaged read could hide a newer
//!   generation of K, and the manifest would go back below another
//!   device's acknowledged backup; so a backup never takes the version of
//!   a manifest that does not open, and after a refused put it puts over
//!   one only when two reads return the same bytes at the same version.
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
    /// A name was another writer's: `Get latest` sent, to move above the
    /// generation it names rather than one name at a time.
    ReadAhead,
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
    /// The version the next put of `generation` must be answered with: the
    /// key's first, or the one after this run's last answered put of it.
    /// Every version below it that holds data is this run's (see the
    /// module documentation).
    expect: Version,
    /// A manifest read after a refused put that did not open under K: its
    /// version and bytes. Put over only when read again the same.
    unopened: Option<(Version, Bytes)>,
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
            expect: Version::FIRST,
            unopened: None,
            #[cfg(feature = "flaws")]
            flaw_first: None,
        };
        let step = if ctx.device.manifest_version.is_none() {
            Step::cloud(CloudOp::Get {
                key: manifest_key(ctx.device.user),
            })
        } else {
            flow.encrypt_as(floor(ctx), ctx)
        };
        (flow, step)
    }

    /// Encrypts the plaintext as the generation after `after` and puts it.
    fn encrypt_as(&mut self, after: Generation, ctx: &mut Ctx<'_>) -> Step {
        let Some(next) = after.0.checked_add(1) else {
            return Step::protocol("backup generation counter exhausted");
        };
        self.generation = Generation(next);
        // Recorded before the put goes out: a backup that fails after it
        // must not leave the name for the next backup to stumble on.
        ctx.device.write(self.generation);
        self.expect = Version::FIRST;
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
                match decode_manifest(&self.key, user, &object.data) {
                    Some(newest) => {
                        ctx.device.manifest_version = Some(object.version);
                        self.encrypt_as(newest.max(floor(ctx)), ctx)
                    }
                    // Damaged on the way, or another key's: not a version
                    // to put ours over unseen (see `ReadManifest`).
                    None => {
                        if flaw_puts_over_unopened(ctx) {
                            ctx.device.manifest_version = Some(object.version);
                        }
                        self.encrypt_as(floor(ctx), ctx)
                    }
                }
            }
            (Phase::Discover, Err(StoreError::NotFound | StoreError::Corrupt { .. })) => {
                self.encrypt_as(floor(ctx), ctx)
            }
            (Phase::PutBackup, Ok(CloudReply::Put(version)))
                if !self.put_as_expected(version, ctx) =>
            {
                // The name was free but not fresh: a backup of this
                // generation was put and deleted (by a disable, perhaps cut
                // short by a crash so that K lives on), or a write we were
                // never answered for used a version up. A deleted backup's
                // bytes can still be served as an older version, and would
                // open under K as this generation: take the next one, so
                // that a generation never names two plaintexts.
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                self.encrypt_as(self.generation, ctx)
            }
            (Phase::PutBackup, Ok(CloudReply::Put(version))) => {
                self.expect = version.next();
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
            // Our bytes, at a version with nothing but ours below it: the
            // version expected next (a put whose answer was lost) or one we
            // were answered with. Found at a later version, they may sit
            // on top of a deleted backup of this generation (a put answered
            // `PreconditionFailed` never shows its version): below, a
            // read-back puts them again, and a taken name is another
            // writer's.
            (Phase::Verify | Phase::CheckTaken, Ok(CloudReply::Got(object)))
                if object.data == self.file && self.ours_up_to(object.version, ctx) =>
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
                // Another writer holds this generation, or ours lies above
                // a history that is not ours: take a later one. Another
                // device of K may be many backups ahead, more than the
                // conflict budget: the manifest says how far.
                if let Err(step) = self.conflict(ctx) {
                    return step;
                }
                if flaw_walks_taken_names(ctx) {
                    return self.encrypt_as(self.generation, ctx);
                }
                self.phase = Phase::ReadAhead;
                Step::cloud(CloudOp::Get {
                    key: manifest_key(user),
                })
            }
            (Phase::ReadAhead, Ok(CloudReply::Got(object))) => {
                match decode_manifest(&self.key, user, &object.data) {
                    Some(named) => {
                        ctx.device.manifest_version = Some(object.version);
                        self.encrypt_as(named.max(self.generation), ctx)
                    }
                    None => self.encrypt_as(self.generation, ctx),
                }
            }
            (
                Phase::ReadAhead,
                Err(StoreError::NotFound | StoreError::Corrupt { .. } | StoreError::Unavailable),
            ) => self.encrypt_as(self.generation, ctx),
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
                if found.is_none()
                    && !self.read_twice(object.version, &object.data)
                    && !flaw_puts_over_unopened(ctx)
                {
                    // It does not open under K: damaged on the way, or
                    // another key's. Put over, a damaged read could hide a
                    // newer generation of K, so only bytes read the same
                    // twice at one version, another key's, are.
                    self.unopened = Some((object.version, object.data));
                    return Step::cloud(CloudOp::Get {
                        key: manifest_key(user),
                    });
                }
                ctx.device.manifest_version = Some(object.version);
                if flaw_ignores_newer_manifest(ctx) {
                    return self.put_manifest(ctx);
                }
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

    /// Whether a put of `backups/<g>` answered with `version` found the
    /// name fresh: the key's first version, or the one after this run's
    /// last answered put of it (see the module documentation).
    fn put_as_expected(&self, version: Version, ctx: &Ctx<'_>) -> bool {
        version == self.expect || flaw_reuses_deleted_generation(ctx)
    }

    /// Whether the manifest that did not open, read again, is the same
    /// version with the same bytes as the last read that did not open.
    fn read_twice(&self, version: Version, data: &Bytes) -> bool {
        self.unopened
            .as_ref()
            .is_some_and(|(v, d)| *v == version && d == data)
    }

    /// Whether our bytes read at `version` lie on nothing but this run's
    /// own writes: at the version expected next (a put whose answer was
    /// lost) or one this run was answered with.
    fn ours_up_to(&self, version: Version, ctx: &Ctx<'_>) -> bool {
        version <= self.expect || flaw_reuses_deleted_generation(ctx)
    }

    fn acknowledge(&mut self, manifest_version: Version, ctx: &mut Ctx<'_>) -> Step {
        ctx.device.manifest_version = Some(manifest_version);
        ctx.device.acknowledge(self.generation);
        Step::Done(Completed::BackedUp {
            generation: self.generation,
        })
    }
}

/// The generation a backup starts after, unless the manifest names a later
/// one (see the module documentation).
fn floor(ctx: &Ctx<'_>) -> Generation {
    if flaw_starts_at_acknowledged(ctx) {
        return ctx.device.acknowledged;
    }
    ctx.device.backup_floor()
}

/// Broken variant `AcknowledgedPastManifestConflict` (see [`crate::flaws`]).
fn flaw_acknowledged_past_conflict(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(
        ctx.config.flaw,
        ClientFlaw::AcknowledgedPastManifestConflict
    )
}

/// Broken variant `BackupReusesDeletedGeneration` (see [`crate::flaws`]).
fn flaw_reuses_deleted_generation(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::BackupReusesDeletedGeneration)
}

/// Broken variant `BackupWalksTakenNames` (see [`crate::flaws`]).
fn flaw_walks_taken_names(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::BackupWalksTakenNames)
}

/// Broken variant `BackupPutsOverUnopenedManifest` (see [`crate::flaws`]).
fn flaw_puts_over_unopened(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::BackupPutsOverUnopenedManifest)
}

/// Broken variant `BackupIgnoresNewerManifest` (see [`crate::flaws`]).
fn flaw_ignores_newer_manifest(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::BackupIgnoresNewerManifest)
}

/// Broken variant `BackupStartsAtAcknowledged` (see [`crate::flaws`]).
fn flaw_starts_at_acknowledged(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::BackupStartsAtAcknowledged)
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
