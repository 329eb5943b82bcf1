//! Property tests of the backup format: round trips at every size around
//! chunk boundaries, and every tampering we can name detected (FMT-1).

use backup_vault::flaws::FormatFlaw;
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{
    self, parallel, Backend, BackupError, BackupParams, ChunkSize, DecryptOptions, Decryptor,
    Encryptor, Generation, TruncatedAt, TAG_LEN,
};
use backup_vault::BackupKey;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::io::{Read, Write};
use std::num::NonZeroUsize;

fn key(seed: u64) -> BackupKey {
    BackupKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn params(seed: u64, chunk_size: u32) -> BackupParams {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed);
    BackupParams::new(
        &mut rng,
        Generation(seed),
        ChunkSize::new(chunk_size).unwrap(),
    )
}

fn plaintext(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut v);
    v
}

/// Byte ranges of each chunk (ciphertext and tag) in `file`.
fn chunk_ranges(file: &[u8], chunk_size: usize) -> Vec<std::ops::Range<usize>> {
    let full = chunk_size + TAG_LEN;
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < file.len() {
        let end = (at + full).min(file.len());
        out.push(at..end);
        at = end;
    }
    out
}

/// A reader that hands out data in pieces of the given sizes, cycling.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = want.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn threads(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Decrypts `file` every way the library offers and checks they agree.
fn decrypt_all_ways(
    k: &BackupKey,
    file: &[u8],
    read_sizes: &[usize],
) -> Result<Vec<u8>, BackupError> {
    let one_shot = format::decrypt(k, file).map(|(_, p)| p);
    let streamed = Decryptor::new(
        k,
        Pieces {
            data: file,
            sizes: read_sizes.to_vec(),
            turn: 0,
        },
    )
    .and_then(|mut d| {
        let mut out = Vec::new();
        d.read_to_end(&mut out).map_err(BackupError::from_io)?;
        Ok(out)
    });
    let mut in_place = file.to_vec();
    let in_place =
        format::decrypt_in_place(k, &mut in_place, &DecryptOptions::default()).map(|_| in_place);
    match (&one_shot, &in_place) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("in-place decoder disagrees: {one_shot:?} / {in_place:?}"),
    }
    // The portable reference backend accepts and rejects exactly the same files.
    let reference = DecryptOptions::default().with_backend(Backend::RustCrypto);
    let by_reference = format::decrypt_with(k, file, &reference).map(|(_, p)| p);
    match (&one_shot, &by_reference) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("backends disagree: {one_shot:?} / {by_reference:?}"),
    }
    let mut par_out = Vec::new();
    let par = parallel::decrypt_parallel(
        k,
        file,
        &mut par_out,
        &DecryptOptions::default(),
        threads(3),
    )
    .map(|_| par_out);
    match (&one_shot, &streamed, &par) {
        (Ok(a), Ok(b), Ok(c)) => {
            assert_eq!(a, b);
            assert_eq!(a, c);
        }
        (Err(a), Err(b), Err(c)) => {
            assert_eq!(a.to_string(), b.to_string());
            assert_eq!(a.to_string(), c.to_string());
        }
        _ => panic!("decoders disagree: {one_shot:?} / {streamed:?} / {par:?}"),
    }
    one_shot
}

