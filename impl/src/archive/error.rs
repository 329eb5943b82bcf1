//! What can be wrong with an archive's bytes, or with an archive to encode.
//!
//! Every error names the field it is about and the byte offset of that field
//! in the encoding (for the encoder: the offset at which it would have been
//! written), so a damaged archive can be inspected with a hex dump.

use core::fmt;
use thiserror::Error;

/// A field of the encoding (`docs/archive.md` section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The 8 magic bytes.
    Magic,
    /// The format version.
    Version,
    /// The number of chats.
    ChatCount,
    /// A chat's id.
    ChatId,
    /// A chat's title.
    ChatTitle,
    /// A chat's member count.
    MemberCount,
    /// A chat member's participant id.
    Member,
    /// A chat's message count.
    MessageCount,
    /// A message's id.
    MessageId,
    /// A message's sender.
    Sender,
    /// A message's timestamp.
    SentAt,
    /// A message's kind tag.
    MessageKind,
    /// A text message's text.
    Text,
    /// The media id a media message refers to.
    MediaRef,
    /// A video's or voice note's duration.
    Duration,
    /// A document's file name.
    FileName,
    /// The number of media items.
    MediaCount,
    /// A media item's id.
    MediaId,
    /// A media item's MIME type.
    Mime,
    /// A media item's length.
    MediaLength,
    /// A media item's bytes.
    MediaBytes,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Magic => "magic",
            Field::Version => "version",
            Field::ChatCount => "chat count",
            Field::ChatId => "chat id",
            Field::ChatTitle => "chat title",
            Field::MemberCount => "member count",
            Field::Member => "member id",
            Field::MessageCount => "message count",
            Field::MessageId => "message id",
            Field::Sender => "sender id",
            Field::SentAt => "sent_at_ms",
            Field::MessageKind => "message kind",
            Field::Text => "message text",
            Field::MediaRef => "media reference",
            Field::Duration => "duration_ms",
            Field::FileName => "file name",
            Field::MediaCount => "media count",
            Field::MediaId => "media id",
            Field::Mime => "MIME type",
            Field::MediaLength => "media length",
            Field::MediaBytes => "media bytes",
        })
    }
}

/// A decoder limit ([`DecodeLimits`](super::DecodeLimits)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `max_chats`: the number of chats.
    Chats,
    /// `max_messages`: the number of messages, all chats together.
    Messages,
    /// `max_media_bytes`: the bytes of all media items together.
    MediaBytes,
    /// `max_string_bytes`: the length of any one string.
    StringBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Chats => "max_chats",
            Limit::Messages => "max_messages",
            Limit::MediaBytes => "max_media_bytes",
            Limit::StringBytes => "max_string_bytes",
        })
    }
}

/// Why bytes are not an archive, or an archive cannot be encoded.
///
/// Decoding never panics and never allocates before the length or count that
/// asks for the allocation has been checked against the remaining input and
/// the [`DecodeLimits`](super::DecodeLimits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The input does not start with the archive magic.
    #[error("not a chat archive: the first bytes are not the magic \"BVARCHV\\0\"")]
    BadMagic,
    /// The input is longer than `max_total_bytes`; nothing else was read.
    #[error("the input is {len} bytes, over the limit max_total_bytes = {max}")]
    InputTooLarge {
        /// The input's length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A format version this build does not read.
    #[error("unsupported archive version {version}; this build reads version 1")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
    },
    /// The input ends before a field, or a count or length claims more bytes
    /// than remain.
    #[error("archive is truncated: the {field} at byte {offset} needs {needed} bytes, but only {remaining} remain")]
    Truncated {
        /// Where the field starts (for a count or a length: the count or
        /// length field itself).
        offset: u64,
        /// Which field.
        field: Field,
        /// How many bytes it needs from `offset`, at least (for a count: the
        /// count field and the smallest possible items it counts; for a
        /// length: the length field and the bytes it announces).
        needed: u64,
        /// How many bytes are left from `offset`.
        remaining: u64,
    },
    /// A count, a length or the input itself exceeds a decoder limit.
    #[error("the {field} at byte {offset} is {value}, over the limit {limit} = {max}")]
    LimitExceeded {
        /// Where the field starts.
        offset: u64,
        /// Which field.
        field: Field,
        /// Which limit.
        limit: Limit,
        /// The value found (for running totals: the total so far).
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A string is not valid UTF-8.
    #[error("the {field} at byte {offset} is not valid UTF-8 (valid up to byte {valid_up_to} of the string)")]
    InvalidUtf8 {
        /// Where the string starts (its length field).
        offset: u64,
        /// Which string.
        field: Field,
        /// How many leading bytes of the string are valid.
        valid_up_to: u64,
    },
    /// A message kind tag this version does not define.
    #[error("unknown message kind {kind} at byte {offset}; version 1 defines kinds 0 to 4")]
    UnknownMessageKind {
        /// Where the tag is.
        offset: u64,
        /// The tag found.
        kind: u8,
    },
    /// An id that must be strictly greater than the one before it is not.
    #[error("the {field} at byte {offset} is {found}, not greater than the previous one, {previous}; ids must strictly increase")]
    OutOfOrder {
        /// Where the id is.
        offset: u64,
        /// Which id.
        field: Field,
        /// The id before it.
        previous: u64,
        /// The id found.
        found: u64,
    },
    /// The media table has a different number of entries than there are
    /// distinct media ids referred to by messages.
    #[error("the media count at byte {offset} is {declared}, but messages refer to {referenced} distinct media")]
    MediaCount {
        /// Where the media count is.
        offset: u64,
        /// The count found.
        declared: u64,
        /// The number of distinct media ids the messages refer to.
        referenced: u64,
    },
    /// A media table entry is not the next media id referred to by messages:
    /// either that id has no entry (a dangling reference) or this entry is
    /// referred to by no message.
    #[error("the media id at byte {offset} is {found}, but the next media id referred to by a message is {expected}{}",
        if found > expected { ", which has no entry" } else { "; no message refers to this entry" })]
    MediaMismatch {
        /// Where the media id is.
        offset: u64,
        /// The next referenced id, in increasing order.
        expected: u64,
        /// The id found.
        found: u64,
    },
    /// Bytes follow the end of the archive.
    #[error("{count} unexpected bytes after the end of the archive at byte {offset}")]
    TrailingBytes {
        /// Where the archive ends.
        offset: u64,
        /// How many bytes follow.
        count: u64,
    },
    /// Encoding only: a string, list or media item is too long for its length field.
    #[error(
        "cannot encode the {field} at byte {offset}: {len} is more than its length field holds"
    )]
    TooLong {
        /// Where its length field would be.
        offset: u64,
        /// Which field.
        field: Field,
        /// Its length or count.
        len: u64,
    },
}

impl ArchiveError {
    /// The byte offset the error is about, if any.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ArchiveError::InputTooLarge { .. } => None,
            ArchiveError::BadMagic => Some(0),
            ArchiveError::UnsupportedVersion { .. } => Some(8),
            ArchiveError::Truncated { offset, .. }
            | ArchiveError::LimitExceeded { offset, .. }
            | ArchiveError::InvalidUtf8 { offset, .. }
            | ArchiveError::UnknownMessageKind { offset, .. }
            | ArchiveError::OutOfOrder { offset, .. }
            | ArchiveError::MediaCount { offset, .. }
            | ArchiveError::MediaMismatch { offset, .. }
            | ArchiveError::TrailingBytes { offset, .. }
            | ArchiveError::TooLong { offset, .. } => Some(*offset),
        }
    }
}
