//! Consensus: a replicated log in the style of Raft, with pre-vote, check-quorum,
//! snapshots, persistence before every reply that depends on it, and quorums
//! sized for a rollback tolerance R (see [`crate::vault::quorum`]).
//!
//! [`Raft`] is a sans-IO state machine. Its inputs are [`Raft::step`] (a peer
//! message), [`Raft::tick`] (the driver's clock reached a deadline),
//! [`Raft::propose`] (a command from the node), [`Raft::persisted`] (the
//! driver made writes durable) and [`Raft::compact`]. Its outputs wait in an
//! [`Outbox`] that the driver drains: writes to make durable, and messages to
//! send. A message that depends on a write (a vote, an append acknowledgement)
//! is held inside the outbox until that write is reported durable, so a
//! driver cannot send it early by mistake.
//!
//! The commit rule ([`Raft::advance_commit`]): an entry is committed when a
//! quorum of nodes hold it durably *and* it is from the leader's current term;
//! earlier entries are committed with it.

pub mod durable;
pub mod log;
pub mod message;
#[cfg(test)]
mod tests;
pub mod watermark;

use self::durable::{DiskWrite, Durable, WriteId};
use self::log::{Entry, Log};
use self::message::PeerMessage;
use self::watermark::{Attestations, Watermark};
use super::crypto::Value;
use super::ids::{LogIndex, Millis, NodeId, Term};
use super::quorum::ClusterConfig;
use crate::flaws::{flaw_on, VaultFlaw};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Consensus timing, in the driver's milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timing {
    /// Shortest election timeout.
    pub election_min_ms: u64,
    /// Longest election timeout; also how long a leader waits without hearing
    /// from a quorum before it steps down.
    pub election_max_ms: u64,
    /// Interval between a leader's heartbeats.
    pub heartbeat_ms: u64,
    /// Most entries in one append message.
    pub max_entries_per_append: usize,
}

impl Timing {
    /// Defaults for data centers a few tens of milliseconds apart.
    pub const DEFAULT: Timing = Timing {
        election_min_ms: 300,
        election_max_ms: 600,
        heartbeat_ms: 50,
        max_entries_per_append: 64,
    };
}

impl Default for Timing {
    fn default() -> Self {
        Timing::DEFAULT
    }
}

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asking whether it could win an election, without raising its term.
    PreCandidate,
    /// Asking for votes in a new term.
    Candidate,
    /// Leads its term.
    Leader,
}

/// What the leader knows of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Progress {
    /// Next index to send.
    next: LogIndex,
    /// Highest index known to be durable on the follower.
    matched: LogIndex,
    /// When the follower last answered this leader.
    last_ack: Millis,
    /// Heartbeats to let pass before sending the follower a snapshot
    /// again: set when one is sent, cleared by its answer.
    snapshot_wait: u8,
}

/// A snapshot carries the whole record store, so while one is on its way
/// to a follower the leader does not send it again with every proposal
/// (raft-rs pauses a follower in its snapshot state the same way); one
/// that was lost is sent again after this many heartbeats without an
/// answer. Resending it with every proposal made the simulator's cost per
/// event grow with the number of users (each copy opened and checked).
const SNAPSHOT_RESEND_HEARTBEATS: u8 = 4;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RoleState {
    Follower,
    PreCandidate {
        granted: BTreeSet<NodeId>,
    },
    Candidate {
        granted: BTreeSet<NodeId>,
    },
    Leader {
        progress: BTreeMap<NodeId, Progress>,
        /// The index of the no-op this leader appended when it took office.
        term_start: LogIndex,
    },
}

/// Outputs waiting for the driver.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Outbox<E, S> {
    /// Writes to make durable, in order.
    pub writes: Vec<(WriteId, DiskWrite<E, S>)>,
    /// Messages ready to send.
    pub messages: Vec<(NodeId, PeerMessage<E, S>)>,
    /// Messages waiting for a write to become durable.
    held: Vec<(WriteId, NodeId, PeerMessage<E, S>)>,
}

impl<E, S> Default for Outbox<E, S> {
    fn default() -> Self {
        Outbox {
            writes: Vec::new(),
            messages: Vec::new(),
            held: Vec::new(),
        }
    }
}

/// Outputs taken from a [`Raft`] by [`Raft::take_outbox`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Drained<E, S> {
    /// Writes to make durable, in order; report them with [`Raft::persisted`].
    pub writes: Vec<(WriteId, DiskWrite<E, S>)>,
    /// Messages to send now.
    pub messages: Vec<(NodeId, PeerMessage<E, S>)>,
}

/// An event for the node above consensus.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftEvent<S> {
    /// The state machine must be replaced by this snapshot (taken at `index`).
    Restore {
        /// The last index the snapshot covers.
        index: LogIndex,
        /// The state machine.
        state: S,
    },
    /// This node stopped being leader; pending client work must be dropped.
    SteppedDown,
    /// This node became leader of its term.
    BecameLeader,
}

/// The consensus state of one node. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Raft<E, S> {
    id: NodeId,
    config: ClusterConfig,
    timing: Timing,
    term: Term,
    voted_for: Option<NodeId>,
    log: Log<E>,
    snapshot: Option<(LogIndex, Term, S)>,
    role: RoleState,
    commit: LogIndex,
    leader: Option<NodeId>,
    /// When the election timer fires (followers and candidates).
    election_deadline: Millis,
    /// When the leader next sends heartbeats.
    heartbeat_deadline: Millis,
    /// When this node last heard from a leader of its term.
    leader_contact: Option<Millis>,
    last_write: WriteId,
    durable_write: WriteId,
    /// The log's last index and its term as of each write not yet durable.
    write_marks: Vec<(WriteId, LogIndex, Term)>,
    /// The hard state each queued hard-state write holds.
    hard_state_marks: Vec<(WriteId, (Term, Option<NodeId>))>,
    /// What the HSM remembers beyond the disk (see [`watermark`]).
    watermark: Watermark,
    /// Other nodes' word on how far their logs reached, in this term.
    attestations: Attestations,
    /// A vote request this node could grant once enough others give their
    /// word (see [`watermark`]): (term, candidate, candidate's last index,
    /// its term). Only ever of the current term with no vote cast in it:
    /// every vote and every move to a later term clears it.
    deferred_vote: Option<(Term, NodeId, LogIndex, Term)>,
    /// The last log index known durable on this node.
    durable_index: LogIndex,
    /// The term and vote of the last hard state queued for the disk: a
    /// vote may leave only once it is (asserted where votes are sent).
    queued_hard_state: (Term, Option<NodeId>),
    outbox: Outbox<E, S>,
    events: Vec<RaftEvent<S>>,
    /// A deliberately broken variant (see [`crate::flaws`]); `None` in production.
    flaw: Option<VaultFlaw>,
}

/// A proposal was refused: this node is not the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotLeader {
    /// The leader this node knows of, if any.
    pub leader: Option<NodeId>,
}

fn random_between<R: RngCore>(rng: &mut R, min: u64, max: u64) -> u64 {
    min + rng.next_u64() % (max.saturating_sub(min) + 1)
}