fn lengths_around(chunk_size: usize) -> Vec<usize> {
    let cs = chunk_size;
    let mut v = vec![
        0,
        1,
        cs.saturating_sub(1),
        cs,
        cs + 1,
        2 * cs,
        2 * cs + 1,
        5 * cs - 1,
        7 * cs + 3,
    ];
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn round_trips_at_every_boundary_for_fixed_chunk_sizes() {
    for (i, cs) in [1usize, 2, 16, 1000, 4096].into_iter().enumerate() {
        let k = key(i as u64);
        for len in lengths_around(cs) {
            let p = params(len as u64, cs as u32);
            let pt = plaintext(len as u64, len);
            let file = format::encrypt(&k, &p, &pt);
            let chunks = format::chunk::chunk_count(len as u64, p.chunk_size) as usize;
            assert_eq!(file.len(), HEADER_LEN + len + chunks * TAG_LEN);
            assert_eq!(chunk_ranges(&file, cs).len(), chunks);
            assert_eq!(
                decrypt_all_ways(&k, &file, &[7, 1, 300]).unwrap(),
                pt,
                "cs {cs} len {len}"
            );
        }
    }
}

#[test]
fn a_large_stream_round_trips_through_a_pipe() {
    // 64 MiB that never sit in memory at once: encryptor and decryptor run on
    // two threads joined by an OS pipe; only hashes of both ends are compared.
    use std::hash::Hasher;
    const TOTAL: usize = 64 << 20;
    let k = key(99);
    let p = params(99, 64 * 1024);
    let (reader, writer) = std::io::pipe().unwrap();
    let producer = {
        let k = k.clone();
        std::thread::spawn(move || {
            let mut enc = Encryptor::new(&k, &p, writer).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let block = plaintext(5, 1 << 20);
            let mut sent = 0;
            while sent < TOTAL {
                let piece = &block[..(TOTAL - sent).min(block.len() - sent % 7)];
                h.write(piece);
                enc.write_all(piece).unwrap();
                sent += piece.len();
            }
            enc.finish().unwrap();
            h.finish()
        })
    };
    let mut dec = Decryptor::new(&k, reader).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 100_000];
    let mut got = 0;
    loop {
        let n = dec.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
        got += n;
    }
    assert_eq!(got, TOTAL);
    assert_eq!(h.finish(), producer.join().unwrap());
}

/// Applies `check` to every prefix of `file`; returns the first prefix length
/// that decrypts (none should).
fn first_accepted_truncation(
    k: &BackupKey,
    file: &[u8],
    options: &DecryptOptions,
) -> Option<usize> {
    (0..file.len()).find(|&n| format::decrypt_with(k, &file[..n], options).is_ok())
}

#[test]
fn every_truncation_point_is_an_error_naming_where() {
    let (k, cs) = (key(1), 16usize);
    let pt = plaintext(1, 5 * cs + 3);
    let file = format::encrypt(&k, &params(1, cs as u32), &pt);
    assert_eq!(
        first_accepted_truncation(&k, &file, &DecryptOptions::default()),
        None
    );
    let ranges = chunk_ranges(&file, cs);
    for n in 0..file.len() {
        let err = format::decrypt(&k, &file[..n]).unwrap_err();
        let expected_ok = match err {
            BackupError::Truncated {
                at: TruncatedAt::Header,
            } => n < HEADER_LEN,
            BackupError::Truncated {
                at: TruncatedAt::Chunk { index },
            } => {
                let start = ranges[index as usize].start;
                n >= start && n < start + TAG_LEN
            }
            BackupError::Truncated {
                at: TruncatedAt::AfterChunk { index },
            } => n == ranges[index as usize].end,
            BackupError::CorruptChunk {
                index,
                last_in_file: true,
            } => {
                let r = &ranges[index as usize];
                n >= r.start + TAG_LEN && n < r.end
            }
            _ => false,
        };
        assert!(expected_ok, "prefix {n}: {err}");
    }
}

/// An encryption cut off before `finish` (the source failed mid-read, a
/// panic unwound, a task was cancelled) leaves, in whatever reached the
/// writer, no file that decrypts: no final chunk vouches for its end. (The
/// outside bug vault-client/26 sealed the buffered data as the final chunk
/// on drop, as `BufWriter` flushes: an authentic file of a prefix.)
#[test]
fn an_encryptor_dropped_unfinished_leaves_nothing_that_decrypts() {
    for cs in [1usize, 7, 64] {
        for len in lengths_around(cs) {
            let (k, p) = (key(len as u64), params(len as u64, cs as u32));
            let pt = plaintext(len as u64, len);
            let mut out = Vec::new();
            {
                let mut enc = Encryptor::new(&k, &p, &mut out).unwrap();
                enc.write_all(&pt).unwrap();
                // Dropped here, unfinished.
            }
            assert!(
                format::decrypt(&k, &out).is_err(),
                "cs {cs} len {len}: an unfinished stream of {} bytes decrypts",
                out.len()
            );
        }
    }
}

