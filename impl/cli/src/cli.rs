//! Command-line syntax: the clap types and their help text, nothing else.
//!
//! To add a command group (for example `bvault node`), add a variant to
//! [`Command`] with its own subcommand enum here, and a module under
//! `commands/` that [`crate::commands::run`] dispatches to.

use backup_vault::format::header::MAX_CHUNK_SIZE;
use backup_vault::format::ChunkSize;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const ABOUT: &str =
    "End-to-end encrypted chat backups: keys, backup files, and a vault cluster to run.";

const LONG_ABOUT: &str = "\
End-to-end encrypted chat backups: keys and backup files.

A backup key is 256 random bits, shown as 64 hex digits. Anyone who has the
digits can read every backup made with them, and nobody can read a backup
without them: keep the key file private, and keep a copy somewhere safe.

Backups are encrypted with AES-256-GCM in chunks (format v1); any change to a
backup file, including cutting it short, is detected when it is decrypted.

Or the key is kept in a vault cluster behind a password, which allows a fixed
number of wrong guesses and then destroys it: 'bvault cluster up' runs one on
this machine, 'bvault client' talks to it, 'bvault cluster demo' shows it all.";

const EXIT_CODES: &str = "\
Examples:
  bvault key new --out backup.key
  bvault backup encrypt --key-file backup.key chats.tar chats.bvault
  bvault backup inspect --key-file backup.key chats.bvault
  bvault backup decrypt --key-file backup.key chats.bvault chats.tar
  bvault cluster demo
  bvault cluster up --dir vault            # then, in another terminal:
  bvault client --cluster vault/cluster.toml --user 1 enable --password-file pw
  bvault client --cluster vault/cluster.toml --user 1 backup chats.tar

Exit codes:
  0  success
  1  I/O or other runtime error
  2  usage error or bad input (bad arguments, bad key text, missing input file,
     refusing to overwrite an existing file)
  3  wrong key: the backup was made with another key
  4  damaged data: truncated file, corrupt chunk, bad header, trailing data
  5  unsupported format version or algorithm
  8  the vault refused: wrong password, key destroyed, or no key in the vault

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
    /// Run or inspect one vault node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Create, run and demonstrate a local vault cluster.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Run the cluster's cloud store service.
    #[command(subcommand)]
    Cloud(CloudCommand),
    /// Password-protected backups against a running cluster, as a phone would.
    Client(ClientArgs),
}

/// `bvault node ...`
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run node N of a cluster until SIGTERM or Ctrl-C.
    #[command(long_about = "\
Run node N of the cluster that FILE describes, in the foreground, until SIGTERM
or Ctrl-C. The node restarts from its disk (NODE_DIR/data/vault.log) and its
emulated HSM (NODE_DIR/hsm/), listens for the other nodes and for clients, and
logs to stderr (RUST_LOG=debug for more). It exits non-zero if its disk or HSM
fails: a failed fsync is never retried.")]
    Serve(NodeArgs),
    /// Read a stopped node's disk through its HSM: terms, log and every user's record.
    Inspect(NodeInspectArgs),
}

pub use backup_vault_cli::serve::NodeArgs;

/// `bvault node inspect`
#[derive(Debug, Args)]
pub struct NodeInspectArgs {
    /// Which node.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `bvault cloud ...`
#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Serve the cluster's cloud folder ([cloud] dir) on [cloud] addr until SIGTERM or Ctrl-C.
    Serve(CloudServeArgs),
}

