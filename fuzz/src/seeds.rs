//! The generator of the committed seed corpora in `fuzz/seeds/TARGET/`.
//!
//! Everything here is deterministic, so the committed files can be checked
//! against it (`tests/replay_corpora.rs`) and rewritten with
//! `cargo run -p backup-vault-fuzz --bin decrypt -- --write-seeds` whenever
//! the format changes. Extra files added to a seed directory by hand (for
//! example a minimised crash kept as a regression) are left alone.

use crate::prng::SplitMix64;
use crate::targets::{self, fuzz_key, RoundtripInput};
use arbitrary::{Arbitrary, Unstructured};
use backup_vault::archive::{
    self, Archive, ArchiveSpec, Bytes, Chat, ChatId, Media, MediaId, Message, MessageBody,
    MessageId, ParticipantId,
};
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::{self, BackupParams, ChunkSize, Generation, TAG_LEN};
use backup_vault::key::BackupKey;
use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, Ke1Digest, OprfKeyId, ProofStatement, RegistrationId, SymBlinded,
    SymEval, SymKey, SymPassword, SymProof, SymRegistration, SymRelease, SymbolicCrypto,
    TicketClaims, DELETE_NONCE_LEN,
};
use backup_vault::vault::ids::{LogIndex, NodeId, Term, UserId};
use backup_vault::vault::node::{VaultPeerMessage, VaultWrite};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId, Replacing};
use backup_vault::vault::raft::durable::DiskWrite;
use backup_vault::vault::raft::log::Entry;
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::records::{Command, RecordStore};
use backup_vault::wire;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// One seed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// The target it belongs to (its directory under `fuzz/seeds/`).
    pub target: &'static str,
    /// Its file name.
    pub name: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

fn seed(target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) -> Seed {
    Seed {
        target,
        name: name.to_string(),
        bytes: bytes.into(),
    }
}

/// A backup of `plaintext` made with `key`, its id and nonce prefix drawn from `seed`.
fn backup(key: &BackupKey, seed: u64, chunk_size: u32, plaintext: &[u8]) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let chunk_size = ChunkSize::new(chunk_size).expect("valid chunk size");
    let params = BackupParams::new(&mut rng, Generation(seed), chunk_size);
    format::encrypt(key, &params, plaintext)
}

