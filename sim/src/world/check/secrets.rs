//! The secret scanner of KEY-1 and HOST-1: bytes are searched for every
//! user's K (raw bytes and its text forms) and password (KEY-1: nowhere in
//! the clear), and, in what a node's host sees, for every secret only HSMs
//! may hold: password files, wrapped keys, proof-of-key verifiers, reply
//! keys, the fleet's secrets and its derived keys (HOST-1).
//!
//! The search is one Aho-Corasick automaton over all secrets, rebuilt when
//! a secret is added (rare), so a scan costs one pass over the bytes
//! whatever the number of users.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use backup_vault::vault::ids::UserId;

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

/// The scanner. Holds the secrets themselves (it must, to find them); it
/// lives only inside one simulated run and never prints them.
#[derive(Default)]
pub struct Secrets {
    patterns: Vec<Vec<u8>>,
    owners: Vec<(UserId, SecretKind)>,
    automaton: Option<AhoCorasick>,
    /// Bytes scanned (a figure for the run report).
    pub scanned: u64,
}

impl Secrets {
    /// Adds a secret of `user`.
    pub fn add(&mut self, user: UserId, kind: SecretKind, bytes: &[u8]) {
        if bytes.len() < 8 || self.patterns.iter().any(|p| p == bytes) {
            return;
        }
        self.patterns.push(bytes.to_vec());
        self.owners.push((user, kind));
        self.automaton = None;
    }

    /// The first secret found in `bytes`: its owner and kind.
    pub fn scan(&mut self, bytes: &[u8]) -> Option<(UserId, SecretKind)> {
        if self.patterns.is_empty() {
            return None;
        }
        self.scanned += bytes.len() as u64;
        if self.automaton.is_none() {
            // Building can only fail on absurd pattern sets; fall back to
            // rebuilding on every scan would hide that, so fail loudly.
            // A contiguous NFA builds fast: secrets are added all through a
            // run (every new password), and a DFA rebuild each time cost a
            // third of a run.
            self.automaton = Some(
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&self.patterns)
                    .expect("secret patterns build an automaton"),
            );
        }
        let found = self.automaton.as_ref()?.find(bytes)?;
        Some(self.owners[found.pattern().as_usize()])
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
