//! Whole backups held in memory.
//!
//! Same bytes and same errors as the streaming [`Encryptor`] and
//! [`Decryptor`] (the property tests compare them on every case), but each
//! chunk goes straight to its place in the output: copied there and sealed
//! while it is still in cache, or opened from the file into it in one pass.
//! The streaming adapters need two copies (into their chunk buffer, then out
//! to the sink), which costs throughput on buffers larger than the caches.
//!
//! [`Encryptor`]: super::Encryptor
//! [`Decryptor`]: super::Decryptor

use super::buffer::{resize_wiped, Growth};
use super::chunk::{chunk_count, ChunkCipher};
use super::error::BackupError;
use super::header::{BackupParams, Header, HEADER_LEN};
use super::reader::{open_header, DecryptOptions};
use super::TAG_LEN;
use crate::key::BackupKey;
use zeroize::{Zeroize, Zeroizing};

/// Encrypts `plaintext` into a complete backup file.
///
/// # Panics
/// If the plaintext needs more than 2^32 chunks (over 4 GiB at a chunk size
/// of 1 byte); use [`super::Encryptor`] to get that as an error instead.
pub fn encrypt(key: &BackupKey, params: &BackupParams, plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encrypt_into(key, params, plaintext, &mut out);
    out
}

/// [`encrypt`], appending the file to `out`. Reusing one `out` for many
/// backups saves the allocator and the kernel from zeroing fresh pages.
///
/// # Panics
/// As [`encrypt`].
pub fn encrypt_into(key: &BackupKey, params: &BackupParams, plaintext: &[u8], out: &mut Vec<u8>) {
    let header = Header::seal(key, params);
    let cipher = ChunkCipher::new(key, &header, params.backend, params.flaws);
    let chunks = chunk_count(plaintext.len() as u64, params.chunk_size);
    assert!(chunks <= 1 << 32, "a backup holds at most 2^32 chunks");
    out.reserve(HEADER_LEN + plaintext.len() + chunks as usize * TAG_LEN);
    out.extend_from_slice(&header.to_bytes());
    let cs = params.chunk_size.bytes();
    let mut pieces = plaintext.chunks(cs);
    // An empty plaintext is still one (empty) final chunk.
    let first = pieces.next().unwrap_or(&[]);
    for (index, piece) in core::iter::once(first).chain(pieces).enumerate() {
        let start = out.len();
        out.extend_from_slice(piece);
        let last = index as u64 == chunks - 1;
        let tag = cipher.seal(index as u32, last, &mut out[start..]);
        out.extend_from_slice(&tag);
    }
}

/// Decrypts a complete backup file, returning its header and plaintext.
///
/// # Errors
/// Any [`BackupError`] except `Io`. No plaintext is returned unless every
/// chunk verified and the file ended exactly after its final chunk.
pub fn decrypt(key: &BackupKey, file: &[u8]) -> Result<(Header, Vec<u8>), BackupError> {
    decrypt_with(key, file, &DecryptOptions::default())
}

/// [`decrypt`] with explicit options.
///
/// # Errors
/// As [`decrypt`].
pub fn decrypt_with(
    key: &BackupKey,
    file: &[u8],
    options: &DecryptOptions,
) -> Result<(Header, Vec<u8>), BackupError> {
    let mut out = Vec::new();
    let header = decrypt_into(key, file, options, &mut out)?;
    Ok((header, out))
}

/// [`decrypt_with`], appending the plaintext to `out`; returns the header.
///
/// # Errors
/// As [`decrypt`]. On error, `out` is wiped and left empty, so no plaintext
/// of a failed backup survives in it.
pub fn decrypt_into(
    key: &BackupKey,
    file: &[u8],
    options: &DecryptOptions,
    out: &mut Vec<u8>,
) -> Result<Header, BackupError> {
    let mut rest = file;
    let (header, cipher) = open_header(key, &mut rest, options)?;
    let full = header.chunk_size.bytes() + TAG_LEN;
    // The plaintext is shorter than the ciphertext: bounded by the input.
    out.reserve(rest.len());
    let mut index = 0u64;
    loop {
        // The finality rule needs to know whether more bytes follow this chunk.
        let at_end = rest.len() <= full;
        let (chunk, tail) = rest.split_at(rest.len().min(full));
        let start = out.len();
        // Opened straight from the file into place: one pass, and the
        // ciphertext stays intact for the finality rule's second attempt.
        out.resize(start + chunk.len().saturating_sub(TAG_LEN), 0);
        match cipher.open_chunk(index, chunk, at_end, &mut out[start..]) {
            Ok(len) => out.truncate(start + len),
            Err(err) => {
                out.zeroize();
                return Err(err);
            }
        }
        if at_end {
            return Ok(header);
        }
        rest = tail;
        index += 1;
    }
}

