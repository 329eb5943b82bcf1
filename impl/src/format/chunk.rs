//! Sealing and opening one chunk, and the rule that decides which chunk is final.
//!
//! A chunk on disk is `ciphertext || tag`, where the ciphertext is as long as
//! the chunk's plaintext: exactly `chunk_size` bytes for every chunk but the
//! final one, which holds 1 to `chunk_size` bytes, or 0 bytes if and only if
//! the whole backup is empty. So one plaintext has exactly one encoding.

use super::aead::{Aead, Backend};
use super::error::{BackupError, TruncatedAt};
use super::header::{ChunkSize, Header};
use super::nonce::chunk_nonce;
use super::{Flaws, TAG_LEN};
use crate::key::{BackupKey, Purpose};
use zeroize::Zeroize;

/// Number of chunks a plaintext of `len` bytes is cut into: at least one,
/// since an empty backup is still one sealed final chunk.
pub fn chunk_count(len: u64, chunk_size: ChunkSize) -> u64 {
    len.div_ceil(u64::from(chunk_size.get())).max(1)
}

/// The AES-256-GCM state of one file: its payload key, nonce prefix and
/// associated data. The cipher wipes its key schedule on drop.
pub(crate) struct ChunkCipher {
    aead: Aead,
    prefix: [u8; 7],
    aad: [u8; 32],
    chunk_size: usize,
    flaws: Flaws,
}

impl ChunkCipher {
    /// The cipher for the file described by `header`, which the caller has
    /// already authenticated against `key`.
    pub(crate) fn new(key: &BackupKey, header: &Header, backend: Backend, flaws: Flaws) -> Self {
        let payload_key = key.derive(Purpose::BackupPayload, &header.backup_id.0);
        ChunkCipher {
            aead: Aead::new(backend, &payload_key),
            prefix: header.nonce_prefix.0,
            aad: header.digest(),
            chunk_size: header.chunk_size.bytes(),
            flaws,
        }
    }

    fn nonce(&self, index: u32, last: bool) -> [u8; 12] {
        let flag = last && !self.flaws.skip_last_chunk_flag;
        chunk_nonce(&self.prefix, index, flag)
    }

    /// Encrypts `plaintext` in place and returns its tag.
    pub(crate) fn seal(&self, index: u32, last: bool, plaintext: &mut [u8]) -> [u8; TAG_LEN] {
        debug_assert!(plaintext.len() <= self.chunk_size);
        debug_assert!(
            last || plaintext.len() == self.chunk_size,
            "non-final chunks are full"
        );
        self.aead
            .seal_in_place(&self.nonce(index, last), &self.aad, plaintext)
    }

