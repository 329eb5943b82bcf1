//! The streaming encryptor.

use super::buffer::{resize_wiped, Growth};
use super::chunk::ChunkCipher;
use super::error::BackupError;
use super::header::{BackupParams, Header};
use super::TAG_LEN;
use crate::key::BackupKey;
use std::io::{self, Write};
use zeroize::Zeroize;

/// Encrypts a backup as it is written: a `Write` adapter over any sink.
///
/// The header is written at once; each chunk is sealed and written as soon
/// as it is full and more data follows, so memory stays at one chunk (and
/// grows to it only as data arrives). Whole chunks handed over in one
/// `write` are sealed straight from the caller's bytes into the buffer, the
/// copy fused with the cipher. Call [`Encryptor::finish`] to seal the final
/// chunk: a stream dropped without it is missing its final chunk, and every
/// reader rejects it as truncated. The buffer is wiped on drop.
pub struct Encryptor<W: Write> {
    inner: Option<W>,
    cipher: ChunkCipher,
    header: Header,
    /// Plaintext of the chunk being filled (`buf[..filled]`), then
    /// `ciphertext || tag` while it is written.
    buf: Vec<u8>,
    filled: usize,
    chunk_size: usize,
    next_index: u32,
    failed: bool,
}

impl<W: Write> Encryptor<W> {
    /// Starts a backup made with `key` and `params`, writing its header to `inner`.
    ///
    /// # Errors
    /// Any error from writing the header.
    pub fn new(key: &BackupKey, params: &BackupParams, mut inner: W) -> io::Result<Self> {
        let header = Header::seal(key, params);
        let cipher = ChunkCipher::new(key, &header, params.backend, params.flaws);
        inner.write_all(&header.to_bytes())?;
        let chunk_size = params.chunk_size.bytes();
        Ok(Encryptor {
            inner: Some(inner),
            cipher,
            header,
            buf: Vec::new(),
            filled: 0,
            chunk_size,
            next_index: 0,
            failed: false,
        })
    }

    /// The header written at the start of the file.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn limit(&self) -> usize {
        self.chunk_size + TAG_LEN
    }

    /// The counter of the next chunk, which is final if `last`.
    fn take_index(&mut self, last: bool) -> Result<u32, BackupError> {
        let index = self.next_index;
        if !last && index == u32::MAX {
            // A non-final chunk here would leave no counter for the next one.
            return Err(BackupError::TooManyChunks);
        }
        self.next_index = index.wrapping_add(1);
        Ok(index)
    }

    /// Seals the buffered plaintext as chunk `next_index` and writes it.
    fn write_chunk(&mut self, last: bool) -> Result<(), BackupError> {
        let index = self.take_index(last)?;
        let len = self.filled;
        let limit = self.limit();
        resize_wiped(&mut self.buf, len + TAG_LEN, limit, Growth::Doubling);
        let (body, tag) = self.buf.split_at_mut(len);
        tag[..TAG_LEN].copy_from_slice(&self.cipher.seal(index, last, body));
        self.filled = 0;
        let inner = self.inner.as_mut().expect("present until finish");
        inner.write_all(&self.buf[..len + TAG_LEN])?;
        Ok(())
    }

    /// Seals `chunk`, a full chunk known not to be the last, straight from
    /// the caller's bytes, and writes it.
    fn write_sealed_from(&mut self, chunk: &[u8]) -> Result<(), BackupError> {
        debug_assert_eq!(self.filled, 0);
        let index = self.take_index(false)?;
        let len = chunk.len();
        let limit = self.limit();
        resize_wiped(&mut self.buf, len + TAG_LEN, limit, Growth::Doubling);
        let (body, tag) = self.buf.split_at_mut(len);
        tag[..TAG_LEN].copy_from_slice(&self.cipher.seal_into(index, false, chunk, body));
        let inner = self.inner.as_mut().expect("present until finish");
        inner.write_all(&self.buf[..len + TAG_LEN])?;
        Ok(())
    }

    fn poisoned() -> io::Error {
        io::Error::other("the backup encryptor failed earlier; the output is incomplete")
    }

    /// Seals the final chunk, flushes, and returns the sink.
    ///
    /// # Errors
    /// Any error from writing or flushing, or an earlier failure.
    pub fn finish(mut self) -> io::Result<W> {
        if self.failed {
            return Err(Self::poisoned());
        }
        self.write_chunk(true).map_err(BackupError::into_io)?;
        let mut inner = self.inner.take().expect("present until finish");
        inner.flush()?;
        Ok(inner)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(Self::poisoned());
        }
        let mut written = 0;
        let cs = self.chunk_size;
        while written < data.len() {
            let result = if self.filled == cs {
                // More data follows, so the buffered chunk is not the final one.
                self.write_chunk(false)
            } else if self.filled == 0 && data.len() - written > cs {
                // A whole chunk with more data after it is sealed straight
                // from `data`: the copy is fused with the cipher.
                let chunk = &data[written..written + cs];
                written += cs;
                self.write_sealed_from(chunk)
            } else {
                let take = (cs - self.filled).min(data.len() - written);
                let end = self.filled + take;
                let limit = self.limit();
                resize_wiped(&mut self.buf, end, limit, Growth::Doubling);
                self.buf[self.filled..end].copy_from_slice(&data[written..written + take]);
                self.filled = end;
                written += take;
                Ok(())
            };
            if let Err(err) = result {
                self.failed = true;
                return Err(err.into_io());
            }
        }
        Ok(written)
    }

    /// Flushes the sink. A partly filled chunk stays buffered: only the final
    /// chunk may be short, and it is written by [`Encryptor::finish`].
    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for Encryptor<W> {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}
