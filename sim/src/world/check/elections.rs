//! The elections' rules, judged on every vote and pre-vote a node grants:
//!
//! - CONS-1's ground: a node grants its vote in a term to one candidate
//!   (a candidate's request for votes is its vote for itself), across
//!   crashes (a vote leaves only once it is durable), unless its
//!   disk lost synced writes since, which the rollback tolerance R covers.
//!   Two leaders in a term need a double vote; this names it when it is
//!   cast, whether or not the second candidate goes on to win. And a node
//!   takes the lead in a term only with a quorum of votes of that term (a
//!   late grant of an earlier candidacy counted is two leaders in waiting).
//! - LIVE-2: a node helps another start an election only when that
//!   election is needed and winnable; and, from the leader's side, a
//!   leader steps down in its own term only by check-quorum, when fewer
//!   than a quorum answered it within the longest election timeout; and
//!   it does step down then, by its next heartbeat: a leader cut off from
//!   the others goes on taking requests it can never answer, while the
//!   others elect a new one.
//! - LIVE-2, the vote's bookkeeping: a node records its vote only for a
//!   candidate at least as up to date as its log (a refused candidate
//!   recorded as the vote leaves the term's other candidates refused). Its
//!   deferred votes, put off for the others' word, have their own rules
//!   (`deferrals.rs`).
//! - LIVE-2, an election's end: a pre-candidate or candidate goes back to
//!   following within its own term only for a leader of that term (its
//!   `Append` or `InstallSnapshot`), and always for one. A refusal, or
//!   another candidate's request, of the same term ends nothing: the grants
//!   still to come may make a quorum, and an election given up for them
//!   waits a whole timeout more (with every node alike, no leader at all).
//!   A leader's message accepted and the candidacy kept leaves the node
//!   counting the grants still to come: a pre-candidate's late pre-vote
//!   grants start an election that deposes the leader it follows.
//!
//! The pre-vote (Raft thesis §9.6) is what keeps a node that rejoins after
//! a partition, or lags behind, from raising terms and deposing a leader
//! that a quorum still follows. Nothing else sees it: its faults cost
//! elections, never a committed entry, so the safety checks and LIVE-1 (a
//! login eventually succeeds) pass while every rejoin disrupts the cluster.
//! The rule, as judged here from the simulator's own record of what each
//! node handled and holds, never from the node's decision:
//!
//! - the pre-vote asks for a later term than the granter's;
//! - the granter is not a leader, and has not accepted a leader's message
//!   (`Append`, `InstallSnapshot` of its term) within the shortest election
//!   timeout, by its own clock, in its current incarnation;
//! - the candidate's log is at least as up to date as the granter's, and as
//!   the granter's HSM counter, unless the candidate is behind only that
//!   counter and says its own counter never passed its log (the lost-tail
//!   case of `raft/watermark.rs`, where the real vote waits for others'
//!   word).
//!
//! and conversely, a pre-vote that meets all three is granted: a refusal
//! there (the lost-tail candidate's own word ignored, say) leaves an
//! election a quorum would allow unstarted. A node becomes a candidate only
//! once a quorum (itself included) granted its pre-vote for that term: an
//! election started on refusals raises the term past a leader a quorum
//! still follows.

use super::deferrals::{DeferralStep, Deferrals};
use super::Violation;
use crate::cluster::Peek;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{Millis, NodeId, Term};
use backup_vault::vault::node::{VaultNode, VaultPeerMessage};
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::Role;
use std::collections::{BTreeMap, BTreeSet};

/// What a step covered, for the coverage counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Covered {
    /// The step recorded a vote for a candidate behind the node's counter.
    pub vote_past_a_lost_tail: bool,
    /// The step refused a pre-vote while its node heard a leader.
    pub pre_vote_refused_under_a_leader: bool,
}