#[test]
fn skipping_the_last_chunk_flag_makes_truncation_undetectable() {
    // The check above bites: with the flag switched off on both sides, a file
    // cut at a chunk boundary decrypts to a prefix of the plaintext.
    let (k, cs) = (key(1), 16usize);
    let pt = plaintext(1, 5 * cs + 3);
    let p = params(1, cs as u32).with_flaw(FormatFlaw::SkipLastChunkFlag);
    let options = DecryptOptions::default().with_flaw(FormatFlaw::SkipLastChunkFlag);
    let file = format::encrypt(&k, &p, &pt);
    let cut = first_accepted_truncation(&k, &file, &options)
        .expect("the flawed format accepts a truncation");
    let (_, got) = format::decrypt_with(&k, &file[..cut], &options).unwrap();
    assert_ne!(got, pt);
    assert!(pt.starts_with(&got));
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let (k, cs) = (key(2), 16usize);
    let pt = plaintext(2, 2 * cs + 5);
    let file = format::encrypt(&k, &params(2, cs as u32), &pt);
    let ranges = chunk_ranges(&file, cs);
    for bit in 0..file.len() * 8 {
        let mut f = file.clone();
        f[bit / 8] ^= 1 << (bit % 8);
        let err = format::decrypt(&k, &f).unwrap_err();
        let byte = bit / 8;
        if byte < HEADER_LEN {
            assert!(
                matches!(
                    err,
                    BackupError::BadHeader { .. } | BackupError::UnsupportedVersion { .. }
                ),
                "header bit {bit}: {err}"
            );
        } else {
            let chunk = ranges.iter().position(|r| r.contains(&byte)).unwrap() as u64;
            assert!(
                matches!(err, BackupError::CorruptChunk { index, .. } if index == chunk),
                "bit {bit} in chunk {chunk}: {err}"
            );
        }
    }
}

#[test]
fn appended_bytes_are_errors() {
    let k = key(3);
    // Final chunk full: what follows it is recognised as trailing data.
    let full = format::encrypt(&k, &params(3, 16), &plaintext(3, 48));
    // Final chunk short: appended bytes make it an unauthentic chunk.
    let short = format::encrypt(&k, &params(3, 16), &plaintext(3, 40));
    for extra in [&b"\0"[..], b"more bytes", &full[HEADER_LEN..]] {
        let mut f = full.clone();
        f.extend_from_slice(extra);
        let err = format::decrypt(&k, &f).unwrap_err();
        assert!(
            matches!(err, BackupError::TrailingData { final_chunk: 2 }),
            "{err}"
        );
        let mut f = short.clone();
        f.extend_from_slice(extra);
        let err = format::decrypt(&k, &f).unwrap_err();
        assert!(
            matches!(err, BackupError::CorruptChunk { index: 2, .. }),
            "{err}"
        );
    }
}

fn with_chunks(file: &[u8], ranges: &[std::ops::Range<usize>], order: &[&[u8]]) -> Vec<u8> {
    let mut out = file[..HEADER_LEN].to_vec();
    for c in order {
        out.extend_from_slice(c);
    }
    let _ = ranges;
    out
}

