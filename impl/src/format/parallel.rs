//! Multi-threaded encryption and decryption: a pipeline of workers that take
//! turns at the reader and at the writer.
//!
//! Each worker repeats: take the next chunk from the reader (under a lock,
//! so chunks are read in file order and numbered as they are read); seal or
//! open it; wait until every earlier chunk is written; write it. While one
//! worker reads, others seal or open and another writes, so the three
//! overlap. The output is byte-identical to [`super::Encryptor`] /
//! [`super::Decryptor`] given the same key and params, and the same finality
//! rule decides every error. When chunks fail, the first in file order is
//! reported, after every chunk before it was written, as the streaming
//! adapters do.
//!
//! Memory: one chunk in flight per worker. A worker owns one buffer when
//! encrypting and two when decrypting (ciphertext and plaintext: chunks are
//! opened out of place), so the buffers never exceed [`buffer_bound`]
//! (about 1.5 chunks per worker to encrypt, 2.5 to decrypt), whatever the
//! file size. A worker is started only when the input has a
//! chunk for it, and its buffers grow only as data arrives: a 5-byte input
//! allocates one small buffer (two when decrypting), whatever `threads` is.

use super::buffer::{read_growing, resize_wiped};
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

/// The most bytes of chunk buffers [`encrypt_parallel`] (`decrypting` false)
/// or [`decrypt_parallel`] (`decrypting` true) hold at once on `threads`
/// threads. Per worker: one chunk and its tag to encrypt; to decrypt, one
/// chunk with its tag and one byte of look-ahead, plus one chunk of
/// plaintext; and, while a buffer doubles, its old half.
pub fn buffer_bound(chunk_size: ChunkSize, threads: NonZeroUsize, decrypting: bool) -> usize {
    threads.get() * worker_bound(chunk_size.bytes(), decrypting)
}

fn worker_bound(chunk_size: usize, decrypting: bool) -> usize {
    let input = input_limit(chunk_size, decrypting);
    let growing = input / 2;
    if decrypting {
        input + chunk_size + growing
    } else {
        input + growing
    }
}

/// Bytes of a worker's input buffer: a chunk to seal and room for its tag,
/// or a chunk to open (with its tag) and one byte of look-ahead.
fn input_limit(chunk_size: usize, decrypting: bool) -> usize {
    if decrypting {
        chunk_size + TAG_LEN + 1
    } else {
        chunk_size + TAG_LEN
    }
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

/// A worker's chunk buffer: counted in the ledger, wiped on drop.
struct Buffer<'l> {
    bytes: Vec<u8>,
    ledger: &'l Ledger,
}

impl<'l> Buffer<'l> {
    fn new(ledger: &'l Ledger) -> Self {
        Buffer {
            bytes: Vec::new(),
            ledger,
        }
    }

    /// Runs `f` on the bytes and records any growth.
    fn grow<T>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let before = self.bytes.capacity();
        let out = f(&mut self.bytes);
        let after = self.bytes.capacity();
        if after != before {
            self.ledger.grew(before, after);
        }
        out
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        self.bytes.zeroize();
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

/// One chunk taken from the reader.
struct Taken {
    index: u64,
    len: usize,
    at_end: bool,
}

struct Pipeline<'a, R, W> {
    cipher: &'a ChunkCipher,
    chunk_size: usize,
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

    /// Reads the next chunk into `buf`; `None` once the input is used up.
    /// A failure is returned with the index of the chunk it stopped.
    fn take(
        &self,
        source: &mut Source<R>,
        buf: &mut Buffer<'_>,
    ) -> Result<Option<Taken>, (u64, BackupError)> {
        if source.done {
            return Ok(None);
        }
        let index = source.next_index;
        let (full, limit) = match self.mode {
            Mode::Seal => (self.chunk_size, input_limit(self.chunk_size, false)),
            Mode::Open => {
                let full = self.chunk_size + TAG_LEN;
                (full, input_limit(self.chunk_size, true))
            }
        };
        let mut filled = 0;
        if let Some(byte) = source.carry.take() {
            buf.grow(|b| resize_wiped(b, 1, limit));
            buf.bytes[0] = byte;
            filled = 1;
        }
        // One byte past the chunk tells whether another follows.
        let read = buf.grow(|b| read_growing(&mut source.reader, b, filled, full + 1, limit));
        let mut len = read.map_err(|err| {
            source.done = true;
            (index, BackupError::from(err))
        })?;
        let at_end = len <= full;
        if !at_end {
            source.carry = Some(buf.bytes[full]);
            len = full;
        }
        source.done = at_end;
        source.next_index += 1;
        let too_many = index > u64::from(u32::MAX) || (!at_end && index == u64::from(u32::MAX));
        if self.mode == Mode::Seal && too_many {
            source.done = true;
            return Err((index, BackupError::TooManyChunks));
        }
        if self.mode == Mode::Open && len == 0 {
            // Only possible at chunk 0: the file ends right after its header.
            return Err((
                index,
                BackupError::Truncated {
                    at: TruncatedAt::Chunk { index },
                },
            ));
        }
        Ok(Some(Taken { index, len, at_end }))
    }

