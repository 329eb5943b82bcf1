//! [`DirectoryStore`]: an [`ObjectStore`] in a local directory.
//!
//! # Layout
//! ```text
//! ROOT/
//!   objects/
//!     <dir name of key>/                 one directory per object key
//!       00000000000000000001.obj         version 1: a put (header + data)
//!       00000000000000000002.del         version 2: a delete (header only)
//!       .tmp-00000000000000000003        a write in progress (or left by a crash)
//! ```
//!
//! The directory name of a key is its first 48 bytes with every `/` replaced
//! by `+` (for people reading the directory), then `-`, then the first 16
//! bytes of SHA-256(key) in lower-case hex. Only the hash makes it unique: an
//! injective readable encoding cannot work, because keys may be 256 bytes
//! long while file names are limited to 255 bytes, and because some file
//! systems fold case. The key itself is recorded in every version file.
//!
//! Each version is one file named by its version number, 20 zero-padded
//! decimal digits, with `.obj` for a put and `.del` for a delete tombstone.
//! Every file starts with a header (integers big-endian):
//! ```text
//! offset size field
//!      0    8 magic        "BVCLOUD" 0x01
//!      8    1 kind         1 = put, 2 = delete tombstone
//!      9    8 version      u64, equal to the file name's
//!     17    2 key_len      u16, 1 ..= 256
//!     19    8 data_len     u64, 0 for a tombstone
//!     27   32 checksum     SHA-256(bytes 0..27 || key || data)
//!     59  key_len key
//!      .  data_len data
//! ```
//! Every read checks the whole file against the checksum; damage is reported
//! as [`StoreError::Corrupt`] and no damaged byte is returned. The checksum
//! catches accidents, not an attacker, who can recompute it.
//!
//! # Atomicity and crashes
//! A put or delete writes `.tmp-<version>` in the key's directory, fsyncs
//! it, renames it to its final name and fsyncs the directory (and the parent
//! `objects/`, when the key's directory is new) before it returns `Ok`. A
//! crash at any point leaves either the old state or the new version, never
//! a partial file under a final name. [`DirectoryStore::open`] removes leftover
//! temporary files and empty key directories, and continues each key's
//! numbering at the highest version file present plus one; tombstones keep
//! that number from going backwards after a delete. A version whose write
//! crashed before the directory fsync may be assigned again after a restart,
//! but it was never acknowledged.
//!
//! # Scope
//! One process, one `DirectoryStore` per root: preconditions are checked
//! against an in-memory index built by `open` and kept up to date by `&mut
//! self` methods. Concurrent writers from several processes are out of
//! scope (nothing locks the directory). Every version is kept; there is no
//! garbage collection yet. Objects are read into memory whole, up to the
//! size limit. Directory fsync is done the Unix way (opening the directory).

use super::{
    check_prefix, check_size, Object, ObjectInfo, ObjectKey, ObjectStore, Precondition, StoreError,
    Version, MAX_KEY_LEN, MAX_OBJECT_SIZE,
};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: [u8; 8] = *b"BVCLOUD\x01";
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;
/// Bytes of header before the key.
const FIXED_LEN: usize = 59;
const CHECKSUM_START: usize = 27;
const OBJECTS_DIR: &str = "objects";
const TMP_PREFIX: &str = ".tmp-";
const PUT_EXT: &str = ".obj";
const DELETE_EXT: &str = ".del";
/// Bytes of readable key text in a directory name.
const READABLE_LEN: usize = 48;

/// One version file, as indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    version: Version,
    /// `Some(size)` for a put, `None` for a tombstone.
    size: Option<u64>,
}

/// The versions of one key, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Slot {
    entries: Vec<Entry>,
}

impl Slot {
    fn current(&self) -> Option<Entry> {
        self.entries.last().copied().filter(|e| e.size.is_some())
    }

    fn next_version(&self) -> Version {
        self.entries
            .last()
            .map_or(Version::FIRST, |e| e.version.next())
    }

    fn insert(&mut self, entry: Entry) {
        let i = self.entries.partition_point(|e| e.version < entry.version);
        self.entries.insert(i, entry);
    }
}

/// An [`ObjectStore`] in a local directory; see the module documentation for
/// the layout and the crash guarantees.
#[derive(Debug)]
pub struct DirectoryStore {
    objects_dir: PathBuf,
    /// Keys whose name is known from at least one intact header.
    slots: BTreeMap<ObjectKey, Slot>,
    /// Key directories in which no header was intact, by directory name.
    /// Adopted by the first operation on a key that maps to that name.
    orphans: BTreeMap<String, Slot>,
    size_limit: u64,
}

