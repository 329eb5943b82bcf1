//! [`MemoryStore`]: every version of every object in memory, with fault hooks.
//!
//! The simulator's cloud. Each operation first asks a [`FaultHook`] what to
//! do; the default hook, [`NoFaults`], makes the store conforming. The hook
//! is given everything it needs to decide (the key, the data, the current
//! version, the versions held), so a hook driven by a seeded RNG decides the
//! same way on every replay. Faults never change what is stored, with two
//! deliberate exceptions that model the real world: a lost write uses up a
//! version number without storing it, and an acknowledged-then-lost delete
//! keeps the object. A flipped bit is applied to a copy.
//!
//! Deletes are tombstones: earlier versions stay in memory, so a hook can
//! serve them as "older version" faults, and checkers can scan them with
//! [`MemoryStore::objects`].

use super::{
    check_prefix, check_size, Object, ObjectInfo, ObjectKey, ObjectStore, Precondition, StoreError,
    Version, MAX_OBJECT_SIZE,
};
use bytes::Bytes;
use std::collections::BTreeMap;

/// One stored version of a key that holds data, as shown to a [`FaultHook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionInfo {
    /// The version.
    pub version: Version,
    /// Its size in bytes.
    pub size: u64,
}

/// What a [`FaultHook`] decides for a put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PutFault {
    /// Behave.
    #[default]
    None,
    /// Fail with [`StoreError::Unavailable`]; nothing is stored.
    Unavailable,
    /// Acknowledge the put with a fresh version number but do not store the
    /// data (the number is used up). A failing precondition is still
    /// reported honestly.
    LoseWrite,
    /// Do the put, then fail with [`StoreError::Unavailable`] as if the reply
    /// were lost.
    AckLost,
}

/// What a [`FaultHook`] decides for a get or get_version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum GetFault {
    /// Behave.
    #[default]
    None,
    /// Fail with [`StoreError::Unavailable`].
    Unavailable,
    /// Serve this version instead, labelled with its own version number. It
    /// must be one of the versions the hook was shown.
    Stale(Version),
    /// Serve the object with one bit flipped: bit `bit % 8` of byte
    /// `byte % size`. On an empty object nothing is flipped. The stored
    /// object is not changed.
    FlipBit {
        /// Byte offset, taken modulo the object's size.
        byte: u64,
        /// Bit number, taken modulo 8.
        bit: u8,
    },
    /// Answer [`StoreError::NotFound`] as if the object had been deleted.
    Missing,
}

/// What a [`FaultHook`] decides for a list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum ListFault {
    /// Behave.
    #[default]
    None,
    /// Fail with [`StoreError::Unavailable`].
    Unavailable,
    /// Leave out the entries at these indices of the true listing
    /// (out-of-range indices are ignored).
    Omit(Vec<usize>),
}

/// What a [`FaultHook`] decides for a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DeleteFault {
    /// Behave.
    #[default]
    None,
    /// Fail with [`StoreError::Unavailable`]; nothing is deleted.
    Unavailable,
    /// Report success but keep the object (no tombstone is written). A
    /// failing precondition or a missing key is still reported honestly.
    LoseDelete,
    /// Do the delete, then fail with [`StoreError::Unavailable`] as if the
    /// reply were lost.
    AckLost,
}

/// Decides, operation by operation, which fault a [`MemoryStore`] injects.
///
/// Every method is called once per operation on a valid key, after the size
/// check and before the precondition check, and defaults to no fault.
/// Implementations must decide from their arguments and their own state only
/// (a seeded RNG, counters), never from clocks or global randomness.
pub trait FaultHook {
    /// Called on [`ObjectStore::put`]. `data` is what the client sent (a hook
    /// that scans uploads for leaked secrets sees lost writes here too);
    /// `current` is the key's current version.
    fn on_put(&mut self, key: &ObjectKey, data: &Bytes, current: Option<Version>) -> PutFault {
        let _ = (key, data, current);
        PutFault::None
    }

