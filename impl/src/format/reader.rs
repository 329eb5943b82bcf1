//! The streaming decryptor.

use super::aead::Backend;
use super::buffer::{read_growing, resize_wiped, Growth};
use super::chunk::ChunkCipher;
use super::error::{BackupError, HeaderField};
use super::header::{ChunkSize, Header, HEADER_LEN};
use super::{Flaws, TAG_LEN};
use crate::key::BackupKey;
use std::io::{self, Read, Write};
use zeroize::Zeroize;

/// Limits and settings for reading a backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptOptions {
    /// Largest chunk size this reader accepts; a file declaring more is
    /// refused before any buffer is allocated. Default: the format maximum (16 MiB).
    pub max_chunk_size: ChunkSize,
    pub(crate) backend: Backend,
    pub(crate) flaws: Flaws,
}

impl Default for DecryptOptions {
    fn default() -> Self {
        DecryptOptions {
            max_chunk_size: ChunkSize::MAX,
            backend: Backend::default(),
            flaws: Flaws::default(),
        }
    }
}

impl DecryptOptions {
    /// Opens chunks with `backend` instead of the default. Every backend
    /// accepts and rejects exactly the same files, with the same errors.
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Switches on a deliberate defect, for tests that show a check bites.
    #[cfg(feature = "flaws")]
    pub fn with_flaw(mut self, flaw: crate::flaws::FormatFlaw) -> Self {
        self.flaws.enable(flaw);
        self
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
/// Retries on `Interrupted`. A short count means the stream ended.
///
/// # Errors
/// Any other error from `reader`.
pub fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads, parses and authenticates the header; returns it with the file's cipher.
pub(crate) fn open_header<R: Read>(
    key: &BackupKey,
    reader: &mut R,
    options: &DecryptOptions,
) -> Result<(Header, ChunkCipher), BackupError> {
    let mut bytes = [0u8; HEADER_LEN];
    let n = read_full(reader, &mut bytes)?;
    let header = Header::parse(&bytes[..n])?;
    if header.chunk_size > options.max_chunk_size {
        return Err(BackupError::BadHeader {
            field: HeaderField::ChunkSize,
            reason: "larger than this reader's limit",
        });
    }
    header.authenticate(key)?;
    let cipher = ChunkCipher::new(key, &header, options.backend, options.flaws);
    Ok((header, cipher))
}

/// Decrypts a backup as it is read: a `Read` adapter over any source.
///
/// Opening reads the header, authenticates it against the key, and verifies
/// the first chunk, so a wrong key or a damaged header is reported before any
/// plaintext is read. Memory is one chunk of ciphertext with one byte of
/// look-ahead, and one chunk of plaintext (each chunk is opened out of place,
/// so that the finality rule can try the other flag on intact ciphertext),
/// whatever the file size; both buffers grow only as data arrives. A chunk's plaintext is released only after its tag
/// verifies, and end-of-stream is reported only after the final chunk
/// verified as final and nothing followed it.
///
/// Through `Read`, errors arrive as `io::Error`; [`BackupError::from_io`]
/// recovers the typed error. [`Decryptor::decrypt_to`] returns it directly.
pub struct Decryptor<R: Read> {
    inner: R,
    header: Header,
    cipher: ChunkCipher,
    /// One full chunk and its tag, plus one byte that tells whether more follows.
    buf: Vec<u8>,
    /// The plaintext of the last chunk opened.
    plain: Vec<u8>,
    /// Verified plaintext not yet handed out: `plain[pos..end]`.
    pos: usize,
    end: usize,
    /// The look-ahead byte: the first byte of the next chunk.
    carry: Option<u8>,
    next_index: u64,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Reading,
    /// The final chunk verified and the source ended after it.
    Done,
    Failed,
}

impl<R: Read> Decryptor<R> {
    /// Opens a backup with default options.
    ///
    /// # Errors
    /// Any [`BackupError`] from the header or the first chunk.
    pub fn new(key: &BackupKey, inner: R) -> Result<Self, BackupError> {
        Self::with_options(key, inner, &DecryptOptions::default())
    }

    /// Opens a backup.
    ///
    /// # Errors
    /// Any [`BackupError`] from the header or the first chunk.
    pub fn with_options(
        key: &BackupKey,
        mut inner: R,
        options: &DecryptOptions,
    ) -> Result<Self, BackupError> {
        let (header, cipher) = open_header(key, &mut inner, options)?;
        let mut dec = Decryptor {
            inner,
            header,
            cipher,
            buf: Vec::new(),
            plain: Vec::new(),
            pos: 0,
            end: 0,
            carry: None,
            next_index: 0,
            state: State::Reading,
        };
        dec.next_chunk()?;
        Ok(dec)
    }

    /// The header, authenticated by its MAC and by the first chunk.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// How many chunks have verified so far.
    pub fn chunks_verified(&self) -> u64 {
        self.next_index
    }

    /// Whether the final chunk has verified and the source has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn next_chunk(&mut self) -> Result<(), BackupError> {
        let result = self.next_chunk_inner();
        if result.is_err() {
            self.state = State::Failed;
            self.buf.zeroize();
            self.plain.zeroize();
        }
        result
    }

    fn next_chunk_inner(&mut self) -> Result<(), BackupError> {
        debug_assert_eq!(self.state, State::Reading);
        debug_assert_eq!(self.pos, self.end, "previous plaintext consumed");
        let full = self.header.chunk_size.bytes() + TAG_LEN;
        let mut filled = 0;
        if let Some(byte) = self.carry.take() {
            resize_wiped(&mut self.buf, 1, full + 1, Growth::Doubling);
            self.buf[0] = byte;
            filled = 1;
        }
        filled = read_growing(
            &mut self.inner,
            &mut self.buf,
            filled,
            full + 1,
            full + 1,
            Growth::Doubling,
        )?;
        let at_end = filled <= full;
        let chunk_len = filled.min(full);
        if !at_end {
            self.carry = Some(self.buf[full]);
        }
        let plain_len = chunk_len.saturating_sub(TAG_LEN);
        resize_wiped(&mut self.plain, plain_len, full - TAG_LEN, Growth::Doubling);
        let plain_len = self.cipher.open_chunk(
            self.next_index,
            &self.buf[..chunk_len],
            at_end,
            &mut self.plain[..plain_len],
        )?;
        self.pos = 0;
        self.end = plain_len;
        self.next_index += 1;
        if at_end {
            self.state = State::Done;
        }
        Ok(())
    }

    /// Decrypts the rest of the backup into `out`; returns the plaintext bytes written.
    ///
    /// # Errors
    /// Any [`BackupError`]. Plaintext of the chunks that verified before the
    /// failure has already been written to `out`.
    pub fn decrypt_to<W: Write>(&mut self, mut out: W) -> Result<u64, BackupError> {
        let mut total = 0u64;
        loop {
            match self.state {
                State::Failed => return Err(failed_earlier()),
                State::Reading | State::Done if self.pos < self.end => {
                    out.write_all(&self.plain[self.pos..self.end])?;
                    total += (self.end - self.pos) as u64;
                    self.pos = self.end;
                }
                State::Done => return Ok(total),
                State::Reading => self.next_chunk()?,
            }
        }
    }
}

fn failed_earlier() -> BackupError {
    BackupError::Io(io::Error::other(
        "backup decryption failed earlier; no further plaintext is available",
    ))
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.end {
                let n = out.len().min(self.end - self.pos);
                out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.state {
                State::Done => return Ok(0),
                State::Failed => return Err(failed_earlier().into_io()),
                State::Reading => self.next_chunk().map_err(BackupError::into_io)?,
            }
        }
    }
}

impl<R: Read> Drop for Decryptor<R> {
    fn drop(&mut self) {
        self.buf.zeroize();
        self.plain.zeroize();
    }
}