/// Encrypts the plaintext in `buf` into a complete backup file, in the same
/// buffer: peak memory is the file's size, not twice it.
///
/// Chunks are moved into place from the last to the first (each moves
/// towards the end, so none overwrites a chunk not yet moved) and sealed
/// while they are in cache. The bytes are identical to [`encrypt`]'s.
///
/// # Panics
/// As [`encrypt`].
pub fn encrypt_in_place(key: &BackupKey, params: &BackupParams, buf: &mut Vec<u8>) {
    let header = Header::seal(key, params);
    let cipher = ChunkCipher::new(key, &header, params.backend, params.flaws);
    let len = buf.len();
    let chunks = chunk_count(len as u64, params.chunk_size);
    assert!(chunks <= 1 << 32, "a backup holds at most 2^32 chunks");
    let cs = params.chunk_size.bytes();
    buf.resize(HEADER_LEN + len + chunks as usize * TAG_LEN, 0);
    for index in (0..chunks as usize).rev() {
        let src = index * cs..((index + 1) * cs).min(len);
        let piece_len = src.len();
        let dst = HEADER_LEN + index * (cs + TAG_LEN);
        debug_assert!(
            dst > src.start || len == 0,
            "chunks only move towards the end"
        );
        buf.copy_within(src, dst);
        let last = index as u64 == chunks - 1;
        let tag = cipher.seal(index as u32, last, &mut buf[dst..dst + piece_len]);
        buf[dst + piece_len..dst + piece_len + TAG_LEN].copy_from_slice(&tag);
    }
    buf[..HEADER_LEN].copy_from_slice(&header.to_bytes());
}

/// Decrypts the backup file in `buf` into its plaintext, in the same buffer;
/// returns the header.
///
/// Each chunk is opened into a scratch buffer of one chunk (the finality
/// rule may need its ciphertext again), then its plaintext is moved down to
/// close the gaps left by the header and the tags. Peak memory is the file's
/// size plus one chunk.
///
/// # Errors
/// As [`decrypt`]. On error `buf` is wiped and left empty, so no plaintext
/// of a failed backup survives in it.
pub fn decrypt_in_place(
    key: &BackupKey,
    buf: &mut Vec<u8>,
    options: &DecryptOptions,
) -> Result<Header, BackupError> {
    let mut scratch = Zeroizing::new(Vec::new());
    let result = decrypt_in_place_inner(key, buf, options, &mut scratch);
    if result.is_err() {
        buf.zeroize();
    }
    result
}

fn decrypt_in_place_inner(
    key: &BackupKey,
    buf: &mut Vec<u8>,
    options: &DecryptOptions,
    scratch: &mut Vec<u8>,
) -> Result<Header, BackupError> {
    let (header, cipher) = open_header(key, &mut &buf[..], options)?;
    let full = header.chunk_size.bytes() + TAG_LEN;
    let (mut read, mut write, mut index) = (HEADER_LEN, 0usize, 0u64);
    loop {
        let rest = buf.len() - read;
        let at_end = rest <= full;
        let chunk_len = rest.min(full);
        resize_wiped(
            scratch,
            chunk_len.saturating_sub(TAG_LEN),
            full - TAG_LEN,
            Growth::Doubling,
        );
        let plain_len = cipher.open_chunk(index, &buf[read..read + chunk_len], at_end, scratch)?;
        buf[write..write + plain_len].copy_from_slice(&scratch[..plain_len]);
        write += plain_len;
        read += chunk_len;
        if at_end {
            buf.truncate(write);
            return Ok(header);
        }
        index += 1;
    }
}
