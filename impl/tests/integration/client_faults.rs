//! The client against a faulty cloud and a lossy network to the vault: what
//! it refuses, what it never acknowledges, and that its resends are safe.

use crate::client_common::*;
use backup_vault::client::{ClientError, CloudOp, Completed};
use backup_vault::cloud::{GetFault, ListFault, ObjectKey, Precondition, PutFault};
use backup_vault::format::Generation;
use backup_vault::key::BackupKey;
use std::cell::Cell;
use std::rc::Rc;

fn name(generation: u64) -> ObjectKey {
    ObjectKey::new(&format!("users/7/backups/{generation:020}")).unwrap()
}

/// Key mode with backups 1..=n of "gen <i>".
fn key_mode_with(n: u64, seed: u64) -> (World, backup_vault::client::Client, String) {
    let mut w = World::new(seed);
    let mut phone = w.client(ALICE);
    let text = key_text(&mut w, &mut phone);
    for i in 1..=n {
        assert_eq!(
            backed_up(w.run(&mut phone, backup(format!("gen {i}").as_bytes()))),
            i
        );
    }
    (w, phone, text)
}

#[test]
fn a_stale_manifest_and_listing_are_refused_by_the_device_that_stored_newer() {
    let (mut w, mut phone, text) = key_mode_with(2, 20);
    // The cloud serves the manifest's first version and hides backup 2.
    w.cloud.hook_mut().get = Some(Box::new(|key, versions| {
        if key.as_str().ends_with("latest") {
            GetFault::Stale(versions[0].version)
        } else {
            GetFault::None
        }
    }));
    w.cloud.hook_mut().list = Some(Box::new(|listing| {
        ListFault::Omit(
            listing
                .iter()
                .enumerate()
                .filter(|(_, i)| i.key.as_str().ends_with("2"))
                .map(|(n, _)| n)
                .collect(),
        )
    }));
    assert_eq!(
        w.run(&mut phone, restore_key(&text)),
        Err(ClientError::StaleBackup {
            found: Generation(1),
            expected_at_least: Generation(2)
        })
    );
    // A new device cannot know better: it gets the newest it can see.
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"gen 1"[..], 1));
}

#[test]
fn an_older_backup_served_under_the_newest_name_is_refused() {
    let (mut w, mut phone, text) = key_mode_with(2, 21);
    let old = w.cloud.peek(&name(1)).unwrap().data;
    w.cloud
        .tamper(&name(2), |bytes| *bytes = old.to_vec())
        .unwrap();
    // The generation comes from the authenticated header, not the name.
    assert_eq!(
        w.run(&mut phone, restore_key(&text)),
        Err(ClientError::StaleBackup {
            found: Generation(1),
            expected_at_least: Generation(2)
        })
    );
}

#[test]
fn a_flipped_bit_is_damage_and_falls_back_only_to_generations_not_older_than_acknowledged() {
    let (mut w, mut phone, text) = key_mode_with(2, 22);
    w.cloud
        .tamper(&name(2), |bytes| {
            let at = bytes.len() / 2;
            bytes[at] ^= 0x10;
        })
        .unwrap();
    // This device stored generation 2: no falling back to 1.
    match w.run(&mut phone, restore_key(&text)) {
        Err(ClientError::BackupDamaged { detail }) => {
            assert!(detail.contains("generation 2"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    // A new device falls back to the newest intact backup.
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"gen 1"[..], 1));
}

#[test]
fn a_bit_flipped_in_transit_is_damage_too() {
    let (mut w, mut phone, text) = key_mode_with(1, 23);
    w.cloud.hook_mut().get = Some(Box::new(|key, _| {
        if key.as_str().contains("backups") {
            GetFault::FlipBit { byte: 200, bit: 3 }
        } else {
            GetFault::None
        }
    }));
    assert!(matches!(
        w.run(&mut phone, restore_key(&text)),
        Err(ClientError::BackupDamaged { .. })
    ));
}

#[test]
fn another_key_is_a_wrong_key_not_damage() {
    let (mut w, _, _) = key_mode_with(1, 24);
    let other = BackupKey::generate(&mut w.rng).to_text();
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_key(&other)),
        Err(ClientError::WrongKey)
    );
    let mut fresh = w.client(ALICE);
    let _ = w.run(&mut fresh, restore_key(&other));
    assert!(fresh.state().key.is_none(), "a key that failed is not kept");
}

#[test]
fn nothing_in_the_cloud_is_no_backup() {
    let mut w = World::new(25);
    let text = BackupKey::generate(&mut w.rng).to_text();
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_key(&text)),
        Err(ClientError::NoBackup)
    );
}

#[test]
fn a_lost_write_is_caught_by_the_read_back_and_written_again() {
    let (mut w, mut phone, text) = key_mode_with(0, 26);
    let lost = Rc::new(Cell::new(0));
    let counter = lost.clone();
    w.cloud.hook_mut().put = Some(Box::new(move |key| {
        if key.as_str().contains("backups") && counter.get() == 0 {
            counter.set(1);
            PutFault::LoseWrite
        } else {
            PutFault::None
        }
    }));
    assert_eq!(backed_up(w.run(&mut phone, backup(b"chats"))), 1);
    assert_eq!(lost.get(), 1);
    assert!(
        w.cloud.peek(&name(1)).is_some(),
        "acknowledged means stored"
    );
    let (plain, _) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!(&plain[..], b"chats");
}

