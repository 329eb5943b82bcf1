//! Consensus tests on a small in-memory cluster driven step by step.
//!
//! This harness is deliberately minimal: it lets a test choose exactly which
//! message is delivered, which write reaches the disk and which node crashes,
//! to build the scenarios below. Randomised whole-system runs belong to the
//! simulator in `sim/`.

use super::durable::{DiskWrite, Durable, WriteId};
use super::message::PeerMessage;
use super::{Raft, RaftEvent, Role, Timing};
use crate::flaws::VaultFlaw;
use crate::vault::ids::{LogIndex, Millis, NodeId, Term};
use crate::vault::quorum::ClusterConfig;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

type Cmd = u32;
/// The state machine: the commands applied so far.
type State = Vec<u32>;
type Msg = PeerMessage<Cmd, State>;

struct Node {
    raft: Option<Raft<Cmd, State>>,
    disk: Durable<Cmd, State>,
    /// Every disk state this node has had, for rollbacks.
    disk_history: Vec<Durable<Cmd, State>>,
    unsynced: Vec<(WriteId, DiskWrite<Cmd, State>)>,
    applied: LogIndex,
    state: State,
    /// The HSM's counter: survives crashes and disk rollbacks.
    nvram: super::watermark::Watermark,
}

struct Cluster {
    nodes: Vec<Node>,
    net: Vec<(NodeId, NodeId, Msg)>,
    now: Millis,
    rng: ChaCha8Rng,
    config: ClusterConfig,
    /// Disk writes reach the disk only on `sync` (else at once).
    lazy_disk: bool,
    /// term -> the leader seen in it (CONS-1).
    leaders: BTreeMap<Term, NodeId>,
    /// Every entry seen committed: index -> (term, command) (CONS-3).
    committed: BTreeMap<LogIndex, (Term, Option<Cmd>)>,
    compact_every: u64,
    /// Switch on the double-vote broken variant on every node (and restart).
    double_vote: bool,
    /// Restarted nodes get their HSM's counter back; without it, every
    /// restart is on a fresh HSM, and only R covers a rollback.
    hsm_counter: bool,
    /// Restarted nodes run the `hsm-counter-ignored` broken variant.
    ignore_counter: bool,
    /// Restarted nodes run this broken variant (if no other is asked).
    restart_flaw: Option<VaultFlaw>,
}

impl Cluster {
    fn new(n: u8, r: u8, seed: u64) -> Self {
        let config = ClusterConfig::new(n, r).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let nodes = config
            .members()
            .map(|id| Node {
                raft: Some(Raft::new(
                    id,
                    config,
                    Timing::DEFAULT,
                    Durable::default(),
                    Millis(0),
                    &mut rng,
                )),
                disk: Durable::default(),
                disk_history: vec![Durable::default()],
                unsynced: Vec::new(),
                applied: LogIndex(0),
                state: Vec::new(),
                nvram: Default::default(),
            })
            .collect();
        Cluster {
            nodes,
            net: Vec::new(),
            now: Millis(0),
            rng,
            config,
            lazy_disk: false,
            leaders: BTreeMap::new(),
            committed: BTreeMap::new(),
            compact_every: 0,
            double_vote: false,
            hsm_counter: false,
            ignore_counter: false,
            restart_flaw: None,
        }
    }

    fn raft(&self, i: usize) -> &Raft<Cmd, State> {
        self.nodes[i].raft.as_ref().expect("node is up")
    }

    fn sync(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(last) = node.unsynced.last().map(|w| w.0) else {
            return;
        };
        for (_, w) in node.unsynced.drain(..) {
            node.disk.apply(&w);
            node.disk_history.push(node.disk.clone());
        }
        if let Some(raft) = node.raft.as_mut() {
            raft.persisted(last);
        }
        self.flush(i);
    }

    /// Moves node i's outputs into the disk queue and the network, applies
    /// what is committed, and checks the invariants.
    fn flush(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(raft) = node.raft.as_mut() else {
            return;
        };
        node.nvram = raft.watermark();
        let super::Drained { writes, messages } = raft.take_outbox();
        for event in raft.take_events() {
            if let RaftEvent::Restore { index, state } = event {
                node.state = state;
                node.applied = index;
            }
        }
        for (to, m) in messages {
            self.net.push((NodeId(i as u8), to, m));
        }
        let wrote = !writes.is_empty();
        node.unsynced.extend(writes);
        if wrote && !self.lazy_disk {
            // `sync` reports the writes durable and flushes again.
            self.sync(i);
            return;
        }
        self.apply(i);
        self.check();
    }

    fn apply(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(raft) = node.raft.as_mut() else {
            return;
        };
        for (index, entry) in raft.committed_after(node.applied) {
            // Record every applied entry before compaction can drop it (CONS-3).
            let seen = self
                .committed
                .entry(index)
                .or_insert((entry.term, entry.command));
            assert_eq!(
                *seen,
                (entry.term, entry.command),
                "CONS-3: n{i} applies a different entry at {index:?}"
            );
            if let Some(c) = entry.command {
                node.state.push(c);
            }
            node.applied = index;
        }
        if self.compact_every > 0
            && node.applied.0 >= raft.log().base_index().0 + self.compact_every
        {
            raft.compact(node.applied, node.state.clone());
        }
    }

    /// Hands node `i` a message from `from` now, as the network would,
    /// without moving its outputs.
    fn step_now(&mut self, i: usize, from: usize, msg: Msg) {
        let now = self.now;
        let raft = self.nodes[i].raft.as_mut().expect("node is up");
        raft.step(NodeId(from as u8), msg, now, &mut self.rng);
    }

    fn deliver(&mut self, k: usize) {
        let (from, to, msg) = self.net.remove(k);
        let i = usize::from(to.0);
        if let Some(raft) = self.nodes[i].raft.as_mut() {
            raft.step(from, msg, self.now, &mut self.rng);
            self.flush(i);
        }
    }

