//! The emulated HSM: the fleet's secrets and the HSM's non-volatile counter,
//! kept in the node's `hsm/` folder, apart from the host's disk (`data/`).
//!
//! In a deployment these live inside hardware: the host can neither read
//! the secrets nor move the counter back. Here a folder stands in for that
//! hardware, and the runtime keeps the line the design draws: the node's
//! code reads `hsm/` only through this module, the host's record log lives
//! in `data/`, and every fault the runtime's tests inject (a killed process,
//! a rolled-back data folder) touches `data/` only. Whoever can read `hsm/`
//! holds the fleet's secrets; that is the price of running without an HSM,
//! and `docs/runtime.md` says so.
//!
//! - `hsm/fleet.secret`: [`FleetSecrets`], 128 bytes, mode 0600.
//! - `hsm/nvram`: the [`Watermark`] in two 128-byte slots written in turn,
//!   each with a sequence number and a SHA-256 check, so that a write torn
//!   by a crash leaves the other slot, the previous value, intact. Reading
//!   takes the valid slot with the higher sequence number. A slot is
//!   synced to disk before the node's effects that depend on it go out.

use crate::error::RuntimeError;
use crate::fsutil;
use backup_vault::opaque::FleetSecrets;
use backup_vault::vault::raft::watermark::Watermark;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const SLOT: usize = 128;
const MAGIC: [u8; 4] = *b"BVNV";
const SLOT_VERSION: u8 = 1;
const BODY_AT: usize = 18;
const CHECK_AT: usize = SLOT - 8;

/// A node's emulated HSM. See the module documentation.
#[derive(Debug)]
pub struct EmulatedHsm {
    dir: PathBuf,
    nvram: File,
    seq: u64,
    /// Which slot (0 or 1) holds `stored`.
    slot: usize,
    stored: Watermark,
}

impl EmulatedHsm {
    /// The secrets file in `dir`.
    pub fn secret_path(dir: &Path) -> PathBuf {
        dir.join("fleet.secret")
    }

    /// The counter file in `dir`.
    pub fn nvram_path(dir: &Path) -> PathBuf {
        dir.join("nvram")
    }

    /// Puts the fleet's secrets into a new HSM in `dir`, with a zero counter.
    /// Refuses a folder that already holds an HSM: provisioning twice would
    /// reset its counter.
    ///
    /// # Errors
    /// [`RuntimeError::Hsm`] if `dir` already holds one; [`RuntimeError::File`].
    pub fn provision(dir: &Path, fleet: &FleetSecrets) -> Result<(), RuntimeError> {
        if Self::secret_path(dir).exists() || Self::nvram_path(dir).exists() {
            return Err(RuntimeError::Hsm {
                path: dir.to_path_buf(),
                why: "it is already provisioned; its counter must not be reset".into(),
            });
        }
        fsutil::create_private_dir(dir)?;
        fsutil::write_atomic(&Self::secret_path(dir), &fleet.to_bytes(), 0o600)?;
        // Sequence 1 goes in slot 1 (`seq % 2`, as `store` and
        // `nvram_image` place it): the first store then writes slot 0 and a
        // torn first write leaves this value.
        fsutil::write_atomic(
            &Self::nvram_path(dir),
            &nvram_image(1, &Watermark::default()),
            0o600,
        )
    }

