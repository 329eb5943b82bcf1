//! Replays every corpus file through its target on stable.
//!
//! - `fuzz/seeds/TARGET/` (committed) must exist and be non-empty for every
//!   target, so this cannot pass vacuously;
//! - `fuzz/corpus/TARGET/` and `fuzz/artifacts/TARGET/` (cargo-fuzz's default
//!   output directories, not committed) are replayed too when present, so a
//!   crash found locally keeps failing here until it is fixed.
//!
//! The committed seeds must also be exactly what `backup_vault_fuzz::seeds`
//! generates, so they stay valid backups when the format changes.

use backup_vault_fuzz::replay::{collect_inputs, fuzz_dir, replay_file, seed_dir};
use backup_vault_fuzz::{seeds, TARGETS};
use std::fs;
use std::path::PathBuf;

fn replay_dir(target: &str, f: fn(&[u8]), dir: PathBuf, failures: &mut Vec<String>) -> usize {
    let files = collect_inputs(std::slice::from_ref(&dir))
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for file in &files {
        match replay_file(f, file) {
            Ok(()) => {}
            Err(Ok(message)) => failures.push(format!("{target}: {}: {message}", file.display())),
            Err(Err(e)) => failures.push(format!("{target}: {}: unreadable: {e}", file.display())),
        }
    }
    files.len()
}

#[test]
fn every_seed_corpus_exists_and_replays_cleanly() {
    let mut failures = Vec::new();
    for (target, f) in TARGETS {
        let dir = seed_dir(target);
        assert!(
            dir.is_dir(),
            "seed directory {} is missing; regenerate with \
             `cargo run -p backup-vault-fuzz --bin {target} -- --write-seeds`",
            dir.display()
        );
        let n = replay_dir(target, f, dir.clone(), &mut failures);
        assert!(
            n >= 3,
            "seed directory {} has only {n} files",
            dir.display()
        );
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

#[test]
fn seed_directories_are_all_known_targets() {
    for entry in fs::read_dir(fuzz_dir().join("seeds")).expect("fuzz/seeds exists") {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/seeds/{name} matches no fuzz target"
        );
    }
}

#[test]
fn local_corpora_and_artifacts_replay_cleanly() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for kind in ["corpus", "artifacts"] {
        for (target, f) in TARGETS {
            let dir = fuzz_dir().join(kind).join(target);
            if dir.is_dir() {
                replayed += replay_dir(target, f, dir, &mut failures);
            }
        }
    }
    eprintln!("replayed {replayed} file(s) from fuzz/corpus and fuzz/artifacts");
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

#[test]
fn committed_seeds_match_the_generator() {
    let mut stale = Vec::new();
    for s in seeds::all() {
        let path = seed_dir(s.target).join(&s.name);
        match fs::read(&path) {
            Ok(bytes) if bytes == s.bytes => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "seed files are stale (regenerate with \
         `cargo run -p backup-vault-fuzz --bin decrypt -- --write-seeds` and commit them):\n{}",
        stale.join("\n")
    );
}

#[test]
fn decrypt_seeds_include_genuine_backups() {
    // The seeds are only useful to the fuzzer if the genuine ones really
    // decrypt under the fixed key, and the damaged ones really fail.
    let key = backup_vault_fuzz::targets::fuzz_key();
    let options = backup_vault_fuzz::targets::decrypt_options();
    let mut ok = Vec::new();
    for s in seeds::decrypt_seeds() {
        if backup_vault::format::decrypt_with(&key, &s.bytes, &options).is_ok() {
            ok.push(s.name);
        }
    }
    ok.sort();
    assert_eq!(
        ok,
        [
            "chunk-size-1.bvlt",
            "default-chunk.bvlt",
            "empty.bvlt",
            "exact-multiple.bvlt",
            "multi-chunk.bvlt",
            "one-byte.bvlt",
        ]
    );
}

/// Parses a libFuzzer dictionary: `name="value"` lines with `\xNN`, `\\` and
/// `\"` escapes, comments and blank lines. Panics on anything else.
fn parse_dict(path: &str) -> Vec<(String, Vec<u8>)> {
    let text = fs::read_to_string(fuzz_dir().join(path)).expect("dictionary exists");
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{path}:{}: no `=`", n + 1));
        let body = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{path}:{}: value not quoted", n + 1));
        let mut value = Vec::new();
        let mut bytes = body.bytes();
        while let Some(b) = bytes.next() {
            if b != b'\\' {
                assert!(b != b'"', "{path}:{}: unescaped quote", n + 1);
                value.push(b);
                continue;
            }
            match bytes.next() {
                Some(b'x') => {
                    let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                    let hex = std::str::from_utf8(&hex).unwrap();
                    value.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                }
                Some(c @ (b'\\' | b'"')) => value.push(c),
                other => panic!("{path}:{}: bad escape {other:?}", n + 1),
            }
        }
        assert!(!value.is_empty(), "{path}:{}: empty value", n + 1);
        entries.push((name.to_string(), value));
    }
    assert!(
        entries.len() >= 10,
        "{path} has only {} entries",
        entries.len()
    );
    entries
}

#[test]
fn dictionaries_parse_and_match_the_format() {
    let backup = parse_dict("dict/backup.dict");
    let get = |name: &str| {
        backup
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("backup.dict has no {name}"))
            .1
            .clone()
    };
    assert_eq!(get("magic"), backup_vault::format::header::MAGIC);
    let key = backup_vault_fuzz::targets::fuzz_key();
    assert_eq!(get("fingerprint_fixed_key"), key.fingerprint().as_bytes());
    let key_dict = parse_dict("dict/key.dict");
    let full = &key_dict
        .iter()
        .find(|(n, _)| n == "key")
        .expect("key entry")
        .1;
    assert!(backup_vault::BackupKey::parse(std::str::from_utf8(full).unwrap()).is_ok());
}