    fn deliver_all(&mut self) {
        while !self.net.is_empty() {
            self.deliver(0);
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now.plus(ms);
        for i in 0..self.nodes.len() {
            if let Some(raft) = self.nodes[i].raft.as_mut() {
                raft.tick(self.now, &mut self.rng);
                self.flush(i);
            }
        }
    }

    fn run(&mut self, ms: u64) {
        for _ in 0..ms / 10 {
            self.advance(10);
            self.deliver_all();
        }
    }

    fn leader(&self) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| {
            self.nodes[i]
                .raft
                .as_ref()
                .is_some_and(|r| r.role() == Role::Leader)
        })
    }

    fn propose(&mut self, cmd: Cmd) -> bool {
        let Some(l) = self.leader() else { return false };
        let ok = self.nodes[l].raft.as_mut().unwrap().propose(cmd).is_ok();
        self.flush(l);
        ok
    }

    fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.raft = None;
        node.unsynced.clear();
        node.applied = LogIndex(0);
        node.state = Vec::new();
        self.net.retain(|(_, to, _)| usize::from(to.0) != i);
    }

    fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let disk = node.disk.clone();
        if let Some((index, _, state)) = &disk.snapshot {
            node.applied = *index;
            node.state = state.clone();
        }
        let raft = Raft::new(
            NodeId(i as u8),
            self.config,
            Timing::DEFAULT,
            disk,
            self.now,
            &mut self.rng,
        );
        let flaw = if self.ignore_counter {
            Some(VaultFlaw::HsmCounterIgnored)
        } else if self.double_vote {
            Some(VaultFlaw::DoubleVote)
        } else {
            self.restart_flaw
        };
        let mut raft = raft.with_flaw(flaw);
        if self.hsm_counter {
            raft = raft.with_watermark(node.nvram);
        }
        node.raft = Some(raft);
        self.flush(i);
    }

    /// The last of node `i`'s past disk states whose log lacks `cmd`.
    fn last_disk_without(&self, i: usize, cmd: Cmd) -> usize {
        self.nodes[i]
            .disk_history
            .iter()
            .rposition(|d| {
                !d.log
                    .slice_from(LogIndex(1), usize::MAX)
                    .iter()
                    .any(|e| e.command == Some(cmd))
            })
            .expect("the first disk state holds no command")
    }

    /// The node's disk goes back to the state it had after its `k`-th write.
    fn roll_back(&mut self, i: usize, k: usize) {
        let node = &mut self.nodes[i];
        node.disk = node.disk_history[k].clone();
    }

    fn check(&mut self) {
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(raft) = node.raft.as_ref() else {
                continue;
            };
            if raft.role() == Role::Leader {
                let prev = self.leaders.insert(raft.term(), NodeId(i as u8));
                assert!(
                    prev.is_none_or(|p| p == NodeId(i as u8)),
                    "CONS-1: two leaders in {:?}: {prev:?} and n{i}",
                    raft.term()
                );
            }
            // Record commits, and check they agree with earlier ones (CONS-3).
            let log = raft.log();
            let mut idx = log.base_index().next();
            while idx <= raft.commit_index() {
                let Some(e) = log.get(idx) else { break };
                match self.committed.get(&idx) {
                    Some(seen) => assert_eq!(
                        *seen,
                        (e.term, e.command),
                        "CONS-3: n{i} has a different entry committed at {idx:?}"
                    ),
                    None => {
                        self.committed.insert(idx, (e.term, e.command));
                    }
                }
                idx = idx.next();
            }
        }
        // CONS-2: if two logs hold an entry with the same index and term,
        // they hold the same entries up to it.
        for a in 0..self.nodes.len() {
            for b in a + 1..self.nodes.len() {
                let (Some(ra), Some(rb)) = (&self.nodes[a].raft, &self.nodes[b].raft) else {
                    continue;
                };
                let (la, lb) = (ra.log(), rb.log());
                let lo = la.base_index().max(lb.base_index()).next();
                let mut i = la.last_index().min(lb.last_index());
                while i >= lo && la.term_at(i) != lb.term_at(i) {
                    i = i.prev();
                }
                while i >= lo {
                    assert_eq!(
                        la.get(i),
                        lb.get(i),
                        "CONS-2: n{a} and n{b} differ at {i:?}"
                    );
                    i = i.prev();
                }
            }
        }
    }

    fn committed_commands(&self) -> Vec<Cmd> {
        self.committed.values().filter_map(|(_, c)| *c).collect()
    }
}

#[test]
fn five_nodes_elect_one_leader_and_replicate() {
    let mut c = Cluster::new(5, 0, 1);
    c.run(2000);
    let l = c.leader().expect("a leader within 2 s");
    for cmd in 1..=20 {
        assert!(c.propose(cmd));
    }
    c.run(500);
    assert_eq!(c.committed_commands(), (1..=20).collect::<Vec<_>>());
    for i in 0..5 {
        assert_eq!(c.nodes[i].state, (1..=20).collect::<Vec<_>>(), "n{i}");
    }
    assert_eq!(c.leader(), Some(l), "a stable cluster keeps its leader");
}

#[test]
fn a_new_leader_takes_over_after_a_crash_and_keeps_commits() {
    let mut c = Cluster::new(5, 0, 2);
    c.run(2000);
    let l = c.leader().unwrap();
    for cmd in 1..=5 {
        c.propose(cmd);
    }
    c.run(300);
    c.crash(l);
    c.run(3000);
    let l2 = c.leader().expect("a new leader");
    assert_ne!(l, l2);
    c.propose(6);
    c.run(300);
    c.restart(l);
    c.run(1000);
    assert_eq!(c.committed_commands(), (1..=6).collect::<Vec<_>>());
    assert_eq!(
        c.nodes[l].state,
        (1..=6).collect::<Vec<_>>(),
        "the old leader catches up"
    );
}

/// Three nodes compacting every 5 entries; a follower (the lagger) down
/// while `commands` commit. Returns the cluster, the leader, the lagger.
fn compacted_past_a_down_lagger(commands: Cmd) -> (Cluster, usize, usize) {
    let mut c = Cluster::new(3, 0, 3);
    c.compact_every = 5;
    c.run(2000);
    let l = c.leader().unwrap();
    let lagger = (l + 1) % 3;
    c.crash(lagger);
    for cmd in 1..=commands {
        c.propose(cmd);
        c.run(20);
    }
    c.run(200);
    assert!(
        c.raft(l).log().base_index() > LogIndex(u64::from(commands) / 4),
        "the leader compacted"
    );
    (c, l, lagger)
}

#[test]
fn a_node_down_long_catches_up_by_snapshot() {
    let (mut c, _, lagger) = compacted_past_a_down_lagger(40);
    c.restart(lagger);
    c.run(1000);
    assert_eq!(c.nodes[lagger].state, (1..=40).collect::<Vec<_>>());
    assert!(
        c.raft(lagger).snapshot().is_some(),
        "it caught up by snapshot"
    );
}