fn text(len: usize) -> Vec<u8> {
    b"the quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// Seeds of the `decrypt` target: genuine backups made with the fixed key,
/// and damaged ones.
pub fn decrypt_seeds() -> Vec<Seed> {
    let key = fuzz_key();
    let t = "decrypt";
    let multi = backup(&key, 3, 16, &text(100)); // 7 chunks, the last one short
    let exact = backup(&key, 4, 16, &text(64)); // 4 full chunks
    let slot = 16 + TAG_LEN;
    let mut corrupted = multi.clone();
    corrupted[HEADER_LEN + slot + 5] ^= 0x01;
    let mut swapped = multi.clone();
    let (a, b) = (HEADER_LEN, HEADER_LEN + slot);
    let first: Vec<u8> = swapped[a..b].to_vec();
    swapped.copy_within(b..b + slot, a);
    swapped[b..b + slot].copy_from_slice(&first);
    let mut trailing = exact.clone();
    trailing.extend_from_slice(b"junk");
    let mut not_a_backup = b"PK\x03\x04".to_vec();
    not_a_backup.extend_from_slice(&[0u8; 40]);
    vec![
        seed(t, "empty.bvlt", backup(&key, 1, 16, b"")),
        seed(t, "one-byte.bvlt", backup(&key, 2, 16, b"x")),
        seed(t, "multi-chunk.bvlt", multi.clone()),
        seed(t, "exact-multiple.bvlt", exact.clone()),
        seed(t, "chunk-size-1.bvlt", backup(&key, 5, 1, b"hello")),
        seed(
            t,
            "default-chunk.bvlt",
            backup(&key, 6, 64 * 1024, &text(300)),
        ),
        seed(
            t,
            "truncated-at-chunk.bvlt",
            &multi[..HEADER_LEN + 2 * slot],
        ),
        seed(
            t,
            "truncated-mid-chunk.bvlt",
            &multi[..HEADER_LEN + 2 * slot + 20],
        ),
        seed(t, "header-only.bvlt", &multi[..HEADER_LEN]),
        seed(t, "corrupted.bvlt", corrupted),
        seed(t, "swapped-chunks.bvlt", swapped),
        seed(t, "trailing-data.bvlt", trailing),
        seed(
            t,
            "wrong-key.bvlt",
            backup(&BackupKey::from_bytes(&[0x24; 32]), 7, 16, b"other key"),
        ),
        seed(
            t,
            "chunk-size-over-limit.bvlt",
            backup(&key, 8, 128 * 1024, b"small file, big chunks"),
        ),
        seed(t, "not-a-backup.bin", not_a_backup),
    ]
}

/// Seeds of the `header` target: genuine headers and near misses.
pub fn header_seeds() -> Vec<Seed> {
    let key = fuzz_key();
    let t = "header";
    let file = backup(&key, 3, 16, &text(100));
    let header = &file[..HEADER_LEN];
    let mut v2 = header.to_vec();
    v2[9] = 2;
    let mut bad_magic = header.to_vec();
    bad_magic[1] = b'b';
    let big_chunks = backup(&key, 9, 16 * 1024 * 1024, b"")[..HEADER_LEN].to_vec();
    vec![
        seed(t, "header.bin", header),
        seed(t, "header-and-chunks.bin", &file[..HEADER_LEN + 40]),
        seed(t, "header-max-chunk-size.bin", big_chunks),
        seed(t, "prefix.bin", &header[..60]),
        seed(t, "magic-only.bin", &header[..8]),
        seed(t, "version-2.bin", v2),
        seed(t, "bad-magic.bin", bad_magic),
    ]
}

/// Seeds of the `key_text` target: one key in every accepted layout, and
/// texts each rejected for a different reason.
pub fn key_text_seeds() -> Vec<Seed> {
    let t = "key_text";
    let key = BackupKey::from_bytes(&[
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2,
        0xe1, 0xf0,
    ]);
    let grouped = key.to_text().to_string();
    let grid = key.to_text_grid().to_string();
    let bare = grouped.replace(' ', "");
    let mut with_x = grouped.clone();
    with_x.replace_range(30..31, "x");
    vec![
        seed(t, "grouped.txt", grouped.clone()),
        seed(t, "grid.txt", grid.clone()),
        seed(
            t,
            "grid-crlf-trailing.txt",
            format!("{}\r\n", grid.replace('\n', "\r\n")),
        ),
        seed(
            t,
            "upper-dashes.txt",
            grouped.to_uppercase().replace(' ', "-"),
        ),
        seed(t, "bare.txt", bare.clone()),
        seed(t, "bad-char.txt", with_x),
        seed(t, "tab.txt", grouped.replacen(' ', "\t", 3)),
        seed(t, "unicode.txt", format!("\u{00e9}{}\u{00a0}", &bare[1..])),
        seed(t, "grid-bad-line-3.txt", grid.replacen("2d3c", "2d3g", 1)),
        seed(t, "63-digits.txt", &bare[..63]),
        seed(t, "65-digits.txt", format!("{bare}0")),
        seed(t, "empty.txt", ""),
    ]
}

/// Seeds of the `roundtrip` target: raw inputs whose decoding as a
/// [`RoundtripInput`] exercises each kind of mutation. They are found by a
/// deterministic search over random byte strings, since `arbitrary` has no
/// encoder.
pub fn roundtrip_seeds() -> Vec<Seed> {
    type Want = fn(&RoundtripInput<'_>, usize) -> bool;
    use targets::Mutation as M;
    let wants: [(&str, Want); 6] = [
        ("unmodified", |i, n| i.mutations.is_empty() && n >= 16),
        ("flip-bit", |i, n| {
            n >= 64 && matches!(i.mutations[..], [M::FlipBit { .. }])
        }),
        ("truncate", |i, n| {
            n >= 64 && i.mutations.iter().any(|m| matches!(m, M::Truncate { .. }))
        }),
        ("swap-chunks", |i, n| {
            n >= 64
                && i.mutations
                    .iter()
                    .any(|m| matches!(m, M::SwapChunks { .. }))
        }),
        ("duplicate-chunk", |i, n| {
            n >= 64
                && i.mutations
                    .iter()
                    .any(|m| matches!(m, M::DuplicateChunk { .. }))
        }),
        ("splice-same-shape", |i, n| {
            n >= 64
                && i.other.same_shape
                && i.other.plaintext.len() >= 8
                && i.mutations
                    .iter()
                    .any(|m| matches!(m, M::SpliceChunk { .. } | M::SpliceHeader))
        }),
    ];
    let mut found: Vec<Option<Vec<u8>>> = vec![None; wants.len()];
    let mut rng = SplitMix64::new(0x5eed);
    for _ in 0..2_000_000 {
        if found.iter().all(Option::is_some) {
            break;
        }
        let len = 48 + rng.below(160);
        let bytes = rng.bytes(len);
        let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        let n = targets::roundtrip_plaintext(&input).len();
        if n > 2048 || input.mutations.len() > 4 {
            continue;
        }
        for (slot, (_, want)) in found.iter_mut().zip(wants.iter()) {
            if slot.is_none() && want(&input, n) {
                *slot = Some(bytes.clone());
                break;
            }
        }
    }
    wants
        .iter()
        .zip(found)
        .map(|((name, _), bytes)| {
            let bytes = bytes.unwrap_or_else(|| panic!("no roundtrip seed found for {name}"));
            seed("roundtrip", &format!("{name}.bin"), bytes)
        })
        .collect()
}

/// Seeds of the `backends` target, which reads the same input as
/// `roundtrip`: the same files.
pub fn backends_seeds() -> Vec<Seed> {
    roundtrip_seeds()
        .into_iter()
        .map(|s| seed("backends", &s.name, s.bytes))
        .collect()
}

/// The archive of the worked example in `docs/archive.md` section 10: one
/// chat, one message of each kind, a photo sent twice. In its 426-byte
/// encoding the chat title is at bytes 26..29, the members at 33 and 41, the
/// first message's kind at 77, the second message's id at 89, and the last
/// media id at 387.
pub fn every_kind_archive() -> Archive {
    let message = |id, sender, sent_at_ms, body| Message {
        id: MessageId(id),
        sender: ParticipantId(sender),
        sent_at_ms,
        body,
    };
    let media = |mime: &str, bytes: &'static [u8]| Media {
        mime: mime.to_string(),
        bytes: Bytes::from_static(bytes),
    };
    let (photo, voice, video, pdf) = (MediaId(7), MediaId(8), MediaId(9), MediaId(10));
    Archive {
        chats: vec![Chat {
            id: ChatId(1),
            title: "Ana".to_string(),
            members: vec![ParticipantId(1), ParticipantId(2)],
            messages: vec![
                message(1, 2, 1_700_000_000_000, MessageBody::Text("Hi 👋".into())),
                message(2, 1, 1_700_000_005_000, MessageBody::Photo { media: photo }),
                message(
                    3,
                    2,
                    1_700_000_060_000,
                    MessageBody::VoiceNote {
                        media: voice,
                        duration_ms: 2000,
                    },
                ),
                message(
                    5,
                    1,
                    1_700_000_120_000,
                    MessageBody::Video {
                        media: video,
                        duration_ms: 1500,
                    },
                ),
                message(
                    6,
                    2,
                    1_700_003_600_000,
                    MessageBody::Document {
                        media: pdf,
                        file_name: "notes.pdf".into(),
                    },
                ),
                message(7, 1, 1_700_003_660_000, MessageBody::Photo { media: photo }),
            ],
        }],
        media: BTreeMap::from([
            (photo, media("image/jpeg", b"\xff\xd8\xff\xd9")),
            (voice, media("audio/ogg", b"OggS")),
            (video, media("video/mp4", b"\x00\x00\x00\x20")),
            (pdf, media("application/pdf", b"%PDF")),
        ]),
    }
}

/// Seeds of the `archive` target: generated archives of several sizes, the
/// documented example, and damaged encodings each rejected for a different
/// reason.
pub fn archive_seeds() -> Vec<Seed> {
    let t = "archive";
    let generated = |seed: u64, target_bytes: u64| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = archive::generate(&mut rng, &ArchiveSpec::with_target(target_bytes));
        archive::encode(&a).expect("generated archives encode")
    };
    let example = archive::encode(&every_kind_archive()).expect("the example encodes");
    assert_eq!(example.len(), 426, "docs/archive.md section 10");
    let patched = |at: usize, bytes: &[u8]| {
        let mut v = example.clone();
        v[at..at + bytes.len()].copy_from_slice(bytes);
        v
    };
    let mut trailing = example.clone();
    trailing.extend_from_slice(b"junk");
    let mut huge_chat_count = example[..10].to_vec();
    huge_chat_count.extend_from_slice(&[0xff; 4]);
    huge_chat_count.extend_from_slice(&example[14..60]);
    let mut huge_media = example[..309].to_vec();
    huge_media.extend_from_slice(&(4u64 << 30).to_be_bytes());
    huge_media.extend_from_slice(&example[317..]);
    vec![
        seed(t, "empty.bvarc", generated(1, 0)),
        seed(t, "tiny.bvarc", generated(2, 200)),
        seed(t, "texts.bvarc", generated(3, 1_500)),
        seed(t, "with-media.bvarc", generated(4, 6_000)),
        seed(t, "every-kind.bvarc", example.clone()),
        seed(t, "truncated-in-message.bvarc", &example[..100]),
        seed(t, "truncated-in-media.bvarc", &example[..320]),
        seed(t, "trailing-bytes.bvarc", trailing),
        seed(t, "version-2.bvarc", patched(8, &[0, 2])),
        seed(t, "unknown-kind.bvarc", patched(77, &[5])),
        seed(t, "invalid-utf8.bvarc", patched(27, &[0xff])),
        seed(t, "members-out-of-order.bvarc", patched(48, &[1])),
        seed(t, "message-ids-out-of-order.bvarc", patched(96, &[1])),
        seed(t, "dangling-media.bvarc", patched(394, &[11])),
        seed(t, "huge-chat-count.bvarc", huge_chat_count),
        seed(
            t,
            "huge-title.bvarc",
            patched(22, &[0x7f, 0xff, 0xff, 0xff]),
        ),
        seed(t, "huge-media.bvarc", huge_media),
        seed(t, "not-an-archive.bin", b"PK\x03\x04 not a chat archive"),
    ]
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = header_seeds();
    seeds.extend(decrypt_seeds());
    seeds.extend(roundtrip_seeds());
    seeds.extend(backends_seeds());
    seeds.extend(key_text_seeds());
    seeds.extend(archive_seeds());
    seeds.extend(wire_client_seeds());
    seeds.extend(wire_peer_seeds());
    seeds.extend(disk_log_seeds());
    seeds.extend(vault_node_seeds());
    seeds.extend(wire_opaque_seeds());
    seeds.extend(cloud_object_seeds());
    seeds.extend(hsm_seal_seeds());
    seeds.extend(crate::runtime::runtime_inputs_seeds());
    seeds
}