impl<E: Value, S: Value> Raft<E, S> {
    /// Starts (or restarts after a crash) node `id` from what its disk holds.
    pub fn new<R: RngCore>(
        id: NodeId,
        config: ClusterConfig,
        timing: Timing,
        durable: Durable<E, S>,
        now: Millis,
        rng: &mut R,
    ) -> Self {
        let commit = durable.snapshot.as_ref().map_or(LogIndex(0), |s| s.0);
        let durable_index = durable.log.last_index();
        let queued_hard_state = (durable.term, durable.voted_for);
        let mut raft = Raft {
            id,
            config,
            timing,
            term: durable.term,
            voted_for: durable.voted_for,
            log: durable.log,
            snapshot: durable.snapshot,
            role: RoleState::Follower,
            commit,
            leader: None,
            election_deadline: now,
            heartbeat_deadline: now,
            leader_contact: None,
            last_write: WriteId(0),
            durable_write: WriteId(0),
            write_marks: Vec::new(),
            hard_state_marks: Vec::new(),
            watermark: Watermark::default(),
            attestations: Attestations::default(),
            deferred_vote: None,
            durable_index,
            queued_hard_state,
            outbox: Outbox::default(),
            events: Vec::new(),
            flaw: None,
        };
        raft.reset_election_timer(now, rng);
        raft
    }

    /// Runs the deliberately broken variant `flaw` (test builds only; see
    /// [`crate::flaws`]).
    pub fn with_flaw(mut self, flaw: Option<VaultFlaw>) -> Self {
        self.flaw = flaw;
        self
    }

    /// Restores what the HSM remembers beyond the disk (see [`watermark`]):
    /// a hard state older than the watermark's is replaced by it, and votes
    /// will compare candidates with the watermark's log too. The broken
    /// variant `hsm-counter-ignored` forgets it.
    pub fn with_watermark(mut self, watermark: Watermark) -> Self {
        if flaw_on!(self.flaw, VaultFlaw::HsmCounterIgnored) {
            return self;
        }
        let disk = (self.term, self.voted_for);
        let mut merged = watermark;
        merged.raise_hard_state(disk.0, disk.1);
        let same_term_forgotten =
            flaw_on!(self.flaw, VaultFlaw::SameTermVoteForgotten) && merged.term == disk.0;
        if (merged.term, merged.voted_for) != disk && !same_term_forgotten {
            // The disk lost a term or a vote the HSM remembers: the node
            // keeps them, and writes them back at once. A disk left behind
            // until the next change of term or vote (a node that rejoins
            // its leader's term makes none) stays a rollback the HSM alone
            // hides: a new HSM on that disk, a fault the design takes on
            // any number of nodes, would bring back the earlier term and
            // the vote given in the later one.
            self.term = merged.term;
            self.voted_for = merged.voted_for;
            self.write_back_hard_state();
        }
        merged.raise_log(self.log.last_term(), self.log.last_index());
        self.watermark = merged;
        self
    }

    /// This node's word on how far its durable log ever reached, as it will
    /// stand when a message sent now leaves: [`Raft::send`] holds it until
    /// every write queued so far is durable, and those writes may hold
    /// entries of an earlier term whose acknowledgements leave with it. The
    /// counter alone would leave them out, and a candidate would count a
    /// word below an entry this node acknowledged (see [`watermark`]).
    fn word_when_sent(&self) -> (Term, LogIndex) {
        if flaw_on!(self.flaw, VaultFlaw::WordOmitsQueuedWrites) {
            return self.watermark.log;
        }
        self.write_marks
            .iter()
            .map(|(_, index, term)| (*term, *index))
            .fold(self.watermark.log, std::cmp::max)
    }

    /// What the HSM must remember beyond the disk: raised as writes become
    /// durable; a driver keeps it across restarts (see [`watermark`]).
    pub fn watermark(&self) -> Watermark {
        self.watermark
    }

    /// Whether a candidate whose log ends at (`last_term`, `last_index`) is
    /// at least as up to date as this node's log and as every log this
    /// node has acknowledged (its watermark): the vote rule.
    fn candidate_up_to_date(&self, last_index: LogIndex, last_term: Term) -> bool {
        if flaw_on!(self.flaw, VaultFlaw::VoteByLogLength) {
            return self.flaw_longer_log(last_index);
        }
        let remembered = flaw_on!(self.flaw, VaultFlaw::HsmCounterIgnored)
            || (last_term, last_index) >= self.watermark.log;
        remembered && self.log.is_behind_or_equal(last_index, last_term)
    }

    /// Whether a candidate whose log ends at (`last_term`, `last_index`) is
    /// behind this node's counter but not its log: the case of a lost tail,
    /// which others' word can clear (see [`watermark`]).
    fn behind_only_the_counter(&self, last_index: LogIndex, last_term: Term) -> bool {
        !flaw_on!(self.flaw, VaultFlaw::VoteByLogLength)
            && (last_term, last_index) < self.watermark.log
            && self.log.is_behind_or_equal(last_index, last_term)
    }

    /// Whether enough other nodes have said, in `term`, that their logs
    /// never reached past the candidate's, so that nothing this node lost
    /// past it can have been committed (see [`watermark`]).
    fn lost_tail_ruled_out(&self, term: Term, last_index: LogIndex, last_term: Term) -> bool {
        let needed = if flaw_on!(self.flaw, VaultFlaw::LostTailWithoutRollbackMargin) {
            self.flaw_needed_without_r()
        } else {
            self.config.never_held_to_rule_out_a_commit()
        };
        self.behind_only_the_counter(last_index, last_term)
            && self
                .attestations
                .rule_out_past(term, (last_term, last_index), needed)
    }

    /// Whether this node, its own log behind only its counter (its disk
    /// lost a tail it had acknowledged), may campaign: the others' word can
    /// clear its lost tail, as for any candidate behind only its counter
    /// (see [`watermark`]). It must: where its log is still ahead of the
    /// others' (it lost only part of a tail they never held), it refuses
    /// them all, and if the quorum needs its vote no one else can win.
    fn lost_tail_may_be_ruled_out(&self) -> bool {
        !flaw_on!(self.flaw, VaultFlaw::LostTailCandidacyWithheld)
            && self.behind_only_the_counter(self.log.last_index(), self.log.last_term())
            && self.config.never_held_to_rule_out_a_commit() < usize::from(self.config.nodes())
    }

    /// Whether this node, as a candidate of `term`, may lead on its log:
    /// it is at least its counter, or enough others said in `term` that
    /// they never reached past it (its vote for itself is then one for a
    /// candidate behind only its counter, and takes the same words).
    fn may_lead(&self, term: Term) -> bool {
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        self.candidate_up_to_date(last_index, last_term)
            || self.lost_tail_ruled_out(term, last_index, last_term)
            || flaw_on!(self.flaw, VaultFlaw::LostTailLeadsWithoutWord)
    }

    /// Broken variant `LostTailWithoutRollbackMargin` (see
    /// [`crate::flaws`]): `N - quorum + 1` words, as if every counter were
    /// intact, forgetting that a replaced HSM's word says nothing.
    fn flaw_needed_without_r(&self) -> usize {
        usize::from(self.config.nodes()) - self.config.quorum() + 1
    }