/// Brings the lagger back by snapshot under a leader with `flaw`, then
/// commits two more commands, fewer than a compaction interval: only
/// appends can bring those. Whether the lagger applied them.
fn appends_follow_a_snapshot(flaw: Option<VaultFlaw>) -> bool {
    let (mut c, l, lagger) = compacted_past_a_down_lagger(40);
    let raft = c.nodes[l].raft.take().unwrap();
    c.nodes[l].raft = Some(raft.with_flaw(flaw));
    c.restart(lagger);
    c.run(1000);
    assert!(
        c.raft(lagger).snapshot().is_some(),
        "it caught up by snapshot"
    );
    for cmd in 41..=42 {
        assert!(c.propose(cmd));
        c.run(20);
    }
    c.run(1000);
    c.nodes[lagger].state == (1..=42).collect::<Vec<_>>()
}

/// The follower's answer to a snapshot moves it on to appends: what was
/// committed after the snapshot reaches it without waiting for the next
/// compaction (LIVE-3).
#[test]
fn a_snapshot_answer_moves_the_follower_on_to_appends() {
    assert!(appends_follow_a_snapshot(None));
}

/// The broken variant: a leader that ignores the answer leaves the
/// follower behind the commit for ever.
#[test]
fn a_leader_ignoring_the_snapshot_answer_leaves_the_follower_behind() {
    assert!(!appends_follow_a_snapshot(Some(
        VaultFlaw::SnapshotReplyIgnored
    )));
}

/// How a follower answered a vote request.
struct VoteAnswer {
    /// What it sent the candidate.
    sent: Vec<Msg>,
    /// Whether it asked anyone for their word (`Attest`).
    asked: bool,
    /// The vote it put off.
    deferred: Option<(Term, NodeId)>,
    /// The vote it recorded.
    voted: Option<NodeId>,
}

/// A follower whose leader went quiet gets a vote request of a later term
/// from a candidate whose log is behind its own: its answer under `flaw`.
fn answer_to_a_candidate_behind_the_log(flaw: Option<VaultFlaw>) -> VoteAnswer {
    let mut c = Cluster::new(3, 1, 7);
    c.run(2000);
    let l = c.leader().expect("a leader");
    for cmd in 1..=3 {
        assert!(c.propose(cmd));
        c.run(20);
    }
    c.run(200);
    let (f, candidate) = ((l + 1) % 3, NodeId(((l + 2) % 3) as u8));
    c.crash(l);
    c.net.clear();
    let raft = c.nodes[f].raft.take().unwrap();
    c.nodes[f].raft = Some(raft.with_flaw(flaw));
    let term = Term(c.raft(f).term().0 + 1);
    assert!(c.raft(f).log().last_index() > LogIndex(0));
    let request = Msg::RequestVote {
        term,
        last_index: LogIndex(0),
        last_term: Term(0),
        reached: (Term(0), LogIndex(0)),
    };
    // Past the shortest election timeout: the leader is no longer heard.
    let now = c.now.plus(Timing::DEFAULT.election_max_ms);
    let raft = c.nodes[f].raft.as_mut().unwrap();
    raft.step(candidate, request, now, &mut c.rng);
    c.flush(f);
    let sent = c
        .net
        .iter()
        .filter(|(_, to, _)| *to == candidate)
        .map(|(_, _, m)| m.clone())
        .collect();
    let asked = c
        .net
        .iter()
        .any(|(_, _, m)| matches!(m, Msg::Attest { .. }));
    let raft = c.raft(f);
    VoteAnswer {
        sent,
        asked,
        deferred: raft.deferred_vote(),
        voted: raft.voted_for(),
    }
}

/// The vote rule refuses a candidate behind the voter's log at once: only
/// a candidate behind its counter alone waits for the others' word (LIVE-2).
#[test]
fn a_candidate_behind_the_log_is_refused_at_once() {
    let VoteAnswer {
        sent,
        asked,
        deferred,
        voted,
    } = answer_to_a_candidate_behind_the_log(None);
    assert!(
        matches!(sent[..], [Msg::Vote { granted: false, .. }]),
        "{sent:?}"
    );
    assert!(!asked);
    assert_eq!(deferred, None);
    assert_eq!(voted, None, "the vote of the term is still free");
}

/// The broken variant `refusal-recorded-as-vote`: the candidate is refused,
/// but the node spent its vote of the term on it.
#[test]
fn a_refusal_recorded_as_the_vote_spends_the_term() {
    let VoteAnswer { sent, voted, .. } =
        answer_to_a_candidate_behind_the_log(Some(VaultFlaw::RefusalRecordedAsVote));
    assert!(
        matches!(sent[..], [Msg::Vote { granted: false, .. }]),
        "{sent:?}"
    );
    assert!(voted.is_some());
}

/// The broken variant: the vote is put off, the others asked, and the
/// candidate gets no answer.
#[test]
fn deferring_a_candidate_behind_the_log_leaves_it_unanswered() {
    let VoteAnswer {
        sent,
        asked,
        deferred,
        ..
    } = answer_to_a_candidate_behind_the_log(Some(VaultFlaw::DeferBehindCandidate));
    assert!(sent.is_empty(), "{sent:?}");
    assert!(asked);
    assert!(deferred.is_some());
}

/// A snapshot carries the whole state: while one is on its way to a
/// follower, proposals do not send it again, and a lost one is sent again
/// only every `SNAPSHOT_RESEND_HEARTBEATS` heartbeats (here every snapshot
/// to the lagger is lost).
#[test]
fn a_snapshot_on_its_way_is_not_sent_again_with_every_proposal() {
    let (mut c, _, lagger) = compacted_past_a_down_lagger(20);
    c.restart(lagger);
    // Delivers every message but the snapshots to the lagger: those are
    // counted and lost.
    let drain = |c: &mut Cluster| {
        let mut snapshots = 0;
        while !c.net.is_empty() {
            let lost = usize::from(c.net[0].1 .0) == lagger
                && matches!(c.net[0].2, PeerMessage::InstallSnapshot { .. });
            if lost {
                c.net.remove(0);
                snapshots += 1;
            } else {
                c.deliver(0);
            }
        }
        snapshots
    };
    // The lagger refuses a heartbeat; the leader answers with a snapshot.
    let mut first = 0;
    while first == 0 {
        c.advance(10);
        first = drain(&mut c);
    }
    assert_eq!(first, 1);
    for cmd in 21..=30 {
        assert!(c.propose(cmd));
    }
    assert_eq!(drain(&mut c), 0, "not sent again with each proposal");
    let heartbeats = 4 * u64::from(super::SNAPSHOT_RESEND_HEARTBEATS);
    let mut sent = 0;
    for _ in 0..heartbeats * Timing::DEFAULT.heartbeat_ms / 10 {
        c.advance(10);
        sent += drain(&mut c);
    }
    // Without the wait: one per heartbeat (16). With it: one per 4.
    assert!(
        (3..=5).contains(&sent),
        "{sent} snapshots in {heartbeats} heartbeats"
    );
}

