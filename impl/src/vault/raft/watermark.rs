//! The HSM's counter: what a node's HSM remembers outside its host's disk,
//! so that a disk rolled back behind it cannot make the node forget a vote
//! or an acknowledgement.
//!
//! Raft's safety rests on every node remembering, across crashes, the votes
//! it cast and the entries it acknowledged. The host owns the disk and can
//! roll it back: on up to R nodes the quorum size absorbs that (see
//! [`crate::vault::quorum`]), but an operator who runs every host can roll
//! back every disk at once, and then a committed `ConsumeAttempt` could be
//! lost everywhere and a guess budget refilled. So the HSM keeps a
//! [`Watermark`] in its own non-volatile memory (NVRAM, or a TPM-style
//! monotonic counter), which only moves forward and which the host cannot
//! touch: the durable hard state (term and vote), and how far the durable
//! log reached, as (last term, last index).
//!
//! The node raises it when its host reports writes durable, before any vote
//! or acknowledgement that depends on them can leave ([`super::Raft::persisted`]),
//! and a restarting node is given it back:
//! - its term and vote are never older than the watermark's, so it cannot
//!   vote twice in a term whatever its disk says;
//! - it grants a vote (or pre-vote) only to a candidate whose log is at
//!   least as up to date as its own log *and* its watermark. The watermark
//!   stands for the log it had: Raft's leader-completeness argument then
//!   holds as if the disk had never been rolled back.
//!
//! A rollback of one disk therefore costs that node nothing but the time to
//! catch up; a rollback of every disk leaves no candidate that enough nodes
//! will vote for, and the cluster stops until the operator puts the newer
//! disks back: it costs liveness, never a guess.

use crate::vault::ids::{LogIndex, NodeId, Term};
use serde::{Deserialize, Serialize};

/// What a node's HSM remembers in its own non-volatile memory. See the
/// module documentation. Ordered fields only move forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Watermark {
    /// The term of the latest durable hard state.
    pub term: Term,
    /// The vote of the latest durable hard state, in `term`.
    pub voted_for: Option<NodeId>,
    /// How far the durable log reached: (last term, last index), in Raft's
    /// up-to-date order.
    pub log: (Term, LogIndex),
}

impl Watermark {
    /// Raises the hard state to (`term`, `voted_for`) if it is newer: a
    /// later term, or the same term with a vote where there was none.
    pub fn raise_hard_state(&mut self, term: Term, voted_for: Option<NodeId>) {
        let before = (self.term, self.voted_for);
        if term > self.term || (term == self.term && self.voted_for.is_none()) {
            self.term = term;
            self.voted_for = voted_for;
        }
        // Only forward: never an older term, and a vote once remembered in
        // a term stays (forgetting it would let the node vote twice).
        assert!(
            self.term > before.0
                || (self.term == before.0 && (before.1.is_none() || self.voted_for == before.1)),
            "the HSM's hard state moved back from {before:?} to {:?}",
            (self.term, self.voted_for)
        );
    }

    /// Raises the log mark to (`last_term`, `last_index`) if it is further.
    pub fn raise_log(&mut self, last_term: Term, last_index: LogIndex) {
        self.log = self.log.max((last_term, last_index));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_only_moves_forward() {
        let mut w = Watermark::default();
        w.raise_hard_state(Term(3), None);
        w.raise_hard_state(Term(3), Some(NodeId(2)));
        assert_eq!((w.term, w.voted_for), (Term(3), Some(NodeId(2))));
        // The vote in a term is never taken back or changed.
        w.raise_hard_state(Term(3), None);
        w.raise_hard_state(Term(3), Some(NodeId(1)));
        w.raise_hard_state(Term(2), Some(NodeId(1)));
        assert_eq!((w.term, w.voted_for), (Term(3), Some(NodeId(2))));
        w.raise_hard_state(Term(4), None);
        assert_eq!((w.term, w.voted_for), (Term(4), None));
        w.raise_log(Term(2), LogIndex(9));
        w.raise_log(Term(2), LogIndex(7));
        w.raise_log(Term(1), LogIndex(20));
        assert_eq!(w.log, (Term(2), LogIndex(9)));
        w.raise_log(Term(3), LogIndex(5));
        assert_eq!(w.log, (Term(3), LogIndex(5)));
    }
}
