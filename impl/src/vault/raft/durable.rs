//! What a node keeps on disk, and the writes that change it.
//!
//! The node asks for writes ([`DiskWrite`]) and the driver makes them
//! durable in order, then reports each as done. After a crash the driver
//! rebuilds [`Durable`] by replaying the writes that reached the disk, and
//! the node restarts from it. Both drivers (simulator and real runtime) use
//! [`Durable::apply`], so recovery is the same code everywhere.

// Defined with every other id in `vault::ids`.
pub use super::super::ids::WriteId;
use super::log::{Entry, Log};
use crate::vault::ids::{LogIndex, NodeId, Term};
use serde::{Deserialize, Serialize};

/// A write the node needs durable before some of its messages may leave.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiskWrite<E, S> {
    /// The current term and the vote cast in it.
    HardState {
        /// The term.
        term: Term,
        /// Who this node voted for in `term`.
        voted_for: Option<NodeId>,
    },
    /// Remove entries from `first` on, then append `entries` there.
    Entries {
        /// Index of the first entry written.
        first: LogIndex,
        /// The entries.
        entries: Vec<Entry<E>>,
    },
    /// A snapshot of the state machine at `index`; the log up to `index` is
    /// dropped, and if the log did not hold `index` with `index_term`, all of it.
    Snapshot {
        /// The last index covered.
        index: LogIndex,
        /// Its term.
        index_term: Term,
        /// The state machine.
        state: S,
    },
}

/// Everything a node keeps on disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Durable<E, S> {
    /// The current term.
    pub term: Term,
    /// The vote cast in `term`.
    pub voted_for: Option<NodeId>,
    /// The latest snapshot, if any.
    pub snapshot: Option<(LogIndex, Term, S)>,
    /// The log after the snapshot.
    pub log: Log<E>,
}

impl<E, S> Default for Durable<E, S> {
    fn default() -> Self {
        Durable {
            term: Term(0),
            voted_for: None,
            snapshot: None,
            log: Log::default(),
        }
    }
}

impl<E: Clone, S: Clone> Durable<E, S> {
    /// Applies one completed write.
    pub fn apply(&mut self, write: &DiskWrite<E, S>) {
        match write {
            DiskWrite::HardState { term, voted_for } => {
                self.term = *term;
                self.voted_for = *voted_for;
            }
            DiskWrite::Entries { first, entries } => {
                if *first <= self.log.base_index() {
                    // Entries the snapshot already covers: keep only the rest.
                    let skip = (self.log.base_index().0 + 1 - first.0) as usize;
                    if skip >= entries.len() {
                        return;
                    }
                    self.log.truncate_from(self.log.base_index().next());
                    for e in &entries[skip..] {
                        self.log.push(e.clone());
                    }
                    return;
                }
                if *first <= self.log.last_index() {
                    self.log.truncate_from(*first);
                }
                debug_assert_eq!(
                    *first,
                    self.log.last_index().next(),
                    "writes are contiguous"
                );
                for e in entries {
                    self.log.push(e.clone());
                }
            }
            DiskWrite::Snapshot {
                index,
                index_term,
                state,
            } => {
                if self.log.term_at(*index) == Some(*index_term) && *index <= self.log.last_index()
                {
                    self.log.compact_to(*index);
                } else {
                    self.log.reset_to(*index, *index_term);
                }
                self.snapshot = Some((*index, *index_term, state.clone()));
            }
        }
    }
}
