//! The replicated log, with a snapshot base so old entries can be dropped.

use crate::vault::ids::{LogIndex, Term};
use serde::{Deserialize, Serialize};

/// One log entry: the term it was proposed in, and its command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry<E> {
    /// The leader's term when it appended the entry.
    pub term: Term,
    /// The command; `None` is the no-op a new leader appends to commit
    /// earlier terms' entries.
    pub command: Option<E>,
}

/// The log: entries after a snapshot point.
///
/// Indexes `1..=base_index` are covered by the snapshot (whose last entry had
/// `base_term`); `entries[k]` has index `base_index + 1 + k`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Log<E> {
    base_index: LogIndex,
    base_term: Term,
    entries: Vec<Entry<E>>,
}

impl<E> Default for Log<E> {
    fn default() -> Self {
        Log {
            base_index: LogIndex(0),
            base_term: Term(0),
            entries: Vec::new(),
        }
    }
}

impl<E: Clone> Log<E> {
    /// The last index covered by the snapshot.
    pub fn base_index(&self) -> LogIndex {
        self.base_index
    }

    /// The term of the last index covered by the snapshot.
    pub fn base_term(&self) -> Term {
        self.base_term
    }

    /// The index of the last entry (or of the snapshot point if none).
    pub fn last_index(&self) -> LogIndex {
        LogIndex(self.base_index.0 + self.entries.len() as u64)
    }

    /// The term of the last entry.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    /// The term of the entry at `index`, if the log still knows it (the
    /// snapshot point counts; compacted indexes before it do not).
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.base_index {
            return Some(self.base_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, if held.
    pub fn get(&self, index: LogIndex) -> Option<&Entry<E>> {
        let k = index.0.checked_sub(self.base_index.0 + 1)?;
        self.entries.get(usize::try_from(k).ok()?)
    }

    /// Entries from `from` on, at most `max` of them.
    pub fn slice_from(&self, from: LogIndex, max: usize) -> Vec<Entry<E>> {
        let Some(k) = from.0.checked_sub(self.base_index.0 + 1) else {
            return Vec::new();
        };
        let k = usize::try_from(k)
            .unwrap_or(usize::MAX)
            .min(self.entries.len());
        self.entries[k..(k + max).min(self.entries.len())].to_vec()
    }

    /// Removes every entry from `from` on.
    pub fn truncate_from(&mut self, from: LogIndex) {
        debug_assert!(from > self.base_index, "never truncate into the snapshot");
        let keep = from.0.saturating_sub(self.base_index.0 + 1);
        self.entries
            .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }

    /// Appends one entry at the end.
    pub fn push(&mut self, entry: Entry<E>) {
        assert!(
            entry.term >= self.last_term(),
            "log terms must not decrease"
        );
        self.entries.push(entry);
    }

    /// Drops entries up to and including `index`, which becomes the new base.
    /// Does nothing if `index` is not after the current base or not held.
    pub fn compact_to(&mut self, index: LogIndex) {
        let Some(term) = self.term_at(index) else {
            return;
        };
        if index <= self.base_index {
            return;
        }
        let drop = (index.0 - self.base_index.0) as usize;
        self.entries.drain(..drop);
        self.base_index = index;
        self.base_term = term;
    }

    /// Replaces everything with an empty log after a snapshot point.
    pub fn reset_to(&mut self, index: LogIndex, term: Term) {
        self.entries.clear();
        self.base_index = index;
        self.base_term = term;
    }

    /// Whether a log ending at `last_index` / `last_term` is at least as
    /// up to date as this one (Raft's voting restriction).
    pub fn is_behind_or_equal(&self, last_index: LogIndex, last_term: Term) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t: u64) -> Entry<u8> {
        Entry {
            term: Term(t),
            command: Some(t as u8),
        }
    }

    #[test]
    fn indexes_terms_and_compaction() {
        let mut log = Log::default();
        for t in [1, 1, 2, 3] {
            log.push(e(t));
        }
        assert_eq!(log.last_index(), LogIndex(4));
        assert_eq!(log.term_at(LogIndex(3)), Some(Term(2)));
        assert_eq!(log.term_at(LogIndex(0)), Some(Term(0)));
        log.compact_to(LogIndex(2));
        assert_eq!(log.base_index(), LogIndex(2));
        assert_eq!(log.term_at(LogIndex(1)), None);
        assert_eq!(log.term_at(LogIndex(2)), Some(Term(1)));
        assert_eq!(log.slice_from(LogIndex(3), 10).len(), 2);
        log.truncate_from(LogIndex(4));
        assert_eq!(log.last_index(), LogIndex(3));
        assert!(log.is_behind_or_equal(LogIndex(3), Term(2)));
        assert!(!log.is_behind_or_equal(LogIndex(2), Term(2)));
        assert!(log.is_behind_or_equal(LogIndex(1), Term(3)));
    }
}