/// When each node last accepted a leader's message, and whom it voted for.
pub struct Elections {
    /// Node → (incarnation, its clock) at its last accepted leader message.
    contact: BTreeMap<NodeId, (u32, Millis)>,
    /// (voter, term) → the candidate it granted its vote, since its disk
    /// last lost synced writes.
    votes: BTreeMap<(NodeId, Term), NodeId>,
    /// The deferred votes' rules.
    deferrals: Deferrals,
    /// Node → (its term, the vote it recorded in it) after its last step.
    recorded: BTreeMap<NodeId, (Term, Option<NodeId>)>,
    /// Node → (incarnation, term, its clock when it took the lead) while
    /// it leads.
    leading: BTreeMap<NodeId, (u32, Term, Millis)>,
    /// Node → (incarnation, term, role) while it is a pre-candidate or a
    /// candidate.
    seeking: BTreeMap<NodeId, (u32, Term, Role)>,
    /// The pre-vote grants each pre-candidate handled for the term it asks
    /// about.
    pre_votes: Tally,
    /// The votes each candidate handled of its own term.
    grants: Tally,
    /// Leader → follower → its clock when it last handled that follower's
    /// answer (`AppendReply`, `SnapshotReply`) of its term, this leadership.
    answers: BTreeMap<NodeId, BTreeMap<NodeId, Millis>>,
    /// The shortest election timeout, ms.
    election_min_ms: u64,
    /// The longest election timeout, ms: check-quorum's horizon.
    election_max_ms: u64,
    /// How late a leader's check-quorum may come after its horizon passed:
    /// one heartbeat interval and the timers' largest jitter as the node's
    /// drifting clock reads it, ms.
    check_slack_ms: u64,
    /// The smallest quorum ([`super::independent_quorum`]), not asked of
    /// the code under test.
    quorum: usize,
}

/// The grants (of pre-votes, or of votes) each node handled while seeking
/// one term in one incarnation: node → (incarnation, term, the granters).
/// A node that seeks another term, or comes back, starts a new count.
#[derive(Default)]
struct Tally(BTreeMap<NodeId, (u32, Term, BTreeSet<NodeId>)>);

impl Tally {
    /// `from` granted node `id` (in `incarnation`) what it seeks in `term`.
    fn grant(&mut self, id: NodeId, incarnation: u32, term: Term, from: NodeId) {
        let entry = self.0.entry(id).or_default();
        if (entry.0, entry.1) != (incarnation, term) {
            *entry = (incarnation, term, BTreeSet::new());
        }
        entry.2.insert(from);
    }

    /// How many granted node `id` (in `incarnation`) what it seeks in `term`.
    fn count(&self, id: NodeId, incarnation: u32, term: Term) -> usize {
        self.0
            .get(&id)
            .filter(|(i, t, _)| *i == incarnation && *t == term)
            .map_or(0, |(_, _, from)| from.len())
    }
}

/// What the checker needs of the step a node just took.
pub struct Step<'a, C: VaultCrypto> {
    /// The node that ran.
    pub id: NodeId,
    /// The node, after the step.
    pub node: &'a VaultNode<C>,
    /// Its incarnation ([`crate::cluster::Cluster::incarnation`]).
    pub incarnation: u32,
    /// Its clock.
    pub clock: Millis,
    /// The peer message it handled, if any.
    pub handled: Option<(NodeId, Peek)>,
    /// The messages it sent: (from, to, message).
    pub sent: &'a [(NodeId, NodeId, VaultPeerMessage<C>)],
}

impl Elections {
    /// A checker for `nodes` nodes tolerating `rollback_tolerance` rolled
    /// back disks, whose election timeouts are drawn from
    /// `election_min_ms..=election_max_ms`, and whose leaders check their
    /// quorum every heartbeat, at most `check_slack_ms` apart (the
    /// heartbeat interval and the timers' largest jitter, by the node's
    /// clock).
    pub fn new(
        nodes: u8,
        rollback_tolerance: u8,
        election_min_ms: u64,
        election_max_ms: u64,
        check_slack_ms: u64,
    ) -> Self {
        let quorum = super::independent_quorum(nodes, rollback_tolerance);
        Elections {
            contact: BTreeMap::new(),
            votes: BTreeMap::new(),
            deferrals: Deferrals::new(nodes, rollback_tolerance),
            recorded: BTreeMap::new(),
            leading: BTreeMap::new(),
            seeking: BTreeMap::new(),
            pre_votes: Tally::default(),
            grants: Tally::default(),
            answers: BTreeMap::new(),
            election_min_ms,
            election_max_ms,
            check_slack_ms,
            quorum,
        }
    }

