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
    let files = collect_inputs(&[dir.clone()])
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
