//! The cloud object store: where clients upload encrypted backups.
//!
//! The cloud is trusted for **availability only** (DESIGN.md s1): it may lose
//! a write it acknowledged, serve a stale or older version, flip bits, forget
//! an object or be unavailable. Nothing that a client needs for secrecy or
//! integrity rests on it; backups are authenticated by the backup format
//! itself ([`crate::format`]). This module is the interface the client code
//! uses, and two backends:
//!
//! - [`MemoryStore`]: every version of every object in memory, with
//!   [`FaultHook`]s through which the simulator injects the cloud faults of
//!   DESIGN.md s4 deterministically from its own seeded RNG.
//! - [`DirectoryStore`]: a local directory, written atomically and checked by
//!   SHA-256 on every read, for the real runtime and for tests.
//!
//! The interface is synchronous and deterministic: no clock, no randomness,
//! no iteration over hash maps, so a simulator seed replays to the same trace.
//!
//! # What a conforming store promises
//! These are the promises of the [`ObjectStore`] methods when the cloud
//! behaves. The shared conformance tests (`impl/tests/integration/cloud_conformance.rs`)
//! check them against both backends.
//!
//! - Versions are assigned by the store, start at 1 and strictly increase per
//!   key across puts and deletes; a version number is never reused, not even
//!   after a delete or (for [`DirectoryStore`]) a restart.
//! - A delete writes a tombstone that takes the next version number, so the
//!   history of a key is a sequence of puts and deletes in version order.
//! - The *current* version of a key is its newest put, unless a delete came
//!   after it; then the key is absent.
//! - Every version that was put stays readable with
//!   [`ObjectStore::get_version`], with exactly the bytes that were put.
//!
//! A faulty cloud may break any of these (each method says how). It cannot
//! make the bytes it returns pass the backup format's authentication unless
//! they are bytes the client put; that is the client's line of defence.

mod directory;
mod memory;

pub use directory::{decode_object_file, encode_object_file, DirectoryStore};
pub use memory::{
    DeleteFault, FaultHook, GetFault, ListFault, MemoryStore, NoFaults, PutFault, StoredObject,
    VersionInfo,
};

use bytes::Bytes;
use core::fmt;
use thiserror::Error;

/// Largest object a store accepts by default: 1 GiB. Larger backups are
/// expected to be split by the client. Checked before anything is stored.
pub const MAX_OBJECT_SIZE: u64 = 1 << 30;

/// Longest object key, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// The name of an object: 1 to [`MAX_KEY_LEN`] ASCII bytes from
/// `[A-Za-z0-9._/-]`, made of `/`-separated segments none of which is empty,
/// `.` or `..` (so no leading, trailing or doubled `/`).
///
/// Keys are compared and sorted bytewise, which is the order of
/// [`ObjectStore::list`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

/// Why a string is not a valid [`ObjectKey`] (or list prefix).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Error)]
pub enum KeyError {
    /// The key is the empty string.
    #[error("object key is empty")]
    Empty,
    /// The key is longer than [`MAX_KEY_LEN`] bytes.
    #[error("object key is {len} bytes long; the limit is {MAX_KEY_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A byte outside `[A-Za-z0-9._/-]`.
    #[error(
        "object key has byte 0x{byte:02x} at offset {offset}; only A-Z a-z 0-9 . _ / - are allowed"
    )]
    BadByte {
        /// The offending byte (the first byte of a non-ASCII character).
        byte: u8,
        /// Its offset in the key.
        offset: usize,
    },
    /// A segment (text between slashes, or before the first or after the
    /// last) is empty: a leading, trailing or doubled `/`.
    #[error(
        "object key has an empty segment at offset {offset} (leading, trailing or doubled '/')"
    )]
    EmptySegment {
        /// Offset where the empty segment starts.
        offset: usize,
    },
    /// A segment is `.` or `..`.
    #[error("object key has a '.' or '..' segment at offset {offset}")]
    DotSegment {
        /// Offset where the segment starts.
        offset: usize,
    },
}

impl ObjectKey {
    /// Validates `key`.
    ///
    /// # Errors
    /// The first rule `key` breaks, in the order of [`KeyError`]'s variants
    /// (length first, then bytes from left to right, then segments).
    pub fn new(key: &str) -> Result<ObjectKey, KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        check_chars(key)?;
        let mut offset = 0;
        for segment in key.split('/') {
            match segment {
                "" => return Err(KeyError::EmptySegment { offset }),
                "." | ".." => return Err(KeyError::DotSegment { offset }),
                _ => {}
            }
            offset += segment.len() + 1;
        }
        Ok(ObjectKey(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the length and the alphabet, the rules that list prefixes share
/// with keys.
fn check_chars(text: &str) -> Result<(), KeyError> {
    if text.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong { len: text.len() });
    }
    match text
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-')))
    {
        Some(offset) => Err(KeyError::BadByte {
            byte: text.as_bytes()[offset],
            offset,
        }),
        None => Ok(()),
    }
}

/// Validates a prefix for [`ObjectStore::list`]: the empty string, or at most
/// [`MAX_KEY_LEN`] bytes of the key alphabet. Segment rules do not apply: a
/// prefix such as `"users/al"` or `"users/"` is fine.
///
/// # Errors
/// [`KeyError::TooLong`] or [`KeyError::BadByte`].
pub fn check_prefix(prefix: &str) -> Result<(), KeyError> {
    check_chars(prefix)
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lets a `BTreeMap<ObjectKey, _>` be searched by `&str` (for list
/// prefixes). Consistent with `Ord`, `Eq` and `Hash`, which compare the text.
impl core::borrow::Borrow<str> for ObjectKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for ObjectKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectKey::new(s)
    }
}

/// A version of an object, assigned by the store. The first version of a key
/// is 1; every later put or delete of that key gets a larger number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl Version {
    /// The first version a store assigns to a key.
    pub const FIRST: Version = Version(1);

