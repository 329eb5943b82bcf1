//! Command-line syntax: the clap types and their help text, nothing else.
//!
//! To add a command group (for example `bvault node`), add a variant to
//! [`Command`] with its own subcommand enum here, and a module under
//! `commands/` that [`crate::commands::run`] dispatches to.

use backup_vault::format::header::MAX_CHUNK_SIZE;
use backup_vault::format::ChunkSize;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const ABOUT: &str = "End-to-end encrypted chat backups: keys and backup files.";

const LONG_ABOUT: &str = "\
End-to-end encrypted chat backups: keys and backup files.

A backup key is 256 random bits, shown as 64 hex digits. Anyone who has the
digits can read every backup made with them, and nobody can read a backup
without them: keep the key file private, and keep a copy somewhere safe.

Backups are encrypted with AES-256-GCM in chunks (format v1); any change to a
backup file, including cutting it short, is detected when it is decrypted.";

const EXIT_CODES: &str = "\
Examples:
  bvault key new --out backup.key
  bvault backup encrypt --key-file backup.key chats.tar chats.bvault
  bvault backup inspect --key-file backup.key chats.bvault
  bvault backup decrypt --key-file backup.key chats.bvault chats.tar

Exit codes:
  0  success
  1  I/O or other runtime error
  2  usage error or bad input (bad arguments, bad key text, missing input file,
     refusing to overwrite an existing file)
  3  wrong key: the backup was made with another key
  4  damaged data: truncated file, corrupt chunk, bad header, trailing data
  5  unsupported format version or algorithm

Errors are printed on stderr as 'bvault: error: <message>'.";

/// `bvault`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "bvault",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a backup key, or show a key's fingerprint.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Encrypt, decrypt and inspect backup files.
    #[command(subcommand)]
    Backup(BackupCommand),
}

/// `bvault key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new random backup key.
    #[command(
        long_about = "\
Generate a new random backup key from the operating system's random number
generator.

Without --out, the key is printed on stdout as 64 hex digits (4 lines of 4
groups) and its fingerprint on stderr. With --out, the key is written to FILE,
created readable by you only (mode 0600), and only the fingerprint is printed
(on stderr).

The fingerprint is public: it is recorded in every backup made with the key, so
that a restore can say \"wrong key\" rather than \"damaged\". It reveals
nothing usable about the key.",
        after_help = "\
Examples:
  bvault key new --out backup.key
  bvault key new > backup.key          (the shell decides the file mode)
  bvault key new                       (show the key, to write it down)"
    )]
    New(KeyNewArgs),
    /// Print the fingerprint of a key.
    #[command(
        long_about = "\
Print the fingerprint of the key in a key file on stdout, as 32 hex digits.

The fingerprint identifies the key without revealing it; `bvault backup
inspect` shows the fingerprint of the key a backup was made with.",
        after_help = "\
Examples:
  bvault key fingerprint --key-file backup.key"
    )]
    Fingerprint(KeyFingerprintArgs),
}

/// Arguments of `bvault key new`.
#[derive(Debug, Args)]
pub struct KeyNewArgs {
    /// Write the key to FILE (mode 0600) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, short, requires = "out")]
    pub force: bool,
}

/// Arguments of `bvault key fingerprint`.
#[derive(Debug, Args)]
pub struct KeyFingerprintArgs {
    /// The key file, or - for stdin.
    #[arg(long, short, value_name = "FILE")]
    pub key_file: PathBuf,
}

/// `bvault backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Encrypt a file into a backup.
    #[command(
        long_about = "\
Encrypt IN into the backup file OUT with the key in the key file.

The input is streamed: memory stays at a few chunks whatever its size. OUT is
written to a temporary file in the same directory and renamed into place only
when the backup is complete and synced to disk, so OUT never holds a partial
backup. Either name may be - for stdin or stdout; stdout must not be a terminal.

Each backup gets a fresh random backup id and nonce prefix, so encrypting the
same input twice gives different files; both decrypt to the input.",
        after_help = "\
Examples:
  bvault backup encrypt --key-file backup.key chats.tar chats.bvault
  tar c chats | bvault backup encrypt -k backup.key --threads 0 - chats.bvault
  bvault backup encrypt -k backup.key --chunk-size 1MiB --generation 7 in out"
    )]
    Encrypt(EncryptArgs),
    /// Decrypt a backup, verifying every chunk.
    #[command(
        long_about = "\
Decrypt the backup IN into OUT with the key in the key file, verifying every
chunk, the header, the order of the chunks and the end of the file.

