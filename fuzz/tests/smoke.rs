//! Deterministic smoke runs of every target on a few thousand generated
//! inputs: a poor man's fuzzer that runs in `cargo test` on stable, so that a
//! broken property or a target that panics on ordinary inputs is caught
//! before anyone runs libFuzzer. Each test also checks that its inputs reach
//! the interesting outcomes, so it cannot pass by only feeding garbage.

use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{self, Header};
use backup_vault::key::{BackupKey, KeyTextError};
use backup_vault_fuzz::prng::SplitMix64;
use backup_vault_fuzz::seeds;
use backup_vault_fuzz::targets::{self, Mutation, OtherBackup, RoundtripInput};

/// Applies 1 to 3 random byte-level edits to `bytes`.
fn mutate(rng: &mut SplitMix64, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        let len = bytes.len();
        match rng.below(5) {
            0 if len > 0 => {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => bytes.truncate(rng.below(len + 1)),
            2 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(20);
                let extra = rng.bytes(n);
                bytes.splice(at..at, extra);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(40)).min(len);
                bytes.drain(start..end);
            }
            _ if len > 0 => {
                let i = rng.below(len);
                bytes[i] = rng.next_u64() as u8;
            }
            _ => bytes.push(0),
        }
    }
}

#[test]
fn header_smoke() {
    let bases: Vec<Vec<u8>> = seeds::header_seeds().into_iter().map(|s| s.bytes).collect();
    let mut rng = SplitMix64::new(1);
    let mut parsed = 0;
    for i in 0..4000 {
        let mut input = bases[i % bases.len()].clone();
        if i % 4 != 0 {
            mutate(&mut rng, &mut input);
        }
        if i % 50 == 0 {
            let n = rng.below(300);
            input = rng.bytes(n);
        }
        parsed += usize::from(Header::parse(&input).is_ok());
        targets::header(&input);
    }
    assert!(parsed >= 300, "only {parsed} inputs parsed");
}

#[test]
fn decrypt_smoke() {
    let bases: Vec<Vec<u8>> = seeds::decrypt_seeds()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let key = targets::fuzz_key();
    let options = targets::decrypt_options();
    let mut rng = SplitMix64::new(2);
    let (mut ok, mut failed_in_chunks) = (0, 0);
    for i in 0..3000 {
        let mut input = bases[i % bases.len()].clone();
        // Mostly damage the chunks: header damage is caught by the checksum.
        if i % 5 != 0 {
            let mut tail = input.split_off(input.len().min(HEADER_LEN));
            mutate(&mut rng, &mut tail);
            input.extend(tail);
        }
        if i % 7 == 0 {
            mutate(&mut rng, &mut input);
        }
        match format::decrypt_with(&key, &input, &options) {
            Ok(_) => ok += 1,
            Err(
                format::BackupError::CorruptChunk { .. }
                | format::BackupError::TrailingData { .. }
                | format::BackupError::Truncated {
                    at: format::TruncatedAt::Chunk { .. } | format::TruncatedAt::AfterChunk { .. },
                },
            ) => failed_in_chunks += 1,
            Err(_) => {}
        }
        targets::decrypt(&input);
    }
    assert!(ok >= 100, "only {ok} inputs decrypted");
    assert!(
        failed_in_chunks >= 1000,
        "only {failed_in_chunks} failed in chunks"
    );
}

#[test]
fn roundtrip_smoke_on_raw_bytes() {
    let mut rng = SplitMix64::new(3);
    for _ in 0..1500 {
        let len = rng.below(400);
        targets::roundtrip(&rng.bytes(len));
    }
}