#[test]
fn a_partitioned_leader_stops_leading() {
    let mut c = Cluster::new(5, 0, 4);
    c.run(2000);
    let l = c.leader().unwrap();
    // Cut the leader off: drop everything to and from it.
    for _ in 0..200 {
        c.advance(10);
        c.net
            .retain(|(f, t, _)| usize::from(f.0) != l && usize::from(t.0) != l);
        c.deliver_all();
    }
    let roles: Vec<_> = (0..5).map(|i| c.raft(i).role()).collect();
    assert_ne!(roles[l], Role::Leader, "check-quorum: {roles:?}");
    let l2 = c.leader().expect("the majority elected a new leader");
    assert_ne!(l2, l);
}

#[test]
fn pre_vote_keeps_a_rejoining_node_from_disrupting_the_leader() {
    let mut c = Cluster::new(3, 0, 5);
    c.run(2000);
    let l = c.leader().unwrap();
    let term = c.raft(l).term();
    let loner = (l + 1) % 3;
    for _ in 0..300 {
        c.advance(10);
        c.net
            .retain(|(f, t, _)| usize::from(f.0) != loner && usize::from(t.0) != loner);
        c.deliver_all();
    }
    assert_eq!(
        c.raft(loner).term(),
        term,
        "pre-vote: no term inflation while cut off"
    );
    c.run(1000);
    assert_eq!(c.leader(), Some(l));
    assert_eq!(c.raft(l).term(), term);
}

/// Three nodes, R = 0, after an election: `flaw` switched on at the leader
/// (`at_leader`) or at one follower, and the leader has proposed command
/// 7, its messages still in the network. Returns the cluster, the
/// leader and that follower.
fn three_nodes_proposing(flaw: Option<VaultFlaw>, at_leader: bool) -> (Cluster, usize, usize) {
    let mut c = Cluster::new(3, 0, 11);
    c.run(2000);
    let l = c.leader().unwrap();
    let f = (l + 1) % 3;
    let n = if at_leader { l } else { f };
    c.nodes[n].raft = c.nodes[n].raft.take().map(|r| r.with_flaw(flaw));
    assert!(c.propose(7));
    (c, l, f)
}

/// How far a leader counts a follower after a late "matches up to the
/// end" answer of an earlier term reaches it, before the follower answered
/// in the leader's term.
fn counted_after_a_stale_answer(flaw: Option<VaultFlaw>) -> (LogIndex, LogIndex) {
    let (mut c, l, f) = three_nodes_proposing(flaw, true);
    c.net.clear();
    let term = c.raft(l).term();
    assert!(term > Term(0), "the election raised the term");
    let last = c.raft(l).log().last_index();
    let stale = Msg::AppendReply {
        term: Term(term.0 - 1),
        index: last,
        success: true,
    };
    c.step_now(l, f, stale);
    c.flush(l);
    let counted = c
        .raft(l)
        .matched()
        .into_iter()
        .find(|(id, _)| usize::from(id.0) == f)
        .map(|(_, m)| m)
        .unwrap();
    (counted, last)
}

/// An answer of an earlier term describes a log another leader shaped:
/// the leader does not count it (CONS-3's ground).
#[test]
fn a_leader_does_not_count_an_earlier_terms_answer() {
    let (counted, last) = counted_after_a_stale_answer(None);
    assert!(counted < last, "counted up to {counted:?} of {last:?}");
}

/// The broken variant counts it as an answer of its own term.
#[test]
fn a_leader_counting_stale_answers_counts_what_the_follower_never_said() {
    let (counted, last) = counted_after_a_stale_answer(Some(VaultFlaw::StaleAnswerCounted));
    assert_eq!(counted, last);
}

/// A follower holding an entry past its commit index is sent a snapshot
/// of an earlier term: the index its answer (in its own term) gives, the
/// follower's commit index, and its last index.
fn answer_to_a_stale_snapshot(flaw: Option<VaultFlaw>) -> (LogIndex, LogIndex, LogIndex) {
    let (mut c, l, f) = three_nodes_proposing(flaw, false);
    // Only the append reaches the follower: it holds the entry, uncommitted.
    let k = c
        .net
        .iter()
        .position(|(_, to, m)| usize::from(to.0) == f && matches!(m, Msg::Append { .. }))
        .expect("the leader sent the follower the entry");
    c.deliver(k);
    c.net.clear();
    let (commit, last) = (c.raft(f).commit_index(), c.raft(f).log().last_index());
    assert!(last > commit, "the follower holds an uncommitted entry");
    let term = c.raft(f).term();
    let stale = Msg::InstallSnapshot {
        term: Term(term.0 - 1),
        index: LogIndex(1),
        index_term: Term(term.0 - 1),
        snapshot: Vec::new(),
    };
    c.step_now(f, l, stale);
    let answer = c.nodes[f]
        .raft
        .as_mut()
        .unwrap()
        .take_outbox()
        .messages
        .into_iter()
        .find_map(|(_, m)| match m {
            Msg::SnapshotReply { term: t, index } => {
                assert_eq!(t, term, "the answer carries the follower's term");
                Some(index)
            }
            _ => None,
        })
        .expect("a snapshot of an earlier term is answered");
    (answer, commit, last)
}

/// The answer carries the follower's term, so a leader of that term counts
/// it: it claims only the committed prefix, which every such leader holds
/// (CONS-3's ground; the simulator's `check/acks.rs` judges the claim).
#[test]
fn a_stale_snapshot_is_answered_with_the_commit_index() {
    let (answer, commit, _) = answer_to_a_stale_snapshot(None);
    assert_eq!(answer, commit);
}

/// The broken variant claims the whole log, whose tail may be another
/// leader's entries.
#[test]
fn a_stale_snapshot_answered_with_the_log_claims_the_tail() {
    let (answer, _, last) =
        answer_to_a_stale_snapshot(Some(VaultFlaw::StaleSnapshotAnswerClaimsLog));
    assert_eq!(answer, last);
}

/// Takes out of the network every message `pick` names.
fn take_messages(c: &mut Cluster, pick: &dyn Fn(usize, usize, &Msg) -> bool) {
    c.net
        .retain(|(f, t, m)| !pick(usize::from(f.0), usize::from(t.0), m));
}

/// Delivers, one by one, every message `pick` names, including those the
/// deliveries send.
fn deliver_where(c: &mut Cluster, pick: &dyn Fn(usize, usize, &Msg) -> bool) {
    while let Some(k) = c
        .net
        .iter()
        .position(|(f, t, m)| pick(usize::from(f.0), usize::from(t.0), m))
    {
        c.deliver(k);
    }
}