    /// Opens the HSM in `dir`: its secrets and its counter.
    ///
    /// # Errors
    /// [`RuntimeError::Hsm`] if a file is missing or no counter slot is valid.
    pub fn open(dir: &Path) -> Result<(EmulatedHsm, FleetSecrets), RuntimeError> {
        let bad = |why: String| RuntimeError::Hsm {
            path: dir.to_path_buf(),
            why,
        };
        let secret = std::fs::read(Self::secret_path(dir))
            .map(zeroize::Zeroizing::new)
            .map_err(|e| bad(format!("cannot read fleet.secret: {e}")))?;
        let fleet =
            FleetSecrets::from_bytes(&secret).map_err(|e| bad(format!("fleet.secret: {e}")))?;
        let path = Self::nvram_path(dir);
        let nvram = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| bad(format!("cannot open nvram: {e}")))?;
        let mut bytes = [0u8; 2 * SLOT];
        nvram
            .read_exact_at(&mut bytes, 0)
            .map_err(|e| bad(format!("nvram is shorter than its two slots: {e}")))?;
        let best = [&bytes[..SLOT], &bytes[SLOT..]]
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| decode_slot(s).map(|(seq, w)| (seq, w, i)))
            .max_by_key(|(seq, _, _)| *seq)
            .ok_or_else(|| bad("neither nvram slot is valid".into()))?;
        let hsm = EmulatedHsm {
            dir: dir.to_path_buf(),
            nvram,
            seq: best.0,
            slot: best.2,
            stored: best.1,
        };
        Ok((hsm, fleet))
    }

    /// The counter as stored.
    pub fn watermark(&self) -> Watermark {
        self.stored
    }

    /// Stores `w` durably if it differs from what is stored, and says
    /// whether it wrote. The node only moves its counter forward; this
    /// checks it did.
    ///
    /// # Errors
    /// [`RuntimeError::Hsm`] if the write or the sync failed: the node must
    /// stop, since what depends on the counter cannot go out.
    pub fn store(&mut self, w: Watermark) -> Result<bool, RuntimeError> {
        if w == self.stored {
            return Ok(false);
        }
        assert!(
            w.term >= self.stored.term && w.log >= self.stored.log,
            "the HSM's counter moved back from {:?} to {w:?}",
            self.stored
        );
        let seq = self.seq + 1;
        // Never the slot that holds the stored value: a torn write must
        // leave it (an HSM provisioned before this fix holds sequence 1 in
        // slot 0).
        let at = (1 - self.slot) as u64 * SLOT as u64;
        self.nvram
            .write_all_at(&encode_slot(seq, &w), at)
            .and_then(|()| self.nvram.sync_data())
            .map_err(|e| RuntimeError::Hsm {
                path: self.dir.clone(),
                why: format!("writing the counter failed: {e}"),
            })?;
        self.seq = seq;
        self.slot = 1 - self.slot;
        self.stored = w;
        Ok(true)
    }
}

/// The counter an `nvram` file's bytes hold: the intact slot with the higher
/// sequence number, with that number; `None` if neither slot is intact (or
/// the bytes are not two slots long).
pub fn read_nvram(bytes: &[u8]) -> Option<(u64, Watermark)> {
    if bytes.len() != 2 * SLOT {
        return None;
    }
    [&bytes[..SLOT], &bytes[SLOT..]]
        .into_iter()
        .filter_map(decode_slot)
        .max_by_key(|(seq, _)| *seq)
}

/// An `nvram` file holding `w` with sequence number `seq` in its slot
/// (`seq % 2`), the other slot empty.
pub fn nvram_image(seq: u64, w: &Watermark) -> Vec<u8> {
    let mut bytes = vec![0u8; 2 * SLOT];
    let at = (seq % 2) as usize * SLOT;
    bytes[at..at + SLOT].copy_from_slice(&encode_slot(seq, w));
    bytes
}

fn encode_slot(seq: u64, w: &Watermark) -> [u8; SLOT] {
    let body = postcard::to_allocvec(w).expect("a watermark encodes");
    assert!(
        body.len() <= CHECK_AT - BODY_AT,
        "a watermark fits its slot"
    );
    let mut slot = [0u8; SLOT];
    slot[..4].copy_from_slice(&MAGIC);
    slot[4] = SLOT_VERSION;
    slot[8..16].copy_from_slice(&seq.to_le_bytes());
    slot[16..18].copy_from_slice(&(body.len() as u16).to_le_bytes());
    slot[BODY_AT..BODY_AT + body.len()].copy_from_slice(&body);
    let check = Sha256::digest(&slot[..CHECK_AT]);
    slot[CHECK_AT..].copy_from_slice(&check[..8]);
    slot
}

