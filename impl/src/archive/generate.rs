//! A deterministic generator of realistic chat archives of a chosen size.
//!
//! [`generate`] draws everything from the RNG it is given, with integer
//! arithmetic only (no floating point, no clock), so one RNG state gives the
//! same archive, byte for byte, on every platform. The result has:
//!
//! - several chats, most one-to-one and some groups of 3 to 20 members, with
//!   some chats far busier than others;
//! - text messages, mostly a few words, some sentences, a few of hundreds of
//!   words, with accented Latin, Cyrillic, Greek, CJK, Arabic and emoji;
//! - photos (tens of KB to a few MB), voice notes (KBs to about a MB), videos
//!   (MBs) and documents, each starting with its file type's signature, and
//!   now and then one forwarded again (stored once, referred to twice);
//! - timestamps that increase, in bursts of conversation separated by hours
//!   or days, from [`ArchiveSpec::start_ms`].
//!
//! Its encoded size is at most `target_bytes` and, once the target leaves
//! room for one chat with one message (about 100 bytes), less than 30 bytes
//! under it; media sizes are cut to fit. Media bytes are a fast expansion of
//! one RNG draw per item, so a 20 MB archive costs a few milliseconds.

mod vocab;

use super::codec::{min_len, EMPTY_LEN};
use super::model::{
    Archive, Chat, ChatId, Media, MediaId, Message, MessageBody, MessageId, ParticipantId,
};
use bytes::Bytes;
use rand_core::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use vocab::MediaType;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveSpec {
    /// The encoded size to aim for, in bytes (see the module documentation).
    pub target_bytes: u64,
    /// The most chats to create; fewer when the target is small.
    pub max_chats: u32,
    /// How many contacts chats draw their members from, besides the owner
    /// (participant 1); contact `i` is participant `2 + i`.
    pub contacts: u32,
    /// The virtual time of the first message, in milliseconds since the Unix epoch.
    pub start_ms: u64,
}

impl ArchiveSpec {
    /// The owner of every generated archive: the sender of about half of the messages.
    pub const OWNER: ParticipantId = ParticipantId(1);

    /// An archive of about `target_bytes` bytes, with up to 12 chats among 40 contacts.
    pub fn with_target(target_bytes: u64) -> ArchiveSpec {
        ArchiveSpec {
            target_bytes,
            max_chats: 12,
            contacts: 40,
            start_ms: 1_700_000_000_000, // 2023-11-14
        }
    }

    /// About 512 bytes: one chat with a few short texts.
    pub fn tiny() -> ArchiveSpec {
        ArchiveSpec::with_target(512)
    }

    /// About 100 KB: a few chats, many texts, a few small media items.
    pub fn small() -> ArchiveSpec {
        ArchiveSpec::with_target(100 * 1024)
    }

    /// About 20 MB: a dozen chats, photos, voice notes, videos, documents.
    pub fn large() -> ArchiveSpec {
        ArchiveSpec::with_target(20 * 1024 * 1024)
    }
}

/// Generates an archive for `spec`, drawing every choice from `rng`.
///
/// Deterministic: the same RNG state and spec give the same archive. The
/// archive always encodes (it follows every rule of `docs/archive.md`).
pub fn generate(rng: &mut impl RngCore, spec: &ArchiveSpec) -> Archive {
    let mut g = Generator {
        rng: Draw(rng),
        target: spec.target_bytes,
        size: EMPTY_LEN as u64,
        clock_ms: spec.start_ms,
        next_message_id: 1,
        next_media_id: 1,
        media: BTreeMap::new(),
        sent: [const { Vec::new() }; 4],
    };
    let mut chats = g.chats(spec);
    if chats.is_empty() {
        return Archive::default();
    }
    let weights = g.activity(chats.len());
    let total_weight: u64 = weights.iter().sum();
    while g.remaining() >= MIN_TEXT_MESSAGE {
        let mut pick = g.rng.below(total_weight);
        let index = weights
            .iter()
            .position(|&w| {
                let hit = pick < w;
                pick = pick.saturating_sub(w);
                hit
            })
            .expect("pick < total weight");
        let message = g.message(&chats[index].members);
        chats[index].messages.push(message);
    }
    debug_assert!(g.size <= g.target);
    Archive {
        chats,
        media: g.media,
    }
}