    /// Called on [`ObjectStore::get`]. `current` is the version a conforming
    /// store would serve; `versions` are all versions of `key` that hold data,
    /// oldest first (the choices for [`GetFault::Stale`]).
    fn on_get(
        &mut self,
        key: &ObjectKey,
        current: Option<Version>,
        versions: &[VersionInfo],
    ) -> GetFault {
        let _ = (key, current, versions);
        GetFault::None
    }

    /// Called on [`ObjectStore::get_version`] for `requested`; `versions` as
    /// in [`FaultHook::on_get`].
    fn on_get_version(
        &mut self,
        key: &ObjectKey,
        requested: Version,
        versions: &[VersionInfo],
    ) -> GetFault {
        let _ = (key, requested, versions);
        GetFault::None
    }

    /// Called on [`ObjectStore::list`] with the true listing.
    fn on_list(&mut self, prefix: &str, listing: &[ObjectInfo]) -> ListFault {
        let _ = (prefix, listing);
        ListFault::None
    }

    /// Called on [`ObjectStore::delete`]; `current` is the key's current version.
    fn on_delete(&mut self, key: &ObjectKey, current: Option<Version>) -> DeleteFault {
        let _ = (key, current);
        DeleteFault::None
    }
}

/// The hook that injects nothing: a conforming store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoFaults;

impl FaultHook for NoFaults {}

impl<H: FaultHook + ?Sized> FaultHook for Box<H> {
    fn on_put(&mut self, key: &ObjectKey, data: &Bytes, current: Option<Version>) -> PutFault {
        (**self).on_put(key, data, current)
    }
    fn on_get(
        &mut self,
        key: &ObjectKey,
        current: Option<Version>,
        versions: &[VersionInfo],
    ) -> GetFault {
        (**self).on_get(key, current, versions)
    }
    fn on_get_version(
        &mut self,
        key: &ObjectKey,
        requested: Version,
        versions: &[VersionInfo],
    ) -> GetFault {
        (**self).on_get_version(key, requested, versions)
    }
    fn on_list(&mut self, prefix: &str, listing: &[ObjectInfo]) -> ListFault {
        (**self).on_list(prefix, listing)
    }
    fn on_delete(&mut self, key: &ObjectKey, current: Option<Version>) -> DeleteFault {
        (**self).on_delete(key, current)
    }
}

/// One stored version, as seen by [`MemoryStore::objects`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredObject<'a> {
    /// Its key.
    pub key: &'a ObjectKey,
    /// Its version.
    pub version: Version,
    /// Its bytes as stored.
    pub data: &'a Bytes,
}

/// The history of one key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// Highest version number used so far (stored, tombstoned or lost);
    /// 0 before the first.
    last: u64,
    /// Puts (`Some`) and delete tombstones (`None`), in version order.
    history: Vec<(Version, Option<Bytes>)>,
}

impl Slot {
    fn current(&self) -> Option<(Version, &Bytes)> {
        match self.history.last() {
            Some((v, Some(data))) => Some((*v, data)),
            _ => None,
        }
    }

    fn current_version(&self) -> Option<Version> {
        self.current().map(|(v, _)| v)
    }

    fn data(&self, version: Version) -> Option<&Bytes> {
        let i = self
            .history
            .binary_search_by_key(&version, |(v, _)| *v)
            .ok()?;
        self.history[i].1.as_ref()
    }

    fn data_versions(&self) -> Vec<VersionInfo> {
        self.history
            .iter()
            .filter_map(|(version, data)| {
                data.as_ref().map(|d| VersionInfo {
                    version: *version,
                    size: d.len() as u64,
                })
            })
            .collect()
    }

    fn push(&mut self, data: Option<Bytes>) -> Version {
        let version = self.take_version();
        self.history.push((version, data));
        version
    }

    fn take_version(&mut self) -> Version {
        self.last = Version(self.last).next().0;
        Version(self.last)
    }
}

/// An in-memory [`ObjectStore`] that keeps every version of every object and
/// injects faults chosen by a [`FaultHook`] `H`.
#[derive(Clone, Debug)]
pub struct MemoryStore<H = NoFaults> {
    slots: BTreeMap<ObjectKey, Slot>,
    hook: H,
    size_limit: u64,
}

