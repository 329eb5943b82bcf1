//! Public-key encryption to the fleet: how a registration travels to the HSMs.
//!
//! A registration carries secrets that have no OPAQUE session to protect them
//! (the [`super::PasswordFile`] and the proof-of-key verifier), so the client
//! seals them to the pinned [`FleetPublicKey`] and only an HSM holding
//! [`FleetSecrets`] can open them. The host, the chat server and the network
//! see ciphertext only.
//!
//! Construction (DHIES over ristretto255, one message per ephemeral key):
//! ```text
//! e <- random non-zero scalar;  E = e*G  (32 B)
//! dh    = e * fleet_pk  (= fleet_sk * E on the HSM)
//! key   = HKDF-SHA256(salt = E || fleet_pk, IKM = dh, info = TO_FLEET_LABEL)   (32 B)
//! out   = 0x01 || E || AES-256-GCM(key, nonce = 0^12, plaintext, aad)
//! aad   = TO_FLEET_LABEL || 0x01 || user_id
//! ```
//! The all-zero nonce is safe because each key encrypts exactly one message
//! (the key depends on the fresh ephemeral E). The user id in the associated
//! data binds the sealed value to one user (REG-1): the vault opens it only
//! under the user id it is registering.
//!
//! This gives confidentiality and integrity, **not sender authentication**:
//! anyone who knows the fleet key can seal a registration for any user. Who may
//! register or replace a record is the vault's rule (proof of K, [`super::proof`]).

use super::bytes::{self, Encoded};
use super::error::{DecodeError, UnwrapError};
use super::fleet::{FleetPublicKey, FleetSecrets, FLEET_PUBLIC_KEY_LEN};
use super::suite::Group;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use core::fmt;
use hkdf::Hkdf;
use opaque_ke::key_exchange::group::Group as KeGroup;
use opaque_ke::key_exchange::tripledh::DiffieHellman;
use opaque_ke::keypair::PublicKey;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// HKDF `info` of the sealing key and prefix of the associated data.
pub const TO_FLEET_LABEL: &[u8] = b"bvault v1 sealed to fleet";
/// The version byte that starts a [`SealedToFleet`].
pub const TO_FLEET_VERSION: u8 = 1;
/// The longest plaintext [`seal_to_fleet`] accepts, in bytes.
pub const MAX_TO_FLEET_PLAINTEXT: usize = 4096;

const HEADER_LEN: usize = 1 + FLEET_PUBLIC_KEY_LEN;
const TAG_LEN: usize = 16;
/// The shortest and longest valid [`SealedToFleet`] encodings.
pub const SEALED_TO_FLEET_LEN: core::ops::RangeInclusive<usize> =
    HEADER_LEN + TAG_LEN..=HEADER_LEN + MAX_TO_FLEET_PLAINTEXT + TAG_LEN;

/// A value sealed to the fleet's public key for one user.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SealedToFleet(Vec<u8>);

/// `plaintext` is longer than [`MAX_TO_FLEET_PLAINTEXT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("plaintext of {len} bytes exceeds the {max}-byte limit", max = MAX_TO_FLEET_PLAINTEXT)]
pub struct PlaintextTooLong {
    /// The length given.
    pub len: usize,
}

/// Seals `plaintext` so that only the fleet's HSMs can open it, for `user_id`.
///
/// # Errors
/// [`PlaintextTooLong`] above [`MAX_TO_FLEET_PLAINTEXT`] bytes.
pub fn seal_to_fleet(
    rng: &mut (impl RngCore + CryptoRng),
    fleet_key: &FleetPublicKey,
    user_id: &[u8],
    plaintext: &[u8],
) -> Result<SealedToFleet, PlaintextTooLong> {
    if plaintext.len() > MAX_TO_FLEET_PLAINTEXT {
        return Err(PlaintextTooLong {
            len: plaintext.len(),
        });
    }
    let e = Group::random_sk(rng);
    let mut ephemeral = Group::serialize_pk(&Group::public_key(&e));
    let fleet_pk = fleet_point(fleet_key);
    let dh = Zeroizing::new(e.diffie_hellman(&fleet_pk));
    let cipher = cipher(&dh, &ephemeral, fleet_key.as_bytes());
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: plaintext,
                aad: &aad(user_id),
            },
        )
        .expect("AES-256-GCM encrypts any message of at most 4 KiB");
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(TO_FLEET_VERSION);
    out.extend_from_slice(&ephemeral);
    out.extend_from_slice(&ciphertext);
    ephemeral.as_mut_slice().zeroize();
    Ok(SealedToFleet(out))
}

/// Opens a [`SealedToFleet`] inside the HSM.
///
/// # Errors
/// [`UnwrapError`] if it was sealed to another fleet or for another user, or altered.
pub fn open_at_fleet(
    fleet: &FleetSecrets,
    user_id: &[u8],
    sealed: &SealedToFleet,
) -> Result<Zeroizing<Vec<u8>>, UnwrapError> {
    let (header, ciphertext) = sealed.0.split_at(HEADER_LEN);
    let ephemeral = &header[1..];
    // Valid by construction of `SealedToFleet` (checked in `decode`).
    let e_pk = PublicKey::<Group>::deserialize(ephemeral).map_err(|_| UnwrapError)?;
    let mut sk_bytes = fleet.setup().keypair().private().serialize();
    let sk = Group::deserialize_take_sk(&mut &sk_bytes[..]);
    sk_bytes.as_mut_slice().zeroize();
    let sk = sk.map_err(|_| UnwrapError)?;
    let dh = Zeroizing::new(sk.diffie_hellman(e_pk.to_group_type()));
    let cipher = cipher(&dh, ephemeral, fleet.public_key().as_bytes());
    cipher
        .decrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: ciphertext,
                aad: &aad(user_id),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| UnwrapError)
}