impl DirectoryStore {
    /// Opens the store at `root`, creating the directory if needed (the
    /// caller makes `root` itself durable in its parent). Removes
    /// leftover temporary files and empty key directories, and indexes every
    /// version file (reading only its header; data is checked on read).
    ///
    /// # Errors
    /// [`StoreError::Io`] if the directory cannot be created or read. Damaged
    /// version files are not an error here; reading them is.
    pub fn open(root: impl AsRef<Path>) -> Result<DirectoryStore, StoreError> {
        let root = root.as_ref();
        let objects_dir = root.join(OBJECTS_DIR);
        if !objects_dir.is_dir() {
            fs::create_dir_all(&objects_dir)?;
            sync_dir(root)?;
        }
        let mut store = DirectoryStore {
            objects_dir,
            slots: BTreeMap::new(),
            orphans: BTreeMap::new(),
            size_limit: MAX_OBJECT_SIZE,
        };
        let mut names = Vec::new();
        for dirent in fs::read_dir(&store.objects_dir)? {
            let dirent = dirent?;
            if dirent.file_type()?.is_dir() {
                if let Ok(name) = dirent.file_name().into_string() {
                    names.push(name);
                }
            }
        }
        names.sort();
        for name in names {
            store.scan_key_dir(&name)?;
        }
        Ok(store)
    }

    /// Sets the largest object size accepted, in bytes.
    pub fn with_size_limit(mut self, limit_bytes: u64) -> Self {
        self.size_limit = limit_bytes;
        self
    }

    /// The largest object size accepted, in bytes.
    pub fn size_limit(&self) -> u64 {
        self.size_limit
    }

    /// Where the version files of `key` live.
    pub fn key_dir(&self, key: &ObjectKey) -> PathBuf {
        self.objects_dir.join(dir_name(key))
    }

    /// The path of the file holding `version` of `key`, if that version is a
    /// put (whether or not the file exists). For tests and inspection.
    pub fn version_path(&self, key: &ObjectKey, version: Version) -> PathBuf {
        self.key_dir(key).join(file_name(version, true))
    }

    /// Indexes one key directory, cleaning temporary files.
    fn scan_key_dir(&mut self, name: &str) -> Result<(), StoreError> {
        let dir = self.objects_dir.join(name);
        let mut slot = Slot::default();
        let mut key = None;
        for dirent in fs::read_dir(&dir)? {
            let dirent = dirent?;
            let Ok(file) = dirent.file_name().into_string() else {
                continue;
            };
            if file.starts_with(TMP_PREFIX) {
                fs::remove_file(dirent.path())?;
                continue;
            }
            let Some((version, is_put)) = parse_file_name(&file) else {
                continue;
            };
            let file_len = dirent.metadata()?.len();
            let header = read_header(&dirent.path())?;
            let intact = header
                .as_ref()
                .filter(|h| h.version == version && h.is_put == is_put && dir_name(&h.key) == name);
            // The size of a damaged put is only an estimate (the key's
            // length is unknown); reading it reports the damage.
            let size = is_put.then(|| match intact {
                Some(h) => h.data_len,
                None => file_len.saturating_sub(FIXED_LEN as u64),
            });
            if let Some(h) = intact {
                key.get_or_insert_with(|| h.key.clone());
            }
            slot.insert(Entry { version, size });
        }
        if slot.entries.is_empty() {
            // Left by a crash between creating the directory and the first
            // rename; remove_dir fails (harmlessly) if anything else is in it.
            let _ = fs::remove_dir(&dir);
            return Ok(());
        }
        match key {
            Some(key) => {
                self.slots.insert(key, slot);
            }
            None => {
                self.orphans.insert(name.to_owned(), slot);
            }
        }
        Ok(())
    }

    /// The index entry of `key`, adopting an orphaned directory if there is one.
    fn slot(&mut self, key: &ObjectKey) -> Option<&mut Slot> {
        if !self.orphans.is_empty() && !self.slots.contains_key(key) {
            let orphan = self.orphans.remove(&dir_name(key))?;
            self.slots.insert(key.clone(), orphan);
        }
        self.slots.get_mut(key)
    }

