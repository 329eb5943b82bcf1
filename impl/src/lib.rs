//! Reference implementation of end-to-end encrypted chat backups.
//!
//! - [`key`]: the 256-bit backup key K, its 64-digit text form, its
//!   fingerprint and the HKDF-SHA256 subkeys derived from it, one label per purpose.
//! - [`format`]: the backup file format v1, a versioned header followed by a
//!   STREAM construction over AES-256-GCM, with streaming and multi-threaded
//!   encryptors and decryptors. The byte-level specification is `docs/format.md`.
//! - [`archive`]: the chat archive a backup carries (`docs/archive.md`).
//! - [`vault`]: the vault node as a sans-IO state machine: consensus, the
//!   replicated records, the lockout rule (`docs/protocol.md`).
//! - [`opaque`]: OPAQUE, key wrapping, proofs of key and sealed registrations.
//! - [`client`]: the client as a sans-IO state machine.
//! - [`cloud`]: the object store the backups live in.
//! - [`wire`]: frames for messages and checksummed records for disks.
//! - [`invariant`]: the catalogue's invariant IDs as a type.
//! - [`flaws`]: deliberately broken variants, only with the `flaws` feature.
//!
//! The library never draws randomness of its own: every function that needs
//! randomness takes a `CryptoRng`, so the simulator can replay a run from a seed.
#![forbid(unsafe_code)]

pub mod archive;
pub mod client;
pub mod cloud;
pub mod cpu;
pub mod format;
pub mod invariant;
pub mod key;
pub mod opaque;
pub mod vault;
pub mod wire;

pub mod flaws;

pub use format::{BackupError, BackupParams, Decryptor, Encryptor, Header};
pub use key::{BackupKey, KeyFingerprint, KeyTextError, Purpose};