    /// The version after this one.
    ///
    /// # Panics
    /// At `u64::MAX`, which no store reaches.
    pub fn next(self) -> Version {
        Version(self.0.checked_add(1).expect("version numbers exhausted"))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A condition on the current state of a key, checked atomically with a put
/// or a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precondition {
    /// No condition.
    Any,
    /// The key is absent: never put, or deleted since its last put.
    IfAbsent,
    /// The key's current version is exactly this one (and not deleted).
    IfVersion(Version),
}

impl Precondition {
    /// Whether the condition holds when the key's current version is `current`
    /// (`None` when absent).
    pub fn holds(self, current: Option<Version>) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::IfAbsent => current.is_none(),
            Precondition::IfVersion(v) => current == Some(v),
        }
    }

    /// `Ok` if the condition holds, else the [`StoreError::PreconditionFailed`]
    /// to return.
    ///
    /// # Errors
    /// [`StoreError::PreconditionFailed`] carrying `current`.
    pub fn check(self, current: Option<Version>) -> Result<(), StoreError> {
        if self.holds(current) {
            Ok(())
        } else {
            Err(StoreError::PreconditionFailed { current })
        }
    }
}

/// One version of an object, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its key.
    pub key: ObjectKey,
    /// Its version.
    pub version: Version,
    /// Its bytes (reference-counted: cloning does not copy them).
    pub data: Bytes,
}

/// What [`ObjectStore::list`] says about one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectInfo {
    /// Its key.
    pub key: ObjectKey,
    /// Its current version.
    pub version: Version,
    /// Its size in bytes.
    pub size: u64,
}

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key (or the requested version) does not exist or was deleted.
    #[error("object not found")]
    NotFound,
    /// The [`Precondition`] did not hold; nothing was changed.
    #[error("precondition failed: the current version is {}", match .current { Some(v) => v.to_string(), None => "absent".to_owned() })]
    PreconditionFailed {
        /// The key's current version, `None` if absent.
        current: Option<Version>,
    },
    /// The store could not be reached, or did not answer. The operation may
    /// or may not have taken effect.
    #[error("the store is unavailable")]
    Unavailable,
    /// The object is larger than the store's limit; nothing was stored.
    #[error("object of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The object's size in bytes.
        size: u64,
        /// The store's limit in bytes.
        limit: u64,
    },
    /// The operating system reported an error ([`DirectoryStore`]).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored object is damaged: its checksum does not match, or its file
    /// is malformed ([`DirectoryStore`]). No damaged bytes are returned.
    #[error("stored object {key} {version} is corrupt: {reason}")]
    Corrupt {
        /// The object's key.
        key: ObjectKey,
        /// The damaged version.
        version: Version,
        /// What is wrong.
        reason: &'static str,
    },
    /// The key or list prefix is not valid.
    #[error("invalid object key: {0}")]
    InvalidKey(#[from] KeyError),
}

/// A versioned object store.
///
/// Each method states what a conforming store promises, then which of those
/// promises a faulty cloud may break (the faults [`MemoryStore`] can inject).
/// Methods take `&mut self`: a store is driven by one caller at a time, and a
/// read may change fault-injection state.
pub trait ObjectStore {
    /// Stores `data` as a new version of `key` if `cond` holds, atomically.
    ///
    /// Conforming: returns the new version, greater than every version this
    /// key has had (puts and deletes), and from then on `get` returns exactly
    /// `data` until the next put or delete. On any error nothing changes
    /// (except `Unavailable`, `Io`, see below).
    ///
    /// # Errors
    /// - [`StoreError::TooLarge`] if `data` is over the store's limit (checked
    ///   first); [`StoreError::PreconditionFailed`] if `cond` does not hold.
    /// - [`StoreError::Unavailable`] or [`StoreError::Io`]: the put may or may
    ///   not have happened (the reply can be lost after the write).
    ///
    /// A faulty cloud may acknowledge a version it never stored (a lost
    /// write); the version number is used up all the same.
    fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError>;

