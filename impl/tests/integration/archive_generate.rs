//! The archive generator: deterministic for one RNG state, different across
//! seeds, on target in size, and realistic in content.

// In a module named `archive`, so that `cargo test -p backup-vault archive`
// selects every test of this file.
mod archive {
    use backup_vault::archive::{self, Archive, ArchiveSpec, MessageBody};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn generate(seed: u64, spec: &ArchiveSpec) -> Archive {
        archive::generate(&mut ChaCha20Rng::seed_from_u64(seed), spec)
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        for spec in [ArchiveSpec::tiny(), ArchiveSpec::small()] {
            let a = archive::encode(&generate(1, &spec)).unwrap();
            let b = archive::encode(&generate(1, &spec)).unwrap();
            let c = archive::encode(&generate(2, &spec)).unwrap();
            assert_eq!(a, b, "{spec:?}");
            assert_ne!(a, c, "{spec:?}");
        }
    }

    #[test]
    fn the_generator_draws_only_from_its_rng() {
        // Continuing from the same RNG state gives the same archive again.
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let _ = archive::generate(&mut rng, &ArchiveSpec::tiny());
        let state = rng.clone();
        let next = archive::generate(&mut rng, &ArchiveSpec::small());
        let mut replay = state;
        assert_eq!(archive::generate(&mut replay, &ArchiveSpec::small()), next);
    }

    #[test]
    fn sizes_hit_the_target() {
        let targets = [
            100,
            150,
            300,
            512,
            1_000,
            4_096,
            10_000,
            65_536,
            102_400,
            500_000,
            1 << 20,
            3 << 20,
        ];
        for target in targets {
            for seed in 0..8 {
                let len = archive::encoded_len(&generate(seed, &ArchiveSpec::with_target(target)))
                    .unwrap() as u64;
                assert!(len <= target, "target {target}, seed {seed}: {len} bytes");
                // Within 30 bytes, which is within 10% from 300 bytes up.
                assert!(
                    target - len < 30,
                    "target {target}, seed {seed}: {len} bytes"
                );
            }
        }
        // Below one chat with one message, the archive is empty.
        for target in [0, 10, 18, 50] {
            let a = generate(1, &ArchiveSpec::with_target(target));
            assert_eq!(a, Archive::empty(), "target {target}");
        }
    }

    #[test]
    fn the_large_preset_is_realistic() {
        let spec = ArchiveSpec::large();
        let a = generate(2026, &spec);
        let len = archive::encoded_len(&a).unwrap() as u64;
        assert!(len <= spec.target_bytes && len * 10 >= spec.target_bytes * 9);

        assert!(a.chats.len() >= 6, "{} chats", a.chats.len());
        assert!(a.chats.iter().any(|c| c.members.len() >= 3), "no group");
        assert!(a.chats.iter().any(|c| c.members.len() == 2), "no 1:1 chat");
        let messages: Vec<_> = a.chats.iter().flat_map(|c| &c.messages).collect();
        let texts: Vec<&str> = messages
            .iter()
            .filter_map(|m| match &m.body {
                MessageBody::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(texts.len() * 10 >= messages.len() * 8, "mostly text");
        let short = texts.iter().filter(|t| t.len() <= 40).count();
        assert!(short * 2 > texts.len(), "mostly short texts");
        assert!(texts.iter().any(|t| t.len() >= 500), "some long texts");
        assert!(texts.iter().any(|t| !t.is_ascii()), "some non-ASCII");
        assert!(
            texts.iter().any(|t| t.chars().any(|c| c >= '\u{1f300}')),
            "some emoji"
        );

        let mut kinds = [0usize; 4];
        for m in &messages {
            match m.body {
                MessageBody::Text(_) => {}
                MessageBody::Photo { .. } => kinds[0] += 1,
                MessageBody::Video { .. } => kinds[1] += 1,
                MessageBody::VoiceNote { .. } => kinds[2] += 1,
                MessageBody::Document { .. } => kinds[3] += 1,
            }
        }
        assert!(
            kinds.iter().all(|&k| k > 0),
            "photo, video, voice, document: {kinds:?}"
        );
        let sizes: Vec<usize> = a.media.values().map(|m| m.bytes.len()).collect();
        assert!(sizes.iter().any(|&s| s >= 1 << 20), "some media of MBs");
        assert!(sizes.iter().any(|&s| s < 200 << 10), "some media of KBs");
        assert!(
            a.media_bytes() * 10 >= len * 9,
            "media are most of the bytes"
        );
        for m in a.media.values() {
            assert!(!m.mime.is_empty());
        }

        for chat in &a.chats {
            for pair in chat.messages.windows(2) {
                assert!(pair[0].sent_at_ms < pair[1].sent_at_ms, "time increases");
            }
            for m in &chat.messages {
                assert!(chat.members.contains(&m.sender), "senders are members");
            }
        }
    }
}