fn fleet_point(fleet_key: &FleetPublicKey) -> <Group as KeGroup>::Pk {
    // A FleetPublicKey is a validated point by construction.
    *PublicKey::<Group>::deserialize(fleet_key.as_bytes())
        .expect("a FleetPublicKey is always a valid point of the group")
        .to_group_type()
}

fn cipher(dh: &[u8], ephemeral: &[u8], fleet_pk: &[u8]) -> Aes256Gcm {
    let salt = [ephemeral, fleet_pk].concat();
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), dh)
        .expand(TO_FLEET_LABEL, okm.as_mut())
        .expect("HKDF-SHA256 can always expand 32 bytes");
    Aes256Gcm::new(okm.as_ref().into())
}

fn aad(user_id: &[u8]) -> Vec<u8> {
    [TO_FLEET_LABEL, &[TO_FLEET_VERSION], user_id].concat()
}

impl SealedToFleet {
    /// Decodes bytes from the network.
    ///
    /// # Errors
    /// [`DecodeError::WrongLength`] outside [`SEALED_TO_FLEET_LEN`] (the
    /// `expected` field then names the minimum or the maximum);
    /// [`DecodeError::Malformed`] for an unknown version or an ephemeral key
    /// that is not a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <Self as Encoded>::decode(bytes)
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Encoded for SealedToFleet {
    const WHAT: &'static str = "sealed-to-fleet value";

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if !SEALED_TO_FLEET_LEN.contains(&bytes.len()) {
            let expected = if bytes.len() < *SEALED_TO_FLEET_LEN.start() {
                *SEALED_TO_FLEET_LEN.start()
            } else {
                *SEALED_TO_FLEET_LEN.end()
            };
            return Err(DecodeError::WrongLength {
                what: Self::WHAT,
                expected,
                actual: bytes.len(),
            });
        }
        let malformed = DecodeError::Malformed { what: Self::WHAT };
        if bytes[0] != TO_FLEET_VERSION {
            return Err(malformed);
        }
        PublicKey::<Group>::deserialize(&bytes[1..HEADER_LEN]).map_err(|_| malformed)?;
        Ok(SealedToFleet(bytes.to_vec()))
    }

    fn encoding(&self) -> &[u8] {
        &self.0
    }
}

bytes::serde_as_bytes!(SealedToFleet);

impl fmt::Debug for SealedToFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedToFleet({} bytes, ", self.0.len())?;
        bytes::hex(f, &self.0[..8])?;
        f.write_str("..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn only_the_fleet_opens_and_only_for_the_user() {
        let rng = &mut ChaCha20Rng::seed_from_u64(1);
        let fleet = FleetSecrets::generate(rng);
        let other = FleetSecrets::generate(rng);
        let sealed =
            seal_to_fleet(rng, &fleet.public_key(), b"alice", b"record + verifier").unwrap();
        assert_eq!(
            &open_at_fleet(&fleet, b"alice", &sealed).unwrap()[..],
            b"record + verifier"
        );
        assert_eq!(open_at_fleet(&fleet, b"bob", &sealed), Err(UnwrapError));
        assert_eq!(open_at_fleet(&other, b"alice", &sealed), Err(UnwrapError));
        for i in HEADER_LEN..sealed.0.len() {
            let mut bytes = sealed.0.clone();
            bytes[i] ^= 0x80;
            let tampered = SealedToFleet::from_bytes(&bytes).unwrap();
            assert_eq!(
                open_at_fleet(&fleet, b"alice", &tampered),
                Err(UnwrapError),
                "byte {i}"
            );
        }
    }

    #[test]
    fn lengths_and_versions_are_checked() {
        let rng = &mut ChaCha20Rng::seed_from_u64(2);
        let fleet = FleetSecrets::generate(rng);
        assert_eq!(
            seal_to_fleet(
                rng,
                &fleet.public_key(),
                b"u",
                &[0; MAX_TO_FLEET_PLAINTEXT + 1]
            ),
            Err(PlaintextTooLong {
                len: MAX_TO_FLEET_PLAINTEXT + 1
            })
        );
        let empty = seal_to_fleet(rng, &fleet.public_key(), b"u", b"").unwrap();
        assert_eq!(empty.as_bytes().len(), *SEALED_TO_FLEET_LEN.start());
        assert!(open_at_fleet(&fleet, b"u", &empty).unwrap().is_empty());
        assert!(matches!(
            SealedToFleet::from_bytes(&empty.as_bytes()[1..]),
            Err(DecodeError::WrongLength { .. })
        ));
        let mut bad = empty.as_bytes().to_vec();
        bad[0] = 2;
        assert!(matches!(
            SealedToFleet::from_bytes(&bad),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
