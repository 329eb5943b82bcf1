//! The v1 header: 112 bytes at the start of every backup file.
//!
//! ```text
//! offset size field
//!      0    8 magic            89 42 56 4c 54 0d 0a 1a  ("\x89BVLT\r\n\x1a")
//!      8    2 version          u16 big-endian, 1
//!     10    2 algorithm        u16 big-endian, 1 = AES-256-GCM STREAM, HKDF-SHA256 subkeys
//!     12    4 chunk_size       u32 big-endian, plaintext bytes per chunk, 1 ..= 16 MiB
//!     16    8 generation       u64 big-endian, the client's backup generation number
//!     24   16 backup_id        random, unique per backup file
//!     40    7 nonce_prefix     random
//!     47    1 reserved         0
//!     48   16 key_fingerprint  HKDF(K, "bvault v1 key fingerprint")[0..16]
//!     64   32 header_mac       HMAC-SHA256(HKDF(K, salt=backup_id, "bvault v1 backup header mac key"), bytes 0..64)
//!     96   16 header_checksum  SHA-256(bytes 0..96)[0..16]
//! ```
//!
//! The unkeyed checksum catches accidental damage before the key is consulted,
//! so a damaged fingerprint is reported as damage, not as a wrong key. The
//! fingerprint then tells a wrong key apart; the MAC catches deliberate edits.
//! Independently of all three, the SHA-256 of the whole 112 bytes is the
//! associated data of every chunk.

use super::aead::Backend;
use super::error::{BackupError, HeaderField, TruncatedAt};
use super::Flaws;
use crate::key::{BackupKey, KeyFingerprint, Purpose, FINGERPRINT_LEN};
use core::fmt;
use core::num::NonZeroU32;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// The 8 magic bytes that open every backup file. Like PNG's, they catch
/// transfers that strip the high bit or rewrite line endings.
pub const MAGIC: [u8; 8] = *b"\x89BVLT\r\n\x1a";
/// The only format version this build reads and writes.
pub const VERSION: u16 = 1;
/// Algorithm id 1: AES-256-GCM STREAM with HKDF-SHA256 subkeys.
pub const ALGORITHM_AES256GCM_STREAM: u16 = 1;
/// Length of the v1 header in bytes.
pub const HEADER_LEN: usize = 112;
/// Largest chunk size a v1 file may declare (16 MiB); bounds a reader's memory.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

const MAC_START: usize = 64;
const CHECKSUM_START: usize = 96;
const MAC_LEN: usize = 32;
const CHECKSUM_LEN: usize = 16;

/// Plaintext bytes per chunk: between 1 and [`MAX_CHUNK_SIZE`] inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkSize(NonZeroU32);

impl ChunkSize {
    /// The default: 64 KiB, as in age. Large enough that per-chunk costs are
    /// lost in the noise, small enough that a reader needs little memory.
    pub const DEFAULT: ChunkSize = ChunkSize(NonZeroU32::new(64 * 1024).unwrap());
    /// The largest allowed chunk size.
    pub const MAX: ChunkSize = ChunkSize(NonZeroU32::new(MAX_CHUNK_SIZE).unwrap());

    /// Validates a chunk size. Returns `None` for 0 or more than [`MAX_CHUNK_SIZE`].
    pub fn new(bytes: u32) -> Option<Self> {
        NonZeroU32::new(bytes)
            .filter(|b| b.get() <= MAX_CHUNK_SIZE)
            .map(ChunkSize)
    }

    /// The size in bytes.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The size in bytes, as a `usize` for buffer arithmetic.
    pub fn bytes(self) -> usize {
        self.0.get() as usize
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        ChunkSize::DEFAULT
    }
}

/// The client's backup generation number. Each new backup of a chat gets a
/// higher one, so a restore can refuse an older file served as the latest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(pub u64);

/// A random identifier unique to one backup file. It salts the file's subkeys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackupId(pub [u8; 16]);

