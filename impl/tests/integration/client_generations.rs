//! A backup generation is never written twice under one key, even after a
//! deletion freed its name: the client's defence against a cloud that
//! serves older versions is the generation in the authenticated header,
//! which holds only while one (K, generation) names one plaintext.
//!
//! The scenario, in key mode (no vault step): generation 1 is acknowledged;
//! a backup writes generation 2 and the device crashes before it is
//! acknowledged; a disable deletes every backup and the manifest and the
//! device crashes before it finishes, so it keeps K and its acknowledged
//! generation 1; the next backup finds `backups/2` free again (only a
//! tombstone stands on it). A restore is then served the oldest version of
//! every backup object it reads.

use crate::client_common::*;
use backup_vault::client::{Client, ClientError, CloudOp, Completed, Operation, Output};
use backup_vault::cloud::{GetFault, ObjectKey, PutFault};
use backup_vault::flaws::ClientFlaw;
use std::cell::Cell;
use std::rc::Rc;

/// The backup the device crashed in, never acknowledged.
const UNACKNOWLEDGED: &[u8] = b"written as generation 2, never acknowledged";
/// The backup after the cut-short disable, acknowledged.
const LATEST: &[u8] = b"the newest backup the user was told is stored";

fn name(generation: u64) -> ObjectKey {
    ObjectKey::new(&format!("users/7/backups/{generation:020}")).unwrap()
}

/// Carries out `op` on `client` until `crash` says so of a cloud operation
/// just carried out; its answer never reaches the client, which the caller
/// then drops, as a crashed device's app process is.
fn run_until_crash(
    w: &mut World,
    client: &mut Client,
    op: Operation,
    mut crash: impl FnMut(&CloudOp) -> bool,
) {
    w.start(client, op);
    for _ in 0..1_000 {
        match client.poll() {
            Some(Output::Cloud { call, op }) => {
                let result = w.cloud_op(op.clone());
                if crash(&op) {
                    return;
                }
                client.on_cloud(call, result, w.now, &mut w.rng);
            }
            other => panic!("key mode asks only the cloud until the crash, got {other:?}"),
        }
    }
    panic!("the crash never came");
}

/// Runs the scenario with `flaw` on the client. With `ack_lost`, the new
/// backup's first put of `backups/2` is carried out but its answer lost, so
/// the client sees `PreconditionFailed` on the resend and reads its own
/// bytes back instead of a put's version. Returns the generation the new
/// backup was acknowledged as, and the restore's result.
fn reused_name(
    flaw: Option<ClientFlaw>,
    ack_lost: bool,
    seed: u64,
) -> (u64, Result<Completed, ClientError>) {
    let mut w = World::new(seed);
    w.config.flaw = flaw;
    let mut phone = w.client(ALICE);
    let text = key_text(&mut w, &mut phone);
    assert_eq!(backed_up(w.run(&mut phone, backup(b"generation 1"))), 1);
    // What the device keeps: saved after every completed operation.
    let saved = phone.state().clone();

    run_until_crash(
        &mut w,
        &mut phone,
        backup(UNACKNOWLEDGED),
        |op| matches!(op, CloudOp::Put { key, .. } if *key == name(2)),
    );
    assert!(w.cloud.peek(&name(2)).is_some(), "generation 2 was written");
    let mut phone = Client::from_state(saved.clone(), w.config);

    run_until_crash(
        &mut w,
        &mut phone,
        Operation::Disable,
        |op| matches!(op, CloudOp::Delete { key, .. } if key.as_str().ends_with("latest")),
    );
    assert_eq!(w.cloud.objects().count(), 3, "deleted, not forgotten");
    for key in [name(1), name(2), ObjectKey::new("users/7/latest").unwrap()] {
        assert!(w.cloud.peek(&key).is_none(), "{key} was deleted");
    }
    let mut phone = Client::from_state(saved, w.config);

    if ack_lost {
        let once = Rc::new(Cell::new(true));
        w.cloud.hook_mut().put = Some(Box::new(move |key| {
            if *key == name(2) && once.replace(false) {
                PutFault::AckLost
            } else {
                PutFault::None
            }
        }));
    }
    let generation = backed_up(w.run(&mut phone, backup(LATEST)));
    w.cloud.hook_mut().put = None;

    w.cloud.hook_mut().get = Some(Box::new(|key, versions| {
        if key.as_str().contains("/backups/") {
            GetFault::Stale(versions[0].version)
        } else {
            GetFault::None
        }
    }));
    let restored = w.run(&mut phone, restore_key(&text));
    (generation, restored)
}

/// The new backup finds `backups/2` answered with a later version than a
/// fresh name's (or its own bytes there above a version it cannot account
/// for) and moves to generation 3: the restore, served the oldest version of
/// every backup, returns what the user was told is stored.
#[test]
fn a_generation_a_cut_short_disable_deleted_is_not_written_again() {
    for ack_lost in [false, true] {
        let (generation, result) = reused_name(None, ack_lost, 61);
        assert_eq!(generation, 3, "ack_lost {ack_lost}");
        let (plaintext, generation) = restored(result);
        assert_eq!(
            (&plaintext[..], generation),
            (LATEST, 3),
            "ack_lost {ack_lost}"
        );
    }
}

/// The broken variant writes generation 2 again with other bytes, so the
/// restore returns bytes the user never backed up as generation 2 (FMT-1).
#[test]
fn a_reused_deleted_generation_restores_other_bytes_on_the_broken_variant() {
    for ack_lost in [false, true] {
        let (generation, result) = reused_name(
            Some(ClientFlaw::BackupReusesDeletedGeneration),
            ack_lost,
            61,
        );
        assert_eq!(generation, 2, "ack_lost {ack_lost}");
        let (plaintext, generation) = restored(result);
        assert_eq!(
            (&plaintext[..], generation),
            (UNACKNOWLEDGED, 2),
            "ack_lost {ack_lost}"
        );
    }
}
