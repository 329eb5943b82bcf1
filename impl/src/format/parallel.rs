//! Multi-threaded encryption and decryption: a pipeline of workers that take
//! turns at the reader and at the writer.
//!
//! Each worker repeats: take the next run of chunks from the reader (under a
//! lock, so chunks are read in file order and numbered as they are read);
//! seal or open them; wait until every earlier run is written; write its
//! own. While one worker reads, others seal or open and another writes, so
//! the three overlap. A run is [`run_chunks`] chunks, about 1 MiB, so that
//! the workers meet at the locks a few times per MiB, not once per 64 KiB
//! chunk. The output is byte-identical to [`super::Encryptor`] /
//! [`super::Decryptor`] given the same key and params, and the same finality
//! rule decides every error. When chunks fail, the first in file order is
//! reported, after every chunk before it was written, as the streaming
//! adapters do.
//!
//! Memory: one run in flight per worker. A worker seals a run in place in
//! one buffer, and opens one out of place from a ciphertext buffer into a
//! plaintext buffer, so the buffers never exceed [`buffer_bound`] (about one
//! run per worker to encrypt, two to decrypt), whatever the file size. A
//! worker is started only when the input has a run for it. Its buffers start
//! at 8 KiB, so a 5-byte input allocates one small buffer (two when
//! decrypting) whatever `threads` is, and take the size of a whole run only
//! once the input outgrows that; pages of a run buffer that no data reaches
//! are never touched, not even to wipe them.

use super::buffer::{read_growing, resize_wiped, Growth, MIN_BUFFER};
use super::chunk::ChunkCipher;
use super::error::{BackupError, TruncatedAt};
use super::header::{BackupParams, ChunkSize, Header};
use super::reader::{open_header, DecryptOptions};
use super::TAG_LEN;
use crate::key::BackupKey;
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::Scope;
use zeroize::Zeroize;

/// Target plaintext bytes of one run of chunks.
const RUN_BYTES: usize = 1 << 20;

/// Chunks per run: as many as fit in about 1 MiB, and at least one.
pub fn run_chunks(chunk_size: ChunkSize) -> usize {
    (RUN_BYTES / chunk_size.bytes()).max(1)
}

/// The most bytes of buffers [`encrypt_parallel`] (`decrypting` false) or
/// [`decrypt_parallel`] (`decrypting` true) hold at once on `threads`
/// threads. Per worker: one run of chunks with their tags and a byte of
/// look-ahead (sealed in place, or read to be opened), plus the run's
/// plaintext when decrypting; and, while a buffer grows, its first 8 KiB.
pub fn buffer_bound(chunk_size: ChunkSize, threads: NonZeroUsize, decrypting: bool) -> usize {
    let run = run_chunks(chunk_size);
    threads.get() * worker_bound(chunk_size.bytes(), run, decrypting)
}

fn worker_bound(chunk_size: usize, run: usize, decrypting: bool) -> usize {
    let input = input_limit(chunk_size, run);
    if decrypting {
        input + run * chunk_size + 2 * MIN_BUFFER
    } else {
        input + MIN_BUFFER
    }
}

/// Bytes of a worker's input buffer: `run` chunks with their tags (sealed in
/// place, or read to be opened), and one byte of look-ahead.
fn input_limit(chunk_size: usize, run: usize) -> usize {
    run * (chunk_size + TAG_LEN) + 1
}

/// Counts the bytes of chunk buffers the pipeline holds, so that tests can
/// hold it to [`buffer_bound`].
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    now: AtomicUsize,
    peak: AtomicUsize,
    workers: AtomicUsize,
}

impl Ledger {
    /// A buffer moved from `before` bytes to `after`: both were held while
    /// its contents moved.
    fn grew(&self, before: usize, after: usize) {
        let now = self.now.fetch_add(after, Ordering::Relaxed) + after;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.now.fetch_sub(before, Ordering::Relaxed);
    }

