//! The typed helpers on the vault's own messages and disk records (with
//! `SymbolicCrypto`): round trips, kind checks, bit flips, and the pinned
//! bytes of one message of each kind and of one sealed disk record, so that
//! reordering a variant or field fails here.
//!
//! If a pinned-bytes test fails because the schema changed on purpose, bump
//! `wire::VERSION` (or `wire::DISK_VERSION`) and update the bytes together.

/// Everything under `wire::` so that `cargo test wire` selects it.
mod wire {
    use backup_vault::vault::crypto::{
        ContentDigest, DeleteNonce, Ke1Digest, OprfKeyId, ProofDigest, ProofStatement,
        RegistrationId, ReplyStatement, SealPlace, SymBlinded, SymEval, SymKey, SymPassword,
        SymProof, SymRegistration, SymRegistrationResponse, SymRelease, SymTag, SymbolicCrypto,
        TicketClaims, VaultCrypto,
    };
    use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
    use backup_vault::vault::node::{VaultDisk, VaultPeerMessage, VaultWrite};
    use backup_vault::vault::protocol::{
        ClientRequest, ClientResponse, LoginId, Refusal, Replacing,
    };
    use backup_vault::vault::raft::durable::DiskWrite;
    use backup_vault::vault::raft::log::Entry;
    use backup_vault::vault::raft::message::PeerMessage;
    use backup_vault::vault::records::{Command, RecordStore};
    use backup_vault::vault::sealed::{open_disk, DiskCursor, DiskRecord, StoredRecord};
    use backup_vault::wire::{
        decode_client_request, decode_client_response, decode_disk_log, decode_peer_message,
        encode_client_request, encode_client_response, encode_disk_record, encode_peer_message,
        CorruptReason, DiskCorrupt, DiskLimits, FrameDecoder, FrameLimits, Kind, Tail, WireError,
        DISK_VERSION,
    };
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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

    fn content() -> impl Strategy<Value = ContentDigest> {
        prop_oneof![Just([0u8; 32]), any::<[u8; 32]>()].prop_map(ContentDigest)
    }

    fn nonce() -> impl Strategy<Value = DeleteNonce> {
        any::<[u8; 16]>().prop_map(DeleteNonce)
    }

    fn proof_digest() -> impl Strategy<Value = ProofDigest> {
        any::<[u8; 32]>().prop_map(ProofDigest)
    }

    fn blinded() -> impl Strategy<Value = SymBlinded> {
        (password(), any::<u8>()).prop_map(|(password, blind)| SymBlinded { password, blind })
    }

    fn oprf_key() -> impl Strategy<Value = OprfKeyId> {
        any::<[u8; 16]>().prop_map(OprfKeyId)
    }

    fn ticket() -> impl Strategy<Value = TicketClaims> {
        (user(), oprf_key(), any::<u64>()).prop_map(|(user, key, seq)| TicketClaims {
            user,
            key,
            seq,
        })
    }

    fn statement() -> impl Strategy<Value = ProofStatement> {
        prop_oneof![
            (user(), reg(), content()).prop_map(|(user, active, content)| {
                ProofStatement::Replace {
                    user,
                    active,
                    content,
                }
            }),
            (user(), reg(), content()).prop_map(|(user, registration, content)| {
                ProofStatement::Activate {
                    user,
                    registration,
                    content,
                }
            }),
            (user(), reg(), nonce()).prop_map(|(user, registration, nonce)| {
                ProofStatement::Delete {
                    user,
                    registration,
                    nonce,
                }
            }),
        ]
    }

    fn proof() -> impl Strategy<Value = SymProof> {
        (key(), statement()).prop_map(|(key, statement)| SymProof { key, statement })
    }

    fn tag() -> impl Strategy<Value = SymTag> {
        (key(), user(), reg(), content(), any::<u8>()).prop_map(
            |(key, user, registration, content, remaining)| SymTag {
                key,
                statement: ReplyStatement::Activated {
                    user,
                    registration,
                    content,
                    remaining,
                },
            },
        )
    }