#[test]
fn a_cloud_that_always_loses_writes_gets_no_acknowledgement() {
    let (mut w, mut phone, _) = key_mode_with(1, 27);
    w.cloud.hook_mut().put = Some(Box::new(|_| PutFault::LoseWrite));
    assert_eq!(
        w.run(&mut phone, backup(b"never stored")),
        Err(ClientError::CloudUnavailable)
    );
    assert_eq!(phone.state().acknowledged, Generation(1));
}

#[test]
fn an_unavailable_cloud_exhausts_the_retry_budget() {
    let (mut w, mut phone, text) = key_mode_with(1, 28);
    w.cloud_log.clear();
    w.cloud.hook_mut().get = Some(Box::new(|_, _| GetFault::Unavailable));
    assert_eq!(
        w.run(&mut phone, restore_key(&text)),
        Err(ClientError::CloudUnavailable)
    );
    let gets = w
        .cloud_log
        .iter()
        .filter(|op| matches!(op, CloudOp::Get { .. }))
        .count();
    assert_eq!(gets, w.config.max_attempts as usize);
}

#[test]
fn lost_put_replies_are_resent_idempotently() {
    let (mut w, mut phone, text) = key_mode_with(0, 29);
    // Every first put of each object is stored but its reply is lost.
    let seen = Rc::new(Cell::new(0u32));
    let s = seen.clone();
    w.cloud.hook_mut().put = Some(Box::new(move |_| {
        s.set(s.get() + 1);
        if s.get() % 2 == 1 {
            PutFault::AckLost
        } else {
            PutFault::None
        }
    }));
    assert_eq!(backed_up(w.run(&mut phone, backup(b"chats"))), 1);
    // One stored version of each: the resends were refused by their
    // preconditions and recognised as our own writes.
    assert_eq!(w.cloud.objects().count(), 2);
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"chats"[..], 1));
    assert!(w.cloud_log.iter().any(|op| matches!(
        op,
        CloudOp::Put {
            cond: Precondition::IfAbsent,
            ..
        }
    )));
}

#[test]
fn two_devices_backing_up_keep_generations_increasing() {
    let (mut w, mut phone, text) = key_mode_with(1, 30);
    let mut tablet = w.client(ALICE);
    restored(w.run(&mut tablet, restore_key(&text)));
    assert_eq!(backed_up(w.run(&mut tablet, backup(b"tablet"))), 2);
    // The phone last saw generation 1: its manifest update is refused, it
    // reads the manifest and moves past the tablet's backup.
    assert_eq!(backed_up(w.run(&mut phone, backup(b"phone"))), 3);
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"phone"[..], 3));
}

fn faults(list: &[Option<VaultFault>]) -> std::collections::VecDeque<Option<VaultFault>> {
    list.iter().copied().collect()
}

const LOSE: Option<VaultFault> = Some(VaultFault::DropReply);
const DROP: Option<VaultFault> = Some(VaultFault::DropRequest);

#[test]
fn registration_survives_lost_vault_replies() {
    let mut w = World::new(31);
    let mut phone = w.client(ALICE);
    // RegistrationStart, Stage and Activate each take effect but their
    // first reply is lost; the resent Activate is refused (nothing staged
    // any more) and the client stages again, replacing its own registration.
    w.vault_faults = faults(&[LOSE, None, LOSE, None, DROP, LOSE]);
    assert_eq!(
        w.run(&mut phone, enable_password("pw")),
        Ok(Completed::Registered { remaining: 10 })
    );
    w.run(&mut phone, backup(b"chats")).unwrap();
    // One active record with a full budget, that opens with the password.
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("wrong")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
    let (plain, _) = restored(w.run(&mut w.client(ALICE), restore_password("pw")));
    assert_eq!(&plain[..], b"chats");
    // The device's registration id is the active one: a change works.
    w.run(
        &mut phone,
        backup_vault::client::Operation::ChangePassword {
            new_password: "pw2".into(),
        },
    )
    .unwrap();
    restored(w.run(&mut w.client(ALICE), restore_password("pw2")));
}

#[test]
fn a_password_change_survives_a_lost_activation_reply() {
    let mut w = World::new(32);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("old")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    w.vault_faults = faults(&[None, None, LOSE]);
    assert_eq!(
        w.run(
            &mut phone,
            backup_vault::client::Operation::ChangePassword {
                new_password: "new".into()
            }
        ),
        Ok(Completed::PasswordChanged)
    );
    restored(w.run(&mut w.client(ALICE), restore_password("new")));
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("old")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
}