    /// Encrypts `plaintext` into `out` (exactly as long) and returns its tag.
    pub(crate) fn seal_into(
        &self,
        index: u32,
        last: bool,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> [u8; TAG_LEN] {
        debug_assert!(plaintext.len() <= self.chunk_size);
        debug_assert!(
            last || plaintext.len() == self.chunk_size,
            "non-final chunks are full"
        );
        self.aead
            .seal_into(&self.nonce(index, last), &self.aad, plaintext, out)
    }

    /// Verifies chunk `index` and decrypts it into `out`; returns its
    /// plaintext length, the plaintext being `out[..len]`.
    ///
    /// `chunk` is the chunk's bytes (ciphertext and tag), and is never
    /// modified. `out` must hold at least `chunk.len() - TAG_LEN` bytes.
    /// `at_end` says the file ends right after the chunk; otherwise the
    /// caller has seen at least one more byte, and `chunk` is exactly
    /// `chunk_size + TAG_LEN` long.
    ///
    /// This is the finality rule: a chunk followed by more bytes must verify
    /// as non-final; the chunk the file ends with must verify as final. The
    /// other flag is tried only to name the error precisely, which is why
    /// the ciphertext must survive the first attempt. On error the output is
    /// wiped, so no unverified plaintext survives.
    pub(crate) fn open_chunk(
        &self,
        index: u64,
        chunk: &[u8],
        at_end: bool,
        out: &mut [u8],
    ) -> Result<usize, BackupError> {
        let written = chunk.len().saturating_sub(TAG_LEN).min(out.len());
        let result = self.open_chunk_inner(index, chunk, at_end, out);
        if result.is_err() {
            out[..written].zeroize();
        }
        result
    }

    fn open_chunk_inner(
        &self,
        index: u64,
        chunk: &[u8],
        at_end: bool,
        out: &mut [u8],
    ) -> Result<usize, BackupError> {
        let full = self.chunk_size + TAG_LEN;
        debug_assert!(chunk.len() <= full);
        debug_assert!(at_end || chunk.len() == full);
        let counter = u32::try_from(index).map_err(|_| BackupError::TooManyChunks)?;
        if chunk.len() < TAG_LEN {
            return Err(BackupError::Truncated {
                at: TruncatedAt::Chunk { index },
            });
        }
        let corrupt = BackupError::CorruptChunk {
            index,
            last_in_file: at_end,
        };
        let split = chunk.len() - TAG_LEN;
        let (body, tag_bytes) = chunk.split_at(split);
        let tag: &[u8; TAG_LEN] = tag_bytes.try_into().expect("split at TAG_LEN");
        let out = &mut out[..split];
        let mut open = |last: bool| {
            self.aead
                .open_into(&self.nonce(counter, last), &self.aad, body, tag, out)
        };
        if !at_end {
            if open(false) {
                return Ok(split);
            }
            if open(true) {
                return Err(BackupError::TrailingData { final_chunk: index });
            }
            return Err(corrupt);
        }
        if open(true) {
            // Canonical encoding: only a backup with no plaintext at all has
            // an empty final chunk. Our encoder never writes another one.
            if split == 0 && index > 0 {
                return Err(corrupt);
            }
            return Ok(split);
        }
        if chunk.len() == full && open(false) {
            return Err(BackupError::Truncated {
                at: TruncatedAt::AfterChunk { index },
            });
        }
        Err(corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{BackupParams, ChunkSize, Generation};

    /// The finality rule's second attempt needs the ciphertext after the
    /// first failed, whichever backend wiped what it decrypted.
    #[test]
    fn the_second_attempt_names_the_error_on_every_backend() {
        let key = BackupKey::from_bytes(&[5; 32]);
        let params = BackupParams::from_parts(
            Generation(1),
            ChunkSize::new(8).unwrap(),
            crate::format::BackupId([1; 16]),
            crate::format::NoncePrefix([2; 7]),
        );
        let header = Header::seal(&key, &params);
        for backend in Backend::ALL {
            let cipher = ChunkCipher::new(&key, &header, backend, Flaws::default());
            let mut chunk = b"8 bytes!".to_vec();
            let tag = cipher.seal(3, true, &mut chunk);
            chunk.extend_from_slice(&tag);
            let mut out = [0u8; 8];
            assert!(matches!(
                cipher.open_chunk(3, &chunk, false, &mut out),
                Err(BackupError::TrailingData { final_chunk: 3 })
            ));
            assert_eq!(
                out, [0; 8],
                "{backend:?}: plaintext of a rejected chunk left"
            );
            assert_eq!(cipher.open_chunk(3, &chunk, true, &mut out).unwrap(), 8);
            assert_eq!(&out, b"8 bytes!");

            let mut chunk = b"8 bytes!".to_vec();
            let tag = cipher.seal(4, false, &mut chunk);
            chunk.extend_from_slice(&tag);
            assert!(matches!(
                cipher.open_chunk(4, &chunk, true, &mut out),
                Err(BackupError::Truncated {
                    at: TruncatedAt::AfterChunk { index: 4 }
                })
            ));
        }
    }
}
