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

use super::Violation;
use crate::cluster::Peek;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{LogIndex, NodeId, Term};
use backup_vault::vault::node::{VaultNode, VaultPeerMessage};
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::Role;
use std::collections::BTreeMap;

/// The furthest index each follower acknowledged in each term.
#[derive(Default)]
pub struct Acks {
    /// (follower, term) → the highest index it answered as matching.
    acked: BTreeMap<(NodeId, Term), LogIndex>,
}

impl Acks {
    /// Records the answers node `id` sent in a step, then judges, if it
    /// leads, how far it counts each follower. Returns whether the step
    /// had the leader handle an answer of an earlier term (a coverage
    /// counter: the case this check is for).
    ///
    /// # Errors
    /// A CONS-3 violation naming a follower counted beyond what it answered
    /// in the leader's term.
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
        }
        let raft = node.raft();
        if raft.role() != Role::Leader {
            return Ok(false);
        }
        let term = raft.term();
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
        }
        Ok(matches!(handled, Some((_, Peek::Answer { term: t })) if t < term))
    }
}
