//! The archive encoding, version 1, and its encoder. `docs/archive.md` is the
//! byte-level specification; the decoder is in `decode.rs`.
//!
//! ```text
//! archive = magic "BVARCHV\0" (8) || version u16 = 1 || u32 chat_count || chat*
//!           || u32 media_count || media*
//! chat    = u64 id || string title || u32 member_count || u64 member*
//!           || u32 message_count || message*
//! message = u64 id || u64 sender || u64 sent_at_ms || u8 kind || body(kind)
//!           0 text: string text           1 photo: u64 media
//!           2 video: u64 media || u64 duration_ms
//!           3 voice note: u64 media || u64 duration_ms
//!           4 document: u64 media || string file_name
//! media   = u64 id || string mime || u64 len || len bytes
//! string  = u32 len || len bytes of UTF-8
//! ```
//!
//! All integers are fixed-width big-endian, so every value has exactly one
//! encoding. Chat ids, a chat's members and a chat's message ids strictly
//! increase; the media table holds exactly the media ids that messages refer
//! to, in increasing order. The encoder checks those rules as it writes and
//! the decoder checks them as it reads, so `decode(encode(a)) == a` and
//! `encode(decode(b)) == b` for every archive `a` and every accepted `b`.

use super::error::{ArchiveError, Field};
use super::model::{Archive, MessageBody};
use std::collections::BTreeSet;

/// The 8 bytes that open every archive.
pub const MAGIC: [u8; 8] = *b"BVARCHV\0";
/// The only archive version this build reads and writes.
pub const VERSION: u16 = 1;
/// Bytes before the first chat: magic and version.
pub const PREAMBLE_LEN: usize = 10;
/// The length of the empty archive: preamble, chat count 0, media count 0.
pub const EMPTY_LEN: usize = PREAMBLE_LEN + 4 + 4;

/// Message kind tags (`docs/archive.md` section 3.3).
pub mod kind {
    /// [`MessageBody::Text`](crate::archive::MessageBody::Text).
    pub const TEXT: u8 = 0;
    /// [`MessageBody::Photo`](crate::archive::MessageBody::Photo).
    pub const PHOTO: u8 = 1;
    /// [`MessageBody::Video`](crate::archive::MessageBody::Video).
    pub const VIDEO: u8 = 2;
    /// [`MessageBody::VoiceNote`](crate::archive::MessageBody::VoiceNote).
    pub const VOICE_NOTE: u8 = 3;
    /// [`MessageBody::Document`](crate::archive::MessageBody::Document).
    pub const DOCUMENT: u8 = 4;
}

/// The smallest encodings of each repeated item. A decoder checks
/// `count * MIN_..._LEN` against the remaining input before allocating.
pub mod min_len {
    /// A chat with an empty title, no members and no messages.
    pub const CHAT: usize = 8 + 4 + 4 + 4;
    /// A member id.
    pub const MEMBER: usize = 8;
    /// A message up to its kind tag, plus the shortest body (an empty text's length).
    pub const MESSAGE: usize = MESSAGE_HEAD + 4;
    /// A message's id, sender, timestamp and kind tag.
    pub const MESSAGE_HEAD: usize = 8 + 8 + 8 + 1;
    /// A media entry with an empty MIME type and no bytes.
    pub const MEDIA: usize = 8 + 4 + 8;
}

/// Encodes `archive` (`docs/archive.md`).
///
/// # Errors
/// The archive breaks a rule of the format: ids out of order
/// ([`ArchiveError::OutOfOrder`]), a media table that is not exactly the
/// media referred to by messages ([`ArchiveError::MediaCount`],
/// [`ArchiveError::MediaMismatch`]), or a string or list longer than
/// `u32::MAX` ([`ArchiveError::TooLong`]). Offsets are those the field would
/// have had in the output.
pub fn encode(archive: &Archive) -> Result<Vec<u8>, ArchiveError> {
    let len = encoded_len(archive)?;
    let mut out = Writer(Vec::with_capacity(len));
    walk(archive, &mut out)?;
    assert_eq!(out.0.len(), len, "encoded_len and encode disagree");
    Ok(out.0)
}

/// The length of [`encode`]'s output, computed without writing it.
///
/// # Errors
/// The same as [`encode`].
pub fn encoded_len(archive: &Archive) -> Result<usize, ArchiveError> {
    encoded_len_checked(archive)
}

pub(super) fn encoded_len_checked(archive: &Archive) -> Result<usize, ArchiveError> {
    let mut counter = Counter(0);
    walk(archive, &mut counter)?;
    Ok(counter.0)
}

