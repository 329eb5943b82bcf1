//! Every OPAQUE-module decoder on untrusted bytes: typed errors, never a panic.
//!
//! Test names start with `opaque::` so `cargo test -p backup-vault opaque` selects them.

mod opaque {
    use backup_vault::opaque::client::{self, ClientConfig};
    use backup_vault::opaque::messages::{
        KE1_LEN, KE2_LEN, KE3_LEN, PASSWORD_FILE_LEN, REGISTRATION_REQUEST_LEN,
        REGISTRATION_RESPONSE_LEN, REGISTRATION_UPLOAD_LEN, SERVER_LOGIN_STATE_LEN,
    };
    use backup_vault::opaque::to_fleet::SEALED_TO_FLEET_LEN;
    use backup_vault::opaque::{
        seal_to_fleet, server, wrap_backup_key, DecodeError, FleetPublicKey, FleetSecrets, Ke1,
        Ke2, Ke3, KeyProof, KsfParams, PasswordFile, ProofOfKeyVerifier, RegistrationRequest,
        RegistrationResponse, RegistrationUpload, SealedToFleet, ServerLoginState,
        SessionSealedKey, WrappedKey,
    };
    use backup_vault::BackupKey;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::sync::OnceLock;

    /// One valid encoding of each type, made by a real run.
    struct Samples {
        all: Vec<(&'static str, Vec<u8>)>,
    }

    fn samples() -> &'static Samples {
        static SAMPLES: OnceLock<Samples> = OnceLock::new();
        SAMPLES.get_or_init(|| {
            let rng = &mut ChaCha20Rng::seed_from_u64(99);
            let fleet = FleetSecrets::generate(rng);
            let config = ClientConfig {
                fleet_key: fleet.public_key(),
                ksf: KsfParams::CHEAP,
            };
            let reg = client::registration_start(rng, b"u", b"pw").unwrap();
            let response = server::registration_start(&fleet, b"u", &reg.request).unwrap();
            let done =
                client::registration_finish(rng, reg.state, b"pw", &response, &config).unwrap();
            let wrapped = wrap_backup_key(&done.export_key, b"u", &BackupKey::generate(rng), rng);
            let record = server::registration_finish(done.upload.clone());
            let login = client::login_start(rng, b"u", b"pw").unwrap();
            let vault = server::login_start(rng, &fleet, b"u", b"u", &record, &login.ke1).unwrap();
            let fin = client::login_finish(rng, login.state, b"pw", &vault.ke2, &config).unwrap();
            let sealed = backup_vault::opaque::seal_for_session(
                &fin.session_key,
                backup_vault::opaque::Direction::VaultToClient,
                b"u",
                &backup_vault::opaque::SessionRelease {
                    wrapped: wrapped.clone(),
                    registration: 7,
                    remaining: 10,
                },
                rng,
            );
            let verifier = ProofOfKeyVerifier::derive(&BackupKey::generate(rng), b"u");
            let proof = verifier.prove(b"u", b"c", b"r");
            let sealed_to_fleet =
                seal_to_fleet(rng, &fleet.public_key(), b"u", record.as_bytes()).unwrap();
            Samples {
                all: vec![
                    ("registration request", reg.request.as_bytes().to_vec()),
                    ("registration response", response.as_bytes().to_vec()),
                    ("registration upload", done.upload.as_bytes().to_vec()),
                    ("password file", record.as_bytes().to_vec()),
                    ("KE1", login.ke1.as_bytes().to_vec()),
                    ("KE2", vault.ke2.as_bytes().to_vec()),
                    ("KE3", fin.ke3.as_bytes().to_vec()),
                    ("server login state", vault.state.as_bytes().to_vec()),
                    ("fleet secrets", fleet.to_bytes().to_vec()),
                    ("fleet public key", fleet.public_key().as_bytes().to_vec()),
                    ("wrapped key", wrapped.as_bytes().to_vec()),
                    ("session-sealed key", sealed.as_bytes().to_vec()),
                    ("verifier", verifier.expose_secret().to_vec()),
                    ("proof", proof.as_bytes().to_vec()),
                    ("sealed to fleet", sealed_to_fleet.as_bytes().to_vec()),
                ],
            }
        })
    }

