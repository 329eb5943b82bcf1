//! Backups that failed leave nothing in a later backup's way (LIVE-5).
//!
//! A backup whose manifest put the cloud keeps refusing fails with its bytes
//! left on `backups/<g>`, above the acknowledged generation. A device that
//! started every backup at the acknowledged generation + 1 met each of those
//! names again as a conflict; once there were more of them than the
//! conflict budget, no backup succeeded again, even with the cloud healed.
//! The device keeps the highest generation it chose a name for
//! (`DeviceState::written`, in the state saved after a failed backup too)
//! and starts above it, while a restore's floor stays the acknowledged
//! generation. The scenario, in key mode: generation 1 acknowledged, then
//! one failed backup more than the budget. Twin on the broken variant
//! `backup-starts-at-acknowledged`.

use crate::client_common::*;
use backup_vault::client::{Client, ClientError, Completed, DeviceState, Operation};
use backup_vault::cloud::{GetFault, PutFault};
use backup_vault::flaws::ClientFlaw;
use backup_vault::format::Generation;

const FIRST: &[u8] = b"generation 1";

/// Runs the scenario with `flaw` on the client and heals the cloud. Returns
/// the world, the key text, and the state the app saved after the last
/// failed backup.
fn after_failed_backups(flaw: Option<ClientFlaw>) -> (World, String, DeviceState) {
    let mut w = World::new(5);
    w.config.flaw = flaw;
    let mut phone = w.client(ALICE);
    let text = key_text(&mut w, &mut phone);
    assert_eq!(backed_up(w.run(&mut phone, backup(FIRST))), 1);

    // The cloud refuses the manifest for a while: each backup writes its
    // generation, then fails.
    w.cloud.hook_mut().put = Some(Box::new(|key| {
        if key.as_str().ends_with("latest") {
            PutFault::Unavailable
        } else {
            PutFault::None
        }
    }));
    let budget = w.config.restarts.backup_conflicts;
    for i in 0..=budget {
        let r = w.run(&mut phone, backup(format!("attempt {i}").as_bytes()));
        assert!(matches!(r, Err(ClientError::CloudUnavailable)), "{r:?}");
    }
    // Every fault heals.
    w.cloud.hook_mut().put = None;
    let saved = phone.state().clone();
    (w, text, saved)
}

/// The highest generation the failed backups wrote: one name each, above
/// the acknowledged generation 1.
fn last_failed(w: &World) -> u64 {
    1 + u64::from(w.config.restarts.backup_conflicts) + 1
}

/// Three backups on an app restarted from `saved`.
fn backups_after_healing(w: &mut World, saved: DeviceState) -> Vec<Result<Completed, ClientError>> {
    let mut phone = Client::from_state(saved, w.config);
    (0..3)
        .map(|_| w.run(&mut phone, backup(b"after healing")))
        .collect()
}

/// Each failed backup wrote a name of its own, and the saved state keeps
/// the highest; the first backup after healing goes above it, with no
/// conflict to spend.
#[test]
fn failed_backups_leave_no_names_in_the_way_of_later_backups() {
    let (mut w, _, saved) = after_failed_backups(None);
    let last = last_failed(&w);
    assert_eq!(saved.acknowledged, Generation(1));
    assert_eq!(saved.written, Generation(last));
    let generations: Vec<u64> = backups_after_healing(&mut w, saved)
        .into_iter()
        .map(backed_up)
        .collect();
    assert_eq!(generations, [last + 1, last + 2, last + 3]);
}

/// The broken variant starts again at the acknowledged generation + 1:
/// every taken name is a conflict, one more than the budget, and no backup
/// succeeds again.
#[test]
fn failed_backups_leave_names_that_block_every_later_backup_on_the_broken_variant() {
    let (mut w, _, saved) = after_failed_backups(Some(ClientFlaw::BackupStartsAtAcknowledged));
    let results = backups_after_healing(&mut w, saved);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(ClientError::CloudUnavailable))),
        "LIVE-5 broken: {results:?}"
    );
}

/// The names written are no promise that anything is stored: a restore
/// served none of the failed backups (gone, as far as it can tell) still
/// accepts the acknowledged generation, and the next backup still starts
/// above the names written.
#[test]
fn a_restore_still_accepts_the_acknowledged_generation() {
    let (mut w, text, saved) = after_failed_backups(None);
    let last = last_failed(&w);
    w.cloud.hook_mut().get = Some(Box::new(|key, _| {
        let first = key.as_str().ends_with(&format!("/backups/{:020}", 1));
        if key.as_str().contains("/backups/") && !first {
            GetFault::Missing
        } else {
            GetFault::None
        }
    }));
    let mut phone = Client::from_state(saved, w.config);
    let (plaintext, generation) = restored(w.run(&mut phone, restore_key(&text)));
    assert_eq!((&plaintext[..], generation), (FIRST, 1));
    assert_eq!(phone.state().written, Generation(last));
    w.cloud.hook_mut().get = None;
    assert_eq!(
        backed_up(w.run(&mut phone, backup(b"after the restore"))),
        last + 1
    );
}

/// A disable keeps the names written, as it keeps the acknowledged
/// generation: with backups on again, under a new key, names stay
/// increasing and none of the deleted ones is met again.
#[test]
fn a_disable_keeps_the_names_written() {
    let (mut w, _, saved) = after_failed_backups(None);
    let last = last_failed(&w);
    let mut phone = Client::from_state(saved, w.config);
    let r = w.run(&mut phone, Operation::Disable);
    assert!(matches!(r, Ok(Completed::Disabled { .. })), "{r:?}");
    assert_eq!(phone.state().written, Generation(last));
    let _ = key_text(&mut w, &mut phone);
    assert_eq!(
        backed_up(w.run(&mut phone, backup(b"backups on again"))),
        last + 1
    );
}