impl MemoryStore<NoFaults> {
    /// An empty, conforming store with the default size limit.
    pub fn new() -> Self {
        MemoryStore::with_hook(NoFaults)
    }
}

impl Default for MemoryStore<NoFaults> {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl<H: FaultHook> MemoryStore<H> {
    /// An empty store that injects the faults `hook` chooses, with the
    /// default size limit [`MAX_OBJECT_SIZE`].
    pub fn with_hook(hook: H) -> Self {
        MemoryStore {
            slots: BTreeMap::new(),
            hook,
            size_limit: MAX_OBJECT_SIZE,
        }
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

    /// The fault hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The fault hook, mutably (to change fault rates mid-run).
    pub fn hook_mut(&mut self) -> &mut H {
        &mut self.hook
    }

    /// Every stored version that holds data (not tombstones, not lost writes),
    /// ordered by key then version, without consulting the hook. For checkers,
    /// such as a scan of the cloud for leaked secrets.
    pub fn objects(&self) -> impl Iterator<Item = StoredObject<'_>> + '_ {
        self.slots.iter().flat_map(|(key, slot)| {
            slot.history.iter().filter_map(move |(version, data)| {
                data.as_ref().map(|data| StoredObject {
                    key,
                    version: *version,
                    data,
                })
            })
        })
    }

    /// Every stored version of `key` that holds data (not tombstones, not
    /// lost writes), oldest first, without consulting the hook: what a
    /// cloud that serves old versions may hand out under its name. For
    /// checkers.
    pub fn stored_versions<'a>(
        &'a self,
        key: &ObjectKey,
    ) -> impl Iterator<Item = StoredObject<'a>> + 'a {
        self.slots
            .get_key_value(key)
            .into_iter()
            .flat_map(|(key, slot)| {
                slot.history.iter().filter_map(move |(version, data)| {
                    data.as_ref().map(|data| StoredObject {
                        key,
                        version: *version,
                        data,
                    })
                })
            })
    }

    /// The current version and bytes of `key` as stored, without consulting
    /// the hook. For checkers.
    pub fn peek(&self, key: &ObjectKey) -> Option<Object> {
        let (version, data) = self.slots.get(key)?.current()?;
        Some(Object {
            key: key.clone(),
            version,
            data: data.clone(),
        })
    }