/// Every mutation kind, on structured inputs built directly.
#[test]
fn roundtrip_smoke_on_every_mutation() {
    let mut rng = SplitMix64::new(4);
    let plaintext = rng.bytes(3000);
    let other_plaintext = rng.bytes(3000);
    let insert = rng.bytes(64);
    for i in 0..1500 {
        let n_mutations = rng.below(4);
        let mutations: Vec<Mutation<'_>> = (0..n_mutations)
            .map(|_| {
                let (a, b, c) = (rng.next_u64() as u32, rng.next_u64() as u32, rng.next_u64());
                match rng.below(9) {
                    0 => Mutation::FlipBit { bit: a },
                    1 => Mutation::Truncate { at: a },
                    2 => Mutation::Insert {
                        at: a,
                        bytes: &insert[..b as usize % insert.len()],
                    },
                    3 => Mutation::Delete {
                        start: a,
                        len: b as u16 % 200,
                    },
                    4 => Mutation::SwapChunks {
                        a: a as u16,
                        b: b as u16,
                    },
                    5 => Mutation::DuplicateChunk {
                        chunk: a as u16,
                        before: b as u16,
                    },
                    6 => Mutation::Splice {
                        from: a,
                        to: b,
                        len: c as u16 % 300,
                        insert: c & (1 << 20) != 0,
                    },
                    7 => Mutation::SpliceChunk {
                        from: a as u16,
                        to: b as u16,
                    },
                    _ => Mutation::SpliceHeader,
                }
            })
            .collect();
        let input = RoundtripInput {
            plaintext: &plaintext[..rng.below(600)],
            pad_to: if i % 10 == 0 {
                rng.below(3000) as u16
            } else {
                0
            },
            chunk_size: [0, 1, 15, 63, 511, rng.next_u64() as u16][i % 6],
            generation: rng.next_u64(),
            rng_seed: [i as u8; 32],
            other: OtherBackup {
                plaintext: &other_plaintext[..rng.below(600)],
                same_shape: i % 3 != 0,
                chunk_size: rng.next_u64() as u16,
                generation: rng.next_u64(),
            },
            mutations,
        };
        targets::check_roundtrip(&input);
        // The backend cross-check reads the same input.
        if i % 3 == 0 {
            targets::check_backends(&input);
        }
    }
}

#[test]
fn backends_smoke_on_raw_bytes() {
    let mut rng = SplitMix64::new(13);
    for _ in 0..500 {
        let len = rng.below(400);
        targets::backends(&rng.bytes(len));
    }
}

#[test]
fn key_text_smoke() {
    const PIECES: [&str; 16] = [
        "0", "9", "a", "f", "A", "F", "7", "c", " ", "-", "\n", "\r\n", "x", "\t", "\u{e9}",
        "\u{a0}",
    ];
    let mut rng = SplitMix64::new(5);
    let (mut ok, mut bad_char, mut wrong_len) = (0, 0, 0);
    for i in 0..5000 {
        let text = if i % 3 == 0 {
            // A valid key in some layout, maybe with one character replaced.
            let key = BackupKey::from_bytes(&rng.bytes(32).try_into().unwrap());
            let mut t = if i % 2 == 0 {
                key.to_text_grid().to_string()
            } else {
                key.to_text().replace(' ', PIECES[8 + rng.below(4)])
            };
            if rng.one_in(2) {
                let chars: Vec<char> = t.chars().collect();
                let at = rng.below(chars.len());
                let piece = PIECES[rng.below(PIECES.len())];
                t = chars[..at].iter().collect::<String>()
                    + piece
                    + &chars[at + 1..].iter().collect::<String>();
            }
            t
        } else if i % 500 == 1 {
            "0".repeat(4097)
        } else {
            let n = 50 + rng.below(40);
            (0..n)
                .map(|_| {
                    PIECES[if rng.one_in(10) {
                        rng.below(16)
                    } else {
                        rng.below(12)
                    }]
                })
                .collect()
        };
        match BackupKey::parse(&text) {
            Ok(_) => ok += 1,
            Err(KeyTextError::InvalidCharacter { .. }) => bad_char += 1,
            Err(KeyTextError::WrongLength { .. }) => wrong_len += 1,
            Err(KeyTextError::TooLong { .. }) => {}
        }
        targets::key_text(text.as_bytes());
    }
    assert!(
        ok >= 500 && bad_char >= 500 && wrong_len >= 500,
        "{ok} {bad_char} {wrong_len}"
    );
    // Invalid UTF-8 is skipped, not a panic.
    targets::key_text(&[0xff, 0xfe, b'0']);
}

