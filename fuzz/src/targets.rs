//! The fuzz targets: one function per target, taking the raw fuzzer input.
//!
//! Every function must return normally on every input; a panic is a finding.
//! Besides "does not panic", each asserts properties of the library that
//! hold for all inputs (round trips, agreement between the one-shot and the
//! streaming decryptor, FMT-1: decryption never returns wrong plaintext,
//! one encoding only per chat archive, the wire stream decoder agreeing
//! with one-shot framing, and torn disk tails told from corruption).

use crate::prng::SplitMix64;
use arbitrary::{Arbitrary, Unstructured};
use backup_vault::archive::{self, Archive, ArchiveError, DecodeLimits};
use backup_vault::format::chunk::chunk_count;
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{
    self, parallel, Backend, BackupError, BackupParams, ChunkSize, DecryptOptions, Decryptor,
    Encryptor, ErrorClass, Generation, Header, TruncatedAt, TAG_LEN,
};
use backup_vault::key::{BackupKey, KeyTextError, MAX_KEY_TEXT_BYTES};
use backup_vault::wire;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;

/// The raw bytes of the fixed key every backup-decrypting target uses. The
/// seed corpora in `fuzz/seeds/` are made with it.
pub const FUZZ_KEY_BYTES: [u8; 32] = [0x42; 32];

/// The largest chunk size the fuzzed decryptors accept (64 KiB), so that one
/// input cannot make them allocate the format maximum of 16 MiB.
pub const MAX_FUZZ_CHUNK_SIZE: u32 = 64 * 1024;

/// The longest plaintext `roundtrip` encrypts.
pub const MAX_ROUNDTRIP_PLAINTEXT: usize = 8 * 1024;

/// The largest chunk size `roundtrip` uses, so that short plaintexts span many chunks.
pub const MAX_ROUNDTRIP_CHUNK_SIZE: u32 = 512;

/// The most mutations `roundtrip` applies to one backup.
pub const MAX_ROUNDTRIP_MUTATIONS: usize = 16;

/// Where the header checksum starts (`docs/format.md`): it is the first 16
/// bytes of SHA-256 over everything before it.
const CHECKSUM_START: usize = 96;

/// The fixed fuzzing key.
pub fn fuzz_key() -> BackupKey {
    BackupKey::from_bytes(&FUZZ_KEY_BYTES)
}

/// Decrypt options whose chunk-size limit is [`MAX_FUZZ_CHUNK_SIZE`].
pub fn decrypt_options() -> DecryptOptions {
    let mut options = DecryptOptions::default();
    options.max_chunk_size =
        ChunkSize::new(MAX_FUZZ_CHUNK_SIZE).expect("64 KiB is a valid chunk size");
    options
}

// ---------------------------------------------------------------------------
// header

/// Target `header`: [`Header::parse`] on arbitrary bytes.
///
/// Checks: no panic; an input shorter than the header never parses; bytes
/// after the header do not change the outcome; a parsed header encodes back
/// to exactly the bytes it was parsed from. The same again on a copy whose
/// checksum is recomputed, which lets the fuzzer reach the field checks that
/// follow the checksum (algorithm, reserved byte, chunk size), and
/// [`Header::authenticate`] with the fixed key must not panic either.
pub fn header(data: &[u8]) {
    let parsed = Header::parse(data);
    if data.len() < HEADER_LEN {
        assert!(
            parsed.is_err(),
            "a {}-byte input parsed as a header",
            data.len()
        );
    } else if data.len() > HEADER_LEN {
        let head_only = Header::parse(&data[..HEADER_LEN]);
        assert_eq!(
            format!("{parsed:?}"),
            format!("{head_only:?}"),
            "bytes after the header changed the outcome of Header::parse"
        );
    }
    if let Ok(h) = &parsed {
        assert_header_round_trips(h, data);
        let _ = h.authenticate(&fuzz_key());
    }

    if data.len() >= HEADER_LEN {
        let mut fixed = [0u8; HEADER_LEN];
        fixed.copy_from_slice(&data[..HEADER_LEN]);
        let sum = Sha256::digest(&fixed[..CHECKSUM_START]);
        fixed[CHECKSUM_START..].copy_from_slice(&sum[..HEADER_LEN - CHECKSUM_START]);
        let reparsed = Header::parse(&fixed);
        if fixed[..] == data[..HEADER_LEN] {
            assert_eq!(format!("{parsed:?}"), format!("{reparsed:?}"));
        }
        if let Ok(h) = &reparsed {
            assert_header_round_trips(h, &fixed);
            let _ = h.authenticate(&fuzz_key());
            let _ = h.digest();
        }
    }
}

fn assert_header_round_trips(h: &Header, data: &[u8]) {
    assert!(
        data.len() >= HEADER_LEN,
        "parsed a header from a short input"
    );
    assert_eq!(
        h.to_bytes()[..],
        data[..HEADER_LEN],
        "Header::parse then to_bytes does not round-trip: {h:?}"
    );
    assert_eq!(Header::parse(&h.to_bytes()).ok().as_ref(), Some(h));
}

// ---------------------------------------------------------------------------
// decrypt

/// Target `decrypt`: arbitrary bytes as a backup file under the fixed key.
///
/// Checks: no panic, no allocation beyond [`MAX_FUZZ_CHUNK_SIZE`] per
/// chunk; the streaming [`Decryptor`], fed in small irregular pieces (with
/// `Interrupted` errors sprinkled in) and read through `std::io::Read` in
/// irregular amounts, reaches the same outcome as [`format::decrypt_with`];
/// and any file that decrypts is the one canonical encoding of its plaintext
/// under its header.
pub fn decrypt(data: &[u8]) {
    let key = fuzz_key();
    let options = decrypt_options();
    let one_shot = format::decrypt_with(&key, data, &options);
    let streamed = decrypt_streaming(&key, data, &options, SplitMix64::from_bytes(data));
    assert_same_outcome(&one_shot, &streamed);
    if let Ok((header, plaintext)) = &one_shot {
        assert_canonical(&key, header, plaintext, data);
    }
}