    fn shrank(&self, bytes: usize) {
        self.now.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The most bytes held at once.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// How many workers ran.
    #[cfg(test)]
    pub(crate) fn workers(&self) -> usize {
        self.workers.load(Ordering::Relaxed)
    }
}

/// A worker's buffer: counted in the ledger, wiped on drop.
struct Buffer<'l> {
    bytes: Vec<u8>,
    /// How far the bytes were ever written: all that needs wiping. A buffer
    /// grown for a whole run may hold far less, and the rest of its pages
    /// were never touched.
    used: usize,
    ledger: &'l Ledger,
}

impl<'l> Buffer<'l> {
    fn new(ledger: &'l Ledger) -> Self {
        Buffer {
            bytes: Vec::new(),
            used: 0,
            ledger,
        }
    }

    /// Runs `f` on the bytes and records any growth. Growing wipes the old
    /// allocation whole and copies it whole into the new one.
    fn grow<T>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let before = self.bytes.capacity();
        let out = f(&mut self.bytes);
        let after = self.bytes.capacity();
        if after != before {
            self.ledger.grew(before, after);
            self.used = self.used.max(before);
        }
        out
    }

    /// Records that `bytes[..end]` were written.
    fn touched(&mut self, end: usize) {
        self.used = self.used.max(end);
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        self.bytes[..self.used].zeroize();
        self.ledger.shrank(self.bytes.capacity());
    }
}

/// Encrypting or decrypting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Seal,
    Open,
}

/// The reader's side, taken in turns.
struct Source<R> {
    reader: R,
    next_index: u64,
    /// The first byte of the next chunk, read to learn that one follows.
    carry: Option<u8>,
    /// The input ended, or reading failed.
    done: bool,
    workers: usize,
}

/// The writer's side, taken in turns, in chunk order.
struct Sink<W> {
    writer: W,
    next_index: u64,
    plaintext_bytes: u64,
}

/// One run of chunks taken from the reader.
struct Taken {
    /// The index of its first chunk.
    first: u64,
    /// How many chunks it holds.
    chunks: usize,
    /// The bytes of each of its chunks: `len_of(i)`; every chunk but the
    /// last is full.
    last_len: usize,
    /// The input ends with this run.
    at_end: bool,
    /// An error that stops the file right after this run's chunks.
    then: Option<(u64, BackupError)>,
}