    fn request() -> impl Strategy<Value = ClientRequest<S>> {
        prop_oneof![
            (user(), blinded())
                .prop_map(|(user, request)| ClientRequest::RegistrationStart { user, request }),
            (
                (user(), user(), password(), key(), ticket()),
                content(),
                proptest::option::of((reg(), proof()))
            )
                .prop_map(
                    |((user, for_user, password, key, ticket), content, replacing)| {
                        ClientRequest::Stage {
                            user,
                            sealed: SymRegistration {
                                user: for_user,
                                password,
                                key,
                                ticket,
                                evaluated_under: ticket.key,
                            },
                            content,
                            replacing: replacing.map(|(registration, proof)| Replacing {
                                registration,
                                proof,
                            }),
                        }
                    }
                ),
            (user(), reg(), content(), proof()).prop_map(|(user, registration, content, proof)| {
                ClientRequest::Activate {
                    user,
                    registration,
                    content,
                    proof,
                }
            }),
            (user(), blinded()).prop_map(|(user, ke1)| ClientRequest::LoginStart { user, ke1 }),
            (user(), any::<u64>()).prop_map(|(user, l)| ClientRequest::LoginFinish {
                user,
                login: LoginId(l),
                ke3: ()
            }),
            (user(), reg(), nonce(), proof()).prop_map(|(user, registration, nonce, proof)| {
                ClientRequest::Delete {
                    user,
                    registration,
                    nonce,
                    proof,
                }
            }),
        ]
    }

    fn response() -> impl Strategy<Value = ClientResponse<S>> {
        prop_oneof![
            (oprf_key(), blinded(), ticket()).prop_map(|(key, input, ticket)| {
                ClientResponse::RegistrationResponse(SymRegistrationResponse {
                    eval: SymEval { key, input },
                    ticket,
                })
            }),
            (reg(), any::<bool>(), tag()).prop_map(|(registration, displaced, tag)| {
                ClientResponse::Staged {
                    registration,
                    displaced,
                    tag,
                }
            }),
            (reg(), any::<u8>(), tag()).prop_map(|(registration, remaining, tag)| {
                ClientResponse::Activated {
                    registration,
                    remaining,
                    tag,
                }
            }),
            (any::<u64>(), oprf_key(), blinded(), any::<u8>()).prop_map(
                |(l, key, input, remaining)| ClientResponse::Ke2 {
                    login: LoginId(l),
                    ke2: SymEval { key, input },
                    remaining
                }
            ),
            (key(), reg(), any::<u8>()).prop_map(|(key, registration, remaining)| {
                ClientResponse::LoginOk {
                    sealed_key: SymRelease {
                        key,
                        registration,
                        remaining,
                    },
                }
            }),
            any::<u8>().prop_map(|remaining| ClientResponse::WrongPassword { remaining }),
            Just(ClientResponse::KeyDestroyed),
            Just(ClientResponse::NotRegistered),
            Just(ClientResponse::LoginExpired),
            (reg(), proof_digest(), tag()).prop_map(|(registration, proof, tag)| {
                ClientResponse::Deleted {
                    registration,
                    proof,
                    tag,
                }
            }),
            prop_oneof![
                Just(Refusal::BadProof),
                Just(Refusal::Malformed),
                Just(Refusal::UnknownRegistration),
                Just(Refusal::StaleTicket)
            ]
            .prop_map(ClientResponse::Refused),
            proptest::option::of(any::<u8>()).prop_map(|l| ClientResponse::NotLeader {
                leader: l.map(NodeId)
            }),
            Just(ClientResponse::Retry),
            (reg(), reg(), tag()).prop_map(|(registration, live, tag)| {
                ClientResponse::KeyLivesOn {
                    registration,
                    live,
                    tag,
                }
            }),
        ]
    }

