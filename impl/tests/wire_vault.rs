//! The typed helpers on the vault's own messages (with `SymbolicCrypto`):
//! round trips, kind checks, bit flips, and the pinned bytes of one message
//! of each kind, so that reordering a variant or field fails here.
//!
//! If a pinned-bytes test fails because the schema changed on purpose, bump
//! `wire::VERSION` (or `wire::DISK_VERSION`) and update the bytes together.

/// Everything under `wire::` so that `cargo test wire` selects it.
mod wire {
    use backup_vault::vault::crypto::{
        ProofPurpose, ProofStatement, RegistrationId, SymKey, SymPassword, SymProof,
        SymRegistration, SymbolicCrypto,
    };
    use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
    use backup_vault::vault::node::{VaultPeerMessage, VaultWrite};
    use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId, Refusal};
    use backup_vault::vault::raft::durable::DiskWrite;
    use backup_vault::vault::raft::log::Entry;
    use backup_vault::vault::raft::message::PeerMessage;
    use backup_vault::vault::records::{Command, RecordStore};
    use backup_vault::wire::{
        decode_client_request, decode_client_response, decode_disk_log, decode_peer_message,
        encode_client_request, encode_client_response, encode_disk_record, encode_peer_message,
        DiskLimits, FrameDecoder, FrameLimits, Kind, Tail, WireError,
    };
    use proptest::prelude::*;

    type S = SymbolicCrypto;
    const LIMITS: FrameLimits = FrameLimits::DEFAULT;

    fn user() -> impl Strategy<Value = UserId> {
        prop_oneof![0..3u64, any::<u64>()].prop_map(UserId)
    }

    fn reg() -> impl Strategy<Value = RegistrationId> {
        prop_oneof![0..3u64, any::<u64>()].prop_map(RegistrationId)
    }

    fn key() -> impl Strategy<Value = SymKey> {
        any::<u8>().prop_map(SymKey)
    }

    fn password() -> impl Strategy<Value = SymPassword> {
        any::<u8>().prop_map(SymPassword)
    }

    fn proof() -> impl Strategy<Value = SymProof> {
        (key(), 0..3usize, user(), reg()).prop_map(|(key, p, user, registration)| SymProof {
            key,
            statement: ProofStatement {
                purpose: [
                    ProofPurpose::Replace,
                    ProofPurpose::Activate,
                    ProofPurpose::Delete,
                ][p],
                user,
                registration,
            },
        })
    }

    fn request() -> impl Strategy<Value = ClientRequest<S>> {
        prop_oneof![
            user().prop_map(|user| ClientRequest::RegistrationStart { user, request: () }),
            (
                user(),
                user(),
                password(),
                key(),
                proptest::option::of((reg(), proof()))
            )
                .prop_map(|(user, for_user, password, key, replacing)| {
                    ClientRequest::Stage {
                        user,
                        sealed: SymRegistration {
                            user: for_user,
                            password,
                            key,
                        },
                        replacing,
                    }
                }),
            (user(), reg(), proof()).prop_map(|(user, registration, proof)| {
                ClientRequest::Activate {
                    user,
                    registration,
                    proof,
                }
            }),
            (user(), password()).prop_map(|(user, ke1)| ClientRequest::LoginStart { user, ke1 }),
            (user(), any::<u64>()).prop_map(|(user, l)| ClientRequest::LoginFinish {
                user,
                login: LoginId(l),
                ke3: ()
            }),
            (user(), reg(), proof()).prop_map(|(user, registration, proof)| {
                ClientRequest::Delete {
                    user,
                    registration,
                    proof,
                }
            }),
        ]
    }

    fn response() -> impl Strategy<Value = ClientResponse<S>> {
        prop_oneof![
            Just(ClientResponse::RegistrationResponse(())),
            (reg(), any::<bool>()).prop_map(|(registration, displaced)| ClientResponse::Staged {
                registration,
                displaced
            }),
            any::<u8>().prop_map(|remaining| ClientResponse::Activated { remaining }),
            (any::<u64>(), any::<u8>()).prop_map(|(l, remaining)| ClientResponse::Ke2 {
                login: LoginId(l),
                ke2: (),
                remaining
            }),
            (key(), reg(), any::<u8>()).prop_map(|(sealed_key, registration, remaining)| {
                ClientResponse::LoginOk {
                    sealed_key,
                    registration,
                    remaining,
                }
            }),
            any::<u8>().prop_map(|remaining| ClientResponse::WrongPassword { remaining }),
            Just(ClientResponse::KeyDestroyed),
            Just(ClientResponse::NotRegistered),
            Just(ClientResponse::LoginExpired),
            Just(ClientResponse::Deleted),
            prop_oneof![
                Just(Refusal::BadProof),
                Just(Refusal::Malformed),
                Just(Refusal::UnknownRegistration)
            ]
            .prop_map(ClientResponse::Refused),
            proptest::option::of(any::<u8>()).prop_map(|l| ClientResponse::NotLeader {
                leader: l.map(NodeId)
            }),
            Just(ClientResponse::Retry),
        ]
    }

    fn command() -> impl Strategy<Value = Command<S>> {
        let u = 0..3u64;
        let r = 0..3u64;
        prop_oneof![
            (
                u.clone(),
                r.clone(),
                password(),
                key(),
                proptest::option::of(r.clone())
            )
                .prop_map(|(u, r, pw, k, keep)| Command::Stage {
                    user: UserId(u),
                    registration: RegistrationId(r),
                    password_file: pw,
                    wrapped_key: k,
                    verifier: k,
                    keep_active: keep.map(RegistrationId),
                }),
            (u.clone(), r.clone()).prop_map(|(u, r)| Command::Activate {
                user: UserId(u),
                registration: RegistrationId(r)
            }),
            (u.clone(), r.clone()).prop_map(|(u, r)| Command::ConsumeAttempt {
                user: UserId(u),
                registration: RegistrationId(r)
            }),
            (u.clone(), r.clone()).prop_map(|(u, r)| Command::Reset {
                user: UserId(u),
                registration: RegistrationId(r)
            }),
            (u, r).prop_map(|(u, r)| Command::Delete {
                user: UserId(u),
                registration: RegistrationId(r)
            }),
        ]
    }

    /// A record store reached by applying `commands`, so it holds active,
    /// staged and tombstoned records.
    fn store(commands: &[Command<S>]) -> RecordStore<S> {
        let mut s = RecordStore::new(3);
        for c in commands {
            s.apply(c);
        }
        s
    }

    fn peer_message() -> impl Strategy<Value = VaultPeerMessage<S>> {
        prop_oneof![
            (
                any::<u64>(),
                proptest::collection::vec((0..5u64, proptest::option::of(command())), 0..5)
            )
                .prop_map(|(t, es)| PeerMessage::Append {
                    term: Term(t),
                    prev_index: LogIndex(t / 2),
                    prev_term: Term(t / 3),
                    entries: es
                        .into_iter()
                        .map(|(t, command)| Entry {
                            term: Term(t),
                            command
                        })
                        .collect(),
                    commit: LogIndex(t / 4),
                }),
            (any::<u64>(), proptest::collection::vec(command(), 0..12)).prop_map(|(t, cs)| {
                PeerMessage::InstallSnapshot {
                    term: Term(t),
                    index: LogIndex(cs.len() as u64),
                    index_term: Term(t),
                    snapshot: store(&cs),
                }
            }),
            (any::<u64>(), any::<bool>()).prop_map(|(t, granted)| PeerMessage::Vote {
                term: Term(t),
                granted
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn client_request_round_trip(r in request()) {
            let bytes = encode_client_request(&r, &LIMITS).unwrap();
            prop_assert_eq!(decode_client_request::<S>(&bytes, &LIMITS).unwrap(), (r, bytes.len()));
            // Under the client-facing limits too.
            prop_assert!(decode_client_request::<S>(&bytes, &FrameLimits::CLIENT).is_ok());
            let wrong_kind = matches!(
                decode_client_response::<S>(&bytes, &LIMITS),
                Err(WireError::UnexpectedKind { expected: Kind::ClientResponse, found: Kind::ClientRequest })
            );
            prop_assert!(wrong_kind);
        }

        #[test]
        fn client_response_round_trip(r in response()) {
            let bytes = encode_client_response(&r, &LIMITS).unwrap();
            prop_assert_eq!(decode_client_response::<S>(&bytes, &LIMITS).unwrap(), (r, bytes.len()));
        }

        #[test]
        fn peer_message_round_trip(m in peer_message()) {
            let bytes = encode_peer_message(&m, &LIMITS).unwrap();
            prop_assert_eq!(decode_peer_message::<S>(&bytes, &LIMITS).unwrap(), (m.clone(), bytes.len()));
            let mut dec = FrameDecoder::new(LIMITS);
            for b in &bytes {
                prop_assert_eq!(dec.push(std::slice::from_ref(b)), 1);
            }
            let f = dec.next_frame().unwrap().unwrap();
            prop_assert_eq!(f.peer_message::<S>().unwrap(), m);
        }

        #[test]
        fn every_truncation_and_bit_flip_of_a_request_is_safe(r in request()) {
            let bytes = encode_client_request(&r, &LIMITS).unwrap();
            for cut in 0..bytes.len() {
                prop_assert!(decode_client_request::<S>(&bytes[..cut], &LIMITS).unwrap_err().is_incomplete());
            }
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                if let Ok((value, used)) = decode_client_request::<S>(&b, &LIMITS) {
                    prop_assert!(used <= b.len());
                    let again = encode_client_request(&value, &LIMITS).unwrap();
                    prop_assert_eq!(decode_client_request::<S>(&again, &LIMITS).unwrap().0, value);
                }
            }
        }

        #[test]
        fn disk_records_of_vault_writes_round_trip(
            cs in proptest::collection::vec(command(), 0..8),
            t in any::<u64>(),
        ) {
            let writes: Vec<VaultWrite<S>> = vec![
                DiskWrite::HardState { term: Term(t), voted_for: Some(NodeId(2)) },
                DiskWrite::Entries {
                    first: LogIndex(1),
                    entries: cs.iter().map(|c| Entry { term: Term(t), command: Some(c.clone()) }).collect(),
                },
                DiskWrite::Snapshot { index: LogIndex(cs.len() as u64), index_term: Term(t), state: store(&cs) },
            ];
            let mut log = Vec::new();
            for w in &writes {
                log.extend(encode_disk_record(w, &DiskLimits::DEFAULT).unwrap());
            }
            prop_assert_eq!(decode_disk_log::<S>(&log, &DiskLimits::DEFAULT), (writes, Tail::Clean));
        }
    }

    // ----- pinned bytes ---------------------------------------------------------

    fn pinned_request() -> ClientRequest<S> {
        ClientRequest::Activate {
            user: UserId(300),
            registration: RegistrationId(5),
            proof: SymProof {
                key: SymKey(0xAB),
                statement: ProofStatement {
                    purpose: ProofPurpose::Activate,
                    user: UserId(300),
                    registration: RegistrationId(5),
                },
            },
        }
    }

    fn pinned_response() -> ClientResponse<S> {
        ClientResponse::Ke2 {
            login: LoginId(0x1_0000),
            ke2: (),
            remaining: 9,
        }
    }

    fn pinned_peer() -> VaultPeerMessage<S> {
        PeerMessage::Append {
            term: Term(2),
            prev_index: LogIndex(1),
            prev_term: Term(1),
            entries: vec![
                Entry {
                    term: Term(2),
                    command: None,
                },
                Entry {
                    term: Term(2),
                    command: Some(Command::ConsumeAttempt {
                        user: UserId(7),
                        registration: RegistrationId(1),
                    }),
                },
            ],
            commit: LogIndex(1),
        }
    }

    fn pinned_snapshot() -> VaultPeerMessage<S> {
        PeerMessage::InstallSnapshot {
            term: Term(3),
            index: LogIndex(4),
            index_term: Term(3),
            snapshot: store(&[
                Command::Stage {
                    user: UserId(1),
                    registration: RegistrationId(9),
                    password_file: SymPassword(4),
                    wrapped_key: SymKey(5),
                    verifier: SymKey(5),
                    keep_active: None,
                },
                Command::Activate {
                    user: UserId(1),
                    registration: RegistrationId(9),
                },
                Command::ConsumeAttempt {
                    user: UserId(1),
                    registration: RegistrationId(9),
                },
            ]),
        }
    }

    fn pinned_write() -> VaultWrite<S> {
        DiskWrite::HardState {
            term: Term(5),
            voted_for: Some(NodeId(1)),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn pinned_client_request() {
        let bytes = encode_client_request(&pinned_request(), &LIMITS).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "8956 01 01 00000009", // magic, version 1, ClientRequest, 9 bytes
                "02",                  // variant 2: Activate
                "ac02",                // user 300 (varint)
                "05",                  // registration 5
                "ab",                  // proof.key
                "01",                  // proof.statement.purpose: variant 1, Activate
                "ac02 05",             // proof.statement.user, .registration
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_client_response() {
        let bytes = encode_client_response(&pinned_response(), &LIMITS).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "8956 01 02 00000005", // magic, version 1, ClientResponse, 5 bytes
                "03",                  // variant 3: Ke2
                "808004",              // login 0x10000 (varint); ke2 is () (no bytes)
                "09",                  // remaining 9
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_peer_append() {
        let bytes = encode_peer_message(&pinned_peer(), &LIMITS).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "8956 01 03 0000000d", // magic, version 1, PeerMessage, 13 bytes
                "04",                  // variant 4: Append
                "02 01 01",            // term 2, prev_index 1, prev_term 1
                "02",                  // 2 entries
                "02 00",               // term 2, no command
                "02 01 02 07 01", // term 2, Some(ConsumeAttempt (variant 2) { user 7, registration 1 })
                "01",             // commit 1
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_peer_snapshot() {
        let bytes = encode_peer_message(&pinned_snapshot(), &LIMITS).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "8956 01 03 00000010", // magic, version 1, PeerMessage, 16 bytes
                "06",                  // variant 6: InstallSnapshot
                "03 04 03",            // term 3, index 4, index_term 3
                "01 01",               // store: 1 user; user 1
                "01 09 04 05 05", // active: Some { registration 9, password 4, wrapped 5, verifier 5,
                "01 03",          //   attempts { used 1, limit 3 } }
                "00 00",          // staged: None, tombstone: None
                "03",             // guess_limit 3
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_disk_record() {
        let bytes = encode_disk_record(&pinned_write(), &DiskLimits::DEFAULT).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "42564452 01 000000", // "BVDR", version 1, reserved
                "00000004",           // body: 4 bytes
                "ca6965a5",           // SHA-256(bytes 0..12)[0..4]
                "00 05 01 01",        // variant 0: HardState { term 5, voted_for Some(1) }
                "9de44a917c4eaa62",   // SHA-256(bytes 0..20)[0..8]
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_bytes_decode() {
        // The pins decode back to the values (guards the pins themselves).
        let b = encode_client_request(&pinned_request(), &LIMITS).unwrap();
        assert_eq!(
            decode_client_request::<S>(&b, &LIMITS).unwrap().0,
            pinned_request()
        );
        let b = encode_client_response(&pinned_response(), &LIMITS).unwrap();
        assert_eq!(
            decode_client_response::<S>(&b, &LIMITS).unwrap().0,
            pinned_response()
        );
        for m in [pinned_peer(), pinned_snapshot()] {
            let b = encode_peer_message(&m, &LIMITS).unwrap();
            assert_eq!(decode_peer_message::<S>(&b, &LIMITS).unwrap().0, m);
        }
    }
}