    /// Writes a new version file for `key` and indexes it.
    fn write_version(
        &mut self,
        key: &ObjectKey,
        data: Option<&[u8]>,
    ) -> Result<Version, StoreError> {
        let version = self.slot(key).map_or(Version::FIRST, |s| s.next_version());
        let dir = self.key_dir(key);
        match fs::create_dir(&dir) {
            Ok(()) => sync_dir(&self.objects_dir)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        let is_put = data.is_some();
        let content = data.unwrap_or(&[]);
        let header = encode_header(is_put, version, key, content);
        let tmp = dir.join(format!("{TMP_PREFIX}{:020}", version.0));
        let written = write_synced(&tmp, &header, content)
            .and_then(|()| fs::rename(&tmp, dir.join(file_name(version, is_put))));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        // The file is in place: index it even if the directory fsync fails,
        // so the index matches what a reader of the directory would see.
        self.slots.entry(key.clone()).or_default().insert(Entry {
            version,
            size: data.map(|d| d.len() as u64),
        });
        sync_dir(&dir)?;
        Ok(version)
    }

    /// Reads and verifies the put stored as `version` of `key`.
    fn read_version(&self, key: &ObjectKey, version: Version) -> Result<Object, StoreError> {
        let corrupt = |reason| StoreError::Corrupt {
            key: key.clone(),
            version,
            reason,
        };
        let path = self.version_path(key, version);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(corrupt("the version file has disappeared"))
            }
            Err(e) => return Err(e.into()),
        };
        let max_len = (FIXED_LEN + MAX_KEY_LEN) as u64 + self.size_limit;
        if file.metadata()?.len() > max_len {
            return Err(corrupt("the file is larger than any object it could hold"));
        }
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        let data = decode_object_file(key, version, buf).map_err(corrupt)?;
        Ok(Object {
            key: key.clone(),
            version,
            data,
        })
    }
}

/// The bytes of a version file holding `data` as `version` of `key` (the
/// layout in the module documentation).
pub fn encode_object_file(key: &ObjectKey, version: Version, data: &[u8]) -> Vec<u8> {
    let mut out = encode_header(true, version, key, data);
    out.extend_from_slice(data);
    out
}

/// Parses and verifies a version file read from disk: it must hold a put of
/// `version` of `key` whose checksum matches. Returns the object's data, or
/// why the file is corrupt. Never panics, whatever the bytes.
///
/// # Errors
/// A short reason: malformed header, header not matching the file name,
/// length mismatch, checksum mismatch.
pub fn decode_object_file(
    key: &ObjectKey,
    version: Version,
    buf: Vec<u8>,
) -> Result<Bytes, &'static str> {
    let header = parse_header(&buf).ok_or("malformed header")?;
    if header.version != version || !header.is_put || header.key != *key {
        return Err("the header does not match the file name");
    }
    let data_start = FIXED_LEN + key.as_str().len();
    if (buf.len() - data_start) as u64 != header.data_len {
        return Err("the file length does not match the header");
    }
    let mut hasher = Sha256::new();
    hasher.update(&buf[..CHECKSUM_START]);
    hasher.update(&buf[FIXED_LEN..]);
    if hasher.finalize()[..] != buf[CHECKSUM_START..FIXED_LEN] {
        return Err("checksum mismatch");
    }
    Ok(Bytes::from(buf).slice(data_start..))
}

impl ObjectStore for DirectoryStore {
    fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError> {
        check_size(data.len(), self.size_limit)?;
        let current = self.slot(key).and_then(|s| s.current());
        cond.check(current.map(|e| e.version))?;
        self.write_version(key, Some(&data))
    }

    fn get(&mut self, key: &ObjectKey) -> Result<Object, StoreError> {
        let current = self.slot(key).and_then(|s| s.current());
        let entry = current.ok_or(StoreError::NotFound)?;
        self.read_version(key, entry.version)
    }

    fn get_version(&mut self, key: &ObjectKey, version: Version) -> Result<Object, StoreError> {
        let slot = self.slot(key).ok_or(StoreError::NotFound)?;
        let is_put = slot
            .entries
            .iter()
            .any(|e| e.version == version && e.size.is_some());
        if !is_put {
            return Err(StoreError::NotFound);
        }
        self.read_version(key, version)
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        check_prefix(prefix)?;
        let listing = self
            .slots
            .range::<str, _>((
                core::ops::Bound::Included(prefix),
                core::ops::Bound::Unbounded,
            ))
            .take_while(|(key, _)| key.as_str().starts_with(prefix))
            .filter_map(|(key, slot)| {
                let entry = slot.current()?;
                Some(ObjectInfo {
                    key: key.clone(),
                    version: entry.version,
                    size: entry.size?,
                })
            })
            .collect();
        Ok(listing)
    }

    fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError> {
        let current = self.slot(key).and_then(|s| s.current());
        cond.check(current.map(|e| e.version))?;
        current.ok_or(StoreError::NotFound)?;
        self.write_version(key, None).map(drop)
    }
}

/// The directory name of `key` (see the module documentation).
fn dir_name(key: &ObjectKey) -> String {
    let text = key.as_str();
    let readable = text[..text.len().min(READABLE_LEN)].replace('/', "+");
    let digest = Sha256::digest(text.as_bytes());
    let mut name = readable;
    name.push('-');
    name.push_str(&hex::encode(&digest[..16]));
    name
}

