//! LIVE-2's deferred votes (`raft/watermark.rs`), judged on every step from
//! the messages a node handled and the state it holds, never from its own
//! decision. A node whose disk lost a tail it had acknowledged has an HSM
//! counter ahead of its log; a candidate behind that counter but not the
//! log may have missed a committed entry, or the entries may never have
//! been committed. The node asks the others how far their logs ever
//! reached and votes once enough of them rule a commit out. The rules:
//!
//! - **Only when due.** A node defers only when it has not voted in the
//!   term and the candidate is behind its counter but not its log: the
//!   vote rule grants or refuses every other request at once, and a
//!   needless deferral replaces one pending for a candidate the others'
//!   word would elect.
//! - **Always when due.** A node that has not voted and is asked by a
//!   candidate behind only its counter defers (or grants, if the words are
//!   already in): a refusal there leaves the lost-tail case to wait for
//!   the lost entries' holders, whom a crash may keep away for good.
//! - **Given once the words are in.** On each word of its term, a node
//!   whose deferral still stands (no vote since, the candidate still
//!   behind only its counter) grants it once `N - quorum + 1 + R` senders
//!   said their counters never passed the candidate's log: the count is
//!   computed here from the independent quorum, and the words are those
//!   the checker saw the node take in, which are never more than it holds.
//! - **Kept until then.** Within its term and incarnation a deferral ends
//!   only in a vote, or is replaced by a deferral for another candidate.
//! - **A vote past a lost tail rests on its term's words.** A new vote
//!   for a candidate behind the node's counter needs `N - quorum + 1 + R`
//!   words of the vote's term, among those the checker saw the node take
//!   in, that no counter passed the candidate's log (CONS-3's ground: a
//!   word of an earlier election says nothing of what its sender
//!   acknowledged since).
//! - **Words are given.** A node asked for its word (`Attest`), and not
//!   ignoring the asker (a live leader heard, the asker's term later), has
//!   its answer (`Attested`) sent in that step or waiting for its term to
//!   be durable: a node that keeps its word leaves every deferral that
//!   needs it standing.
//!
//! Nothing else sees the liveness rules broken: their faults cost
//! elections after a host's rollback, never a committed entry, and once
//! every fault heals a node with the lost entries comes back and is
//! elected.

use super::Violation;
use crate::cluster::Peek;
use backup_vault::invariant::Invariant;
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::ids::{LogIndex, NodeId, Term};
use backup_vault::vault::node::{VaultNode, VaultPeerMessage};
use backup_vault::vault::raft::message::PeerMessage;
use std::collections::BTreeMap;

/// A log's end, or how far a counter reached: (last term, last index).
type Reach = (Term, LogIndex);

/// A deferred vote as the checker saw it asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Deferral {
    incarnation: u32,
    term: Term,
    candidate: NodeId,
    /// The candidate's log as its request stated it.
    log: Reach,
}

/// The words one node took in during its current term and incarnation.
#[derive(Default)]
struct Words {
    incarnation: u32,
    term: Term,
    /// Sender → the furthest reach it stated (a counter only moves
    /// forward, so the node keeps the furthest).
    reached: BTreeMap<NodeId, Reach>,
}

impl Words {
    fn record(&mut self, incarnation: u32, term: Term, from: NodeId, reached: Reach) {
        if incarnation != self.incarnation || term > self.term {
            *self = Words {
                incarnation,
                term,
                reached: BTreeMap::new(),
            };
        } else if term < self.term {
            return;
        }
        let word = self.reached.entry(from).or_insert(reached);
        *word = (*word).max(reached);
    }

    /// How many senders said, in `term`, that they never reached past `log`.
    fn ruling_out(&self, incarnation: u32, term: Term, log: Reach) -> usize {
        if incarnation != self.incarnation || term != self.term {
            return 0;
        }
        self.reached.values().filter(|r| **r <= log).count()
    }
}

