//! Durable-write records: how a node's disk log is laid out, and the rule
//! that tells a torn final write from corruption on recovery.
//!
//! A node's log file is the concatenation of records, one per sealed record
//! the node hands its host ([`crate::vault::sealed::StoredRecord`]: its
//! segment, position and `follows` in the clear, and the sealed
//! [`crate::vault::sealed::DiskRecord`], one write or a compaction's whole
//! image), appended in order:
//!
//! ```text
//! offset   size field
//!      0      4 magic         42 56 44 52  ("BVDR")
//!      4      1 version       3 (DISK_VERSION)
//!      5      3 reserved      00 00 00
//!      8      4 body_len      u32 big-endian; at most the reader's limit
//!     12      4 header_check  SHA-256(bytes 0..12)[0..4]
//!     16      n body          postcard encoding of the sealed record, exactly body_len bytes
//!   16+n      8 record_check  SHA-256(bytes 0..16+n)[0..8]
//! ```
//!
//! The framing is generic ([`encode_record`] and [`decode_log`] take any
//! serde type); [`DISK_VERSION`] names the schema of the body a node writes,
//! `StoredRecord`. Version 3 is the first whose body is a sealed record:
//! versions 1 and 2 held a bare `DiskWrite` (the builds that first sealed
//! disk records still wrote 2). A reader refuses every version but its own
//! ([`CorruptReason::UnsupportedVersion`]) rather than parse one schema as
//! another.
//!
//! The checks below are against accidents (a torn write, bit rot), not
//! against the host: a checksum anyone can recompute. Authenticity is the
//! seal's job, one layer up ([`crate::vault::sealed::open_disk`]): a record
//! this rule accepts may still not open where it stands.
//!
//! The header has its own check so that a damaged length field is never
//! trusted: without it, a bit flip that made a record in the middle seem to
//! run past the end of the file would look like a torn tail, and every
//! record after it would be dropped silently.
//!
//! # The recovery rule
//!
//! [`decode_log`] reads records from offset 0. At each record start:
//!
//! 1. No bytes left: the log is [`Tail::Clean`].
//! 2. Every byte left is zero: [`Tail::Torn`] ([`TornReason::Zeroed`]): the
//!    file was extended but the data never landed.
//! 3. Fewer than 16 bytes left: `Torn` ([`TornReason::CutShort`]).
//! 4. Bad magic, header check, version, reserved bytes, or a length over the
//!    limit: [`Tail::Corrupt`]. The record's extent is unknown, so whatever
//!    follows cannot be vouched for.
//! 5. The record, by its (checked) length, runs past the end of the file:
//!    `Torn` (`CutShort`).
//! 6. The record check fails: `Torn` ([`TornReason::FinalChecksum`]) if
//!    nothing but zero bytes follows the record, otherwise `Corrupt`.
//! 7. The body does not decode to exactly one record using every byte:
//!    `Corrupt` (a record that passed its check but does not parse is a bug
//!    or a format mismatch, never a tear).
//! 8. Otherwise the record is accepted and the next record starts after it.
//!
//! So a defect is "torn" only when no record follows it: it can only be the
//! last write, which was in flight at the crash and never acknowledged as
//! durable, so recovery may drop it. Everything before it is returned.
//! `Corrupt` means an earlier, possibly acknowledged, write is damaged with
//! records after it: recovery must report it and must not start the node
//! from the prefix as if nothing happened.
//!
//! What the rule cannot see: a lost suffix of whole records (the file cut at
//! a record boundary, or bit rot confined to the last record) looks the same
//! as writes that never reached the disk. That is a disk rollback, which
//! per-record checks cannot detect; consensus tolerates it on up to R nodes
//! by its quorum size.
//!
//! After `Torn`, the driver must cut the file to [`Tail::valid_len`] before
//! appending, or the next recovery would find the torn bytes followed by
//! records and report `Corrupt`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The four magic bytes that open every disk record.
pub const DISK_MAGIC: [u8; 4] = *b"BVDR";
/// The only disk record version this build reads and writes: 3, a body that
/// is a sealed `StoredRecord` (1 and 2: a bare `DiskWrite`).
pub const DISK_VERSION: u8 = 3;
/// Length of a record header in bytes.
pub const RECORD_HEADER_LEN: usize = 16;
/// Length of the trailing record check in bytes.
pub const RECORD_CHECK_LEN: usize = 8;
/// Default limit on one record's body: 256 MiB (a snapshot can be large).
pub const DEFAULT_MAX_RECORD_BODY: u32 = 256 << 20;

