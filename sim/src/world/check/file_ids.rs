//! FMT-3: every backup file a client writes has a backup id of its own.
//!
//! A file's chunks are sealed with AES-256-GCM under a payload key derived
//! from K and the file's backup id, at nonces made of the file's nonce
//! prefix and the chunk's position (`docs/format.md` §3, §6). Two
//! different files made under one K with one backup id (and prefix) seal
//! two plaintexts, or one plaintext under two headers, at the same key and
//! nonce: the two tags of a chunk give its GHASH key away, and whoever
//! holds both files can forge chunks that verify. FMT-1's decoder checks
//! cannot see it; only the writer's choice of ids can, so this checker
//! judges every backup object the devices put, as they put it.
//!
//! The header's fields are read at the offsets `docs/format.md` §4 gives,
//! here, not with `backup_vault::format`, so that a writer and a parser
//! that drift together do not blind it. A byte-identical second put is the
//! same file sent again (a retry), not a second file.

use super::Violation;
use backup_vault::invariant::Invariant;
use backup_vault::vault::ids::UserId;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The header's magic, `docs/format.md` §4.
const MAGIC: [u8; 8] = *b"\x89BVLT\r\n\x1a";
/// Where the backup id lies, and its length.
const BACKUP_ID: std::ops::Range<usize> = 24..40;
/// Where the key fingerprint lies.
const KEY_FINGERPRINT: std::ops::Range<usize> = 48..64;

/// A file's (key fingerprint, backup id).
type FileId = ([u8; 16], [u8; 16]);

/// The files seen, by their [`FileId`]: the digest of the first file put
/// with it, and the user who put it.
#[derive(Default)]
pub struct FileIds {
    seen: BTreeMap<FileId, ([u8; 32], UserId)>,
    /// Files judged (a figure for tests).
    pub files: u64,
}

impl FileIds {
    /// A device of `user` puts `bytes` as a backup object. Bytes that do
    /// not start with a header (no magic, too short) are not a backup file
    /// this rule speaks of; a decoder refuses them (FMT-1).
    ///
    /// # Errors
    /// FMT-3 if another file with the same key fingerprint and backup id,
    /// different bytes, was put before.
    pub fn put(&mut self, user: UserId, bytes: &[u8]) -> Result<(), Violation> {
        if bytes.len() < KEY_FINGERPRINT.end || bytes[..MAGIC.len()] != MAGIC {
            return Ok(());
        }
        let id: [u8; 16] = bytes[BACKUP_ID].try_into().expect("16 bytes");
        let key: [u8; 16] = bytes[KEY_FINGERPRINT].try_into().expect("16 bytes");
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        self.files += 1;
        match self.seen.get(&(key, id)) {
            None => {
                self.seen.insert((key, id), (digest, user));
                Ok(())
            }
            Some((first, _)) if *first == digest => Ok(()),
            Some((_, first_user)) => Err(Violation::user(
                Invariant::Fmt3,
                user,
                None,
                format!(
                    "user {} put a backup file with backup id {} under key {}, which user {}'s earlier file, with other bytes, already has: the two share their payload key and chunk nonces",
                    user.0,
                    hex::encode(id),
                    hex::encode(key),
                    first_user.0
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u8, key: u8, body: u8) -> Vec<u8> {
        let mut b = vec![0u8; 112];
        b[..8].copy_from_slice(&MAGIC);
        b[BACKUP_ID].fill(id);
        b[KEY_FINGERPRINT].fill(key);
        b.push(body);
        b
    }

    #[test]
    fn a_second_file_with_the_same_id_under_the_same_key_breaks_fmt_3() {
        let mut f = FileIds::default();
        f.put(UserId(1), &file(1, 1, 0)).unwrap();
        let v = f.put(UserId(1), &file(1, 1, 1)).unwrap_err();
        assert_eq!(v.invariant, "FMT-3");
    }

    #[test]
    fn a_retry_another_id_or_another_key_is_fine() {
        let mut f = FileIds::default();
        f.put(UserId(1), &file(1, 1, 0)).unwrap();
        f.put(UserId(1), &file(1, 1, 0)).unwrap(); // the same bytes again
        f.put(UserId(1), &file(2, 1, 1)).unwrap(); // another id
        f.put(UserId(2), &file(1, 2, 1)).unwrap(); // another key
        f.put(UserId(1), b"not a backup").unwrap();
        assert_eq!(f.files, 4);
    }
}
