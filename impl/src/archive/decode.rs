//! The archive decoder, safe on untrusted input (`docs/archive.md` section 5).
//!
//! Every count and length is checked, in this order, against the
//! [`DecodeLimits`] and then against the input that remains, before anything
//! is allocated for it. A count is checked against the remaining input as
//! `count * smallest item`, so the items' memory is bounded by a small
//! multiple of the input's length whatever the count claims. The decoder
//! never panics; every failure is an [`ArchiveError`] naming the field and
//! its byte offset.

use super::codec::{kind, min_len, MAGIC, PREAMBLE_LEN, VERSION};
use super::error::{ArchiveError, Field, Limit};
use super::model::{
    Archive, Chat, ChatId, Media, MediaId, Message, MessageBody, MessageId, ParticipantId,
};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// Bounds on what a decoder accepts, checked before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeLimits {
    /// The longest input, in bytes. Checked first, before anything is read.
    pub max_total_bytes: u64,
    /// The most chats.
    pub max_chats: u32,
    /// The most messages, all chats together.
    pub max_messages: u64,
    /// The most media bytes, all media items together.
    pub max_media_bytes: u64,
    /// The longest string (title, text, MIME type, file name), in bytes.
    pub max_string_bytes: u32,
}

impl DecodeLimits {
    /// The defaults: 1 GiB of input, 100 000 chats, 10 million messages,
    /// 1 GiB of media, 1 MiB per string (chat apps cap a text near 64 KiB).
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_total_bytes: 1 << 30,
        max_chats: 100_000,
        max_messages: 10_000_000,
        max_media_bytes: 1 << 30,
        max_string_bytes: 1 << 20,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// Decodes an archive with the [default limits](DecodeLimits::DEFAULT).
///
/// # Errors
/// See [`decode_with`].
pub fn decode(input: &[u8]) -> Result<Archive, ArchiveError> {
    decode_with(input, &DecodeLimits::DEFAULT)
}

/// Decodes an archive, copying the media bytes out of `input`.
///
/// # Errors
/// Anything that makes `input` other than the one encoding of an archive
/// within `limits`: see [`ArchiveError`] and `docs/archive.md` section 5.
pub fn decode_with(input: &[u8], limits: &DecodeLimits) -> Result<Archive, ArchiveError> {
    Decoder::new(input, None, limits).archive()
}

/// Decodes an archive whose media bytes share `input`'s buffer instead of
/// being copied (cheap [`Bytes::slice`]s).
///
/// # Errors
/// The same as [`decode_with`], for the same input.
pub fn decode_bytes(input: &Bytes, limits: &DecodeLimits) -> Result<Archive, ArchiveError> {
    Decoder::new(input, Some(input), limits).archive()
}

struct Decoder<'a> {
    input: &'a [u8],
    /// When set, the buffer `input` is a view of, so media can be sliced from it.
    shared: Option<&'a Bytes>,
    pos: usize,
    limits: &'a DecodeLimits,
    messages_so_far: u64,
    media_bytes_so_far: u64,
}

impl<'a> Decoder<'a> {
    fn new(input: &'a [u8], shared: Option<&'a Bytes>, limits: &'a DecodeLimits) -> Self {
        Decoder {
            input,
            shared,
            pos: 0,
            limits,
            messages_so_far: 0,
            media_bytes_so_far: 0,
        }
    }

    fn remaining_from(&self, offset: usize) -> u64 {
        (self.input.len() - offset) as u64
    }