/// Decrypts `file` with a [`Decryptor`] over a reader that hands out the
/// bytes in irregular pieces chosen by `rng`, reading the plaintext through
/// `std::io::Read` in irregular amounts.
pub fn decrypt_streaming(
    key: &BackupKey,
    file: &[u8],
    options: &DecryptOptions,
    mut rng: SplitMix64,
) -> Result<(Header, Vec<u8>), BackupError> {
    const MAX_PIECES: [usize; 8] = [1, 2, 3, 16, 17, 64, 257, 4096];
    let max_piece = MAX_PIECES[rng.below(MAX_PIECES.len())];
    let max_read = MAX_PIECES[rng.below(MAX_PIECES.len())];
    let reader = IrregularReader {
        data: file,
        rng: rng.clone(),
        max_piece,
        interrupted: false,
    };
    let mut dec = Decryptor::with_options(key, reader, options)?;
    let mut plaintext = Vec::new();
    let mut buf = vec![0u8; max_read];
    loop {
        let want = 1 + rng.below(max_read);
        match dec.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => {
                assert!(n <= want, "read returned more than asked for");
                plaintext.extend_from_slice(&buf[..n]);
            }
            Err(e) => return Err(BackupError::from_io(e)),
        }
    }
    assert!(
        dec.is_done(),
        "Decryptor reported end of stream before it was done"
    );
    assert_eq!(
        dec.chunks_verified(),
        chunk_count(plaintext.len() as u64, dec.header().chunk_size),
        "chunks verified does not match the plaintext length"
    );
    // Once done, reads keep reporting end of stream.
    assert_eq!(dec.read(&mut [0u8; 8]).ok(), Some(0));
    Ok((dec.header().clone(), plaintext))
}

/// A reader that returns its data in pieces of 1 to `max_piece` bytes and
/// sometimes fails with `Interrupted` (never twice in a row), which every
/// well-behaved consumer must retry.
struct IrregularReader<'a> {
    data: &'a [u8],
    rng: SplitMix64,
    max_piece: usize,
    interrupted: bool,
}

impl Read for IrregularReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() || out.is_empty() {
            return Ok(0);
        }
        if !self.interrupted && self.rng.one_in(8) {
            self.interrupted = true;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.interrupted = false;
        let n = (1 + self.rng.below(self.max_piece))
            .min(out.len())
            .min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Asserts that two decryptions of the same bytes agree: the same header and
/// plaintext, or the same error.
fn assert_same_outcome(
    one_shot: &Result<(Header, Vec<u8>), BackupError>,
    streamed: &Result<(Header, Vec<u8>), BackupError>,
) {
    match (one_shot, streamed) {
        (Ok((h1, p1)), Ok((h2, p2))) => {
            assert_eq!(h1, h2, "one-shot and streaming headers differ");
            assert!(p1 == p2, "one-shot and streaming plaintexts differ");
        }
        (Err(e1), Err(e2)) => assert_eq!(
            format!("{e1:?}"),
            format!("{e2:?}"),
            "one-shot and streaming decryption fail differently"
        ),
        (Ok(_), Err(e)) => panic!("one-shot decryption succeeded, streaming failed: {e:?}"),
        (Err(e), Ok(_)) => panic!("streaming decryption succeeded, one-shot failed: {e:?}"),
    }
}

/// Asserts that `file` is exactly what encrypting `plaintext` under `header`'s
/// parameters produces: a decryptable file has one encoding only.
fn assert_canonical(key: &BackupKey, header: &Header, plaintext: &[u8], file: &[u8]) {
    assert_eq!(header.to_bytes()[..], file[..HEADER_LEN]);
    let chunks = chunk_count(plaintext.len() as u64, header.chunk_size) as usize;
    assert_eq!(
        file.len(),
        HEADER_LEN + plaintext.len() + chunks * TAG_LEN,
        "decrypted file has the wrong length for its plaintext"
    );
    // The rng only fills the id and prefix, which are then overwritten.
    let mut params = BackupParams::new(
        &mut ChaCha20Rng::from_seed([0; 32]),
        header.generation,
        header.chunk_size,
    );
    params.backup_id = header.backup_id;
    params.nonce_prefix = header.nonce_prefix;
    assert!(
        format::encrypt(key, &params, plaintext) == file,
        "a file that decrypts is not the canonical encoding of its plaintext"
    );
}

// ---------------------------------------------------------------------------
// roundtrip

/// The structured input of target `roundtrip`.
#[derive(Arbitrary, Debug, Clone)]
pub struct RoundtripInput<'a> {
    /// The plaintext (cut to [`MAX_ROUNDTRIP_PLAINTEXT`] bytes)...
    pub plaintext: &'a [u8],
    /// ...padded with a pattern up to a length given by this, so that long
    /// multi-chunk plaintexts are cheap to express: values below `0xf000`
    /// pad to at most 1 KiB (`pad_to % 1025`), the rest (1 in 16) to
    /// `2 * (pad_to - 0xf000)`, up to 8 KiB. Most runs stay short and fast.
    pub pad_to: u16,
    /// Chunk size, mapped to `1..=`[`MAX_ROUNDTRIP_CHUNK_SIZE`].
    pub chunk_size: u16,
    /// The backup generation.
    pub generation: u64,
    /// Seed of the `CryptoRng` that draws both backups' ids and nonce prefixes.
    pub rng_seed: [u8; 32],
    /// A second backup, made with the same key, to splice from.
    pub other: OtherBackup<'a>,
    /// What is done to the first backup's bytes before decrypting them.
    pub mutations: Vec<Mutation<'a>>,
}

/// The second backup of a [`RoundtripInput`].
#[derive(Arbitrary, Debug, Clone)]
pub struct OtherBackup<'a> {
    /// Its plaintext (cut to [`MAX_ROUNDTRIP_PLAINTEXT`] bytes).
    pub plaintext: &'a [u8],
    /// Whether it has the first backup's chunk size and generation (and so
    /// chunks of the same length, which makes splices line up).
    pub same_shape: bool,
    /// Its chunk size if not `same_shape`.
    pub chunk_size: u16,
    /// Its generation if not `same_shape`.
    pub generation: u64,
}

