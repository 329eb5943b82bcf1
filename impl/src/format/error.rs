//! What can go wrong when reading or writing a backup file.

use crate::key::KeyFingerprint;
use core::fmt;
use std::io;
use thiserror::Error;

/// Which header field a [`BackupError::BadHeader`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderField {
    /// The 8 magic bytes: this is not a bvault backup.
    Magic,
    /// The unkeyed checksum: accidental damage.
    Checksum,
    /// The reserved byte.
    Reserved,
    /// The chunk size: out of range, or above the reader's limit.
    ChunkSize,
    /// The keyed MAC: the header was altered.
    Mac,
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::Magic => "magic",
            HeaderField::Checksum => "header checksum",
            HeaderField::Reserved => "reserved byte",
            HeaderField::ChunkSize => "chunk size",
            HeaderField::Mac => "header MAC",
        })
    }
}

/// Where a truncated file ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TruncatedAt {
    /// Inside the header.
    Header,
    /// Where chunk `index` should start, or so early in it that not even its
    /// tag is present.
    Chunk {
        /// The chunk that is missing.
        index: u64,
    },
    /// Right after chunk `index`, which is authentic but was sealed as
    /// non-final: the chunks after it are missing.
    AfterChunk {
        /// The last chunk present.
        index: u64,
    },
}

impl fmt::Display for TruncatedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TruncatedAt::Header => write!(f, "the file ends inside the header"),
            TruncatedAt::Chunk { index } => write!(f, "the file ends at chunk {index}"),
            TruncatedAt::AfterChunk { index } => write!(
                f,
                "the file ends after chunk {index}, which is not the final chunk"
            ),
        }
    }
}

/// Why a backup could not be written or read.
///
/// Decryption never returns wrong plaintext: every failure is one of these,
/// and no plaintext of a chunk is released before that chunk verifies.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The file was made with a different key.
    #[error("wrong key: this backup was made with the key whose fingerprint is {expected}; the key given has fingerprint {actual}")]
    WrongKey {
        /// The fingerprint recorded in the file.
        expected: KeyFingerprint,
        /// The fingerprint of the key given.
        actual: KeyFingerprint,
    },
    /// The file ends early.
    #[error("backup is truncated: {at}")]
    Truncated {
        /// Where it ends.
        at: TruncatedAt,
    },
    /// A chunk failed authentication.
    #[error("chunk {index} failed authentication: the backup is damaged or was altered{}",
        if *.last_in_file { " (it is the last chunk in the file, so the file may also have been cut short inside it)" } else { "" })]
    CorruptChunk {
        /// The chunk's index, from 0.
        index: u64,
        /// Whether it is the last chunk present in the file.
        last_in_file: bool,
    },
    /// Bytes follow the final chunk.
    #[error("unexpected data after chunk {final_chunk}, which is the final chunk")]
    TrailingData {
        /// The index of the authentic final chunk.
        final_chunk: u64,
    },
    /// A format version this build does not read.
    #[error("unsupported backup format version {version}; this build reads version 1")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
    },
    /// An algorithm id this build does not know.
    #[error(
        "unsupported algorithm id {algorithm}; this build knows algorithm 1 (AES-256-GCM STREAM)"
    )]
    UnsupportedAlgorithm {
        /// The algorithm id found.
        algorithm: u16,
    },
    /// A header field is invalid.
    #[error("bad header: {field}: {reason}")]
    BadHeader {
        /// Which field.
        field: HeaderField,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than 2^32 chunks: the nonce counter would repeat.
    #[error("too many chunks: a backup holds at most 2^32 chunks; use a larger chunk size")]
    TooManyChunks,
    /// Reading or writing the underlying stream failed.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
}

/// Coarse classes of [`BackupError`], for exit codes and user messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The key does not match the file.
    WrongKey,
    /// The file is damaged, truncated or altered.
    Damaged,
    /// The file is from a newer or unknown format.
    Unsupported,
    /// The operating system reported an error.
    Io,
}

impl BackupError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            BackupError::WrongKey { .. } => ErrorClass::WrongKey,
            BackupError::UnsupportedVersion { .. } | BackupError::UnsupportedAlgorithm { .. } => {
                ErrorClass::Unsupported
            }
            BackupError::Io(_) => ErrorClass::Io,
            BackupError::Truncated { .. }
            | BackupError::CorruptChunk { .. }
            | BackupError::TrailingData { .. }
            | BackupError::BadHeader { .. }
            | BackupError::TooManyChunks => ErrorClass::Damaged,
        }
    }

    /// Recovers a `BackupError` that travelled through `std::io::Read` or
    /// `Write` as an `io::Error`; other I/O errors become [`BackupError::Io`].
    pub fn from_io(err: io::Error) -> BackupError {
        if err.get_ref().is_some_and(|inner| inner.is::<BackupError>()) {
            let inner = err.into_inner().expect("checked above");
            *inner.downcast::<BackupError>().expect("checked above")
        } else {
            BackupError::Io(err)
        }
    }

    /// Wraps this error for transport through `std::io` traits.
    pub fn into_io(self) -> io::Error {
        match self {
            BackupError::Io(err) => err,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

impl From<io::Error> for BackupError {
    fn from(err: io::Error) -> Self {
        BackupError::from_io(err)
    }
}