struct Pipeline<'a, R, W> {
    cipher: &'a ChunkCipher,
    chunk_size: usize,
    /// Chunks per run.
    run: usize,
    mode: Mode,
    threads: usize,
    source: Mutex<Source<R>>,
    sink: Mutex<Sink<W>>,
    /// Signalled whenever a chunk is written or a failure is recorded.
    turn: Condvar,
    /// The first failure in file order: no chunk at or after it is written.
    failure: Mutex<Option<(u64, BackupError)>>,
    stop_at: AtomicU64,
    ledger: &'a Ledger,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a worker panicked; the scope re-raises that panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<'a, R: Read + Send, W: Write + Send> Pipeline<'a, R, W> {
    fn new(
        cipher: &'a ChunkCipher,
        chunk_size: usize,
        mode: Mode,
        threads: NonZeroUsize,
        reader: R,
        writer: W,
        ledger: &'a Ledger,
    ) -> Self {
        Pipeline {
            cipher,
            chunk_size,
            run: (RUN_BYTES / chunk_size).max(1),
            mode,
            threads: threads.get(),
            source: Mutex::new(Source {
                reader,
                next_index: 0,
                carry: None,
                done: false,
                workers: 1,
            }),
            sink: Mutex::new(Sink {
                writer,
                next_index: 0,
                plaintext_bytes: 0,
            }),
            turn: Condvar::new(),
            failure: Mutex::new(None),
            stop_at: AtomicU64::new(u64::MAX),
            ledger,
        }
    }

    fn stopped_before(&self, index: u64) -> bool {
        self.stop_at.load(Ordering::Acquire) <= index
    }

    /// Records that chunk `index` failed; keeps the first failure in file order.
    fn fail(&self, index: u64, err: BackupError) {
        {
            let mut failure = lock(&self.failure);
            if failure.as_ref().is_none_or(|(first, _)| index < *first) {
                *failure = Some((index, err));
            }
            self.stop_at.fetch_min(index, Ordering::AcqRel);
        }
        // Taking the sink's lock orders this wake-up after any waiter's check
        // of `stop_at`, so none sleeps through it.
        drop(lock(&self.sink));
        self.turn.notify_all();
    }

    /// Bytes of one whole chunk in the input buffer: its plaintext when
    /// sealing, its ciphertext and tag when opening.
    fn full(&self) -> usize {
        match self.mode {
            Mode::Seal => self.chunk_size,
            Mode::Open => self.chunk_size + TAG_LEN,
        }
    }

    /// Where chunk `i` of a run starts in the input buffer: sealing leaves
    /// room after each chunk for its tag, so a sealed run is contiguous.
    fn slot(&self) -> usize {
        self.chunk_size + TAG_LEN
    }

    /// Reads the next run into `buf`; `None` once the input is used up.
    /// A read error is returned with the index of the chunk it stopped.
    fn take(
        &self,
        source: &mut Source<R>,
        buf: &mut Buffer<'_>,
    ) -> Result<Option<Taken>, (u64, BackupError)> {
        if source.done {
            return Ok(None);
        }
        let first = source.next_index;
        let (full, slot) = (self.full(), self.slot());
        let limit = input_limit(self.chunk_size, self.run);
        // Never past the last counter a file may use: the chunk that would
        // need one more is the error, after the chunks before it.
        let room = (1u64 << 32).saturating_sub(first);
        let run = u64::try_from(self.run).map_or(room, |r| r.min(room));
        let run = usize::try_from(run).expect("at most run_chunks");
        let mut chunks = 0;
        let mut last_len = 0;
        let mut at_end = false;
        while chunks < run && !at_end {
            let start = match self.mode {
                Mode::Seal => chunks * slot,
                Mode::Open => chunks * full,
            };
            let mut filled = start;
            if let Some(byte) = source.carry.take() {
                buf.grow(|b| resize_wiped(b, start + 1, limit, Growth::Whole));
                buf.touched(start + 1);
                buf.bytes[start] = byte;
                filled += 1;
            }
            // One byte past the chunk tells whether another follows.
            let read = buf.grow(|b| {
                read_growing(
                    &mut source.reader,
                    b,
                    filled,
                    start + full + 1,
                    limit,
                    Growth::Whole,
                )
            });
            let end = read.map_err(|err| {
                source.done = true;
                (first + chunks as u64, BackupError::from(err))
            })?;
            buf.touched(end);
            let len = end - start;
            at_end = len <= full;
            if !at_end {
                source.carry = Some(buf.bytes[start + full]);
            }
            // A chunk after the first starts with the carried byte.
            debug_assert!(len > 0 || first + chunks as u64 == 0);
            last_len = len.min(full);
            chunks += 1;
        }
        source.done = at_end;
        source.next_index = first + chunks as u64;
        let mut taken = Taken {
            first,
            chunks,
            last_len,
            at_end,
            then: None,
        };
        let next = taken.first + taken.chunks as u64;
        if self.mode == Mode::Seal && !at_end && next >= 1 << 32 {
            // A non-final chunk at the last counter would leave none for the next.
            source.done = true;
            taken.chunks -= 1;
            taken.then = Some((next - 1, BackupError::TooManyChunks));
        } else if chunks == 0 {
            source.done = true;
            taken.then = Some((first, BackupError::TooManyChunks));
        } else if self.mode == Mode::Open && last_len == 0 {
            // Only possible at chunk 0: the file ends right after its header.
            taken.chunks = 0;
            taken.then = Some((
                first,
                BackupError::Truncated {
                    at: TruncatedAt::Chunk { index: first },
                },
            ));
        }
        Ok(Some(taken))
    }

    /// Seals or opens the chunks of a run; returns the bytes to write, the
    /// plaintext length they stand for, and the error of the first chunk that
    /// failed (the bytes are those of the chunks before it).
    fn process<'b>(
        &self,
        run: &Taken,
        input: &'b mut Buffer<'_>,
        output: &'b mut Buffer<'_>,
    ) -> (&'b [u8], usize, Option<(u64, BackupError)>) {
        let (full, slot) = (self.full(), self.slot());
        let len_of = |i: usize| {
            if i + 1 == run.chunks {
                run.last_len
            } else {
                full
            }
        };
        match self.mode {
            Mode::Seal => {
                let limit = input_limit(self.chunk_size, self.run);
                let mut plaintext = 0;
                let mut end = 0;
                for i in 0..run.chunks {
                    let len = len_of(i);
                    let start = i * slot;
                    input.grow(|b| resize_wiped(b, start + len + TAG_LEN, limit, Growth::Whole));
                    input.touched(start + len + TAG_LEN);
                    let index = run.first + i as u64;
                    let counter = u32::try_from(index).expect("take stops at the last counter");
                    let last = run.at_end && i + 1 == run.chunks;
                    let (body, rest) = input.bytes[start..].split_at_mut(len);
                    let tag = self.cipher.seal(counter, last, body);
                    rest[..TAG_LEN].copy_from_slice(&tag);
                    plaintext += len;
                    end = start + len + TAG_LEN;
                }
                (&input.bytes[..end], plaintext, None)
            }
            Mode::Open => {
                let limit = self.run * self.chunk_size;
                let mut written = 0;
                for i in 0..run.chunks {
                    let len = len_of(i);
                    let start = i * full;
                    let index = run.first + i as u64;
                    let at_end = run.at_end && i + 1 == run.chunks;
                    let room = written + len.saturating_sub(TAG_LEN);
                    output.grow(|b| resize_wiped(b, room, limit, Growth::Whole));
                    output.touched(room);
                    let opened = self.cipher.open_chunk(
                        index,
                        &input.bytes[start..start + len],
                        at_end,
                        &mut output.bytes[written..room],
                    );
                    match opened {
                        Ok(plain) => written += plain,
                        Err(err) => return (&output.bytes[..written], written, Some((index, err))),
                    }
                }
                (&output.bytes[..written], written, None)
            }
        }
    }

    /// Waits until every chunk before `first` is written, then writes
    /// `bytes` and moves the turn on to `next`. Returns whether it wrote;
    /// it does not if an earlier chunk failed.
    fn write_in_turn(&self, first: u64, next: u64, bytes: &[u8], plaintext_len: usize) -> bool {
        let mut sink = lock(&self.sink);
        loop {
            if self.stopped_before(first + 1) {
                return false;
            }
            if sink.next_index == first {
                break;
            }
            sink = self
                .turn
                .wait(sink)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        match sink.writer.write_all(bytes) {
            Ok(()) => {
                sink.next_index = next;
                sink.plaintext_bytes += plaintext_len as u64;
                drop(sink);
                self.turn.notify_all();
                true
            }
            Err(err) => {
                drop(sink);
                self.fail(first, err.into());
                false
            }
        }
    }
}

