//! The secret scanner of KEY-1 and HOST-1: bytes are searched for every
//! user's K (raw bytes and its text forms) and password (KEY-1: nowhere in
//! the clear), and, in what a node's host sees, for every secret only HSMs
//! may hold: password files, wrapped keys, proof-of-key verifiers, reply
//! keys, the fleet's secrets and its derived keys (HOST-1).
//!
//! Every secret is at least [`PREFIX`] bytes long, so the scanner indexes
//! secrets by their 8-byte grams: each secret by its grams at the first
//! offsets `0..=min(len - PREFIX, STRIDE - 1)`, so that a scan needs to
//! test only every `s`-th window of the bytes, `s` the smallest such count
//! over the secrets held (an occurrence of a secret covers at least `s`
//! consecutive windows from its start, so one of them is at a multiple of
//! `s`, at one of the offsets indexed). A window is tested against a bit
//! filter of the indexed grams (one multiply and one bit test), and looked
//! up only when its bit is set. Adding a secret costs the same whatever the
//! number of secrets (an automaton over all of them had to be rebuilt at
//! every new password, which made a step's cost grow with the number of
//! users), and a scan is one pass over every `s`-th window whatever the
//! number of secrets (the simulator's secrets are at least 23 bytes long,
//! the shortest a password, `pw-`, two numbers and 16 hex digits, so `s`
//! is [`STRIDE`]); the filter's false positives stay rare while the
//! indexed grams number far fewer than its bits.

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

/// The length of the grams secrets are indexed by; shorter byte strings
/// are not taken as secrets (they would match by chance).
pub const PREFIX: usize = 8;

/// The most windows a scan steps over at once: a secret of at least
/// `PREFIX + STRIDE - 1` bytes is indexed by its first `STRIDE` grams.
pub const STRIDE: usize = 16;

/// Bits in the gram filter of a run's scanner (2^20, 128 KiB): room for
/// the grams of thousands of secrets.
const RUN_FILTER_LOG2: u32 = 20;

/// Bits in the gram filter of a scanner for a few secrets (2^12, 512
/// bytes): cheap to make for one search.
const FEW_FILTER_LOG2: u32 = 12;

/// The filter bit of a window, in a filter of `2^log2` bits.
fn bit(window: u64, log2: u32) -> usize {
    // Fibonacci hashing: the top bits of the product mix every input bit.
    (window.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - log2)) as usize
}

/// The scanner. Holds the secrets themselves (it must, to find them); it
/// lives only inside one simulated run and never prints them.
pub struct Secrets {
    patterns: Vec<Vec<u8>>,
    owners: Vec<(UserId, SecretKind)>,
    /// Each indexed gram → the secrets holding it, each with the offset it
    /// is at, in the order they were added (looked up, never iterated: no
    /// order leaks).
    by_gram: BTreeMap<u64, Vec<(usize, usize)>>,
    /// One bit per gram hash: set if some indexed gram has it.
    filter: Vec<u64>,
    /// The filter holds `2^filter_log2` bits.
    filter_log2: u32,
    /// The windows a scan steps over: the fewest grams any secret held is
    /// indexed by.
    stride: usize,
    /// Bytes scanned (a figure for the run report).
    pub scanned: u64,
}

impl Default for Secrets {
    /// A scanner for a run's secrets.
    fn default() -> Self {
        Secrets::with_filter(RUN_FILTER_LOG2)
    }
}

fn gram(bytes: &[u8]) -> u64 {
    let mut w = [0u8; PREFIX];
    w.copy_from_slice(&bytes[..PREFIX]);
    u64::from_le_bytes(w)
}

impl Secrets {
    fn with_filter(log2: u32) -> Self {
        Secrets {
            patterns: Vec::new(),
            owners: Vec::new(),
            by_gram: BTreeMap::new(),
            filter: vec![0; (1 << log2) / 64],
            filter_log2: log2,
            stride: STRIDE,
            scanned: 0,
        }
    }

    /// A scanner for a few secrets (tens), made for one search: its filter
    /// is small, so making it costs little.
    pub fn few() -> Self {
        Secrets::with_filter(FEW_FILTER_LOG2)
    }

