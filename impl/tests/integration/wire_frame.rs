//! Property tests of the frame layer on a small instantiation of the
//! consensus message (`PeerMessage<u32, Vec<u32>>`): round trips, every
//! truncation is `Incomplete`, every bit flip errors or decodes to some
//! value without panicking, oversize headers are refused from the header
//! alone, and a body must be used exactly.

/// Everything under `wire::` so that `cargo test wire` selects it.
mod wire {
    use backup_vault::vault::ids::{LogIndex, Term};
    use backup_vault::vault::raft::log::Entry;
    use backup_vault::vault::raft::message::PeerMessage;
    use backup_vault::wire::{
        decode_frame, decode_frame_of, encode_frame, frame, split_frame, FrameLimits, Kind,
        WireError, HEADER_LEN,
    };
    use proptest::prelude::*;

    type Msg = PeerMessage<u32, Vec<u32>>;

    const LIMITS: FrameLimits = FrameLimits::DEFAULT;

    fn term() -> impl Strategy<Value = Term> {
        prop_oneof![0..4u64, any::<u64>()].prop_map(Term)
    }

    fn index() -> impl Strategy<Value = LogIndex> {
        prop_oneof![0..4u64, any::<u64>()].prop_map(LogIndex)
    }

    fn entry() -> impl Strategy<Value = Entry<u32>> {
        (term(), proptest::option::of(any::<u32>()))
            .prop_map(|(term, command)| Entry { term, command })
    }

