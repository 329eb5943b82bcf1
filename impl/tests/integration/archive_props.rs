//! Property tests of the chat archive encoding (docs/archive.md): round
//! trips over generated and arbitrary archives, canonicality, truncation and
//! bit flips (FMT-2: never a panic, never wrong data silently), limits
//! enforced before allocation, and the encoder's own rule checks.

// In a module named `archive`, so that `cargo test -p backup-vault archive`
// selects every test of this file.
mod archive {
    use backup_vault::archive::{
        self, Archive, ArchiveError, ArchiveSpec, Chat, ChatId, DecodeLimits, Field, Limit, Media,
        MediaId, Message, MessageBody, MessageId, ParticipantId,
    };
    use bytes::Bytes;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::collections::BTreeMap;

    fn generated(seed: u64, target_bytes: u64) -> Archive {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        archive::generate(&mut rng, &ArchiveSpec::with_target(target_bytes))
    }

    /// Asserts every round trip: encode, decode (copying and sharing), the
    /// length, and `check`.
    fn assert_round_trips(a: &Archive) -> Vec<u8> {
        a.check().expect("a valid archive");
        let bytes = archive::encode(a).expect("a valid archive encodes");
        assert_eq!(archive::encoded_len(a).unwrap(), bytes.len());
        let decoded = archive::decode(&bytes).expect("its encoding decodes");
        assert_eq!(&decoded, a);
        assert_eq!(archive::encode(&decoded).unwrap(), bytes);
        let shared = Bytes::from(bytes.clone());
        assert_eq!(
            &archive::decode_bytes(&shared, &DecodeLimits::default()).unwrap(),
            a
        );
        bytes
    }

    /// What a damaged encoding may decode to: an error, or a *different* valid
    /// archive whose encoding is exactly the damaged bytes.
    fn assert_error_or_canonical(original: &Archive, damaged: &[u8]) {
        match archive::decode(damaged) {
            Err(e) => {
                if let Some(offset) = e.offset() {
                    assert!(offset <= damaged.len() as u64, "{e:?} is past the end");
                }
                assert!(!e.to_string().is_empty());
            }
            Ok(other) => {
                assert_ne!(&other, original, "damaged bytes decoded to the original");
                assert_eq!(archive::encode(&other).unwrap(), damaged);
            }
        }
    }

    // ---------------------------------------------------------------------------
    // Arbitrary archives: any valid structure, not just realistic ones.

    fn text() -> impl Strategy<Value = String> {
        prop::string::string_regex("(?s).{0,12}").unwrap()
    }

    /// A body; media bodies refer to `media_index` into the pool of media ids.
    fn body() -> impl Strategy<Value = BodyParts> {
        (0u8..5, any::<usize>(), any::<u64>(), text())
    }

    /// A generated body: kind, media pool index, duration, text or file name.
    type BodyParts = (u8, usize, u64, String);
    /// A generated chat: title, members, messages by id (sender, time, body).
    type ChatParts = (String, Vec<u64>, BTreeMap<u64, (u64, u64, BodyParts)>);

    fn chat_parts() -> impl Strategy<Value = ChatParts> {
        (
            text(),
            prop::collection::btree_set(any::<u64>(), 0..4).prop_map(|s| s.into_iter().collect()),
            prop::collection::btree_map(any::<u64>(), (any::<u64>(), any::<u64>(), body()), 0..6),
        )
    }

