//! The disk log: a torn final write is told apart from corruption in the
//! middle, and no damaged record is ever returned as a write.

/// Everything under `wire::` so that `cargo test wire` selects it.
mod wire {
    use backup_vault::vault::ids::{LogIndex, NodeId, Term};
    use backup_vault::vault::raft::durable::DiskWrite;
    use backup_vault::vault::raft::log::Entry;
    use backup_vault::wire::disk::{
        decode_log, encode_record, RECORD_CHECK_LEN, RECORD_HEADER_LEN,
    };
    use backup_vault::wire::{CorruptReason, DiskEncodeError, DiskLimits, Tail, TornReason};
    use proptest::prelude::*;

    type Write = DiskWrite<u32, Vec<u32>>;

    const LIMITS: DiskLimits = DiskLimits::DEFAULT;

    fn write() -> impl Strategy<Value = Write> {
        prop_oneof![
            (any::<u64>(), proptest::option::of(any::<u8>())).prop_map(|(t, v)| {
                DiskWrite::HardState {
                    term: Term(t),
                    voted_for: v.map(NodeId),
                }
            }),
            (
                1..100u64,
                proptest::collection::vec((0..5u64, proptest::option::of(any::<u32>())), 0..5)
            )
                .prop_map(|(first, es)| DiskWrite::Entries {
                    first: LogIndex(first),
                    entries: es
                        .into_iter()
                        .map(|(t, command)| Entry {
                            term: Term(t),
                            command,
                        })
                        .collect(),
                }),
            (
                any::<u64>(),
                any::<u64>(),
                proptest::collection::vec(any::<u32>(), 0..6)
            )
                .prop_map(|(i, t, state)| DiskWrite::Snapshot {
                    index: LogIndex(i),
                    index_term: Term(t),
                    state,
                }),
        ]
    }

    fn encode_all(ws: &[Write]) -> (Vec<u8>, Vec<usize>) {
        let mut log = Vec::new();
        let mut starts = Vec::new();
        for w in ws {
            starts.push(log.len());
            log.extend(encode_record(w, &LIMITS).unwrap());
        }
        (log, starts)
    }

