//! Deliberately broken variants of the code, for showing that checks bite.
//!
//! Compiled only with the `flaws` cargo feature, and inert unless an instance
//! opts in (for example [`crate::BackupParams::with_flaw`]). No global switch
//! exists, so tests that run in parallel cannot affect each other.

/// A deliberate defect in the backup file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatFlaw {
    /// Never set the last-chunk flag in the nonce, on either side. A file cut
    /// at a chunk boundary then decrypts to a prefix of the plaintext (breaks FMT-1).
    SkipLastChunkFlag,
}
