//! OPAQUE registration and login end to end, client and vault in memory.
//!
//! All with `KsfParams::CHEAP`, except one login with `KsfParams::REALISTIC`.
//! Test names start with `opaque::` so `cargo test -p backup-vault opaque` selects them.

mod opaque {
    use backup_vault::opaque::client::{self, ClientConfig};
    use backup_vault::opaque::{
        open_from_session, seal_for_session, server, unwrap_backup_key, wrap_backup_key, Direction,
        ExportKey, FleetSecrets, Ke3, KsfParams, OpaqueError, PasswordFile, SessionRelease,
    };
    use backup_vault::BackupKey;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const ALICE: &[u8] = b"alice";
    const BOB: &[u8] = b"bob";

    struct World {
        rng: ChaCha20Rng,
        fleet: FleetSecrets,
        config: ClientConfig,
    }

    fn world(seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let fleet = FleetSecrets::generate(&mut rng);
        let config = ClientConfig {
            fleet_key: fleet.public_key(),
            ksf: KsfParams::CHEAP,
        };
        World { rng, fleet, config }
    }

    fn register(w: &mut World, user: &[u8], password: &[u8]) -> (PasswordFile, ExportKey) {
        let start = client::registration_start(&mut w.rng, user, password).unwrap();
        let response = server::registration_start(&w.fleet, user, &start.request).unwrap();
        let done =
            client::registration_finish(&mut w.rng, start.state, password, &response, &w.config)
                .unwrap();
        (server::registration_finish(done.upload), done.export_key)
    }

    #[test]
    fn right_password_logs_in_with_matching_keys_and_k_unwraps() {
        let mut w = world(1);
        let k = BackupKey::generate(&mut w.rng);
        let (record, reg_export) = register(&mut w, ALICE, b"correct horse");
        let wrapped = wrap_backup_key(&reg_export, ALICE, &k, &mut w.rng);

        let start = client::login_start(&mut w.rng, ALICE, b"correct horse").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let done = client::login_finish(
            &mut w.rng,
            start.state,
            b"correct horse",
            &vault.ke2,
            &w.config,
        )
        .unwrap();
        let vault_session = server::login_finish(vault.state, &done.ke3).unwrap();

        assert_eq!(vault_session, done.session_key);
        assert_eq!(
            done.export_key, reg_export,
            "export key is stable across logins"
        );

        // The vault releases the wrapped K under the session key; the client opens it.
        let release = SessionRelease {
            wrapped,
            registration: 3,
            remaining: 10,
        };
        let sealed = seal_for_session(
            &vault_session,
            Direction::VaultToClient,
            ALICE,
            &release,
            &mut w.rng,
        );
        let received =
            open_from_session(&done.session_key, Direction::VaultToClient, ALICE, &sealed).unwrap();
        assert_eq!(received, release);
        assert_eq!(
            unwrap_backup_key(&done.export_key, &received.wrapped, ALICE).unwrap(),
            k
        );
    }

