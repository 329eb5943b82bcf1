//! The worked example of docs/archive.md section 10, checked byte for byte.
//!
//! The annotated dump is read from the document itself, so the spec and the
//! code cannot drift apart silently: every line's offset must be where the
//! line starts, the bytes must be what `encode` writes, and they must decode
//! back to the archive described in the section's tables.

// In a module named `archive`, so that `cargo test -p backup-vault archive`
// selects every test of this file.
mod archive {
    use backup_vault::archive::{
        self, Archive, ArchiveError, Chat, ChatId, Field, Media, MediaId, Message, MessageBody,
        MessageId, ParticipantId,
    };
    use bytes::Bytes;
    use sha2::{Digest, Sha256};
    use std::collections::BTreeMap;

    const DOC: &str = include_str!("../../../docs/archive.md");

    fn unhex(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        assert!(digits.len().is_multiple_of(2), "odd hex length: {s}");
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The `offset | bytes | field` lines of the example block, as (offset, bytes, field).
    fn example_lines() -> Vec<(usize, Vec<u8>, String)> {
        let begin = DOC
            .find("<!-- archive-example:begin -->")
            .expect("begin marker");
        let end = DOC
            .find("<!-- archive-example:end -->")
            .expect("end marker");
        DOC[begin..end]
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '|');
                let offset = parts.next()?.trim().parse().ok()?;
                let bytes = unhex(parts.next().expect("bytes column"));
                let field = parts.next().expect("field column").trim().to_string();
                Some((offset, bytes, field))
            })
            .collect()
    }

    fn example_bytes() -> Vec<u8> {
        example_lines()
            .into_iter()
            .flat_map(|(_, b, _)| b)
            .collect()
    }

    /// The archive of section 10's tables.
    fn example_archive() -> Archive {
        let message = |id, sender, sent_at_ms, body| Message {
            id: MessageId(id),
            sender: ParticipantId(sender),
            sent_at_ms,
            body,
        };
        let media = |mime: &str, bytes: &[u8]| Media {
            mime: mime.to_string(),
            bytes: Bytes::copy_from_slice(bytes),
        };
        Archive {
            chats: vec![Chat {
                id: ChatId(1),
                title: "Ana".to_string(),
                members: vec![ParticipantId(1), ParticipantId(2)],
                messages: vec![
                    message(1, 2, 1_700_000_000_000, MessageBody::Text("Hi 👋".into())),
                    message(
                        2,
                        1,
                        1_700_000_005_000,
                        MessageBody::Photo { media: MediaId(7) },
                    ),
                    message(
                        3,
                        2,
                        1_700_000_060_000,
                        MessageBody::VoiceNote {
                            media: MediaId(8),
                            duration_ms: 2000,
                        },
                    ),
                    message(
                        5,
                        1,
                        1_700_000_120_000,
                        MessageBody::Video {
                            media: MediaId(9),
                            duration_ms: 1500,
                        },
                    ),
                    message(
                        6,
                        2,
                        1_700_003_600_000,
                        MessageBody::Document {
                            media: MediaId(10),
                            file_name: "notes.pdf".into(),
                        },
                    ),
                    message(
                        7,
                        1,
                        1_700_003_660_000,
                        MessageBody::Photo { media: MediaId(7) },
                    ),
                ],
            }],
            media: BTreeMap::from([
                (MediaId(7), media("image/jpeg", &[0xff, 0xd8, 0xff, 0xd9])),
                (MediaId(8), media("audio/ogg", b"OggS")),
                (MediaId(9), media("video/mp4", &[0, 0, 0, 0x20])),
                (MediaId(10), media("application/pdf", b"%PDF")),
            ]),
        }
    }

    #[test]
    fn every_line_starts_at_its_offset() {
        let lines = example_lines();
        assert!(lines.len() > 50, "only {} lines parsed", lines.len());
        let mut offset = 0;
        for (at, bytes, field) in &lines {
            assert_eq!(*at, offset, "line {field:?} is at {offset}, not {at}");
            assert!(!bytes.is_empty(), "line {field:?} has no bytes");
            offset += bytes.len();
        }
    }

    #[test]
    fn the_documented_example_matches_byte_for_byte() {
        let bytes = example_bytes();
        let archive = example_archive();
        assert_eq!(archive::encode(&archive).unwrap(), bytes);
        assert_eq!(archive::encoded_len(&archive).unwrap(), bytes.len());
        assert_eq!(archive::decode(&bytes).unwrap(), archive);

        // The length and digest stated in the prose.
        let digest = hex::encode(Sha256::digest(&bytes));
        let stated = format!("({} bytes, SHA-256\n`{digest}`)", bytes.len());
        assert!(DOC.contains(&stated), "docs/archive.md should say {stated}");
    }

    #[test]
    fn the_documented_empty_archive_matches() {
        let empty = archive::encode(&Archive::empty()).unwrap();
        assert_eq!(empty.len(), archive::EMPTY_LEN);
        let hex: Vec<String> = empty.iter().map(|b| format!("{b:02x}")).collect();
        let stated = format!("the 18 bytes `{}`", hex.join(" "));
        assert!(DOC.contains(&stated), "docs/archive.md should say {stated}");
    }

    #[test]
    fn documented_field_names_locate_errors() {
        // Damaging a field of the example gives an error at that field's offset.
        let lines = example_lines();
        let base = example_bytes();
        let at = |name: &str| {
            lines
                .iter()
                .find(|(_, _, f)| f.trim() == name)
                .unwrap_or_else(|| panic!("no line {name:?}"))
                .0
        };

        let mut kind = base.clone();
        kind[at("kind 1 (photo)")] = 9;
        assert_eq!(
            archive::decode(&kind),
            Err(ArchiveError::UnknownMessageKind {
                offset: at("kind 1 (photo)") as u64,
                kind: 9
            })
        );

        let mut text = base.clone();
        text[at("text \"Hi 👋\"") + 3] = 0xff;
        assert_eq!(
            archive::decode(&text),
            Err(ArchiveError::InvalidUtf8 {
                offset: at("text length 7") as u64,
                field: Field::Text,
                valid_up_to: 3,
            })
        );

        let mut order = base.clone();
        order[at("member 2") + 7] = 1;
        assert_eq!(
            archive::decode(&order),
            Err(ArchiveError::OutOfOrder {
                offset: at("member 2") as u64,
                field: Field::Member,
                previous: 1,
                found: 1,
            })
        );

        let mut dangling = base.clone();
        dangling[at("media 10") + 7] = 11;
        assert_eq!(
            archive::decode(&dangling),
            Err(ArchiveError::MediaMismatch {
                offset: at("media 3: id 10") as u64,
                expected: 11,
                found: 10,
            })
        );
    }
}