/// The smallest message the generator writes: a text of one byte.
const MIN_TEXT_MESSAGE: u64 = min_len::MESSAGE as u64 + 1;

/// The longest text message, in bytes (WhatsApp allows 65 536 characters).
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// Bytes per second of voice notes (Opus at 16 kbit/s) and videos (2 Mbit/s),
/// to give each a duration that matches its size.
const VOICE_BYTES_PER_SECOND: u64 = 2_000;
const VIDEO_BYTES_PER_SECOND: u64 = 250_000;

/// Media kinds, as indices into per-kind tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Photo = 0,
    Video = 1,
    VoiceNote = 2,
    Document = 3,
}

impl Kind {
    /// Sizes in bytes: smallest worth making, then the range most are drawn from.
    fn sizes(self) -> (u64, u64, u64) {
        const KB: u64 = 1024;
        const MB: u64 = 1024 * 1024;
        match self {
            Kind::Photo => (4 * KB, 30 * KB, 4 * MB),
            Kind::Video => (64 * KB, MB, 16 * MB),
            Kind::VoiceNote => (2 * KB, 4 * KB, MB),
            Kind::Document => (KB, 8 * KB, 4 * MB),
        }
    }

    fn types(self) -> &'static [MediaType] {
        match self {
            Kind::Photo => vocab::PHOTO_TYPES,
            Kind::Video => vocab::VIDEO_TYPES,
            Kind::VoiceNote => vocab::VOICE_TYPES,
            Kind::Document => vocab::DOCUMENT_TYPES,
        }
    }
}

/// Message kinds, weighted per ten thousand: mostly text, as in real chats.
const KIND_WEIGHTS: [(Option<Kind>, u64); 5] = [
    (None, 9_360),
    (Some(Kind::Photo), 350),
    (Some(Kind::VoiceNote), 120),
    (Some(Kind::Document), 90),
    (Some(Kind::Video), 80),
];

/// Integer-only draws from an [`RngCore`].
struct Draw<'r, R: RngCore>(&'r mut R);

impl<R: RngCore> Draw<'_, R> {
    /// Uniform in `0..n` (0 when `n` is 0), by multiply-high: no division,
    /// bias below 2^-64 * n.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Roughly log-uniform in `lo..=hi`: a uniformly chosen octave
    /// `[lo * 2^k, lo * 2^(k+1)]`, then uniform within it.
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let mut octaves = 0;
        while lo << (octaves + 1) <= hi {
            octaves += 1;
        }
        let start = lo << self.below(octaves + 1);
        self.between(start, (start * 2).min(hi).max(start))
    }
}

struct Generator<'r, R: RngCore> {
    rng: Draw<'r, R>,
    target: u64,
    /// The encoded size of everything generated so far.
    size: u64,
    clock_ms: u64,
    next_message_id: u64,
    next_media_id: u64,
    media: BTreeMap<MediaId, Media>,
    /// Media already sent, per [`Kind`], for forwarding.
    sent: [Vec<MediaId>; 4],
}