/// The random 7-byte prefix of every chunk nonce of one file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoncePrefix(pub [u8; 7]);

fn hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&::hex::encode(bytes))
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(&self.0, f)
    }
}
impl fmt::Debug for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupId({self})")
    }
}
impl fmt::Display for NoncePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex(&self.0, f)
    }
}
impl fmt::Debug for NoncePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoncePrefix({self})")
    }
}

/// Everything the writer of a new backup chooses: its generation and chunk
/// size, and the random backup id and nonce prefix.
///
/// Two encryptors given equal params and key produce identical bytes, which
/// is how the multi-threaded encryptor is checked against the streaming one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupParams {
    /// The backup generation recorded in the header.
    pub generation: Generation,
    /// Plaintext bytes per chunk.
    pub chunk_size: ChunkSize,
    /// Random, unique per file.
    pub backup_id: BackupId,
    /// Random, unique per file.
    pub nonce_prefix: NoncePrefix,
    pub(crate) backend: Backend,
    pub(crate) flaws: Flaws,
}

impl BackupParams {
    /// Fresh params with a random backup id and nonce prefix drawn from `rng`.
    pub fn new<R: RngCore + CryptoRng>(
        rng: &mut R,
        generation: Generation,
        chunk_size: ChunkSize,
    ) -> Self {
        let mut backup_id = [0u8; 16];
        let mut nonce_prefix = [0u8; 7];
        rng.fill_bytes(&mut backup_id);
        rng.fill_bytes(&mut nonce_prefix);
        BackupParams {
            generation,
            chunk_size,
            backup_id: BackupId(backup_id),
            nonce_prefix: NoncePrefix(nonce_prefix),
            backend: Backend::default(),
            flaws: Flaws::default(),
        }
    }

    /// Params from explicit values, for test vectors and for replaying a
    /// recorded backup. Reusing a backup id and nonce prefix with the same key
    /// for different plaintext reuses nonces: use [`BackupParams::new`] otherwise.
    pub fn from_parts(
        generation: Generation,
        chunk_size: ChunkSize,
        backup_id: BackupId,
        nonce_prefix: NoncePrefix,
    ) -> Self {
        BackupParams {
            generation,
            chunk_size,
            backup_id,
            nonce_prefix,
            backend: Backend::default(),
            flaws: Flaws::default(),
        }
    }

    /// Seals with `backend` instead of the default. The file's bytes are the
    /// same whichever backend seals it.
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Switches on a deliberate defect, for tests that show a check bites.
    #[cfg(feature = "flaws")]
    pub fn with_flaw(mut self, flaw: crate::flaws::FormatFlaw) -> Self {
        self.flaws.enable(flaw);
        self
    }
}

/// A parsed v1 header.
///
/// [`Header::parse`] checks structure only; [`Header::authenticate`] checks it
/// against a key. The decryptors do both, and additionally every chunk
/// authenticates [`Header::digest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk.
    pub chunk_size: ChunkSize,
    /// The backup generation.
    pub generation: Generation,
    /// The file's random id.
    pub backup_id: BackupId,
    /// The file's nonce prefix.
    pub nonce_prefix: NoncePrefix,
    /// Fingerprint of the key the file was made with.
    pub key_fingerprint: KeyFingerprint,
    /// HMAC-SHA256 over bytes 0..64, keyed from K and the backup id.
    pub mac: [u8; MAC_LEN],
    /// Truncated SHA-256 over bytes 0..96.
    pub checksum: [u8; CHECKSUM_LEN],
}

impl Header {
    /// Builds and seals the header of a new backup made with `key`.
    pub fn seal(key: &BackupKey, params: &BackupParams) -> Header {
        let mut header = Header {
            chunk_size: params.chunk_size,
            generation: params.generation,
            backup_id: params.backup_id,
            nonce_prefix: params.nonce_prefix,
            key_fingerprint: key.fingerprint(),
            mac: [0; MAC_LEN],
            checksum: [0; CHECKSUM_LEN],
        };
        let mut bytes = header.to_bytes();
        header.mac = header_mac(key, &header.backup_id, &bytes[..MAC_START])
            .into_bytes()
            .into();
        bytes[MAC_START..CHECKSUM_START].copy_from_slice(&header.mac);
        header.checksum = checksum(&bytes[..CHECKSUM_START]);
        header
    }