/// Five nodes, R = 0, leader A in term t. An entry e (command 2) reaches
/// A, C and B, but B's disk is slow: its write and its acknowledgement
/// wait. C's disk is rolled back behind its counter and C campaigns for
/// t + 1, asking for words. B moves to t + 1 and gives its word before its
/// disk syncs; the sync then sends B's acknowledgement of e (term t) and
/// its word together, A commits e, and C counts B's word. Returns whether
/// e was committed, and whether C then leads (without e).
fn word_behind_a_held_acknowledgement(flaw: Option<VaultFlaw>) -> (bool, bool) {
    let mut c = Cluster::new(5, 0, 1);
    c.hsm_counter = true;
    c.run(2000);
    let a = c.leader().expect("a leader");
    let (b, cc, d, e) = ((a + 1) % 5, (a + 2) % 5, (a + 3) % 5, (a + 4) % 5);
    c.nodes[b].raft = c.nodes[b].raft.take().map(|r| r.with_flaw(flaw));
    assert!(c.propose(1));
    c.run(300);
    let t = c.raft(a).term();
    let k = c.raft(a).log().last_index();
    c.net.clear();
    c.lazy_disk = true;
    assert!(c.propose(2));
    c.sync(a);
    take_messages(&mut c, &|f, to, _| f == a && (to == d || to == e));
    deliver_where(&mut c, &|f, to, _| f == a && to == cc);
    c.sync(cc);
    deliver_where(&mut c, &|f, to, _| f == cc && to == a);
    assert_eq!(c.raft(a).commit_index(), k, "2 of 5 is no quorum");
    // B appends e; its write and its answer wait for its disk.
    deliver_where(&mut c, &|f, to, _| f == a && to == b);
    assert!(!c.nodes[b].unsynced.is_empty());
    c.net.clear();
    // C comes back from a disk without e, behind its counter.
    let before = c.last_disk_without(cc, 2);
    c.crash(cc);
    c.roll_back(cc, before);
    c.restart(cc);
    assert_eq!(c.raft(cc).watermark().log, (t, k.next()));
    c.now = c.now.plus(700);
    c.nodes[cc].raft.as_mut().unwrap().tick(c.now, &mut c.rng);
    c.flush(cc);
    take_messages(&mut c, &|f, to, _| f == cc && (to == a || to == b));
    deliver_where(&mut c, &|f, to, _| f == cc && (to == d || to == e));
    deliver_where(&mut c, &|f, to, _| to == cc && (f == d || f == e));
    assert_eq!(c.raft(cc).role(), Role::Candidate);
    c.sync(cc);
    take_messages(&mut c, &|_, to, _| to == a);
    deliver_where(&mut c, &|f, to, _| f == cc && (to == d || to == e));
    c.sync(d);
    c.sync(e);
    // B moves to t + 1, refuses the vote (it holds e) and gives its word.
    deliver_where(&mut c, &|f, to, _| f == cc && to == b);
    c.sync(b);
    deliver_where(&mut c, &|f, to, m| {
        f == b && to == a && matches!(m, PeerMessage::AppendReply { .. })
    });
    let committed = c.committed_commands().contains(&2);
    deliver_where(&mut c, &|_, to, _| to == cc);
    (committed, c.raft(cc).role() == Role::Leader)
}

/// A word covers the writes queued before it: B's says it reached e, and
/// C, which lacks e, does not lead on it (CONS-3; found by an outside
/// reviewer in the product).
#[test]
fn a_word_covers_the_acknowledgements_that_leave_with_it() {
    let (committed, c_leads) = word_behind_a_held_acknowledgement(None);
    assert!(committed, "A committed e on B's acknowledgement");
    assert!(!c_leads, "C leads without the committed e");
}

/// The broken variant reads the word from the counter alone: C leads
/// without the committed e, whose index its no-op then takes.
#[test]
fn a_word_from_the_counter_alone_lets_a_leader_lose_a_commit() {
    let (committed, c_leads) =
        word_behind_a_held_acknowledgement(Some(VaultFlaw::WordOmitsQueuedWrites));
    assert!(committed && c_leads);
}

/// A node of a 3-node cluster asks for pre-votes, is refused by one peer
/// in its own term, then granted by the other: its role after each answer.
fn pre_vote_through_a_refusal(flaw: Option<VaultFlaw>) -> (Role, Role) {
    let mut c = Cluster::new(3, 0, 3);
    c.nodes[0].raft = c.nodes[0].raft.take().map(|r| r.with_flaw(flaw));
    // No messages delivered: every node times out and asks for pre-votes.
    c.advance(Timing::DEFAULT.election_max_ms + 10);
    c.net.clear();
    assert_eq!(c.raft(0).role(), Role::PreCandidate);
    let term = c.raft(0).term();
    let now = c.now;
    let answer = |c: &mut Cluster, from: u8, msg: Msg| {
        let raft = c.nodes[0].raft.as_mut().unwrap();
        raft.step(NodeId(from), msg, now, &mut c.rng);
        c.flush(0);
        c.raft(0).role()
    };
    let refused = answer(
        &mut c,
        1,
        Msg::PreVoteReply {
            term,
            granted: false,
        },
    );
    let granted = answer(
        &mut c,
        2,
        Msg::PreVoteReply {
            term: term.next(),
            granted: true,
        },
    );
    (refused, granted)
}

/// A refusal of the pre-candidate's own term ends nothing: the next grant
/// makes the quorum and the election starts (LIVE-2).
#[test]
fn a_pre_vote_goes_on_through_a_refusal_of_its_own_term() {
    assert_eq!(
        pre_vote_through_a_refusal(None),
        (Role::PreCandidate, Role::Candidate)
    );
}

/// The broken variant gives up at the refusal, and the grant that would
/// have made the quorum finds it following.
#[test]
fn a_pre_vote_given_up_on_a_refusal_misses_the_quorum() {
    assert_eq!(
        pre_vote_through_a_refusal(Some(VaultFlaw::PreVoteGivesUpOnRefusal)),
        (Role::Follower, Role::Follower)
    );
}