    /// The next `n` bytes, or `Truncated` about `field` starting at `offset`
    /// (the field's start, which may be before the current position).
    fn take(&mut self, n: usize, field: Field, offset: usize) -> Result<&'a [u8], ArchiveError> {
        let input: &'a [u8] = self.input;
        match input.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(ArchiveError::Truncated {
                offset: offset as u64,
                field,
                needed: (self.pos - offset + n) as u64,
                remaining: self.remaining_from(offset),
            }),
        }
    }

    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], ArchiveError> {
        let at = self.pos;
        let bytes = self.take(N, field, at)?;
        Ok(bytes.try_into().expect("take returns exactly N bytes"))
    }

    fn u8(&mut self, field: Field) -> Result<u8, ArchiveError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32(&mut self, field: Field) -> Result<u32, ArchiveError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: Field) -> Result<u64, ArchiveError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Checks that `count` items of at least `min_item` bytes each fit in
    /// the input after the count field at `offset`.
    fn check_fits(
        &self,
        offset: usize,
        field: Field,
        count: u64,
        min_item: usize,
    ) -> Result<usize, ArchiveError> {
        let needed = count.saturating_mul(min_item as u64);
        let remaining = self.remaining_from(self.pos);
        if needed > remaining {
            return Err(ArchiveError::Truncated {
                offset: offset as u64,
                field,
                needed: (self.pos - offset) as u64 + needed,
                remaining: self.remaining_from(offset),
            });
        }
        // Fits in the input, so fits in usize.
        Ok(count as usize)
    }

    fn limit(
        offset: usize,
        field: Field,
        limit: Limit,
        value: u64,
        max: u64,
    ) -> Result<(), ArchiveError> {
        if value > max {
            return Err(ArchiveError::LimitExceeded {
                offset: offset as u64,
                field,
                limit,
                value,
                max,
            });
        }
        Ok(())
    }

    fn string(&mut self, field: Field) -> Result<String, ArchiveError> {
        let start = self.pos;
        let len = self.u32(field)?;
        let max = self.limits.max_string_bytes;
        Self::limit(
            start,
            field,
            Limit::StringBytes,
            u64::from(len),
            u64::from(max),
        )?;
        let bytes = self.take(len as usize, field, start)?;
        match core::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(ArchiveError::InvalidUtf8 {
                offset: start as u64,
                field,
                valid_up_to: e.valid_up_to() as u64,
            }),
        }
    }

    /// Reads an id that must be greater than `previous` (if any).
    fn increasing_id(
        &mut self,
        field: Field,
        previous: &mut Option<u64>,
    ) -> Result<u64, ArchiveError> {
        let at = self.pos;
        let id = self.u64(field)?;
        if let Some(prev) = *previous {
            if id <= prev {
                return Err(ArchiveError::OutOfOrder {
                    offset: at as u64,
                    field,
                    previous: prev,
                    found: id,
                });
            }
        }
        *previous = Some(id);
        Ok(id)
    }

    fn archive(mut self) -> Result<Archive, ArchiveError> {
        let len = self.input.len() as u64;
        if len > self.limits.max_total_bytes {
            return Err(ArchiveError::InputTooLarge {
                len,
                max: self.limits.max_total_bytes,
            });
        }
        self.preamble()?;
        debug_assert_eq!(self.pos, PREAMBLE_LEN);

        let at = self.pos;
        let chat_count = self.u32(Field::ChatCount)?;
        let max = self.limits.max_chats;
        Self::limit(
            at,
            Field::ChatCount,
            Limit::Chats,
            u64::from(chat_count),
            u64::from(max),
        )?;
        let n = self.check_fits(at, Field::ChatCount, chat_count.into(), min_len::CHAT)?;
        let mut chats = Vec::with_capacity(n);
        let mut referenced = BTreeSet::new();
        let mut previous_chat = None;
        for _ in 0..n {
            chats.push(self.chat(&mut previous_chat, &mut referenced)?);
        }
        let media = self.media_table(&referenced)?;
        if self.pos != self.input.len() {
            return Err(ArchiveError::TrailingBytes {
                offset: self.pos as u64,
                count: self.remaining_from(self.pos),
            });
        }
        Ok(Archive { chats, media })
    }

    fn preamble(&mut self) -> Result<(), ArchiveError> {
        let seen = &self.input[..self.input.len().min(MAGIC.len())];
        if seen != &MAGIC[..seen.len()] {
            return Err(ArchiveError::BadMagic);
        }
        self.array::<8>(Field::Magic)?;
        let version = u16::from_be_bytes(self.array(Field::Version)?);
        if version != VERSION {
            return Err(ArchiveError::UnsupportedVersion { version });
        }
        Ok(())
    }

    fn chat(
        &mut self,
        previous_chat: &mut Option<u64>,
        referenced: &mut BTreeSet<MediaId>,
    ) -> Result<Chat, ArchiveError> {
        let id = ChatId(self.increasing_id(Field::ChatId, previous_chat)?);
        let title = self.string(Field::ChatTitle)?;

        let at = self.pos;
        let member_count = self.u32(Field::MemberCount)?;
        let n = self.check_fits(at, Field::MemberCount, member_count.into(), min_len::MEMBER)?;
        let mut members = Vec::with_capacity(n);
        let mut previous_member = None;
        for _ in 0..n {
            members.push(ParticipantId(
                self.increasing_id(Field::Member, &mut previous_member)?,
            ));
        }

        let at = self.pos;
        let message_count = self.u32(Field::MessageCount)?;
        self.messages_so_far = self.messages_so_far.saturating_add(message_count.into());
        let max = self.limits.max_messages;
        Self::limit(
            at,
            Field::MessageCount,
            Limit::Messages,
            self.messages_so_far,
            max,
        )?;
        let n = self.check_fits(
            at,
            Field::MessageCount,
            message_count.into(),
            min_len::MESSAGE,
        )?;
        let mut messages = Vec::with_capacity(n);
        let mut previous_message = None;
        for _ in 0..n {
            let message = self.message(&mut previous_message)?;
            referenced.extend(message.body.media());
            messages.push(message);
        }
        Ok(Chat {
            id,
            title,
            members,
            messages,
        })
    }

    fn message(&mut self, previous: &mut Option<u64>) -> Result<Message, ArchiveError> {
        let id = MessageId(self.increasing_id(Field::MessageId, previous)?);
        let sender = ParticipantId(self.u64(Field::Sender)?);
        let sent_at_ms = self.u64(Field::SentAt)?;
        let at = self.pos;
        let body = match self.u8(Field::MessageKind)? {
            kind::TEXT => MessageBody::Text(self.string(Field::Text)?),
            kind::PHOTO => MessageBody::Photo {
                media: self.media_ref()?,
            },
            kind::VIDEO => MessageBody::Video {
                media: self.media_ref()?,
                duration_ms: self.u64(Field::Duration)?,
            },
            kind::VOICE_NOTE => MessageBody::VoiceNote {
                media: self.media_ref()?,
                duration_ms: self.u64(Field::Duration)?,
            },
            kind::DOCUMENT => MessageBody::Document {
                media: self.media_ref()?,
                file_name: self.string(Field::FileName)?,
            },
            other => {
                return Err(ArchiveError::UnknownMessageKind {
                    offset: at as u64,
                    kind: other,
                })
            }
        };
        Ok(Message {
            id,
            sender,
            sent_at_ms,
            body,
        })
    }

    fn media_ref(&mut self) -> Result<MediaId, ArchiveError> {
        Ok(MediaId(self.u64(Field::MediaRef)?))
    }

    /// The media table, which must hold exactly the `referenced` ids, in order.
    fn media_table(
        &mut self,
        referenced: &BTreeSet<MediaId>,
    ) -> Result<BTreeMap<MediaId, Media>, ArchiveError> {
        let at = self.pos;
        let count = self.u32(Field::MediaCount)?;
        if count as usize != referenced.len() {
            return Err(ArchiveError::MediaCount {
                offset: at as u64,
                declared: count.into(),
                referenced: referenced.len() as u64,
            });
        }
        self.check_fits(at, Field::MediaCount, count.into(), min_len::MEDIA)?;
        let mut media = BTreeMap::new();
        for expected in referenced {
            let at = self.pos;
            let id = self.u64(Field::MediaId)?;
            if id != expected.0 {
                return Err(ArchiveError::MediaMismatch {
                    offset: at as u64,
                    expected: expected.0,
                    found: id,
                });
            }
            let mime = self.string(Field::Mime)?;
            let bytes = self.media_bytes()?;
            media.insert(MediaId(id), Media { mime, bytes });
        }
        Ok(media)
    }

    fn media_bytes(&mut self) -> Result<Bytes, ArchiveError> {
        let at = self.pos;
        let len = self.u64(Field::MediaLength)?;
        self.media_bytes_so_far = self.media_bytes_so_far.saturating_add(len);
        let max = self.limits.max_media_bytes;
        Self::limit(
            at,
            Field::MediaLength,
            Limit::MediaBytes,
            self.media_bytes_so_far,
            max,
        )?;
        let n = self.check_fits(at, Field::MediaLength, len, 1)?;
        let start = self.pos;
        self.take(n, Field::MediaBytes, at)?;
        Ok(match self.shared {
            Some(buffer) => buffer.slice(start..start + n),
            None => Bytes::copy_from_slice(&self.input[start..start + n]),
        })
    }
}