    /// Adds a secret of `user`, and returns its number (secrets are
    /// numbered from 0 in the order they were first added). Byte strings
    /// shorter than [`PREFIX`] are ignored (`None`); a secret already held
    /// keeps its number.
    pub fn add(&mut self, user: UserId, kind: SecretKind, bytes: &[u8]) -> Option<usize> {
        if bytes.len() < PREFIX {
            return None;
        }
        let first = gram(bytes);
        if let Some(&(held, _)) = self.by_gram.get(&first).and_then(|ids| {
            ids.iter()
                .find(|&&(i, at)| at == 0 && self.patterns[i] == bytes)
        }) {
            return Some(held);
        }
        let id = self.patterns.len();
        let grams = (bytes.len() - PREFIX + 1).min(STRIDE);
        for at in 0..grams {
            let key = gram(&bytes[at..]);
            self.by_gram.entry(key).or_default().push((id, at));
            let b = bit(key, self.filter_log2);
            self.filter[b / 64] |= 1 << (b % 64);
        }
        self.stride = self.stride.min(grams);
        self.patterns.push(bytes.to_vec());
        self.owners.push((user, kind));
        Some(id)
    }

    /// The secret that starts first in `bytes` (the first added, if several
    /// start there): its owner and kind.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<(UserId, SecretKind)> {
        self.find(bytes).map(|i| self.owners[i])
    }

    /// The secret that starts first in `bytes` (the first added, if several
    /// start there): its number (see [`Secrets::add`]).
    pub fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.patterns.is_empty() || bytes.len() < PREFIX {
            return None;
        }
        self.scanned += bytes.len() as u64;
        // The occurrence that starts first is seen at the first window
        // tested that meets any occurrence (windows are tested in order,
        // and each occurrence is met at the first tested window inside
        // it); among those met there, the earliest start wins, then the
        // secret added first.
        let mut window = 0;
        while window + PREFIX <= bytes.len() {
            let key = gram(&bytes[window..]);
            let b = bit(key, self.filter_log2);
            if self.filter[b / 64] & (1 << (b % 64)) != 0 {
                if let Some(ids) = self.by_gram.get(&key) {
                    let found = ids
                        .iter()
                        .filter(|&&(i, at)| {
                            at <= window && bytes[window - at..].starts_with(&self.patterns[i])
                        })
                        .map(|&(i, at)| (window - at, i))
                        .min();
                    if let Some((_, i)) = found {
                        return Some(i);
                    }
                }
            }
            window += self.stride;
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

    /// The secret a plain search finds: the earliest start, then the
    /// first added.
    fn plain(secrets: &[&[u8]], bytes: &[u8]) -> Option<usize> {
        (0..bytes.len()).find_map(|at| secrets.iter().position(|p| bytes[at..].starts_with(p)))
    }

    #[test]
    fn the_strided_scan_finds_what_a_plain_search_finds() {
        let long: &[u8] = b"a secret long enough for every gram: 0123456789";
        let other: &[u8] = b"another secret, also long";
        let short: &[u8] = b"tiny-one";
        for with_short in [false, true] {
            let mut s = Secrets::default();
            s.add(UserId(1), SecretKind::Key, long);
            s.add(UserId(2), SecretKind::Password, other);
            let mut held = vec![long, other];
            if with_short {
                // One gram only: the scan steps window by window again.
                s.add(UserId(3), SecretKind::Password, short);
                held.push(short);
            }
            for first in 0..40 {
                for second in [None, Some(first + 3), Some(first + 30)] {
                    let mut bytes = vec![b'.'; 120];
                    bytes[first..first + other.len()].copy_from_slice(other);
                    if let Some(at) = second {
                        let which = if with_short { short } else { long };
                        let end = (at + which.len()).min(bytes.len());
                        bytes[at..end].copy_from_slice(&which[..end - at]);
                    }
                    let want = plain(&held, &bytes).map(|i| [1, 2, 3][i]);
                    let got = s.scan(&bytes).map(|(u, _)| u.0);
                    assert_eq!(got, want, "other at {first}, then at {second:?}");
                }
            }
            let cut = &long[..long.len() - 1];
            assert_eq!(s.scan(cut), None, "a secret cut short is not found");
        }
    }
}