/// What the checker needs of the step a node just took.
pub struct DeferralStep<'a, C: VaultCrypto> {
    /// The node that ran.
    pub id: NodeId,
    /// The node, after the step.
    pub node: &'a VaultNode<C>,
    /// Its incarnation.
    pub incarnation: u32,
    /// The peer message it handled, if any.
    pub handled: Option<(NodeId, Peek)>,
    /// The messages it sent: (from, to, message).
    pub sent: &'a [(NodeId, NodeId, VaultPeerMessage<C>)],
}

/// The deferred votes' checker.
pub struct Deferrals {
    /// Node → the vote it deferred, (term, candidate), after its last step.
    deferred: BTreeMap<NodeId, (Term, NodeId)>,
    /// Node → the deferral it holds, with the candidate's log.
    pending: BTreeMap<NodeId, Deferral>,
    /// Node → the words it took in.
    words: BTreeMap<NodeId, Words>,
    /// Node → (incarnation, term, vote) after its last step.
    state: BTreeMap<NodeId, (u32, Term, Option<NodeId>)>,
    /// Words that clear a deferral: `N - quorum + 1 + R`, with the quorum
    /// computed here ([`super::independent_quorum`]).
    needed: usize,
}

impl Deferrals {
    /// A checker for `nodes` nodes tolerating `rollback_tolerance` rolled
    /// back disks.
    pub fn new(nodes: u8, rollback_tolerance: u8) -> Self {
        let quorum = super::independent_quorum(nodes, rollback_tolerance);
        Deferrals {
            deferred: BTreeMap::new(),
            pending: BTreeMap::new(),
            words: BTreeMap::new(),
            state: BTreeMap::new(),
            // N - quorum + 1 + R, ordered so that no quorum (N + 1) cannot
            // underflow.
            needed: (usize::from(nodes) + 1 + usize::from(rollback_tolerance))
                .saturating_sub(quorum),
        }
    }

    /// Judges one step of node `step.id`. Returns whether the step recorded
    /// a vote for a candidate behind the node's counter (a vote past a lost
    /// tail, a coverage counter).
    ///
    /// # Errors
    /// A LIVE-2 violation naming the rule a deferral broke.
    pub fn after_step<C: VaultCrypto>(
        &mut self,
        step: &DeferralStep<'_, C>,
    ) -> Result<bool, Violation> {
        let raft = step.node.raft();
        let before = self
            .state
            .insert(step.id, (step.incarnation, raft.term(), raft.voted_for()))
            .filter(|(incarnation, _, _)| *incarnation == step.incarnation);
        let pending = self
            .pending
            .get(&step.id)
            .copied()
            .filter(|d| d.incarnation == step.incarnation);
        self.take_words(step, before.map(|(_, term, _)| term));
        let past_lost_tail = self.vote_past_lost_tail(step, before, pending)?;
        self.kept(step, pending)?;
        self.only_when_due(step)?;
        self.when_due(step)?;
        Self::word_given(step)?;
        Ok(past_lost_tail)
    }

    /// The words the node took in this step, as the node records them: a
    /// candidate's with its request when the node is (or moves up to) the
    /// request's term, and an attestation of the node's own term.
    fn take_words<C: VaultCrypto>(
        &mut self,
        step: &DeferralStep<'_, C>,
        term_before: Option<Term>,
    ) {
        let term = step.node.raft().term();
        let word = match step.handled {
            Some((
                from,
                Peek::RequestVote {
                    term: asked,
                    reached,
                    ..
                },
            )) if asked == term => Some((from, asked, reached)),
            Some((
                from,
                Peek::Attested {
                    term: theirs,
                    reached,
                },
            )) if Some(theirs) == term_before && theirs == term => Some((from, theirs, reached)),
            _ => None,
        };
        if let Some((from, term, reached)) = word {
            self.words
                .entry(step.id)
                .or_default()
                .record(step.incarnation, term, from, reached);
        }
    }