    /// Changes the stored bytes of the current version of `key` in place
    /// (same version number), as a tampering cloud would. Returns the version
    /// changed. Other references to the old bytes are unaffected.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if `key` is absent.
    pub fn tamper(
        &mut self,
        key: &ObjectKey,
        f: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Version, StoreError> {
        let version = self
            .slots
            .get(key)
            .and_then(Slot::current_version)
            .ok_or(StoreError::NotFound)?;
        self.tamper_version(key, version, f)?;
        Ok(version)
    }

    /// Changes the stored bytes of one version of `key` in place.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if that version does not hold data.
    pub fn tamper_version(
        &mut self,
        key: &ObjectKey,
        version: Version,
        f: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), StoreError> {
        let slot = self.slots.get_mut(key).ok_or(StoreError::NotFound)?;
        let i = slot
            .history
            .binary_search_by_key(&version, |(v, _)| *v)
            .map_err(|_| StoreError::NotFound)?;
        let data = slot.history[i].1.as_mut().ok_or(StoreError::NotFound)?;
        let mut bytes = data.to_vec();
        f(&mut bytes);
        *data = Bytes::from(bytes);
        Ok(())
    }

    /// Serves version `version` of `key`, or `fault` applied to it.
    fn serve(
        &self,
        key: &ObjectKey,
        version: Option<Version>,
        fault: GetFault,
    ) -> Result<Object, StoreError> {
        let slot = self.slots.get(key);
        let version = match fault {
            GetFault::None | GetFault::FlipBit { .. } => version,
            GetFault::Unavailable => return Err(StoreError::Unavailable),
            GetFault::Missing => return Err(StoreError::NotFound),
            GetFault::Stale(stale) => {
                assert!(
                    slot.and_then(|s| s.data(stale)).is_some(),
                    "fault hook chose Stale({stale}) for {key}, which holds no such version"
                );
                Some(stale)
            }
        };
        let version = version.ok_or(StoreError::NotFound)?;
        let data = slot
            .and_then(|s| s.data(version))
            .ok_or(StoreError::NotFound)?;
        let data = match fault {
            GetFault::FlipBit { byte, bit } if !data.is_empty() => {
                let mut copy = data.to_vec();
                let at = (byte % copy.len() as u64) as usize;
                copy[at] ^= 1 << (bit % 8);
                Bytes::from(copy)
            }
            _ => data.clone(),
        };
        Ok(Object {
            key: key.clone(),
            version,
            data,
        })
    }

    fn versions_of(&self, key: &ObjectKey) -> Vec<VersionInfo> {
        self.slots
            .get(key)
            .map(Slot::data_versions)
            .unwrap_or_default()
    }

    fn current_of(&self, key: &ObjectKey) -> Option<Version> {
        self.slots.get(key).and_then(Slot::current_version)
    }
}

impl<H: FaultHook> ObjectStore for MemoryStore<H> {
    fn put(
        &mut self,
        key: &ObjectKey,
        data: Bytes,
        cond: Precondition,
    ) -> Result<Version, StoreError> {
        check_size(data.len(), self.size_limit)?;
        let current = self.current_of(key);
        let fault = self.hook.on_put(key, &data, current);
        if fault == PutFault::Unavailable {
            return Err(StoreError::Unavailable);
        }
        let result = cond.check(current).map(|()| {
            let slot = self.slots.entry(key.clone()).or_default();
            if fault == PutFault::LoseWrite {
                slot.take_version()
            } else {
                slot.push(Some(data))
            }
        });
        match fault {
            PutFault::AckLost => Err(StoreError::Unavailable),
            _ => result,
        }
    }

    fn get(&mut self, key: &ObjectKey) -> Result<Object, StoreError> {
        let current = self.current_of(key);
        let fault = self.hook.on_get(key, current, &self.versions_of(key));
        self.serve(key, current, fault)
    }

    fn get_version(&mut self, key: &ObjectKey, version: Version) -> Result<Object, StoreError> {
        let fault = self
            .hook
            .on_get_version(key, version, &self.versions_of(key));
        self.serve(key, Some(version), fault)
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        check_prefix(prefix)?;
        let mut listing: Vec<ObjectInfo> = self
            .slots
            .range::<str, _>((
                core::ops::Bound::Included(prefix),
                core::ops::Bound::Unbounded,
            ))
            .take_while(|(key, _)| key.as_str().starts_with(prefix))
            .filter_map(|(key, slot)| {
                slot.current().map(|(version, data)| ObjectInfo {
                    key: key.clone(),
                    version,
                    size: data.len() as u64,
                })
            })
            .collect();
        match self.hook.on_list(prefix, &listing) {
            ListFault::None => {}
            ListFault::Unavailable => return Err(StoreError::Unavailable),
            ListFault::Omit(indices) => {
                let mut i = 0;
                listing.retain(|_| {
                    i += 1;
                    !indices.contains(&(i - 1))
                });
            }
        }
        Ok(listing)
    }

    fn delete(&mut self, key: &ObjectKey, cond: Precondition) -> Result<(), StoreError> {
        let current = self.current_of(key);
        let fault = self.hook.on_delete(key, current);
        if fault == DeleteFault::Unavailable {
            return Err(StoreError::Unavailable);
        }
        let result = cond.check(current).and_then(|()| {
            let slot = self.slots.get_mut(key).filter(|_| current.is_some());
            let slot = slot.ok_or(StoreError::NotFound)?;
            if fault != DeleteFault::LoseDelete {
                slot.push(None);
            }
            Ok(())
        });
        match fault {
            DeleteFault::AckLost => Err(StoreError::Unavailable),
            _ => result,
        }
    }
}
