//! The cloud store as the world runs it: the library's in-memory backend
//! with a fault hook that draws from the seed.

use super::scenario::{FaultKind, FaultMix};
use backup_vault::cloud::{DeleteFault, FaultHook, GetFault, ListFault, PutFault, VersionInfo};
use backup_vault::cloud::{ObjectInfo, ObjectKey, Version};
use bytes::Bytes;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Injects the cloud faults that are on in the seed's mix, until healed.
pub struct SwarmHook {
    rng: ChaCha8Rng,
    unavailable: u32,
    lost_write: u32,
    stale: u32,
    corrupt: u32,
    missing: u32,
    healed: bool,
    /// Faults injected so far.
    pub injected: u64,
}

impl SwarmHook {
    /// A hook for `mix`, with its own RNG stream derived from `seed`.
    pub fn new(mix: &FaultMix, seed: u64) -> Self {
        // Cloud faults strike per operation; scale the mix's levels down so
        // that even the hardest mix lets most operations through.
        let per_op = |k| mix.level(k) / 4;
        SwarmHook {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x436c_6f75_6400_0000),
            unavailable: per_op(FaultKind::CloudUnavailable),
            lost_write: per_op(FaultKind::CloudLostWrite),
            stale: per_op(FaultKind::CloudStale),
            corrupt: per_op(FaultKind::CloudCorrupt),
            missing: per_op(FaultKind::CloudMissing),
            healed: false,
            injected: 0,
        }
    }

    /// Stops injecting faults (the end-of-run heal).
    pub fn heal(&mut self) {
        self.healed = true;
    }

    /// Whether faults are over.
    pub fn is_healed(&self) -> bool {
        self.healed
    }

    fn roll(&mut self, per_mille: u32) -> bool {
        if self.healed || per_mille == 0 {
            return false;
        }
        let hit = self.rng.next_u32() % 1000 < per_mille;
        if hit {
            self.injected += 1;
        }
        hit
    }

    /// Whether to serve a file cut short at a chunk boundary (the world
    /// applies it; the in-memory store has no such fault of its own).
    pub fn truncate(&mut self) -> bool {
        let level = self.corrupt;
        self.roll(level / 2)
    }

    /// A number for the world to choose with.
    pub fn draw(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

impl FaultHook for SwarmHook {
    fn on_put(&mut self, _key: &ObjectKey, _data: &Bytes, _current: Option<Version>) -> PutFault {
        if self.roll(self.unavailable) {
            return if self.rng.next_u32().is_multiple_of(2) {
                PutFault::Unavailable
            } else {
                PutFault::AckLost
            };
        }
        if self.roll(self.lost_write) {
            return PutFault::LoseWrite;
        }
        PutFault::None
    }

    fn on_get(
        &mut self,
        _key: &ObjectKey,
        _current: Option<Version>,
        versions: &[VersionInfo],
    ) -> GetFault {
        self.get_fault(versions)
    }

    fn on_get_version(
        &mut self,
        _key: &ObjectKey,
        _requested: Version,
        versions: &[VersionInfo],
    ) -> GetFault {
        self.get_fault(versions)
    }

    fn on_list(&mut self, _prefix: &str, listing: &[ObjectInfo]) -> ListFault {
        if self.roll(self.unavailable) {
            return ListFault::Unavailable;
        }
        if !listing.is_empty() && self.roll(self.missing) {
            let i = (self.rng.next_u64() % listing.len() as u64) as usize;
            return ListFault::Omit(vec![i]);
        }
        ListFault::None
    }

    fn on_delete(&mut self, _key: &ObjectKey, _current: Option<Version>) -> DeleteFault {
        if self.roll(self.unavailable) {
            return DeleteFault::AckLost;
        }
        if self.roll(self.lost_write) {
            return DeleteFault::LoseDelete;
        }
        DeleteFault::None
    }
}

impl SwarmHook {
    fn get_fault(&mut self, versions: &[VersionInfo]) -> GetFault {
        if self.roll(self.unavailable) {
            return GetFault::Unavailable;
        }
        if versions.len() > 1 && self.roll(self.stale) {
            let i = (self.rng.next_u64() % (versions.len() as u64 - 1)) as usize;
            return GetFault::Stale(versions[i].version);
        }
        if self.roll(self.corrupt) {
            return GetFault::FlipBit {
                byte: self.rng.next_u64(),
                bit: (self.rng.next_u32() % 8) as u8,
            };
        }
        if self.roll(self.missing) {
            return GetFault::Missing;
        }
        GetFault::None
    }
}