#[test]
fn archive_seeds_are_what_their_names_say() {
    use backup_vault::archive::{self, ArchiveError, Field, Limit};
    let limits = backup_vault_fuzz::targets::archive_limits();
    let mut ok = Vec::new();
    for s in seeds::archive_seeds() {
        let result = archive::decode_with(&s.bytes, &limits);
        let expected = match s.name.as_str() {
            "truncated-in-message.bvarc" | "truncated-in-media.bvarc" => {
                matches!(result, Err(ArchiveError::Truncated { .. }))
            }
            "trailing-bytes.bvarc" => matches!(result, Err(ArchiveError::TrailingBytes { .. })),
            "version-2.bvarc" => result == Err(ArchiveError::UnsupportedVersion { version: 2 }),
            "unknown-kind.bvarc" => matches!(
                result,
                Err(ArchiveError::UnknownMessageKind { kind: 5, .. })
            ),
            "invalid-utf8.bvarc" => matches!(
                result,
                Err(ArchiveError::InvalidUtf8 {
                    field: Field::ChatTitle,
                    ..
                })
            ),
            "members-out-of-order.bvarc" => matches!(
                result,
                Err(ArchiveError::OutOfOrder {
                    field: Field::Member,
                    ..
                })
            ),
            "message-ids-out-of-order.bvarc" => matches!(
                result,
                Err(ArchiveError::OutOfOrder {
                    field: Field::MessageId,
                    ..
                })
            ),
            "dangling-media.bvarc" => matches!(
                result,
                Err(ArchiveError::MediaMismatch {
                    expected: 10,
                    found: 11,
                    ..
                })
            ),
            "huge-chat-count.bvarc" => matches!(
                result,
                Err(ArchiveError::LimitExceeded {
                    limit: Limit::Chats,
                    ..
                })
            ),
            "huge-title.bvarc" => matches!(
                result,
                Err(ArchiveError::LimitExceeded {
                    limit: Limit::StringBytes,
                    ..
                })
            ),
            "huge-media.bvarc" => matches!(
                result,
                Err(ArchiveError::LimitExceeded {
                    limit: Limit::MediaBytes,
                    ..
                })
            ),
            "not-an-archive.bin" => result == Err(ArchiveError::BadMagic),
            _ => {
                ok.push(s.name.clone());
                result.is_ok()
            }
        };
        assert!(expected, "{}: {result:?}", s.name);
    }
    ok.sort();
    assert_eq!(
        ok,
        [
            "empty.bvarc",
            "every-kind.bvarc",
            "texts.bvarc",
            "tiny.bvarc",
            "with-media.bvarc"
        ]
    );
}