    fn command() -> impl Strategy<Value = Command<S>> {
        let u = 0..3u64;
        let r = 0..3u64;
        // Few distinct contents and KE1s, so stages meet, activations find
        // their staging and logins repeat.
        let small = |n: u8| (0..n).prop_map(|b| [b; 32]);
        prop_oneof![
            (
                (u.clone(), r.clone(), password(), key()),
                (0..3u64, small(3), proptest::option::of(r.clone()))
            )
                .prop_map(|((u, r, pw, k), (seq, c, keep))| Command::Stage {
                    user: UserId(u),
                    registration: RegistrationId(r),
                    oprf_key: OprfKeyId([r as u8; 16]),
                    ticket_seq: seq,
                    content: ContentDigest(c),
                    password_file: pw,
                    wrapped_key: k,
                    verifier: k,
                    reply_key: k,
                    keep_active: keep.map(RegistrationId),
                }),
            (u.clone(), r.clone(), small(3)).prop_map(|(u, r, c)| Command::Activate {
                user: UserId(u),
                registration: RegistrationId(r),
                content: ContentDigest(c),
            }),
            (u.clone(), r.clone(), small(4)).prop_map(|(u, r, k)| Command::ConsumeAttempt {
                user: UserId(u),
                registration: RegistrationId(r),
                ke1: Ke1Digest(k),
            }),
            (u.clone(), r.clone(), small(4)).prop_map(|(u, r, k)| Command::Reset {
                user: UserId(u),
                registration: RegistrationId(r),
                ke1: Ke1Digest(k),
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
        for (i, c) in commands.iter().enumerate() {
            s.apply(LogIndex(i as u64 + 1), c);
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
        fn sealed_disk_records_round_trip_and_open(
            cs in proptest::collection::vec(command(), 0..8),
            t in any::<u64>(),
            seed in any::<u64>(),
        ) {
            let writes: Vec<VaultWrite<S>> = vec![
                DiskWrite::HardState { term: Term(t), voted_for: Some(NodeId(2)) },
                DiskWrite::Entries {
                    first: LogIndex(1),
                    entries: cs.iter().map(|c| Entry { term: Term(t), command: Some(c.clone()) }).collect(),
                },
                DiskWrite::Snapshot { index: LogIndex(cs.len() as u64), index_term: Term(t), state: store(&cs) },
            ];
            // What node 2 writes: the three writes in one segment, then a
            // restart's segment continuing it; and a compaction's new file
            // (the whole image) with a write after it.
            let c = &SymbolicCrypto;
            let rng = &mut ChaCha8Rng::seed_from_u64(seed);
            let mut state = VaultDisk::<S>::default();
            let mut file = Vec::new();
            let mut cursor = DiskCursor::new_segment(None, rng);
            for w in writes.iter().chain(&writes[..1]) {
                if file.len() == writes.len() {
                    let last: &StoredRecord<S> = &file[file.len() - 1];
                    cursor = DiskCursor::new_segment(Some((last.segment, last.position + 1)), rng);
                }
                state.apply(w);
                file.push(cursor.append(c, NodeId(2), w.clone(), rng, false).record().clone());
            }
            let file_state = state.clone();
            let mut compacted = vec![cursor.replace(c, NodeId(2), state.clone(), rng, false).record().clone()];
            compacted.push(cursor.append(c, NodeId(2), writes[1].clone(), rng, false).record().clone());
            state.apply(&writes[1]);
            for (records, want) in [(&file, &file_state), (&compacted, &state)] {
                let mut log = Vec::new();
                for r in records {
                    log.extend(encode_disk_record(r, &DiskLimits::DEFAULT).unwrap());
                }
                let (read, tail) = decode_disk_log::<S>(&log, &DiskLimits::DEFAULT);
                prop_assert_eq!((&read, tail), (records, Tail::Clean));
                // The bytes give back records the node opens whole.
                let opened = open_disk(c, NodeId(2), &read, false);
                prop_assert_eq!((opened.authentic, opened.stopped), (records.len(), None));
                prop_assert_eq!(&opened.state, want);
            }
        }
    }

    // ----- pinned bytes ---------------------------------------------------------

    fn pinned_request() -> ClientRequest<S> {
        let nonce = DeleteNonce([0x4E; 16]);
        ClientRequest::Delete {
            user: UserId(300),
            registration: RegistrationId(5),
            nonce,
            proof: SymProof {
                key: SymKey(0xAB),
                statement: ProofStatement::Delete {
                    user: UserId(300),
                    registration: RegistrationId(5),
                    nonce,
                },
            },
        }
    }

    fn pinned_response() -> ClientResponse<S> {
        ClientResponse::Ke2 {
            login: LoginId(0x1_0000),
            ke2: SymEval {
                key: OprfKeyId([0x11; 16]),
                input: SymBlinded {
                    password: SymPassword(7),
                    blind: 2,
                },
            },
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
                        ke1: Ke1Digest([0xCC; 32]),
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
                    oprf_key: OprfKeyId([0x0F; 16]),
                    ticket_seq: 0,
                    content: ContentDigest([0xC0; 32]),
                    password_file: SymPassword(4),
                    wrapped_key: SymKey(5),
                    verifier: SymKey(5),
                    reply_key: SymKey(5),
                    keep_active: None,
                },
                Command::Activate {
                    user: UserId(1),
                    registration: RegistrationId(9),
                    content: ContentDigest([0xC0; 32]),
                },
                Command::ConsumeAttempt {
                    user: UserId(1),
                    registration: RegistrationId(9),
                    ke1: Ke1Digest([0xCC; 32]),
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

    /// The record node 1 writes first after a restart: position 0 of its new
    /// segment 300, which continues segment 5 after its 2 records; sealed
    /// there, holding `pinned_write()`.
    fn pinned_record() -> StoredRecord<S> {
        let follows = Some((5, 2));
        let place = SealPlace::Disk {
            node: NodeId(1),
            segment: 300,
            position: 0,
            follows,
        };
        let record = DiskRecord::Write(pinned_write());
        StoredRecord {
            segment: 300,
            position: 0,
            follows,
            sealed: SymbolicCrypto.seal(&place, &record, &mut ChaCha8Rng::seed_from_u64(0)),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        ::hex::encode(bytes)
    }

    #[test]
    fn pinned_client_request() {
        let bytes = encode_client_request(&pinned_request(), &LIMITS).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "8956 03 01 00000029",              // magic, version 3, ClientRequest, 41 bytes
                "05",                               // variant 5: Delete
                "ac02",                             // user 300 (varint)
                "05",                               // registration 5
                "4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e", // nonce: 16 bytes, no length
                "ab",                               // proof.key
                "02",                               // proof.statement: variant 2, Delete
                "ac02 05",                          // proof.statement.user, .registration
                "4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e", // proof.statement.nonce
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
                "8956 03 02 00000017", // magic, version 3, ClientResponse, 23 bytes
                "03",                  // variant 3: Ke2
                "808004",              // login 0x10000 (varint)
                "11111111111111111111111111111111", // ke2.key: 16 bytes, no length
                "07 02",               // ke2.input: password 7, blind 2
                "09",                  // remaining 9
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_peer_append() {
        let bytes = encode_peer_message(&pinned_peer(), &LIMITS).unwrap();
        let digest = "cc".repeat(32);
        assert_eq!(
            hex(&bytes),
            [
                "8956 03 03 0000002d", // magic, version 3, PeerMessage, 45 bytes
                "04",                  // variant 4: Append
                "02 01 01",            // term 2, prev_index 1, prev_term 1
                "02",                  // 2 entries
                "02 00",               // term 2, no command
                "02 01 02 07 01", // term 2, Some(ConsumeAttempt (variant 2) { user 7, registration 1,
                &digest,          //   ke1: 32 bytes, no length })
                "01",             // commit 1
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_peer_snapshot() {
        let bytes = encode_peer_message(&pinned_snapshot(), &LIMITS).unwrap();
        let (key, content, ke1) = ("0f".repeat(16), "c0".repeat(32), "cc".repeat(32));
        assert_eq!(
            hex(&bytes),
            [
                "8956 03 03 00000064", // magic, version 3, PeerMessage, 100 bytes
                "06",                  // variant 6: InstallSnapshot
                "03 04 03",            // term 3, index 4, index_term 3
                "01 01",               // store: 1 user; user 1
                "01 09",               // active: Some { registration 9,
                &key,                  //   oprf_key (16 bytes),
                &content,              //   content (32 bytes),
                "04 05 05 05",         //   password 4, wrapped 5, verifier 5, reply key 5,
                "03 01",               //   attempts { limit 3, tested: 1 entry:
                &ke1,                  //     the KE1 digest (32 bytes)
                "03 00",               //     consumed at index 3; proven: None } }
                "00 00",               // staged: None, gone: None
                "01",                  // stages 1
                "03",                  // guess_limit 3
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn pinned_disk_record() {
        let bytes = encode_disk_record(&pinned_record(), &DiskLimits::DEFAULT).unwrap();
        assert_eq!(
            hex(&bytes),
            [
                "42564452 03 000000",  // "BVDR", version 3, reserved
                "00000014",            // body: 20 bytes
                "6241adba",            // SHA-256(bytes 0..12)[0..4]
                "ac02 00 01 05 02",    // segment 300, position 0, follows Some((5, 2))
                "01 00",               // sealed.place: Some(variant 0: Disk {
                "01 ac02 00 01 05 02", //   node 1, segment 300, position 0, follows Some((5, 2)) })
                "01",                  // sealed.value: variant 1: Write(
                "00 05 01 01",         //   variant 0: HardState { term 5, voted_for Some(1) })
                "d80373bb4fb6af57",    // SHA-256(bytes 0..36)[0..8]
            ]
            .concat()
            .replace(' ', "")
        );
    }

    #[test]
    fn a_disk_record_of_another_version_is_refused() {
        // Version 2's pinned record: its body a bare write, not a sealed
        // record. A reader of version 3 refuses it and never parses it.
        let v2 = [
            "42564452 02 000000 00000004 2cf90ddb", // "BVDR", version 2, 4 bytes, header check
            "00 05 01 01 4ee66da10215ee20", // HardState { term 5, voted_for Some(1) }, check
        ]
        .concat()
        .replace(' ', "");
        let v2: Vec<u8> = (0..v2.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&v2[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(DISK_VERSION, 3);
        assert_eq!(
            decode_disk_log::<S>(&v2, &DiskLimits::DEFAULT),
            (
                Vec::new(),
                Tail::Corrupt(DiskCorrupt {
                    offset: 0,
                    record: 0,
                    reason: CorruptReason::UnsupportedVersion(2),
                })
            )
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
        let b = encode_disk_record(&pinned_record(), &DiskLimits::DEFAULT).unwrap();
        assert_eq!(
            decode_disk_log::<S>(&b, &DiskLimits::DEFAULT),
            (vec![pinned_record()], Tail::Clean)
        );
    }

    #[test]
    fn the_pinned_record_is_what_a_node_writes_and_opens_where_it_stands() {
        // Segment 5's two records, then the pinned one continuing it: node
        // 1 reads all three back; anywhere else the pinned record does not
        // open.
        let rng = &mut ChaCha8Rng::seed_from_u64(1);
        let first: Vec<StoredRecord<S>> = (0..2u64)
            .map(|position| {
                let place = SealPlace::Disk {
                    node: NodeId(1),
                    segment: 5,
                    position,
                    follows: None,
                };
                let record = DiskRecord::Write(DiskWrite::HardState {
                    term: Term(position + 1),
                    voted_for: None,
                });
                StoredRecord {
                    segment: 5,
                    position,
                    follows: None,
                    sealed: SymbolicCrypto.seal(&place, &record, rng),
                }
            })
            .collect();
        let disk = [first.clone(), vec![pinned_record()]].concat();
        let opened = open_disk(&SymbolicCrypto, NodeId(1), &disk, false);
        assert_eq!((opened.authentic, opened.stopped), (3, None));
        assert_eq!(opened.state.term, Term(5));
        let alone = open_disk(&SymbolicCrypto, NodeId(1), &[pinned_record()], false);
        assert_eq!(alone.authentic, 0);
        let other_node = open_disk(&SymbolicCrypto, NodeId(2), &disk, false);
        assert_eq!(other_node.authentic, 0);
        // A cursor continuing segment 5 seals its first record for the same
        // place as the pin (only the segment id, drawn at random, differs).
        let mut cursor = DiskCursor::new_segment(Some((5, 2)), rng);
        let op = cursor.append(&SymbolicCrypto, NodeId(1), pinned_write(), rng, false);
        let made = op.record();
        assert_eq!((made.position, made.follows), (0, Some((5, 2))));
        let mut same = pinned_record();
        same.segment = made.segment;
        same.sealed.place = Some(SealPlace::Disk {
            node: NodeId(1),
            segment: made.segment,
            position: 0,
            follows: Some((5, 2)),
        });
        assert_eq!(made, &same);
    }
}