    /// The 112-byte encoding.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_be_bytes());
        b[10..12].copy_from_slice(&ALGORITHM_AES256GCM_STREAM.to_be_bytes());
        b[12..16].copy_from_slice(&self.chunk_size.get().to_be_bytes());
        b[16..24].copy_from_slice(&self.generation.0.to_be_bytes());
        b[24..40].copy_from_slice(&self.backup_id.0);
        b[40..47].copy_from_slice(&self.nonce_prefix.0);
        // b[47] is reserved and stays 0.
        b[48..64].copy_from_slice(self.key_fingerprint.as_bytes());
        b[MAC_START..CHECKSUM_START].copy_from_slice(&self.mac);
        b[CHECKSUM_START..].copy_from_slice(&self.checksum);
        b
    }

    /// Parses the start of a file. Bytes beyond the header are ignored.
    ///
    /// Checks, in order: magic, version, length, checksum, algorithm,
    /// reserved byte, chunk size. Needs no key and allocates nothing.
    ///
    /// # Errors
    /// `Truncated { at: Header }` if the input ends early (including an
    /// input that is a prefix of the magic); `BadHeader` naming the field;
    /// `UnsupportedVersion`; `UnsupportedAlgorithm`.
    pub fn parse(bytes: &[u8]) -> Result<Header, BackupError> {
        let truncated = BackupError::Truncated {
            at: TruncatedAt::Header,
        };
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(bad(HeaderField::Magic, "not a bvault backup file"));
        }
        if bytes.len() < 10 {
            return Err(truncated);
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != VERSION {
            return Err(BackupError::UnsupportedVersion { version });
        }
        let Some(b) = bytes.get(..HEADER_LEN) else {
            return Err(truncated);
        };
        if checksum(&b[..CHECKSUM_START])[..] != b[CHECKSUM_START..] {
            return Err(bad(
                HeaderField::Checksum,
                "the header is damaged (checksum mismatch)",
            ));
        }
        let algorithm = u16::from_be_bytes([b[10], b[11]]);
        if algorithm != ALGORITHM_AES256GCM_STREAM {
            return Err(BackupError::UnsupportedAlgorithm { algorithm });
        }
        if b[47] != 0 {
            return Err(bad(HeaderField::Reserved, "reserved byte is not zero"));
        }
        let chunk_size = ChunkSize::new(u32::from_be_bytes(field(b, 12)))
            .ok_or_else(|| bad(HeaderField::ChunkSize, "must be between 1 and 16 MiB"))?;
        Ok(Header {
            chunk_size,
            generation: Generation(u64::from_be_bytes(field(b, 16))),
            backup_id: BackupId(field(b, 24)),
            nonce_prefix: NoncePrefix(field(b, 40)),
            key_fingerprint: KeyFingerprint(field::<FINGERPRINT_LEN>(b, 48)),
            mac: field(b, MAC_START),
            checksum: field(b, CHECKSUM_START),
        })
    }

    /// Checks that this header was made with `key`: first the fingerprint,
    /// then the MAC (in constant time).
    ///
    /// # Errors
    /// `WrongKey` if the fingerprints differ; `BadHeader { field: Mac }` if
    /// they match but the header was altered.
    pub fn authenticate(&self, key: &BackupKey) -> Result<(), BackupError> {
        let actual = key.fingerprint();
        if !self.key_fingerprint.ct_eq(&actual) {
            return Err(BackupError::WrongKey {
                expected: self.key_fingerprint,
                actual,
            });
        }
        let bytes = self.to_bytes();
        let mut mac = header_mac_state(key, &self.backup_id);
        mac.update(&bytes[..MAC_START]);
        mac.verify_slice(&self.mac).map_err(|_| {
            bad(
                HeaderField::Mac,
                "header authentication failed: the header was altered",
            )
        })
    }

    /// SHA-256 of the 112 header bytes: the associated data of every chunk.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

