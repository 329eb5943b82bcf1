//! The fleet's long-term OPAQUE secrets, shared by every vault node.
//!
//! One opaque-ke `ServerSetup` per fleet: the server's static ristretto255
//! key pair (whose public half every client pins, [`FleetPublicKey`]), the
//! 64-byte OPRF seed, and a dummy public key opaque-ke uses for fake records.
//! OPRF keys are derived by opaque-ke from the seed and the *credential
//! identifier*, which the vault makes from the user id and a per-registration
//! [`crate::vault::crypto::OprfKeyId`]: two users, and two registrations of
//! one user, get independent keys.
//!
//! The secrets live only inside the HSMs. They are wiped on drop, compared in
//! constant time, and `Debug` shows only the public key.

use super::bytes::{self, Encoded};
use super::error::DecodeError;
use super::suite::{Group, Suite};
use core::fmt;
use core::str::FromStr;
use opaque_ke::keypair::PublicKey;
use opaque_ke::ServerSetup;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Length of [`FleetSecrets::to_bytes`]: OPRF seed (64), private key (32), dummy public key (32).
pub const FLEET_SECRETS_LEN: usize = 128;

/// Length of a [`FleetPublicKey`] in bytes.
pub const FLEET_PUBLIC_KEY_LEN: usize = 32;

/// The fleet's OPAQUE server setup. See the module documentation.
#[derive(Clone)]
pub struct FleetSecrets {
    setup: ServerSetup<Suite>,
}

impl FleetSecrets {
    /// Draws a new key pair, OPRF seed and dummy key from `rng`.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        FleetSecrets {
            setup: ServerSetup::<Suite>::new(rng),
        }
    }

    /// The secrets' encoding ([`FLEET_SECRETS_LEN`] bytes), wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut array = self.setup.serialize();
        let out = Zeroizing::new(array.to_vec());
        array.as_mut_slice().zeroize();
        out
    }

    /// Decodes [`FleetSecrets::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] unless `bytes` is [`FLEET_SECRETS_LEN`] long;
    /// [`DecodeError::Malformed`] if the private key is not a valid non-zero
    /// scalar or the dummy key not a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "fleet secrets";
        if bytes.len() != FLEET_SECRETS_LEN {
            return Err(DecodeError::WrongLength {
                what: WHAT,
                expected: FLEET_SECRETS_LEN,
                actual: bytes.len(),
            });
        }
        let setup = ServerSetup::<Suite>::deserialize(bytes)
            .map_err(|_| DecodeError::Malformed { what: WHAT })?;
        Ok(FleetSecrets { setup })
    }

    /// The static public key clients pin.
    pub fn public_key(&self) -> FleetPublicKey {
        FleetPublicKey::from_opaque(self.setup.keypair().public())
    }

    pub(crate) fn setup(&self) -> &ServerSetup<Suite> {
        &self.setup
    }

    /// A 32-byte key for one purpose, derived from the fleet's secrets
    /// (HKDF-SHA256, `info = label`): keys that only HSMs hold, such as the
    /// one that authenticates registration tickets. Wiped on drop.
    pub fn derive_key(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let secrets = self.to_bytes();
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"bvault v1 fleet subkey"), &secrets)
            .expand(label, okm.as_mut())
            .expect("HKDF-SHA256 can always expand 32 bytes");
        okm
    }
}

impl PartialEq for FleetSecrets {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes().ct_eq(&other.to_bytes()).into()
    }
}

impl Eq for FleetSecrets {}

impl fmt::Debug for FleetSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetSecrets")
            .field("secrets", &"<redacted>")
            .field("public_key", &self.public_key())
            .finish()
    }
}

/// The fleet's static public key (a ristretto255 point), pinned in every client.
///
/// `Display` and `FromStr` use 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FleetPublicKey([u8; FLEET_PUBLIC_KEY_LEN]);