    fn arbitrary_archive() -> impl Strategy<Value = Archive> {
        (
            prop::collection::btree_map(any::<u64>(), chat_parts(), 0..4),
            prop::collection::btree_map(
                any::<u64>(),
                (text(), prop::collection::vec(any::<u8>(), 0..24)),
                1..5,
            ),
        )
            .prop_map(|(chats, pool)| {
                let pool: Vec<(u64, (String, Vec<u8>))> = pool.into_iter().collect();
                let mut media = BTreeMap::new();
                let chats = chats
                    .into_iter()
                    .map(|(id, (title, members, messages))| Chat {
                        id: ChatId(id),
                        title,
                        members: members.into_iter().map(ParticipantId).collect(),
                        messages: messages
                            .into_iter()
                            .map(|(id, (sender, sent_at_ms, (kind, index, n, s)))| {
                                let (media_id, (mime, bytes)) = &pool[index % pool.len()];
                                let m = MediaId(*media_id);
                                let body = match kind {
                                    0 => MessageBody::Text(s),
                                    1 => MessageBody::Photo { media: m },
                                    2 => MessageBody::Video {
                                        media: m,
                                        duration_ms: n,
                                    },
                                    3 => MessageBody::VoiceNote {
                                        media: m,
                                        duration_ms: n,
                                    },
                                    _ => MessageBody::Document {
                                        media: m,
                                        file_name: s,
                                    },
                                };
                                if kind != 0 {
                                    media.insert(
                                        m,
                                        Media {
                                            mime: mime.clone(),
                                            bytes: Bytes::from(bytes.clone()),
                                        },
                                    );
                                }
                                Message {
                                    id: MessageId(id),
                                    sender: ParticipantId(sender),
                                    sent_at_ms,
                                    body,
                                }
                            })
                            .collect(),
                    })
                    .collect();
                Archive { chats, media }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn generated_archives_round_trip(seed in any::<u64>(), target in 0u64..20_000) {
            assert_round_trips(&generated(seed, target));
        }

        #[test]
        fn arbitrary_archives_round_trip(a in arbitrary_archive()) {
            assert_round_trips(&a);
        }

        /// Every proper prefix of an encoding is `Truncated`, never a shorter archive.
        #[test]
        fn every_truncation_is_an_error(a in arbitrary_archive()) {
            let bytes = assert_round_trips(&a);
            for end in 0..bytes.len() {
                match archive::decode(&bytes[..end]) {
                    Err(ArchiveError::Truncated { offset, remaining, needed, .. }) => {
                        prop_assert!(offset <= end as u64);
                        prop_assert_eq!(remaining, end as u64 - offset);
                        prop_assert!(needed > remaining);
                    }
                    other => prop_assert!(false, "prefix of {} bytes: {:?}", end, other),
                }
            }
        }

        #[test]
        fn bit_flips_are_errors_or_other_valid_archives(
            a in arbitrary_archive(),
            bits in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        ) {
            let bytes = assert_round_trips(&a);
            let mut damaged = bytes.clone();
            for bit in &bits {
                let bit = bit.index(bytes.len() * 8);
                damaged[bit / 8] ^= 1 << (bit % 8);
            }
            if damaged != bytes {
                assert_error_or_canonical(&a, &damaged);
            }
        }

        #[test]
        fn bit_flips_in_generated_archives(seed in any::<u64>(), bit in any::<prop::sample::Index>()) {
            let a = generated(seed, 3_000);
            let mut bytes = archive::encode(&a).unwrap();
            let bit = bit.index(bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert_error_or_canonical(&a, &bytes);
        }

        #[test]
        fn appended_bytes_are_trailing(a in arbitrary_archive(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
            let mut bytes = archive::encode(&a).unwrap();
            let end = bytes.len() as u64;
            bytes.extend_from_slice(&extra);
            prop_assert_eq!(
                archive::decode(&bytes),
                Err(ArchiveError::TrailingBytes { offset: end, count: extra.len() as u64 })
            );
        }

        /// Garbage after a valid preamble never panics, and anything accepted is canonical.
        #[test]
        fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut bytes = archive::MAGIC.to_vec();
            bytes.extend_from_slice(&archive::VERSION.to_be_bytes());
            bytes.extend_from_slice(&tail);
            if let Ok(a) = archive::decode(&bytes) {
                prop_assert_eq!(archive::encode(&a).unwrap(), bytes);
            }
        }
    }

    // ---------------------------------------------------------------------------
    // Truncation of a realistic archive, exhaustively.

    #[test]
    fn every_truncation_of_a_small_generated_archive_is_an_error() {
        let a = generated(7, 2_000);
        assert!(a.message_count() >= 5, "{a:?}");
        let bytes = archive::encode(&a).unwrap();
        for end in 0..bytes.len() {
            let result = archive::decode(&bytes[..end]);
            assert!(
                matches!(result, Err(ArchiveError::Truncated { .. })),
                "prefix of {end} bytes: {result:?}"
            );
        }
    }

    // ---------------------------------------------------------------------------
    // Limits: checked before allocating, so absurd claims fail fast.

    /// The preamble followed by `rest`.
    fn with_preamble(rest: &[&[u8]]) -> Vec<u8> {
        let mut bytes = archive::MAGIC.to_vec();
        bytes.extend_from_slice(&archive::VERSION.to_be_bytes());
        for part in rest {
            bytes.extend_from_slice(part);
        }
        bytes
    }

    fn unlimited() -> DecodeLimits {
        DecodeLimits {
            max_total_bytes: u64::MAX,
            max_chats: u32::MAX,
            max_messages: u64::MAX,
            max_media_bytes: u64::MAX,
            max_string_bytes: u32::MAX,
        }
    }

    /// One chat with id 1, the given title length field, and what follows.
    fn chat_with(title_len: u32, rest: &[&[u8]]) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![&[0, 0, 0, 1], &[0, 0, 0, 0, 0, 0, 0, 1]];
        let title = title_len.to_be_bytes();
        parts.push(&title);
        parts.extend_from_slice(rest);
        with_preamble(&parts)
    }

    #[test]
    fn a_huge_chat_count_fails_fast() {
        let bytes = with_preamble(&[&u32::MAX.to_be_bytes(), &[0; 40]]);
        assert_eq!(
            archive::decode(&bytes),
            Err(ArchiveError::LimitExceeded {
                offset: 10,
                field: Field::ChatCount,
                limit: Limit::Chats,
                value: u64::from(u32::MAX),
                max: 100_000,
            })
        );
        // Without the limit, the remaining input still bounds it.
        assert_eq!(
            archive::decode_with(&bytes, &unlimited()),
            Err(ArchiveError::Truncated {
                offset: 10,
                field: Field::ChatCount,
                needed: 4 + u64::from(u32::MAX) * 20,
                remaining: 44,
            })
        );
    }

    #[test]
    fn a_string_claiming_4_gib_fails_fast() {
        let bytes = chat_with(u32::MAX, &[b"abc", &[0; 16]]);
        assert_eq!(
            archive::decode(&bytes),
            Err(ArchiveError::LimitExceeded {
                offset: 22,
                field: Field::ChatTitle,
                limit: Limit::StringBytes,
                value: u64::from(u32::MAX),
                max: 1 << 20,
            })
        );
        assert_eq!(
            archive::decode_with(&bytes, &unlimited()),
            Err(ArchiveError::Truncated {
                offset: 22,
                field: Field::ChatTitle,
                needed: 4 + u64::from(u32::MAX),
                remaining: 23,
            })
        );
    }

    #[test]
    fn huge_member_and_message_counts_fail_fast() {
        let members = chat_with(0, &[&u32::MAX.to_be_bytes(), &[0; 16]]);
        assert_eq!(
            archive::decode_with(&members, &unlimited()),
            Err(ArchiveError::Truncated {
                offset: 26,
                field: Field::MemberCount,
                needed: 4 + u64::from(u32::MAX) * 8,
                remaining: 20,
            })
        );
        let messages = chat_with(0, &[&[0; 4], &u32::MAX.to_be_bytes(), &[0; 16]]);
        assert!(matches!(
            archive::decode(&messages),
            Err(ArchiveError::LimitExceeded {
                offset: 30,
                field: Field::MessageCount,
                limit: Limit::Messages,
                ..
            })
        ));
        assert_eq!(
            archive::decode_with(&messages, &unlimited()),
            Err(ArchiveError::Truncated {
                offset: 30,
                field: Field::MessageCount,
                needed: 4 + u64::from(u32::MAX) * 29,
                remaining: 20,
            })
        );
    }

    #[test]
    fn a_media_item_claiming_4_gib_fails_fast() {
        let photo = Archive {
            chats: vec![Chat {
                id: ChatId(1),
                title: String::new(),
                members: vec![],
                messages: vec![Message {
                    id: MessageId(1),
                    sender: ParticipantId(1),
                    sent_at_ms: 0,
                    body: MessageBody::Photo { media: MediaId(3) },
                }],
            }],
            media: BTreeMap::from([(
                MediaId(3),
                Media {
                    mime: String::new(),
                    bytes: Bytes::from_static(b"tiny"),
                },
            )]),
        };
        let mut bytes = archive::encode(&photo).unwrap();
        let length_at = bytes.len() - 4 - 8;
        bytes[length_at..length_at + 8].copy_from_slice(&(4u64 << 30).to_be_bytes());
        assert_eq!(
            archive::decode(&bytes),
            Err(ArchiveError::LimitExceeded {
                offset: length_at as u64,
                field: Field::MediaLength,
                limit: Limit::MediaBytes,
                value: 4 << 30,
                max: 1 << 30,
            })
        );
        assert_eq!(
            archive::decode_with(&bytes, &unlimited()),
            Err(ArchiveError::Truncated {
                offset: length_at as u64,
                field: Field::MediaLength,
                needed: 8 + (4 << 30),
                remaining: 12,
            })
        );
    }

    #[test]
    fn running_totals_and_input_length_are_limited() {
        let a = generated(3, 200_000);
        let bytes = archive::encode(&a).unwrap();
        let exact = DecodeLimits {
            max_total_bytes: bytes.len() as u64,
            max_chats: a.chats.len() as u32,
            max_messages: a.message_count() as u64,
            max_media_bytes: a.media_bytes(),
            max_string_bytes: a
                .chats
                .iter()
                .flat_map(|c| {
                    c.messages
                        .iter()
                        .map(|m| match &m.body {
                            MessageBody::Text(s) | MessageBody::Document { file_name: s, .. } => {
                                s.len()
                            }
                            _ => 0,
                        })
                        .chain([c.title.len()])
                })
                .chain(a.media.values().map(|m| m.mime.len()))
                .max()
                .unwrap() as u32,
        };
        assert_eq!(archive::decode_with(&bytes, &exact).unwrap(), a);
        let over = |limits: DecodeLimits| archive::decode_with(&bytes, &limits).unwrap_err();
        assert_eq!(
            over(DecodeLimits {
                max_total_bytes: bytes.len() as u64 - 1,
                ..exact
            }),
            ArchiveError::InputTooLarge {
                len: bytes.len() as u64,
                max: bytes.len() as u64 - 1
            }
        );
        let cases = [
            (
                DecodeLimits {
                    max_chats: exact.max_chats - 1,
                    ..exact
                },
                Limit::Chats,
            ),
            (
                DecodeLimits {
                    max_messages: exact.max_messages - 1,
                    ..exact
                },
                Limit::Messages,
            ),
            (
                DecodeLimits {
                    max_media_bytes: exact.max_media_bytes - 1,
                    ..exact
                },
                Limit::MediaBytes,
            ),
            (
                DecodeLimits {
                    max_string_bytes: exact.max_string_bytes - 1,
                    ..exact
                },
                Limit::StringBytes,
            ),
        ];
        for (limits, expected) in cases {
            match over(limits) {
                ArchiveError::LimitExceeded { limit, .. } => assert_eq!(limit, expected),
                other => panic!("{expected:?}: {other:?}"),
            }
        }
    }

    // ---------------------------------------------------------------------------
    // The encoder checks the rules, with the offsets the fields would have had.

    fn one_chat(messages: Vec<Message>, media: BTreeMap<MediaId, Media>) -> Archive {
        Archive {
            chats: vec![Chat {
                id: ChatId(5),
                title: "t".into(),
                members: vec![ParticipantId(1), ParticipantId(2)],
                messages,
            }],
            media,
        }
    }

    fn text_message(id: u64) -> Message {
        Message {
            id: MessageId(id),
            sender: ParticipantId(1),
            sent_at_ms: 1,
            body: MessageBody::Text("hi".into()),
        }
    }

    #[test]
    fn the_encoder_rejects_what_the_decoder_would() {
        let mut a = one_chat(vec![text_message(1), text_message(1)], BTreeMap::new());
        // preamble 10, count 4, chat id 8, title 5, members 4 + 16, count 4, message 31.
        assert_eq!(
            archive::encode(&a),
            Err(ArchiveError::OutOfOrder {
                offset: 82,
                field: Field::MessageId,
                previous: 1,
                found: 1
            })
        );
        a.chats[0].messages.pop();
        a.chats[0].members.reverse();
        assert!(matches!(
            a.check(),
            Err(ArchiveError::OutOfOrder {
                offset: 39,
                field: Field::Member,
                ..
            })
        ));
        a.chats[0].members.reverse();
        a.chats.push(a.chats[0].clone());
        assert!(matches!(
            archive::encode(&a),
            Err(ArchiveError::OutOfOrder {
                field: Field::ChatId,
                ..
            })
        ));
        a.chats.pop();

        // An entry nobody refers to, then a reference without an entry.
        let media = Media {
            mime: "image/png".into(),
            bytes: Bytes::from_static(&[1, 2, 3]),
        };
        a.media.insert(MediaId(9), media.clone());
        let end = archive::encode(&Archive {
            media: BTreeMap::new(),
            ..a.clone()
        })
        .unwrap()
        .len() as u64
            - 4;
        assert_eq!(
            archive::encode(&a),
            Err(ArchiveError::MediaCount {
                offset: end,
                declared: 1,
                referenced: 0
            })
        );
        a.chats[0].messages.push(Message {
            body: MessageBody::Photo { media: MediaId(8) },
            ..text_message(2)
        });
        assert!(matches!(
            archive::encode(&a),
            Err(ArchiveError::MediaMismatch {
                expected: 8,
                found: 9,
                ..
            })
        ));
        a.media = BTreeMap::from([(MediaId(8), media)]);
        assert_round_trips(&a);
    }

    #[test]
    fn unknown_versions_and_magics_are_named() {
        let mut bytes = archive::encode(&Archive::empty()).unwrap();
        assert_eq!(archive::decode(&bytes).unwrap(), Archive::empty());
        bytes[9] = 2;
        assert_eq!(
            archive::decode(&bytes),
            Err(ArchiveError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(archive::decode(b"PK\x03\x04"), Err(ArchiveError::BadMagic));
        assert_eq!(
            archive::decode(b"BVAR"),
            Err(ArchiveError::Truncated {
                offset: 0,
                field: Field::Magic,
                needed: 8,
                remaining: 4
            })
        );
        assert!(matches!(
            archive::decode(b""),
            Err(ArchiveError::Truncated {
                field: Field::Magic,
                remaining: 0,
                ..
            })
        ));
    }

    #[test]
    fn debug_prints_media_length_not_bytes() {
        let media = Media {
            mime: "image/jpeg".into(),
            bytes: Bytes::from(vec![0xab; 1000]),
        };
        let debug = format!("{media:?}");
        assert!(debug.contains("len: 1000"), "{debug}");
        assert!(!debug.contains("xab") && !debug.contains("171"), "{debug}");
    }
}
