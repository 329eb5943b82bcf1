//! Messages between vault nodes.

use super::log::Entry;
use crate::vault::ids::{LogIndex, Term};
use serde::{Deserialize, Serialize};

/// A consensus message from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PeerMessage<E, S> {
    /// Would you vote for me in `term` (not yet started)? Sent without
    /// raising the sender's term, so a node cut off from the cluster cannot
    /// disrupt it by bumping terms when it comes back.
    PreVote {
        /// The term the sender would start.
        term: Term,
        /// Index of the sender's last log entry.
        last_index: LogIndex,
        /// Term of the sender's last log entry.
        last_term: Term,
        /// How far the sender's durable log ever reached, from its HSM's
        /// counter: its word to a node whose own counter is ahead of the
        /// sender's log (see `watermark`).
        reached: (Term, LogIndex),
    },
    /// Answer to a pre-vote.
    PreVoteReply {
        /// If granted, the term asked about; if refused, the receiver's
        /// current term (a pre-candidate behind it moves up to it).
        term: Term,
        /// Whether the receiver would vote.
        granted: bool,
    },
    /// Vote for me in `term`.
    RequestVote {
        /// The sender's (new) term.
        term: Term,
        /// Index of the sender's last log entry.
        last_index: LogIndex,
        /// Term of the sender's last log entry.
        last_term: Term,
        /// How far the sender's durable log ever reached, from its HSM's
        /// counter (see `watermark`).
        reached: (Term, LogIndex),
    },
    /// Answer to a vote request, sent only after the vote is durable.
    Vote {
        /// The voter's term.
        term: Term,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// Entries to append after `prev_index`, or a heartbeat if none.
    Append {
        /// The leader's term.
        term: Term,
        /// Index of the entry before the new ones.
        prev_index: LogIndex,
        /// Its term.
        prev_term: Term,
        /// The new entries.
        entries: Vec<Entry<E>>,
        /// The leader's commit index.
        commit: LogIndex,
    },
    /// Answer to an append, sent only after the entries are durable.
    AppendReply {
        /// The follower's term.
        term: Term,
        /// On success, the follower's log matches the leader's up to here.
        /// On failure, the follower's last log index (a hint).
        index: LogIndex,
        /// Whether the entries were appended.
        success: bool,
    },
    /// The leader's snapshot, for a follower that needs compacted entries.
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// The last index the snapshot covers.
        index: LogIndex,
        /// The term of that index.
        index_term: Term,
        /// The state machine at that index.
        snapshot: S,
    },
    /// Answer to a snapshot, sent only after it is durable.
    SnapshotReply {
        /// The follower's term.
        term: Term,
        /// How far the follower's log matches the leader's of `term`: the
        /// snapshot's index once installed, or the follower's commit index
        /// (it held the snapshot already, or the snapshot is of an earlier
        /// term than the follower's). Never an index the follower merely
        /// holds: a leader counts it towards commits.
        index: LogIndex,
    },
    /// How far did your durable log ever reach? Asked in `term` by a node
    /// whose counter is ahead of a candidate's log (see `watermark`).
    Attest {
        /// The asker's term (the election's).
        term: Term,
    },
    /// Answer to [`PeerMessage::Attest`], sent only once the sender's term
    /// is durable.
    Attested {
        /// The sender's term.
        term: Term,
        /// How far the sender's durable log ever reached, from its HSM's
        /// counter.
        reached: (Term, LogIndex),
    },
}

impl<E, S> PeerMessage<E, S> {
    /// The term the message carries.
    pub fn term(&self) -> Term {
        match self {
            PeerMessage::PreVote { term, .. }
            | PeerMessage::PreVoteReply { term, .. }
            | PeerMessage::RequestVote { term, .. }
            | PeerMessage::Vote { term, .. }
            | PeerMessage::Attest { term }
            | PeerMessage::Attested { term, .. }
            | PeerMessage::Append { term, .. }
            | PeerMessage::AppendReply { term, .. }
            | PeerMessage::InstallSnapshot { term, .. }
            | PeerMessage::SnapshotReply { term, .. } => *term,
        }
    }
}