impl FleetPublicKey {
    /// Decodes a public key.
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] unless 32 bytes; [`DecodeError::Malformed`]
    /// if they are not a canonical ristretto255 point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <Self as Encoded>::decode(bytes)
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; FLEET_PUBLIC_KEY_LEN] {
        &self.0
    }

    /// Compares in constant time (the key is public; this keeps every key
    /// comparison uniform).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    pub(crate) fn from_opaque(pk: &PublicKey<Group>) -> Self {
        let mut out = [0u8; FLEET_PUBLIC_KEY_LEN];
        out.copy_from_slice(&pk.serialize());
        FleetPublicKey(out)
    }
}

impl Encoded for FleetPublicKey {
    const WHAT: &'static str = "fleet public key";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let array = bytes::fixed::<FLEET_PUBLIC_KEY_LEN>(Self::WHAT, bytes)?;
        PublicKey::<Group>::deserialize(&array)
            .map_err(|_| DecodeError::Malformed { what: Self::WHAT })?;
        Ok(FleetPublicKey(array))
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(FleetPublicKey);

impl fmt::Display for FleetPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::hex(f, &self.0)
    }
}

impl fmt::Debug for FleetPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FleetPublicKey(")?;
        bytes::hex(f, &self.0)?;
        f.write_str(")")
    }
}

impl FromStr for FleetPublicKey {
    type Err = DecodeError;

    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, DecodeError> {
        const WHAT: &str = "fleet public key (hex)";
        let digits = s.as_bytes();
        if digits.len() != 2 * FLEET_PUBLIC_KEY_LEN {
            return Err(DecodeError::WrongLength {
                what: WHAT,
                expected: 2 * FLEET_PUBLIC_KEY_LEN,
                actual: digits.len(),
            });
        }
        let mut out = [0u8; FLEET_PUBLIC_KEY_LEN];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let hi = hex_value(pair[0]).ok_or(DecodeError::Malformed { what: WHAT })?;
            let lo = hex_value(pair[1]).ok_or(DecodeError::Malformed { what: WHAT })?;
            *byte = hi << 4 | lo;
        }
        FleetPublicKey::from_bytes(&out)
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn round_trip_and_length() {
        let fleet = FleetSecrets::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let bytes = fleet.to_bytes();
        assert_eq!(bytes.len(), FLEET_SECRETS_LEN);
        let back = FleetSecrets::from_bytes(&bytes).unwrap();
        assert_eq!(back, fleet);
        assert_eq!(back.public_key(), fleet.public_key());
    }

    #[test]
    fn debug_shows_only_the_public_key() {
        let fleet = FleetSecrets::generate(&mut ChaCha20Rng::seed_from_u64(2));
        let shown = format!("{fleet:?}");
        assert!(shown.contains("redacted"));
        let secret_hex = hex::encode(&fleet.to_bytes()[..16]);
        assert!(!shown.contains(&secret_hex), "{shown}");
        assert!(shown.contains(&fleet.public_key().to_string()));
    }

    #[test]
    fn public_key_text_round_trips() {
        let pk = FleetSecrets::generate(&mut ChaCha20Rng::seed_from_u64(3)).public_key();
        let text = pk.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<FleetPublicKey>().unwrap(), pk);
        assert_eq!(text.to_uppercase().parse::<FleetPublicKey>().unwrap(), pk);
        assert!(matches!(
            text[1..].parse::<FleetPublicKey>(),
            Err(DecodeError::WrongLength { .. })
        ));
        let bad = format!("g{}", &text[1..]);
        assert!(matches!(
            bad.parse::<FleetPublicKey>(),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_bytes_are_refused() {
        assert!(matches!(
            FleetSecrets::from_bytes(&[0u8; FLEET_SECRETS_LEN - 1]),
            Err(DecodeError::WrongLength { .. })
        ));
        // An all-zero private key is not a valid scalar.
        assert!(matches!(
            FleetSecrets::from_bytes(&[0u8; FLEET_SECRETS_LEN]),
            Err(DecodeError::Malformed { .. })
        ));
        // 0xff.. is not a canonical ristretto255 encoding.
        assert!(matches!(
            FleetPublicKey::from_bytes(&[0xff; 32]),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