/// One worker: takes runs until the input is used up or a chunk failed,
/// starting another worker whenever more input follows and `threads` allows.
fn worker<'scope, 'env, R, W>(
    scope: &'scope Scope<'scope, 'env>,
    pipeline: &'scope Pipeline<'scope, R, W>,
) where
    R: Read + Send,
    W: Write + Send,
{
    pipeline.ledger.workers.fetch_add(1, Ordering::Relaxed);
    let mut input = Buffer::new(pipeline.ledger);
    let mut output = Buffer::new(pipeline.ledger);
    loop {
        if pipeline.stop_at.load(Ordering::Acquire) != u64::MAX {
            return;
        }
        let (taken, start_another) = {
            let mut source = lock(&pipeline.source);
            match pipeline.take(&mut source, &mut input) {
                Ok(Some(taken)) => {
                    let start = !source.done && source.workers < pipeline.threads;
                    if start {
                        source.workers += 1;
                    }
                    (taken, start)
                }
                Ok(None) => return,
                Err((index, err)) => {
                    drop(source);
                    pipeline.fail(index, err);
                    return;
                }
            }
        };
        if start_another {
            scope.spawn(move || worker(scope, pipeline));
        }
        let (bytes, plaintext_len, failed) = pipeline.process(&taken, &mut input, &mut output);
        let failed = failed.or(taken.then);
        let next = match &failed {
            Some((index, _)) => *index,
            None => taken.first + taken.chunks as u64,
        };
        let wrote = pipeline.write_in_turn(taken.first, next, bytes, plaintext_len);
        if let Some((index, err)) = failed {
            if wrote {
                pipeline.fail(index, err);
            }
            return;
        }
    }
}

