//! Backup file format v1.
//!
//! A file is a 112-byte [`Header`] followed by a STREAM construction over
//! AES-256-GCM: the plaintext is cut into chunks of `chunk_size` bytes, and
//! chunk `i` is sealed under a nonce made of the header's nonce prefix, the
//! counter `i` and a last-chunk flag ([`nonce`]), with the SHA-256 digest of
//! the header as associated data. Hence truncation, reordering, duplication,
//! splicing and header edits are all detected. `docs/format.md` is the
//! byte-level specification; each submodule mirrors one of its sections.
//!
//! - [`header`]: header layout, parsing and authentication.
//! - [`nonce`]: the nonce layout.
//! - [`chunk`]: sealing and opening one chunk; the rule that decides whether a
//!   chunk is final.
//! - [`Encryptor`] / [`Decryptor`]: streaming `Write` / `Read` adapters whose
//!   memory is bounded by about two chunks, whatever the file size.
//! - [`parallel`]: multi-threaded encryption and decryption whose output is
//!   byte-identical to the streaming adapters.

pub mod chunk;
mod error;
pub mod header;
pub mod nonce;
pub mod parallel;
mod reader;
mod writer;

pub use error::{BackupError, ErrorClass, HeaderField, TruncatedAt};
pub use header::{BackupId, BackupParams, ChunkSize, Generation, Header, NoncePrefix};
pub use reader::{DecryptOptions, Decryptor};
pub use writer::Encryptor;

use crate::key::BackupKey;

/// Bytes of authentication tag appended to every chunk.
pub const TAG_LEN: usize = 16;

/// Encrypts `plaintext` into a complete backup file held in memory.
///
/// For files that do not fit in memory, use [`Encryptor`].
pub fn encrypt(key: &BackupKey, params: &BackupParams, plaintext: &[u8]) -> Vec<u8> {
    let chunks = chunk::chunk_count(plaintext.len() as u64, params.chunk_size);
    let capacity = header::HEADER_LEN + plaintext.len() + chunks as usize * TAG_LEN;
    let mut enc = Encryptor::new(key, params, Vec::with_capacity(capacity))
        .expect("writing to a Vec cannot fail");
    std::io::Write::write_all(&mut enc, plaintext).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Decrypts a complete backup file held in memory, returning its header and plaintext.
///
/// # Errors
/// Any [`BackupError`] except `Io`. No plaintext is returned unless every
/// chunk verified and the stream ended exactly after its final chunk.
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
    let mut dec = Decryptor::with_options(key, file, options)?;
    // The plaintext is never longer than the ciphertext, so this is bounded by the input.
    let mut out = Vec::with_capacity(file.len().saturating_sub(header::HEADER_LEN));
    dec.decrypt_to(&mut out)?;
    Ok((dec.header().clone(), out))
}

/// Per-instance switches for deliberate defects (see `crate::flaws`). All
/// off by default; they can only be switched on with the `flaws` feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Flaws {
    pub(crate) skip_last_chunk_flag: bool,
}

impl Flaws {
    #[cfg(feature = "flaws")]
    pub(crate) fn enable(&mut self, flaw: crate::flaws::FormatFlaw) {
        match flaw {
            crate::flaws::FormatFlaw::SkipLastChunkFlag => self.skip_last_chunk_flag = true,
        }
    }
}