fn bad(field: HeaderField, reason: &'static str) -> BackupError {
    BackupError::BadHeader { field, reason }
}

fn field<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    field(&Sha256::digest(bytes), 0)
}

fn header_mac_state(key: &BackupKey, backup_id: &BackupId) -> Hmac<Sha256> {
    let mac_key = key.derive(Purpose::BackupHeaderMac, &backup_id.0);
    <Hmac<Sha256> as Mac>::new_from_slice(mac_key.as_ref()).expect("HMAC takes any key length")
}

fn header_mac(
    key: &BackupKey,
    backup_id: &BackupId,
    bytes: &[u8],
) -> hmac::digest::CtOutput<Hmac<Sha256>> {
    let mut mac = header_mac_state(key, backup_id);
    mac.update(bytes);
    mac.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn ids_show_as_lowercase_hex() {
        let id = BackupId([
            0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90,
            0xa0, 0xff,
        ]);
        assert_eq!(id.to_string(), "0001abcdef102030405060708090a0ff");
        assert_eq!(
            format!("{id:?}"),
            "BackupId(0001abcdef102030405060708090a0ff)"
        );
        let prefix = NoncePrefix([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a, 0x7f]);
        assert_eq!(prefix.to_string(), "deadbeef000a7f");
        assert_eq!(format!("{prefix:?}"), "NoncePrefix(deadbeef000a7f)");
    }

    fn sample() -> (BackupKey, Header) {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = BackupKey::generate(&mut rng);
        let params = BackupParams::new(&mut rng, Generation(42), ChunkSize::new(1000).unwrap());
        let header = Header::seal(&key, &params);
        (key, header)
    }

    #[test]
    fn round_trips_and_authenticates() {
        let (key, header) = sample();
        let bytes = header.to_bytes();
        let parsed = Header::parse(&bytes).unwrap();
        assert_eq!(parsed, header);
        parsed.authenticate(&key).unwrap();
        assert_eq!(parsed.generation, Generation(42));
    }

    #[test]
    fn every_prefix_is_truncated_or_bad_magic() {
        let (_, header) = sample();
        let bytes = header.to_bytes();
        for n in 0..HEADER_LEN {
            assert!(matches!(
                Header::parse(&bytes[..n]),
                Err(BackupError::Truncated {
                    at: TruncatedAt::Header
                })
            ));
        }
        assert!(matches!(
            Header::parse(b"PK\x03\x04"),
            Err(BackupError::BadHeader {
                field: HeaderField::Magic,
                ..
            })
        ));
    }

    #[test]
    fn every_bit_flip_is_an_error_naming_a_cause() {
        let (key, header) = sample();
        let bytes = header.to_bytes();
        for bit in 0..HEADER_LEN * 8 {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            let outcome = Header::parse(&b).and_then(|h| h.authenticate(&key));
            assert!(outcome.is_err(), "bit {bit} accepted");
        }
    }

    #[test]
    fn edited_fields_with_a_fixed_checksum_fail_the_mac() {
        let (key, header) = sample();
        let mut b = header.to_bytes();
        b[23] ^= 1; // generation
        let sum = checksum(&b[..CHECKSUM_START]);
        b[CHECKSUM_START..].copy_from_slice(&sum);
        let parsed = Header::parse(&b).unwrap();
        assert!(matches!(
            parsed.authenticate(&key),
            Err(BackupError::BadHeader {
                field: HeaderField::Mac,
                ..
            })
        ));
    }

    #[test]
    fn other_key_is_wrong_key() {
        let (_, header) = sample();
        let other = BackupKey::from_bytes(&[3; 32]);
        assert!(matches!(
            header.authenticate(&other),
            Err(BackupError::WrongKey { .. })
        ));
    }
}