fn file_name(version: Version, is_put: bool) -> String {
    let ext = if is_put { PUT_EXT } else { DELETE_EXT };
    format!("{:020}{ext}", version.0)
}

/// Parses a version file name into (version, is_put).
fn parse_file_name(name: &str) -> Option<(Version, bool)> {
    let (digits, is_put) = if let Some(d) = name.strip_suffix(PUT_EXT) {
        (d, true)
    } else {
        (name.strip_suffix(DELETE_EXT)?, false)
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version = digits.parse().ok().filter(|&v| v > 0)?;
    Some((Version(version), is_put))
}

/// The decoded fixed part of a version file's header, and its key.
struct Header {
    is_put: bool,
    version: Version,
    key: ObjectKey,
    data_len: u64,
}

fn encode_header(is_put: bool, version: Version, key: &ObjectKey, data: &[u8]) -> Vec<u8> {
    let key = key.as_str().as_bytes();
    let mut out = Vec::with_capacity(FIXED_LEN + key.len());
    out.extend_from_slice(&MAGIC);
    out.push(if is_put { KIND_PUT } else { KIND_DELETE });
    out.extend_from_slice(&version.0.to_be_bytes());
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(&(data.len() as u64).to_be_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&out);
    hasher.update(key);
    hasher.update(data);
    out.extend_from_slice(&hasher.finalize());
    out.extend_from_slice(key);
    out
}

/// Parses the header at the start of `buf` (which may hold more), without
/// checking the checksum. `None` if it is malformed or `buf` is too short.
fn parse_header(buf: &[u8]) -> Option<Header> {
    let fixed = buf.get(..FIXED_LEN)?;
    if fixed[..8] != MAGIC {
        return None;
    }
    let is_put = match fixed[8] {
        KIND_PUT => true,
        KIND_DELETE => false,
        _ => return None,
    };
    let version = Version(u64::from_be_bytes(fixed[9..17].try_into().ok()?));
    let key_len = u16::from_be_bytes(fixed[17..19].try_into().ok()?) as usize;
    let data_len = u64::from_be_bytes(fixed[19..27].try_into().ok()?);
    let key = buf.get(FIXED_LEN..FIXED_LEN + key_len)?;
    let key = ObjectKey::new(core::str::from_utf8(key).ok()?).ok()?;
    if !is_put && data_len != 0 {
        return None;
    }
    Some(Header {
        is_put,
        version,
        key,
        data_len,
    })
}

/// Reads the header of the file at `path`; `Ok(None)` if it is malformed.
fn read_header(path: &Path) -> Result<Option<Header>, StoreError> {
    let mut buf = Vec::with_capacity(FIXED_LEN + MAX_KEY_LEN);
    File::open(path)?
        .take((FIXED_LEN + MAX_KEY_LEN) as u64)
        .read_to_end(&mut buf)?;
    Ok(parse_header(&buf))
}

/// Creates (or truncates) `path`, writes `header` then `data`, and fsyncs it.
fn write_synced(path: &Path, header: &[u8], data: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(header)?;
    file.write_all(data)?;
    file.sync_all()
}

/// Makes the entries of directory `path` durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        for (v, put) in [(1, true), (42, false), (u64::MAX, true)] {
            let name = file_name(Version(v), put);
            assert_eq!(name.len(), 24);
            assert_eq!(parse_file_name(&name), Some((Version(v), put)));
        }
        for bad in [
            "1.obj",
            "00000000000000000000.obj",
            "0000000000000000000a.obj",
            "00000000000000000001.tmp",
            ".tmp-00000000000000000001",
            "99999999999999999999.obj",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn dir_names_are_bounded_and_distinct() {
        let long = ObjectKey::new("a/".repeat(127).trim_end_matches('/')).unwrap();
        assert!(dir_name(&long).len() <= READABLE_LEN + 1 + 32);
        let upper = dir_name(&ObjectKey::new("A").unwrap());
        let lower = dir_name(&ObjectKey::new("a").unwrap());
        assert_ne!(upper.to_lowercase(), lower.to_lowercase());
        assert!(dir_name(&ObjectKey::new("users/alice").unwrap()).starts_with("users+alice-"));
    }

    #[test]
    fn header_round_trip() {
        let key = ObjectKey::new("k/1").unwrap();
        let header = encode_header(true, Version(7), &key, b"data");
        assert_eq!(header.len(), FIXED_LEN + 3);
        let parsed = parse_header(&header).unwrap();
        assert!(parsed.is_put);
        assert_eq!(parsed.version, Version(7));
        assert_eq!(parsed.key, key);
        assert_eq!(parsed.data_len, 4);
    }
}