/// Seeds of the `hsm_seal` target (first byte: the place, see
/// `targets::seal_place`): genuine seals of a disk record and of peer
/// messages under the target's fixed fleet, their clear forms, a seal
/// presented at the wrong place, and damaged ones.
pub fn hsm_seal_seeds() -> Vec<Seed> {
    use backup_vault::vault::crypto::VaultCrypto;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto as O;
    use backup_vault::vault::sealed::DiskRecord;
    let t = "hsm_seal";
    let crypto = targets::seal_crypto();
    let rng = &mut ChaCha20Rng::from_seed([0x51; 32]);
    let record: DiskRecord<O> = DiskRecord::Write(DiskWrite::Entries {
        first: LogIndex(4),
        entries: vec![
            Entry {
                term: Term(2),
                command: Some(Command::Exhaust {
                    user: UserId(1),
                    registration: RegistrationId(9),
                }),
            },
            Entry {
                term: Term(2),
                command: None,
            },
        ],
    });
    let message: VaultPeerMessage<O> = PeerMessage::RequestVote {
        term: Term(3),
        last_index: LogIndex(5),
        last_term: Term(2),
        reached: (Term(2), LogIndex(6)),
    };
    let with = |kind: u8, bytes: &[u8]| [&[kind][..], bytes].concat();
    let disk = crypto.seal(&targets::seal_place(0), &record, rng);
    let second = crypto.seal(&targets::seal_place(1), &record, rng);
    let wire = crypto.seal(&targets::seal_place(2), &message, rng);
    let mut flipped = disk.as_bytes().to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    vec![
        seed(t, "disk-sealed.bin", with(0, disk.as_bytes())),
        seed(t, "disk-second-record.bin", with(1, second.as_bytes())),
        seed(t, "wire-sealed.bin", with(2, wire.as_bytes())),
        seed(
            t,
            "disk-clear.bin",
            with(0, O::in_clear(&record).as_bytes()),
        ),
        seed(
            t,
            "wire-clear.bin",
            with(2, O::in_clear(&message).as_bytes()),
        ),
        seed(t, "disk-at-wrong-position.bin", with(1, disk.as_bytes())),
        seed(t, "disk-tag-flipped.bin", with(0, &flipped)),
        seed(t, "disk-cut.bin", with(0, &disk.as_bytes()[..20])),
    ]
}