prop_compose! {
    fn case()(chunk_size in 1u32..300, chunks in 1usize..8, tail in 0usize..300, seed in any::<u64>()) -> (u32, usize, u64) {
        let cs = chunk_size as usize;
        let len = if chunks == 1 { tail % (cs + 1) } else { (chunks - 1) * cs + 1 + tail % cs };
        (chunk_size, len, seed)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn round_trips_with_random_chunk_sizes_and_write_patterns(
        (cs, len, seed) in case(),
        write_sizes in prop::collection::vec(1usize..700, 1..6),
        read_sizes in prop::collection::vec(1usize..700, 1..6),
        n_threads in 1usize..5,
    ) {
        let k = key(seed);
        let p = params(seed, cs);
        let pt = plaintext(seed, len);
        let reference = format::encrypt(&k, &p, &pt);
        // Irregular writes give the same bytes as one write.
        let mut enc = Encryptor::new(&k, &p, Vec::new()).unwrap();
        let (mut at, mut turn) = (0, 0);
        while at < pt.len() {
            let n = write_sizes[turn % write_sizes.len()].min(pt.len() - at);
            enc.write_all(&pt[at..at + n]).unwrap();
            at += n;
            turn += 1;
        }
        prop_assert_eq!(&enc.finish().unwrap(), &reference);
        // So does encryption in place.
        let mut in_place = pt.clone();
        format::encrypt_in_place(&k, &p, &mut in_place);
        prop_assert_eq!(&in_place, &reference);
        // So does the portable reference backend.
        let by_reference = format::encrypt(&k, &p.clone().with_backend(Backend::RustCrypto), &pt);
        prop_assert_eq!(&by_reference, &reference);
        // The multi-threaded encryptor is byte-identical.
        let mut par = Vec::new();
        parallel::encrypt_parallel(&k, &p, &pt[..], &mut par, threads(n_threads)).unwrap();
        prop_assert_eq!(&par, &reference);
        prop_assert_eq!(decrypt_all_ways(&k, &reference, &read_sizes).unwrap(), pt);
    }

    #[test]
    fn any_bit_flip_or_truncation_is_an_error((cs, len, seed) in case(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = key(seed);
        let file = format::encrypt(&k, &params(seed, cs), &plaintext(seed, len));
        let i = at.index(file.len());
        let mut flipped = file.clone();
        flipped[i] ^= 1 << bit;
        prop_assert!(decrypt_all_ways(&k, &flipped, &[13]).is_err());
        prop_assert!(decrypt_all_ways(&k, &file[..i], &[13]).is_err());
    }

    #[test]
    fn reordered_duplicated_dropped_or_spliced_chunks_are_errors(
        (cs, _len, seed) in case(),
        chunks in 3usize..7,
        pick in any::<(prop::sample::Index, prop::sample::Index)>(),
    ) {
        let k = key(seed);
        let len = (chunks - 1) * cs as usize + 1;
        let p = params(seed, cs);
        let file = format::encrypt(&k, &p, &plaintext(seed, len));
        // Same key, same chunk size, another backup: its chunks must not fit.
        let other = format::encrypt(&k, &params(seed.wrapping_add(1), cs), &plaintext(seed, len));
        let r = chunk_ranges(&file, cs as usize);
        let ro = chunk_ranges(&other, cs as usize);
        let parts: Vec<&[u8]> = r.iter().map(|x| &file[x.clone()]).collect();
        let (i, j) = (pick.0.index(chunks), pick.1.index(chunks));

        let mut swapped = parts.clone();
        swapped.swap(i, j);
        if i != j {
            prop_assert!(decrypt_all_ways(&k, &with_chunks(&file, &r, &swapped), &[64]).is_err());
        }
        let mut duplicated = parts.clone();
        duplicated.insert(i, parts[i]);
        prop_assert!(decrypt_all_ways(&k, &with_chunks(&file, &r, &duplicated), &[64]).is_err());
        let mut dropped = parts.clone();
        dropped.remove(i);
        prop_assert!(decrypt_all_ways(&k, &with_chunks(&file, &r, &dropped), &[64]).is_err());
        let mut spliced = parts.clone();
        spliced[i] = &other[ro[i].clone()];
        let err = decrypt_all_ways(&k, &with_chunks(&file, &r, &spliced), &[64]).unwrap_err();
        prop_assert!(matches!(err, BackupError::CorruptChunk { index, .. } if index == i as u64), "{}", err);
        // The other backup's header on this body fails too.
        let mut header_swap = other[..HEADER_LEN].to_vec();
        header_swap.extend_from_slice(&file[HEADER_LEN..]);
        prop_assert!(decrypt_all_ways(&k, &header_swap, &[64]).is_err());
    }

    #[test]
    fn any_header_byte_change_is_an_error((cs, len, seed) in case(), at in 0usize..HEADER_LEN, xor in 1u8..=255) {
        let k = key(seed);
        let file = format::encrypt(&k, &params(seed, cs), &plaintext(seed, len));
        let mut f = file.clone();
        f[at] ^= xor;
        prop_assert!(decrypt_all_ways(&k, &f, &[50]).is_err());
    }

    #[test]
    fn the_wrong_key_is_reported_as_such((cs, len, seed) in case()) {
        let file = format::encrypt(&key(seed), &params(seed, cs), &plaintext(seed, len));
        let err = decrypt_all_ways(&key(seed.wrapping_add(1)), &file, &[50]).unwrap_err();
        prop_assert!(matches!(err, BackupError::WrongKey { .. }), "{}", err);
    }
}
