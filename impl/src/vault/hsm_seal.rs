//! The real seal of what an HSM hands its host: XChaCha20-Poly1305 under
//! keys derived from the fleet secrets, which only HSMs hold.
//!
//! One key per use, derived with [`FleetSecrets::derive_key`]: disk records
//! under [`STORAGE_KEY_LABEL`], peer messages under [`WIRE_KEY_LABEL`]. The
//! associated data is `"bvault v1 seal"` then [`SealPlace::to_bytes`], so a
//! sealed value opens only on the node, at the file position, or on the
//! link it was made for.
//!
//! Why XChaCha20-Poly1305 with random nonces: a node restarts from a disk
//! the host may have rolled back, so no nonce counter it keeps can be
//! trusted not to repeat; with 192-bit random nonces a repeat is
//! negligible after any number of seals (AES-GCM's 96-bit random nonces
//! would cap each key near 2^32 seals, which a busy cluster's heartbeats
//! reach in about a year).
//!
//! The encoding, for [`SealedBytes`]:
//!
//! ```text
//! 0x01 | nonce (24) | ciphertext of the postcard encoding | tag (16)   sealed
//! 0x00 | postcard encoding                                            in the clear
//! ```
//!
//! The clear form exists because a host can always make it: it is what
//! forgeries look like, and [`open`] refuses it.

use super::crypto::{CryptoError, SealPlace, Value};
use crate::opaque::FleetSecrets;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use core::fmt;
use core::marker::PhantomData;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The fleet subkey that seals disk records.
pub const STORAGE_KEY_LABEL: &[u8] = b"bvault v1 storage seal key";
/// The fleet subkey that seals peer messages.
pub const WIRE_KEY_LABEL: &[u8] = b"bvault v1 peer message seal key";
/// The associated-data prefix of every seal.
const AD_LABEL: &[u8] = b"bvault v1 seal";
/// Largest sealed value [`open`] accepts: a snapshot of a large store fits,
/// and a host cannot make a node allocate more than this.
pub const MAX_SEALED_LEN: usize = 256 << 20;

const SEALED: u8 = 1;
const CLEAR: u8 = 0;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A value sealed (or, if forged, left in the clear) as bytes. The type
/// parameter names what it holds; the bytes are all there is.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedBytes<T> {
    // One byte string, not a sequence of bytes: the same postcard encoding
    // (a length, then the bytes), framed and read in one copy rather than
    // byte by byte (a whole-store image is tens of kilobytes).
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
    #[serde(skip)]
    of: PhantomData<fn() -> T>,
}

impl<T> SealedBytes<T> {
    /// The bytes, as a host stores or sends them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes as a host presents them (possibly forged).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        SealedBytes {
            bytes,
            of: PhantomData,
        }
    }
}

impl<T> Clone for SealedBytes<T> {
    fn clone(&self) -> Self {
        SealedBytes::from_bytes(self.bytes.clone())
    }
}

impl<T> PartialEq for SealedBytes<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<T> Eq for SealedBytes<T> {}

impl<T> core::hash::Hash for SealedBytes<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl<T> fmt::Debug for SealedBytes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.bytes.first() {
            Some(&SEALED) => "sealed",
            Some(&CLEAR) => "clear",
            _ => "malformed",
        };
        write!(f, "SealedBytes({kind}, {} bytes)", self.bytes.len())
    }
}

/// The two seal keys of a node, derived from the fleet secrets.
pub struct SealKeys {
    storage: XChaCha20Poly1305,
    wire: XChaCha20Poly1305,
}

impl SealKeys {
    /// Derives the keys from the fleet's secrets.
    pub fn derive(fleet: &FleetSecrets) -> Self {
        let storage = fleet.derive_key(STORAGE_KEY_LABEL);
        let wire = fleet.derive_key(WIRE_KEY_LABEL);
        SealKeys {
            storage: XChaCha20Poly1305::new(storage.as_ref().into()),
            wire: XChaCha20Poly1305::new(wire.as_ref().into()),
        }
    }

    fn key(&self, place: &SealPlace) -> &XChaCha20Poly1305 {
        match place {
            SealPlace::Disk { .. } => &self.storage,
            SealPlace::Wire { .. } => &self.wire,
        }
    }
}

impl fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKeys(..)")
    }
}

fn associated_data(place: &SealPlace) -> Vec<u8> {
    let mut ad = AD_LABEL.to_vec();
    ad.extend(place.to_bytes());
    ad
}

/// Seals `value` for `place`.
pub fn seal<T: Value, R: RngCore + CryptoRng>(
    keys: &SealKeys,
    place: &SealPlace,
    value: &T,
    rng: &mut R,
) -> SealedBytes<T> {
    // The plaintext may hold secrets (password files, verifiers, K
    // wrapped): it is wiped once sealed.
    let plain = Zeroizing::new(postcard::to_allocvec(value).expect("every sealed value encodes"));
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ad = associated_data(place);
    let sealed = keys
        .key(place)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &ad,
            },
        )
        .expect("XChaCha20-Poly1305 seals any length we hold");
    let mut bytes = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    bytes.push(SEALED);
    bytes.extend_from_slice(&nonce);
    bytes.extend(sealed);
    SealedBytes::from_bytes(bytes)
}