    /// Whether the step recorded a new vote for a candidate whose log, as
    /// its request stated it, is behind the node's counter (a coverage
    /// counter); such a vote must rest on the words of its term: at least
    /// `N - quorum + 1 + R` senders, counted here among the words the
    /// checker saw the node take in this term and incarnation, said their
    /// counters never passed the candidate's log. A word of an earlier
    /// election says nothing of what its sender acknowledged since.
    ///
    /// # Errors
    /// CONS-3 (its ground: a commit in the lost tail) if the vote rests on
    /// fewer words.
    fn vote_past_lost_tail<C: VaultCrypto>(
        &self,
        step: &DeferralStep<'_, C>,
        before: Option<(u32, Term, Option<NodeId>)>,
        pending: Option<Deferral>,
    ) -> Result<bool, Violation> {
        let raft = step.node.raft();
        let (term, Some(candidate)) = (raft.term(), raft.voted_for()) else {
            return Ok(false);
        };
        // A vote held at the node's first step of an incarnation may be the
        // one its HSM restored, not one given now.
        let Some((_, term_before, vote_before)) = before else {
            return Ok(false);
        };
        if term_before == term && vote_before == Some(candidate) {
            return Ok(false);
        }
        let log = match Peek::vote_request(step.handled) {
            Some((from, asked, log)) if from == candidate && asked == term => log,
            _ => match pending {
                Some(d) if d.term == term && d.candidate == candidate => d.log,
                _ => return Ok(false),
            },
        };
        let counter = raft.watermark().log;
        if log >= counter {
            return Ok(false);
        }
        let words = self
            .words
            .get(&step.id)
            .map_or(0, |w| w.ruling_out(step.incarnation, term, log));
        if words < self.needed {
            return Err(Violation::node(
                Invariant::Cons3,
                step.id,
                format!(
                    "n{} voted in term {} for n{}, whose log {log:?} is behind its counter {counter:?}, on {words} words of the term that no counter passed that log, where {} rule a commit past it out",
                    step.id.0, term.0, candidate.0, self.needed
                ),
            ));
        }
        Ok(true)
    }

    /// A deferral held before the step: kept until a vote, and given once
    /// the words that clear it are in.
    fn kept<C: VaultCrypto>(
        &self,
        step: &DeferralStep<'_, C>,
        pending: Option<Deferral>,
    ) -> Result<(), Violation> {
        let raft = step.node.raft();
        let Some(d) = pending else {
            return Ok(());
        };
        if raft.term() != d.term || raft.voted_for().is_some() {
            return Ok(());
        }
        let fail = |why: String| {
            Err(Violation::node(
                Invariant::Live2,
                step.id,
                format!(
                    "n{} {why} (its deferred vote in term {} for n{}, whose log ends at {:?})",
                    step.id.0, d.term.0, d.candidate.0, d.log
                ),
            ))
        };
        let Some((_, candidate)) = raft.deferred_vote().filter(|(t, _)| *t == d.term) else {
            return fail("dropped a deferred vote without voting in its term".into());
        };
        if candidate != d.candidate {
            // Replaced by a deferral for another candidate: judged as new.
            return Ok(());
        }
        let Some((_, Peek::Attested { term, .. })) = step.handled else {
            return Ok(());
        };
        let log = raft.log();
        let own = (log.last_term(), log.last_index());
        let counter = raft.watermark().log;
        let words = self
            .words
            .get(&step.id)
            .map_or(0, |w| w.ruling_out(step.incarnation, term, d.log));
        if term == d.term && own <= d.log && d.log < counter && words >= self.needed {
            return fail(format!(
                "still defers after a word of its term: {words} nodes said their counters never passed the candidate's log, and {} rule a commit past it out",
                self.needed
            ));
        }
        Ok(())
    }