    /// LIVE-2's leader clause, from the leader's side: a leader abdicates
    /// in its own term only by check-quorum, when fewer than a quorum
    /// (itself included) answered it within the longest election timeout.
    /// A leader that a quorum answers and steps down anyway costs an
    /// election for nothing; one that leads on when no quorum answered it
    /// within that timeout, past its next heartbeat, was not stepped down
    /// by check-quorum.
    fn abdication<C: VaultCrypto>(&mut self, step: &Step<'_, C>) -> Result<(), Violation> {
        let raft = step.node.raft();
        let was = self.leading.get(&step.id).copied();
        if let (Some((from, Peek::Answer { term })), Some((incarnation, led, _))) =
            (step.handled, was)
        {
            if term == led && incarnation == step.incarnation {
                self.answers
                    .entry(step.id)
                    .or_default()
                    .insert(from, step.clock);
            }
        }
        let leads = raft.role() == Role::Leader;
        if let Some((incarnation, term, _)) = was.filter(|_| !leads) {
            self.leading.remove(&step.id);
            let answers = self.answers.remove(&step.id).unwrap_or_default();
            if incarnation == step.incarnation && raft.term() == term {
                let horizon = step.clock.0.saturating_sub(self.election_max_ms);
                let fresh = answers.values().filter(|at| at.0 >= horizon).count();
                if fresh + 1 >= self.quorum {
                    return Err(Violation::node(
                        Invariant::Live2,
                        step.id,
                        format!(
                            "n{} stopped leading term {} though {fresh} followers answered it within the last {} ms (a quorum is {})",
                            step.id.0, term.0, self.election_max_ms, self.quorum
                        ),
                    ));
                }
            }
        }
        let same = |w: &(u32, Term, Millis)| (w.0, w.1) == (step.incarnation, raft.term());
        match was.filter(same) {
            Some((_, term, since)) if leads => {
                self.still_leading(step.id, term, since, step.clock)?
            }
            _ if leads => {
                self.leading
                    .insert(step.id, (step.incarnation, raft.term(), step.clock));
                self.answers.remove(&step.id);
            }
            _ => {}
        }
        Ok(())
    }

    /// Check-quorum's other half: leader `id`, leading `term` since its
    /// clock read `since`, still leads at `now`. Its followers' answers
    /// keep it for the longest election timeout each; once fewer than a
    /// quorum (itself included) are that fresh, its next heartbeat must
    /// step it down.
    fn still_leading(
        &self,
        id: NodeId,
        term: Term,
        since: Millis,
        now: Millis,
    ) -> Result<(), Violation> {
        let needed = self.quorum.saturating_sub(1);
        if needed == 0 {
            return Ok(());
        }
        let mut heard: Vec<Millis> = self
            .answers
            .get(&id)
            .map(|a| a.values().copied().collect())
            .unwrap_or_default();
        heard.sort_unstable_by(|a, b| b.cmp(a));
        // The last moment a quorum had answered (taking the lead counts as
        // every follower's answer: the leader starts with them all fresh).
        let quorum_at = heard.get(needed - 1).copied().unwrap_or(since).max(since);
        let due = quorum_at.0 + self.election_max_ms + self.check_slack_ms;
        if now.0 > due {
            return Err(Violation::node(
                Invariant::Live2,
                id,
                format!(
                    "n{} still leads term {} at {} ms, though fewer than {needed} followers answered it after {} ms: check-quorum should have stepped it down by {due} ms",
                    id.0, term.0, now.0, quorum_at.0
                ),
            ));
        }
        Ok(())
    }

    /// LIVE-2, an election's end: a pre-candidate or candidate that goes
    /// back to following in its own term (same incarnation) did so for a
    /// leader's message of that term. Every other way back to following
    /// moves to a later term, or starts over from a crash.
    fn gave_up<C: VaultCrypto>(&mut self, step: &Step<'_, C>) -> Result<(), Violation> {
        let raft = step.node.raft();
        let was = self.seeking.remove(&step.id);
        let role = raft.role();
        if matches!(role, Role::PreCandidate | Role::Candidate) {
            self.seeking
                .insert(step.id, (step.incarnation, raft.term(), role));
        }
        let Some((incarnation, term, seeking)) = was else {
            return Ok(());
        };
        if role != Role::Follower || incarnation != step.incarnation || raft.term() != term {
            return Ok(());
        }
        let why = match step.handled {
            Some((_, Peek::Leader { term: t })) if t == term => return Ok(()),
            Some((from, peek)) => format!("on handling n{}'s {}", from.0, peek.name()),
            None => "on a step that handled no peer message".to_string(),
        };
        let what = match seeking {
            Role::PreCandidate => "pre-vote",
            _ => "candidacy",
        };
        Err(Violation::node(
            Invariant::Live2,
            step.id,
            format!(
                "n{} gave up its {what} in term {} {why}: only a leader of its term ends an election there",
                step.id.0, term.0
            ),
        ))
    }

