//! The client's flows against a real vault node and a real in-memory cloud.

use crate::client_common::*;
use backup_vault::client::{ClientError, Completed, Mode, Operation};
use backup_vault::cloud::ObjectKey;
use backup_vault::vault::ids::UserId;

#[test]
fn key_mode_backup_and_restore_round_trip() {
    let mut w = World::new(1);
    let mut phone = w.client(ALICE);
    let text = key_text(&mut w, &mut phone);
    assert_eq!(text.lines().count(), 4, "grid form");
    assert_eq!(text.chars().filter(char::is_ascii_hexdigit).count(), 64);
    assert_eq!(phone.state().mode, Mode::Key);
    assert_eq!(backed_up(w.run(&mut phone, backup(b"first chats"))), 1);
    assert_eq!(backed_up(w.run(&mut phone, backup(b"more chats"))), 2);
    assert!(w.vault_log.is_empty(), "key mode never talks to the vault");

    // A new device with the written-down digits gets the newest backup.
    let mut new_phone = w.client(ALICE);
    let (plain, generation) = restored(w.run(&mut new_phone, restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"more chats"[..], 2));
    assert_eq!(new_phone.state().key, phone.state().key);
    // ...and continues the generations.
    assert_eq!(backed_up(w.run(&mut new_phone, backup(b"third"))), 3);
    let (plain, generation) = restored(w.run(&mut phone, restore_key(&text)));
    assert_eq!((&plain[..], generation), (&b"third"[..], 3));
}

#[test]
fn password_mode_restores_on_a_new_device() {
    let mut w = World::new(2);
    let mut phone = w.client(ALICE);
    assert_eq!(
        w.run(&mut phone, enable_password("correct horse")),
        Ok(Completed::Registered { remaining: 10 })
    );
    assert_eq!(phone.state().mode, Mode::Password);
    assert!(phone.state().registration.is_some());
    assert_eq!(backed_up(w.run(&mut phone, backup(b"my chats"))), 1);

    let mut new_phone = w.client(ALICE);
    let (plain, generation) = restored(w.run(&mut new_phone, restore_password("correct horse")));
    assert_eq!((&plain[..], generation), (&b"my chats"[..], 1));
    assert_eq!(new_phone.state().key, phone.state().key);
    assert_eq!(new_phone.state().mode, Mode::Password);
}

