//! CONS-3's ground, the commit rule's inputs: a leader counts a follower as
//! holding its log up to an index only on that follower's answer of the
//! leader's own term (`AppendReply` with success, or `SnapshotReply`).
//!
//! An answer of an earlier term describes the follower's log as it matched
//! an earlier leader's, which a later leader's log may no longer share at
//! the same indices: the node that led before may lead again after another
//! leader overwrote part of its tail, or after its disk was rolled back.
//! Counted, such an answer commits an entry the follower does not hold, and
//! that loss shows in CONS-3 only when a later election needs the missing
//! copy. Judged here from the answers each node sent, never from the
//! leader's bookkeeping of them.
//!
//! An answer of the leader's own term must also be true: the follower's
//! log, as it answered, held the leader's entry at the index it counted.
//! A follower answers a message of an earlier term with its own term, so
//! an answer about some other log (its whole tail, say, to a late snapshot
//! of a leader it no longer follows) reaches the leader as one of its own
//! term; counted, it commits the leader's entries on the strength of a
//! follower that holds others at those indices. Judged from the term the
//! follower held at the answered index when it sent the answer.
//!
//! And the commit rule itself (Raft §5.4.2, `docs/protocol.md`): a leader
//! moves its commit index only to an entry of its own term. An entry of an
//! earlier term that a quorum holds may still be overwritten by a leader
//! whose log has a later term at that index (Raft's figure 8); it commits
//! only under an entry of the leader's term. Judged on each leader's
//! commit index as it moves, so a leader that commits by counting an old
//! entry's replicas is seen at once, not only in the rare run where that
//! entry is later lost.

use super::Violation;
use crate::cluster::Peek;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{LogIndex, NodeId, Term};
use backup_vault::vault::node::{VaultNode, VaultPeerMessage};
use backup_vault::vault::raft::log::Log;
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::Role;
use std::collections::{BTreeMap, BTreeSet};

/// The furthest index each follower acknowledged in each term.
#[derive(Default)]
pub struct Acks {
    /// (follower, term) → the highest index it answered as matching.
    acked: BTreeMap<(NodeId, Term), LogIndex>,
    /// (follower, term, index) → the terms of the entries the follower
    /// held at that index each time it answered so in that term (`None`:
    /// it held none there).
    claims: BTreeMap<(NodeId, Term, LogIndex), BTreeSet<Option<Term>>>,
    /// Each leader's commit index as last seen, with the term it leads.
    commits: BTreeMap<NodeId, (Term, LogIndex)>,
}

impl Acks {
    /// Records the answers node `id` sent in a step, then judges, if it
    /// leads, how far it counts each follower. Returns whether the step
    /// had the leader handle an answer of an earlier term (a coverage
    /// counter: the case this check is for).
    ///
    /// # Errors
    /// A CONS-3 violation naming a follower counted beyond what it answered
    /// in the leader's term, or a leader whose commit index moved to an
    /// entry of an earlier term.
    pub fn after_step<C: VaultCrypto>(
        &mut self,
        id: NodeId,
        node: &VaultNode<C>,
        handled: Option<(NodeId, Peek)>,
        sent: &[(NodeId, NodeId, VaultPeerMessage<C>)],
    ) -> Result<bool, Violation> {
        for (from, _, m) in sent {
            let (term, index) = match m {
                PeerMessage::AppendReply {
                    term,
                    index,
                    success: true,
                } => (*term, *index),
                PeerMessage::SnapshotReply { term, index } => (*term, *index),
                _ => continue,
            };
            let acked = self.acked.entry((*from, term)).or_insert(LogIndex(0));
            *acked = (*acked).max(index);
            // The sender is the node that stepped: its log is as it answered.
            let log = node.raft().log();
            if index < log.base_index() {
                // Compacted into its snapshot, so committed: the entry every
                // log holds there, the leader's too (a late append answered
                // after a snapshot passed it). Nothing to judge.
                continue;
            }
            let held = log.term_at(index);
            self.claims
                .entry((*from, term, index))
                .or_default()
                .insert(held);
        }
        let raft = node.raft();
        if raft.role() != Role::Leader {
            self.commits.remove(&id);
            return Ok(false);
        }
        let term = raft.term();
        let commit = raft.commit_index();
        let before = self.commits.insert(id, (term, commit));
        let moved = match before {
            Some((t, c)) if t == term => commit > c,
            // A new leadership: its commit index is what it had as a
            // follower, and moves from there.
            _ => false,
        };
        let at = raft.log().term_at(commit);
        if moved && at != Some(term) {
            return Err(Violation::node(
                Invariant::Cons3,
                id,
                format!(
                    "n{}, leading term {}, moved its commit index to {}, an entry of term {}: an entry of an earlier term commits only under one of the leader's term (a quorum holding it does not protect it from a later leader, Raft's figure 8)",
                    id.0,
                    term.0,
                    commit.0,
                    at.map_or_else(|| "unknown".to_owned(), |t| t.0.to_string())
                ),
            ));
        }
        for (follower, matched) in raft.matched() {
            let acked = self
                .acked
                .get(&(follower, term))
                .copied()
                .unwrap_or(LogIndex(0));
            if matched > acked {
                return Err(Violation::node(
                    Invariant::Cons3,
                    id,
                    format!(
                        "n{}, leading term {}, counts n{} as holding its log up to index {}, but n{} answered in term {} only up to index {}: an answer of another term was counted",
                        id.0, term.0, follower.0, matched.0, follower.0, term.0, acked.0
                    ),
                ));
            }
            self.judge_claim(id, raft.log(), term, follower, matched)?;
        }
        Ok(matches!(handled, Some((_, Peek::Answer { term: t })) if t < term))
    }

    /// Whether `follower`, counted by the leader `id` of `term` as matching
    /// up to `matched`, held the leader's entry there when it answered so.
    /// An index the leader has compacted is committed, and held alike.
    fn judge_claim<E: Clone>(
        &self,
        id: NodeId,
        log: &Log<E>,
        term: Term,
        follower: NodeId,
        matched: LogIndex,
    ) -> Result<(), Violation> {
        if matched == LogIndex(0) || matched < log.base_index() {
            return Ok(());
        }
        let Some(held) = self.claims.get(&(follower, term, matched)) else {
            return Ok(());
        };
        let ours = log.term_at(matched);
        if ours.is_some() && held.contains(&ours) {
            return Ok(());
        }
        let show = |t: Option<Term>| t.map_or_else(|| "none".to_owned(), |t| t.0.to_string());
        let theirs: Vec<String> = held.iter().map(|t| show(*t)).collect();
        Err(Violation::node(
            Invariant::Cons3,
            id,
            format!(
                "n{}, leading term {}, counts n{} as holding its log up to index {} (the leader's entry there: term {}), on n{}'s answer of term {} that held an entry of term {} there: an answer about another log was counted",
                id.0,
                term.0,
                follower.0,
                matched.0,
                show(ours),
                follower.0,
                term.0,
                theirs.join(" or ")
            ),
        ))
    }
}