    /// LIVE-2, an election's start: a node becomes a candidate only once
    /// a quorum (itself included, the quorum computed here) granted its
    /// pre-vote for that term, counting the grants it handled while a
    /// pre-candidate in the same incarnation. An election started without
    /// them raises the term past a leader a quorum still follows.
    fn pre_vote_quorum<C: VaultCrypto>(
        &mut self,
        step: &Step<'_, C>,
        was: Option<(u32, Term, Role)>,
    ) -> Result<(), Violation> {
        let raft = step.node.raft();
        let was = was.filter(|(incarnation, _, _)| *incarnation == step.incarnation);
        if let (
            Some((
                from,
                Peek::PreVoteReply {
                    term,
                    granted: true,
                },
            )),
            Some((_, seeking, Role::PreCandidate)),
        ) = (step.handled, was)
        {
            if term == seeking.next() {
                self.pre_votes.grant(step.id, step.incarnation, term, from);
            }
        }
        let term = raft.term();
        let new_candidacy = raft.role() == Role::Candidate
            && was != Some((step.incarnation, term, Role::Candidate));
        if !new_candidacy {
            return Ok(());
        }
        let grants = self.pre_votes.count(step.id, step.incarnation, term);
        if grants + 1 < self.quorum {
            return Err(Violation::node(
                Invariant::Live2,
                step.id,
                format!(
                    "n{} started an election for term {} with {} pre-vote grants, itself included: a quorum is {}",
                    step.id.0,
                    term.0,
                    grants + 1,
                    self.quorum
                ),
            ));
        }
        Ok(())
    }

    /// CONS-1's count: a node takes the lead in a term only once a quorum
    /// (itself included) granted it their votes *of that term*, as the
    /// grants it handled while a candidate in it show. A grant from an
    /// earlier candidacy, arriving late or twice, is no vote in this one:
    /// the voter may have voted for a rival since, and two leaders of one
    /// term follow.
    fn vote_quorum<C: VaultCrypto>(
        &mut self,
        step: &Step<'_, C>,
        was: Option<(u32, Term, Role)>,
    ) -> Result<(), Violation> {
        let raft = step.node.raft();
        let was = was.filter(|(incarnation, _, _)| *incarnation == step.incarnation);
        let Some((_, seeking, Role::Candidate)) = was else {
            return Ok(());
        };
        if let Some((
            from,
            Peek::Vote {
                term,
                granted: true,
            },
        )) = step.handled
        {
            if term == seeking {
                self.grants.grant(step.id, step.incarnation, term, from);
            }
        }
        if raft.role() != Role::Leader || raft.term() != seeking {
            return Ok(());
        }
        let grants = self.grants.count(step.id, step.incarnation, seeking);
        if grants + 1 < self.quorum {
            return Err(Violation::node(
                Invariant::Cons1,
                step.id,
                format!(
                    "n{} took the lead in term {} with {} votes of that term, itself included: a quorum is {}",
                    step.id.0,
                    seeking.0,
                    grants + 1,
                    self.quorum
                ),
            ));
        }
        Ok(())
    }

    /// Node `id`'s disk may have lost synced writes (a rollback, bit rot,
    /// a host's edit or a disk put back): it may have forgotten its votes,
    /// which the rollback tolerance R covers, so they are forgotten here too.
    pub fn disk_lost(&mut self, id: NodeId) {
        self.votes.retain(|(voter, _), _| *voter != id);
    }