#[test]
fn a_wrong_password_reports_the_guesses_left_and_sends_no_ke3() {
    let mut w = World::new(3);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    w.run(&mut phone, backup(b"x")).unwrap();
    let mut thief = w.client(ALICE);
    let before = w.vault_log.len();
    assert_eq!(
        w.run(&mut thief, restore_password("guess")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
    assert!(
        !w.vault_log[before..]
            .iter()
            .any(|r| matches!(r, Req::LoginFinish { .. })),
        "a wrong password is detected by the client, which sends no KE3"
    );
    assert_eq!(
        w.run(&mut thief, restore_password("guess 2")),
        Err(ClientError::WrongPassword { remaining: 8 })
    );
    // The right password resets the count.
    restored(w.run(&mut thief, restore_password("pw")));
    assert_eq!(
        w.run(&mut thief, restore_password("guess 3")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
}

#[test]
fn ten_wrong_passwords_destroy_the_key() {
    let mut w = World::new(4);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    let mut thief = w.client(ALICE);
    for k in 1..=10u8 {
        assert_eq!(
            w.run(&mut thief, restore_password("nope")),
            Err(ClientError::WrongPassword { remaining: 10 - k })
        );
    }
    assert_eq!(
        w.run(&mut thief, restore_password("pw")),
        Err(ClientError::KeyDestroyed)
    );
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("pw")),
        Err(ClientError::KeyDestroyed)
    );
}

#[test]
fn a_password_change_needs_only_k_and_retires_the_old_password() {
    let mut w = World::new(5);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("old")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    let old_registration = phone.state().registration;
    assert_eq!(
        w.run(
            &mut phone,
            Operation::ChangePassword {
                new_password: "new".into()
            }
        ),
        Ok(Completed::PasswordChanged)
    );
    assert_ne!(phone.state().registration, old_registration);
    let (plain, _) = restored(w.run(&mut w.client(ALICE), restore_password("new")));
    assert_eq!(&plain[..], b"chats");
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("old")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
    // The changed registration keeps working for the next change.
    w.run(
        &mut phone,
        Operation::ChangePassword {
            new_password: "newer".into(),
        },
    )
    .unwrap();
    restored(w.run(&mut w.client(ALICE), restore_password("newer")));
}

#[test]
fn a_device_that_restored_with_the_password_can_change_it() {
    let mut w = World::new(6);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("old")).unwrap();
    w.run(&mut phone, backup(b"chats")).unwrap();
    let mut new_phone = w.client(ALICE);
    restored(w.run(&mut new_phone, restore_password("old")));
    w.run(
        &mut new_phone,
        Operation::ChangePassword {
            new_password: "new".into(),
        },
    )
    .unwrap();
    restored(w.run(&mut w.client(ALICE), restore_password("new")));
}

#[test]
fn disable_deletes_the_record_and_the_backups() {
    let mut w = World::new(7);
    let mut phone = w.client(ALICE);
    w.run(&mut phone, enable_password("pw")).unwrap();
    w.run(&mut phone, backup(b"one")).unwrap();
    w.run(&mut phone, backup(b"two")).unwrap();
    assert_eq!(
        w.run(&mut phone, Operation::Disable),
        Ok(Completed::Disabled {
            not_deleted: vec![],
            listing_failed: false
        })
    );
    assert_eq!(phone.state().mode, Mode::Off);
    assert!(phone.state().key.is_none());
    for name in [
        "users/7/latest",
        "users/7/backups/00000000000000000001",
        "users/7/backups/00000000000000000002",
    ] {
        assert!(
            w.cloud.peek(&ObjectKey::new(name).unwrap()).is_none(),
            "{name}"
        );
    }
    assert_eq!(
        w.run(&mut w.client(ALICE), restore_password("pw")),
        Err(ClientError::NotRegistered)
    );
    assert_eq!(
        w.run(&mut phone, backup(b"three")),
        Err(ClientError::NotEnabled)
    );
}

#[test]
fn operations_that_need_a_key_say_so_and_one_runs_at_a_time() {
    let mut w = World::new(8);
    let mut phone = w.client(ALICE);
    assert_eq!(
        w.run(&mut phone, backup(b"x")),
        Err(ClientError::NotEnabled)
    );
    assert_eq!(
        w.run(
            &mut phone,
            Operation::ChangePassword {
                new_password: "p".into()
            }
        ),
        Err(ClientError::NotEnabled)
    );
    assert_eq!(
        w.run(&mut phone, restore_password("pw")),
        Err(ClientError::NotRegistered)
    );
    assert_eq!(
        w.run(&mut phone, restore_key("0000")),
        Err(ClientError::BadKeyText(
            backup_vault::KeyTextError::WrongLength { found: 4 }
        ))
    );
    key_text(&mut w, &mut phone);
    w.start(&mut phone, backup(b"a"));
    w.start(&mut phone, backup(b"b"));
    let mut outputs = Vec::new();
    while let Some(o) = phone.poll() {
        outputs.push(o);
    }
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, backup_vault::client::Output::Failed(ClientError::Busy))),
        "{outputs:?}"
    );
    assert!(phone.is_busy(), "the first backup still runs");
}

#[test]
fn users_do_not_see_each_others_backups() {
    let mut w = World::new(9);
    let mut alice = w.client(ALICE);
    let mut bob = w.client(UserId(8));
    w.run(&mut alice, enable_password("a")).unwrap();
    w.run(&mut bob, enable_password("b")).unwrap();
    w.run(&mut alice, backup(b"alice's")).unwrap();
    w.run(&mut bob, backup(b"bob's")).unwrap();
    let (plain, _) = restored(w.run(&mut w.client(UserId(8)), restore_password("b")));
    assert_eq!(&plain[..], b"bob's");
    assert_eq!(
        w.run(&mut w.client(UserId(8)), restore_password("a")),
        Err(ClientError::WrongPassword { remaining: 9 })
    );
}