impl<R: RngCore> Generator<'_, R> {
    fn remaining(&self) -> u64 {
        self.target.saturating_sub(self.size)
    }

    /// The chats, without messages, as many as the target has room for.
    fn chats(&mut self, spec: &ArchiveSpec) -> Vec<Chat> {
        let wanted = (1 + self.target / (32 * 1024)).min(u64::from(spec.max_chats));
        let count = self.rng.between(wanted.div_ceil(2), wanted);
        let mut chats = Vec::new();
        let mut next_chat = 1 + self.rng.below(1 << 20);
        for _ in 0..count {
            let chat = self.chat(ChatId(next_chat), spec.contacts);
            let len = chat_len(&chat);
            if self.size + len + MIN_TEXT_MESSAGE > self.target {
                break;
            }
            self.size += len;
            chats.push(chat);
            next_chat += 1 + self.rng.below(1 << 20);
        }
        chats
    }

    /// A chat without messages. Contact `i` (from 0) is participant `2 + i`.
    fn chat(&mut self, id: ChatId, contacts: u32) -> Chat {
        // Small archives get one-to-one chats only, so that a chat fits.
        let group = self.target >= 4 * 1024 && self.rng.chance(300);
        let others = if group { self.rng.between(2, 19) } else { 1 };
        let others = others.min(u64::from(contacts)) as usize;
        let mut members = BTreeSet::from([ArchiveSpec::OWNER]);
        let mut first_contact = None;
        while members.len() < others + 1 {
            let index = self.rng.below(u64::from(contacts));
            if members.insert(ParticipantId(2 + index)) {
                first_contact.get_or_insert(index as usize);
            }
        }
        let title = match first_contact {
            None => "Notes to self".to_string(),
            Some(index) if !group => vocab::NAMES[index % vocab::NAMES.len()].to_string(),
            Some(_) => self.rng.pick(vocab::GROUPS).to_string(),
        };
        Chat {
            id,
            title,
            members: members.into_iter().collect(),
            messages: Vec::new(),
        }
    }

    /// Activity weights, one per chat: a random permutation of 1/1, 1/2, 1/3 ...
    /// (Zipf), so a few chats carry most messages.
    fn activity(&mut self, chats: usize) -> Vec<u64> {
        let mut weights: Vec<u64> = (1..=chats as u64).map(|rank| 12_000 / rank).collect();
        for i in (1..weights.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            weights.swap(i, j);
        }
        weights
    }

    /// The next message in a chat with these `members`. Needs at least
    /// [`MIN_TEXT_MESSAGE`] bytes of room.
    fn message(&mut self, members: &[ParticipantId]) -> Message {
        let sender = if self.rng.chance(450) || members.len() == 1 {
            ArchiveSpec::OWNER
        } else {
            // Members are sorted and hold the owner (id 1) first.
            members[1 + self.rng.below(members.len() as u64 - 1) as usize]
        };
        self.clock_ms += self.gap_ms();
        let id = MessageId(self.next_message_id);
        // Deleted messages leave gaps in the ids.
        self.next_message_id += 1 + u64::from(self.rng.chance(50));
        let mut roll = self.rng.below(10_000);
        let kind = KIND_WEIGHTS
            .iter()
            .find(|(_, w)| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .and_then(|(k, _)| *k);
        let body = match kind.and_then(|k| self.media_body(k)) {
            Some(body) => body,
            None => self.text_body(),
        };
        Message {
            id,
            sender,
            sent_at_ms: self.clock_ms,
            body,
        }
    }

    /// Time since the previous message: seconds within a conversation,
    /// minutes to hours between them, now and then days.
    fn gap_ms(&mut self) -> u64 {
        match self.rng.below(100) {
            0..55 => self.rng.between(1_000, 60_000),
            55..85 => self.rng.between(60_000, 2 * 3_600_000),
            _ => self.rng.between(2 * 3_600_000, 3 * 86_400_000),
        }
    }

    fn text_body(&mut self) -> MessageBody {
        let room = self.remaining() - min_len::MESSAGE as u64;
        let max_len = (room as usize).min(MAX_TEXT_BYTES);
        let text = self.text(max_len);
        self.size += (min_len::MESSAGE + text.len()) as u64;
        MessageBody::Text(text)
    }

    /// A text of 1 to `max_len` bytes.
    fn text(&mut self, max_len: usize) -> String {
        let words = match self.rng.below(100) {
            0..65 => self.rng.between(1, 6),
            65..90 => self.rng.between(7, 25),
            90..98 => self.rng.between(26, 120),
            _ => self.rng.between(121, 600),
        };
        let foreign = self.rng.chance(150);
        let mut text = String::new();
        for i in 0..words {
            if text.len() >= max_len {
                break;
            }
            let word = match self.rng.below(100) {
                0..8 => self.rng.pick(vocab::EMOJI),
                _ if foreign => self.rng.pick(vocab::FOREIGN),
                _ => self.rng.pick(vocab::WORDS),
            };
            if i > 0 {
                text.push(if self.rng.chance(40) { '\n' } else { ' ' });
            }
            text.push_str(word);
        }
        let mut end = text.len().min(max_len);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        if text.is_empty() {
            text.push('k'); // "k": the shortest reply there is.
        }
        text
    }

    /// A media message of `kind`, or `None` if there is no room for one.
    fn media_body(&mut self, kind: Kind) -> Option<MessageBody> {
        let sent = &self.sent[kind as usize];
        if !sent.is_empty() && self.rng.chance(50) {
            // Forwarded: refers to a media item that is already stored.
            let media = *self.rng.pick(&self.sent[kind as usize]);
            let existing = self.media[&media].bytes.len() as u64;
            let (body, len) = self.body(kind, media, existing);
            if len <= self.remaining() {
                self.size += len;
                return Some(body);
            }
            return None;
        }
        let (min, lo, hi) = kind.sizes();
        let media_type = self.rng.pick(kind.types());
        let media = MediaId(self.next_media_id);
        // At most a quarter of the target, so that small archives hold several items.
        let wanted = self.rng.log_uniform(lo, hi).min(min.max(self.target / 4));
        let (body, message_len) = self.body(kind, media, wanted);
        let overhead = message_len + (min_len::MEDIA + media_type.mime.len()) as u64;
        let len = wanted.min(self.remaining().checked_sub(overhead)?);
        if len < min {
            return None;
        }
        let body = with_duration(body, len);
        self.size += overhead + len;
        self.next_media_id += 1 + self.rng.below(4);
        self.sent[kind as usize].push(media);
        let bytes = self.media_bytes(media_type.signature, len as usize);
        self.media.insert(
            media,
            Media {
                mime: media_type.mime.to_string(),
                bytes,
            },
        );
        Some(body)
    }

    /// The body of a `kind` message referring to `media` of `len` bytes, and
    /// the message's encoded length.
    fn body(&mut self, kind: Kind, media: MediaId, len: u64) -> (MessageBody, u64) {
        let head = min_len::MESSAGE_HEAD as u64;
        match kind {
            Kind::Photo => (MessageBody::Photo { media }, head + 8),
            Kind::Video => {
                let body = MessageBody::Video {
                    media,
                    duration_ms: 0,
                };
                (with_duration(body, len), head + 16)
            }
            Kind::VoiceNote => {
                let body = MessageBody::VoiceNote {
                    media,
                    duration_ms: 0,
                };
                (with_duration(body, len), head + 16)
            }
            Kind::Document => {
                let stem = self.rng.pick(vocab::FILE_STEMS);
                let extension = self.rng.pick(vocab::DOCUMENT_TYPES).extension;
                let file_name = if self.rng.chance(300) {
                    format!("{stem} ({}).{extension}", self.rng.between(1, 9))
                } else {
                    format!("{stem}.{extension}")
                };
                let message_len = head + 8 + 4 + file_name.len() as u64;
                (MessageBody::Document { media, file_name }, message_len)
            }
        }
    }

    /// `len` bytes: the file type's signature, then a SplitMix64 stream from
    /// one RNG draw (media is incompressible in real archives too).
    fn media_bytes(&mut self, signature: &[u8], len: usize) -> Bytes {
        let mut state = self.rng.0.next_u64();
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)).to_le_bytes()
        };
        let mut bytes = vec![0u8; len];
        let mut chunks = bytes.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&next());
        }
        let tail = chunks.into_remainder();
        let n = tail.len();
        tail.copy_from_slice(&next()[..n]);
        let n = signature.len().min(len);
        bytes[..n].copy_from_slice(&signature[..n]);
        Bytes::from(bytes)
    }
}

/// `body` with the duration that matches `len` bytes of media, if it has one.
/// (The duration never changes the body's encoded length.)
fn with_duration(body: MessageBody, len: u64) -> MessageBody {
    match body {
        MessageBody::Video { media, .. } => MessageBody::Video {
            media,
            duration_ms: 500 + len * 1_000 / VIDEO_BYTES_PER_SECOND,
        },
        MessageBody::VoiceNote { media, .. } => MessageBody::VoiceNote {
            media,
            duration_ms: 500 + len * 1_000 / VOICE_BYTES_PER_SECOND,
        },
        other => other,
    }
}

/// The encoded length of a chat without messages.
fn chat_len(chat: &Chat) -> u64 {
    (min_len::CHAT + chat.title.len() + min_len::MEMBER * chat.members.len()) as u64
}
