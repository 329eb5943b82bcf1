//! The stream decoder: the same frames (and the same first error) whatever
//! the chunking, bounded buffering, early rejection, fail-stop.

/// Everything under `wire::` so that `cargo test wire` selects it.
mod wire {
    use backup_vault::vault::ids::{LogIndex, Term};
    use backup_vault::vault::raft::log::Entry;
    use backup_vault::vault::raft::message::PeerMessage;
    use backup_vault::wire::{
        encode_frame, frame, Frame, FrameDecoder, FrameLimits, Kind, WireError, HEADER_LEN,
    };
    use proptest::prelude::*;

    type Msg = PeerMessage<u32, Vec<u32>>;

    fn sample(i: u32) -> (Kind, Msg) {
        let kind = Kind::ALL[i as usize % Kind::ALL.len()];
        let msg = match i % 4 {
            0 => PeerMessage::Vote {
                term: Term(u64::from(i)),
                granted: i.is_multiple_of(2),
            },
            1 => PeerMessage::Append {
                term: Term(3),
                prev_index: LogIndex(u64::from(i)),
                prev_term: Term(2),
                entries: (0..i % 7)
                    .map(|k| Entry {
                        term: Term(3),
                        command: Some(k * 1000),
                    })
                    .collect(),
                commit: LogIndex(1),
            },
            2 => PeerMessage::InstallSnapshot {
                term: Term(9),
                index: LogIndex(100),
                index_term: Term(8),
                snapshot: (0..i * 13).collect(),
            },
            _ => PeerMessage::SnapshotReply {
                term: Term(u64::MAX),
                index: LogIndex(u64::from(i) << 40),
            },
        };
        (kind, msg)
    }

    fn stream_of(n: u32) -> (Vec<(Kind, Msg)>, Vec<u8>) {
        let msgs: Vec<_> = (0..n).map(sample).collect();
        let mut bytes = Vec::new();
        for (kind, m) in &msgs {
            bytes.extend(encode_frame(*kind, m, &FrameLimits::DEFAULT).unwrap());
        }
        (msgs, bytes)
    }

    /// Feeds `bytes` in pieces of the given sizes (cycling), taking frames as
    /// they complete; returns the frames and the error that stopped it, if any.
    fn feed(
        dec: &mut FrameDecoder,
        bytes: &[u8],
        sizes: &[usize],
    ) -> (Vec<Frame>, Option<WireError>) {
        let mut frames = Vec::new();
        let mut at = 0;
        let mut turn = 0;
        while at < bytes.len() {
            let end = (at + sizes[turn % sizes.len()].max(1)).min(bytes.len());
            turn += 1;
            let mut piece = &bytes[at..end];
            while !piece.is_empty() {
                let took = dec.push(piece);
                assert!(dec.buffered() <= dec.capacity());
                piece = &piece[took..];
                at += took;
                loop {
                    match dec.next_frame() {
                        Ok(Some(f)) => frames.push(f),
                        Ok(None) => break,
                        Err(e) => return (frames, Some(e)),
                    }
                }
                assert!(took > 0 || piece.is_empty(), "no progress");
            }
        }
        (frames, None)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn chunking_does_not_matter(
            n in 0u32..12,
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let (msgs, bytes) = stream_of(n);
            let mut dec = FrameDecoder::new(FrameLimits::DEFAULT);
            let (frames, err) = feed(&mut dec, &bytes, &sizes);
            prop_assert_eq!(err, None);
            prop_assert_eq!(dec.buffered(), 0);
            prop_assert_eq!(frames.len(), msgs.len());
            for (f, (kind, m)) in frames.iter().zip(&msgs) {
                prop_assert_eq!(f.kind, *kind);
                prop_assert_eq!(&f.decode::<Msg>().unwrap(), m);
            }
        }

        #[test]
        fn the_first_error_does_not_depend_on_chunking(
            n in 1u32..8,
            at in any::<prop::sample::Index>(),
            value in any::<u8>(),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let (_, mut bytes) = stream_of(n);
            let i = at.index(bytes.len());
            bytes[i] = value;
            let mut whole = FrameDecoder::new(FrameLimits::DEFAULT);
            let (frames_whole, err_whole) = feed(&mut whole, &bytes, &[bytes.len()]);
            let mut pieces = FrameDecoder::new(FrameLimits::DEFAULT);
            let (frames_pieces, err_pieces) = feed(&mut pieces, &bytes, &sizes);
            prop_assert_eq!(frames_whole, frames_pieces);
            prop_assert_eq!(err_whole, err_pieces);
        }

        #[test]
        fn small_capacity_still_makes_progress(
            n in 0u32..10,
            sizes in proptest::collection::vec(1usize..400, 1..4),
        ) {
            // Capacity is exactly the largest frame in the stream.
            let (msgs, bytes) = stream_of(n);
            let mut longest = 0;
            let mut at = 0;
            while at < bytes.len() {
                let h = frame::parse_header(&bytes[at..], &FrameLimits::DEFAULT).unwrap();
                longest = longest.max(h.body_len);
                at += h.frame_len();
            }
            let limits = FrameLimits { max_body: longest, max_peer_body: longest };
            let mut dec = FrameDecoder::new(limits);
            prop_assert_eq!(dec.capacity(), HEADER_LEN + longest as usize);
            let (frames, err) = feed(&mut dec, &bytes, &sizes);
            prop_assert_eq!(err, None);
            prop_assert_eq!(frames.len(), msgs.len());
        }
    }