#[test]
fn the_same_seed_gives_the_same_cloud() {
    let run = || {
        let mut w = World::new(10);
        let mut phone = w.client(ALICE);
        w.run(&mut phone, enable_password("pw")).unwrap();
        w.run(&mut phone, backup(b"chats")).unwrap();
        w.cloud
            .objects()
            .map(|o| (o.key.clone(), o.version, o.data.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// A disable follows the vault's authenticated word that its registration
/// is not live and its key lives on in another (`KeyLivesOn`): it takes
/// that registration and deletes it. It ignores such an answer under a tag
/// it cannot check, and follows at most three in one run.
#[test]
fn a_disable_follows_at_most_three_authentic_key_lives_on_answers() {
    use backup_vault::client::{Client, ClientConfig, DeviceState, Output};
    use backup_vault::key::BackupKey;
    use backup_vault::opaque::{FleetSecrets, KsfParams, ReplyKey, ReplyTag};
    use backup_vault::vault::crypto::{RegistrationId, ReplyStatement};
    use backup_vault::vault::ids::Millis;
    use backup_vault::vault::opaque_crypto::user_bytes;
    use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let user = UserId(3);
    let key = BackupKey::generate(&mut rng);
    let fleet = FleetSecrets::generate(&mut rng);
    let config = ClientConfig::new(fleet.public_key(), KsfParams::CHEAP);
    let mut state = DeviceState::new(user);
    state.key = Some(key.clone());
    state.registration = Some(RegistrationId(100));
    state.mode = Mode::Password;
    let mut device = Client::from_state(state, config);
    let now = Millis(0);
    device.start(Operation::Disable, now, &mut rng);

    // The delete the device sends next: its call and the registration named.
    let next = |device: &mut Client| match device.poll() {
        Some(Output::Vault {
            call,
            request: ClientRequest::Delete { registration, .. },
            ..
        }) => Some((call, registration)),
        None => None,
        Some(other) => panic!("unexpected output {other:?}"),
    };
    let lives_on = |registration, live, tag_key: &BackupKey| {
        let statement = ReplyStatement::KeyLivesOn {
            user,
            registration,
            live,
        };
        let tag: ReplyTag = ReplyKey::derive(tag_key, &user_bytes(user)).tag(&statement.to_bytes());
        ClientResponse::KeyLivesOn {
            registration,
            live,
            tag,
        }
    };
    let (mut call, named) = next(&mut device).expect("a delete");
    assert_eq!(named, RegistrationId(100));

    // Under another key's tag: ignored, the device keeps waiting.
    let other = BackupKey::generate(&mut rng);
    device.on_vault(
        call,
        lives_on(RegistrationId(100), RegistrationId(7), &other),
        now,
        &mut rng,
    );
    assert_eq!(next(&mut device), None, "a forged pointer is not followed");

    for hop in 1..=3u64 {
        let (from, to) = (RegistrationId(99 + hop), RegistrationId(100 + hop));
        device.on_vault(call, lives_on(from, to, &key), now, &mut rng);
        assert!(
            matches!(device.poll(), Some(Output::Persist)),
            "the registration taken is saved before its delete goes out"
        );
        let (c, named) = next(&mut device).expect("the live record's delete");
        assert_eq!(named, to);
        assert_eq!(device.state().registration, Some(to));
        call = c;
    }
    device.on_vault(
        call,
        lives_on(RegistrationId(103), RegistrationId(104), &key),
        now,
        &mut rng,
    );
    assert!(
        matches!(
            device.poll(),
            Some(Output::Failed(ClientError::DeleteUnconfirmed))
        ),
        "a fourth pointer ends the run unconfirmed"
    );
    assert!(device.state().key.is_some(), "K is kept");
}

/// A device asks to have its state saved mid-operation only when it names
/// a registration there: a key-mode device's password set-up, once the
/// vault vouched for the staging (in key mode still, before the
/// activation goes out); never in a backup or a disable that names
/// nothing new.
#[test]
fn the_state_is_saved_mid_operation_only_when_a_registration_is_named() {
    let mut w = World::new(21);
    let mut phone = w.client(ALICE);
    let _ = key_text(&mut w, &mut phone);
    assert!(w.persisted.is_empty(), "{:?}", w.persisted);
    let set = w.run(&mut phone, enable_password("a password"));
    assert!(matches!(set, Ok(Completed::Registered { .. })), "{set:?}");
    let named = phone.state().registration;
    assert!(named.is_some());
    assert_eq!(w.persisted.len(), 1, "{:?}", w.persisted);
    assert_eq!(w.persisted[0].registration, named);
    assert_eq!(w.persisted[0].mode, Mode::Key);
    assert_eq!(backed_up(w.run(&mut phone, backup(b"one"))), 1);
    let off = w.run(&mut phone, Operation::Disable);
    assert!(matches!(off, Ok(Completed::Disabled { .. })), "{off:?}");
    assert_eq!(
        w.persisted.len(),
        1,
        "nothing new was named: {:?}",
        w.persisted
    );
}