const HEADER_CHECK_AT: usize = 12;

/// Why a value could not be made into a record.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiskEncodeError {
    /// The body is over the limit (a reader with this limit would refuse it).
    #[error("disk record body of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The body length.
        len: u64,
        /// The limit.
        limit: u32,
    },
    /// The value could not be serialized (never for the derived vault types).
    #[error("disk record does not encode: {0}")]
    Encode(#[source] postcard::Error),
}

/// What is wrong with a corrupt record.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptReason {
    /// The magic bytes are wrong.
    #[error("bad magic")]
    BadMagic,
    /// The header check does not match the header.
    #[error("header check mismatch")]
    HeaderCheck,
    /// A record version this build does not read.
    #[error("unsupported record version {0}")]
    UnsupportedVersion(u8),
    /// The reserved bytes are not zero.
    #[error("reserved bytes are not zero")]
    Reserved,
    /// The body length is over the reader's limit.
    #[error("body of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The declared length.
        len: u32,
        /// The limit.
        limit: u32,
    },
    /// The record check does not match, and records follow.
    #[error("record check mismatch")]
    RecordCheck,
    /// The checked body is not a valid record body.
    #[error("body does not decode: {0}")]
    Undecodable(postcard::Error),
    /// The checked body decoded with bytes left over.
    #[error("{0} bytes after the record in the body")]
    TrailingBytes(usize),
}

/// Corruption in a disk log that recovery must report, not repair.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("disk log corrupt at byte {offset} (record {record}): {reason}")]
pub struct DiskCorrupt {
    /// Offset of the corrupt record's first byte.
    pub offset: usize,
    /// Number of the corrupt record, from 0 (= how many records precede it).
    pub record: usize,
    /// What is wrong.
    pub reason: CorruptReason,
}

/// Why the final bytes were judged a torn write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TornReason {
    /// The file ends inside the header, or before the record's declared end.
    CutShort,
    /// Every byte from the record start on is zero.
    Zeroed,
    /// The record is complete but its check fails, and nothing but zero
    /// bytes follows it.
    FinalChecksum,
}

/// How a disk log ends. See the module documentation for the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to a valid record.
    Clean,
    /// The last write is torn; the bytes from `valid_len` on may be dropped.
    Torn {
        /// Length of the valid prefix: cut the file here before appending.
        valid_len: usize,
        /// Why.
        reason: TornReason,
    },
    /// A record with data after it is damaged; recovery must report it.
    Corrupt(DiskCorrupt),
}

impl Tail {
    /// Length of the prefix of valid records; `total` is the log's length.
    pub fn valid_len(&self, total: usize) -> usize {
        match self {
            Tail::Clean => total,
            Tail::Torn { valid_len, .. } => *valid_len,
            Tail::Corrupt(c) => c.offset,
        }
    }

    /// `Ok` for a clean or torn log (safe to start from the records), the
    /// corruption otherwise.
    ///
    /// # Errors
    /// The [`DiskCorrupt`] of a corrupt log.
    pub fn check(&self) -> Result<(), DiskCorrupt> {
        match self {
            Tail::Corrupt(c) => Err(c.clone()),
            Tail::Clean | Tail::Torn { .. } => Ok(()),
        }
    }
}

/// Limits for reading a disk log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiskLimits {
    /// Largest body of one record.
    pub max_record_body: u32,
}

impl DiskLimits {
    /// 256 MiB per record.
    pub const DEFAULT: DiskLimits = DiskLimits {
        max_record_body: DEFAULT_MAX_RECORD_BODY,
    };
}

impl Default for DiskLimits {
    fn default() -> Self {
        DiskLimits::DEFAULT
    }
}

fn header_check(header: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest(header);
    let mut c = [0u8; 4];
    c.copy_from_slice(&digest[..4]);
    c
}

fn record_check(record: &[u8]) -> [u8; RECORD_CHECK_LEN] {
    let digest = Sha256::digest(record);
    let mut c = [0u8; RECORD_CHECK_LEN];
    c.copy_from_slice(&digest[..RECORD_CHECK_LEN]);
    c
}