    /// Seals or opens the chunk in `input`; returns the bytes to write and
    /// the plaintext length they stand for.
    fn process<'b>(
        &self,
        chunk: &Taken,
        input: &'b mut Buffer<'_>,
        output: &'b mut Buffer<'_>,
    ) -> Result<(&'b [u8], usize), BackupError> {
        let len = chunk.len;
        match self.mode {
            Mode::Seal => {
                let limit = input_limit(self.chunk_size, false);
                input.grow(|b| resize_wiped(b, len + TAG_LEN, limit));
                let counter = u32::try_from(chunk.index).expect("checked when read");
                let (body, rest) = input.bytes.split_at_mut(len);
                let tag = self.cipher.seal(counter, chunk.at_end, body);
                rest[..TAG_LEN].copy_from_slice(&tag);
                Ok((&input.bytes[..len + TAG_LEN], len))
            }
            Mode::Open => {
                let plain = len.saturating_sub(TAG_LEN);
                output.grow(|b| resize_wiped(b, plain, self.chunk_size));
                let plain_len = self.cipher.open_chunk(
                    chunk.index,
                    &input.bytes[..len],
                    chunk.at_end,
                    &mut output.bytes[..plain],
                )?;
                Ok((&output.bytes[..plain_len], plain_len))
            }
        }
    }

    /// Waits until every chunk before `index` is written, then writes `bytes`.
    /// Returns without writing if an earlier chunk failed.
    fn write_in_turn(&self, index: u64, bytes: &[u8], plaintext_len: usize) {
        let mut sink = lock(&self.sink);
        loop {
            if self.stopped_before(index + 1) {
                return;
            }
            if sink.next_index == index {
                break;
            }
            sink = self
                .turn
                .wait(sink)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        match sink.writer.write_all(bytes) {
            Ok(()) => {
                sink.next_index += 1;
                sink.plaintext_bytes += plaintext_len as u64;
                drop(sink);
                self.turn.notify_all();
            }
            Err(err) => {
                drop(sink);
                self.fail(index, err.into());
            }
        }
    }
}

/// One worker: takes chunks until the input is used up or a chunk failed,
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
                    let start = !taken.at_end && source.workers < pipeline.threads;
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
        match pipeline.process(&taken, &mut input, &mut output) {
            Ok((bytes, plaintext_len)) => pipeline.write_in_turn(taken.index, bytes, plaintext_len),
            Err(err) => {
                pipeline.fail(taken.index, err);
                return;
            }
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
    use crate::format::buffer::MIN_BUFFER;
    use crate::format::{self, Generation};
    use rand_core::{RngCore, SeedableRng};

    /// The most bytes of buffers a pipeline may hold for an input of `len`
    /// bytes: no more workers than chunks, and no buffer more than twice
    /// what it holds (or about [`MIN_BUFFER`]), plus its old half while it grows.
    fn small_input_bound(len: usize, chunk_size: usize, threads: usize, decrypting: bool) -> usize {
        let chunks = len.div_ceil(chunk_size).max(1);
        let workers = chunks.min(threads);
        let data = len.min(chunk_size) + TAG_LEN + 1;
        let buffer = 2 * (2 * data).max(MIN_BUFFER);
        let buffers = if decrypting { 2 } else { 1 };
        let per_worker = buffers * buffer + buffer / 2;
        workers * per_worker.min(worker_bound(chunk_size, decrypting))
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
        assert!(ledger.workers() <= len.div_ceil(cs).max(1));

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
        assert!(ledger.workers() <= len.div_ceil(cs).max(1));
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
        }
    }

    #[test]
    fn a_few_chunks_start_no_more_workers_than_chunks() {
        check(3 * 4096 + 1, 4096, 8);
    }
}