    fn decode(log: &[u8]) -> (Vec<Write>, Tail) {
        decode_log(log, &LIMITS)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(ws in proptest::collection::vec(write(), 0..6)) {
            let (log, _) = encode_all(&ws);
            prop_assert_eq!(decode(&log), (ws, Tail::Clean));
        }

        #[test]
        fn every_truncation_is_a_prefix_and_at_most_a_torn_tail(
            ws in proptest::collection::vec(write(), 1..4),
        ) {
            let (log, starts) = encode_all(&ws);
            for cut in 0..log.len() {
                let (got, tail) = decode(&log[..cut]);
                // Exactly the records wholly before the cut.
                let whole = starts.iter().skip(1).chain([&log.len()]).filter(|&&end| end <= cut).count();
                prop_assert_eq!(&got[..], &ws[..whole]);
                let boundary = starts.contains(&cut);
                if boundary {
                    prop_assert_eq!(tail, Tail::Clean);
                } else {
                    prop_assert_eq!(tail, Tail::Torn { valid_len: starts[whole], reason: TornReason::CutShort });
                }
            }
        }

        #[test]
        fn every_bit_flip_is_detected(ws in proptest::collection::vec(write(), 1..4)) {
            let (log, starts) = encode_all(&ws);
            for bit in 0..log.len() * 8 {
                let mut b = log.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                let (got, tail) = decode(&b);
                let hit = starts.iter().rposition(|&s| s <= bit / 8).unwrap();
                // Records before the damaged one are intact; it is never returned.
                prop_assert_eq!(&got[..], &ws[..hit]);
                let last = hit == ws.len() - 1;
                match tail {
                    Tail::Corrupt(c) => {
                        prop_assert_eq!(c.offset, starts[hit]);
                        prop_assert_eq!(c.record, hit);
                        // A damaged body with records after it is a check failure.
                        if bit / 8 >= starts[hit] + RECORD_HEADER_LEN {
                            prop_assert_eq!(c.reason, CorruptReason::RecordCheck);
                        }
                    }
                    Tail::Torn { valid_len, reason } => {
                        // Only the last record may be judged torn.
                        prop_assert!(last, "torn in the middle: bit {}", bit);
                        prop_assert_eq!(valid_len, starts[hit]);
                        prop_assert!(matches!(reason, TornReason::FinalChecksum | TornReason::CutShort));
                    }
                    Tail::Clean => prop_assert!(false, "flip of bit {} not detected", bit),
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let (got, tail) = decode(&bytes);
            // Whatever was accepted lies in the valid prefix and round-trips.
            prop_assert!(tail.valid_len(bytes.len()) <= bytes.len());
            let (again, _) = encode_all(&got);
            prop_assert_eq!(decode(&again), (got, Tail::Clean));
        }
    }

    fn three() -> Vec<Write> {
        vec![
            DiskWrite::HardState {
                term: Term(1),
                voted_for: Some(NodeId(0)),
            },
            DiskWrite::Entries {
                first: LogIndex(1),
                entries: vec![Entry {
                    term: Term(1),
                    command: Some(7),
                }],
            },
            DiskWrite::Snapshot {
                index: LogIndex(1),
                index_term: Term(1),
                state: vec![7],
            },
        ]
    }

    #[test]
    fn torn_tail_vs_middle_corruption() {
        let ws = three();
        let (log, starts) = encode_all(&ws);

        // The last record garbled in place: torn, the rest is kept.
        let mut torn = log.clone();
        let n = torn.len();
        torn[n - 3] ^= 0xff;
        assert_eq!(
            decode(&torn),
            (
                ws[..2].to_vec(),
                Tail::Torn {
                    valid_len: starts[2],
                    reason: TornReason::FinalChecksum
                }
            )
        );
        assert!(decode(&torn).1.check().is_ok());

        // The same damage in the middle record: corrupt, reported.
        let mut mid = log.clone();
        mid[starts[2] - 3] ^= 0xff;
        let (got, tail) = decode(&mid);
        assert_eq!(got, ws[..1].to_vec());
        let err = tail.check().unwrap_err();
        assert_eq!(err.offset, starts[1]);
        assert_eq!(err.record, 1);
        assert_eq!(err.reason, CorruptReason::RecordCheck);
        assert_eq!(tail.valid_len(mid.len()), starts[1]);

        // A damaged length field in the middle is caught by the header check,
        // not mistaken for a record running past the end.
        let mut len = log.clone();
        len[starts[1] + 8] = 0x7f;
        let (got, tail) = decode(&len);
        assert_eq!(got, ws[..1].to_vec());
        assert!(
            matches!(&tail, Tail::Corrupt(c) if c.reason == CorruptReason::HeaderCheck),
            "{tail:?}"
        );

        // The last write never landed but the file grew: zeros are torn.
        let mut zeroed = log[..starts[2]].to_vec();
        zeroed.extend(vec![0u8; 100]);
        assert_eq!(
            decode(&zeroed),
            (
                ws[..2].to_vec(),
                Tail::Torn {
                    valid_len: starts[2],
                    reason: TornReason::Zeroed
                }
            )
        );

        // The last record's header landed, its body as zeros, and zeros follow.
        let mut partial = log.clone();
        for b in &mut partial[starts[2] + RECORD_HEADER_LEN..] {
            *b = 0;
        }
        partial.extend([0u8; 10]);
        assert!(matches!(
            decode(&partial).1,
            Tail::Torn {
                reason: TornReason::FinalChecksum,
                ..
            }
        ));

        // Torn bytes followed by a new record (the driver forgot to cut the
        // file): corruption.
        let mut appended = torn.clone();
        appended.extend(encode_record(&ws[0], &LIMITS).unwrap());
        assert!(matches!(decode(&appended).1, Tail::Corrupt(_)));

        // Garbage after the last record that is not zeros: corrupt.
        let mut junk = log.clone();
        junk.extend(vec![0x55; 20]);
        assert!(matches!(
            decode(&junk).1,
            Tail::Corrupt(c) if c.reason == CorruptReason::BadMagic && c.record == 3
        ));
        // Fewer than a header of junk: torn.
        let mut short_junk = log;
        short_junk.extend([0x55; RECORD_HEADER_LEN - 1]);
        assert!(matches!(
            decode(&short_junk).1,
            Tail::Torn {
                reason: TornReason::CutShort,
                ..
            }
        ));
    }

    #[test]
    fn header_fields_are_checked() {
        let w = &three()[0];
        let rec = encode_record(w, &LIMITS).unwrap();
        let body_len = rec.len() - RECORD_HEADER_LEN - RECORD_CHECK_LEN;
        assert_eq!(&rec[..4], b"BVDR");
        assert_eq!(rec[4], backup_vault::wire::DISK_VERSION);
        assert_eq!(&rec[8..12], &(body_len as u32).to_be_bytes());

        // A reader with a smaller limit refuses the record as corrupt.
        let tight = DiskLimits {
            max_record_body: body_len as u32 - 1,
        };
        let (got, tail) = decode_log::<Write>(&rec, &tight);
        assert!(got.is_empty());
        assert!(matches!(
            tail,
            Tail::Corrupt(c) if matches!(c.reason, CorruptReason::TooLarge { .. })
        ));
        // And the encoder refuses to write it.
        assert!(matches!(
            encode_record(w, &tight),
            Err(DiskEncodeError::TooLarge { .. })
        ));
    }
}