/// One edit of a backup file. Positions and indexes are reduced modulo the
/// current length (or chunk count), so every value means something.
#[derive(Arbitrary, Debug, Clone)]
pub enum Mutation<'a> {
    /// Flip one bit.
    FlipBit {
        /// Bit position in the file.
        bit: u32,
    },
    /// Cut the file at a position.
    Truncate {
        /// Byte position, `0..=len`.
        at: u32,
    },
    /// Insert bytes at a position.
    Insert {
        /// Byte position, `0..=len`.
        at: u32,
        /// The bytes inserted.
        bytes: &'a [u8],
    },
    /// Delete a range.
    Delete {
        /// First byte deleted.
        start: u32,
        /// Number of bytes deleted (clipped at the end).
        len: u16,
    },
    /// Swap two chunk slots (`chunk_size + 16` bytes each, the last one possibly short).
    SwapChunks {
        /// First slot.
        a: u16,
        /// Second slot.
        b: u16,
    },
    /// Insert a copy of a chunk slot before another slot (or at the end).
    DuplicateChunk {
        /// The slot copied.
        chunk: u16,
        /// Where the copy goes, `0..=slots`.
        before: u16,
    },
    /// Replace a range of the file with a range of the second backup.
    Splice {
        /// Start of the range in the second backup.
        from: u32,
        /// Start of the range in this file.
        to: u32,
        /// Length of the range (clipped at either end).
        len: u16,
        /// Insert instead of overwrite.
        insert: bool,
    },
    /// Replace a chunk slot with a chunk slot of the second backup.
    SpliceChunk {
        /// Slot in the second backup.
        from: u16,
        /// Slot in this file, `0..=slots` (`slots` appends).
        to: u16,
    },
    /// Replace the header with the second backup's header.
    SpliceHeader,
}

/// Target `roundtrip`: encrypt, mutate, decrypt.
///
/// The input is a [`RoundtripInput`]. Two backups are made with the fixed key
/// and parameters drawn from a seeded ChaCha20 `CryptoRng`; the mutations
/// are applied to the first; the result is decrypted. Checks: if the bytes
/// are one of the two genuine backups, decryption succeeds with that
/// backup's plaintext; otherwise it fails (never wrong plaintext: FMT-1, and
/// never the right plaintext from other bytes: the encoding is canonical),
/// with a "damaged" or "unsupported" error, never "wrong key"; a file cut
/// short is reported as truncated or as a corrupt last chunk; and the
/// streaming decryptor agrees.
pub fn roundtrip(data: &[u8]) {
    let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_roundtrip(&input);
}

/// The plaintext a [`RoundtripInput`] describes.
pub fn roundtrip_plaintext(input: &RoundtripInput<'_>) -> Vec<u8> {
    let mut plaintext =
        input.plaintext[..input.plaintext.len().min(MAX_ROUNDTRIP_PLAINTEXT)].to_vec();
    let target = if input.pad_to < 0xf000 {
        usize::from(input.pad_to) % 1025
    } else {
        2 * usize::from(input.pad_to - 0xf000)
    }
    .min(MAX_ROUNDTRIP_PLAINTEXT);
    let mut i = plaintext.len();
    while plaintext.len() < target {
        plaintext.push((i as u8).wrapping_mul(31) ^ (i >> 8) as u8);
        i += 1;
    }
    plaintext
}

fn roundtrip_chunk_size(raw: u16) -> ChunkSize {
    let bytes = u32::from(raw) % MAX_ROUNDTRIP_CHUNK_SIZE + 1;
    ChunkSize::new(bytes).expect("1..=512 is a valid chunk size")
}

/// Runs the `roundtrip` checks on a parsed input.
pub fn check_roundtrip(input: &RoundtripInput<'_>) {
    check_roundtrip_with(input, |params| params, &decrypt_options());
}

/// [`check_roundtrip`] with the backups' params passed through `adjust` and
/// decrypted with `options`: lets tests switch on a deliberate flaw of the
/// library (its `flaws` feature) to show that the checks catch it.
pub fn check_roundtrip_with(
    input: &RoundtripInput<'_>,
    adjust: impl Fn(BackupParams) -> BackupParams,
    options: &DecryptOptions,
) {
    let key = fuzz_key();
    let mut rng = ChaCha20Rng::from_seed(input.rng_seed);

    let plaintext = roundtrip_plaintext(input);
    let chunk_size = roundtrip_chunk_size(input.chunk_size);
    let params = adjust(BackupParams::new(
        &mut rng,
        Generation(input.generation),
        chunk_size,
    ));
    let original = format::encrypt(&key, &params, &plaintext);
    let chunks = chunk_count(plaintext.len() as u64, chunk_size) as usize;
    assert_eq!(
        original.len(),
        HEADER_LEN + plaintext.len() + chunks * TAG_LEN
    );

    let other_plaintext =
        &input.other.plaintext[..input.other.plaintext.len().min(MAX_ROUNDTRIP_PLAINTEXT)];
    let (other_chunk_size, other_generation) = if input.other.same_shape {
        (chunk_size, Generation(input.generation))
    } else {
        (
            roundtrip_chunk_size(input.other.chunk_size),
            Generation(input.other.generation),
        )
    };
    let other_params = adjust(BackupParams::new(
        &mut rng,
        other_generation,
        other_chunk_size,
    ));
    let other = format::encrypt(&key, &other_params, other_plaintext);

    let slot = chunk_size.bytes() + TAG_LEN;
    let other_slot = other_chunk_size.bytes() + TAG_LEN;
    let mut file = original.clone();
    for m in input.mutations.iter().take(MAX_ROUNDTRIP_MUTATIONS) {
        apply(m, &mut file, slot, &other, other_slot);
    }

    let result = format::decrypt_with(&key, &file, options);
    let streamed = decrypt_streaming(&key, &file, options, SplitMix64::from_bytes(&file));
    assert_same_outcome(&result, &streamed);

    match &result {
        Ok((header, decrypted)) => {
            if file == original {
                assert_eq!(header, &params_header(&key, &params));
                assert!(
                    *decrypted == plaintext,
                    "FMT-1: the unmodified backup decrypted to different plaintext"
                );
            } else if file == other {
                assert!(
                    decrypted == other_plaintext,
                    "FMT-1: the second backup decrypted to different plaintext"
                );
            } else if *decrypted == plaintext || decrypted == other_plaintext {
                panic!(
                    "a modified backup ({} bytes, not either genuine file) decrypted to a genuine \
                     plaintext: the encoding is not canonical; mutations: {:?}",
                    file.len(),
                    input.mutations
                );
            } else {
                panic!(
                    "FMT-1 violated: a modified backup decrypted to WRONG plaintext ({} bytes); \
                     mutations: {:?}",
                    decrypted.len(),
                    input.mutations
                );
            }
        }
        Err(err) => {
            assert!(
                file != original,
                "the unmodified backup failed to decrypt: {err}"
            );
            assert!(
                file != other,
                "the second genuine backup failed to decrypt: {err}"
            );
            match err.class() {
                ErrorClass::Damaged | ErrorClass::Unsupported => {}
                ErrorClass::WrongKey | ErrorClass::Io => {
                    panic!("a damaged backup was reported as {:?}: {err}", err.class())
                }
            }
            if original.starts_with(&file) {
                assert!(
                    matches!(
                        err,
                        BackupError::Truncated { .. }
                            | BackupError::CorruptChunk {
                                last_in_file: true,
                                ..
                            }
                    ),
                    "a backup cut at byte {} of {} was reported as {err:?}",
                    file.len(),
                    original.len()
                );
                if file.len() < HEADER_LEN {
                    assert!(matches!(
                        err,
                        BackupError::Truncated {
                            at: TruncatedAt::Header
                        }
                    ));
                }
            }
        }
    }
}