/// Makes `value` into one disk record, to append to the log.
///
/// # Errors
/// `TooLarge` if the body is over `limits`, `Encode` if serialization fails.
pub fn encode_record<T: Serialize + ?Sized>(
    value: &T,
    limits: &DiskLimits,
) -> Result<Vec<u8>, DiskEncodeError> {
    let out = vec![0u8; RECORD_HEADER_LEN];
    let mut out = postcard::to_extend(value, out).map_err(DiskEncodeError::Encode)?;
    let body_len = out.len() - RECORD_HEADER_LEN;
    let limit = limits.max_record_body;
    let body_len = u32::try_from(body_len)
        .ok()
        .filter(|&len| len <= limit)
        .ok_or(DiskEncodeError::TooLarge {
            len: body_len as u64,
            limit,
        })?;
    out[..4].copy_from_slice(&DISK_MAGIC);
    out[4] = DISK_VERSION;
    out[8..HEADER_CHECK_AT].copy_from_slice(&body_len.to_be_bytes());
    let check = header_check(&out[..HEADER_CHECK_AT]);
    out[HEADER_CHECK_AT..RECORD_HEADER_LEN].copy_from_slice(&check);
    let check = record_check(&out);
    out.extend_from_slice(&check);
    Ok(out)
}

/// One step of the scan: a record, or the end of the log.
enum Step<T> {
    Record { value: T, end: usize },
    End(Tail),
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Reads the record at `at`, the `record`-th of `log`.
fn step<T: DeserializeOwned>(log: &[u8], at: usize, record: usize, limits: &DiskLimits) -> Step<T> {
    let rest = &log[at..];
    let corrupt = |reason| {
        Step::End(Tail::Corrupt(DiskCorrupt {
            offset: at,
            record,
            reason,
        }))
    };
    let torn = |reason| {
        Step::End(Tail::Torn {
            valid_len: at,
            reason,
        })
    };
    if rest.is_empty() {
        return Step::End(Tail::Clean);
    }
    if all_zero(rest) {
        return torn(TornReason::Zeroed);
    }
    let Some(header) = rest.get(..RECORD_HEADER_LEN) else {
        return torn(TornReason::CutShort);
    };
    if header[..4] != DISK_MAGIC {
        return corrupt(CorruptReason::BadMagic);
    }
    if header[HEADER_CHECK_AT..] != header_check(&header[..HEADER_CHECK_AT]) {
        return corrupt(CorruptReason::HeaderCheck);
    }
    if header[4] != DISK_VERSION {
        return corrupt(CorruptReason::UnsupportedVersion(header[4]));
    }
    if header[5..8] != [0, 0, 0] {
        return corrupt(CorruptReason::Reserved);
    }
    let body_len = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    if body_len > limits.max_record_body {
        return corrupt(CorruptReason::TooLarge {
            len: body_len,
            limit: limits.max_record_body,
        });
    }
    let check_at = RECORD_HEADER_LEN + body_len as usize;
    let Some(record_bytes) = rest.get(..check_at + RECORD_CHECK_LEN) else {
        return torn(TornReason::CutShort);
    };
    if record_bytes[check_at..] != record_check(&record_bytes[..check_at]) {
        return if all_zero(&rest[record_bytes.len()..]) {
            torn(TornReason::FinalChecksum)
        } else {
            corrupt(CorruptReason::RecordCheck)
        };
    }
    match postcard::take_from_bytes::<T>(&record_bytes[RECORD_HEADER_LEN..check_at]) {
        Err(e) => corrupt(CorruptReason::Undecodable(e)),
        Ok((_, extra)) if !extra.is_empty() => corrupt(CorruptReason::TrailingBytes(extra.len())),
        Ok((value, _)) => Step::Record {
            value,
            end: at + record_bytes.len(),
        },
    }
}

/// Reads a whole disk log: the records of its valid prefix, and how it
/// ends. See the module documentation for the rule. Never panics; a corrupt
/// or torn record is never returned.
pub fn decode_log<T: DeserializeOwned>(log: &[u8], limits: &DiskLimits) -> (Vec<T>, Tail) {
    let mut records = Vec::new();
    let mut at = 0;
    loop {
        match step(log, at, records.len(), limits) {
            Step::Record { value, end } => {
                debug_assert!(end > at && end <= log.len());
                records.push(value);
                at = end;
            }
            Step::End(tail) => return (records, tail),
        }
    }
}