/// `steps` random steps: delivery in any order, drops, duplicates, disk
/// syncs, clock ticks, proposals, crashes losing unsynced writes, restarts.
/// The cluster checks the invariants after every step.
fn chaos(c: &mut Cluster, steps: usize) {
    let mut next_cmd = 1;
    for _ in 0..steps {
        let roll = c.rng.next_u32() % 100;
        let n = c.nodes.len();
        let i = (c.rng.next_u32() as usize) % n;
        match roll {
            0..=39 if !c.net.is_empty() => {
                let k = (c.rng.next_u32() as usize) % c.net.len();
                c.deliver(k);
            }
            40..=44 if !c.net.is_empty() => {
                let k = (c.rng.next_u32() as usize) % c.net.len();
                c.net.remove(k);
            }
            45..=47 if !c.net.is_empty() => {
                let k = (c.rng.next_u32() as usize) % c.net.len();
                let dup = c.net[k].clone();
                c.net.push(dup);
            }
            48..=69 => c.sync(i),
            70..=84 => c.advance(10),
            85..=91 if c.propose(next_cmd) => next_cmd += 1,
            92 if c.nodes[i].raft.is_some() => c.crash(i),
            94..=97 if c.nodes[i].raft.is_none() => c.restart(i),
            _ => {}
        }
    }
}

/// The CONS-1 check bites: with the broken variant that votes twice in a
/// term, the same random schedules elect two leaders in one term.
#[test]
#[should_panic(expected = "CONS-1")]
fn double_voting_is_caught_as_two_leaders_in_a_term() {
    for seed in 0..40 {
        let mut c = Cluster::new(5, 0, seed);
        c.lazy_disk = true;
        c.double_vote = true;
        for node in &mut c.nodes {
            let raft = node.raft.take().unwrap();
            node.raft = Some(raft.with_flaw(Some(VaultFlaw::DoubleVote)));
        }
        chaos(&mut c, 4000);
    }
}

/// Randomised schedules: drops, duplicates, reordering, crashes with
/// unsynced writes lost. The invariants are checked after every step.
#[test]
fn random_schedules_keep_cons_1_2_3() {
    let (mut total_committed, mut max_term) = (0, 0);
    for seed in 0..40 {
        let mut c = Cluster::new(5, 0, seed);
        c.lazy_disk = true;
        c.compact_every = 7;
        chaos(&mut c, 4000);
        // Heal: everyone up, disks synced, run until a leader commits.
        for i in 0..c.nodes.len() {
            if c.nodes[i].raft.is_none() {
                c.restart(i);
            }
        }
        c.lazy_disk = false;
        for i in 0..c.nodes.len() {
            c.sync(i);
        }
        c.run(3000);
        assert!(c.propose(1_000_000), "seed {seed}: no leader after healing");
        c.run(1000);
        assert_eq!(
            c.committed_commands().last(),
            Some(&1_000_000),
            "seed {seed}"
        );
        total_committed += c.committed.len();
        max_term = max_term.max(c.leaders.keys().last().copied().unwrap_or_default().0);
    }
    // The schedules are not vacuous: elections happen and entries commit.
    assert!(total_committed > 40 * 10, "only {total_committed} commits");
    assert!(max_term > 3, "terms reached only {max_term}");
}

/// Five nodes. The leader L replicates command 7 to L and the nodes in
/// `with`, so it commits there, while the others miss it. Then `with[0]`'s
/// disk is rolled back to before command 7, L crashes, and the rest (with
/// the rolled-back node restarted) elect a new leader.
fn rollback_scenario(r: u8, with: usize) -> Cluster {
    rollback_scenario_with(r, with, false)
}

fn rollback_scenario_with(r: u8, with: usize, hsm_counter: bool) -> Cluster {
    let mut c = Cluster::new(5, r, 11);
    c.hsm_counter = hsm_counter;
    c.run(2000);
    let l = c.leader().unwrap();
    let holders: Vec<usize> = (1..=with).map(|k| (l + k) % 5).collect();
    let cut = |c: &mut Cluster| {
        c.net.retain(|(f, t, _)| {
            let (f, t) = (usize::from(f.0), usize::from(t.0));
            let inside = |x: usize| x == l || holders.contains(&x);
            inside(f) == inside(t)
        })
    };
    assert!(c.propose(7));
    for _ in 0..30 {
        cut(&mut c);
        c.advance(10);
        cut(&mut c);
        c.deliver_all();
    }
    assert!(c.committed_commands().contains(&7), "command 7 committed");
    let victim = holders[0];
    let before = c.last_disk_without(victim, 7);
    c.crash(l);
    c.crash(victim);
    c.roll_back(victim, before);
    c.restart(victim);
    c.run(3000);
    c
}

#[test]
fn minority_rollback_with_r1_keeps_every_commit() {
    // R = 1: quorum 4 of 5. Command 7 reached L and 3 others; one of them
    // is rolled back and L is down, so any new leader needs the votes of
    // the two untouched holders, which only a log with command 7 gets.
    let mut c = rollback_scenario(1, 3);
    assert!(c.leader().is_some(), "four nodes still make progress");
    assert!(c.propose(8));
    c.run(1000);
    let cmds = c.committed_commands();
    assert_eq!(&cmds[cmds.len() - 2..], &[7, 8], "{cmds:?}");
}

#[test]
#[should_panic(expected = "CONS-3")]
fn minority_rollback_with_r0_breaks_a_commit() {
    // R = 0: quorum 3 of 5. Command 7 reached L and 2 others; one is rolled
    // back and L is down: the rolled-back node and the two that never had
    // command 7 elect a leader without it, and the commit is lost. The
    // checker must notice; this is the unsafe configuration failing.
    let mut c = rollback_scenario(0, 2);
    c.propose(8);
    c.run(1000);
}

/// Delivers messages (and the messages they cause) until the network is
/// empty, dropping every message `cut(from, to, msg)` selects.
fn deliver_all_except(c: &mut Cluster, cut: &dyn Fn(usize, usize, &Msg) -> bool) {
    loop {
        c.net
            .retain(|(f, t, m)| !cut(usize::from(f.0), usize::from(t.0), m));
        if c.net.is_empty() {
            return;
        }
        c.deliver(0);
    }
}

fn run_except(c: &mut Cluster, ms: u64, cut: &dyn Fn(usize, usize, &Msg) -> bool) {
    for _ in 0..ms / 10 {
        c.advance(10);
        deliver_all_except(c, cut);
    }
}

