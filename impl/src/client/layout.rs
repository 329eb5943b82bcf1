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
//! The manifest is 32 bytes: [`MANIFEST_MAGIC`], the generation as a
//! big-endian `u64`, and the first 16 bytes of
//! `HMAC-SHA256(subkey(cloud manifest, user id), magic || user id || generation)`,
//! the user id being 8 bytes big-endian. Only the key's owner can write a
//! valid one, so the cloud cannot invent a higher generation; it can still
//! serve an older authentic manifest or none, which is why restores also list
//! the folder. A manifest that does not verify is treated as missing. It
//! names which backup to fetch first and is the point where concurrent
//! backups of one account are serialised (conditional puts). Every
//! generation the client relies on is read again from the backup's
//! authenticated header.

use crate::cloud::ObjectKey;
use crate::format::Generation;
use crate::key::{BackupKey, Purpose};
use crate::vault::ids::UserId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The first 8 bytes of a manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"BVMANIF2";
/// Length of a manifest in bytes.
pub const MANIFEST_LEN: usize = 32;
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

fn manifest_mac(key: &BackupKey, user: UserId, generation: Generation) -> Hmac<Sha256> {
    let mac_key = key.derive(Purpose::CloudManifest, &user.0.to_be_bytes());
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(mac_key.as_ref()).expect("HMAC takes any key length");
    mac.update(&MANIFEST_MAGIC);
    mac.update(&user.0.to_be_bytes());
    mac.update(&generation.0.to_be_bytes());
    mac
}

/// Encodes a manifest of `user` naming `generation`, authenticated with `key`.
pub fn encode_manifest(
    key: &BackupKey,
    user: UserId,
    generation: Generation,
) -> [u8; MANIFEST_LEN] {
    let mut out = [0u8; MANIFEST_LEN];
    out[..8].copy_from_slice(&MANIFEST_MAGIC);
    out[8..16].copy_from_slice(&generation.0.to_be_bytes());
    let tag = manifest_mac(key, user, generation).finalize().into_bytes();
    out[16..].copy_from_slice(&tag[..16]);
    out
}

/// Decodes and verifies a manifest; `None` if the bytes are not a manifest
/// of `user` made with `key` (a damaged or forged manifest is treated like a
/// missing one: the listing still finds the backups).
pub fn decode_manifest(key: &BackupKey, user: UserId, bytes: &[u8]) -> Option<Generation> {
    if bytes.len() != MANIFEST_LEN || bytes[..8] != MANIFEST_MAGIC {
        return None;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[8..16]);
    let generation = Generation(u64::from_be_bytes(n));
    manifest_mac(key, user, generation)
        .verify_truncated_left(&bytes[16..])
        .ok()
        .map(|()| generation)
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
    fn manifest_round_trips_and_rejects_junk_and_forgeries() {
        let (k, u) = (BackupKey::from_bytes(&[3; 32]), UserId(5));
        let m = encode_manifest(&k, u, Generation(7));
        assert_eq!(decode_manifest(&k, u, &m), Some(Generation(7)));
        assert_eq!(decode_manifest(&k, u, &m[..31]), None);
        assert_eq!(decode_manifest(&k, UserId(6), &m), None, "another user's");
        assert_eq!(
            decode_manifest(&BackupKey::from_bytes(&[4; 32]), u, &m),
            None,
            "another key"
        );
        // The cloud cannot raise the generation without the key.
        let mut forged = m;
        forged[15] = 9;
        assert_eq!(decode_manifest(&k, u, &forged), None);
        let mut bad = m;
        bad[0] ^= 1;
        assert_eq!(decode_manifest(&k, u, &bad), None);
    }
}
