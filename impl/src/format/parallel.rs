//! Multi-threaded encryption and decryption.
//!
//! Chunks are independent once the header is fixed, so a batch of chunks is
//! sealed or opened on several threads and written in order. The output is
//! byte-identical to [`super::Encryptor`] / [`super::Decryptor`] given the same
//! key and params, and the same finality rule decides every error. Memory is
//! two batch buffers of about [`BATCH_BYTES`] each, whatever the file size.

use super::chunk::ChunkCipher;
use super::error::BackupError;
use super::header::{BackupParams, Header};
use super::reader::{open_header, read_full, DecryptOptions};
use super::TAG_LEN;
use crate::key::BackupKey;
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use zeroize::Zeroize;

/// Target plaintext bytes per batch; a batch holds at least two chunks per thread.
pub const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The batch buffer: starts at two chunks per thread and doubles after each
/// batch up to about [`BATCH_BYTES`], so a small input never pays for a large
/// allocation. Wiped on drop.
struct Batch {
    buf: Vec<u8>,
    slot_len: usize,
    max_slots: usize,
}

impl Batch {
    fn new(chunk_size: usize, threads: NonZeroUsize) -> Self {
        let slot_len = chunk_size + TAG_LEN;
        let first = 2 * threads.get();
        let max_slots = (BATCH_BYTES / chunk_size).max(first);
        Batch {
            buf: vec![0u8; first * slot_len],
            slot_len,
            max_slots,
        }
    }

