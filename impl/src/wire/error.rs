//! What can go wrong when framing or unframing a message.

use super::frame::Kind;
use thiserror::Error;

/// Why bytes are not (yet) a frame, or a value could not be framed.
///
/// Every variant except [`WireError::Incomplete`] means the bytes are bad:
/// a stream that produced them cannot be resynchronized and the connection
/// should be dropped. `Incomplete` only means "wait for more bytes".
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The bytes are a valid prefix of a frame: at least `needed` more bytes
    /// are required before anything more can be said.
    #[error("incomplete frame: at least {needed} more bytes needed")]
    Incomplete {
        /// How many more bytes are needed, at least.
        needed: usize,
    },
    /// A magic byte is wrong: this is not a bvault wire frame.
    #[error("bad frame magic: byte {offset} is {found:#04x}")]
    BadMagic {
        /// Offset of the first wrong byte in the frame (0 or 1).
        offset: usize,
        /// The byte found there.
        found: u8,
    },
    /// A wire version this build does not speak.
    #[error(
        "unsupported wire version {version}; this build speaks version {}",
        super::frame::VERSION
    )]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// A message kind this build does not know.
    #[error("unknown message kind {kind}")]
    UnknownKind {
        /// The kind byte found.
        kind: u8,
    },
    /// The declared body length is over the limit for its kind. Reported
    /// from the header alone, before any of the body is buffered.
    #[error("{kind:?} frame body of {len} bytes is over the limit of {limit} bytes")]
    Oversize {
        /// The frame's kind.
        kind: Kind,
        /// The declared (or, when encoding, actual) body length.
        len: u64,
        /// The limit for that kind.
        limit: u32,
    },
    /// A well-formed frame of another kind than the caller expected.
    #[error("expected a {expected:?} frame, found a {found:?} frame")]
    UnexpectedKind {
        /// The kind the caller asked for.
        expected: Kind,
        /// The kind in the frame.
        found: Kind,
    },
    /// The body is not a valid encoding of the expected type.
    #[error("{kind:?} frame body does not decode: {error}")]
    Body {
        /// The frame's kind.
        kind: Kind,
        /// What postcard reported.
        #[source]
        error: postcard::Error,
    },
    /// The body decoded but did not use every byte the header declared.
    #[error("{kind:?} frame body has {extra} bytes after the message")]
    TrailingBytes {
        /// The frame's kind.
        kind: Kind,
        /// How many bytes were left over.
        extra: usize,
    },
    /// The value could not be serialized (never for the derived vault types).
    #[error("{kind:?} message does not encode: {error}")]
    Encode {
        /// The kind being encoded.
        kind: Kind,
        /// What postcard reported.
        #[source]
        error: postcard::Error,
    },
}

impl WireError {
    /// Whether this only means "more bytes are needed".
    pub fn is_incomplete(&self) -> bool {
        matches!(self, WireError::Incomplete { .. })
    }
}