/// Opens a sealed value at `place`.
///
/// # Errors
/// [`CryptoError::Seal`] if the bytes are in the clear, too long or too
/// short, or do not authenticate for `place`; `Malformed` if they
/// authenticate but do not decode (a bug, or another version's format).
pub fn open<T: Value>(
    keys: &SealKeys,
    place: &SealPlace,
    sealed: &SealedBytes<T>,
) -> Result<T, CryptoError> {
    let b = &sealed.bytes;
    if b.len() > MAX_SEALED_LEN || b.len() < 1 + NONCE_LEN + TAG_LEN || b[0] != SEALED {
        return Err(CryptoError::Seal);
    }
    let ad = associated_data(place);
    let plain = Zeroizing::new(
        keys.key(place)
            .decrypt(
                XNonce::from_slice(&b[1..1 + NONCE_LEN]),
                Payload {
                    msg: &b[1 + NONCE_LEN..],
                    aad: &ad,
                },
            )
            .map_err(|_| CryptoError::Seal)?,
    );
    postcard::from_bytes(&plain).map_err(|_| CryptoError::Malformed("sealed value"))
}

/// `value` in the clear: what anyone can make.
pub fn in_clear<T: Value>(value: &T) -> SealedBytes<T> {
    let mut bytes = vec![CLEAR];
    bytes.extend(postcard::to_allocvec(value).expect("every sealed value encodes"));
    SealedBytes::from_bytes(bytes)
}

/// The value, if `sealed` is in the clear: what anyone can read.
pub fn read_clear<T: Value>(sealed: &SealedBytes<T>) -> Option<T> {
    match sealed.bytes.split_first() {
        Some((&CLEAR, rest)) if rest.len() <= MAX_SEALED_LEN => postcard::from_bytes(rest).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::ids::NodeId;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn keys(seed: u64) -> SealKeys {
        SealKeys::derive(&FleetSecrets::generate(&mut ChaCha20Rng::seed_from_u64(
            seed,
        )))
    }

    fn at(position: u64) -> SealPlace {
        SealPlace::Disk {
            node: NodeId(1),
            segment: 7,
            position,
            follows: None,
        }
    }

    #[test]
    fn sealed_bytes_keep_the_encoding_of_a_sequence_of_bytes() {
        // Disk files and peer messages written before the byte-string
        // framing must read the same: postcard writes a byte string and a
        // sequence of bytes alike (a length, then the bytes), and JSON as
        // an array of numbers.
        let bytes: Vec<u8> = (0..300u16).map(|i| (i * 7) as u8).collect();
        let sealed = SealedBytes::<u64>::from_bytes(bytes.clone());
        let framed = postcard::to_allocvec(&sealed).unwrap();
        assert_eq!(framed, postcard::to_allocvec(&bytes).unwrap());
        assert_eq!(framed[..2], [0xac, 0x02], "300 as a varint, then the bytes");
        let read: SealedBytes<u64> = postcard::from_bytes(&framed).unwrap();
        assert_eq!(read.as_bytes(), &bytes[..]);
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(json, serde_json::to_string(&bytes).unwrap());
        let read: SealedBytes<u64> = serde_json::from_str(&json).unwrap();
        assert_eq!(read.as_bytes(), &bytes[..]);
    }

    #[test]
    fn a_seal_opens_at_its_place_only() {
        let k = keys(1);
        let rng = &mut ChaCha20Rng::seed_from_u64(2);
        let value = (42u64, b"secret verifier".to_vec());
        let sealed = seal(&k, &at(3), &value, rng);
        assert_eq!(open(&k, &at(3), &sealed), Ok(value.clone()));
        // Moved: another position, another node, another use of the key.
        assert_eq!(
            open::<(u64, Vec<u8>)>(&k, &at(4), &sealed),
            Err(CryptoError::Seal)
        );
        let wire = SealPlace::Wire {
            from: NodeId(1),
            to: NodeId(2),
        };
        assert_eq!(
            open::<(u64, Vec<u8>)>(&k, &wire, &sealed),
            Err(CryptoError::Seal)
        );
        // Another fleet.
        assert_eq!(
            open::<(u64, Vec<u8>)>(&keys(9), &at(3), &sealed),
            Err(CryptoError::Seal)
        );
        // The plaintext is not in the bytes.
        let needle = b"secret verifier";
        assert!(!sealed.as_bytes().windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn every_altered_byte_and_the_clear_form_are_refused() {
        let k = keys(1);
        let rng = &mut ChaCha20Rng::seed_from_u64(3);
        let sealed = seal(&k, &at(0), &7u32, rng);
        for i in 0..sealed.as_bytes().len() {
            let mut b = sealed.as_bytes().to_vec();
            b[i] ^= 0x20;
            let forged = SealedBytes::<u32>::from_bytes(b);
            assert_eq!(
                open(&k, &at(0), &forged),
                Err(CryptoError::Seal),
                "byte {i}"
            );
        }
        let clear = in_clear(&7u32);
        assert_eq!(read_clear(&clear), Some(7));
        assert_eq!(read_clear(&sealed), None);
        assert_eq!(open(&k, &at(0), &clear), Err(CryptoError::Seal));
        assert_eq!(
            open::<u32>(&k, &at(0), &SealedBytes::from_bytes(Vec::new())),
            Err(CryptoError::Seal)
        );
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let k = keys(1);
        let rng = &mut ChaCha20Rng::seed_from_u64(4);
        assert_ne!(seal(&k, &at(0), &1u8, rng), seal(&k, &at(0), &1u8, rng));
    }
}