/// LIVE-1 after a rollback. Five nodes, R = 1 (quorum 4). The leader L
/// appends entries that only B = {b0, b1} receive (A = {a0, a1} are cut
/// off). Then B is cut off except for pre-votes: L loses its quorum, wins a
/// pre-vote (A and B grant), and asks for votes in term t+1, which only A
/// receive, so A move to t+1 and vote for L, but the election fails. L
/// crashes and its disk comes back as it was before the entries (term t).
///
/// Now no node has both the highest term and the longest log: A are at t+1
/// with the short log, B at t with the long one, L at t with the short one.
/// A's pre-votes (for t+2) are refused by B (log behind); B's pre-votes (for
/// t+1) are refused by A (not above A's term), and pre-votes never raise a
/// term, so neither side reaches 4 grants, forever. A refusal must carry the
/// refuser's higher term so B can move up to it (as etcd's raft does).
#[test]
fn a_rolled_back_candidate_does_not_leave_the_cluster_leaderless() {
    let mut c = Cluster::new(5, 1, 21);
    c.run(2000);
    let l = c.leader().expect("a leader within 2 s");
    let t = c.raft(l).term();
    let a = [(l + 1) % 5, (l + 2) % 5];
    let b = [(l + 3) % 5, (l + 4) % 5];
    let before = c.nodes[l].disk_history.len() - 1;
    // L and B hold entries 1..=3; A never see them.
    let cut_a = |f: usize, t: usize, _: &Msg| a.contains(&f) || a.contains(&t);
    for cmd in 1..=3 {
        assert!(c.propose(cmd));
        run_except(&mut c, 20, &cut_a);
    }
    // B are cut off, except for L's pre-vote and their answers; A hear
    // L's election messages, but no entries.
    let cut_b = |f: usize, t: usize, m: &Msg| {
        let with_b = b.contains(&f) || b.contains(&t);
        let pre_vote = matches!(m, PeerMessage::PreVote { .. }) && f == l
            || matches!(m, PeerMessage::PreVoteReply { .. }) && t == l;
        let with_a = a.contains(&f) || a.contains(&t);
        let election = matches!(
            m,
            PeerMessage::PreVote { .. }
                | PeerMessage::PreVoteReply { .. }
                | PeerMessage::RequestVote { .. }
                | PeerMessage::Vote { .. }
        );
        (with_b && !pre_vote) || (with_a && !election)
    };
    for _ in 0..300 {
        run_except(&mut c, 10, &cut_b);
        if c.raft(l).role() == Role::Candidate {
            break;
        }
    }
    assert_eq!(c.raft(l).role(), Role::Candidate, "L asks for votes");
    run_except(&mut c, 20, &cut_b);
    for i in a {
        assert_eq!(c.raft(i).term(), t.next(), "n{i} moved to L's term");
        assert_eq!(c.raft(i).voted_for(), Some(NodeId(l as u8)));
    }
    for i in b {
        assert_eq!(c.raft(i).term(), t, "n{i} never heard of term t+1");
        assert!(c.raft(i).log().last_index() > c.raft(a[0]).log().last_index());
    }
    // L comes back from an older disk: term t, without entries 1..=3.
    c.crash(l);
    c.roll_back(l, before);
    c.restart(l);
    assert_eq!(c.raft(l).term(), t);
    // Every fault healed: a leader must be elected.
    c.run(10_000);
    assert!(c.leader().is_some(), "no leader 10 s after the heal");
    assert!(c.propose(4));
    c.run(500);
    assert_eq!(c.committed_commands(), vec![1, 2, 3, 4]);
}

#[test]
fn minority_rollback_with_r0_keeps_every_commit_with_the_hsm_counter() {
    // The scenario that loses a commit at R = 0, with the rolled-back node's
    // HSM counter intact: it refuses to vote for a log behind the one it
    // acknowledged, so no leader without command 7 is elected.
    let mut c = rollback_scenario_with(0, 2, true);
    c.propose(8);
    c.run(1000);
    assert!(c.committed_commands().contains(&7));
}

/// Three nodes, R = 0, commit command 7; then every node crashes and every
/// disk comes back as it was before command 7 (what an operator running
/// every host can do), and the nodes restart.
fn every_disk_rolled_back(hsm_counter: bool, ignore_counter: bool) -> Cluster {
    let mut c = Cluster::new(3, 0, 5);
    c.hsm_counter = hsm_counter;
    c.ignore_counter = ignore_counter;
    commit_7_then_roll_back_every_disk(&mut c);
    for i in 0..3 {
        c.restart(i);
    }
    c
}

/// Commits command 7, then crashes every node and puts each disk back as
/// it was before command 7; the nodes stay down.
fn commit_7_then_roll_back_every_disk(c: &mut Cluster) {
    c.run(2000);
    assert!(c.propose(7));
    c.run(500);
    assert!(c.committed_commands().contains(&7), "command 7 committed");
    let before: Vec<usize> = (0..3).map(|i| c.last_disk_without(i, 7)).collect();
    for (i, k) in before.into_iter().enumerate() {
        c.crash(i);
        c.roll_back(i, k);
    }
}

#[test]
fn every_disk_rolled_back_costs_liveness_and_no_commit() {
    let mut c = every_disk_rolled_back(true, false);
    // No node votes for a log behind the one it acknowledged: no leader,
    // so nothing can be committed over command 7 (CONS-3 checked at every
    // step by the harness).
    c.run(5000);
    assert_eq!(c.leader(), None, "no leader from logs that lost a commit");
    assert!(!c.propose(8));
}

#[test]
#[should_panic(expected = "CONS-3")]
fn every_disk_rolled_back_loses_a_commit_when_the_counter_is_ignored() {
    let mut c = every_disk_rolled_back(true, true);
    c.run(3000);
    c.propose(8);
    c.run(1000);
}

/// Three nodes, R = 1 (quorum 3: every vote is needed). The leader L
/// appends command 7 and makes it durable, so its HSM's counter reaches it,
/// but no follower ever receives it. L crashes and its disk comes back as it
/// was before command 7. Command 7 exists nowhere now and was never
/// committed, yet L's counter is ahead of every log: L refuses every
/// candidate, and behind its own counter cannot lead on its own word.
fn lone_tail_rolled_back(seed: u64) -> (Cluster, usize) {
    let mut c = Cluster::new(3, 1, seed);
    c.hsm_counter = true;
    c.run(2000);
    let l = c.leader().expect("a leader within 2 s");
    assert!(c.propose(7));
    let from_l = |f: usize, _: usize, _: &Msg| f == l;
    deliver_all_except(&mut c, &from_l);
    assert!(c.raft(l).watermark().log.1 > c.raft((l + 1) % 3).log().last_index());
    let before = c.last_disk_without(l, 7);
    c.crash(l);
    c.roll_back(l, before);
    c.restart(l);
    (c, l)
}

#[test]
fn a_rolled_back_tail_held_nowhere_else_does_not_block_elections() {
    for seed in 0..8 {
        let (mut c, _) = lone_tail_rolled_back(seed);
        // The two others prove to L's HSM, in the new term, that their
        // counters never reached past their logs: with L, at most 1 < 3
        // nodes ever held command 7, so it cannot have been committed.
        // Their word lets L vote for one of them, or lead itself (its log
        // is theirs): either way command 7 is gone (only 8 is committed).
        c.run(10_000);
        c.leader().expect("a leader after the rolled-back tail");
        assert!(c.propose(8));
        c.run(500);
        assert_eq!(c.committed_commands(), vec![8], "seed {seed}");
    }
}