/// Seeds of the `vault_node` target (format: `Script::decode`): scripted
/// sessions that register, activate and log in, so the fuzzer starts from
/// inputs that reach the lockout code.
pub fn vault_node_seeds() -> Vec<Seed> {
    // [op, a, b]: op & 7 = 0 stage, 2 activate, 3 login start (guess a,
    // blind b), 4 finish, 5 delete (b < 128) or probe, 6 advance, 7 sync
    // (a even) / crash (a odd); user = op >> 3. Each wrong login uses a new
    // blind: a new KE1, so a new test.
    const SYNC: [u8; 3] = [7, 0, 0];
    let register = [[0, 1, 0], SYNC, [2, 0, 0], SYNC].concat();
    let wrong = |blind: u8| [[3, 2, blind], SYNC].concat();
    let right_login = [[3, 1, 0], SYNC, [4, 0, 0], SYNC].concat();
    let mut lockout = vec![7, 2];
    lockout.extend(&register);
    for blind in 0..5 {
        lockout.extend(wrong(blind));
    }
    let mut reset = vec![8, 9];
    reset.extend(&register);
    for blind in 0..3 {
        reset.extend(wrong(blind));
    }
    reset.extend(&right_login);
    reset.extend(wrong(3));
    let mut crashy = vec![3, 4];
    crashy.extend(&register);
    crashy.extend([3, 2, 0]); // login start, not synced
    crashy.extend([7, 1, 0]); // crash: the attempt was not durable
    crashy.extend([6, 80, 0]);
    crashy.extend(wrong(1));
    crashy.extend(&right_login);
    let mut two_users = vec![5, 3];
    two_users.extend(&register);
    two_users.extend(
        register
            .iter()
            .enumerate()
            .map(|(i, b)| if i % 3 == 0 { b | 8 } else { *b }),
    );
    two_users.extend([[11, 2, 0], SYNC, [5, 0, 0], SYNC, [3, 1, 0], SYNC].concat());
    // Registration requests with guesses, between logins: OPRF evaluations
    // outside a login, which must test nothing.
    let mut probes = vec![2, 2];
    probes.extend(&register);
    probes.extend(wrong(0));
    for guess in 0..4 {
        probes.extend([5, guess, 128 + guess]);
    }
    probes.extend(wrong(1));
    probes.extend(&right_login);
    vec![
        seed("vault_node", "lockout.bin", lockout),
        seed("vault_node", "reset-by-login.bin", reset),
        seed("vault_node", "crash-mid-login.bin", crashy),
        seed("vault_node", "two-users-delete.bin", two_users),
        seed("vault_node", "registration-probes.bin", probes),
    ]
}

