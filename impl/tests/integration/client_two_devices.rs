//! Two devices of one key back up into one folder (LIVE-5, DUR-1).
//!
//! A second phone set up from the first with its 64 digits holds the same
//! K and writes the same names and manifest. Two rules of the backup are
//! there for it (`impl/src/client/flows/backup.rs`):
//! - a backup that meets a name another writer holds reads the manifest and
//!   moves above the generation it names: a device that was put away while
//!   its twin backed up more times than the conflict budget would otherwise
//!   meet their names one by one and fail, the cloud healthy;
//! - a manifest that does not open under K is put over only when two reads
//!   return the same bytes at one version: a read the cloud damaged, taken
//!   for another key's manifest and put over, would send the manifest back
//!   below the twin's newer backup;
//! - a disable raises the device's written floor to the highest name it
//!   listed to delete: turned on again under a new key, its backups start
//!   above the twin's deleted names, each with a history.
//!
//! Each has its twin on a broken variant (`backup-walks-taken-names`,
//! `backup-puts-over-unopened-manifest`, `disable-forgets-deleted-names`);
//! the simulator runs both devices under every fault with
//! `--second-devices`.

use crate::client_common::*;
use backup_vault::client::layout::{decode_manifest, manifest_key};
use backup_vault::client::{CallId, Client, ClientError, CloudOp, Completed, Operation, Output};
use backup_vault::cloud::GetFault;
use backup_vault::flaws::ClientFlaw;
use backup_vault::format::Generation;
use backup_vault::key::BackupKey;

/// A world with `flaw` on the clients, a first phone in key mode with one
/// backup, and a second phone set up from its digits. Returns the world,
/// both phones and the key.
fn two_phones(flaw: Option<ClientFlaw>) -> (World, Client, Client, BackupKey) {
    let mut w = World::new(9);
    w.config.flaw = flaw;
    let mut first = w.client(ALICE);
    let text = key_text(&mut w, &mut first);
    assert_eq!(backed_up(w.run(&mut first, backup(b"first phone, 1"))), 1);
    let mut second = w.client(ALICE);
    let (plaintext, generation) = restored(w.run(&mut second, restore_key(&text)));
    assert_eq!((&plaintext[..], generation), (&b"first phone, 1"[..], 1));
    let key = BackupKey::parse(&text).expect("the digits shown parse");
    (w, first, second, key)
}

/// The generation the user's manifest names, as stored.
fn manifest_names(w: &World, key: &BackupKey) -> Option<Generation> {
    let stored = w.cloud.peek(&manifest_key(ALICE))?;
    decode_manifest(key, ALICE, &stored.data)
}

/// The second phone backs up one more time than the conflict budget, at
/// generations 2 to budget + 2.
fn twin_gets_ahead(w: &mut World, second: &mut Client) {
    let budget = u64::from(w.config.restarts.backup_conflicts);
    for i in 0..=budget {
        let g = backed_up(w.run(second, backup(format!("second, {i}").as_bytes())));
        assert_eq!(g, 2 + i);
    }
}

/// The generation `first` is told its next backup is stored as.
fn next_backup(w: &mut World, first: &mut Client) -> Result<u64, ClientError> {
    w.run(first, backup(b"first phone, again"))
        .map(|done| backed_up(Ok(done)))
}

/// The first phone backs up after the second got ahead of it by more than
/// the conflict budget: with the correct client, at the generation after
/// the second's last, for one conflict.
fn behind_by_more_than_the_budget(flaw: Option<ClientFlaw>) -> Result<u64, ClientError> {
    let (mut w, mut first, mut second, _) = two_phones(flaw);
    twin_gets_ahead(&mut w, &mut second);
    next_backup(&mut w, &mut first)
}

#[test]
fn a_device_its_twin_got_far_ahead_of_backs_up_above_it() {
    let budget = u64::from(World::new(9).config.restarts.backup_conflicts);
    assert_eq!(behind_by_more_than_the_budget(None), Ok(budget + 3));
}

#[test]
fn a_device_its_twin_got_far_ahead_of_fails_on_the_broken_variant() {
    let r = behind_by_more_than_the_budget(Some(ClientFlaw::BackupWalksTakenNames));
    assert_eq!(r, Err(ClientError::CloudUnavailable));
}