/// As [`lone_tail_rolled_back`], but L appends commands 7 and 8, neither
/// of which leaves it, and its disk comes back with 7 and without 8: L's
/// log is still ahead of every other (it alone holds 7), so it refuses
/// every other candidate, yet behind its own counter (8).
fn lone_tail_partly_rolled_back(seed: u64) -> (Cluster, usize) {
    let mut c = Cluster::new(3, 1, seed);
    c.hsm_counter = true;
    c.run(2000);
    let l = c.leader().expect("a leader within 2 s");
    let from_l = |f: usize, _: usize, _: &Msg| f == l;
    assert!(c.propose(7));
    deliver_all_except(&mut c, &from_l);
    assert!(c.propose(8));
    deliver_all_except(&mut c, &from_l);
    let before = c.last_disk_without(l, 8);
    c.crash(l);
    c.roll_back(l, before);
    c.restart(l);
    let (own, counter) = (c.raft(l).log(), c.raft(l).watermark().log);
    assert!((own.last_term(), own.last_index()) < counter);
    for i in (0..3).filter(|&i| i != l) {
        assert!(c.raft(i).log().last_index() < own.last_index());
    }
    (c, l)
}

#[test]
fn a_partly_rolled_back_lone_tail_does_not_block_elections() {
    for seed in 0..8 {
        let (mut c, l) = lone_tail_partly_rolled_back(seed);
        // Only L can win (the others are behind its log), and it may lead
        // behind its counter once both others said, in the new term, that
        // they never reached past its log: command 8 was never committed.
        c.run(10_000);
        assert_eq!(c.leader(), Some(l), "seed {seed}: L holds the longest log");
        assert!(c.propose(9));
        c.run(500);
        assert_eq!(c.committed_commands(), vec![7, 9], "seed {seed}");
    }
}

/// Three nodes, R = 1, command 7 committed on all three; then every disk
/// comes back as it was before command 7, and node `replaced`'s HSM is new
/// (an empty counter, the case R covers), before all restart. Node
/// `replaced` now has no memory of command 7 and its word that it never
/// held it is false; the other two counters still reach it.
fn every_disk_rolled_back_one_hsm_replaced(flaw: Option<VaultFlaw>) -> Cluster {
    let mut c = Cluster::new(3, 1, 5);
    c.hsm_counter = true;
    commit_7_then_roll_back_every_disk(&mut c);
    let replaced = 0;
    c.nodes[replaced].nvram = Default::default();
    for i in 0..3 {
        c.restart(i);
        let raft = c.nodes[i].raft.take().unwrap().with_flaw(flaw);
        c.nodes[i].raft = Some(raft);
    }
    c
}

#[test]
fn a_replaced_hsms_word_does_not_rule_out_a_commit() {
    // Node 0's word alone would satisfy N - quorum + 1 = 1; R = 1 asks for
    // one word more, and node 1's or 2's counter is past command 7.
    let mut c = every_disk_rolled_back_one_hsm_replaced(None);
    c.run(5000);
    assert_eq!(c.leader(), None, "no leader from logs that lost a commit");
}

#[test]
#[should_panic(expected = "CONS-3")]
fn a_lost_tail_ruled_out_without_the_rollback_margin_loses_a_commit() {
    let mut c =
        every_disk_rolled_back_one_hsm_replaced(Some(VaultFlaw::LostTailWithoutRollbackMargin));
    c.run(5000);
    c.propose(8);
    c.run(1000);
}

/// Three nodes, R = 0. A follower that voted for the leader has its disk
/// rolled back to before the term and restarts (its HSM restores the term
/// and the vote), catches up under the same leader with every write
/// synced, and then has only its HSM replaced, its disk left as it is (a
/// fault the design takes on any number of nodes). Under `flaw` at its
/// restarts: whether its disk had fallen behind the term and vote it acted
/// on, and whether it then grants a rival's request in the term it had
/// already voted in.
fn second_vote_after_a_new_hsm(flaw: Option<VaultFlaw>) -> (bool, bool) {
    let mut c = Cluster::new(3, 0, 11);
    c.hsm_counter = true;
    c.restart_flaw = flaw;
    c.run(3000);
    let l = c.leader().expect("a leader");
    let term = c.raft(l).term();
    let v = (0..3)
        .find(|&i| {
            i != l && c.raft(i).term() == term && c.raft(i).voted_for() == Some(NodeId(l as u8))
        })
        .expect("a voter for the leader in its term");
    let k = c.nodes[v]
        .disk_history
        .iter()
        .rposition(|d| d.term < term)
        .expect("a disk state before the term");
    c.crash(v);
    c.roll_back(v, k);
    c.restart(v);
    assert_eq!(
        (c.raft(v).term(), c.raft(v).voted_for()),
        (term, Some(NodeId(l as u8))),
        "the HSM restores the term and the vote"
    );
    for cmd in 1..=3 {
        c.propose(cmd);
        c.run(200);
    }
    assert_eq!(c.leader(), Some(l));
    assert!(c.nodes[v].unsynced.is_empty(), "every write is synced");
    let disk = &c.nodes[v].disk;
    let behind = (disk.term, disk.voted_for) != (term, Some(NodeId(l as u8)));
    c.crash(v);
    c.nodes[v].nvram = Default::default();
    c.restart(v);
    let rival = 3 - l - v;
    let (last_index, last_term) = (c.raft(v).log().last_index(), c.raft(v).log().last_term());
    c.step_now(
        v,
        rival,
        PeerMessage::RequestVote {
            term,
            last_index,
            last_term,
            reached: (last_term, last_index),
        },
    );
    let granted = c.raft(v).term() == term && c.raft(v).voted_for() == Some(NodeId(rival as u8));
    (behind, granted)
}

/// The restored hard state is written back at the restart, so the disk
/// holds the vote once synced, and a new HSM on it changes nothing (CONS-1;
/// the simulator's `disk_holds_the_log` checks the same at every sync).
#[test]
fn a_restored_hard_state_is_written_back() {
    assert_eq!(second_vote_after_a_new_hsm(None), (false, false));
}

/// The broken variant keeps it in memory only: the disk stays behind, and
/// after a new HSM the node votes a second time in the term.
#[test]
fn a_restored_hard_state_kept_in_memory_gives_a_second_vote() {
    assert_eq!(
        second_vote_after_a_new_hsm(Some(VaultFlaw::RestoredHardStateUnwritten)),
        (true, true)
    );
}