/// A slot's sequence number and counter, if it is intact.
fn decode_slot(slot: &[u8]) -> Option<(u64, Watermark)> {
    if slot.len() != SLOT || slot[..4] != MAGIC || slot[4] != SLOT_VERSION {
        return None;
    }
    if Sha256::digest(&slot[..CHECK_AT])[..8] != slot[CHECK_AT..] {
        return None;
    }
    let seq = u64::from_le_bytes(slot[8..16].try_into().ok()?);
    let len = usize::from(u16::from_le_bytes(slot[16..18].try_into().ok()?));
    let body = slot
        .get(BODY_AT..BODY_AT + len)
        .filter(|_| BODY_AT + len <= CHECK_AT)?;
    let w = postcard::from_bytes(body).ok()?;
    Some((seq, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_vault::vault::ids::{LogIndex, NodeId, Term};
    use rand_chacha::rand_core::SeedableRng;

    fn fleet() -> FleetSecrets {
        FleetSecrets::generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn the_counter_survives_a_reopen_and_a_torn_slot_keeps_the_previous_value() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("hsm");
        EmulatedHsm::provision(&dir, &fleet()).expect("provision");
        assert!(
            EmulatedHsm::provision(&dir, &fleet()).is_err(),
            "never twice"
        );
        let (mut hsm, secrets) = EmulatedHsm::open(&dir).expect("open");
        assert_eq!(secrets.public_key(), fleet().public_key());
        assert_eq!(hsm.watermark(), Watermark::default());
        let first = Watermark {
            term: Term(2),
            voted_for: Some(NodeId(1)),
            log: (Term(2), LogIndex(5)),
        };
        assert!(hsm.store(first).expect("store"));
        assert!(!hsm.store(first).expect("store"), "nothing to write");
        let second = Watermark {
            log: (Term(2), LogIndex(9)),
            ..first
        };
        hsm.store(second).expect("store");
        drop(hsm);
        let (hsm, _) = EmulatedHsm::open(&dir).expect("reopen");
        assert_eq!(hsm.watermark(), second);
        // Tear the newest slot (sequence 3, slot 1): the older one is read.
        let path = EmulatedHsm::nvram_path(&dir);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[SLOT + 20] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        let (hsm, _) = EmulatedHsm::open(&dir).expect("reopen");
        assert_eq!(hsm.watermark(), first);
        // Both slots torn: the HSM refuses to guess.
        bytes[20] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        assert!(EmulatedHsm::open(&dir).is_err());
    }

    #[test]
    fn no_slot_decodes_from_damaged_or_foreign_bytes() {
        let w = Watermark::default();
        let good = encode_slot(7, &w);
        assert_eq!(decode_slot(&good), Some((7, w)));
        for i in 0..SLOT {
            let mut bad = good;
            bad[i] ^= 1;
            assert_eq!(decode_slot(&bad), None, "byte {i}");
        }
        assert_eq!(decode_slot(&[0u8; SLOT]), None);
        assert_eq!(decode_slot(&good[..SLOT - 1]), None);
    }

    /// The first counter write after provisioning must not overwrite the
    /// only valid slot: a crash tearing it must leave the previous value.
    #[test]
    fn a_torn_first_counter_write_leaves_the_provisioned_value() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("hsm");
        let fleet = FleetSecrets::generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        EmulatedHsm::provision(&dir, &fleet).expect("provision");
        let path = EmulatedHsm::nvram_path(&dir);
        let provisioned = std::fs::read(&path).expect("read");
        let (mut hsm, _) = EmulatedHsm::open(&dir).expect("open");
        let first = Watermark {
            term: Term(1),
            voted_for: Some(NodeId(0)),
            log: (Term(0), LogIndex(0)),
        };
        hsm.store(first).expect("store");
        drop(hsm);
        let after = std::fs::read(&path).expect("read");
        // Which slot did the first store write?
        let written: Vec<usize> = (0..2)
            .filter(|s| provisioned[s * SLOT..(s + 1) * SLOT] != after[s * SLOT..(s + 1) * SLOT])
            .collect();
        assert_eq!(written.len(), 1);
        let s = written[0];
        // A crash tears that write: the first half of the new slot reached
        // the disk, the rest is still the old bytes.
        let mut torn = provisioned.clone();
        torn[s * SLOT..s * SLOT + SLOT / 2].copy_from_slice(&after[s * SLOT..s * SLOT + SLOT / 2]);
        std::fs::write(&path, &torn).expect("write");
        let reopened = EmulatedHsm::open(&dir);
        assert!(
            reopened.is_ok(),
            "the node cannot start after a torn first counter write (slot {s} written): {:?}",
            reopened.err()
        );
        assert_eq!(reopened.expect("open").0.watermark(), Watermark::default());
    }
}
