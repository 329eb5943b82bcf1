//! Subkey derivation: HKDF-SHA256 with one label per purpose.
//!
//! K itself never keys a cipher. Each use derives
//! `HKDF-SHA256(salt, IKM = K, info = label)` with a label from [`Purpose`], so
//! a subkey for one purpose reveals nothing about any other. The labels are
//! part of the file format and the vault protocol: changing one breaks every
//! existing backup or vault record. `docs/format.md` lists them.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// What a derived subkey is for. Each purpose has its own HKDF `info` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// The public key fingerprint stored in backup headers (first 16 bytes used; salt empty).
    KeyFingerprint,
    /// The AES-256-GCM key of one backup's chunks (salt: the backup id).
    BackupPayload,
    /// The HMAC-SHA256 key that authenticates one backup's header (salt: the backup id).
    BackupHeaderMac,
    /// The key that wraps K for storage in the vault (vault issue).
    VaultWrap,
    /// The key behind the proof-of-key that authorises replacing or deleting a
    /// vault record (vault issue).
    ProofOfKey,
    /// The HMAC-SHA256 key that authenticates a user's cloud manifest (the
    /// pointer to the newest backup; salt: the user id).
    CloudManifest,
}

impl Purpose {
    /// Every purpose, for tests that check the labels are distinct.
    pub const ALL: [Purpose; 6] = [
        Purpose::KeyFingerprint,
        Purpose::BackupPayload,
        Purpose::BackupHeaderMac,
        Purpose::VaultWrap,
        Purpose::ProofOfKey,
        Purpose::CloudManifest,
    ];

    /// The HKDF `info` label, ASCII, as specified in `docs/format.md`.
    pub const fn label(self) -> &'static [u8] {
        match self {
            Purpose::KeyFingerprint => b"bvault v1 key fingerprint",
            Purpose::BackupPayload => b"bvault v1 backup payload key",
            Purpose::BackupHeaderMac => b"bvault v1 backup header mac key",
            Purpose::VaultWrap => b"bvault v1 vault wrapping key",
            Purpose::ProofOfKey => b"bvault v1 proof of key",
            Purpose::CloudManifest => b"bvault v1 cloud manifest mac key",
        }
    }
}

pub(super) fn derive(ikm: &[u8; 32], purpose: Purpose, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 255*32 output limit, so expand cannot fail.
    hk.expand(purpose.label(), okm.as_mut())
        .expect("HKDF-SHA256 can always expand 32 bytes");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_so_are_subkeys() {
        let ikm = [9u8; 32];
        for (i, a) in Purpose::ALL.iter().enumerate() {
            for b in &Purpose::ALL[i + 1..] {
                assert_ne!(a.label(), b.label());
                assert_ne!(*derive(&ikm, *a, b""), *derive(&ikm, *b, b""));
            }
        }
    }

    #[test]
    fn salt_separates_subkeys() {
        let ikm = [9u8; 32];
        assert_ne!(
            *derive(&ikm, Purpose::BackupPayload, &[1; 16]),
            *derive(&ikm, Purpose::BackupPayload, &[2; 16])
        );
    }

    /// RFC 5869 test case 1 pins the HKDF construction we rely on.
    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut okm)
            .unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }
}
