//! Corpus replay: what each target binary does when it is not built by
//! `cargo fuzz`, so that crashes and corpora can be replayed on stable.
//!
//! ```text
//! cargo run -p backup-vault-fuzz --bin decrypt -- fuzz/artifacts/decrypt/crash-...
//! cargo run -p backup-vault-fuzz --bin decrypt -- fuzz/corpus/decrypt fuzz/seeds/decrypt
//! cargo run -p backup-vault-fuzz --bin decrypt                # its seed corpus
//! cargo run -p backup-vault-fuzz --bin decrypt -- --write-seeds   # regenerate all seeds
//! ```

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The root of the fuzz package (`fuzz/`).
pub fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed seed corpus of `target`: `fuzz/seeds/TARGET`.
pub fn seed_dir(target: &str) -> PathBuf {
    fuzz_dir().join("seeds").join(target)
}

/// The files named by `paths`: each file itself, each directory's files
/// (not recursing), sorted within a directory so runs are reproducible.
///
/// # Errors
/// A path that does not exist or cannot be listed.
pub fn collect_inputs(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries = Vec::new();
            for entry in fs::read_dir(path)? {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    entries.push(entry.path());
                }
            }
            entries.sort();
            files.extend(entries);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is neither a file nor a directory", path.display()),
            ));
        }
    }
    Ok(files)
}

/// Runs `target` on the contents of `file`; returns the panic message if it panicked.
///
/// # Errors
/// The file cannot be read (`Err(Err(..))`) or the target panicked (`Err(Ok(message))`).
pub fn replay_file(target: fn(&[u8]), file: &Path) -> Result<(), Result<String, std::io::Error>> {
    let data = fs::read(file).map_err(Err)?;
    panic::catch_unwind(AssertUnwindSafe(|| target(&data))).map_err(|payload| {
        Ok(if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "<non-string panic payload>".to_string()
        })
    })
}

/// The `main` of a target binary built without `--cfg fuzzing`; exits the process.
///
/// Arguments are files or directories to replay (default: the target's seed
/// directory). Exits 1 if any input makes the target panic, 2 on usage or
/// I/O errors. `--write-seeds` regenerates every target's seed corpus in
/// `fuzz/seeds/` instead.
pub fn main(name: &str, target: fn(&[u8])) {
    std::process::exit(run(name, target));
}

/// [`main`] without the exit: returns the exit status.
pub fn run(name: &str, target: fn(&[u8])) -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: {name} [FILE|DIR]...   replay inputs through fuzz target `{name}`\n\
             \x20      {name} --write-seeds   regenerate fuzz/seeds/*/\n\
             default input: {}",
            seed_dir(name).display()
        );
        return 0;
    }
    if args.iter().any(|a| a == "--write-seeds") {
        return match crate::seeds::write_all(&fuzz_dir().join("seeds")) {
            Ok(n) => {
                println!(
                    "wrote {n} seed files under {}",
                    fuzz_dir().join("seeds").display()
                );
                0
            }
            Err(e) => {
                eprintln!("error: writing seeds: {e}");
                2
            }
        };
    }
    let paths: Vec<PathBuf> = if args.is_empty() {
        vec![seed_dir(name)]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let files = match collect_inputs(&paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // The default panic hook prints each panic with its location; the line
    // after it names the input.
    let mut failures = 0usize;
    for file in &files {
        match replay_file(target, file) {
            Ok(()) => {}
            Err(Ok(message)) => {
                failures += 1;
                eprintln!("CRASH {name} on {}: {message}", file.display());
            }
            Err(Err(e)) => {
                eprintln!("error: reading {}: {e}", file.display());
                return 2;
            }
        }
    }
    println!(
        "{name}: replayed {} input(s), {failures} crash(es)",
        files.len()
    );
    if failures > 0 {
        1
    } else {
        0
    }
}