    /// Broken variant `VoteByLogLength` (see [`crate::flaws`]): the vote
    /// rule by log length alone, the term of the last entry ignored.
    fn flaw_longer_log(&self, last_index: LogIndex) -> bool {
        last_index >= self.log.last_index() && last_index >= self.watermark.log.1
    }

    /// Broken variant `LostTailRefused` (see [`crate::flaws`]): a vote
    /// the others' word could clear is refused at once. True: refused.
    fn flaw_refuses_lost_tail(&mut self, candidate: NodeId) -> bool {
        if !flaw_on!(self.flaw, VaultFlaw::LostTailRefused) {
            return false;
        }
        let vote = PeerMessage::Vote {
            term: self.term,
            granted: false,
        };
        self.send(candidate, vote);
        true
    }

    /// Broken variants `DeferralDroppedOnWord` and `DeferredVoteNeverGiven`
    /// (see [`crate::flaws`]): a word of the term drops the deferred vote,
    /// or leaves it standing whatever the words say. True: done with it.
    fn flaw_drops_or_keeps_deferral(&mut self) -> bool {
        if flaw_on!(self.flaw, VaultFlaw::DeferralDroppedOnWord) {
            self.deferred_vote = None;
            return true;
        }
        flaw_on!(self.flaw, VaultFlaw::DeferredVoteNeverGiven)
    }

    /// Broken variant `AttestUnanswered` (see [`crate::flaws`]).
    fn flaw_ignores_attest(&self) -> bool {
        flaw_on!(self.flaw, VaultFlaw::AttestUnanswered)
    }

    /// Broken variant `PreVoteOwnWordIgnored` (see [`crate::flaws`]).
    fn flaw_ignores_own_word(&self) -> bool {
        flaw_on!(self.flaw, VaultFlaw::PreVoteOwnWordIgnored)
    }

    /// Broken variant `PreVoteStaleGrantsCounted` (see [`crate::flaws`]).
    fn flaw_counts_stale_grants(&self) -> bool {
        flaw_on!(self.flaw, VaultFlaw::PreVoteStaleGrantsCounted)
    }

    /// Broken variant `CandidacyOutlivesLeader` (see [`crate::flaws`]): a
    /// pre-candidate or candidate of `term` stays one as it follows.
    fn flaw_keeps_candidacy(&self, term: Term) -> bool {
        flaw_on!(self.flaw, VaultFlaw::CandidacyOutlivesLeader)
            && term == self.term
            && matches!(
                self.role,
                RoleState::PreCandidate { .. } | RoleState::Candidate { .. }
            )
    }

    /// The quorum size. The one call site of the quorum rule inside
    /// consensus, so the broken variant that ignores R lives here too.
    fn quorum(&self) -> usize {
        if flaw_on!(self.flaw, VaultFlaw::IgnoreRollbackTolerance) {
            return usize::from(self.config.nodes()) / 2 + 1;
        }
        self.config.quorum()
    }

    fn is_quorum(&self, count: usize) -> bool {
        count >= self.quorum()
    }

