//! The backup key K: 256 random bits that encrypt a user's chat backups.
//!
//! K is generated on the device from an injected `CryptoRng`, shown to the
//! user as 64 hex digits ([`text`]), and never used directly as a cipher key:
//! every use derives its own subkey with HKDF-SHA256 under a purpose label
//! ([`kdf`]). K is zeroized on drop, compared in constant time and redacted in
//! `Debug` output.

mod kdf;
mod text;

pub use kdf::Purpose;
pub use text::{KeyTextError, KEY_TEXT_DIGITS, MAX_KEY_TEXT_BYTES};

use core::fmt;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of K in bytes.
pub const KEY_LEN: usize = 32;

/// Length of a [`KeyFingerprint`] in bytes.
pub const FINGERPRINT_LEN: usize = 16;

/// The 256-bit backup key K.
///
/// Guarantees: the bytes are wiped when the value is dropped; `==` runs in
/// constant time; `Debug` shows only the fingerprint. There is no `Display`:
/// the 64-digit text is produced only by the explicit [`BackupKey::to_text`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BackupKey([u8; KEY_LEN]);

impl BackupKey {
    /// Draws a fresh key from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut key = BackupKey([0u8; KEY_LEN]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Wraps raw key bytes. The caller remains responsible for wiping its own copy.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        BackupKey(*bytes)
    }

    /// The raw key bytes. Named so that every use of the secret is easy to find.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Parses the 64-digit text form. See [`KeyTextError`] for what is accepted.
    ///
    /// # Errors
    /// [`KeyTextError`] names what is wrong and where: a bad character with its
    /// position, or the number of digits found when it is not 64.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        text::parse(text).map(BackupKey)
    }

    /// The text form: 16 groups of 4 lowercase hex digits separated by spaces.
    pub fn to_text(&self) -> Zeroizing<String> {
        text::format(&self.0, " ")
    }

    /// The text form laid out for display: 4 lines of 4 groups of 4 digits.
    pub fn to_text_grid(&self) -> Zeroizing<String> {
        text::format_grid(&self.0)
    }

    /// The public fingerprint of this key, stored in every backup header so a
    /// restore can tell "wrong key" from "damaged file". It is a one-way HKDF
    /// output and reveals nothing usable about K.
    pub fn fingerprint(&self) -> KeyFingerprint {
        let okm = self.derive(Purpose::KeyFingerprint, &[]);
        let mut fp = [0u8; FINGERPRINT_LEN];
        fp.copy_from_slice(&okm[..FINGERPRINT_LEN]);
        KeyFingerprint(fp)
    }

    /// Derives the 32-byte subkey for `purpose`, with `salt` as the HKDF salt
    /// (for example a backup id, so each backup has its own payload key).
    pub fn derive(&self, purpose: Purpose, salt: &[u8]) -> Zeroizing<[u8; 32]> {
        kdf::derive(&self.0, purpose, salt)
    }
}

impl PartialEq for BackupKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for BackupKey {}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey")
            .field("secret", &"<redacted>")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// A public 128-bit identifier of a [`BackupKey`], shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyFingerprint(pub [u8; FINGERPRINT_LEN]);

impl KeyFingerprint {
    /// The fingerprint bytes.
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }

    /// Compares in constant time (the fingerprint is public, but this keeps
    /// every key-related comparison uniform).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn debug_never_shows_the_key() {
        let key = BackupKey::from_bytes(&[0xab; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn generate_uses_the_injected_rng() {
        let a = BackupKey::generate(&mut ChaCha20Rng::seed_from_u64(7));
        let b = BackupKey::generate(&mut ChaCha20Rng::seed_from_u64(7));
        let c = BackupKey::generate(&mut ChaCha20Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn fingerprint_differs_per_key_and_is_not_the_key() {
        let a = BackupKey::from_bytes(&[1; 32]);
        let b = BackupKey::from_bytes(&[2; 32]);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(&a.fingerprint().0[..], &a.expose_secret()[..16]);
    }
}