/// `bvault cloud serve`
#[derive(Debug, Args)]
pub struct CloudServeArgs {
    /// The cluster file (cluster.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `bvault cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create a cluster in DIR: cluster.toml and every node's HSM, one new fleet.
    Init(ClusterInitArgs),
    /// Start every node of the cluster in DIR (creating it first if needed); Ctrl-C stops them.
    Up(ClusterInitArgs),
    /// On real processes: enable, back up, SIGKILL the leader, restore, spend every guess.
    #[command(long_about = "\
One command that tells the password-mode story on real processes: a new cluster
of node processes on loopback; a device enables password backups and backs up a
generated chat archive; the leader is killed with SIGKILL; a new device restores
with the password, byte for byte; wrong passwords are tried until the vault
destroys the key; then every node is stopped and its disk read through its HSM
to show the key material gone. Prints one line per step and exits 0 if every
step went as told; otherwise it names the step. The cluster's files stay in DIR
for a look afterwards (node-N/node.log, cloud/).")]
    Demo(ClusterDemoArgs),
    /// Measure logins per second and commit latency on a new local cluster, with 1 and with many clients.
    #[command(long_about = "\
Start a new cluster of node processes (fsync on) in DIR, give each client its
own user with password backups on, and have the clients restore with the
password in a loop for SECONDS: one login (two commits) and a small cloud read
each. Prints, per client count, logins per second, the login-start and
login-finish round trips (p50, p99), where a login's time went (client code,
the leader's code, round trips), and the leader's syncs and writes per sync;
writes DIR/bench.json. Measure on an idle machine; the figures are this
machine's.")]
    Bench(ClusterBenchArgs),
}

/// `bvault cluster bench`
#[derive(Debug, Args)]
pub struct ClusterBenchArgs {
    /// A new folder for the cluster; default: a new folder under the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Nodes.
    #[arg(long, default_value_t = 5)]
    pub nodes: u8,
    /// Concurrent clients; repeat to measure several counts in one run.
    #[arg(long, value_name = "N", default_values_t = [1usize, 64])]
    pub clients: Vec<usize>,
    /// Seconds to measure each client count.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
}

/// `bvault cluster init` and `up`.
#[derive(Debug, Args)]
pub struct ClusterInitArgs {
    /// The cluster's folder.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Nodes in a new cluster.
    #[arg(long, default_value_t = 5)]
    pub nodes: u8,
    /// Rolled-back disks a new cluster's quorums tolerate (R).
    #[arg(long, default_value_t = 1)]
    pub rollback_tolerance: u8,
    /// Wrong passwords before a key is destroyed.
    #[arg(long, default_value_t = 10)]
    pub guess_limit: u8,
    /// Password hardening for the cluster's clients: realistic (Argon2id, 64 MiB) or cheap (tests only).
    #[arg(long, default_value = "realistic", value_parser = ["realistic", "cheap"])]
    pub ksf: String,
}

/// `bvault cluster demo`
#[derive(Debug, Args)]
pub struct ClusterDemoArgs {
    /// The cluster's folder (new or empty); default: a new folder under the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Nodes (at least 3).
    #[arg(long, default_value_t = 5)]
    pub nodes: u8,
    /// Size of the generated chat archive, in bytes.
    #[arg(long, default_value_t = 2_000_000)]
    pub archive_bytes: u64,
}

/// `bvault client ...`
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The cluster file (DIR/cluster.toml).
    #[arg(long, value_name = "FILE")]
    pub cluster: PathBuf,
    /// The account.
    #[arg(long, value_name = "U")]
    pub user: u64,
    /// The device's state file (holds the backup key; mode 0600); default: devices/user-U.json next to the cluster file.
    #[arg(long, value_name = "FILE")]
    pub device: Option<PathBuf>,
    /// Print each request as it goes.
    #[arg(long, short)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub op: ClientOp,
}

/// The client's operations.
#[derive(Debug, Subcommand)]
pub enum ClientOp {
    /// Turn on password-protected backups: a new backup key, kept in the vault behind the password.
    Enable {
        /// A file whose first line is the password ('-' for standard input).
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
    /// Encrypt IN with the device's key and store it in the cloud as the next backup.
    Backup {
        /// The chat archive.
        #[arg(value_name = "IN")]
        input: PathBuf,
    },
    /// Restore the newest backup into OUT, with the password (or the 64-digit key).
    Restore {
        /// Where to write the chats; must not exist.
        #[arg(value_name = "OUT")]
        output: PathBuf,
        /// A file whose first line is the password ('-' for standard input).
        #[arg(long, value_name = "FILE", conflicts_with = "key_file")]
        password_file: Option<PathBuf>,
        /// The 64-digit key instead of the password.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Set a new password (proving the key; the old password is not needed).
    ChangePassword {
        /// A file whose first line is the new password ('-' for standard input).
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
    /// Turn backups off: delete the vault's record and the cloud's backups.
    Disable,
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
