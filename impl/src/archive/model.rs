//! The chat archive as plain data: chats, their messages, and the media the
//! messages refer to.
//!
//! Media are stored once, in [`Archive::media`], and messages refer to them
//! by [`MediaId`]. A photo forwarded to three chats is then one entry of the
//! archive, not three (media are almost all of an archive's bytes), and a
//! reader can walk every chat and message before touching any media.
//!
//! Every collection is ordered ([`Vec`] in the order the app shows it,
//! [`BTreeMap`] by id), so two equal archives encode to the same bytes. The
//! rules an archive must follow to be encoded (ids in increasing order, the
//! media table holding exactly the media that messages refer to) are those of
//! `docs/archive.md` section 4; [`Archive::check`] tests them.

use bytes::Bytes;
use core::fmt;
use std::collections::{BTreeMap, BTreeSet};

/// Identifies a chat (a one-to-one conversation or a group) within an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(pub u64);

/// Identifies a person: the archive's owner or one of their contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

/// Identifies a message within its chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// Identifies a media item (photo, video, voice note, document) within an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaId(pub u64);

/// A whole chat history: what a client encrypts into one backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Archive {
    /// The chats, in increasing [`ChatId`] order.
    pub chats: Vec<Chat>,
    /// Every media item that a message refers to, and no other, by id.
    pub media: BTreeMap<MediaId, Media>,
}

/// One conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chat {
    /// Unique within the archive.
    pub id: ChatId,
    /// The name shown for the chat (a contact's name, a group's name); may be empty.
    pub title: String,
    /// The current members, in strictly increasing order. A message's sender
    /// need not be one of them (people leave groups).
    pub members: Vec<ParticipantId>,
    /// The messages, oldest first, in strictly increasing [`MessageId`] order.
    pub messages: Vec<Message>,
}

/// One message of a chat.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// Unique within its chat.
    pub id: MessageId,
    /// Who sent it.
    pub sender: ParticipantId,
    /// When it was sent, in milliseconds since the Unix epoch, by the sender's
    /// clock (virtual time in the simulator; the library reads no clock).
    /// Not required to increase: senders' clocks disagree.
    pub sent_at_ms: u64,
    /// What it says or carries.
    pub body: MessageBody,
}

/// The content of a message. Media bodies refer to an entry of [`Archive::media`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageBody {
    /// A text message (user content: `Debug` prints it).
    Text(String),
    /// A photo.
    Photo {
        /// The image.
        media: MediaId,
    },
    /// A video clip.
    Video {
        /// The clip.
        media: MediaId,
        /// Its length in milliseconds.
        duration_ms: u64,
    },
    /// A recorded voice message.
    VoiceNote {
        /// The recording.
        media: MediaId,
        /// Its length in milliseconds.
        duration_ms: u64,
    },
    /// A file sent as an attachment.
    Document {
        /// The file's contents.
        media: MediaId,
        /// The file name shown to the user.
        file_name: String,
    },
}

impl MessageBody {
    /// The media item this body refers to, if any.
    pub fn media(&self) -> Option<MediaId> {
        match self {
            MessageBody::Text(_) => None,
            MessageBody::Photo { media }
            | MessageBody::Video { media, .. }
            | MessageBody::VoiceNote { media, .. }
            | MessageBody::Document { media, .. } => Some(*media),
        }
    }
}

/// One media item: its type and its bytes.
///
/// `Debug` prints the length of the bytes, never the bytes themselves.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Media {
    /// The MIME type, for example `image/jpeg`; not checked against the bytes.
    pub mime: String,
    /// The contents. [`Bytes`] so that copies of an archive share them.
    pub bytes: Bytes,
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("mime", &self.mime)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Archive {
    /// An archive with no chats and no media.
    pub fn empty() -> Archive {
        Archive::default()
    }

    /// The number of messages in all chats.
    pub fn message_count(&self) -> usize {
        self.chats.iter().map(|c| c.messages.len()).sum()
    }

    /// The total size of all media items, counting each once.
    pub fn media_bytes(&self) -> u64 {
        self.media.values().map(|m| m.bytes.len() as u64).sum()
    }

    /// The ids of all media that messages refer to, each once.
    pub fn referenced_media(&self) -> BTreeSet<MediaId> {
        self.chats
            .iter()
            .flat_map(|c| &c.messages)
            .filter_map(|m| m.body.media())
            .collect()
    }

    /// Whether this archive follows the rules of `docs/archive.md` section 4,
    /// that is, whether [`encode`](super::encode) accepts it.
    ///
    /// # Errors
    /// The first rule broken, located at the byte offset where the encoding
    /// would hold the offending field (see [`ArchiveError`](super::ArchiveError)).
    pub fn check(&self) -> Result<(), super::ArchiveError> {
        super::codec::encoded_len_checked(self).map(drop)
    }
}