#[test]
fn archive_smoke() {
    use backup_vault::archive;
    let bases: Vec<Vec<u8>> = seeds::archive_seeds()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let limits = targets::archive_limits();
    let mut rng = SplitMix64::new(6);
    let (mut ok, mut changed_ok) = (0, 0);
    for i in 0..4000 {
        let base = &bases[i % bases.len()];
        let mut input = base.clone();
        if i % 4 != 0 {
            if rng.one_in(2) {
                // A single bit flip: often a different, still valid archive.
                if !input.is_empty() {
                    let bit = rng.below(input.len() * 8);
                    input[bit / 8] ^= 1 << (bit % 8);
                }
            } else {
                mutate(&mut rng, &mut input);
            }
        }
        if archive::decode_with(&input, &limits).is_ok() {
            ok += 1;
            changed_ok += usize::from(&input != base);
        }
        targets::archive(&input);
    }
    assert!(ok >= 400, "only {ok} inputs decoded");
    assert!(
        changed_ok >= 200,
        "only {changed_ok} damaged inputs decoded"
    );
}

/// Runs `target` on its seeds and on 3000 mutations of them; returns how
/// many inputs `accepts` and how many of those differ from their seed.
fn wire_smoke(
    seed: u64,
    bases: Vec<Vec<u8>>,
    target: fn(&[u8]),
    accepts: impl Fn(&[u8]) -> bool,
) -> (usize, usize) {
    let mut rng = SplitMix64::new(seed);
    let (mut ok, mut changed_ok) = (0, 0);
    for i in 0..3000 {
        let base = &bases[i % bases.len()];
        let mut input = base.clone();
        if i % 4 != 0 {
            if rng.one_in(2) && !input.is_empty() {
                let bit = rng.below(input.len() * 8);
                input[bit / 8] ^= 1 << (bit % 8);
            } else {
                mutate(&mut rng, &mut input);
            }
        }
        if accepts(&input) {
            ok += 1;
            changed_ok += usize::from(&input != base);
        }
        target(&input);
    }
    (ok, changed_ok)
}

#[test]
fn wire_client_smoke() {
    use backup_vault::vault::crypto::SymbolicCrypto as S;
    use backup_vault::wire;
    let bases = seeds::wire_client_seeds()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let (ok, changed) = wire_smoke(7, bases, targets::wire_client, |b| {
        wire::decode_client_request::<S>(b, &targets::WIRE_LIMITS).is_ok()
            || wire::decode_client_response::<S>(b, &targets::WIRE_LIMITS).is_ok()
    });
    assert!(ok >= 500 && changed >= 100, "{ok} {changed}");
}

#[test]
fn wire_peer_smoke() {
    use backup_vault::vault::crypto::SymbolicCrypto as S;
    use backup_vault::wire;
    let bases = seeds::wire_peer_seeds()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let (ok, changed) = wire_smoke(8, bases, targets::wire_peer, |b| {
        wire::decode_peer_message::<S>(b, &targets::WIRE_LIMITS).is_ok()
    });
    assert!(ok >= 400 && changed >= 100, "{ok} {changed}");
}

#[test]
fn disk_log_smoke() {
    use backup_vault::vault::crypto::SymbolicCrypto as S;
    use backup_vault::wire::{self, Tail};
    let bases = seeds::disk_log_seeds()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let (clean, _) = wire_smoke(9, bases, targets::disk_log, |b| {
        wire::decode_disk_log::<S>(b, &targets::DISK_LIMITS).1 == Tail::Clean
    });
    assert!(clean >= 300, "{clean}");
}
