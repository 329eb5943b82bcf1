//! Where a user's backups live in the cloud, and the manifest format.
//!
//! ```text
//! users/<user>/backups/<generation, 20 decimal digits>   one backup file per generation
//! users/<user>/latest                                    the manifest: the newest generation
//! ```
//!
//! `<user>` is the decimal account number. Generations are zero-padded to
//! the 20 digits of `u64::MAX`, so the store's bytewise listing order is the
//! generation order.
//!
//! The manifest is 16 bytes: [`MANIFEST_MAGIC`] then the generation as a
//! big-endian `u64`. It is **not authenticated**: it is a hint that names
//! which backup to fetch first and the point where concurrent backups of one
//! account are serialised (conditional puts). Every generation the client
//! relies on is read again from the backup's authenticated header.

use crate::cloud::ObjectKey;
use crate::format::Generation;
use crate::vault::ids::UserId;

/// The first 8 bytes of a manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"BVMANIF1";
/// Length of a manifest in bytes.
pub const MANIFEST_LEN: usize = 16;
/// Digits of a generation in an object name.
const GENERATION_DIGITS: usize = 20;

/// `users/<user>/`.
fn user_prefix(user: UserId) -> String {
    format!("users/{}/", user.0)
}

/// The list prefix of a user's backups: `users/<user>/backups/`.
pub fn backups_prefix(user: UserId) -> String {
    format!("{}backups/", user_prefix(user))
}

/// The object holding backup `generation` of `user`.
pub fn backup_key(user: UserId, generation: Generation) -> ObjectKey {
    ObjectKey::new(&format!(
        "{}{:0width$}",
        backups_prefix(user),
        generation.0,
        width = GENERATION_DIGITS
    ))
    .expect("digits and slashes make a valid object key")
}

/// The manifest object of `user`: `users/<user>/latest`.
pub fn manifest_key(user: UserId) -> ObjectKey {
    ObjectKey::new(&format!("{}latest", user_prefix(user)))
        .expect("digits and slashes make a valid object key")
}

/// The generation named by a listed backup key of `user`, if the key has
/// exactly the layout's form (anything else in the folder is ignored).
pub fn parse_backup_key(user: UserId, key: &ObjectKey) -> Option<Generation> {
    let digits = key.as_str().strip_prefix(&backups_prefix(user))?;
    if digits.len() != GENERATION_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Generation)
}

/// Encodes a manifest naming `generation`.
pub fn encode_manifest(generation: Generation) -> [u8; MANIFEST_LEN] {
    let mut out = [0u8; MANIFEST_LEN];
    out[..8].copy_from_slice(&MANIFEST_MAGIC);
    out[8..].copy_from_slice(&generation.0.to_be_bytes());
    out
}

/// Decodes a manifest; `None` if the bytes are not one (a damaged manifest
/// is treated like a missing one: the listing still finds the backups).
pub fn decode_manifest(bytes: &[u8]) -> Option<Generation> {
    if bytes.len() != MANIFEST_LEN || bytes[..8] != MANIFEST_MAGIC {
        return None;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[8..]);
    Some(Generation(u64::from_be_bytes(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_generation() {
        let u = UserId(42);
        let a = backup_key(u, Generation(9));
        let b = backup_key(u, Generation(10));
        assert_eq!(a.as_str(), "users/42/backups/00000000000000000009");
        assert!(a < b);
        assert_eq!(parse_backup_key(u, &b), Some(Generation(10)));
        assert_eq!(parse_backup_key(UserId(4), &b), None);
        let max = backup_key(u, Generation(u64::MAX));
        assert_eq!(parse_backup_key(u, &max), Some(Generation(u64::MAX)));
        let odd = ObjectKey::new("users/42/backups/123").unwrap();
        assert_eq!(parse_backup_key(u, &odd), None);
        assert_eq!(manifest_key(u).as_str(), "users/42/latest");
    }

    #[test]
    fn manifest_round_trips_and_rejects_junk() {
        let m = encode_manifest(Generation(7));
        assert_eq!(decode_manifest(&m), Some(Generation(7)));
        assert_eq!(decode_manifest(&m[..15]), None);
        let mut bad = m;
        bad[0] ^= 1;
        assert_eq!(decode_manifest(&bad), None);
    }
}