OUT is written to a temporary file in the same directory and renamed into place
only after the whole backup verified and the file was synced to disk. If the key
is wrong or the backup is damaged, the temporary file is deleted and OUT is not
created (or, with --force, left as it was).

With OUT = -, plaintext goes to stdout as each chunk verifies: if a later chunk
turns out to be damaged, what was already written cannot be taken back, and only
the exit code tells. Prefer a file when the backup may be damaged.",
        after_help = "\
Examples:
  bvault backup decrypt --key-file backup.key chats.bvault chats.tar
  bvault backup decrypt -k backup.key --threads 0 chats.bvault - | tar x

Exit codes: 3 wrong key, 4 damaged backup, 5 unsupported format (see bvault --help)."
    )]
    Decrypt(DecryptArgs),
    /// Show a backup's header, and verify it if given the key.
    #[command(
        long_about = "\
Show the header of a backup file (format version, algorithm, chunk size,
generation, backup id, nonce prefix, fingerprint of the key it was made with)
and its number of chunks.

Without --key-file, nothing is authenticated: the header's fields are what the
file claims, and the chunk count is computed from the file's length, which is
checked only for consistency with the chunk size. Anyone can forge all of it.

With --key-file, every chunk is decrypted (into nothing) and verified, and the
result is \"all N chunks verified\" or the precise error, with the matching exit
code.",
        after_help = "\
Examples:
  bvault backup inspect chats.bvault
  bvault backup inspect --key-file backup.key chats.bvault
  bvault backup inspect --json chats.bvault

Exit codes: 3 wrong key, 4 damaged backup (or, without a key, a length that
cannot be right), 5 unsupported format (see bvault --help)."
    )]
    Inspect(InspectArgs),
}

/// Arguments shared by encrypt and decrypt.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// The key file (64 hex digits), or - for stdin.
    #[arg(long, short, value_name = "FILE")]
    pub key_file: PathBuf,
    /// Worker threads; 0 means one per CPU core.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Replace OUT if it exists.
    #[arg(long, short)]
    pub force: bool,
    /// Never show a progress bar (it is shown only on a terminal, for inputs of 64 MiB or more).
    #[arg(long, short)]
    pub quiet: bool,
    /// The input file, or - for stdin.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The output file, or - for stdout.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
}

/// Arguments of `bvault backup encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Plaintext bytes per chunk: 1 to 16MiB; suffixes K, KiB, M, MiB are powers of 1024.
    #[arg(long, value_name = "BYTES", default_value = "64KiB", value_parser = parse_chunk_size)]
    pub chunk_size: ChunkSize,
    /// The backup generation recorded in the header (higher is newer).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub generation: u64,
    /// Key, threads, files.
    #[command(flatten)]
    pub common: StreamArgs,
}

/// Arguments of `bvault backup decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Key, threads, files.
    #[command(flatten)]
    pub common: StreamArgs,
}

/// Arguments of `bvault backup inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Verify every chunk with the key in FILE (or - for stdin).
    #[arg(long, short, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// The backup file, or - for stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Parses a chunk size such as `1000`, `64K`, `64KiB`, `1M` or `1MiB`.
pub fn parse_chunk_size(text: &str) -> Result<ChunkSize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let multiplier: u64 = match suffix.trim() {
        "" | "B" => 1,
        "K" | "k" | "KiB" => 1024,
        "M" | "m" | "MiB" => 1024 * 1024,
        other => {
            return Err(format!(
                "unknown unit {other:?}: use a number of bytes, optionally followed by K, KiB, M or MiB"
            ))
        }
    };
    let number: u64 = digits.parse().map_err(|_| {
        format!("{text:?} is not a size: expected a number of bytes such as 65536 or 64KiB")
    })?;
    number
        .checked_mul(multiplier)
        .and_then(|bytes| u32::try_from(bytes).ok())
        .and_then(ChunkSize::new)
        .ok_or_else(|| format!("a chunk size is between 1 byte and 16MiB ({MAX_CHUNK_SIZE} bytes)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn chunk_sizes_parse_with_units() {
        assert_eq!(parse_chunk_size("1000").unwrap().get(), 1000);
        assert_eq!(parse_chunk_size("64K").unwrap().get(), 65536);
        assert_eq!(parse_chunk_size("64KiB").unwrap().get(), 65536);
        assert_eq!(parse_chunk_size("16MiB").unwrap().get(), MAX_CHUNK_SIZE);
        assert!(parse_chunk_size("0").is_err());
        assert!(parse_chunk_size("17M").is_err());
        assert!(parse_chunk_size("1G").is_err());
        assert!(parse_chunk_size("K").is_err());
        assert!(parse_chunk_size("99999999999999999999").is_err());
    }
}
