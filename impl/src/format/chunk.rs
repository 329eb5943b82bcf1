//! Sealing and opening one chunk, and the rule that decides which chunk is final.
//!
//! A chunk on disk is `ciphertext || tag`, where the ciphertext is as long as
//! the chunk's plaintext: exactly `chunk_size` bytes for every chunk but the
//! final one, which holds 1 to `chunk_size` bytes, or 0 bytes if and only if
//! the whole backup is empty. So one plaintext has exactly one encoding.

use super::error::{BackupError, TruncatedAt};
use super::header::{ChunkSize, Header};
use super::nonce::chunk_nonce;
use super::{Flaws, TAG_LEN};
use crate::key::{BackupKey, Purpose};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use zeroize::Zeroize;

/// Number of chunks a plaintext of `len` bytes is cut into: at least one,
/// since an empty backup is still one sealed final chunk.
pub fn chunk_count(len: u64, chunk_size: ChunkSize) -> u64 {
    len.div_ceil(u64::from(chunk_size.get())).max(1)
}

/// The AES-256-GCM state of one file: its payload key, nonce prefix and
/// associated data. The cipher zeroizes its key schedule on drop.
pub(crate) struct ChunkCipher {
    aead: Aes256Gcm,
    prefix: [u8; 7],
    aad: [u8; 32],
    chunk_size: usize,
    flaws: Flaws,
}

impl ChunkCipher {
    /// The cipher for the file described by `header`, which the caller has
    /// already authenticated against `key`.
    pub(crate) fn new(key: &BackupKey, header: &Header, flaws: Flaws) -> Self {
        let payload_key = key.derive(Purpose::BackupPayload, &header.backup_id.0);
        ChunkCipher {
            aead: Aes256Gcm::new(payload_key.as_ref().into()),
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
        let nonce = self.nonce(index, last);
        self.aead
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad, plaintext)
            .expect("a chunk is far below AES-GCM's per-message limit")
            .into()
    }

    /// Verifies and decrypts in place. On failure the buffer is untouched:
    /// aes-gcm >= 0.10.3 (the fix for CVE-2023-42811) checks the tag before
    /// decrypting, so the other flag can be tried on the same bytes.
    /// `failed_open_leaves_ciphertext_intact` pins this.
    fn open(&self, index: u32, last: bool, ciphertext: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let nonce = self.nonce(index, last);
        self.aead
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &self.aad,
                ciphertext,
                Tag::from_slice(tag),
            )
            .is_ok()
    }

    /// Verifies and decrypts chunk `index` in place; returns its plaintext
    /// length, the plaintext being `chunk[..len]`.
    ///
    /// `chunk` is the chunk's bytes (ciphertext and tag). `at_end` says the
    /// file ends right after it; otherwise the caller has seen at least one
    /// more byte, and `chunk` is exactly `chunk_size + TAG_LEN` long.
    ///
    /// This is the finality rule: a chunk followed by more bytes must verify
    /// as non-final; the chunk the file ends with must verify as final. The
    /// other flag is tried only to name the error precisely. On error the
    /// buffer is wiped, so no unverified plaintext survives.
    pub(crate) fn open_chunk(
        &self,
        index: u64,
        chunk: &mut [u8],
        at_end: bool,
    ) -> Result<usize, BackupError> {
        let result = self.open_chunk_inner(index, chunk, at_end);
        if result.is_err() {
            chunk.zeroize();
        }
        result
    }

    fn open_chunk_inner(
        &self,
        index: u64,
        chunk: &mut [u8],
        at_end: bool,
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
        let (body, tag_bytes) = chunk.split_at_mut(split);
        let tag: [u8; TAG_LEN] = (&*tag_bytes).try_into().expect("split at TAG_LEN");
        if !at_end {
            if self.open(counter, false, body, &tag) {
                return Ok(split);
            }
            if self.open(counter, true, body, &tag) {
                return Err(BackupError::TrailingData { final_chunk: index });
            }
            return Err(corrupt);
        }
        if self.open(counter, true, body, &tag) {
            // Canonical encoding: only a backup with no plaintext at all has
            // an empty final chunk. Our encoder never writes another one.
            if split == 0 && index > 0 {
                return Err(corrupt);
            }
            return Ok(split);
        }
        if chunk.len() == full {
            let (body, _) = chunk.split_at_mut(split);
            if self.open(counter, false, body, &tag) {
                return Err(BackupError::Truncated {
                    at: TruncatedAt::AfterChunk { index },
                });
            }
        }
        Err(corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{BackupParams, ChunkSize, Generation};

    #[test]
    fn failed_open_leaves_ciphertext_intact() {
        let key = BackupKey::from_bytes(&[5; 32]);
        let params = BackupParams::from_parts(
            Generation(1),
            ChunkSize::new(8).unwrap(),
            crate::format::BackupId([1; 16]),
            crate::format::NoncePrefix([2; 7]),
        );
        let cipher = ChunkCipher::new(&key, &Header::seal(&key, &params), Flaws::default());
        let mut buf = *b"8 bytes!";
        let tag = cipher.seal(3, false, &mut buf);
        let sealed = buf;
        assert!(!cipher.open(3, true, &mut buf, &tag));
        assert_eq!(buf, sealed, "a failed open must not touch the buffer");
        assert!(cipher.open(3, false, &mut buf, &tag));
        assert_eq!(&buf, b"8 bytes!");
    }
}