    fn grow(&mut self) {
        let slots = self.buf.len() / self.slot_len;
        if slots < self.max_slots {
            let next = (2 * slots).min(self.max_slots);
            self.buf.resize(next * self.slot_len, 0);
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

/// Runs `work(first_index, slots)` over `slots` split into `threads` contiguous runs.
fn for_each_run<T: Send, F>(slots: &mut [T], first_index: u64, threads: NonZeroUsize, work: F)
where
    F: Fn(u64, &mut [T]) + Sync,
{
    let per_thread = slots.len().div_ceil(threads.get()).max(1);
    if threads.get() == 1 || slots.len() <= 1 {
        work(first_index, slots);
        return;
    }
    std::thread::scope(|scope| {
        for (i, run) in slots.chunks_mut(per_thread).enumerate() {
            let work = &work;
            let start = first_index + (i * per_thread) as u64;
            scope.spawn(move || work(start, run));
        }
    });
}

/// Encrypts everything `reader` yields into `writer` as one backup, on
/// `threads` threads. Returns the plaintext length.
///
/// # Errors
/// I/O errors from either side; `TooManyChunks` past 2^32 chunks.
pub fn encrypt_parallel<R: Read, W: Write>(
    key: &BackupKey,
    params: &BackupParams,
    mut reader: R,
    mut writer: W,
    threads: NonZeroUsize,
) -> Result<u64, BackupError> {
    let header = Header::seal(key, params);
    let cipher = ChunkCipher::new(key, &header, params.flaws);
    writer.write_all(&header.to_bytes())?;
    let cs = params.chunk_size.bytes();
    let slot_len = cs + TAG_LEN;
    let mut batch = Batch::new(cs, threads);
    let mut carry: Option<u8> = None;
    let mut next_index = 0u64;
    let mut total = 0u64;
    let result = loop {
        // Fill each slot's plaintext area straight from the reader.
        let mut lens = Vec::new();
        let mut at_end = false;
        let buf = &mut batch.buf;
        for slot in buf.chunks_mut(slot_len) {
            let area = &mut slot[..cs];
            let mut filled = 0;
            if let Some(b) = carry.take() {
                area[0] = b;
                filled = 1;
            }
            filled += read_full(&mut reader, &mut area[filled..])?;
            if filled == 0 && !(next_index == 0 && lens.is_empty()) {
                // The previous chunk ended exactly at the end of the input.
                at_end = true;
                break;
            }
            lens.push(filled);
            if filled < cs {
                at_end = true;
                break;
            }
        }
        if !at_end {
            let mut one = [0u8; 1];
            if read_full(&mut reader, &mut one)? == 0 {
                at_end = true;
            } else {
                carry = Some(one[0]);
            }
        }
        let count = lens.len() as u64;
        if next_index + count > 1 << 32 || (!at_end && next_index + count == 1 << 32) {
            break Err(BackupError::TooManyChunks);
        }
        let last_index = next_index + count - 1;
        let mut slots: Vec<(&mut [u8], usize)> =
            buf.chunks_mut(slot_len).zip(lens.iter().copied()).collect();
        for_each_run(&mut slots, next_index, threads, |start, run| {
            for (i, (slot, len)) in run.iter_mut().enumerate() {
                let index = start + i as u64;
                let last = at_end && index == last_index;
                let (body, tag) = slot.split_at_mut(*len);
                let sealed = cipher.seal(index as u32, last, body);
                tag[..TAG_LEN].copy_from_slice(&sealed);
            }
        });
        for (slot, len) in slots {
            writer.write_all(&slot[..len + TAG_LEN])?;
            total += len as u64;
        }
        next_index += count;
        if at_end {
            break Ok(total);
        }
        batch.grow();
    };
    writer.flush()?;
    result
}

/// Decrypts a backup from `reader` into `writer` on `threads` threads.
/// Returns the header and the plaintext length.
///
/// Each batch is verified completely before any of its plaintext is written,
/// so no unverified plaintext is ever released.
///
/// # Errors
/// As [`super::Decryptor`]: the error of the first chunk, in file order, that fails.
pub fn decrypt_parallel<R: Read, W: Write>(
    key: &BackupKey,
    mut reader: R,
    mut writer: W,
    options: &DecryptOptions,
    threads: NonZeroUsize,
) -> Result<(Header, u64), BackupError> {
    let (header, cipher) = open_header(key, &mut reader, options)?;
    let cs = header.chunk_size.bytes();
    let slot_len = cs + TAG_LEN;
    let mut batch = Batch::new(cs, threads);
    let mut carry: Option<u8> = None;
    let mut next_index = 0u64;
    let mut total = 0u64;
    let result = loop {
        let buf = &mut batch.buf;
        let mut filled = 0;
        if let Some(b) = carry.take() {
            buf[0] = b;
            filled = 1;
        }
        filled += read_full(&mut reader, &mut buf[filled..])?;
        let mut at_end = filled < buf.len();
        if !at_end {
            let mut one = [0u8; 1];
            if read_full(&mut reader, &mut one)? == 0 {
                at_end = true;
            } else {
                carry = Some(one[0]);
            }
        }
        if filled == 0 {
            // Only possible at chunk 0: the file ends right after its header.
            break Err(BackupError::Truncated {
                at: super::TruncatedAt::Chunk { index: next_index },
            });
        }
        // Every slot but the last is full.
        let slot_count = filled.div_ceil(slot_len);
        let last_index = next_index + slot_count as u64 - 1;
        let mut slots: Vec<(&mut [u8], Result<usize, BackupError>)> = buf[..filled]
            .chunks_mut(slot_len)
            .map(|s| (s, Ok(0)))
            .collect();
        for_each_run(&mut slots, next_index, threads, |start, run| {
            for (i, (slot, outcome)) in run.iter_mut().enumerate() {
                let index = start + i as u64;
                let is_last = at_end && index == last_index;
                *outcome = cipher.open_chunk(index, slot, is_last);
            }
        });
        let mut failure = None;
        for (slot, outcome) in slots {
            match outcome {
                Ok(len) => {
                    writer.write_all(&slot[..len])?;
                    total += len as u64;
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        if let Some(err) = failure {
            break Err(err);
        }
        next_index += slot_count as u64;
        if at_end {
            break Ok(total);
        }
        batch.grow();
    };
    let total = result?;
    writer.flush()?;
    Ok((header, total))
}
