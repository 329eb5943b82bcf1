//! When the final liveness checks (LIVE-1, LIVE-3, LIVE-5) do not apply: a
//! tail some HSM's counter acknowledged, that no node's log holds any
//! more, and that the nodes' counters cannot prove uncommitted.
//!
//! The protocol pays for a rolled-back disk in liveness, never in a commit
//! (`docs/protocol.md`, "Rolling back a disk"): a node votes only for a
//! candidate at least as up to date as every log its HSM's counter says it
//! acknowledged, unless `N - quorum + 1 + R` nodes say, each from its own
//! counter, that their logs never reached past the candidate's (R more
//! than a plain majority argument needs, for replaced HSMs whose word says
//! nothing). When the entries past the longest log left are gone from
//! every disk and fewer counters than that lie at or below it, no rule can
//! tell them from committed entries, and the cluster waits, as designed,
//! for a disk that holds them. The simulator knows they were never
//! committed; the nodes cannot.
//!
//! The judgement is the auditor's own, from ground truth: each node's log
//! as the simulator holds it, and each HSM's counter read from its
//! non-volatile memory, not from the node. The word count is computed
//! here, from [`super::independent_quorum`], not from the code under test,
//! so a wrong count in `raft/` does not widen the waiver. Where the words
//! suffice the waiver does not apply: the node that holds the longest log
//! must then be able to lead, which is what seed 590 of
//! `sim sweep --nodes 3 --nemesis crash-leader-after-append --faults all`
//! showed it could not, before its own candidacy took the others' word.

use backup_vault::vault::ids::{LogIndex, Term};

/// One node as the waiver reads it: the end of its log (`None` when it is
/// down: its disk then holds nothing the others can get) and its HSM
/// counter's log mark, each as (last term, last index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeMarks {
    /// Where its log ends.
    pub log: Option<(Term, LogIndex)>,
    /// How far its HSM's counter says its durable log reached.
    pub counter: (Term, LogIndex),
}

/// Whether a tail acknowledged by some counter is held by no log and
/// cannot be proved uncommitted, for `nodes` nodes tolerating `rollback`
/// rolled-back disks (see the module documentation).
pub fn unprovable_lost_tail(marks: &[NodeMarks], nodes: u8, rollback: u8) -> bool {
    let Some(longest) = marks.iter().filter_map(|m| m.log).max() else {
        return false;
    };
    if marks.iter().all(|m| m.counter <= longest) {
        // The holder of the longest log is as up to date as every
        // counter: every node may vote for it.
        return false;
    }
    let quorum = super::independent_quorum(nodes, rollback);
    let needed = (usize::from(nodes) + 1 + usize::from(rollback)).saturating_sub(quorum);
    // The words that can clear the longest log: every node whose counter
    // lies at or below it (a node past it is one whose lost tail is the
    // question, and its word would not clear it).
    let words = marks.iter().filter(|m| m.counter <= longest).count();
    words < needed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(term: u64, index: u64) -> (Term, LogIndex) {
        (Term(term), LogIndex(index))
    }

    fn node(log: (u64, u64), counter: (u64, u64)) -> NodeMarks {
        NodeMarks {
            log: Some(at(log.0, log.1)),
            counter: at(counter.0, counter.1),
        }
    }

    #[test]
    fn a_node_as_far_as_every_counter_may_lead() {
        let marks = [
            node((5, 7), (5, 7)),
            node((5, 6), (5, 7)),
            node((5, 6), (5, 6)),
        ];
        assert!(!unprovable_lost_tail(&marks, 3, 1));
    }

    /// Seed 590 at 3 nodes, R = 1: n2 lost (6, 8), held nowhere, but both
    /// others' counters are at or below its log (5, 7): their two words
    /// are the `3 - 3 + 1 + 1` needed, so n2 must be able to lead.
    #[test]
    fn a_lost_tail_the_others_words_clear_is_no_excuse() {
        let marks = [
            node((5, 6), (5, 6)),
            node((5, 6), (5, 6)),
            node((5, 7), (6, 8)),
        ];
        assert!(!unprovable_lost_tail(&marks, 3, 1));
    }

    /// Seed 19 at 5 nodes, R = 2 (quorum 4, 4 words needed): the longest
    /// log is n3's (40, 14); n3's counter and n2's reach past it, and only
    /// three counters lie at or below it.
    #[test]
    fn a_lost_tail_too_few_counters_clear_waives_liveness() {
        let marks = [
            node((27, 8), (27, 8)),
            node((20, 9), (20, 9)),
            node((4, 4), (45, 16)),
            node((40, 14), (41, 15)),
            node((37, 14), (37, 14)),
        ];
        assert!(unprovable_lost_tail(&marks, 5, 2));
        // With R = 1 (quorum 4, three words), the same counters clear it.
        assert!(!unprovable_lost_tail(&marks, 5, 1));
    }

    #[test]
    fn a_down_node_holds_nothing_and_no_node_up_waives_nothing() {
        let mut marks = [
            node((5, 6), (5, 6)),
            node((5, 6), (5, 6)),
            node((5, 7), (5, 7)),
        ];
        marks[2].log = None;
        // n2's (5, 7) is held by no node up, and the two counters at
        // (5, 6) are the two words R = 1 needs: no waiver.
        assert!(!unprovable_lost_tail(&marks, 3, 1));
        // At N = 2, R = 1 no number of words proves anything.
        assert!(unprovable_lost_tail(&marks[1..], 2, 1));
        let down = NodeMarks {
            log: None,
            counter: at(1, 1),
        };
        assert!(!unprovable_lost_tail(&[down, down], 2, 0));
    }
}