    /// CONS-1's ground: a node grants its vote in a term to one candidate
    /// only (its own request for votes is its vote for itself), across
    /// crashes, unless its disk lost synced writes since (a
    /// vote leaves only once it is durable, on the disk and in the HSM's
    /// counter).
    fn one_vote_per_term<C: VaultCrypto>(&mut self, step: &Step<'_, C>) -> Result<(), Violation> {
        for (_, to, m) in step.sent {
            // A vote request is the candidate's vote for itself: it asks
            // for votes on that claim, and may win on them. Like any vote,
            // it leaves only once durable, else a crash makes the candidate
            // forget it and vote again in the term it may have won.
            let (term, to) = match m {
                PeerMessage::Vote {
                    term,
                    granted: true,
                } => (term, to),
                PeerMessage::RequestVote { term, .. } => (term, &step.id),
                _ => continue,
            };
            // The HSM's counter holds the vote before it leaves: a host
            // that rolls the disk back cannot make the node vote again.
            let counter = step.node.raft().watermark();
            if counter.term < *term || (counter.term == *term && counter.voted_for != Some(*to)) {
                return Err(Violation::node(
                    Invariant::Cons1,
                    step.id,
                    format!(
                        "n{} sent its vote in term {} for n{} (a vote, or its own request for votes) while its HSM's counter held term {} and vote {:?}: a crash or a disk rolled back would let it vote again",
                        step.id.0,
                        term.0,
                        to.0,
                        counter.term.0,
                        counter.voted_for.map(|v| v.0)
                    ),
                ));
            }
            match self.votes.get(&(step.id, *term)) {
                Some(first) if first != to => {
                    return Err(Violation::node(
                        Invariant::Cons1,
                        step.id,
                        format!(
                            "n{} granted its vote in term {} to n{} after granting it to n{}, its disk intact (a vote must be durable before it is sent)",
                            step.id.0, term.0, to.0, first.0
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    self.votes.insert((step.id, *term), *to);
                }
            }
        }
        Ok(())
    }

    /// LIVE-2: the vote a node records in the step that handles a
    /// candidate's request goes to a candidate whose log, as the request
    /// states it, is at least as up to date as the node's own (the vote
    /// rule; a lost-tail vote is behind only the counter). A refused
    /// candidate recorded as the vote costs the term every other candidate.
    /// Judged on the state, not the messages: the answer may leave steps
    /// later, held until the vote is durable.
    fn recorded_vote<C: VaultCrypto>(&mut self, step: &Step<'_, C>) -> Result<(), Violation> {
        let raft = step.node.raft();
        let now = (raft.term(), raft.voted_for());
        let before = self.recorded.insert(step.id, now);
        let asked = Peek::vote_request(step.handled);
        let (Some(candidate), Some((from, term, theirs))) = (now.1, asked) else {
            return Ok(());
        };
        if before == Some(now) || from != candidate || term != now.0 {
            return Ok(());
        }
        let log = raft.log();
        let own = (log.last_term(), log.last_index());
        if theirs < own {
            return Err(Violation::node(
                Invariant::Live2,
                step.id,
                format!(
                    "n{} recorded its vote in term {} for n{}, whose log ends at {theirs:?}, behind its own {own:?}: every other candidate of the term is refused for a vote the candidate never got",
                    step.id.0, term.0, candidate.0
                ),
            ));
        }
        Ok(())
    }

    /// Judges one step of node `step.id`: the votes it granted, deferred
    /// and recorded, the pre-votes it granted, an election's end and a
    /// leader's step down. Returns what the step covered.
    ///
    /// # Errors
    /// A CONS-1 violation for a second vote in a term; a LIVE-2 violation
    /// naming the clause a deferral, a recorded vote, a pre-vote grant, an
    /// election's end or a step down broke.
    pub fn after_step<C: VaultCrypto>(&mut self, step: Step<'_, C>) -> Result<Covered, Violation> {
        self.one_vote_per_term(&step)?;
        words_leave_durable(&step)?;
        let vote_past_a_lost_tail = self.deferrals.after_step(&DeferralStep {
            id: step.id,
            node: step.node,
            incarnation: step.incarnation,
            handled: step.handled,
            sent: step.sent,
        })?;
        self.recorded_vote(&step)?;
        self.abdication(&step)?;
        let was = self.seeking.get(&step.id).copied();
        self.gave_up(&step)?;
        self.pre_vote_quorum(&step, was)?;
        self.vote_quorum(&step, was)?;
        let pre_vote_refused_under_a_leader = self.handled(&step)?;
        Ok(Covered {
            vote_past_a_lost_tail,
            pre_vote_refused_under_a_leader,
        })
    }

    /// The rules judged on the peer message the step handled: a leader's
    /// message accepted ends any election, and a pre-vote is granted only
    /// as LIVE-2 says. Returns whether the step refused a pre-vote while
    /// its node heard a leader.
    fn handled<C: VaultCrypto>(&mut self, step: &Step<'_, C>) -> Result<bool, Violation> {
        let raft = step.node.raft();
        let Some((from, peek)) = step.handled else {
            return Ok(false);
        };
        match peek {
            Peek::Leader { term } if term == raft.term() => {
                // Of our term after the step: accepted (an older term's
                // message leaves ours above it). Accepting it ends an
                // election of that term (see the module's comment).
                if raft.role() != Role::Follower {
                    return Err(Violation::node(
                        Invariant::Live2,
                        step.id,
                        format!(
                            "n{} accepted n{}'s {} of term {} and went on as {:?}: a leader of its term ends its election",
                            step.id.0,
                            from.0,
                            peek.name(),
                            term.0,
                            raft.role()
                        ),
                    ));
                }
                self.contact.insert(step.id, (step.incarnation, step.clock));
                Ok(false)
            }
            Peek::PreVote {
                term,
                last_index,
                last_term,
                reached,
            } => {
                let granted = step.sent.iter().any(|(_, to, m)| {
                    *to == from && matches!(m, PeerMessage::PreVoteReply { granted: true, .. })
                });
                let heard = self.contact.get(&step.id).and_then(|(incarnation, at)| {
                    (*incarnation == step.incarnation && step.clock.0 < at.0 + self.election_min_ms)
                        .then(|| step.clock.0 - at.0)
                });
                if !granted {
                    let candidate = (last_term, last_index);
                    let log = raft.log();
                    let own = (log.last_term(), log.last_index());
                    let counter = raft.watermark().log;
                    let due = term > raft.term()
                        && raft.role() != Role::Leader
                        && heard.is_none()
                        && candidate >= own
                        && (candidate >= counter || reached <= candidate);
                    if due {
                        let counted = if candidate >= counter {
                            format!("and its counter {counter:?}")
                        } else {
                            format!("and behind only its counter {counter:?}, on the candidate's word that its own counter reached no further ({reached:?})")
                        };
                        return Err(Violation::node(
                            Invariant::Live2,
                            step.id,
                            format!(
                                "node {} refused node {} a pre-vote for term {} that was due: a later term than its own {}, no leader heard, and the candidate's log {candidate:?} at least its own {own:?} {counted}",
                                step.id.0, from.0, term.0, raft.term().0
                            ),
                        ));
                    }
                    return Ok(heard.is_some());
                }
                let refuse = |why: String| {
                    Err(Violation::node(
                        Invariant::Live2,
                        step.id,
                        format!(
                            "node {} granted node {} a pre-vote for term {}: {why}",
                            step.id.0, from.0, term.0
                        ),
                    ))
                };
                if term <= raft.term() {
                    return refuse(format!("not a later term than its own {}", raft.term().0));
                }
                if raft.role() == Role::Leader {
                    return refuse("it is the leader".into());
                }
                if let Some(ago) = heard {
                    return refuse(format!(
                        "it accepted a leader's message {ago} ms before, within the shortest election timeout ({} ms)",
                        self.election_min_ms
                    ));
                }
                let candidate = (last_term, last_index);
                let log = raft.log();
                let own = (log.last_term(), log.last_index());
                if candidate < own {
                    return refuse(format!(
                        "the candidate's log ends at {candidate:?}, behind the granter's {own:?}"
                    ));
                }
                let counter = raft.watermark().log;
                if candidate < counter && reached > candidate {
                    return refuse(format!(
                        "the candidate's log ends at {candidate:?}, behind the granter's counter {counter:?}, and its own counter reached {reached:?}"
                    ));
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

/// CONS-3's ground, the words of `raft/watermark.rs`: a node's word on how
/// far its durable log reached, given in a term in answer to an `Attest`,
/// leaves only once its HSM's counter holds that term. A word that leaves
/// before its term is durable is forgotten by a crash or a rolled-back
/// disk, and the node may then acknowledge an entry of an earlier term
/// past what it said, which the candidate that counted the word has not
/// got. (A candidate's word rides on its request for votes, which
/// `one_vote_per_term` holds to the same counter.) Judged from the counter
/// as the step leaves it, the moment the word leaves.
fn words_leave_durable<C: VaultCrypto>(step: &Step<'_, C>) -> Result<(), Violation> {
    let counter = step.node.raft().watermark();
    for (_, to, m) in step.sent {
        let PeerMessage::Attested { term, reached } = m else {
            continue;
        };
        if counter.term < *term {
            return Err(Violation::node(
                Invariant::Cons3,
                step.id,
                format!(
                    "n{} gave n{} its word in term {} that its durable log never reached past {:?}, while its HSM's counter held term {}: a word leaves only once its term is durable, else a crash makes the node forget it and acknowledge earlier entries past it",
                    step.id.0, to.0, term.0, reached, counter.term.0
                ),
            ));
        }
    }
    Ok(())
}