    #[test]
    fn push_takes_only_what_fits() {
        let limits = FrameLimits {
            max_body: 10,
            max_peer_body: 20,
        };
        let mut dec = FrameDecoder::new(limits);
        assert_eq!(dec.capacity(), HEADER_LEN + 20);
        let big = vec![0x89u8; 100];
        assert_eq!(dec.push(&big), 28);
        assert_eq!(dec.room(), 0);
        assert_eq!(dec.push(&big), 0);
    }

    #[test]
    fn oversize_header_fails_before_the_body_arrives() {
        let mut dec = FrameDecoder::new(FrameLimits::DEFAULT);
        let header = frame::FrameHeader {
            kind: Kind::PeerMessage,
            body_len: u32::MAX,
        }
        .to_bytes();
        assert_eq!(dec.push(&header), HEADER_LEN);
        let err = dec.next_frame().unwrap_err();
        assert!(matches!(err, WireError::Oversize { .. }), "{err:?}");
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn bad_magic_fails_on_the_first_byte() {
        let mut dec = FrameDecoder::new(FrameLimits::DEFAULT);
        dec.push(b"G");
        assert_eq!(
            dec.next_frame(),
            Err(WireError::BadMagic {
                offset: 0,
                found: b'G'
            })
        );
    }

    #[test]
    fn a_failed_decoder_stays_failed() {
        let (_, good) = stream_of(3);
        let mut dec = FrameDecoder::new(FrameLimits::DEFAULT);
        dec.push(&[0x89, b'V', 9]);
        let err = dec.next_frame().unwrap_err();
        assert_eq!(err, WireError::UnsupportedVersion { version: 9 });
        assert_eq!(dec.error(), Some(&err));
        assert_eq!(dec.room(), 0);
        assert_eq!(dec.push(&good), 0);
        for _ in 0..3 {
            assert_eq!(dec.next_frame(), Err(err.clone()));
        }
    }

    #[test]
    fn frames_check_their_kind() {
        let (_, bytes) = stream_of(1);
        let mut dec = FrameDecoder::new(FrameLimits::DEFAULT);
        dec.push(&bytes);
        let f = dec.next_frame().unwrap().unwrap();
        assert_eq!(f.kind, Kind::ClientRequest);
        assert_eq!(
            f.decode_as::<Msg>(Kind::PeerMessage),
            Err(WireError::UnexpectedKind {
                expected: Kind::PeerMessage,
                found: Kind::ClientRequest
            })
        );
        assert!(f.decode_as::<Msg>(Kind::ClientRequest).is_ok());
        assert_eq!(dec.next_frame(), Ok(None));
    }
}