/// Where the encoder's bytes go: a buffer, or only a running count.
trait Sink {
    fn pos(&self) -> u64;
    fn put(&mut self, bytes: &[u8]);
}

struct Writer(Vec<u8>);

impl Sink for Writer {
    fn pos(&self) -> u64 {
        self.0.len() as u64
    }
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

struct Counter(usize);

impl Sink for Counter {
    fn pos(&self) -> u64 {
        self.0 as u64
    }
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

fn put_u64(out: &mut impl Sink, value: u64) {
    out.put(&value.to_be_bytes());
}

fn put_u32_len(out: &mut impl Sink, len: usize, field: Field) -> Result<(), ArchiveError> {
    let value = u32::try_from(len).map_err(|_| ArchiveError::TooLong {
        offset: out.pos(),
        field,
        len: len as u64,
    })?;
    out.put(&value.to_be_bytes());
    Ok(())
}

fn put_string(out: &mut impl Sink, s: &str, field: Field) -> Result<(), ArchiveError> {
    put_u32_len(out, s.len(), field)?;
    out.put(s.as_bytes());
    Ok(())
}

/// Checks that `id` is greater than the previous id of its list, if any.
fn check_increasing(
    offset: u64,
    field: Field,
    previous: &mut Option<u64>,
    id: u64,
) -> Result<(), ArchiveError> {
    if let Some(prev) = *previous {
        if id <= prev {
            return Err(ArchiveError::OutOfOrder {
                offset,
                field,
                previous: prev,
                found: id,
            });
        }
    }
    *previous = Some(id);
    Ok(())
}

/// Writes `archive` to `out`, checking every rule of the format on the way.
fn walk(archive: &Archive, out: &mut impl Sink) -> Result<(), ArchiveError> {
    out.put(&MAGIC);
    out.put(&VERSION.to_be_bytes());
    put_u32_len(out, archive.chats.len(), Field::ChatCount)?;
    let mut referenced = BTreeSet::new();
    let mut previous_chat = None;
    for chat in &archive.chats {
        check_increasing(out.pos(), Field::ChatId, &mut previous_chat, chat.id.0)?;
        put_u64(out, chat.id.0);
        put_string(out, &chat.title, Field::ChatTitle)?;
        put_u32_len(out, chat.members.len(), Field::MemberCount)?;
        let mut previous_member = None;
        for member in &chat.members {
            check_increasing(out.pos(), Field::Member, &mut previous_member, member.0)?;
            put_u64(out, member.0);
        }
        put_u32_len(out, chat.messages.len(), Field::MessageCount)?;
        let mut previous_message = None;
        for message in &chat.messages {
            let id = message.id.0;
            check_increasing(out.pos(), Field::MessageId, &mut previous_message, id)?;
            put_u64(out, id);
            put_u64(out, message.sender.0);
            put_u64(out, message.sent_at_ms);
            put_body(out, &message.body)?;
            referenced.extend(message.body.media());
        }
    }
    if archive.media.len() != referenced.len() {
        return Err(ArchiveError::MediaCount {
            offset: out.pos(),
            declared: archive.media.len() as u64,
            referenced: referenced.len() as u64,
        });
    }
    put_u32_len(out, archive.media.len(), Field::MediaCount)?;
    for ((id, media), expected) in archive.media.iter().zip(&referenced) {
        if id != expected {
            return Err(ArchiveError::MediaMismatch {
                offset: out.pos(),
                expected: expected.0,
                found: id.0,
            });
        }
        put_u64(out, id.0);
        put_string(out, &media.mime, Field::Mime)?;
        put_u64(out, media.bytes.len() as u64);
        out.put(&media.bytes);
    }
    Ok(())
}

fn put_body(out: &mut impl Sink, body: &MessageBody) -> Result<(), ArchiveError> {
    match body {
        MessageBody::Text(text) => {
            out.put(&[kind::TEXT]);
            put_string(out, text, Field::Text)?;
        }
        MessageBody::Photo { media } => {
            out.put(&[kind::PHOTO]);
            put_u64(out, media.0);
        }
        MessageBody::Video { media, duration_ms } => {
            out.put(&[kind::VIDEO]);
            put_u64(out, media.0);
            put_u64(out, *duration_ms);
        }
        MessageBody::VoiceNote { media, duration_ms } => {
            out.put(&[kind::VOICE_NOTE]);
            put_u64(out, media.0);
            put_u64(out, *duration_ms);
        }
        MessageBody::Document { media, file_name } => {
            out.put(&[kind::DOCUMENT]);
            put_u64(out, media.0);
            put_string(out, file_name, Field::FileName)?;
        }
    }
    Ok(())
}
