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
//! - [`Backend`]: which AES-256-GCM implementation seals and opens chunks
//!   (aws-lc by default, RustCrypto's `aes-gcm` as the portable reference);
//!   the bytes are the same either way.
//! - [`chunk`]: sealing and opening one chunk; the rule that decides whether a
//!   chunk is final.
//! - [`Encryptor`] / [`Decryptor`]: streaming `Write` / `Read` adapters whose
//!   memory is bounded by about two chunks, whatever the file size.
//! - [`encrypt`] / [`decrypt`] and their `_into` and `_in_place` variants:
//!   whole files held in memory, each chunk sealed or opened while it is in
//!   cache; the in-place variants need no second buffer at all.
//! - [`parallel`]: multi-threaded encryption and decryption whose output is
//!   byte-identical to the streaming adapters.

mod aead;
mod buffer;
pub mod chunk;
mod error;
pub mod header;
mod memory;
pub mod nonce;
pub mod parallel;
mod reader;
mod writer;

pub use aead::Backend;
pub use error::{BackupError, ErrorClass, HeaderField, TruncatedAt};
pub use header::{BackupId, BackupParams, ChunkSize, Generation, Header, NoncePrefix};
pub use memory::{
    decrypt, decrypt_in_place, decrypt_into, decrypt_with, encrypt, encrypt_in_place, encrypt_into,
};
pub use reader::{read_full, DecryptOptions, Decryptor};
pub use writer::Encryptor;

/// Bytes of authentication tag appended to every chunk.
pub const TAG_LEN: usize = 16;

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