fn params_header(key: &BackupKey, params: &BackupParams) -> Header {
    Header::seal(key, params)
}

/// The byte range of chunk slot `index` in a file of `len` bytes.
fn slot_range(index: usize, slot: usize, len: usize) -> std::ops::Range<usize> {
    let start = (HEADER_LEN + index * slot).min(len);
    let end = (start + slot).min(len);
    start..end
}

/// Number of (possibly partial) chunk slots after the header.
fn slot_count(slot: usize, len: usize) -> usize {
    len.saturating_sub(HEADER_LEN).div_ceil(slot)
}

fn apply(m: &Mutation<'_>, file: &mut Vec<u8>, slot: usize, other: &[u8], other_slot: usize) {
    let len = file.len();
    match *m {
        Mutation::FlipBit { bit } => {
            if len > 0 {
                let bit = bit as usize % (len * 8);
                file[bit / 8] ^= 1 << (bit % 8);
            }
        }
        Mutation::Truncate { at } => file.truncate(at as usize % (len + 1)),
        Mutation::Insert { at, bytes } => {
            let at = at as usize % (len + 1);
            file.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { start, len: n } => {
            let start = start as usize % (len + 1);
            let end = (start + usize::from(n)).min(len);
            file.drain(start..end);
        }
        Mutation::SwapChunks { a, b } => {
            let slots = slot_count(slot, len);
            if slots < 2 {
                return;
            }
            let (a, b) = (usize::from(a) % slots, usize::from(b) % slots);
            let (lo, hi) = (a.min(b), a.max(b));
            if lo == hi {
                return;
            }
            let lo = slot_range(lo, slot, len);
            let hi = slot_range(hi, slot, len);
            let mut out = Vec::with_capacity(len);
            out.extend_from_slice(&file[..lo.start]);
            out.extend_from_slice(&file[hi.clone()]);
            out.extend_from_slice(&file[lo.end..hi.start]);
            out.extend_from_slice(&file[lo.clone()]);
            out.extend_from_slice(&file[hi.end..]);
            *file = out;
        }
        Mutation::DuplicateChunk { chunk, before } => {
            let slots = slot_count(slot, len);
            if slots == 0 {
                return;
            }
            let copy = file[slot_range(usize::from(chunk) % slots, slot, len)].to_vec();
            let at = slot_range(usize::from(before) % (slots + 1), slot, len).start;
            file.splice(at..at, copy);
        }
        Mutation::Splice {
            from,
            to,
            len: n,
            insert,
        } => {
            let from = from as usize % (other.len() + 1);
            let to = to as usize % (len + 1);
            let mut n = usize::from(n).min(other.len() - from);
            if !insert {
                n = n.min(len - to);
            }
            let bytes = other[from..from + n].iter().copied();
            if insert {
                file.splice(to..to, bytes);
            } else {
                file.splice(to..to + n, bytes);
            }
        }
        Mutation::SpliceChunk { from, to } => {
            let other_slots = slot_count(other_slot, other.len());
            if other_slots == 0 {
                return;
            }
            let src = &other[slot_range(usize::from(from) % other_slots, other_slot, other.len())];
            let slots = slot_count(slot, len);
            let dst = slot_range(usize::from(to) % (slots + 1), slot, len);
            file.splice(dst, src.iter().copied());
        }
        Mutation::SpliceHeader => {
            let n = HEADER_LEN.min(len).min(other.len());
            file[..n].copy_from_slice(&other[..n]);
        }
    }
}

// ---------------------------------------------------------------------------
// backends

/// Target `backends`: the format's two AES-256-GCM backends (aws-lc, the
/// default, and RustCrypto's `aes-gcm`, the portable reference) must be
/// interchangeable. Same input as `roundtrip`. Checks: both backends, and
/// the streaming and two-thread encryptors on the default backend, give
/// byte-identical files; on the file after the input's mutations, every
/// decoder on either backend (one-shot, streaming, two-thread pipeline)
/// gives the same header and plaintext, or the same error.
pub fn backends(data: &[u8]) {
    let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_backends(&input);
}

/// Runs the `backends` checks on a parsed input.
pub fn check_backends(input: &RoundtripInput<'_>) {
    let key = fuzz_key();
    let mut rng = ChaCha20Rng::from_seed(input.rng_seed);
    let plaintext = roundtrip_plaintext(input);
    let chunk_size = roundtrip_chunk_size(input.chunk_size);
    let params = BackupParams::new(&mut rng, Generation(input.generation), chunk_size);
    let two = NonZeroUsize::new(2).expect("2 is not zero");

    let file = format::encrypt(&key, &params, &plaintext);
    let reference = params.clone().with_backend(Backend::RustCrypto);
    assert!(
        format::encrypt(&key, &reference, &plaintext) == file,
        "the reference backend sealed different bytes"
    );
    let mut streamed = Encryptor::new(&key, &reference, Vec::new()).expect("Vec sink");
    streamed.write_all(&plaintext).expect("Vec sink");
    assert!(
        streamed.finish().expect("Vec sink") == file,
        "the streaming encryptor on the reference backend sealed different bytes"
    );
    let mut piped = Vec::new();
    parallel::encrypt_parallel(&key, &params, &plaintext[..], &mut piped, two).expect("Vec sink");
    assert!(
        piped == file,
        "the two-thread pipeline sealed different bytes"
    );

    let other_len = input.other.plaintext.len().min(MAX_ROUNDTRIP_PLAINTEXT);
    let (other_size, other_generation) = if input.other.same_shape {
        (chunk_size, input.generation)
    } else {
        (
            roundtrip_chunk_size(input.other.chunk_size),
            input.other.generation,
        )
    };
    let other_params = BackupParams::new(&mut rng, Generation(other_generation), other_size);
    let other = format::encrypt(&key, &other_params, &input.other.plaintext[..other_len]);
    let mut mutated = file.clone();
    for m in input.mutations.iter().take(MAX_ROUNDTRIP_MUTATIONS) {
        apply(
            m,
            &mut mutated,
            chunk_size.bytes() + TAG_LEN,
            &other,
            other_size.bytes() + TAG_LEN,
        );
    }

    let options = decrypt_options();
    let expected = format::decrypt_with(&key, &mutated, &options);
    for backend in Backend::ALL {
        let options = options.clone().with_backend(backend);
        let one_shot = format::decrypt_with(&key, &mutated, &options);
        assert_same_outcome(&expected, &one_shot);
        let stream = decrypt_streaming(&key, &mutated, &options, SplitMix64::from_bytes(&mutated));
        assert_same_outcome(&expected, &stream);
        let mut out = Vec::new();
        let piped = parallel::decrypt_parallel(&key, &mutated[..], &mut out, &options, two)
            .map(|(header, _)| (header, out));
        assert_same_outcome(&expected, &piped);
    }
}

// ---------------------------------------------------------------------------
// key_text

/// Target `key_text`: [`BackupKey::parse`] on arbitrary UTF-8 (other inputs
/// are skipped).
///
/// Checks: no panic; a parsed key's text form (grouped and grid) parses back
/// to it, and its digits are the input's digits, lowercased; each error
/// describes the input truthfully: `InvalidCharacter` names the first
/// character that is neither a hex digit nor a separator, at its character
/// position, line and column; `WrongLength` counts the digits; `TooLong`
/// only for inputs over [`MAX_KEY_TEXT_BYTES`].
pub fn key_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = BackupKey::parse(text);
    if text.len() > MAX_KEY_TEXT_BYTES {
        assert_eq!(
            result.err(),
            Some(KeyTextError::TooLong { len: text.len() })
        );
        return;
    }
    let is_separator = |c: char| matches!(c, ' ' | '-' | '\n' | '\r');
    let is_digit = |c: char| c.is_ascii_hexdigit();
    let first_bad = text
        .chars()
        .enumerate()
        .find(|&(_, c)| !is_digit(c) && !is_separator(c));
    match result {
        Ok(key) => {
            assert!(first_bad.is_none(), "accepted a text with {first_bad:?}");
            let digits: String = text
                .chars()
                .filter(|&c| is_digit(c))
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let shown = key.to_text();
            assert_eq!(digits, shown.replace(' ', ""), "parsed digits differ");
            assert_eq!(BackupKey::parse(&shown).as_ref(), Ok(&key));
            assert_eq!(BackupKey::parse(&key.to_text_grid()).as_ref(), Ok(&key));
        }
        Err(err) => {
            // Display must not panic either.
            let _ = err.to_string();
            match err {
                KeyTextError::InvalidCharacter {
                    character,
                    position,
                    line,
                    column,
                } => {
                    assert_eq!(
                        first_bad,
                        Some((position, character)),
                        "InvalidCharacter does not name the first bad character"
                    );
                    let before: Vec<char> = text.chars().take(position).collect();
                    let newlines = before.iter().filter(|&&c| c == '\n').count();
                    assert_eq!(line, 1 + newlines, "wrong line for {character:?}");
                    let line_start = before.iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
                    assert_eq!(
                        column,
                        position - line_start + 1,
                        "wrong column for {character:?}"
                    );
                }
                KeyTextError::WrongLength { found } => {
                    assert!(first_bad.is_none(), "missed {first_bad:?}");
                    assert_eq!(found, text.chars().filter(|&c| is_digit(c)).count());
                    assert_ne!(found, 64);
                }
                KeyTextError::TooLong { len } => {
                    panic!("TooLong {{ len: {len} }} for a {}-byte text", text.len())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// archive

/// The decoder limits of the `archive` target: modest, so that one input
/// cannot make the decoder allocate much, and small enough that inputs of a
/// few KB can reach every limit.
pub fn archive_limits() -> DecodeLimits {
    DecodeLimits {
        max_total_bytes: 1 << 20,
        max_chats: 64,
        max_messages: 4096,
        max_media_bytes: 256 * 1024,
        max_string_bytes: 4096,
    }
}

/// Target `archive`: [`archive::decode_with`] on arbitrary bytes, with
/// [`archive_limits`].
///
/// Checks: no panic; the copying and the buffer-sharing decoders agree
/// exactly, same error included; an accepted input is canonical (it is
/// exactly the encoding of what it decodes to, one byte less is `Truncated`
/// and one byte more is `TrailingBytes`) and within the limits; an error's
/// offset lies within the input, and any error other than a limit is the
/// same with the (larger) default limits, since limits only ever stop a
/// decoder earlier.
pub fn archive(data: &[u8]) {
    let limits = archive_limits();
    let result = archive::decode_with(data, &limits);
    let shared = archive::Bytes::copy_from_slice(data);
    assert_eq!(
        result,
        archive::decode_bytes(&shared, &limits),
        "decode_with and decode_bytes disagree"
    );
    match result {
        Ok(decoded) => assert_archive_canonical(&decoded, data, &limits),
        Err(err) => {
            let _ = err.to_string();
            if let Some(offset) = err.offset() {
                assert!(offset <= data.len() as u64, "{err:?} is past the end");
            }
            if let ArchiveError::Truncated {
                offset,
                needed,
                remaining,
                ..
            } = err
            {
                assert_eq!(remaining, data.len() as u64 - offset, "{err:?}");
                assert!(needed > remaining, "{err:?}");
            }
            if !matches!(
                err,
                ArchiveError::LimitExceeded { .. } | ArchiveError::InputTooLarge { .. }
            ) {
                assert_eq!(
                    archive::decode(data),
                    Err(err),
                    "the default limits change a non-limit error"
                );
            }
        }
    }
}

fn assert_archive_canonical(decoded: &Archive, data: &[u8], limits: &DecodeLimits) {
    let encoded = archive::encode(decoded).expect("a decoded archive encodes");
    assert!(encoded == data, "accepted a non-canonical encoding");
    assert_eq!(archive::encoded_len(decoded), Ok(data.len()));
    assert_eq!(archive::decode(data).as_ref(), Ok(decoded));
    assert!(decoded.chats.len() <= limits.max_chats as usize);
    assert!(decoded.message_count() as u64 <= limits.max_messages);
    assert!(decoded.media_bytes() <= limits.max_media_bytes);
    assert!(matches!(
        archive::decode_with(&data[..data.len() - 1], limits),
        Err(ArchiveError::Truncated { .. })
    ));
    let mut longer = data.to_vec();
    longer.push(0);
    assert_eq!(
        archive::decode_with(&longer, limits),
        Err(ArchiveError::TrailingBytes {
            offset: data.len() as u64,
            count: 1
        })
    );
}

// ---------------------------------------------------------------------------
// wire: frames and disk logs (`backup_vault::wire`), with SymbolicCrypto

type Sym = backup_vault::vault::crypto::SymbolicCrypto;

/// The frame limits of the wire targets: small, so that fuzzed length
/// fields reach the limit checks and the stream decoder's capacity.
pub const WIRE_LIMITS: wire::FrameLimits = wire::FrameLimits {
    max_body: 4096,
    max_peer_body: 16384,
};

/// The disk limits of the `disk_log` target.
pub const DISK_LIMITS: wire::DiskLimits = wire::DiskLimits {
    max_record_body: 16384,
};

/// Splits `data` into frames with `split_frame`, one after another: the
/// reference the stream decoder must agree with. Returns the frames (kind
/// and body) and the first error other than `Incomplete`.
fn split_all(data: &[u8]) -> (Vec<(wire::Kind, Vec<u8>)>, Option<wire::WireError>) {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < data.len() {
        match wire::split_frame(&data[at..], &WIRE_LIMITS) {
            Ok(raw) => {
                frames.push((raw.kind, raw.body.to_vec()));
                at += raw.consumed;
            }
            Err(wire::WireError::Incomplete { .. }) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, None)
}

/// Feeds `data` to a [`wire::FrameDecoder`] in pieces whose sizes come from
/// the data itself; checks that it agrees with [`split_all`], never holds
/// more than its capacity, always makes progress and stays failed.
fn check_stream(data: &[u8]) -> Vec<wire::Frame> {
    let (want_frames, want_err) = split_all(data);
    let mut dec = wire::FrameDecoder::new(WIRE_LIMITS);
    let mut frames = Vec::new();
    let mut err = None;
    let mut at = 0;
    let mut turn = 0usize;
    'feed: while at < data.len() {
        let size = 1 + usize::from(data[turn % data.len()] % 37);
        turn += 1;
        let end = (at + size).min(data.len());
        while at < end {
            let took = dec.push(&data[at..end]);
            assert!(dec.buffered() <= dec.capacity(), "over capacity");
            at += took;
            loop {
                match dec.next_frame() {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => {
                        assert_eq!(dec.next_frame(), Err(e.clone()), "not fail-stop");
                        assert_eq!(dec.room(), 0);
                        err = Some(e);
                        break 'feed;
                    }
                }
            }
            assert!(took > 0 || at == end, "the decoder made no progress");
        }
    }
    let got: Vec<_> = frames.iter().map(|f| (f.kind, f.body.to_vec())).collect();
    assert_eq!(got, want_frames, "stream and one-shot frames differ");
    assert_eq!(err, want_err, "stream and one-shot errors differ");
    frames
}

/// Target `wire_client`: client requests and responses
/// (`ClientRequest<SymbolicCrypto>`, `ClientResponse<SymbolicCrypto>`) from
/// arbitrary bytes, under [`WIRE_LIMITS`] and `FrameLimits::CLIENT`.
///
/// Checks: no panic; a decoded message used at most the input, one byte
/// less of its frame is `Incomplete`, and it re-encodes to a frame that
/// decodes to it; the stream decoder, fed the input in pieces, yields the
/// same frames and the same first error as one-shot splitting.
pub fn wire_client(data: &[u8]) {
    for limits in [WIRE_LIMITS, wire::FrameLimits::CLIENT] {
        if let Ok((req, used)) = wire::decode_client_request::<Sym>(data, &limits) {
            assert!(used <= data.len());
            let short = wire::decode_client_request::<Sym>(&data[..used - 1], &limits);
            assert!(short.unwrap_err().is_incomplete());
            let again = wire::encode_client_request(&req, &limits).expect("re-encodes");
            assert_eq!(
                wire::decode_client_request::<Sym>(&again, &limits),
                Ok((req, again.len()))
            );
        }
        if let Ok((resp, used)) = wire::decode_client_response::<Sym>(data, &limits) {
            assert!(used <= data.len());
            let again = wire::encode_client_response(&resp, &limits).expect("re-encodes");
            assert_eq!(
                wire::decode_client_response::<Sym>(&again, &limits),
                Ok((resp, again.len()))
            );
        }
    }
    for f in check_stream(data) {
        let _ = f.client_request::<Sym>();
        let _ = f.client_response::<Sym>();
    }
}

/// Target `wire_peer`: consensus messages (`VaultPeerMessage<SymbolicCrypto>`,
/// snapshots included) from arbitrary bytes, under [`WIRE_LIMITS`].
///
/// Checks: as [`wire_client`], and the same round trip for the small
/// instantiation `PeerMessage<u32, Vec<u32>>` of any kind.
pub fn wire_peer(data: &[u8]) {
    if let Ok((msg, used)) = wire::decode_peer_message::<Sym>(data, &WIRE_LIMITS) {
        assert!(used <= data.len());
        let short = wire::decode_peer_message::<Sym>(&data[..used - 1], &WIRE_LIMITS);
        assert!(short.unwrap_err().is_incomplete());
        let again = wire::encode_peer_message(&msg, &WIRE_LIMITS).expect("re-encodes");
        assert_eq!(
            wire::decode_peer_message::<Sym>(&again, &WIRE_LIMITS),
            Ok((msg, again.len()))
        );
    }
    type Small = backup_vault::vault::raft::message::PeerMessage<u32, Vec<u32>>;
    if let Ok((kind, msg, _)) = wire::decode_frame::<Small>(data, &WIRE_LIMITS) {
        let again = wire::encode_frame(kind, &msg, &WIRE_LIMITS).expect("re-encodes");
        assert_eq!(
            wire::decode_frame::<Small>(&again, &WIRE_LIMITS),
            Ok((kind, msg, again.len()))
        );
    }
    for f in check_stream(data) {
        let _ = f.peer_message::<Sym>();
    }
}

/// Target `disk_log`: arbitrary bytes as a node's disk file: sealed records
/// (`StoredRecord<SymbolicCrypto>`, what `vault::storage::RecordLog` frames)
/// in the checksummed framing of `wire::disk`, under [`DISK_LIMITS`].
///
/// Checks: no panic; the valid prefix is a clean log of the same records;
/// the records re-encode to a clean log of themselves; the record a
/// restarted node appends at the valid length (the first of a new segment
/// continuing the last record read, sealed by a `DiskCursor`) is read back
/// after them; and after a torn tail, appending *without* cutting the torn
/// bytes never yields a clean log or the new record (so a driver that
/// forgets to cut is caught on recovery).
///
/// It does not open the records (`sealed::open_disk`): symbolic seals are
/// no obstacle to a fuzzer, which could hand the node writes no node made.
pub fn disk_log(data: &[u8]) {
    use backup_vault::vault::crypto::SymbolicCrypto;
    use backup_vault::vault::ids::{NodeId, Term};
    use backup_vault::vault::raft::durable::DiskWrite;
    use backup_vault::vault::sealed::DiskCursor;
    let (records, tail) = wire::decode_disk_log::<Sym>(data, &DISK_LIMITS);
    let valid = tail.valid_len(data.len());
    assert!(valid <= data.len());
    assert_eq!(tail == wire::Tail::Clean, valid == data.len());
    let prefix = &data[..valid];
    assert_eq!(
        wire::decode_disk_log::<Sym>(prefix, &DISK_LIMITS),
        (records.clone(), wire::Tail::Clean)
    );
    let mut again = Vec::new();
    for r in &records {
        again.extend(wire::encode_disk_record(r, &DISK_LIMITS).expect("re-encodes"));
    }
    assert_eq!(
        wire::decode_disk_log::<Sym>(&again, &DISK_LIMITS),
        (records.clone(), wire::Tail::Clean)
    );
    let rng = &mut ChaCha20Rng::seed_from_u64(data.len() as u64);
    let follows = records
        .last()
        .map(|r| (r.segment, r.position.wrapping_add(1)));
    let write = DiskWrite::HardState {
        term: Term(1),
        voted_for: None,
    };
    let extra = DiskCursor::new_segment(follows, rng)
        .append(&SymbolicCrypto, NodeId(0), write, rng, false)
        .record()
        .clone();
    let record = wire::encode_disk_record(&extra, &DISK_LIMITS).expect("encodes");
    let mut appended = prefix.to_vec();
    appended.extend_from_slice(&record);
    let (more, tail2) = wire::decode_disk_log::<Sym>(&appended, &DISK_LIMITS);
    assert_eq!(tail2, wire::Tail::Clean);
    assert_eq!(more.len(), records.len() + 1);
    assert_eq!(more.last(), Some(&extra));
    if let wire::Tail::Torn { .. } = tail {
        let mut uncut = data.to_vec();
        uncut.extend_from_slice(&record);
        let (r3, tail3) = wire::decode_disk_log::<Sym>(&uncut, &DISK_LIMITS);
        assert_eq!(r3, records);
        assert_ne!(tail3, wire::Tail::Clean);
    }
}

/// Target `wire_opaque`: client requests and responses of the real system
/// (`ClientRequest<OpaqueCrypto>`, `ClientResponse<OpaqueCrypto>`): the frame
/// layer plus every OPAQUE message decoder (KE1, KE2, KE3, registration
/// messages, sealed registrations, proofs, sealed keys), which validate
/// lengths and curve points.
///
/// Checks: no panic; a decoded message re-encodes to a frame that decodes to it.
pub fn wire_opaque(data: &[u8]) {
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;
    let limits = wire::FrameLimits::CLIENT;
    if let Ok((req, _)) = wire::decode_client_request::<OpaqueCrypto>(data, &limits) {
        let again = wire::encode_client_request(&req, &limits).expect("re-encodes");
        assert_eq!(
            wire::decode_client_request::<OpaqueCrypto>(&again, &limits),
            Ok((req, again.len()))
        );
    }
    if let Ok((resp, _)) = wire::decode_client_response::<OpaqueCrypto>(data, &limits) {
        let again = wire::encode_client_response(&resp, &limits).expect("re-encodes");
        assert_eq!(
            wire::decode_client_response::<OpaqueCrypto>(&again, &limits),
            Ok((resp, again.len()))
        );
    }
}

/// The object name and version the `cloud_object` target decodes as.
pub fn cloud_object_name() -> (backup_vault::cloud::ObjectKey, backup_vault::cloud::Version) {
    let key = backup_vault::cloud::ObjectKey::new("users/7/backups/00000000000000000001")
        .expect("a valid object key");
    (key, backup_vault::cloud::Version(1))
}

/// Target `cloud_object`: a version file of the local-directory cloud store
/// (`cloud::decode_object_file`), as read back from a disk that may have
/// damaged it; and the same bytes as a backup manifest the client reads
/// from the cloud (`client::layout::decode_manifest`).
///
/// Checks: no panic; an accepted file is exactly the encoding of the data it
/// yields (so no damaged file is ever accepted as different data); an
/// accepted manifest is exactly the one the client would write for the
/// generation it names.
pub fn cloud_object(data: &[u8]) {
    use backup_vault::client::layout::{decode_manifest, encode_manifest};
    use backup_vault::cloud::{decode_object_file, encode_object_file};
    use backup_vault::key::BackupKey;
    use backup_vault::vault::ids::UserId;
    let (key, version) = cloud_object_name();
    if let Ok(object) = decode_object_file(&key, version, data.to_vec()) {
        assert_eq!(encode_object_file(&key, version, &object), data);
    }
    let (backup_key, user) = (BackupKey::from_bytes(&[3; 32]), UserId(7));
    if let Some(generation) = decode_manifest(&backup_key, user, data) {
        assert_eq!(encode_manifest(&backup_key, user, generation)[..], data[..]);
    }
}

/// The fleet every `hsm_seal` input is opened under: fixed, so that the
/// committed seeds, sealed under it, open. Made once per process (a fleet
/// is an OPAQUE key pair).
pub fn seal_crypto() -> &'static backup_vault::vault::opaque_crypto::OpaqueCrypto {
    use backup_vault::opaque::FleetSecrets;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;
    static CRYPTO: std::sync::OnceLock<OpaqueCrypto> = std::sync::OnceLock::new();
    CRYPTO.get_or_init(|| {
        OpaqueCrypto::new(FleetSecrets::generate(&mut ChaCha20Rng::from_seed(
            [0x5e; 32],
        )))
    })
}

/// Where an `hsm_seal` input is opened: its first byte picks one of three
/// places (the start of a disk file, the second record of a segment, the
/// link from node 0 to node 1).
pub fn seal_place(kind: u8) -> backup_vault::vault::crypto::SealPlace {
    use backup_vault::vault::crypto::SealPlace;
    use backup_vault::vault::ids::NodeId;
    match kind % 3 {
        0 => SealPlace::Disk {
            node: NodeId(0),
            segment: 7,
            position: 0,
            follows: None,
        },
        1 => SealPlace::Disk {
            node: NodeId(0),
            segment: 7,
            position: 1,
            follows: None,
        },
        _ => SealPlace::Wire {
            from: NodeId(0),
            to: NodeId(1),
        },
    }
}

/// Target `hsm_seal`: what a host hands an HSM back, as raw bytes (the
/// first picks the place, [`seal_place`]): a disk record
/// (`DiskRecord<OpaqueCrypto>`) or a peer message, opened with the real
/// seal (XChaCha20-Poly1305 under the fleet's derived keys) and read as a
/// clear form. Checks, besides "never panics": what opens opens at its own
/// place only, and sealed again opens to the same value (only a genuine
/// seal opens: the committed seeds; the fuzzer cannot forge the tag); what
/// reads in the clear never opens as sealed, and re-encodes to a clear
/// form that reads back to it.
pub fn hsm_seal(data: &[u8]) {
    use backup_vault::vault::crypto::SealPlace;
    use backup_vault::vault::node::VaultPeerMessage;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;
    use backup_vault::vault::sealed::DiskRecord;
    let Some((&kind, blob)) = data.split_first() else {
        return;
    };
    let place = seal_place(kind);
    if matches!(place, SealPlace::Wire { .. }) {
        check_seal::<VaultPeerMessage<OpaqueCrypto>>(&place, blob);
    } else {
        check_seal::<DiskRecord<OpaqueCrypto>>(&place, blob);
    }
}

fn check_seal<T: backup_vault::vault::crypto::Value>(
    place: &backup_vault::vault::crypto::SealPlace,
    blob: &[u8],
) {
    use backup_vault::vault::crypto::{SealPlace, VaultCrypto};
    use backup_vault::vault::hsm_seal::SealedBytes;
    use backup_vault::vault::ids::NodeId;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto;
    let crypto = seal_crypto();
    let sealed = SealedBytes::<T>::from_bytes(blob.to_vec());
    let opened = crypto.open(place, &sealed);
    if let Ok(value) = &opened {
        let elsewhere = match *place {
            SealPlace::Disk {
                node,
                segment,
                position,
                follows,
            } => SealPlace::Disk {
                node,
                segment,
                position: position ^ 1,
                follows,
            },
            SealPlace::Wire { from, to } => SealPlace::Wire {
                from: to,
                to: NodeId(from.0 ^ 2),
            },
        };
        assert!(
            crypto.open(&elsewhere, &sealed).is_err(),
            "opened elsewhere"
        );
        let rng = &mut ChaCha20Rng::seed_from_u64(blob.len() as u64);
        let again = crypto.seal(place, value, rng);
        assert_eq!(crypto.open(place, &again).as_ref(), Ok(value));
        assert_eq!(OpaqueCrypto::read_clear(&again), None, "a seal reads clear");
    }
    if let Some(value) = OpaqueCrypto::read_clear(&sealed) {
        assert!(opened.is_err(), "a clear form opened as sealed");
        let again = OpaqueCrypto::in_clear(&value);
        assert_eq!(OpaqueCrypto::read_clear(&again).as_ref(), Some(&value));
    }
}