// ---------------------------------------------------------------------------
// wire

type Sym = SymbolicCrypto;

fn sym_proof(statement: ProofStatement) -> SymProof {
    SymProof {
        key: SymKey(42),
        statement,
    }
}

/// The content digest the seeds' commands name.
const SEED_CONTENT: ContentDigest = ContentDigest([0x5e; 32]);

/// One command of each kind, as a login flow for users 1 and 2 would make them.
fn sym_commands() -> Vec<Command<Sym>> {
    let (u, r) = (UserId(1), RegistrationId(9));
    let ke1 = Ke1Digest([7; 32]);
    vec![
        Command::Stage {
            user: u,
            registration: r,
            oprf_key: OprfKeyId([1; 16]),
            ticket_seq: 0,
            content: SEED_CONTENT,
            password_file: SymPassword(4),
            wrapped_key: SymKey(5),
            verifier: SymKey(5),
            reply_key: SymKey(5),
            keep_active: None,
        },
        Command::Activate {
            user: u,
            registration: r,
            content: SEED_CONTENT,
        },
        Command::ConsumeAttempt {
            user: u,
            registration: r,
            ke1,
        },
        Command::Reset {
            user: u,
            registration: r,
            ke1,
        },
        Command::Stage {
            user: UserId(2),
            registration: RegistrationId(3),
            oprf_key: OprfKeyId([2; 16]),
            ticket_seq: 0,
            content: ContentDigest([0x33; 32]),
            password_file: SymPassword(1),
            wrapped_key: SymKey(2),
            verifier: SymKey(2),
            reply_key: SymKey(2),
            keep_active: Some(RegistrationId(1)),
        },
        Command::Delete {
            user: u,
            registration: r,
        },
        Command::Exhaust {
            user: u,
            registration: r,
        },
    ]
}

/// A record store with an active record (one attempt used) and a staged one.
fn sym_store() -> RecordStore<Sym> {
    let mut store = RecordStore::new(10);
    for (i, c) in sym_commands()[..5].iter().enumerate() {
        store.apply(LogIndex(i as u64 + 1), c);
    }
    store
}

/// `frame` with its body length field set to `len`.
fn with_body_len(frame: &[u8], len: u32) -> Vec<u8> {
    let mut v = frame.to_vec();
    v[4..8].copy_from_slice(&len.to_be_bytes());
    v
}

/// `frame` with byte `at` set to `value`.
fn with_byte(frame: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut v = frame.to_vec();
    v[at] = value;
    v
}

/// Damaged variants of a valid frame, each rejected for a different reason.
fn damaged_frames(t: &'static str, good: &[u8]) -> Vec<Seed> {
    let mut trailing = with_body_len(good, (good.len() - wire::HEADER_LEN + 1) as u32);
    trailing.push(0);
    vec![
        seed(t, "truncated-header.bin", &good[..5]),
        seed(t, "truncated-body.bin", &good[..good.len() - 1]),
        seed(t, "bad-magic.bin", with_byte(good, 0, b'G')),
        seed(
            t,
            "version-unsupported.bin",
            with_byte(good, 2, wire::VERSION + 1),
        ),
        seed(t, "unknown-kind.bin", with_byte(good, 3, 9)),
        seed(t, "claims-4-gib.bin", with_body_len(good, u32::MAX)),
        seed(t, "trailing-in-body.bin", trailing),
    ]
}