    fn msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            (term(), index(), term(), term(), index()).prop_map(
                |(term, last_index, last_term, rt, ri)| PeerMessage::PreVote {
                    term,
                    last_index,
                    last_term,
                    reached: (rt, ri),
                }
            ),
            (term(), any::<bool>())
                .prop_map(|(term, granted)| PeerMessage::PreVoteReply { term, granted }),
            (term(), index(), term(), term(), index()).prop_map(
                |(term, last_index, last_term, rt, ri)| PeerMessage::RequestVote {
                    term,
                    last_index,
                    last_term,
                    reached: (rt, ri),
                }
            ),
            (term(), any::<bool>()).prop_map(|(term, granted)| PeerMessage::Vote { term, granted }),
            term().prop_map(|term| PeerMessage::Attest { term }),
            (term(), term(), index()).prop_map(|(term, rt, ri)| PeerMessage::Attested {
                term,
                reached: (rt, ri)
            }),
            (
                term(),
                index(),
                term(),
                proptest::collection::vec(entry(), 0..6),
                index()
            )
                .prop_map(|(term, prev_index, prev_term, entries, commit)| {
                    PeerMessage::Append {
                        term,
                        prev_index,
                        prev_term,
                        entries,
                        commit,
                    }
                }),
            (term(), index(), any::<bool>()).prop_map(|(term, index, success)| {
                PeerMessage::AppendReply {
                    term,
                    index,
                    success,
                }
            }),
            (
                term(),
                index(),
                term(),
                proptest::collection::vec(any::<u32>(), 0..8)
            )
                .prop_map(|(term, index, index_term, snapshot)| {
                    PeerMessage::InstallSnapshot {
                        term,
                        index,
                        index_term,
                        snapshot,
                    }
                }),
            (term(), index()).prop_map(|(term, index)| PeerMessage::SnapshotReply { term, index }),
        ]
    }

    fn encode(m: &Msg) -> Vec<u8> {
        encode_frame(Kind::PeerMessage, m, &LIMITS).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trip(m in msg(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut bytes = encode(&m);
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            let (kind, back, consumed) = decode_frame::<Msg>(&bytes, &LIMITS).unwrap();
            prop_assert_eq!(kind, Kind::PeerMessage);
            prop_assert_eq!(back, m.clone());
            prop_assert_eq!(consumed, len);
            let (back, _) = decode_frame_of::<Msg>(Kind::PeerMessage, &bytes, &LIMITS).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn every_truncation_is_incomplete(m in msg()) {
            let bytes = encode(&m);
            for cut in 0..bytes.len() {
                match decode_frame::<Msg>(&bytes[..cut], &LIMITS) {
                    Err(WireError::Incomplete { needed }) => {
                        prop_assert!(needed >= 1 && cut + needed <= bytes.len(), "cut {} needed {}", cut, needed);
                        if cut >= HEADER_LEN {
                            prop_assert_eq!(cut + needed, bytes.len());
                        }
                    }
                    other => prop_assert!(false, "cut at {}: {:?}", cut, other),
                }
            }
        }

        #[test]
        fn every_bit_flip_errors_or_decodes(m in msg()) {
            let bytes = encode(&m);
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                match decode_frame::<Msg>(&b, &LIMITS) {
                    Ok((kind, value, consumed)) => {
                        // A flip may turn the message into another valid one (no
                        // checksum on frames; postcard also reads overlong
                        // varints), and that one round-trips.
                        prop_assert!(consumed <= b.len());
                        let again = encode_frame(kind, &value, &LIMITS).unwrap();
                        prop_assert_eq!(decode_frame::<Msg>(&again, &LIMITS).unwrap(), (kind, value, again.len()));
                    }
                    Err(e) => {
                        // Header flips are caught by the header checks.
                        if bit < 32 {
                            let header_error = matches!(
                                e,
                                WireError::BadMagic { .. }
                                    | WireError::UnsupportedVersion { .. }
                                    | WireError::UnknownKind { .. }
                            );
                            prop_assert!(header_error || bit / 8 == 3, "{:?}", e);
                        }
                    }
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_frame::<Msg>(&bytes, &LIMITS);
            let mut framed = frame::FrameHeader { kind: Kind::PeerMessage, body_len: bytes.len() as u32 }
                .to_bytes()
                .to_vec();
            framed.extend_from_slice(&bytes);
            if let Ok((_, value, consumed)) = decode_frame::<Msg>(&framed, &LIMITS) {
                prop_assert_eq!(consumed, framed.len());
                let again = encode(&value);
                prop_assert!(again.len() <= framed.len());
                prop_assert_eq!(decode_frame::<Msg>(&again, &LIMITS).unwrap().1, value);
            }
        }
    }

    #[test]
    fn header_claiming_4_gib_is_refused_from_8_bytes() {
        for kind in Kind::ALL {
            let header = frame::FrameHeader {
                kind,
                body_len: u32::MAX,
            }
            .to_bytes();
            let limit = LIMITS.max_body_for(kind);
            assert_eq!(
                decode_frame::<Msg>(&header, &LIMITS),
                Err(WireError::Oversize {
                    kind,
                    len: u64::from(u32::MAX),
                    limit
                })
            );
        }
        // Just over the limit is refused, exactly at it is merely incomplete.
        let at = |body_len| {
            frame::FrameHeader {
                kind: Kind::ClientRequest,
                body_len,
            }
            .to_bytes()
        };
        assert!(matches!(
            split_frame(&at(frame::DEFAULT_MAX_BODY + 1), &LIMITS),
            Err(WireError::Oversize { .. })
        ));
        assert_eq!(
            split_frame(&at(frame::DEFAULT_MAX_BODY), &LIMITS),
            Err(WireError::Incomplete {
                needed: frame::DEFAULT_MAX_BODY as usize
            })
        );
        // Per-call limits, and the client-facing limits refuse peer frames.
        let tight = FrameLimits {
            max_body: 3,
            max_peer_body: 3,
        };
        assert!(matches!(
            split_frame(&at(4), &tight),
            Err(WireError::Oversize { limit: 3, .. })
        ));
        let peer = encode(&PeerMessage::Vote {
            term: Term(1),
            granted: true,
        });
        assert!(matches!(
            decode_frame::<Msg>(&peer, &FrameLimits::CLIENT),
            Err(WireError::Oversize { limit: 0, .. })
        ));
    }

    #[test]
    fn encoder_refuses_bodies_over_the_limit() {
        let big: Msg = PeerMessage::InstallSnapshot {
            term: Term(1),
            index: LogIndex(1),
            index_term: Term(1),
            snapshot: vec![u32::MAX; 100],
        };
        let small = FrameLimits {
            max_body: 1 << 20,
            max_peer_body: 64,
        };
        assert!(matches!(
            encode_frame(Kind::PeerMessage, &big, &small),
            Err(WireError::Oversize {
                kind: Kind::PeerMessage,
                limit: 64,
                ..
            })
        ));
    }

    #[test]
    fn header_errors_are_typed_and_early() {
        let good = encode(&PeerMessage::Vote {
            term: Term(7),
            granted: false,
        });
        let with = |i: usize, v: u8| {
            let mut b = good.clone();
            b[i] = v;
            b
        };
        assert_eq!(
            decode_frame::<Msg>(&with(0, b'G')[..1], &LIMITS),
            Err(WireError::BadMagic {
                offset: 0,
                found: b'G'
            })
        );
        assert_eq!(
            decode_frame::<Msg>(&with(1, 0)[..2], &LIMITS),
            Err(WireError::BadMagic {
                offset: 1,
                found: 0
            })
        );
        assert_eq!(
            decode_frame::<Msg>(&with(2, 1)[..3], &LIMITS),
            Err(WireError::UnsupportedVersion { version: 1 })
        );
        assert_eq!(
            decode_frame::<Msg>(&with(3, 0)[..4], &LIMITS),
            Err(WireError::UnknownKind { kind: 0 })
        );
        assert_eq!(
            decode_frame::<Msg>(&with(3, 200), &LIMITS),
            Err(WireError::UnknownKind { kind: 200 })
        );
        assert_eq!(
            decode_frame_of::<Msg>(Kind::ClientRequest, &good, &LIMITS),
            Err(WireError::UnexpectedKind {
                expected: Kind::ClientRequest,
                found: Kind::PeerMessage
            })
        );
    }

    #[test]
    fn body_must_be_used_exactly() {
        let m: Msg = PeerMessage::Vote {
            term: Term(7),
            granted: true,
        };
        let good = encode(&m);
        // One extra byte inside the declared body.
        let mut long = good.clone();
        long.push(0);
        let len = (long.len() - HEADER_LEN) as u32;
        long[4..8].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode_frame::<Msg>(&long, &LIMITS),
            Err(WireError::TrailingBytes {
                kind: Kind::PeerMessage,
                extra: 1
            })
        );
        // A body one byte short of the message.
        let mut short = good[..good.len() - 1].to_vec();
        let len = (short.len() - HEADER_LEN) as u32;
        short[4..8].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            decode_frame::<Msg>(&short, &LIMITS),
            Err(WireError::Body {
                kind: Kind::PeerMessage,
                ..
            })
        ));
        // An unknown variant index (10 variants).
        let mut bad = good.clone();
        bad[HEADER_LEN] = 10;
        assert!(matches!(
            decode_frame::<Msg>(&bad, &LIMITS),
            Err(WireError::Body { .. })
        ));
        // A bool that is neither 0 nor 1.
        let mut bad = good;
        *bad.last_mut().unwrap() = 2;
        assert!(matches!(
            decode_frame::<Msg>(&bad, &LIMITS),
            Err(WireError::Body { .. })
        ));
    }

    #[test]
    fn sequence_length_prefix_claiming_billions_fails_without_allocating_it() {
        // An Append whose entry count claims u32::MAX entries in a 16-byte body.
        let mut body = vec![4u8, 1, 1, 1]; // variant Append, term 1, prev_index 1, prev_term 1
        body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // entries: 2^32 - 1
        body.extend_from_slice(&[1, 0]); // one entry: term 1, no command
        let mut bytes = frame::FrameHeader {
            kind: Kind::PeerMessage,
            body_len: body.len() as u32,
        }
        .to_bytes()
        .to_vec();
        bytes.extend_from_slice(&body);
        assert!(matches!(
            decode_frame::<Msg>(&bytes, &LIMITS),
            Err(WireError::Body { .. })
        ));
    }
}