    /// A fleet and a record for user `u`, password `pw`.
    fn registered() -> &'static (FleetSecrets, ClientConfig, PasswordFile) {
        static REGISTERED: OnceLock<(FleetSecrets, ClientConfig, PasswordFile)> = OnceLock::new();
        REGISTERED.get_or_init(|| {
            let rng = &mut ChaCha20Rng::seed_from_u64(7);
            let fleet = FleetSecrets::generate(rng);
            let config = ClientConfig {
                fleet_key: fleet.public_key(),
                ksf: KsfParams::CHEAP,
            };
            let reg = client::registration_start(rng, b"u", b"pw").unwrap();
            let response = server::registration_start(&fleet, b"u", &reg.request).unwrap();
            let done =
                client::registration_finish(rng, reg.state, b"pw", &response, &config).unwrap();
            (fleet, config, server::registration_finish(done.upload))
        })
    }

    /// Runs the named decoder directly and through serde (postcard); checks
    /// both agree. `Ok(())` if the bytes decode.
    fn decode(name: &str, bytes: &[u8]) -> Result<(), DecodeError> {
        fn both<T: serde::de::DeserializeOwned>(
            bytes: &[u8],
            direct: Result<T, DecodeError>,
        ) -> Result<(), DecodeError> {
            let wire = postcard::to_allocvec(&serde_bytes_like(bytes)).unwrap();
            let via_serde = postcard::from_bytes::<T>(&wire);
            assert_eq!(
                direct.is_ok(),
                via_serde.is_ok(),
                "serde and from_bytes disagree"
            );
            direct.map(|_| ())
        }
        match name {
            "registration request" => both(bytes, RegistrationRequest::from_bytes(bytes)),
            "registration response" => both(bytes, RegistrationResponse::from_bytes(bytes)),
            "registration upload" => both(bytes, RegistrationUpload::from_bytes(bytes)),
            "password file" => both(bytes, PasswordFile::from_bytes(bytes)),
            "KE1" => both(bytes, Ke1::from_bytes(bytes)),
            "KE2" => both(bytes, Ke2::from_bytes(bytes)),
            "KE3" => both(bytes, Ke3::from_bytes(bytes)),
            "server login state" => both(bytes, ServerLoginState::from_bytes(bytes)),
            "fleet secrets" => FleetSecrets::from_bytes(bytes).map(|_| ()),
            "fleet public key" => both(bytes, FleetPublicKey::from_bytes(bytes)),
            "wrapped key" => both(bytes, WrappedKey::from_bytes(bytes)),
            "session-sealed key" => both(bytes, SessionSealedKey::from_bytes(bytes)),
            "verifier" => both(bytes, ProofOfKeyVerifier::from_bytes(bytes)),
            "proof" => both(bytes, KeyProof::from_bytes(bytes)),
            "sealed to fleet" => both(bytes, SealedToFleet::from_bytes(bytes)),
            other => panic!("no decoder named {other}"),
        }
    }

    /// Serializes as a serde byte string, as our types do.
    fn serde_bytes_like(bytes: &[u8]) -> impl serde::Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl serde::Serialize for B<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(bytes)
    }

    #[test]
    fn lengths_are_as_documented() {
        let expected = [
            ("registration request", REGISTRATION_REQUEST_LEN),
            ("registration response", REGISTRATION_RESPONSE_LEN),
            ("registration upload", REGISTRATION_UPLOAD_LEN),
            ("password file", PASSWORD_FILE_LEN),
            ("KE1", KE1_LEN),
            ("KE2", KE2_LEN),
            ("KE3", KE3_LEN),
            ("server login state", SERVER_LOGIN_STATE_LEN),
        ];
        for (name, len) in expected {
            let (_, bytes) = samples().all.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(bytes.len(), len, "{name}");
        }
    }

    #[test]
    fn valid_samples_decode_and_every_truncation_or_extension_is_wrong_length() {
        for (name, bytes) in &samples().all {
            decode(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            if *name == "sealed to fleet" {
                // Variable length: checked below.
                continue;
            }
            for cut in 0..bytes.len() {
                assert!(
                    matches!(
                        decode(name, &bytes[..cut]),
                        Err(DecodeError::WrongLength { .. })
                    ),
                    "{name} cut at {cut}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(
                matches!(decode(name, &longer), Err(DecodeError::WrongLength { .. })),
                "{name} + 1 byte"
            );
        }
    }

    #[test]
    fn sealed_to_fleet_length_bounds() {
        let min = *SEALED_TO_FLEET_LEN.start();
        let max = *SEALED_TO_FLEET_LEN.end();
        for len in [0, 1, 32, min - 1, max + 1] {
            assert!(
                matches!(
                    decode("sealed to fleet", &vec![1u8; len]),
                    Err(DecodeError::WrongLength { .. })
                ),
                "{len}"
            );
        }
    }

    /// 0xff.. is never a canonical ristretto255 point or scalar, so every
    /// message that starts with a group element refuses it as malformed.
    #[test]
    fn non_canonical_group_elements_are_malformed() {
        for (name, bytes) in &samples().all {
            if !matches!(
                *name,
                "registration request"
                    | "registration response"
                    | "registration upload"
                    | "KE1"
                    | "KE2"
                    | "fleet public key"
            ) {
                continue;
            }
            let mut bad = bytes.clone();
            bad[..32].fill(0xff);
            assert!(
                matches!(decode(name, &bad), Err(DecodeError::Malformed { .. })),
                "{name}"
            );
        }
    }

    /// The stored password file is decoded by its length alone (it is read
    /// back only from HSM-sealed bytes): a malformed one decodes, and the
    /// login that uses it fails with a typed error, never a panic.
    #[test]
    fn a_malformed_stored_password_file_fails_the_login_with_an_error() {
        let (fleet, _, record) = registered();
        let mut bad = record.as_bytes().to_vec();
        bad[..32].fill(0xff);
        let bad = PasswordFile::from_bytes(&bad).expect("decoded by its length");
        let rng = &mut ChaCha20Rng::seed_from_u64(3);
        let start = client::login_start(rng, b"u", b"pw").unwrap();
        assert!(server::login_start(rng, fleet, b"u", b"u", &bad, &start.ke1).is_err());
        assert!(server::login_start(rng, fleet, b"u", b"u", record, &start.ke1).is_ok());
    }

    #[test]
    fn error_messages_name_the_value() {
        let err = Ke2::from_bytes(&[0; 3]).unwrap_err();
        assert_eq!(err.to_string(), "KE2: expected 320 bytes, got 3");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary bytes: every decoder returns, never panics.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            for (name, _) in &samples().all {
                let _ = decode(name, &bytes);
            }
        }

        /// Right length, random content: decode or typed error; never a panic.
        #[test]
        fn random_content_of_the_right_length_never_panics(seed in any::<u64>()) {
            let rng = &mut ChaCha20Rng::seed_from_u64(seed);
            for (name, sample) in &samples().all {
                let mut bytes = vec![0u8; sample.len()];
                rand_chacha::rand_core::RngCore::fill_bytes(rng, &mut bytes);
                if let Err(e) = decode(name, &bytes) {
                    prop_assert!(matches!(e, DecodeError::Malformed { .. }), "{}: {}", name, e);
                }
            }
        }

        /// One flipped bit in a valid encoding: decode or typed error, never a panic.
        #[test]
        fn flipped_bytes_never_panic(index in any::<prop::sample::Index>(), bit in 0u8..8) {
            for (name, sample) in &samples().all {
                let mut bytes = sample.clone();
                let i = index.index(bytes.len());
                bytes[i] ^= 1 << bit;
                let _ = decode(name, &bytes);
            }
        }

        /// One flipped bit in KE1, KE2 or KE3 in transit: the login never
        /// completes (one side refuses), and nothing panics.
        #[test]
        fn tampered_login_messages_never_complete(
            which in 0usize..3,
            index in any::<prop::sample::Index>(),
            bit in 0u8..8,
            seed in any::<u64>(),
        ) {
            let rng = &mut ChaCha20Rng::seed_from_u64(seed);
            let (fleet, config, record) = registered();
            let flip = |bytes: &[u8]| {
                let mut b = bytes.to_vec();
                let i = index.index(b.len());
                b[i] ^= 1 << bit;
                b
            };
            let start = client::login_start(rng, b"u", b"pw").unwrap();
            let ke1 = if which == 0 {
                match Ke1::from_bytes(&flip(start.ke1.as_bytes())) {
                    Ok(m) => m,
                    Err(_) => return Ok(()),
                }
            } else {
                start.ke1.clone()
            };
            let vault = server::login_start(rng, fleet, b"u", b"u", record, &ke1).unwrap();
            let ke2 = if which == 1 {
                match Ke2::from_bytes(&flip(vault.ke2.as_bytes())) {
                    Ok(m) => m,
                    Err(_) => return Ok(()),
                }
            } else {
                vault.ke2.clone()
            };
            let Ok(done) = client::login_finish(rng, start.state, b"pw", &ke2, config) else {
                return Ok(());
            };
            let ke3 = if which == 2 {
                Ke3::from_bytes(&flip(done.ke3.as_bytes())).unwrap()
            } else {
                done.ke3.clone()
            };
            prop_assert!(server::login_finish(vault.state, &ke3).is_err());
        }
    }
}