    /// Reads the current version of `key`.
    ///
    /// Conforming: the newest version, with exactly the bytes that were put.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the key is absent; [`StoreError::Corrupt`]
    /// if the store detected damage; [`StoreError::Unavailable`],
    /// [`StoreError::Io`].
    ///
    /// A faulty cloud may serve an older version (labelled with its own,
    /// older version number), bytes with flipped bits, or `NotFound` for an
    /// object that exists.
    fn get(&mut self, key: &ObjectKey) -> Result<Object, StoreError>;

    /// Reads one version of `key`, current or not.
    ///
    /// Conforming: exactly the bytes that were put as that version.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if that version was never put (never
    /// assigned, a delete's tombstone, or a lost write); otherwise as
    /// [`ObjectStore::get`].
    ///
    /// A faulty cloud may flip bits or claim the version does not exist.
    fn get_version(&mut self, key: &ObjectKey, version: Version) -> Result<Object, StoreError>;

    /// Lists the current version of every present key that starts with
    /// `prefix` (bytewise; `""` lists everything), sorted by key.
    ///
    /// # Errors
    /// [`StoreError::InvalidKey`] if `prefix` is not valid ([`check_prefix`]);
    /// [`StoreError::Unavailable`], [`StoreError::Io`].
    ///
    /// A faulty cloud may leave objects out of the listing.
    fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;

    /// Deletes `key` if `cond` holds, atomically, by writing a tombstone that
    /// takes the next version number. Earlier versions stay readable with
    /// [`ObjectStore::get_version`].
    ///
    /// Conforming: afterwards `get` returns `NotFound` until the next put.
    ///
    /// # Errors
    /// [`StoreError::PreconditionFailed`] if `cond` does not hold (checked
    /// first), else [`StoreError::NotFound`] if the key is absent;
    /// [`StoreError::Unavailable`], [`StoreError::Io`] (the delete may or may
    /// not have happened).
    ///
    /// A faulty cloud may acknowledge a delete and keep the object.
    fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError>;
}

impl<S: ObjectStore + ?Sized> ObjectStore for &mut S {
    fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError> {
        (**self).put(key, data, cond)
    }
    fn get(&mut self, key: &ObjectKey) -> Result<Object, StoreError> {
        (**self).get(key)
    }
    fn get_version(&mut self, key: &ObjectKey, version: Version) -> Result<Object, StoreError> {
        (**self).get_version(key, version)
    }
    fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        (**self).list(prefix)
    }
    fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError> {
        (**self).delete(key, cond)
    }
}

impl<S: ObjectStore + ?Sized> ObjectStore for Box<S> {
    fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError> {
        (**self).put(key, data, cond)
    }
    fn get(&mut self, key: &ObjectKey) -> Result<Object, StoreError> {
        (**self).get(key)
    }
    fn get_version(&mut self, key: &ObjectKey, version: Version) -> Result<Object, StoreError> {
        (**self).get_version(key, version)
    }
    fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        (**self).list(prefix)
    }
    fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError> {
        (**self).delete(key, cond)
    }
}

/// Checks `size` against `limit`.
fn check_size(size: usize, limit: u64) -> Result<(), StoreError> {
    let size = size as u64;
    if size > limit {
        Err(StoreError::TooLarge { size, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        for ok in [
            "a",
            "users/alice/backup-1.bvault",
            "a.b/c_d/-",
            "...",
            ".x/y.",
        ] {
            assert!(ObjectKey::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(ObjectKey::new(""), Err(KeyError::Empty));
        assert_eq!(
            ObjectKey::new(&"a".repeat(257)),
            Err(KeyError::TooLong { len: 257 })
        );
        assert!(ObjectKey::new(&"a".repeat(256)).is_ok());
        assert_eq!(
            ObjectKey::new("ab c"),
            Err(KeyError::BadByte {
                byte: b' ',
                offset: 2
            })
        );
        assert_eq!(
            ObjectKey::new("/a"),
            Err(KeyError::EmptySegment { offset: 0 })
        );
        assert_eq!(
            ObjectKey::new("a//b"),
            Err(KeyError::EmptySegment { offset: 2 })
        );
        assert_eq!(
            ObjectKey::new("a/"),
            Err(KeyError::EmptySegment { offset: 2 })
        );
        assert_eq!(
            ObjectKey::new("a/../b"),
            Err(KeyError::DotSegment { offset: 2 })
        );
        assert_eq!(ObjectKey::new("."), Err(KeyError::DotSegment { offset: 0 }));
        assert!(matches!(
            ObjectKey::new("é"),
            Err(KeyError::BadByte { offset: 0, .. })
        ));
    }

    #[test]
    fn preconditions() {
        let v = Version(3);
        assert!(Precondition::Any.holds(None));
        assert!(Precondition::IfAbsent.holds(None));
        assert!(!Precondition::IfAbsent.holds(Some(v)));
        assert!(Precondition::IfVersion(v).holds(Some(v)));
        assert!(!Precondition::IfVersion(v).holds(Some(Version(4))));
        assert!(!Precondition::IfVersion(v).holds(None));
    }
}