/// Seeds of the `wire_client` target: one request of each kind, some
/// responses, all of them as one stream, and damaged frames.
pub fn wire_client_seeds() -> Vec<Seed> {
    let t = "wire_client";
    let limits = wire::FrameLimits::DEFAULT;
    let requests: Vec<(&str, ClientRequest<Sym>)> = vec![
        (
            "registration-start",
            ClientRequest::RegistrationStart {
                user: UserId(1),
                request: SymBlinded {
                    password: SymPassword(7),
                    blind: 1,
                },
            },
        ),
        (
            "stage-replacing",
            ClientRequest::Stage {
                user: UserId(1),
                sealed: SymRegistration {
                    user: UserId(1),
                    password: SymPassword(7),
                    key: SymKey(42),
                    ticket: TicketClaims {
                        user: UserId(1),
                        key: OprfKeyId([9; 16]),
                        seq: 1,
                    },
                    evaluated_under: OprfKeyId([9; 16]),
                },
                content: SEED_CONTENT,
                replacing: Some(Replacing {
                    registration: RegistrationId(3),
                    proof: sym_proof(ProofStatement::Replace {
                        user: UserId(1),
                        active: RegistrationId(3),
                        content: SEED_CONTENT,
                    }),
                }),
            },
        ),
        (
            "activate",
            ClientRequest::Activate {
                user: UserId(1),
                registration: RegistrationId(4),
                content: SEED_CONTENT,
                proof: sym_proof(ProofStatement::Activate {
                    user: UserId(1),
                    registration: RegistrationId(4),
                    content: SEED_CONTENT,
                }),
            },
        ),
        (
            "login-start",
            ClientRequest::LoginStart {
                user: UserId(300),
                ke1: SymBlinded {
                    password: SymPassword(7),
                    blind: 3,
                },
            },
        ),
        (
            "login-finish",
            ClientRequest::LoginFinish {
                user: UserId(300),
                login: LoginId(u64::MAX),
                ke3: (),
            },
        ),
        (
            "delete",
            ClientRequest::Delete {
                user: UserId(1),
                registration: RegistrationId(4),
                nonce: DeleteNonce([7; DELETE_NONCE_LEN]),
                proof: sym_proof(ProofStatement::Delete {
                    user: UserId(1),
                    registration: RegistrationId(4),
                    nonce: DeleteNonce([7; DELETE_NONCE_LEN]),
                }),
            },
        ),
    ];
    let responses: Vec<(&str, ClientResponse<Sym>)> = vec![
        (
            "ke2",
            ClientResponse::Ke2 {
                login: LoginId(5),
                ke2: SymEval {
                    key: OprfKeyId([9; 16]),
                    input: SymBlinded {
                        password: SymPassword(7),
                        blind: 3,
                    },
                },
                remaining: 9,
            },
        ),
        (
            "login-ok",
            ClientResponse::LoginOk {
                sealed_key: SymRelease {
                    key: SymKey(42),
                    registration: RegistrationId(4),
                    remaining: 10,
                },
            },
        ),
        (
            "not-leader",
            ClientResponse::NotLeader {
                leader: Some(NodeId(2)),
            },
        ),
        ("retry", ClientResponse::Retry),
    ];
    let mut out = Vec::new();
    let mut stream = Vec::new();
    for (name, r) in &requests {
        let b = wire::encode_client_request(r, &limits).expect("encodes");
        stream.extend_from_slice(&b);
        out.push(seed(t, &format!("request-{name}.bin"), b));
    }
    for (name, r) in &responses {
        let b = wire::encode_client_response(r, &limits).expect("encodes");
        stream.extend_from_slice(&b);
        out.push(seed(t, &format!("response-{name}.bin"), b));
    }
    out.push(seed(t, "stream.bin", stream));
    let good = wire::encode_client_request(&requests[2].1, &limits).expect("encodes");
    out.extend(damaged_frames(t, &good));
    out
}

/// Seeds of the `wire_peer` target: one consensus message of each kind
/// (an append of every command, a snapshot), all as one stream, and
/// damaged frames.
pub fn wire_peer_seeds() -> Vec<Seed> {
    let t = "wire_peer";
    let limits = wire::FrameLimits::DEFAULT;
    let entries = sym_commands()
        .into_iter()
        .map(|c| Entry {
            term: Term(2),
            command: Some(c),
        })
        .chain([Entry {
            term: Term(2),
            command: None,
        }])
        .collect();
    let messages: Vec<(&str, VaultPeerMessage<Sym>)> = vec![
        (
            "pre-vote",
            PeerMessage::PreVote {
                term: Term(2),
                last_index: LogIndex(5),
                last_term: Term(1),
                reached: (Term(1), LogIndex(5)),
            },
        ),
        (
            "pre-vote-reply",
            PeerMessage::PreVoteReply {
                term: Term(2),
                granted: true,
            },
        ),
        (
            "request-vote",
            PeerMessage::RequestVote {
                term: Term(2),
                last_index: LogIndex(5),
                last_term: Term(1),
                reached: (Term(1), LogIndex(6)),
            },
        ),
        ("attest", PeerMessage::Attest { term: Term(2) }),
        (
            "attested",
            PeerMessage::Attested {
                term: Term(2),
                reached: (Term(1), LogIndex(4)),
            },
        ),
        (
            "vote",
            PeerMessage::Vote {
                term: Term(2),
                granted: false,
            },
        ),
        (
            "append",
            PeerMessage::Append {
                term: Term(2),
                prev_index: LogIndex(1),
                prev_term: Term(1),
                entries,
                commit: LogIndex(3),
            },
        ),
        (
            "append-reply",
            PeerMessage::AppendReply {
                term: Term(2),
                index: LogIndex(7),
                success: true,
            },
        ),
        (
            "install-snapshot",
            PeerMessage::InstallSnapshot {
                term: Term(3),
                index: LogIndex(5),
                index_term: Term(2),
                snapshot: sym_store(),
            },
        ),
        (
            "snapshot-reply",
            PeerMessage::SnapshotReply {
                term: Term(3),
                index: LogIndex(5),
            },
        ),
    ];
    let mut out = Vec::new();
    let mut stream = Vec::new();
    for (name, m) in &messages {
        let b = wire::encode_peer_message(m, &limits).expect("encodes");
        stream.extend_from_slice(&b);
        out.push(seed(t, &format!("{name}.bin"), b));
    }
    out.push(seed(t, "stream.bin", stream));
    let append = &messages
        .iter()
        .find(|(n, _)| *n == "append")
        .expect("an append")
        .1;
    let good = wire::encode_peer_message(append, &limits).expect("encodes");
    out.extend(damaged_frames(t, &good));
    out
}

