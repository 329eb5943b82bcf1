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
//!
//! **A lost tail held nowhere else.** The counter covers entries that were
//! never committed too. If a node's disk loses entries that no other node
//! ever held (a leader's last append that never left it), its counter is
//! ahead of every log, it refuses every candidate, and when the quorum needs
//! its vote (3 nodes with R = 1 need all three) no leader is ever elected.
//! So such a node may vote for a candidate that is behind only its counter
//! (not its log) once enough *other* nodes have given their word
//! ([`Attestations`]), each from its own counter and in the election's term,
//! that their durable logs never reached past the candidate's log:
//! [`crate::vault::quorum::ClusterConfig::never_held_to_rule_out_a_commit`]
//! of them, `N - quorum + 1 + R`. Why that is safe:
//! - an entry committed in a term before the election's was acknowledged by
//!   a quorum while they were in that earlier term, each raising its counter
//!   past the entry first;
//! - a node that gives its word in the election's term has a durable term at
//!   least that (the word leaves only once it is), so it acknowledges no
//!   entry of an earlier term afterwards, and its word shows it had
//!   acknowledged none past the candidate's log before. The word leaves
//!   held behind every write queued before it, and with the
//!   acknowledgements of an earlier term those writes earned, so it covers
//!   them: it is the counter raised by every queued write's log, not the
//!   counter as it stood when the word was given;
//! - so at least `N - quorum + 1` honest words (R more allow for nodes whose
//!   HSM was replaced and whose word is worth nothing) leave fewer than a
//!   quorum of possible holders of any entry past the candidate's log: none
//!   of them was committed before the election's term, which is all that
//!   Raft's leader completeness asks of a new leader. Entries the candidate
//!   lacks at or before its last entry are covered by Raft's usual argument.
//!
//! A pre-vote, which grants nothing, takes the candidate's own word.
//!
//! A node's own candidacy behind its counter is the same case (a vote for
//! a candidate behind only its counter) and takes the same words: it
//! campaigns, asks the others for their word (`Attest`) in its election's
//! term, and takes the lead on a quorum of votes only once they are in.
//! It must: if its disk lost only part of a tail no other node held, its
//! log is still ahead of every other, it refuses every other candidate,
//! and where the quorum needs its vote only it can be elected.

use crate::vault::ids::{LogIndex, NodeId, Term};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Other nodes' word, each from its own HSM's counter, on how far their
/// durable logs ever reached, as given in one term (in a vote request, or in
/// answer to a node that asked: `PeerMessage::Attest`). See the module
/// documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attestations {
    /// The term the words were given in.
    term: Term,
    /// Each node's word: its counter's (last term, last index).
    reached: BTreeMap<NodeId, (Term, LogIndex)>,
}

impl Attestations {
    /// Records `from`'s word, given in `term`. Words of an older term than
    /// those held are dropped; a newer term's replace them all.
    pub fn record(&mut self, term: Term, from: NodeId, reached: (Term, LogIndex)) {
        if term < self.term {
            return;
        }
        if term > self.term {
            self.term = term;
            self.reached.clear();
        }
        let word = self.reached.entry(from).or_insert(reached);
        // A counter only moves forward: keep the furthest word.
        *word = (*word).max(reached);
    }

    /// Whether at least `needed` nodes said, in `term`, that their logs never
    /// reached past `log` (a candidate's (last term, last index)).
    pub fn rule_out_past(&self, term: Term, log: (Term, LogIndex), needed: usize) -> bool {
        self.term == term && self.reached.values().filter(|r| **r <= log).count() >= needed
    }

    /// Whether `node` has given its word in `term`.
    pub fn has_word(&self, term: Term, node: NodeId) -> bool {
        self.term == term && self.reached.contains_key(&node)
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

    #[test]
    fn words_count_only_in_their_term_and_only_at_or_behind_the_log() {
        let log = (Term(5), LogIndex(21));
        let mut a = Attestations::default();
        a.record(Term(7), NodeId(0), (Term(5), LogIndex(21)));
        a.record(Term(7), NodeId(2), (Term(5), LogIndex(22)));
        assert!(a.rule_out_past(Term(7), log, 1));
        assert!(!a.rule_out_past(Term(7), log, 2), "n2 reached past the log");
        assert!(
            !a.rule_out_past(Term(8), log, 1),
            "a word counts in its term only"
        );
        // An older term's word is dropped; a newer term's replaces them all.
        a.record(Term(6), NodeId(2), (Term(5), LogIndex(20)));
        assert!(!a.rule_out_past(Term(7), log, 2));
        a.record(Term(8), NodeId(2), (Term(5), LogIndex(20)));
        assert!(!a.has_word(Term(8), NodeId(0)));
        assert!(a.rule_out_past(Term(8), log, 1));
        // A later, further word from the same node wins.
        a.record(Term(8), NodeId(2), (Term(5), LogIndex(23)));
        assert!(!a.rule_out_past(Term(8), log, 1));
        a.record(Term(8), NodeId(2), (Term(5), LogIndex(19)));
        assert!(
            !a.rule_out_past(Term(8), log, 1),
            "a counter never goes back"
        );
    }
}