#[test]
fn login_survives_lost_replies_without_spending_guesses() {
    let mut w = World::new(33);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    // KE2 lost twice for a wrong password: the same KE1 is resent, and the
    // vault counts it once (LOCK-5).
    w.vault_faults = faults(&[LOSE, LOSE]);
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("wrong")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
    // KE2 lost: LoginStart is resent, at no cost.
    w.vault_faults = faults(&[LOSE]);
    restored(w.run(&mut w.client(ALICE), restore_password("pw")));
    // LoginOk lost: the resent KE3 finds the login gone (LoginExpired) and
    // the client restarts the login with the same KE1, at no cost. (How
    // many requests that takes is the retry policy's business; what is
    // tested is that every start of this restore carries one KE1.)
    w.vault_faults = faults(&[None, LOSE]);
    let before = w.vault_log.len();
    let mut tablet = w.client(ALICE);
    let (plain, _) = restored(w.run(&mut tablet, restore_password("pw")));
    assert_eq!(&plain[..], b"chats");
    let ke1s: Vec<_> = w.vault_log[before..]
        .iter()
        .filter_map(|r| match r {
            Req::LoginStart { ke1, .. } => Some(ke1),
            _ => None,
        })
        .collect();
    assert!(
        ke1s.len() >= 2,
        "the login was restarted: {} starts",
        ke1s.len()
    );
    assert!(
        ke1s.windows(2).all(|p| p[0] == p[1]),
        "a restarted login resends its KE1"
    );
    // Successful logins reset the budget; the lost replies spent nothing.
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("wrong")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
}

#[test]
fn an_unreachable_vault_is_reported_after_the_retry_budget() {
    let mut w = World::new(34);
    let mut phone = w.client(ALICE);
    w.vault_faults = faults(&[DROP; 6]);
    assert_eq!(
        w.run(&mut phone, enable_password("pw")),
        Err(ClientError::VaultUnavailable)
    );
    assert_eq!(phone.state().mode, backup_vault::client::Mode::Off);
    assert_eq!(w.vault_log.len(), w.config.max_attempts as usize);
}

#[test]
fn disable_survives_a_lost_delete_reply() {
    let mut w = World::new(35);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    w.vault_faults = faults(&[LOSE]);
    assert!(matches!(
        w.run(&mut phone, backup_vault::client::Operation::Disable),
        Ok(Completed::Disabled { .. })
    ));
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("pw")),
        Err(ClientError::NotRegistered)
    );
}

#[test]
fn answers_to_requests_the_client_moved_past_are_ignored() {
    let mut w = World::new(36);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    let mut tablet = w.client(ALICE);
    w.start(&mut tablet, restore_password("pw"));
    let Some(backup_vault::client::Output::Vault {
        call: first,
        request,
        ..
    }) = tablet.poll()
    else {
        panic!()
    };
    w.time_out(&mut tablet);
    let Some(backup_vault::client::Output::Vault { call: second, .. }) = tablet.poll() else {
        panic!()
    };
    assert!(second > first);
    // Both sends reach the vault; the first answer is taken, the second is stale.
    let a = w.vault(request.clone()).unwrap();
    let b = w.vault(request).unwrap();
    w.feed_vault(&mut tablet, first, a);
    let Some(backup_vault::client::Output::Vault {
        request: finish, ..
    }) = tablet.poll()
    else {
        panic!()
    };
    assert!(matches!(finish, Req::LoginFinish { .. }));
    w.feed_vault(&mut tablet, second, b);
    assert!(tablet.poll().is_none(), "the late KE2 is ignored");
}

#[test]
fn a_forged_manifest_cannot_push_generations_up() {
    let (mut w, mut phone, text) = key_mode_with(1, 31);
    // The cloud rewrites the manifest to name a huge generation (it knows
    // the layout, but not K, so it cannot authenticate it).
    let manifest = ObjectKey::new("users/7/latest").unwrap();
    w.cloud
        .tamper(&manifest, |bytes| {
            bytes[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        })
        .unwrap();
    // A new device ignores the forged manifest and restores generation 1.
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"gen 1"[..], 1));
    // The next backup is generation 2, not u64::MAX + 1.
    assert_eq!(backed_up(w.run(&mut phone, backup(b"after"))), 2);
}

#[test]
fn a_newer_backup_under_another_key_does_not_hide_ours() {
    // Backups 1 and 2 under K; then a backup under another key lands as
    // generation 3 (what a device left behind after backups were turned off
    // and on again with a new key: here another device with its own key).
    let (mut w, mut phone, text) = key_mode_with(2, 27);
    let mut other = w.client(ALICE);
    let _ = key_text(&mut w, &mut other);
    assert_eq!(backed_up(w.run(&mut other, backup(b"other key"))), 3);
    // The device that stored generation 2 gets it back, and so does a new
    // device with K.
    let (plain, generation) = restored(w.run(&mut phone, restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"gen 2"[..], 2));
    let (plain, generation) = restored(w.run(&mut w.client(ALICE), restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"gen 2"[..], 2));
    // Once generation 2 is gone, the device that stored it refuses 1.
    w.cloud.tamper(&name(2), |bytes| bytes.clear()).unwrap();
    assert!(matches!(
        w.run(&mut phone, restore_key(&text)),
        Err(ClientError::BackupDamaged { .. })
    ));
}
