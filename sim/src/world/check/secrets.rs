//! The secret scanner of KEY-1 and HOST-1: bytes are searched for every
//! user's K (raw bytes and its text forms) and password (KEY-1: nowhere in
//! the clear), and, in what a node's host sees, for every secret only HSMs
//! may hold: password files, wrapped keys, proof-of-key verifiers, reply
//! keys, the fleet's secrets and its derived keys (HOST-1).
//!
//! Every secret is at least [`PREFIX`] bytes long, so the scanner indexes
//! secrets by their first [`PREFIX`] bytes: a scan slides a window over the
//! bytes, tests each window against a bit filter of the indexed prefixes
//! (one multiply and one bit test), and looks a window up only when its bit
//! is set. Adding a secret costs the same whatever the number of secrets
//! (an automaton over all of them had to be rebuilt at every new password,
//! which made a step's cost grow with the number of users), and a scan is
//! one pass over the bytes whatever the number of secrets; the filter's
//! false positives stay rare while the secrets number far fewer than its
//! bits.

use backup_vault::vault::ids::UserId;
use std::collections::BTreeMap;

/// What a secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    /// The backup key K, as bytes or text.
    Key,
    /// A password.
    Password,
    /// A record's password file, wrapped key, verifier or reply key.
    RecordSecret,
    /// The fleet's secrets or a key derived from them.
    FleetSecret,
}

/// The length of the prefix secrets are indexed by; shorter byte strings
/// are not taken as secrets (they would match by chance).
pub const PREFIX: usize = 8;

/// Bits in the prefix filter (a power of two): 128 KiB.
const FILTER_BITS: usize = 1 << 20;

/// The filter bit of a window.
fn bit(window: u64) -> usize {
    // Fibonacci hashing: the top bits of the product mix every input bit.
    (window.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS.trailing_zeros())) as usize
}

/// The scanner. Holds the secrets themselves (it must, to find them); it
/// lives only inside one simulated run and never prints them.
pub struct Secrets {
    patterns: Vec<Vec<u8>>,
    owners: Vec<(UserId, SecretKind)>,
    /// Each indexed prefix → the secrets that start with it, in the order
    /// they were added (looked up, never iterated: no order leaks).
    by_prefix: BTreeMap<u64, Vec<usize>>,
    /// One bit per prefix hash: set if some secret's prefix has it.
    filter: Vec<u64>,
    /// Bytes scanned (a figure for the run report).
    pub scanned: u64,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets {
            patterns: Vec::new(),
            owners: Vec::new(),
            by_prefix: BTreeMap::new(),
            filter: vec![0; FILTER_BITS / 64],
            scanned: 0,
        }
    }
}

fn prefix(bytes: &[u8]) -> u64 {
    let mut w = [0u8; PREFIX];
    w.copy_from_slice(&bytes[..PREFIX]);
    u64::from_le_bytes(w)
}

impl Secrets {
    /// Adds a secret of `user`. Byte strings shorter than [`PREFIX`] are
    /// ignored, and so is a secret already held.
    pub fn add(&mut self, user: UserId, kind: SecretKind, bytes: &[u8]) {
        if bytes.len() < PREFIX {
            return;
        }
        let key = prefix(bytes);
        let ids = self.by_prefix.entry(key).or_default();
        if ids.iter().any(|&i| self.patterns[i] == bytes) {
            return;
        }
        ids.push(self.patterns.len());
        self.patterns.push(bytes.to_vec());
        self.owners.push((user, kind));
        let b = bit(key);
        self.filter[b / 64] |= 1 << (b % 64);
    }

    /// The secret that starts first in `bytes` (the first added, if several
    /// start there): its owner and kind.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<(UserId, SecretKind)> {
        if self.patterns.is_empty() || bytes.len() < PREFIX {
            return None;
        }
        self.scanned += bytes.len() as u64;
        for (at, window) in bytes.windows(PREFIX).enumerate() {
            let key = prefix(window);
            let b = bit(key);
            if self.filter[b / 64] & (1 << (b % 64)) == 0 {
                continue;
            }
            let Some(ids) = self.by_prefix.get(&key) else {
                continue;
            };
            if let Some(&i) = ids
                .iter()
                .find(|&&i| bytes[at..].starts_with(&self.patterns[i]))
            {
                return Some(self.owners[i]);
            }
        }
        None
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for p in &mut self.patterns {
            p.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_secret_anywhere_and_only_whole() {
        let mut s = Secrets::default();
        assert_eq!(s.scan(b"nothing to find here"), None, "no secret yet");
        s.add(UserId(1), SecretKind::Password, b"correct horse battery");
        s.add(UserId(2), SecretKind::Key, b"0123456789abcdef");
        s.add(UserId(3), SecretKind::Key, b"short");
        assert_eq!(
            s.scan(b"..correct horse battery.."),
            Some((UserId(1), SecretKind::Password))
        );
        assert_eq!(
            s.scan(b"0123456789abcdef"),
            Some((UserId(2), SecretKind::Key)),
            "at the very start and end"
        );
        assert_eq!(
            s.scan(b"correct horse batter"),
            None,
            "a prefix is not the secret"
        );
        assert_eq!(s.scan(b"short short"), None, "too short to be a secret");
        assert_eq!(
            s.scan(b"0123456789abcdef correct horse battery"),
            Some((UserId(2), SecretKind::Key)),
            "the first to start"
        );
    }

    #[test]
    fn secrets_sharing_a_prefix_are_told_apart() {
        let mut s = Secrets::default();
        s.add(UserId(1), SecretKind::RecordSecret, b"prefix00-one");
        s.add(UserId(2), SecretKind::RecordSecret, b"prefix00-two");
        s.add(UserId(1), SecretKind::RecordSecret, b"prefix00-one");
        assert_eq!(
            s.scan(b"xprefix00-two"),
            Some((UserId(2), SecretKind::RecordSecret))
        );
        assert_eq!(
            s.scan(b"xprefix00-one"),
            Some((UserId(1), SecretKind::RecordSecret))
        );
        assert_eq!(s.scan(b"xprefix00-thr"), None);
        assert_eq!(s.patterns.len(), 2, "a secret added twice is held once");
    }
}
