//! The chat archive: the plaintext that a client encrypts into a backup.
//!
//! An [`Archive`] is a list of chats, each with its members and messages
//! (text, photos, videos, voice notes, documents), and a table of the media
//! the messages refer to, each stored once. It is plain data in ordered
//! collections, so it can be cloned, hashed and compared.
//!
//! - [`model`]: the data model.
//! - [`encode`] / [`decode`]: the versioned byte encoding, specified to the
//!   byte in `docs/archive.md`. It is canonical: each archive has exactly one
//!   encoding, and the decoder accepts nothing else. Decoding is safe on
//!   untrusted input: every count and length is checked against
//!   [`DecodeLimits`] and the remaining input before anything is allocated,
//!   and every failure is an [`ArchiveError`] naming the field and its offset.
//! - [`generate()`]: a deterministic generator of realistic archives of a
//!   chosen size, from an injected RNG, for the simulator and the tests.
//!
//! The archive is plaintext: its integrity and confidentiality come from the
//! backup format ([`crate::format`]) it is encrypted with. The decoder's
//! checks are about robustness (FMT-2), not authenticity.

mod codec;
mod decode;
mod error;
pub mod generate;
pub mod model;

pub use bytes::Bytes;
pub use codec::{encode, encoded_len, kind, min_len, EMPTY_LEN, MAGIC, PREAMBLE_LEN, VERSION};
pub use decode::{decode, decode_bytes, decode_with, DecodeLimits};
pub use error::{ArchiveError, Field, Limit};
pub use generate::{generate, ArchiveSpec};
pub use model::{
    Archive, Chat, ChatId, Media, MediaId, Message, MessageBody, MessageId, ParticipantId,
};
