//! The cloud half of a restore: find the newest backup, fetch it, decrypt
//! it with K, and check it is not older than what this device stored.
//!
//! ```text
//! Get latest                     -> manifest generation m (a hint; may be missing or stale)
//! List users/<u>/backups/        -> generations g1 < g2 < ...
//! candidates = {m} + {g}, newest first
//! Get backups/<c>, decrypt       -> Restored{plaintext, generation}
//! ```
//!
//! The folder is listed even when the manifest is there: a stale manifest
//! cannot be recognised otherwise on a new device. Only the generation in
//! the backup's authenticated header counts; names and the manifest only
//! choose what to fetch.
//!
//! # Rules
//! - A backup whose authenticated generation is below the device's
//!   acknowledged generation is refused with `StaleBackup`, and so is a
//!   cloud that offers nothing at least that new: a restore never silently
//!   goes back in time.
//! - A damaged backup (any format error but a wrong key) makes the restore
//!   fall back to the next newest, but never below the acknowledged
//!   generation; if nothing usable is left, `BackupDamaged` names the damage
//!   of the newest.
//! - A backup under another key is passed over like a damaged one (never
//!   below the acknowledged generation): after backups were turned off and
//!   on again with a new K, a backup of the old K that an interrupted
//!   device's late write or a best-effort deletion left behind can carry a
//!   higher generation than every backup under the new one, and must not
//!   hide them. `WrongKey` is the answer only when no backup fitted the key
//!   and none was damaged or too old, so a mistyped key costs a download
//!   of each candidate.
//! - An object listed but gone is skipped.

use super::backup::reply_name;
use super::{cloud_error, CloudResult, Ctx, Step};
use crate::client::api::{CloudOp, CloudReply, Completed};
use crate::client::error::ClientError;
use crate::client::layout::{
    backup_key, backups_prefix, decode_manifest, manifest_key, parse_backup_key,
};
use crate::client::state::Mode;
use crate::cloud::{StoreError, Version};
use crate::format::{self, BackupError, Generation};
use crate::key::BackupKey;
use bytes::Bytes;

#[derive(Clone, Copy, Debug)]
enum Phase {
    Manifest,
    List,
    Fetch(Generation),
}

/// A restore with a known K.
pub(crate) struct Restore {
    key: BackupKey,
    /// The mode the device is in after a successful restore.
    mode: Mode,
    phase: Phase,
    manifest: Option<(Generation, Version)>,
    /// Generations still to try, oldest first (the next is popped from the end).
    candidates: Vec<Generation>,
    /// The damage found in the newest damaged backup.
    damage: Option<String>,
    /// Whether a candidate was a backup under another key.
    wrong_key: bool,
}

impl Restore {
    /// Starts a restore with `key`; on success the device keeps `key` and
    /// switches to `mode` (unless it is already in password mode).
    pub(crate) fn start(key: BackupKey, mode: Mode, ctx: &mut Ctx<'_>) -> (Restore, Step) {
        let flow = Restore {
            key,
            mode,
            phase: Phase::Manifest,
            manifest: None,
            candidates: Vec::new(),
            damage: None,
            wrong_key: false,
        };
        let step = Step::cloud(CloudOp::Get {
            key: manifest_key(ctx.device.user),
        });
        (flow, step)
    }

