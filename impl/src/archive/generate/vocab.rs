//! Word lists and media types the generator draws from: enough variety for
//! realistic lengths and scripts (Latin with accents, Cyrillic, Greek, CJK,
//! Arabic, emoji, including multi-code-point emoji), not a language model.

/// Common English chat words.
pub(super) const WORDS: &[&str] = &[
    "ok", "yes", "no", "lol", "thanks", "see", "you", "tomorrow", "at", "the", "station", "I'm",
    "on", "my", "way", "running", "late", "sorry", "did", "get", "tickets", "for", "tonight",
    "dinner", "is", "ready", "can", "call", "me", "later", "what", "time", "meeting", "sounds",
    "good", "love", "it", "haha", "where", "are", "we", "going", "just", "landed", "miss", "happy",
    "birthday", "don't", "forget", "milk", "and", "bread", "send", "photos", "from", "weekend",
    "that", "was", "amazing", "let's", "do", "again", "soon", "have", "a", "great", "day", "kids",
    "school", "pick", "up", "how", "about", "Friday", "maybe", "not", "sure", "yet", "will",
    "check", "back", "train", "delayed", "twenty", "minutes", "coffee", "?",
];

/// Words and short phrases in other languages and scripts.
pub(super) const FOREIGN: &[&str] = &[
    "¿qué",
    "tal?",
    "mañana",
    "señor",
    "café",
    "très",
    "bien",
    "à",
    "bientôt",
    "déjà",
    "Grüße",
    "schön",
    "Straße",
    "Tschüss",
    "привет",
    "как",
    "дела?",
    "спасибо",
    "хорошо",
    "καλημέρα",
    "ευχαριστώ",
    "こんにちは",
    "ありがとう",
    "今日は",
    "你好",
    "谢谢",
    "明天见",
    "안녕하세요",
    "مرحبا",
    "شكرا",
    "नमस्ते",
    "obrigado",
    "até",
    "logo",
    "Łódź",
    "dziękuję",
    "çok",
    "güzel",
    "tack",
    "så",
    "mycket",
];

/// Emoji, some of several code points (skin tones, ZWJ sequences, flags).
pub(super) const EMOJI: &[&str] = &[
    "😀",
    "😂",
    "👍",
    "👍🏽",
    "❤️",
    "🎉",
    "🙏",
    "😭",
    "🔥",
    "🤔",
    "😅",
    "👋",
    "✈️",
    "🍕",
    "👨‍👩‍👧",
    "🏳️‍🌈",
    "🇧🇷",
    "🇯🇵",
    "☕",
    "🎂",
];

/// Contact names.
pub(super) const NAMES: &[&str] = &[
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Fatima",
    "Gustavo",
    "Hannah",
    "Ines",
    "José",
    "Kenji",
    "Łukasz",
    "Maya",
    "Nnamdi",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tariq",
    "Uma",
    "Vikram",
    "Wen",
    "Xavier",
    "Yara",
    "Zoë",
    "王芳",
    "Олег",
    "Αλέξης",
    "Mom",
];

/// Group chat titles.
pub(super) const GROUPS: &[&str] = &[
    "Family 🏡",
    "Book club",
    "Team standup",
    "Ski trip 2025 ⛷️",
    "Neighbours",
    "Climbing",
    "Wedding planning 💍",
    "Flatmates",
    "Football ⚽ Sunday",
    "Class of 2012",
    "Choir",
    "Startup founders",
    "Grandma's 90th 🎂",
    "Dog walkers",
    "Семья",
    "同学会",
];

/// A media type: MIME type and the leading bytes of a real file of that type.
pub(super) struct MediaType {
    pub(super) mime: &'static str,
    pub(super) signature: &'static [u8],
    /// File name extension (documents only).
    pub(super) extension: &'static str,
}

const fn mt(mime: &'static str, signature: &'static [u8], extension: &'static str) -> MediaType {
    MediaType {
        mime,
        signature,
        extension,
    }
}

/// Photo types, the first being the most common.
pub(super) const PHOTO_TYPES: &[MediaType] = &[
    mt("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpg"),
    mt("image/jpeg", b"\xff\xd8\xff\xe1\x00\x16Exif\x00\x00", "jpg"),
    mt("image/png", b"\x89PNG\r\n\x1a\n", "png"),
    mt("image/heic", b"\x00\x00\x00\x18ftypheic", "heic"),
];

/// Video types.
pub(super) const VIDEO_TYPES: &[MediaType] = &[mt("video/mp4", b"\x00\x00\x00\x20ftypisom", "mp4")];

/// Voice note types.
pub(super) const VOICE_TYPES: &[MediaType] = &[mt("audio/ogg", b"OggS\x00\x02", "ogg")];

/// Document types.
pub(super) const DOCUMENT_TYPES: &[MediaType] = &[
    mt("application/pdf", b"%PDF-1.7\n", "pdf"),
    mt("application/pdf", b"%PDF-1.4\n", "pdf"),
    mt(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
        "docx",
    ),
    mt(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
        "xlsx",
    ),
    mt("application/zip", b"PK\x03\x04", "zip"),
];

/// Document file name stems.
pub(super) const FILE_STEMS: &[&str] = &[
    "boarding-pass",
    "invoice",
    "lease agreement",
    "résumé",
    "Lebenslauf",
    "slides",
    "menu",
    "tax-return",
    "scan",
    "договор",
    "見積書",
    "notes",
];