#[test]
fn wire_seeds_are_what_their_names_say() {
    use backup_vault::vault::crypto::SymbolicCrypto as S;
    use backup_vault::vault::sealed::{audit_record, open_disk, DiskRecord};
    use backup_vault::wire::{self, FrameLimits, Tail, TornReason, WireError};
    let limits = FrameLimits::DEFAULT;
    for s in seeds::wire_client_seeds()
        .into_iter()
        .chain(seeds::wire_peer_seeds())
    {
        let result = wire::decode_frame::<()>(&s.bytes, &limits).map(|_| ());
        let ok = match s.name.as_str() {
            "truncated-header.bin" | "truncated-body.bin" => {
                matches!(result, Err(WireError::Incomplete { .. }))
            }
            "bad-magic.bin" => matches!(result, Err(WireError::BadMagic { offset: 0, .. })),
            "version-unsupported.bin" => {
                result
                    == Err(WireError::UnsupportedVersion {
                        version: wire::VERSION + 1,
                    })
            }
            "unknown-kind.bin" => result == Err(WireError::UnknownKind { kind: 9 }),
            "claims-4-gib.bin" => matches!(result, Err(WireError::Oversize { .. })),
            "trailing-in-body.bin" => {
                let r = if s.target == "wire_peer" {
                    wire::decode_peer_message::<S>(&s.bytes, &limits).map(|_| ())
                } else {
                    wire::decode_client_request::<S>(&s.bytes, &limits).map(|_| ())
                };
                matches!(r, Err(WireError::TrailingBytes { extra: 1, .. }))
            }
            _ => {
                // Genuine frames (or a stream of them) decode to their kind.
                let mut at = 0;
                while at < s.bytes.len() {
                    let raw = wire::split_frame(&s.bytes[at..], &limits).unwrap();
                    let f = wire::Frame {
                        kind: raw.kind,
                        body: raw.body.to_vec().into(),
                    };
                    let decoded = match raw.kind {
                        wire::Kind::ClientRequest => f.client_request::<S>().is_ok(),
                        wire::Kind::ClientResponse => f.client_response::<S>().is_ok(),
                        _ => f.peer_message::<S>().is_ok(),
                    };
                    assert!(decoded, "{}/{}", s.target, s.name);
                    at += raw.consumed;
                }
                true
            }
        };
        assert!(ok, "{}/{}: {result:?}", s.target, s.name);
    }
    for s in seeds::disk_log_seeds() {
        let (records, tail) = wire::decode_disk_log::<S>(&s.bytes, &wire::DiskLimits::DEFAULT);
        let ok = match s.name.as_str() {
            "three.log" => records.len() == 3 && tail == Tail::Clean,
            "restart.log" => {
                // A new segment, continuing the three records before it.
                records.len() == 4
                    && tail == Tail::Clean
                    && records[3].segment != records[2].segment
                    && (records[3].position, records[3].follows)
                        == (0, Some((records[2].segment, 3)))
            }
            "compaction.log" => {
                records.len() == 1
                    && tail == Tail::Clean
                    && matches!(
                        audit_record(&S, seeds::DISK_SEED_NODE, &records[0]),
                        Some(DiskRecord::Image(_))
                    )
            }
            "torn-cut-short.log" => {
                records.len() == 2
                    && matches!(
                        tail,
                        Tail::Torn {
                            reason: TornReason::CutShort,
                            ..
                        }
                    )
            }
            "torn-zeroed.log" => {
                records.len() == 2
                    && matches!(
                        tail,
                        Tail::Torn {
                            reason: TornReason::Zeroed,
                            ..
                        }
                    )
            }
            "torn-garbled-last.log" => {
                records.len() == 2
                    && matches!(
                        tail,
                        Tail::Torn {
                            reason: TornReason::FinalChecksum,
                            ..
                        }
                    )
            }
            "corrupt-middle-body.log" | "corrupt-middle-length.log" => {
                records.len() == 1 && matches!(&tail, Tail::Corrupt(c) if c.record == 1)
            }
            _ => {
                records.len() == 1
                    && tail == Tail::Clean
                    && matches!(
                        audit_record(&S, seeds::DISK_SEED_NODE, &records[0]),
                        Some(DiskRecord::Write(_))
                    )
            }
        };
        assert!(
            ok,
            "disk_log/{}: {} records, {tail:?}",
            s.name,
            records.len()
        );
        // What the framing returns is what the node wrote: sealed (none in
        // the clear), and it opens whole where it stands.
        let opened = open_disk(&S, seeds::DISK_SEED_NODE, &records, false);
        assert_eq!(
            (opened.authentic, opened.stopped),
            (records.len(), None),
            "disk_log/{}: the node does not open its records",
            s.name
        );
    }
}

#[test]
fn hsm_seal_seeds_open_only_where_their_names_say() {
    // The genuine seals must open, or the target's checks on what opens
    // (its own place only, sealed again to the same value) never run.
    use backup_vault::vault::crypto::VaultCrypto;
    use backup_vault::vault::hsm_seal::SealedBytes;
    use backup_vault::vault::node::VaultPeerMessage;
    use backup_vault::vault::opaque_crypto::OpaqueCrypto as O;
    use backup_vault::vault::sealed::DiskRecord;
    let crypto = backup_vault_fuzz::targets::seal_crypto();
    let mut opened = Vec::new();
    for s in seeds::hsm_seal_seeds() {
        let (kind, blob) = s.bytes.split_first().expect("a place byte");
        let place = backup_vault_fuzz::targets::seal_place(*kind);
        let opens = if *kind % 3 == 2 {
            let sealed = SealedBytes::<VaultPeerMessage<O>>::from_bytes(blob.to_vec());
            crypto.open(&place, &sealed).is_ok()
        } else {
            let sealed = SealedBytes::<DiskRecord<O>>::from_bytes(blob.to_vec());
            crypto.open(&place, &sealed).is_ok()
        };
        if opens {
            opened.push(s.name.clone());
        }
    }
    opened.sort();
    assert_eq!(
        opened,
        [
            "disk-sealed.bin",
            "disk-second-record.bin",
            "wire-sealed.bin"
        ]
    );
}