    pub(crate) fn on_cloud(&mut self, result: CloudResult, ctx: &mut Ctx<'_>) -> Step {
        let user = ctx.device.user;
        match (self.phase, result) {
            (Phase::Manifest, Ok(CloudReply::Got(object))) => {
                self.manifest =
                    decode_manifest(&self.key, user, &object.data).map(|g| (g, object.version));
                self.list(ctx)
            }
            (Phase::Manifest, Err(StoreError::NotFound | StoreError::Corrupt { .. })) => {
                self.list(ctx)
            }
            (Phase::List, Ok(CloudReply::Listed(infos))) => {
                let mut found: Vec<Generation> = infos
                    .iter()
                    .filter_map(|info| parse_backup_key(user, &info.key))
                    .chain(self.manifest.map(|(g, _)| g))
                    .filter(|g| g.0 > 0)
                    .collect();
                found.sort_unstable();
                found.dedup();
                if let Some((named, _)) = self.manifest.filter(|_| {
                    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::RestoreTriesManifestFirst)
                }) {
                    // Broken: the manifest's generation is tried first.
                    found.retain(|g| *g != named);
                    found.push(named);
                }
                if let Some((named, _)) = self.manifest.filter(|_| {
                    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::ManifestOnlyIfListingEmpty)
                }) {
                    // Broken: the manifest's generation only when the
                    // listing names no backup at all.
                    let listed: Vec<Generation> = infos
                        .iter()
                        .filter_map(|info| parse_backup_key(user, &info.key))
                        .filter(|g| g.0 > 0)
                        .collect();
                    if !listed.is_empty() && !listed.contains(&named) {
                        found.retain(|g| *g != named);
                    }
                }
                self.candidates = found;
                self.next(ctx)
            }
            (Phase::Fetch(generation), Ok(CloudReply::Got(object))) => {
                self.open(generation, &object.data, ctx)
            }
            (Phase::Fetch(_), Err(StoreError::NotFound)) => self.next(ctx),
            (Phase::Fetch(generation), Err(err @ StoreError::Corrupt { .. })) => {
                self.note_damage(generation, &err);
                self.next(ctx)
            }
            (_, Err(err)) => Step::Failed(cloud_error(&err)),
            (phase, Ok(reply)) => Step::protocol(format!(
                "cloud answer {} while the restore was at {phase:?}",
                reply_name(&reply)
            )),
        }
    }

    fn list(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.phase = Phase::List;
        Step::cloud(CloudOp::List {
            prefix: backups_prefix(ctx.device.user),
        })
    }

    /// Fetches the newest remaining candidate, or ends.
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let acknowledged = ctx.device.acknowledged;
        match self.candidates.pop() {
            Some(generation) if generation >= acknowledged || flaw_accept_older(ctx) => {
                self.phase = Phase::Fetch(generation);
                Step::cloud(CloudOp::Get {
                    key: backup_key(ctx.device.user, generation),
                })
            }
            found => Step::Failed(match (self.damage.take(), found) {
                (Some(_), _) if flaw_damage_is_no_backup(ctx) => ClientError::NoBackup,
                (Some(detail), _) => ClientError::BackupDamaged { detail },
                (None, Some(found)) => ClientError::StaleBackup {
                    found,
                    expected_at_least: acknowledged,
                },
                (None, None)
                    if self.wrong_key
                        || crate::flaws::flaw_on!(
                            ctx.config.flaw,
                            ClientFlaw::NothingFoundIsWrongKey
                        ) =>
                {
                    ClientError::WrongKey
                }
                (None, None) => ClientError::NoBackup,
            }),
        }
    }

    fn note_damage(&mut self, generation: Generation, detail: &dyn core::fmt::Display) {
        if self.damage.is_none() {
            self.damage = Some(format!("generation {}: {detail}", generation.0));
        }
    }

    fn open(&mut self, generation: Generation, file: &[u8], ctx: &mut Ctx<'_>) -> Step {
        let acknowledged = ctx.device.acknowledged;
        #[allow(unused_mut)]
        let mut options = format::DecryptOptions::default();
        #[cfg(feature = "flaws")]
        if ctx.config.flaw == Some(crate::flaws::ClientFlaw::SkipLastChunkFlag) {
            options = options.with_flaw(crate::flaws::FormatFlaw::SkipLastChunkFlag);
        }
        match format::decrypt_with(&self.key, file, &options) {
            Ok((header, plaintext)) => {
                if header.generation < acknowledged && !flaw_accept_older(ctx) {
                    return Step::Failed(ClientError::StaleBackup {
                        found: header.generation,
                        expected_at_least: acknowledged,
                    });
                }
                if header.generation != generation {
                    self.note_damage(
                        generation,
                        &format_args!(
                            "the object holds generation {} instead",
                            header.generation.0
                        ),
                    );
                    return self.next(ctx);
                }
                let device = &mut *ctx.device;
                device.key = Some(self.key.clone());
                // A restore sets up a device not in password mode; one in
                // password mode stays so (the vault still keeps K).
                if device.mode != Mode::Password
                    || crate::flaws::flaw_on!(
                        ctx.config.flaw,
                        ClientFlaw::KeyRestoreDropsPasswordMode
                    )
                {
                    device.mode = self.mode;
                }
                device.acknowledge(header.generation);
                if let Some((_, version)) = self.manifest {
                    device.manifest_version = Some(version);
                }
                Step::Done(Completed::Restored {
                    plaintext: Bytes::from(plaintext),
                    generation: header.generation,
                })
            }
            Err(BackupError::WrongKey { .. }) => {
                self.wrong_key =
                    !crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::OtherKeyIsNoBackup);
                self.next(ctx)
            }
            Err(err) => {
                self.note_damage(generation, &err);
                self.next(ctx)
            }
        }
    }
}

/// Broken variant `DamageIsNoBackup` (see [`crate::flaws`]).
fn flaw_damage_is_no_backup(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::DamageIsNoBackup)
}

/// Broken variant `AcceptOlderGeneration` (see [`crate::flaws`]).
fn flaw_accept_older(ctx: &Ctx<'_>) -> bool {
    crate::flaws::flaw_on!(ctx.config.flaw, ClientFlaw::AcceptOlderGeneration)
}