/// Drives `client` until it sends a put of the user's manifest, and
/// returns that put unsent.
fn until_manifest_put(w: &mut World, client: &mut Client) -> (CallId, CloudOp) {
    loop {
        match client.poll() {
            Some(Output::Cloud { call, op }) => {
                if matches!(&op, CloudOp::Put { key, .. } if *key == manifest_key(ALICE)) {
                    return (call, op);
                }
                let result = w.cloud_op(op);
                client.on_cloud(call, result, w.now, &mut w.rng);
            }
            Some(Output::Persist) => {}
            other => panic!("expected a cloud call, got {other:?}"),
        }
    }
}

/// The first phone's backup has written its generation and is about to put
/// the manifest when the second phone's backup completes; the first's
/// manifest put is refused, and its read of the manifest comes back with a
/// bit flipped on the way. Returns the generation the first phone is told
/// is stored, the second's, and what the manifest names at the end.
fn a_damaged_read_after_a_refused_put(flaw: Option<ClientFlaw>) -> (u64, u64, Option<Generation>) {
    let (mut w, mut first, mut second, key) = two_phones(flaw);
    w.start(&mut first, backup(b"first phone, 2"));
    let (call, put) = until_manifest_put(&mut w, &mut first);
    let theirs = backed_up(w.run(&mut second, backup(b"second phone, 3")));
    let mut flips = 1;
    w.cloud.hook_mut().get = Some(Box::new(move |name, _| {
        if name.as_str().ends_with("latest") && flips > 0 {
            flips -= 1;
            GetFault::FlipBit { byte: 20, bit: 3 }
        } else {
            GetFault::None
        }
    }));
    let result = w.cloud_op(put);
    first.on_cloud(call, result, w.now, &mut w.rng);
    let ours = backed_up(w.drive(&mut first));
    (ours, theirs, manifest_names(&w, &key))
}

#[test]
fn a_damaged_manifest_read_is_read_again_not_put_over() {
    let (ours, theirs, named) = a_damaged_read_after_a_refused_put(None);
    assert_eq!(theirs, 3, "the second phone took the next generation");
    assert!(ours > theirs, "acknowledged below the newer backup: {ours}");
    assert_eq!(named, Some(Generation(ours)));
}

#[test]
fn a_damaged_manifest_read_is_put_over_on_the_broken_variant() {
    let flaw = Some(ClientFlaw::BackupPutsOverUnopenedManifest);
    let (ours, theirs, named) = a_damaged_read_after_a_refused_put(flaw);
    assert_eq!((ours, theirs), (2, 3));
    assert_eq!(
        named,
        Some(Generation(2)),
        "the manifest went back below the second phone's backup"
    );
}

/// The second phone backs up one more time than the conflict budget; the
/// first phone turns backups off (deleting every name, the second's too),
/// then on again under a new key, and backs up: the generation it is told
/// is stored.
fn backed_up_after_disabling(flaw: Option<ClientFlaw>) -> Result<u64, ClientError> {
    let (mut w, mut first, mut second, _) = two_phones(flaw);
    twin_gets_ahead(&mut w, &mut second);
    let disabled = w.run(&mut first, Operation::Disable);
    assert!(
        matches!(disabled, Ok(Completed::Disabled { .. })),
        "{disabled:?}"
    );
    key_text(&mut w, &mut first);
    next_backup(&mut w, &mut first)
}

#[test]
fn a_disable_keeps_the_next_key_above_every_name_it_deleted() {
    let budget = u64::from(World::new(9).config.restarts.backup_conflicts);
    // Generation 1, then the second phone's 2 to budget + 2, all deleted.
    assert_eq!(backed_up_after_disabling(None), Ok(budget + 3));
}

#[test]
fn a_disable_that_forgets_the_names_it_deleted_fails_the_next_key_on_the_broken_variant() {
    let r = backed_up_after_disabling(Some(ClientFlaw::DisableForgetsDeletedNames));
    assert_eq!(r, Err(ClientError::CloudUnavailable));
}