    // ----- accessors -------------------------------------------------------

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The vote cast in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }

    /// The vote this node deferred, waiting for the others' word on how
    /// far their logs reached: (term, candidate). See [`watermark`].
    pub fn deferred_vote(&self) -> Option<(Term, NodeId)> {
        self.deferred_vote
            .map(|(term, candidate, _, _)| (term, candidate))
    }

    /// The current role.
    pub fn role(&self) -> Role {
        match self.role {
            RoleState::Follower => Role::Follower,
            RoleState::PreCandidate { .. } => Role::PreCandidate,
            RoleState::Candidate { .. } => Role::Candidate,
            RoleState::Leader { .. } => Role::Leader,
        }
    }

    /// While leading: how far each follower's log is known to match ours,
    /// by its answers of this term (the figures the commit rule counts).
    /// Empty unless leader.
    pub fn matched(&self) -> Vec<(NodeId, LogIndex)> {
        match &self.role {
            RoleState::Leader { progress, .. } => {
                progress.iter().map(|(id, p)| (*id, p.matched)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The leader this node follows (itself if leader).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The highest index known committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit
    }

    /// The log (after the snapshot point).
    pub fn log(&self) -> &Log<E> {
        &self.log
    }

    /// While leading: the index of the no-op that opened this term. Once
    /// it is applied, the leader's state holds every entry committed
    /// before its term, and it may answer from that state.
    pub fn term_start(&self) -> Option<LogIndex> {
        match self.role {
            RoleState::Leader { term_start, .. } => Some(term_start),
            _ => None,
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&(LogIndex, Term, S)> {
        self.snapshot.as_ref()
    }

    /// The next time [`Raft::tick`] has work to do.
    pub fn next_deadline(&self) -> Millis {
        match self.role {
            RoleState::Leader { .. } => self.heartbeat_deadline,
            _ => self.election_deadline,
        }
    }

    /// Takes the outputs produced so far: writes to make durable (in order)
    /// and messages ready to send. Held messages stay until their write is durable.
    #[must_use = "dropping the outbox loses writes and messages"]
    pub fn take_outbox(&mut self) -> Drained<E, S> {
        Drained {
            writes: std::mem::take(&mut self.outbox.writes),
            messages: std::mem::take(&mut self.outbox.messages),
        }
    }

    /// The messages waiting for a write to become durable, each with its
    /// receiver, in the order they will leave (for observers: the
    /// simulator judges that an answer owed has left or waits here).
    pub fn held_messages(&self) -> impl Iterator<Item = (NodeId, &PeerMessage<E, S>)> {
        self.outbox.held.iter().map(|(_, to, m)| (*to, m))
    }

    /// Takes the events produced so far.
    #[must_use = "dropping the events loses restores and step-downs"]
    pub fn take_events(&mut self) -> Vec<RaftEvent<S>> {
        std::mem::take(&mut self.events)
    }

    /// Committed entries after `applied`, in order, up to the commit index.
    pub fn committed_after(&self, applied: LogIndex) -> Vec<(LogIndex, Entry<E>)> {
        let mut out = Vec::new();
        let mut i = applied.next();
        while i <= self.commit {
            match self.log.get(i) {
                Some(e) => out.push((i, e.clone())),
                None => break,
            }
            i = i.next();
        }
        out
    }

    // ----- outputs ---------------------------------------------------------

    fn write(&mut self, write: DiskWrite<E, S>) {
        self.last_write = WriteId(self.last_write.0 + 1);
        self.write_marks
            .push((self.last_write, self.log.last_index(), self.log.last_term()));
        self.outbox.writes.push((self.last_write, write));
    }

    /// Writes the hard state the HSM restored over the disk's (the broken
    /// variant `restored-hard-state-unwritten` keeps it in memory only).
    fn write_back_hard_state(&mut self) {
        if flaw_on!(self.flaw, VaultFlaw::RestoredHardStateUnwritten) {
            self.queued_hard_state = (self.term, self.voted_for);
            return;
        }
        self.persist_hard_state();
    }

    fn persist_hard_state(&mut self) {
        if self.voted_for.is_none() && flaw_on!(self.flaw, VaultFlaw::TermWrittenOnlyWithVote) {
            // Broken: a term with no vote is kept in memory only.
            return;
        }
        // One vote per term (CONS-1): within a term, a vote once written
        // is never taken back or changed; only a later term clears it.
        let (queued_term, queued_vote) = self.queued_hard_state;
        assert!(
            self.term > queued_term
                || (self.term == queued_term
                    && (queued_vote.is_none() || self.voted_for == queued_vote)),
            "hard state ({}, {:?}) written over ({}, {:?}): a term went back or a vote changed",
            self.term.0,
            self.voted_for,
            queued_term.0,
            queued_vote
        );
        self.queued_hard_state = (self.term, self.voted_for);
        self.write(DiskWrite::HardState {
            term: self.term,
            voted_for: self.voted_for,
        });
        self.hard_state_marks
            .push((self.last_write, self.queued_hard_state));
    }

    /// Sends `msg` once every write issued so far is durable.
    fn send(&mut self, to: NodeId, msg: PeerMessage<E, S>) {
        let word = matches!(msg, PeerMessage::Attested { .. });
        if self.durable_write >= self.last_write
            || (word && flaw_on!(self.flaw, VaultFlaw::WordBeforeDurable))
        {
            self.outbox.messages.push((to, msg));
        } else {
            self.outbox.held.push((self.last_write, to, msg));
        }
    }

    /// The driver made every write up to `up_to` durable.
    pub fn persisted(&mut self, up_to: WriteId) {
        if up_to <= self.durable_write {
            return;
        }
        self.durable_write = up_to.min(self.last_write);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox.held)
            .into_iter()
            .partition(|(id, _, _)| *id <= self.durable_write);
        self.outbox.held = waiting;
        for (_, to, msg) in ready {
            self.outbox.messages.push((to, msg));
        }
        let marks = std::mem::take(&mut self.write_marks);
        let mut durable_log = None;
        // Broken: a mark behind the durable index is taken as covered.
        let monotone = flaw_on!(self.flaw, VaultFlaw::DurableIndexOnlyGrows);
        for (id, index, term) in marks {
            if id <= self.durable_write {
                if monotone && index < self.durable_index {
                    continue;
                }
                self.durable_index = index;
                durable_log = Some((term, index));
            } else {
                self.write_marks.push((id, index, term));
            }
        }
        // Every write durable: the durable log is the log. The commit rule
        // counts a leader at `durable_index` and the HSM's counter takes
        // `durable_log`, so a log changed without a write, or a mark
        // skipped, would let a leader count entries it may lose.
        if self.write_marks.is_empty() {
            let log_end = (self.log.last_term(), self.log.last_index());
            assert!(
                self.durable_index == log_end.1 && durable_log.is_none_or(|l| l == log_end),
                "n{}: every write durable, but the durable log ends at {:?} ({:?}) and the log at {:?}",
                self.id.0,
                self.durable_index,
                durable_log,
                log_end
            );
        }
        // The HSM's counter moves before anything that depends on these
        // writes leaves (the held messages above go out after this step).
        let durable = self.durable_write;
        for (_, (term, vote)) in self
            .hard_state_marks
            .iter()
            .filter(|(id, _)| *id <= durable)
        {
            self.watermark.raise_hard_state(*term, *vote);
        }
        self.hard_state_marks.retain(|(id, _)| *id > durable);
        if let Some((term, index)) = durable_log {
            self.watermark.raise_log(term, index);
        }
        if matches!(self.role, RoleState::Leader { .. }) {
            self.advance_commit();
        }
    }

    // ----- time ------------------------------------------------------------

    fn reset_election_timer<R: RngCore>(&mut self, now: Millis, rng: &mut R) {
        let (min, max) = (self.timing.election_min_ms, self.timing.election_max_ms);
        let t = random_between(rng, min, max);
        // Every liveness bound leans on this window: check-quorum's horizon
        // is the longest timeout, and a follower that hears no leader
        // starts an election within it.
        assert!(
            (min..=max).contains(&t),
            "an election timeout of {t} ms outside [{min}, {max}] ms"
        );
        self.election_deadline = now.plus(t);
    }

    /// The clock reached `now`: start an election or send heartbeats if due.
    pub fn tick<R: RngCore>(&mut self, now: Millis, rng: &mut R) {
        match self.role {
            RoleState::Leader { .. } => {
                if now >= self.heartbeat_deadline {
                    if !self.leader_has_quorum_contact(now) {
                        self.step_down(self.term, None, now, rng);
                        return;
                    }
                    if let RoleState::Leader { progress, .. } = &mut self.role {
                        for p in progress.values_mut() {
                            p.snapshot_wait = p.snapshot_wait.saturating_sub(1);
                        }
                    }
                    self.broadcast_append();
                    self.heartbeat_deadline = now.plus(self.timing.heartbeat_ms);
                }
            }
            _ => {
                if now >= self.election_deadline {
                    if self.candidate_up_to_date(self.log.last_index(), self.log.last_term())
                        || self.lost_tail_may_be_ruled_out()
                    {
                        self.start_pre_vote(now, rng);
                    } else {
                        // Our log is behind what we acknowledged (our disk
                        // was rolled back) and no word can clear it: we
                        // cannot lead without entries we may have helped
                        // commit. Wait to catch up.
                        self.reset_election_timer(now, rng);
                    }
                }
            }
        }
    }

    /// Check-quorum: a leader that has not heard from a quorum within the
    /// longest election timeout may have been replaced; it must not go on
    /// answering clients.
    fn leader_has_quorum_contact(&self, now: Millis) -> bool {
        let RoleState::Leader { progress, .. } = &self.role else {
            return false;
        };
        if flaw_on!(self.flaw, VaultFlaw::CheckQuorumSkipped) {
            return true;
        }
        let horizon = now.0.saturating_sub(self.timing.election_max_ms);
        let fresh = progress
            .values()
            .filter(|p| p.last_ack.0 >= horizon)
            .count();
        self.is_quorum(fresh + 1)
    }

    fn heard_from_leader_recently(&self, now: Millis) -> bool {
        if matches!(self.role, RoleState::Leader { .. }) {
            return true;
        }
        self.leader_contact
            .is_some_and(|t| now.0 < t.0 + self.timing.election_min_ms)
    }

    // ----- elections -------------------------------------------------------

    fn peers(&self) -> Vec<NodeId> {
        self.config.members().filter(|n| *n != self.id).collect()
    }

    fn start_pre_vote<R: RngCore>(&mut self, now: Millis, rng: &mut R) {
        self.reset_election_timer(now, rng);
        self.leader = None;
        let mut granted = BTreeSet::new();
        granted.insert(self.id);
        self.role = RoleState::PreCandidate { granted };
        if self.is_quorum(1) {
            self.start_election(now, rng);
            return;
        }
        let msg = PeerMessage::PreVote {
            term: self.term.next(),
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            reached: self.watermark.log,
        };
        for p in self.peers() {
            // A pre-vote depends on nothing durable.
            self.outbox.messages.push((p, msg.clone()));
        }
    }

    fn start_election<R: RngCore>(&mut self, now: Millis, rng: &mut R) {
        self.reset_election_timer(now, rng);
        self.term = self.term.next();
        self.voted_for = Some(self.id);
        self.deferred_vote = None;
        self.leader = None;
        self.persist_hard_state();
        let mut granted = BTreeSet::new();
        granted.insert(self.id);
        self.role = RoleState::Candidate { granted };
        if self.is_quorum(1) && self.may_lead(self.term) {
            self.become_leader(now);
            return;
        }
        let msg = PeerMessage::RequestVote {
            term: self.term,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            reached: self.word_when_sent(),
        };
        // Behind our own counter: we lead only once the others' word,
        // given in this term, clears our lost tail (see [`watermark`]).
        let ask = !self.candidate_up_to_date(self.log.last_index(), self.log.last_term());
        for p in self.peers() {
            if flaw_on!(self.flaw, VaultFlaw::VoteRequestBeforeDurable) {
                // Broken: asks before its own vote is durable.
                self.outbox.messages.push((p, msg.clone()));
            } else {
                self.send(p, msg.clone());
            }
            if ask {
                self.send(p, PeerMessage::Attest { term: self.term });
            }
        }
    }

    fn become_leader(&mut self, now: Millis) {
        // Leader completeness across rollbacks: a log behind what this
        // node's HSM says it acknowledged leads only on the others' word
        // (see [`watermark`]).
        assert!(
            self.may_lead(self.term),
            "a leader of term {} behind its own counter without the others' word",
            self.term.0
        );
        let next = self.log.last_index().next();
        let progress = self
            .peers()
            .into_iter()
            .map(|p| {
                (
                    p,
                    Progress {
                        next,
                        matched: LogIndex(0),
                        last_ack: now,
                        snapshot_wait: 0,
                    },
                )
            })
            .collect();
        // A no-op of the new term lets earlier terms' entries commit with it.
        let term_start = self.log.last_index().next();
        self.role = RoleState::Leader {
            progress,
            term_start,
        };
        self.leader = Some(self.id);
        self.events.push(RaftEvent::BecameLeader);
        let appended = self.append_local(None);
        assert_eq!(appended, term_start, "the no-op opens the leader's term");
        self.broadcast_append();
        self.heartbeat_deadline = now.plus(self.timing.heartbeat_ms);
    }

    fn step_down<R: RngCore>(
        &mut self,
        term: Term,
        leader: Option<NodeId>,
        now: Millis,
        rng: &mut R,
    ) {
        // Terms only go forward: every caller steps down for a message of
        // its own term or a later one, never an earlier one (an older
        // term's message is stale, and changes nothing).
        assert!(
            term >= self.term,
            "a node at term {} stepped down to the earlier term {}",
            self.term.0,
            term.0
        );
        let was_leader = matches!(self.role, RoleState::Leader { .. });
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.deferred_vote = None;
            self.persist_hard_state();
        }
        self.role = RoleState::Follower;
        self.leader = leader;
        if was_leader {
            self.events.push(RaftEvent::SteppedDown);
        }
        self.reset_election_timer(now, rng);
    }

    // ----- proposals and replication ---------------------------------------

    fn append_local(&mut self, command: Option<E>) -> LogIndex {
        let index = self.log.last_index().next();
        let entry = Entry {
            term: self.term,
            command,
        };
        self.log.push(entry.clone());
        self.write(DiskWrite::Entries {
            first: index,
            entries: vec![entry],
        });
        index
    }

    /// Appends `command` to the log if this node leads; returns its index.
    /// The command is committed, and may be applied, only once a quorum holds it.
    ///
    /// # Errors
    /// [`NotLeader`] naming the known leader.
    pub fn propose(&mut self, command: E) -> Result<LogIndex, NotLeader> {
        if !matches!(self.role, RoleState::Leader { .. }) {
            return Err(NotLeader {
                leader: self.leader,
            });
        }
        let index = self.append_local(Some(command));
        self.broadcast_append();
        Ok(index)
    }

    /// Appends a no-op if this node leads: a barrier whose commit shows the
    /// node still led after everything before it (the node releases
    /// answers it gave from its state only then). Returns its index.
    ///
    /// # Errors
    /// [`NotLeader`] naming the known leader.
    pub fn propose_noop(&mut self) -> Result<LogIndex, NotLeader> {
        if !matches!(self.role, RoleState::Leader { .. }) {
            return Err(NotLeader {
                leader: self.leader,
            });
        }
        let index = self.append_local(None);
        self.broadcast_append();
        Ok(index)
    }

    fn broadcast_append(&mut self) {
        for p in self.peers() {
            self.send_append(p);
        }
    }

    fn send_append(&mut self, to: NodeId) {
        let RoleState::Leader { progress, .. } = &self.role else {
            return;
        };
        let Some(pr) = progress.get(&to).copied() else {
            return;
        };
        let msg = if pr.next <= self.log.base_index() {
            if pr.snapshot_wait > 0 {
                return;
            }
            let Some((index, index_term, state)) = &self.snapshot else {
                return;
            };
            let index_term = if flaw_on!(self.flaw, VaultFlaw::SnapshotSentWithCurrentTerm) {
                self.term
            } else {
                *index_term
            };
            let msg = PeerMessage::InstallSnapshot {
                term: self.term,
                index: *index,
                index_term,
                snapshot: state.clone(),
            };
            if let RoleState::Leader { progress, .. } = &mut self.role {
                if let Some(p) = progress.get_mut(&to) {
                    p.snapshot_wait = SNAPSHOT_RESEND_HEARTBEATS;
                }
            }
            msg
        } else {
            let prev_index = pr.next.prev();
            let prev_term = self
                .log
                .term_at(prev_index)
                .expect("prev_index is at or after the snapshot point");
            PeerMessage::Append {
                term: self.term,
                prev_index,
                prev_term,
                entries: self
                    .log
                    .slice_from(pr.next, self.timing.max_entries_per_append),
                commit: self.commit,
            }
        };
        // Pipelining: entries on their way are not sent again with the next
        // proposal. Without it, each proposal resent every entry the
        // follower had not yet acknowledged, so a leader with k commands in
        // flight sealed and sent O(k) entries per command (measured: the
        // leader's code per login grew eightfold with 64 clients). A lost
        // or refused append is found by the follower's refusal of the next
        // one (or of a heartbeat), which rewinds `next` to the follower's
        // log (`on_append_reply`).
        if let (
            PeerMessage::Append {
                prev_index,
                entries,
                ..
            },
            RoleState::Leader { progress, .. },
        ) = (&msg, &mut self.role)
        {
            if let (false, Some(p)) = (entries.is_empty(), progress.get_mut(&to)) {
                p.next = LogIndex(prev_index.0 + entries.len() as u64).next();
            }
        }
        // Entries the leader sends need not be durable on the leader first;
        // it counts itself towards a quorum only once they are.
        self.outbox.messages.push((to, msg));
    }

    /// Moves the commit index to `index`: it never goes back, and never
    /// past the log's end.
    fn commit_to(&mut self, index: LogIndex) {
        assert!(index >= self.commit, "the commit index went back");
        assert!(
            index <= self.log.last_index(),
            "committed past the log's end"
        );
        self.commit = index;
    }

    /// The commit rule: the highest index held durably by a quorum, if it is
    /// from the current term, becomes the commit index.
    fn advance_commit(&mut self) {
        let RoleState::Leader { progress, .. } = &self.role else {
            return;
        };
        let mut matched: Vec<LogIndex> = progress.values().map(|p| p.matched).collect();
        matched.push(self.durable_index);
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = if flaw_on!(self.flaw, VaultFlaw::CommitOnMinority) {
            self.durable_index
        } else {
            matched[self.quorum() - 1]
        };
        // Broken: an earlier term's entry commits once a quorum holds it.
        let by_count = flaw_on!(self.flaw, VaultFlaw::CommitEarlierTermByCount);
        if candidate > self.commit && (by_count || self.log.term_at(candidate) == Some(self.term)) {
            self.commit_to(candidate);
        }
    }

    // ----- messages --------------------------------------------------------

    /// Handles a message from `from`.
    pub fn step<R: RngCore>(
        &mut self,
        from: NodeId,
        msg: PeerMessage<E, S>,
        now: Millis,
        rng: &mut R,
    ) {
        if from == self.id || !self.config.members().any(|m| m == from) {
            return;
        }
        match msg {
            PeerMessage::PreVote {
                term,
                last_index,
                last_term,
                reached,
            } => self.on_pre_vote(from, term, (last_index, last_term), reached, now),
            PeerMessage::PreVoteReply { term, granted } => {
                self.on_pre_vote_reply(from, term, granted, now, rng)
            }
            PeerMessage::RequestVote {
                term,
                last_index,
                last_term,
                reached,
            } => self.on_request_vote(from, term, (last_index, last_term), reached, now, rng),
            PeerMessage::Vote { term, granted } => self.on_vote(from, term, granted, now, rng),
            PeerMessage::Attest { term } => self.on_attest(from, term, now, rng),
            PeerMessage::Attested { term, reached } => {
                self.on_attested(from, term, reached, now, rng)
            }
            PeerMessage::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
            } => self.on_append(from, term, prev_index, prev_term, entries, commit, now, rng),
            PeerMessage::AppendReply {
                term,
                index,
                success,
            } => self.on_append_reply(from, term, index, success, now, rng),
            PeerMessage::InstallSnapshot {
                term,
                index,
                index_term,
                snapshot,
            } => self.on_snapshot(from, term, index, index_term, snapshot, now, rng),
            PeerMessage::SnapshotReply { term, index } => {
                self.on_snapshot_reply(from, term, index, now, rng)
            }
        }
    }

    /// A pre-vote request: would we vote for `from` in `term`? Never
    /// changes our own term or vote.
    ///
    /// A candidate behind only our counter gets a pre-vote on its own word
    /// that its log never reached further (see [`watermark`]): a pre-vote
    /// grants nothing, and the real vote asks for more words.
    fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: Term,
        (last_index, last_term): (LogIndex, Term),
        reached: (Term, LogIndex),
        now: Millis,
    ) {
        let own_word = || {
            self.behind_only_the_counter(last_index, last_term)
                && reached <= (last_term, last_index)
                && !self.flaw_ignores_own_word()
        };
        let sticky = !flaw_on!(self.flaw, VaultFlaw::PreVoteIgnoresLeader);
        let granted = term > self.term
            && !(sticky && self.heard_from_leader_recently(now))
            && (self.candidate_up_to_date(last_index, last_term) || own_word());
        // A refusal carries our own term (as etcd's raft does).
        // Pre-votes never raise a term, so without it a node left
        // in an older term with a newer log (it missed a failed
        // election whose candidate was then rolled back) keeps
        // asking for a term we are already in, while it refuses us
        // for our older log: if neither side is a quorum without
        // the other, no leader is ever elected.
        let term = if granted { term } else { self.term };
        self.outbox
            .messages
            .push((from, PeerMessage::PreVoteReply { term, granted }));
    }

    /// An answer to our pre-vote: with a quorum, the real election starts.
    fn on_pre_vote_reply<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        now: Millis,
        rng: &mut R,
    ) {
        if !granted && term > self.term && matches!(self.role, RoleState::PreCandidate { .. }) {
            // Refused by a node in a later term: move to that term,
            // so our next pre-vote asks for one it can grant.
            self.step_down(term, None, now, rng);
            return;
        }
        if !granted
            && term == self.term
            && matches!(self.role, RoleState::PreCandidate { .. })
            && flaw_on!(self.flaw, VaultFlaw::PreVoteGivesUpOnRefusal)
        {
            self.step_down(term, None, now, rng);
            return;
        }
        let any_term = self.flaw_counts_stale_grants();
        let quorum = {
            let RoleState::PreCandidate { granted: votes } = &mut self.role else {
                return;
            };
            if !(term == self.term.next() || any_term) || !granted {
                return;
            }
            votes.insert(from);
            votes.len()
        };
        if self.is_quorum(quorum) {
            self.start_election(now, rng);
        }
    }

    /// A vote request: the vote is granted at most once per term, to a
    /// candidate whose log is at least as up to date as ours, and leaves
    /// only once it is durable. A candidate behind only our counter waits
    /// for the others' word (see [`watermark`]).
    fn on_request_vote<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        (last_index, last_term): (LogIndex, Term),
        reached: (Term, LogIndex),
        now: Millis,
        rng: &mut R,
    ) {
        if !self.move_up_for_candidate(term, now, rng) {
            return;
        }
        if term < self.term {
            // A candidate of an older term: refused, with our term.
            let vote = PeerMessage::Vote {
                term: self.term,
                granted: false,
            };
            self.send(from, vote);
            return;
        }
        // From here on the request is of our term: a vote is only ever
        // given, or deferred, for the term the candidate asked in.
        assert!(
            term == self.term,
            "a vote request of term {} reached the vote rule at term {}",
            term.0,
            self.term.0
        );
        self.attestations.record(term, from, reached);
        let double_vote = flaw_on!(self.flaw, VaultFlaw::DoubleVote);
        let granted = (self.voted_for.is_none_or(|v| v == from) || double_vote)
            && (self.candidate_up_to_date(last_index, last_term)
                || self.lost_tail_ruled_out(term, last_index, last_term));
        if !granted
            && self.voted_for.is_none()
            && (self.behind_only_the_counter(last_index, last_term)
                || flaw_on!(self.flaw, VaultFlaw::DeferBehindCandidate))
        {
            if self.flaw_refuses_lost_tail(from) {
                return;
            }
            // Ask the others how far their logs reached; the vote (or
            // nothing) follows their answers (`on_attested`).
            assert!(
                !self.lost_tail_ruled_out(term, last_index, last_term),
                "a vote deferred though the words that allow it are in"
            );
            self.deferred_vote = Some((term, from, last_index, last_term));
            for p in self.peers() {
                if p != from && !self.attestations.has_word(term, p) {
                    self.send(p, PeerMessage::Attest { term });
                }
            }
            return;
        }
        if granted
            && self.voted_for.is_none()
            && flaw_on!(self.flaw, VaultFlaw::VoteWithoutPersisting)
        {
            self.voted_for = Some(from);
            self.deferred_vote = None;
            self.reset_election_timer(now, rng);
            let vote = PeerMessage::Vote {
                term: self.term,
                granted,
            };
            self.outbox.messages.push((from, vote));
            return;
        }
        let record = granted || flaw_on!(self.flaw, VaultFlaw::RefusalRecordedAsVote);
        if record && self.voted_for.is_none() {
            self.voted_for = Some(from);
            self.deferred_vote = None;
            self.persist_hard_state();
            self.reset_election_timer(now, rng);
        }
        // Held until the vote is durable (CONS-1 across crashes);
        // the double-vote flaw grants without a vote of its own.
        assert!(
            !granted || double_vote || self.queued_hard_state == (self.term, Some(from)),
            "a vote granted before its hard state was queued"
        );
        let vote = PeerMessage::Vote {
            term: self.term,
            granted,
        };
        if granted && flaw_on!(self.flaw, VaultFlaw::VoteBeforeSync) {
            self.outbox.messages.push((from, vote));
            return;
        }
        self.send(from, vote);
    }

    /// A candidate's message (a vote request, or its voters' `Attest`) of
    /// a later term moves us up to it, except while a live leader is heard
    /// from (leader stickiness: a disruptive candidate does not even raise
    /// our term). False: ignore the message.
    fn move_up_for_candidate<R: RngCore>(&mut self, term: Term, now: Millis, rng: &mut R) -> bool {
        if term > self.term {
            if self.heard_from_leader_recently(now) {
                return false;
            }
            self.step_down(term, None, now, rng);
        }
        true
    }

    /// An answer of a later term deposes us; one of an earlier term is
    /// stale. True only for an answer of our own term.
    fn reply_of_our_term<R: RngCore>(&mut self, term: Term, now: Millis, rng: &mut R) -> bool {
        if term > self.term {
            self.step_down(term, None, now, rng);
            return false;
        }
        term == self.term || flaw_on!(self.flaw, VaultFlaw::StaleAnswerCounted)
    }

    /// Another node asks how far our durable log ever reached. The answer
    /// leaves once our term is durable, so we acknowledge no entry of an
    /// earlier term after giving it (see [`watermark`]).
    fn on_attest<R: RngCore>(&mut self, from: NodeId, term: Term, now: Millis, rng: &mut R) {
        if !self.move_up_for_candidate(term, now, rng) {
            return;
        }
        if self.flaw_ignores_attest() {
            return;
        }
        let reached = self.word_when_sent();
        self.send(
            from,
            PeerMessage::Attested {
                term: self.term,
                reached,
            },
        );
    }

    /// A node's word on how far its log reached: it may clear a deferred
    /// vote.
    fn on_attested<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        reached: (Term, LogIndex),
        now: Millis,
        rng: &mut R,
    ) {
        if !self.reply_of_our_term(term, now, rng) {
            return;
        }
        self.attestations.record(term, from, reached);
        if let RoleState::Candidate { granted } = &self.role {
            // A candidate behind its own counter with a quorum of votes
            // waits for these words (see `start_election`).
            let lead = if flaw_on!(self.flaw, VaultFlaw::LeadsOnFirstWord) {
                self.is_quorum(granted.len())
            } else {
                self.is_quorum(granted.len()) && self.may_lead(self.term)
            };
            if lead {
                self.become_leader(now);
            }
            return;
        }
        let Some((t, candidate, last_index, last_term)) = self.deferred_vote else {
            return;
        };
        // A deferral lives in its term while no vote is cast: a vote, and a
        // move to a later term, clear it.
        assert!(
            t == self.term && self.voted_for.is_none(),
            "a deferred vote outlived its term or a vote in it"
        );
        if self.flaw_drops_or_keeps_deferral() {
            return;
        }
        if self.lost_tail_ruled_out(t, last_index, last_term) {
            // One vote per term (CONS-1): a deferred vote is given only
            // by a node that has not voted since it deferred it.
            assert!(
                self.voted_for.is_none(),
                "a deferred vote granted after another vote in its term"
            );
            self.deferred_vote = None;
            self.voted_for = Some(candidate);
            self.persist_hard_state();
            self.reset_election_timer(now, rng);
            assert_eq!(
                self.queued_hard_state,
                (self.term, Some(candidate)),
                "a deferred vote granted before its hard state was queued"
            );
            // Held until the vote is durable (CONS-1 across crashes).
            self.send(
                candidate,
                PeerMessage::Vote {
                    term: self.term,
                    granted: true,
                },
            );
        }
    }

    /// A vote: with a quorum, the candidate leads.
    fn on_vote<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        now: Millis,
        rng: &mut R,
    ) {
        if granted && term < self.term && flaw_on!(self.flaw, VaultFlaw::StaleVotesCounted) {
            // Broken: a grant of an earlier candidacy counts in this one.
            let RoleState::Candidate { granted: votes } = &mut self.role else {
                return;
            };
            votes.insert(from);
            let count = votes.len();
            if self.is_quorum(count) && self.may_lead(self.term) {
                self.become_leader(now);
            }
            return;
        }
        if term > self.term {
            self.step_down(term, None, now, rng);
            return;
        }
        let quorum = {
            let RoleState::Candidate { granted: votes } = &mut self.role else {
                return;
            };
            if term != self.term || !granted {
                return;
            }
            votes.insert(from);
            votes.len()
        };
        if self.is_quorum(quorum) && self.may_lead(term) {
            self.become_leader(now);
        }
    }

    /// A follower installed our snapshot up to `index`.
    fn on_snapshot_reply<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        index: LogIndex,
        now: Millis,
        rng: &mut R,
    ) {
        if term > self.term {
            self.step_down(term, None, now, rng);
            return;
        }
        if term == self.term && flaw_on!(self.flaw, VaultFlaw::AbdicateOnSnapshotAnswer) {
            self.step_down(term, None, now, rng);
            return;
        }
        if term == self.term {
            if flaw_on!(self.flaw, VaultFlaw::SnapshotReplyIgnored) {
                return;
            }
            if let RoleState::Leader { progress, .. } = &mut self.role {
                if let Some(p) = progress.get_mut(&from) {
                    p.matched = p.matched.max(index);
                    p.next = p.matched.next();
                    p.last_ack = now;
                    p.snapshot_wait = 0;
                }
            }
            self.advance_commit();
        }
    }

    /// Accepts `from` as the leader of `term` (which is at least ours).
    fn follow<R: RngCore>(&mut self, from: NodeId, term: Term, now: Millis, rng: &mut R) {
        assert!(
            term >= self.term,
            "a node at term {} followed a leader of the earlier term {}",
            self.term.0,
            term.0
        );
        if self.flaw_keeps_candidacy(term) {
            // Broken: the candidacy goes on beside the leader it follows.
        } else if term > self.term || !matches!(self.role, RoleState::Follower) {
            self.step_down(term, Some(from), now, rng);
        }
        self.leader = Some(from);
        self.leader_contact = Some(now);
        self.reset_election_timer(now, rng);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        prev_index: LogIndex,
        prev_term: Term,
        mut entries: Vec<Entry<E>>,
        leader_commit: LogIndex,
        now: Millis,
        rng: &mut R,
    ) {
        if term < self.term {
            let reply = PeerMessage::AppendReply {
                term: self.term,
                index: self.log.last_index(),
                success: false,
            };
            self.outbox.messages.push((from, reply));
            return;
        }
        self.follow(from, term, now, rng);
        let (prev_index, prev_term) = self.skip_snapshotted(prev_index, prev_term, &mut entries);
        let skip_check = flaw_on!(self.flaw, VaultFlaw::SkipPrevTermCheck)
            && prev_index <= self.log.last_index();
        if self.log.term_at(prev_index) != Some(prev_term) && !skip_check {
            let hint = if prev_index > self.log.last_index() {
                self.log.last_index()
            } else {
                prev_index.prev()
            };
            let reply = PeerMessage::AppendReply {
                term: self.term,
                index: hint,
                success: false,
            };
            self.send(from, reply);
            return;
        }
        self.append_missing(prev_index, &entries);
        let matched = LogIndex(prev_index.0 + entries.len() as u64);
        let new_commit = leader_commit.min(matched);
        if new_commit > self.commit {
            self.commit_to(new_commit);
        }
        // Held until the entries are durable: the leader counts this reply
        // towards a quorum.
        self.send(
            from,
            PeerMessage::AppendReply {
                term: self.term,
                index: matched,
                success: true,
            },
        );
    }

    /// Drops the entries of an append that our snapshot already covers
    /// (they are committed). Returns where the rest starts (the index and
    /// term before it).
    ///
    /// # Panics
    /// If the leader's entries disagree with our committed prefix, which
    /// log matching rules out (CONS-2).
    fn skip_snapshotted(
        &self,
        prev_index: LogIndex,
        prev_term: Term,
        entries: &mut Vec<Entry<E>>,
    ) -> (LogIndex, Term) {
        let base = self.log.base_index();
        if prev_index >= base {
            return (prev_index, prev_term);
        }
        let skip = (base.0 - prev_index.0) as usize;
        if skip > entries.len() {
            entries.clear();
            return (base, self.log.base_term());
        }
        let prev_term = entries[skip - 1].term;
        entries.drain(..skip);
        // Log matching (CONS-2): the leader's entry at our snapshot point
        // is the one we compacted, committed. Peers are HSMs that
        // authenticate each other, so a difference is a bug in consensus.
        assert_eq!(
            prev_term,
            self.log.base_term(),
            "CONS-2: the leader's entry at our snapshot point {} differs from the committed one",
            base.0
        );
        (base, prev_term)
    }

    /// Appends the entries after `prev_index` that our log lacks, first
    /// cutting a conflicting suffix (never a committed one), and queues them
    /// for the disk.
    fn append_missing(&mut self, prev_index: LogIndex, entries: &[Entry<E>]) {
        let mut first_new = None;
        for (k, entry) in entries.iter().enumerate() {
            let index = LogIndex(prev_index.0 + 1 + k as u64);
            match self.log.term_at(index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    // CONS-3: a committed entry is never replaced.
                    assert!(
                        index > self.commit,
                        "CONS-3: n{} told to truncate committed entry {index:?}",
                        self.id.0
                    );
                    self.log.truncate_from(index);
                    first_new = Some(k);
                    break;
                }
                None => {
                    first_new = Some(k);
                    break;
                }
            }
        }
        if let Some(k) = first_new {
            let first = LogIndex(prev_index.0 + 1 + k as u64);
            let new: Vec<Entry<E>> = entries[k..].to_vec();
            for e in &new {
                self.log.push(e.clone());
            }
            self.write(DiskWrite::Entries {
                first,
                entries: new,
            });
        }
    }

    fn on_append_reply<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        index: LogIndex,
        success: bool,
        now: Millis,
        rng: &mut R,
    ) {
        if !self.reply_of_our_term(term, now, rng) {
            return;
        }
        let last = self.log.last_index();
        let resend = {
            let RoleState::Leader { progress, .. } = &mut self.role else {
                return;
            };
            let Some(p) = progress.get_mut(&from) else {
                return;
            };
            p.last_ack = now;
            if success {
                p.matched = p.matched.max(index.min(last));
                p.next = p.next.max(p.matched.next());
                p.next <= last
            } else {
                // Back to the follower's log: possibly before what it once
                // acknowledged, since a follower whose disk was rolled back
                // no longer holds all of that.
                p.next = LogIndex((index.0 + 1).min(p.next.0.saturating_sub(1)).max(1));
                true
            }
        };
        if success {
            self.advance_commit();
        }
        if resend {
            self.send_append(from);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_snapshot<R: RngCore>(
        &mut self,
        from: NodeId,
        term: Term,
        index: LogIndex,
        index_term: Term,
        snapshot: S,
        now: Millis,
        rng: &mut R,
    ) {
        if term < self.term {
            // The answer carries our term, so a leader of that term counts
            // it as its own: it may claim only what every leader of our
            // term holds, the committed prefix, and not our whole log,
            // whose tail may be another leader's.
            let index = if flaw_on!(self.flaw, VaultFlaw::StaleSnapshotAnswerClaimsLog) {
                self.log.last_index()
            } else {
                self.commit
            };
            let reply = PeerMessage::SnapshotReply {
                term: self.term,
                index,
            };
            self.outbox.messages.push((from, reply));
            return;
        }
        self.follow(from, term, now, rng);
        if index <= self.commit {
            self.send(
                from,
                PeerMessage::SnapshotReply {
                    term: self.term,
                    index: self.commit,
                },
            );
            return;
        }
        if self.log.term_at(index) == Some(index_term) && index <= self.log.last_index() {
            self.log.compact_to(index);
        } else {
            self.log.reset_to(index, index_term);
        }
        self.snapshot = Some((index, index_term, snapshot.clone()));
        self.commit_to(index);
        self.write(DiskWrite::Snapshot {
            index,
            index_term,
            state: snapshot.clone(),
        });
        self.events.push(RaftEvent::Restore {
            index,
            state: snapshot,
        });
        self.send(
            from,
            PeerMessage::SnapshotReply {
                term: self.term,
                index,
            },
        );
    }

    /// Everything this node has asked its disk to hold, as one image: what
    /// a compaction rewrites the disk file from.
    pub fn durable_image(&self) -> Durable<E, S> {
        Durable {
            term: self.queued_hard_state.0,
            voted_for: self.queued_hard_state.1,
            snapshot: self.snapshot.clone(),
            log: self.log.clone(),
        }
    }

    /// Records a snapshot of the state machine after applying up to `index`
    /// (which must be committed and applied), and drops the log up to it.
    pub fn compact(&mut self, index: LogIndex, state: S) {
        if index > self.commit || index <= self.log.base_index() {
            return;
        }
        let Some(index_term) = self.log.term_at(index) else {
            return;
        };
        self.log.compact_to(index);
        self.snapshot = Some((index, index_term, state.clone()));
        self.write(DiskWrite::Snapshot {
            index,
            index_term,
            state,
        });
    }
}