/// The node whose disk the `disk_log` seeds are.
pub const DISK_SEED_NODE: NodeId = NodeId(0);

/// Seeds of the `disk_log` target: what node [`DISK_SEED_NODE`] writes
/// (`StoredRecord`s sealed by a `DiskCursor`, framed as `RecordLog` frames
/// them): a file of one record of each kind of write, a file of the three,
/// a restart's segment continuing it, a compaction's file holding the
/// node's whole image; and files with a torn tail (cut short, zeroed,
/// garbled last record) or corruption in the middle (body, length field).
pub fn disk_log_seeds() -> Vec<Seed> {
    use backup_vault::vault::node::VaultDisk;
    use backup_vault::vault::sealed::{DiskCursor, StoredRecord};
    let t = "disk_log";
    let limits = wire::DiskLimits::DEFAULT;
    let (c, node) = (&SymbolicCrypto, DISK_SEED_NODE);
    let rng = &mut ChaCha20Rng::seed_from_u64(0xd15c_0000);
    let writes: Vec<VaultWrite<Sym>> = vec![
        DiskWrite::HardState {
            term: Term(2),
            voted_for: Some(NodeId(1)),
        },
        DiskWrite::Entries {
            first: LogIndex(1),
            entries: sym_commands()
                .into_iter()
                .map(|c| Entry {
                    term: Term(2),
                    command: Some(c),
                })
                .collect(),
        },
        DiskWrite::Snapshot {
            index: LogIndex(5),
            index_term: Term(2),
            state: sym_store(),
        },
    ];
    let frame = |r: &StoredRecord<Sym>| wire::encode_disk_record(r, &limits).expect("encodes");
    // Each write alone: the first record of a file.
    let alone: Vec<Vec<u8>> = writes
        .iter()
        .map(|w| {
            let op = DiskCursor::new_segment(None, rng).append(c, node, w.clone(), rng, false);
            frame(op.record())
        })
        .collect();
    // The three in one segment.
    let mut cursor = DiskCursor::new_segment(None, rng);
    let mut state = VaultDisk::<Sym>::default();
    let mut stored = Vec::new();
    for w in &writes {
        state.apply(w);
        stored.push(
            cursor
                .append(c, node, w.clone(), rng, false)
                .record()
                .clone(),
        );
    }
    let records: Vec<Vec<u8>> = stored.iter().map(frame).collect();
    let log = records.concat();
    // After a restart: a new segment continuing the three.
    let mut restarted = DiskCursor::new_segment(Some((stored[2].segment, 3)), rng);
    let vote = DiskWrite::HardState {
        term: Term(3),
        voted_for: Some(node),
    };
    let mut restart = log.clone();
    restart.extend(frame(restarted.append(c, node, vote, rng, false).record()));
    // A compaction: a new file of one record, the whole image.
    let compaction = frame(cursor.replace(c, node, state, rng, false).record());
    let last = log.len() - records[2].len();
    let middle = records[0].len();
    let mut zeroed = log[..last].to_vec();
    zeroed.extend_from_slice(&[0; 40]);
    let mut garbled_last = log.clone();
    garbled_last[log.len() - 3] ^= 0xff;
    let mut garbled_middle = log.clone();
    garbled_middle[last - wire::disk::RECORD_CHECK_LEN - 3] ^= 0xff;
    let mut bad_length = log.clone();
    bad_length[middle + 8] = 0x7f;
    vec![
        seed(t, "hard-state.log", alone[0].clone()),
        seed(t, "entries.log", alone[1].clone()),
        seed(t, "snapshot.log", alone[2].clone()),
        seed(t, "three.log", log.clone()),
        seed(t, "restart.log", restart),
        seed(t, "compaction.log", compaction),
        seed(t, "torn-cut-short.log", &log[..log.len() - 5]),
        seed(t, "torn-zeroed.log", zeroed),
        seed(t, "torn-garbled-last.log", garbled_last),
        seed(t, "corrupt-middle-body.log", garbled_middle),
        seed(t, "corrupt-middle-length.log", bad_length),
    ]
}