/// Runs the pipeline to the end; returns the writer's plaintext byte count.
fn run<R, W>(pipeline: Pipeline<'_, R, W>) -> Result<(W, u64), BackupError>
where
    R: Read + Send,
    W: Write + Send,
{
    std::thread::scope(|scope| worker(scope, &pipeline));
    if let Some((_, err)) = pipeline
        .failure
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
    {
        return Err(err);
    }
    let sink = pipeline
        .sink
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok((sink.writer, sink.plaintext_bytes))
}

/// Encrypts everything `reader` yields into `writer` as one backup, on up
/// to `threads` threads. Returns the plaintext length.
///
/// # Errors
/// I/O errors from either side; `TooManyChunks` past 2^32 chunks.
pub fn encrypt_parallel<R: Read + Send, W: Write + Send>(
    key: &BackupKey,
    params: &BackupParams,
    reader: R,
    writer: W,
    threads: NonZeroUsize,
) -> Result<u64, BackupError> {
    encrypt_counted(key, params, reader, writer, threads, &Ledger::default())
}

pub(crate) fn encrypt_counted<R: Read + Send, W: Write + Send>(
    key: &BackupKey,
    params: &BackupParams,
    reader: R,
    mut writer: W,
    threads: NonZeroUsize,
    ledger: &Ledger,
) -> Result<u64, BackupError> {
    let header = Header::seal(key, params);
    let cipher = ChunkCipher::new(key, &header, params.backend, params.flaws);
    writer.write_all(&header.to_bytes())?;
    let cs = params.chunk_size.bytes();
    let pipeline = Pipeline::new(&cipher, cs, Mode::Seal, threads, reader, writer, ledger);
    let (mut writer, total) = run(pipeline)?;
    writer.flush()?;
    Ok(total)
}

/// Decrypts a backup from `reader` into `writer` on up to `threads`
/// threads. Returns the header and the plaintext length.
///
/// A chunk's plaintext is written only after its tag verified, and only
/// after every chunk before it was written.
///
/// # Errors
/// As [`super::Decryptor`]: the error of the first chunk, in file order,
/// that fails. Plaintext of the chunks before it has been written.
pub fn decrypt_parallel<R: Read + Send, W: Write + Send>(
    key: &BackupKey,
    reader: R,
    writer: W,
    options: &DecryptOptions,
    threads: NonZeroUsize,
) -> Result<(Header, u64), BackupError> {
    decrypt_counted(key, reader, writer, options, threads, &Ledger::default())
}

pub(crate) fn decrypt_counted<R: Read + Send, W: Write + Send>(
    key: &BackupKey,
    mut reader: R,
    writer: W,
    options: &DecryptOptions,
    threads: NonZeroUsize,
    ledger: &Ledger,
) -> Result<(Header, u64), BackupError> {
    let (header, cipher) = open_header(key, &mut reader, options)?;
    let cs = header.chunk_size.bytes();
    let pipeline = Pipeline::new(&cipher, cs, Mode::Open, threads, reader, writer, ledger);
    let (mut writer, total) = run(pipeline)?;
    writer.flush()?;
    Ok((header, total))
}

#[cfg(test)]
mod tests {
    //! The memory bound, counted through the pipeline's own ledger: every
    //! chunk buffer a worker grows is recorded there.
    use super::*;
    use crate::format::{self, Generation};
    use rand_core::{RngCore, SeedableRng};

    /// The most bytes of buffers a pipeline may hold for an input of `len`
    /// bytes: no more workers than runs, and buffers of [`MIN_BUFFER`] while
    /// a run's data fits in that.
    fn small_input_bound(len: usize, chunk_size: usize, threads: usize, decrypting: bool) -> usize {
        let run = (RUN_BYTES / chunk_size).max(1);
        let workers = runs(len, chunk_size).min(threads);
        let stated = worker_bound(chunk_size, run, decrypting);
        let data = len.min(run * chunk_size) + run * TAG_LEN + 1;
        let per_worker = if data > MIN_BUFFER {
            stated
        } else if decrypting {
            2 * MIN_BUFFER
        } else {
            MIN_BUFFER
        };
        workers * per_worker.min(stated)
    }

    fn runs(len: usize, chunk_size: usize) -> usize {
        let run = (RUN_BYTES / chunk_size).max(1);
        len.div_ceil(chunk_size).max(1).div_ceil(run)
    }

    fn params(chunk_size: u32) -> (BackupKey, BackupParams) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let key = BackupKey::generate(&mut rng);
        let params =
            BackupParams::new(&mut rng, Generation(1), ChunkSize::new(chunk_size).unwrap());
        (key, params)
    }

    fn check(len: usize, chunk_size: u32, threads: usize) {
        let (key, params) = params(chunk_size);
        let cs = chunk_size as usize;
        let mut plaintext = vec![0u8; len];
        rand_chacha::ChaCha20Rng::seed_from_u64(len as u64).fill_bytes(&mut plaintext);
        let n = NonZeroUsize::new(threads).unwrap();

        let ledger = Ledger::default();
        let mut file = Vec::new();
        encrypt_counted(&key, &params, &plaintext[..], &mut file, n, &ledger).unwrap();
        assert_eq!(file, format::encrypt(&key, &params, &plaintext));
        let case = format!("{len} bytes, chunks of {cs}, {threads} threads");
        let bound = buffer_bound(params.chunk_size, n, false);
        assert!(
            ledger.peak() <= bound,
            "{case}: encrypt held {} > {bound}",
            ledger.peak()
        );
        let small = small_input_bound(len, cs, threads, false);
        assert!(
            ledger.peak() <= small,
            "{case}: encrypt held {} > {small}",
            ledger.peak()
        );
        assert!(ledger.workers() <= runs(len, cs));

        let ledger = Ledger::default();
        let mut out = Vec::new();
        let options = DecryptOptions::default();
        decrypt_counted(&key, &file[..], &mut out, &options, n, &ledger).unwrap();
        assert!(out == plaintext, "{case}: decrypt");
        let bound = buffer_bound(params.chunk_size, n, true);
        assert!(
            ledger.peak() <= bound,
            "{case}: decrypt held {} > {bound}",
            ledger.peak()
        );
        let small = small_input_bound(len, cs, threads, true);
        assert!(
            ledger.peak() <= small,
            "{case}: decrypt held {} > {small}",
            ledger.peak()
        );
        assert!(ledger.workers() <= runs(len, cs));
    }

    #[test]
    fn a_tiny_input_allocates_for_one_worker_only() {
        for threads in [1, 2, 8, 32] {
            check(5, 16 << 20, threads);
            check(0, 16 << 20, threads);
        }
    }

    #[test]
    fn a_large_input_stays_within_the_bound() {
        for threads in [1, 2, 8] {
            check((6 << 20) + 3, 1 << 20, threads);
            check(3 << 20, 1 << 20, threads);
            check((3 << 20) + 5, 64 << 10, threads);
        }
    }

    #[test]
    fn a_short_input_starts_no_more_workers_than_runs() {
        check(3 * 4096 + 1, 4096, 8);
        check(3 * 4096 + 1, 1 << 20, 8);
    }

    #[test]
    fn runs_cut_anywhere_give_the_same_bytes() {
        for cs in [1u32, 7, 4096, 65_536] {
            for len in [
                0,
                1,
                cs as usize - 1,
                cs as usize,
                cs as usize + 1,
                5 * cs as usize,
            ] {
                for threads in [1, 3] {
                    check(len, cs, threads);
                }
            }
        }
    }
}