    #[test]
    fn two_logins_give_different_session_keys_and_the_same_export_key() {
        let mut w = world(2);
        let (record, reg_export) = register(&mut w, ALICE, b"pw");
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
            let vault =
                server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1)
                    .unwrap();
            let done = client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &w.config)
                .unwrap();
            assert_eq!(done.export_key, reg_export);
            sessions.push(server::login_finish(vault.state, &done.ke3).unwrap());
        }
        assert_ne!(sessions[0], sessions[1]);
    }

    /// opaque-ke's `ClientLogin::finish` fails with `InvalidLoginError` for a
    /// wrong password (the envelope does not open): the client gets
    /// `InvalidLogin` and never has a KE3 to send. Whatever KE3 an attacker
    /// sends instead, the vault's finish refuses it.
    #[test]
    fn wrong_password_fails_at_the_client_and_no_ke3_passes_the_vault() {
        let mut w = world(3);
        let (record, _) = register(&mut w, ALICE, b"right");
        let start = client::login_start(&mut w.rng, ALICE, b"wrong").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let err = client::login_finish(&mut w.rng, start.state, b"wrong", &vault.ke2, &w.config)
            .unwrap_err();
        assert_eq!(err, OpaqueError::InvalidLogin);

        for forged in [[0u8; 64], [0xa5; 64]] {
            let ke3 = Ke3::from_bytes(&forged).unwrap();
            assert_eq!(
                server::login_finish(vault.state.clone(), &ke3),
                Err(OpaqueError::InvalidLogin)
            );
        }
    }

    #[test]
    fn different_ksf_parameters_at_login_fail_like_a_wrong_password() {
        let mut w = world(4);
        let (record, _) = register(&mut w, ALICE, b"pw");
        let other = ClientConfig {
            ksf: KsfParams {
                m_cost_kib: 16,
                ..KsfParams::CHEAP
            },
            ..w.config
        };
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        assert_eq!(
            client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &other).unwrap_err(),
            OpaqueError::InvalidLogin
        );
    }

    /// REG-1: the vault answers Alice's KE1 under Bob's id or with Bob's record.
    #[test]
    fn another_users_record_or_id_fails_at_the_client() {
        let mut w = world(5);
        let (alice_record, _) = register(&mut w, ALICE, b"same password");
        let (bob_record, _) = register(&mut w, BOB, b"same password");
        let cases: [(&[u8], &PasswordFile); 3] = [
            (BOB, &bob_record),
            (ALICE, &bob_record),
            (BOB, &alice_record),
        ];
        for (served_as, record) in cases {
            let start = client::login_start(&mut w.rng, ALICE, b"same password").unwrap();
            let vault = server::login_start(
                &mut w.rng, &w.fleet, served_as, served_as, record, &start.ke1,
            )
            .unwrap();
            let result = client::login_finish(
                &mut w.rng,
                start.state,
                b"same password",
                &vault.ke2,
                &w.config,
            );
            assert_eq!(result.unwrap_err(), OpaqueError::InvalidLogin);
        }
    }

    /// REG-1: a registration made for Alice but stored as Bob's record (for
    /// example by a misrouting host) never completes a login. Bob's client
    /// cannot open the envelope (it names Alice). A client claiming to be
    /// Alice opens it, but the server's KE2 MAC covers the identity the vault
    /// used (Bob), so that client refuses KE2 too and never makes a KE3.
    #[test]
    fn a_record_registered_for_one_user_never_logs_in_another() {
        let mut w = world(6);
        let start = client::registration_start(&mut w.rng, ALICE, b"pw").unwrap();
        let response = server::registration_start(&w.fleet, BOB, &start.request).unwrap();
        let done =
            client::registration_finish(&mut w.rng, start.state, b"pw", &response, &w.config)
                .unwrap();
        let stored_as_bob = server::registration_finish(done.upload);

        for claimed in [BOB, ALICE] {
            let login = client::login_start(&mut w.rng, claimed, b"pw").unwrap();
            let vault =
                server::login_start(&mut w.rng, &w.fleet, BOB, BOB, &stored_as_bob, &login.ke1)
                    .unwrap();
            assert_eq!(
                client::login_finish(&mut w.rng, login.state, b"pw", &vault.ke2, &w.config)
                    .unwrap_err(),
                OpaqueError::InvalidLogin,
                "client claiming {:?}",
                String::from_utf8_lossy(claimed)
            );
        }
    }

    /// REG-1: the wrapped K is bound to its user.
    #[test]
    fn a_wrapped_key_does_not_unwrap_for_another_user() {
        let mut w = world(7);
        let k = BackupKey::generate(&mut w.rng);
        let (_, export) = register(&mut w, ALICE, b"pw");
        let wrapped = wrap_backup_key(&export, ALICE, &k, &mut w.rng);
        assert!(unwrap_backup_key(&export, &wrapped, BOB).is_err());
    }

    #[test]
    fn per_user_oprf_keys_are_deterministic_and_distinct() {
        let mut w = world(8);
        let start = client::registration_start(&mut w.rng, ALICE, b"pw").unwrap();
        let a1 = server::registration_start(&w.fleet, ALICE, &start.request).unwrap();
        let a2 = server::registration_start(&w.fleet, ALICE, &start.request).unwrap();
        let b = server::registration_start(&w.fleet, BOB, &start.request).unwrap();
        assert_eq!(a1, a2);
        assert_ne!(a1.as_bytes()[..32], b.as_bytes()[..32]);
        // A node restored from the fleet bytes answers identically.
        let restored = FleetSecrets::from_bytes(&w.fleet.to_bytes()).unwrap();
        assert_eq!(
            server::registration_start(&restored, ALICE, &start.request).unwrap(),
            a1
        );
    }

    #[test]
    fn a_wrong_pinned_fleet_key_is_refused_at_registration() {
        let mut w = world(9);
        let impostor = FleetSecrets::generate(&mut w.rng);
        let start = client::registration_start(&mut w.rng, ALICE, b"pw").unwrap();
        let response = server::registration_start(&impostor, ALICE, &start.request).unwrap();
        let err = client::registration_finish(&mut w.rng, start.state, b"pw", &response, &w.config)
            .unwrap_err();
        assert_eq!(
            err,
            OpaqueError::FleetKeyMismatch {
                pinned: w.fleet.public_key(),
                received: impostor.public_key(),
            }
        );
    }

    #[test]
    fn a_wrong_pinned_fleet_key_is_refused_at_login() {
        let mut w = world(10);
        let (record, _) = register(&mut w, ALICE, b"pw");
        let other_pin = ClientConfig {
            fleet_key: FleetSecrets::generate(&mut w.rng).public_key(),
            ..w.config
        };
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let err = client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &other_pin)
            .unwrap_err();
        assert!(
            matches!(err, OpaqueError::FleetKeyMismatch { .. }),
            "{err:?}"
        );

        // Another fleet serving a record from this one: its OPRF key differs,
        // so the envelope does not even open.
        let impostor = FleetSecrets::generate(&mut w.rng);
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &impostor, ALICE, ALICE, &record, &start.ke1).unwrap();
        assert_eq!(
            client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &w.config)
                .unwrap_err(),
            OpaqueError::InvalidLogin
        );
    }

    /// Replaying a captured KE1 gets a fresh KE2 and state each time; the
    /// replayer holds no client state, so it cannot finish, and the genuine
    /// client's KE3 fits only the KE2 it answered.
    #[test]
    fn replayed_ke1_and_ke3_gain_nothing() {
        let mut w = world(11);
        let (record, _) = register(&mut w, ALICE, b"pw");
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let first =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let replayed =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        assert_ne!(first.ke2, replayed.ke2);
        assert_ne!(first.state, replayed.state);

        let done =
            client::login_finish(&mut w.rng, start.state, b"pw", &first.ke2, &w.config).unwrap();
        // The KE3 for the first KE2 fails against the replayed KE1's state ...
        assert_eq!(
            server::login_finish(replayed.state.clone(), &done.ke3),
            Err(OpaqueError::InvalidLogin)
        );
        // ... and succeeds against its own.
        assert_eq!(
            server::login_finish(first.state, &done.ke3).unwrap(),
            done.session_key
        );

        // A KE3 from a finished session fails against any later session.
        let later = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &later.ke1).unwrap();
        assert_eq!(
            server::login_finish(vault.state, &done.ke3),
            Err(OpaqueError::InvalidLogin)
        );
    }

    #[test]
    fn server_login_state_survives_a_round_trip_through_bytes() {
        let mut w = world(12);
        let (record, _) = register(&mut w, ALICE, b"pw");
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let stored = postcard::to_allocvec(&vault.state).unwrap();
        let state = postcard::from_bytes(&stored).unwrap();
        let done =
            client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &w.config).unwrap();
        assert_eq!(
            server::login_finish(state, &done.ke3).unwrap(),
            done.session_key
        );
    }

    #[test]
    fn bad_user_ids_are_refused() {
        let mut w = world(13);
        assert_eq!(
            client::login_start(&mut w.rng, b"", b"pw").unwrap_err(),
            OpaqueError::InvalidUserId { len: 0 }
        );
        let long = [b'x'; 256];
        assert!(matches!(
            client::registration_start(&mut w.rng, &long, b"pw"),
            Err(OpaqueError::InvalidUserId { len: 256 })
        ));
    }

    #[test]
    fn realistic_ksf_login_works() {
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        let fleet = FleetSecrets::generate(&mut rng);
        let mut w = World {
            config: ClientConfig {
                fleet_key: fleet.public_key(),
                ksf: KsfParams::REALISTIC,
            },
            rng,
            fleet,
        };
        let (record, reg_export) = register(&mut w, ALICE, b"pw");
        let start = client::login_start(&mut w.rng, ALICE, b"pw").unwrap();
        let vault =
            server::login_start(&mut w.rng, &w.fleet, ALICE, ALICE, &record, &start.ke1).unwrap();
        let done =
            client::login_finish(&mut w.rng, start.state, b"pw", &vault.ke2, &w.config).unwrap();
        assert_eq!(
            server::login_finish(vault.state, &done.ke3).unwrap(),
            done.session_key
        );
        assert_eq!(done.export_key, reg_export);
    }
}