    /// A deferral the step made is due: no vote yet in the term, and the
    /// candidate behind the counter but not the log.
    fn only_when_due<C: VaultCrypto>(
        &mut self,
        step: &DeferralStep<'_, C>,
    ) -> Result<(), Violation> {
        let raft = step.node.raft();
        let now = raft.deferred_vote();
        let before = match now {
            Some(deferred) => self.deferred.insert(step.id, deferred),
            None => self.deferred.remove(&step.id),
        };
        let asked = Peek::vote_request(step.handled);
        match (now, asked) {
            (None, _) => {
                self.pending.remove(&step.id);
                return Ok(());
            }
            (Some(_), _) if before == now => return Ok(()),
            (Some((term, candidate)), Some((from, asked, log)))
                if from == candidate && asked == term =>
            {
                self.pending.insert(
                    step.id,
                    Deferral {
                        incarnation: step.incarnation,
                        term,
                        candidate,
                        log,
                    },
                );
            }
            (Some(_), _) => {
                // Changed by no request of its own: nothing to judge it by.
                self.pending.remove(&step.id);
                return Ok(());
            }
        }
        let Some((term, candidate)) = now else {
            return Ok(());
        };
        let Some((_, _, theirs)) = asked else {
            return Ok(());
        };
        let log = raft.log();
        let own = (log.last_term(), log.last_index());
        let counter = raft.watermark().log;
        let why = if let Some(voted) = raft.voted_for() {
            format!("it had voted for n{} in that term", voted.0)
        } else if theirs < own {
            format!(
                "the candidate's log ends at {theirs:?}, behind its own {own:?}: a refusal was due"
            )
        } else if theirs >= counter {
            format!("the candidate's log ends at {theirs:?}, as far as its counter {counter:?}: the vote was due")
        } else {
            return Ok(());
        };
        Err(Violation::node(
            Invariant::Live2,
            step.id,
            format!(
                "n{} deferred its vote in term {} for n{} until the others' word: {why}",
                step.id.0, term.0, candidate.0
            ),
        ))
    }

    /// A request for the node's word is answered: the answer was sent in
    /// the step, or waits for the node's term to be durable.
    fn word_given<C: VaultCrypto>(step: &DeferralStep<'_, C>) -> Result<(), Violation> {
        let Some((asker, Peek::Attest { term })) = step.handled else {
            return Ok(());
        };
        let raft = step.node.raft();
        if raft.term() < term {
            // Ignored: a live leader is heard, and the asker's term is later.
            return Ok(());
        }
        let attested = |to: NodeId, m: &VaultPeerMessage<C>| {
            to == asker && matches!(m, PeerMessage::Attested { .. })
        };
        let sent = step.sent.iter().any(|(_, to, m)| attested(*to, m));
        let held = raft.held_messages().any(|(to, m)| attested(to, m));
        if sent || held {
            return Ok(());
        }
        Err(Violation::node(
            Invariant::Live2,
            step.id,
            format!(
                "n{} was asked its word in term {} by n{} and gave none (its term {}): the asker's deferred vote waits on it",
                step.id.0,
                term.0,
                asker.0,
                raft.term().0
            ),
        ))
    }

    /// A request from a candidate behind only the counter, to a node that
    /// has not voted in the term, is deferred (or granted).
    fn when_due<C: VaultCrypto>(&self, step: &DeferralStep<'_, C>) -> Result<(), Violation> {
        let raft = step.node.raft();
        let Some((from, term, theirs)) = Peek::vote_request(step.handled) else {
            return Ok(());
        };
        if term != raft.term() || raft.voted_for().is_some() {
            return Ok(());
        }
        let log = raft.log();
        let own = (log.last_term(), log.last_index());
        let counter = raft.watermark().log;
        if own <= theirs && theirs < counter && raft.deferred_vote() != Some((term, from)) {
            return Err(Violation::node(
                Invariant::Live2,
                step.id,
                format!(
                    "n{} refused n{} its vote in term {} without asking the others' word: the candidate's log ends at {theirs:?}, behind its counter {counter:?} but not its log {own:?}",
                    step.id.0, from.0, term.0
                ),
            ));
        }
        Ok(())
    }
}