/// Writes [`all`] under `root` (normally `fuzz/seeds`), one directory per
/// target; returns how many files it wrote. Other files are left alone.
///
/// # Errors
/// Any I/O error.
pub fn write_all(root: &Path) -> std::io::Result<usize> {
    let seeds = all();
    for s in &seeds {
        let dir = root.join(s.target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(&s.name), &s.bytes)?;
    }
    Ok(seeds.len())
}

/// Seeds of the `wire_opaque` target: real messages of a registration and a
/// login (cheap Argon2 parameters), framed as they travel.
pub fn wire_opaque_seeds() -> Vec<Seed> {
    use backup_vault::client::crypto::{seal_registration, verifier};
    use backup_vault::opaque::client::{self, ClientConfig};
    use backup_vault::opaque::{wrap_backup_key, FleetSecrets, KsfParams};
    use backup_vault::vault::crypto::{OprfKeyId, TicketClaims, VaultCrypto};
    use backup_vault::vault::opaque_crypto::{
        content_digest, user_bytes, OpaqueCrypto, RegistrationPayload, RegistrationTranscript,
    };
    let t = "wire_opaque";
    let limits = wire::FrameLimits::CLIENT;
    let mut rng = ChaCha20Rng::seed_from_u64(0x0009_a90e);
    let crypto = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
    let config = ClientConfig {
        fleet_key: crypto.public_key(),
        ksf: KsfParams::CHEAP,
    };
    let user = UserId(7);
    let key = BackupKey::generate(&mut rng);
    let reg = client::registration_start(&mut rng, &user_bytes(user), b"pw").expect("starts");
    let claims = TicketClaims {
        user,
        key: OprfKeyId([5; 16]),
        seq: 0,
    };
    let response = crypto
        .registration_response(&claims, &reg.request)
        .expect("responds");
    let fin = client::registration_finish(&mut rng, reg.state, b"pw", &response.response, &config)
        .expect("finishes");
    let wrapped = wrap_backup_key(&fin.export_key, &user_bytes(user), &key, &mut rng);
    let sealed = seal_registration(
        &mut rng,
        &config.fleet_key,
        user,
        RegistrationPayload {
            upload: fin.upload.clone(),
            wrapped_key: wrapped.clone(),
            verifier: verifier(&key, user),
            ticket: response.ticket.clone(),
            transcript: RegistrationTranscript {
                request: reg.request.clone(),
                response: response.response.clone(),
            },
        },
    );
    let opened = crypto.open_registration(user, &sealed).expect("opens");
    let login = client::login_start(&mut rng, &user_bytes(user), b"pw").expect("starts");
    let (_, ke2) = crypto
        .login_start(
            &mut rng,
            user,
            &claims.key,
            &opened.password_file,
            &login.ke1,
        )
        .expect("KE2");
    let requests: Vec<(&str, ClientRequest<OpaqueCrypto>)> = vec![
        (
            "registration-start",
            ClientRequest::RegistrationStart {
                user,
                request: reg.request,
            },
        ),
        (
            "stage",
            ClientRequest::Stage {
                user,
                content: content_digest(&sealed),
                sealed,
                replacing: None,
            },
        ),
        (
            "login-start",
            ClientRequest::LoginStart {
                user,
                ke1: login.ke1,
            },
        ),
    ];
    let responses: Vec<(&str, ClientResponse<OpaqueCrypto>)> = vec![
        (
            "registration-response",
            ClientResponse::RegistrationResponse(response),
        ),
        (
            "ke2",
            ClientResponse::Ke2 {
                login: LoginId(3),
                ke2,
                remaining: 9,
            },
        ),
    ];
    let mut out: Vec<Seed> = requests
        .iter()
        .map(|(name, r)| {
            let b = wire::encode_client_request(r, &limits).expect("encodes");
            seed(t, &format!("{name}.bin"), b)
        })
        .collect();
    out.extend(responses.iter().map(|(name, r)| {
        let b = wire::encode_client_response(r, &limits).expect("encodes");
        seed(t, &format!("{name}.bin"), b)
    }));
    out
}

/// Seeds of the `cloud_object` target: a valid version file, and damaged ones.
pub fn cloud_object_seeds() -> Vec<Seed> {
    use backup_vault::cloud::encode_object_file;
    let t = "cloud_object";
    let (key, version) = targets::cloud_object_name();
    let good = encode_object_file(&key, version, b"an encrypted backup would be here");
    let mut flipped = good.clone();
    flipped[40] ^= 0x10;
    let other = backup_vault::cloud::ObjectKey::new("users/8/latest").expect("valid key");
    vec![
        seed(t, "good.bin", good.clone()),
        seed(
            t,
            "empty-object.bin",
            encode_object_file(&key, version, b""),
        ),
        seed(t, "truncated.bin", good[..good.len() - 3].to_vec()),
        seed(t, "flipped.bin", flipped),
        seed(
            t,
            "other-name.bin",
            encode_object_file(&other, version, b"x"),
        ),
    ]
}
