//! Nemesis schedules: faults aimed at the moments where consensus breaks,
//! rather than struck at random times. A bug that fires in 0.3% of random
//! seeds needs thousands of them; a schedule that watches for the moment
//! (a leader that just appended, a candidate mid-election, a commit that
//! just advanced) hits it in most seeds that pick it.
//!
//! The swarm picks at most one schedule per seed, from its own RNG stream
//! (`FaultMix::nemesis`), so the random faults a seed draws do not change
//! with it. A schedule acts only while faults are on, through the same
//! fault primitives as the random injector (crash, restart with a rolled
//! back disk, isolate, heal, and a late copy of a genuine sealed message,
//! as a duplicating network delivers one), and every act is in the trace.

use super::scenario::FaultKind;
use super::trace::Party;
use super::{Ev, Phase, World};
use backup_vault::vault::crypto::RegistrationId;
use backup_vault::vault::ids::{NodeId, Term};
use backup_vault::vault::node::{ClientId, RequestId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault::vault::raft::message::PeerMessage;
use backup_vault::vault::raft::Role;
use backup_vault::vault::sealed::SealedMessage;
use rand_chacha::rand_core::RngCore;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// A schedule the swarm can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Nemesis {
    /// Cut the leader off from every peer just after it sends new entries:
    /// they are on its disk, maybe on a minority, and a new leader is
    /// elected without them.
    IsolateLeaderAfterAppend,
    /// Crash a candidate, or a node it asked for a vote, mid-election.
    CrashMidElection,
    /// A partition that moves every fault tick (200 ms), faster than an
    /// election completes under load: leaders come and go.
    FlappingPartition,
    /// Crash a node whose disk may roll back just after its commit index
    /// advanced, and restart it with its disk rolled back (R's case: it
    /// forgets entries it acknowledged).
    RollbackAfterCommit,
    /// Cut the leader off just after it appends, so that it goes on taking
    /// requests into a log that grows in its old term while the others
    /// elect a leader and commit in a newer one; then, as the partition
    /// heals, crash that newer leader: the election that follows pits a
    /// longer log from an older term against shorter, newer ones, which
    /// Raft's up-to-date rule (last term first) must decide for the newer.
    StaleLogLeader,
    /// Keep copies of the last messages sent to each node (the followers'
    /// answers apart from the rest), and when a leader of a newer term
    /// takes over, deliver the copies from older terms late to the nodes
    /// they were for: vote requests and votes, appends, snapshots and their
    /// answers, which a node must recognise as stale by their term alone (a
    /// node that leads again gets the answers of its earlier leadership).
    LateOldTermMessages,
    /// Crash the leader just after it sends new entries, before they can
    /// reach a quorum: logs diverge at their tails across terms, the ground
    /// on which a leader must not commit an earlier term's entry by
    /// counting its replicas (Raft's figure 8).
    CrashLeaderAfterAppend,
    /// Crash a node just after it grants a vote, bring it back within
    /// milliseconds, and deliver it late copies of the vote requests other
    /// candidates sent it in that term (as a duplicating network would),
    /// while the candidate it voted for is cut off from everyone else: a
    /// vote that left before it was durable is forgotten, and the node
    /// grants it again to a rival of the same term, who wins it too.
    CrashAfterVote,
    /// The chat server and the cloud stand in the way of one honest
    /// operation in two begun while faults are on, until the heal: a
    /// login's finish is answered "expired", a registration's staging
    /// "stale ticket" (one in four "unknown registration"), and during a
    /// backup the cloud answers every read of a backup object "not found".
    /// A client starts over as its budgets allow and then gives up
    /// (failures under faults are allowed); one whose budgets are wrong
    /// loops until the heal or gives up early, which LIVE-4 counts
    /// (`check/budgets.rs`). Aimed at clients, not consensus.
    ObstructClients,
    /// Cut a new leader off from its peers before it can open its term (it
    /// cannot commit its first entry without them), and have the replayer
    /// send it one of the devices' requests more times than a leader may
    /// hold requests until then, as a client that resends without pause or
    /// the chat server can. The leader must answer `Retry` beyond its bound
    /// (LOAD-1) and, once check-quorum steps it down, `NotLeader` to what
    /// it held.
    FloodNewLeader,
    /// Cut a leader whose disk may roll back off from its peers just after
    /// it sends new entries, so that what it appends next stays on its own
    /// disk; then crash it and restart it from its disk as it was before
    /// its last entry, its HSM kept: it lost part of a tail no other node holds,
    /// so its log may still be ahead of every other (it refuses them all)
    /// and behind its own counter. Where the quorum needs its vote (3
    /// nodes, R = 1) only it can be elected, on the others' word that no
    /// quorum held what it lost (seed 590's case, `raft/watermark.rs`).
    /// The schedule keeps one of the R places of nodes whose disks may go
    /// back for the first leader it acts on. Aimed only: not among the
    /// swarm's picks ([`Nemesis::SWARM`]).
    LoneTailRollback,
    /// As `crash-after-vote`, but the voter (one of the R nodes whose
    /// disks may go back, or the first voter it acts on, for which the
    /// schedule keeps a place) comes back with its disk's last record lost,
    /// its HSM kept: the vote's own write, after the one that moved it to
    /// the term. Its disk then says "this term, no vote", and only the
    /// HSM's counter remembers the vote when the rival's request of that
    /// term comes late. Aimed only ([`Nemesis::SWARM`]).
    RolledBackVote,
    /// Cut a leader off from its peers when it sends new entries after it
    /// answered an activation, its links to the clients kept: in its own
    /// eyes it leads until check-quorum steps it down, up to the longest
    /// election timeout later, while the others may elect a leader sooner.
    /// The followers' acknowledgements of those last entries are held
    /// back, as a slow network would. Once a newer leader has opened its
    /// term, the guesser starts a login of the activation's user there with
    /// a wrong password (an attempt consumed: the record changed), and once
    /// that is answered the chat server sends the leader cut off a copy of
    /// the activation; when the copy reaches it, the held acknowledgements
    /// are delivered, so that entries it proposed before the read commit.
    /// A leader that has been replaced and has not noticed must not answer
    /// the copy from its store (CONS-4's stale answers,
    /// `check/answers.rs`): only once an entry proposed after the read
    /// commits (the read barrier), which cut off it cannot reach. Aimed
    /// only ([`Nemesis::SWARM`]).
    ResendToDeposedLeader,
    /// While faults are on, the cloud answers every put of the manifest by
    /// one honest device's backups "unavailable", and that device backs up
    /// again soon after each failure: each backup fails after its bytes
    /// are on their name, and the names left outnumber the conflict budget
    /// long before the heal. A device that starts its next backup below
    /// them (at its acknowledged generation) meets each as a conflict, and
    /// once the cloud is healed still cannot back up (LIVE-5; the floor is
    /// `DeviceState::written`, `impl/src/client/flows/backup.rs`). Aimed
    /// only ([`Nemesis::SWARM`]).
    FailedBackups,
    /// One honest device writes a name a disable deleted, with a history
    /// not its own: it crashes just after a backup's put is stored (so the
    /// name never reaches its saved floor), then its next operation is a
    /// disable, crashed just after it deletes that name (the device keeps
    /// K), and its next backup writes that name again; in one seed in two
    /// that put's answer is lost (stored, answered "unavailable"), so the
    /// device finds its own bytes above a version it cannot account for.
    /// The backup must move on (`flows/backup.rs`, the version rule): an
    /// acknowledgement of that name would leave the deleted bytes under it
    /// as an older version, which DUR-1 judges at the acknowledgement.
    /// Aimed only ([`Nemesis::SWARM`]).
    RewrittenName,
}

/// Where `rewritten-name` is with its device (see [`Nemesis::RewrittenName`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Rewrite {
    /// Waiting for a backup's put to be stored, to crash the device.
    #[default]
    CrashAfterPut,
    /// The device crashed after putting `name`; its next operation is a
    /// disable, crashed once it has deleted `name`.
    CrashDisable {
        name: backup_vault::cloud::ObjectKey,
    },
    /// `name` is deleted and the device kept K: its next backup writes
    /// `name` again, the put's answer lost if `lose`.
    WriteAgain {
        name: backup_vault::cloud::ObjectKey,
        lose: bool,
    },
    /// Done: the run goes on as any other.
    Done,
}

impl Nemesis {
    /// Every schedule.
    pub const ALL: [Nemesis; 15] = [
        Nemesis::IsolateLeaderAfterAppend,
        Nemesis::CrashMidElection,
        Nemesis::FlappingPartition,
        Nemesis::RollbackAfterCommit,
        Nemesis::StaleLogLeader,
        Nemesis::LateOldTermMessages,
        Nemesis::CrashLeaderAfterAppend,
        Nemesis::CrashAfterVote,
        Nemesis::ObstructClients,
        Nemesis::FloodNewLeader,
        Nemesis::LoneTailRollback,
        Nemesis::RolledBackVote,
        Nemesis::ResendToDeposedLeader,
        Nemesis::FailedBackups,
        Nemesis::RewrittenName,
    ];

    /// The schedules the swarm picks from: the first ten. A schedule added
    /// later is aimed only (`--nemesis`), so that a recorded seed keeps the
    /// schedule it drew, and with it its trajectory.
    pub const SWARM: &'static [Nemesis] = Nemesis::ALL.split_at(10).0;

    /// Its name in fault mixes and traces.
    pub fn name(self) -> &'static str {
        match self {
            Nemesis::IsolateLeaderAfterAppend => "isolate-leader-after-append",
            Nemesis::CrashMidElection => "crash-mid-election",
            Nemesis::FlappingPartition => "flapping-partition",
            Nemesis::RollbackAfterCommit => "rollback-after-commit",
            Nemesis::StaleLogLeader => "stale-log-leader",
            Nemesis::LateOldTermMessages => "late-old-term-messages",
            Nemesis::CrashLeaderAfterAppend => "crash-leader-after-append",
            Nemesis::CrashAfterVote => "crash-after-vote",
            Nemesis::ObstructClients => "obstruct-clients",
            Nemesis::FloodNewLeader => "flood-new-leader",
            Nemesis::LoneTailRollback => "lone-tail-rollback",
            Nemesis::RolledBackVote => "rolled-back-vote",
            Nemesis::ResendToDeposedLeader => "resend-to-deposed-leader",
            Nemesis::FailedBackups => "failed-backups",
            Nemesis::RewrittenName => "rewritten-name",
        }
    }

    /// The schedule named `name`.
    ///
    /// # Errors
    /// A message naming every schedule, if none is called `name`.
    pub fn parse(name: &str) -> Result<Nemesis, String> {
        Nemesis::ALL
            .into_iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Nemesis::ALL.iter().map(|n| n.name()).collect();
                format!("no nemesis schedule '{name}'; known: {}", known.join(", "))
            })
    }

    /// Whether the schedule can act with the fault kinds `has` says are on
    /// (it uses the injector's primitives, so it needs their kinds).
    pub fn fits(self, has: impl Fn(FaultKind) -> bool) -> bool {
        match self {
            Nemesis::IsolateLeaderAfterAppend | Nemesis::FlappingPartition => {
                has(FaultKind::Partition)
            }
            Nemesis::CrashMidElection | Nemesis::CrashLeaderAfterAppend => has(FaultKind::Crash),
            Nemesis::CrashAfterVote => has(FaultKind::Crash) && has(FaultKind::Partition),
            Nemesis::RollbackAfterCommit => has(FaultKind::Crash) && has(FaultKind::Rollback),
            Nemesis::StaleLogLeader => has(FaultKind::Partition) && has(FaultKind::Crash),
            // A late copy of a genuine message: what a network that
            // duplicates and delays delivers.
            Nemesis::LateOldTermMessages => has(FaultKind::Duplicate) && has(FaultKind::Delay),
            // The in-path chat server's forgeries and a cloud that loses
            // objects, aimed.
            Nemesis::ObstructClients => has(FaultKind::Intercept) && has(FaultKind::CloudMissing),
            // The cut uses the partition primitive; the replayer, who
            // floods, is in every world.
            Nemesis::FloodNewLeader => has(FaultKind::Partition),
            // The cut uses the partition primitive; the guesser and the
            // chat server, who send the guess and the copy, are in every
            // world.
            Nemesis::ResendToDeposedLeader => has(FaultKind::Partition),
            // A cloud that does not answer, aimed at one device's manifest.
            Nemesis::FailedBackups => has(FaultKind::CloudUnavailable),
            // A device crash, aimed twice, and an answer the cloud loses.
            Nemesis::RewrittenName => {
                has(FaultKind::ClientCrash) && has(FaultKind::CloudUnavailable)
            }
            Nemesis::LoneTailRollback | Nemesis::RolledBackVote => {
                has(FaultKind::Partition) && has(FaultKind::Crash) && has(FaultKind::Rollback)
            }
        }
    }
}

impl fmt::Display for Nemesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One act of a schedule, queued as an event so that it happens between
/// node steps, like every other fault.
#[derive(Clone, Copy, Debug)]
pub(super) enum Act {
    /// Cut `NodeId` off from its peers for the given milliseconds.
    Isolate(NodeId, u64),
    /// Crash a node.
    Crash(NodeId),
    /// Crash a voter and restart it within milliseconds, cut the candidate
    /// it voted for off from every other node for a while, then deliver
    /// the voter the held vote requests of `term` from other candidates.
    CrashVoter {
        voter: NodeId,
        term: Term,
        candidate: NodeId,
        /// The voter's disk loses its last record, its HSM kept.
        lose_vote: bool,
    },
    /// Deliver to `voter` the held vote requests of `term` from candidates
    /// other than `except`.
    AskAgain {
        voter: NodeId,
        term: Term,
        except: NodeId,
    },
    /// Crash a node and restart it from a rolled-back disk.
    CrashAndRollBack(NodeId),
    /// Cut `NodeId` off from its peers for the given milliseconds, then
    /// crash whichever other node leads when the partition heals.
    IsolateThenCrashSuccessor(NodeId, u64),
    /// Crash the leader, unless it is `NodeId`.
    CrashLeaderExcept(NodeId),
    /// Deliver the held copies of messages from terms before this one.
    DeliverLate(Term),
    /// Cut `NodeId` off from its peers for the given milliseconds and send
    /// it [`FLOOD`] copies of one request at once.
    Flood(NodeId, u64),
    /// Cut `NodeId` off from its peers for the given milliseconds, then
    /// crash it to restart from its disk without its last entry, its HSM
    /// kept.
    IsolateThenRollBack(NodeId, u64),
    /// Crash a node to restart from its disk without its last entry, its
    /// HSM kept.
    CrashLosingLastEntry(NodeId),
    /// Cut `leader` off from its peers for `ms` milliseconds, as it sends
    /// new entries after it answered the activation of `registration`, and
    /// follow it ([`Deposed`]) until the heal.
    CutOffAfterActivation {
        leader: NodeId,
        registration: RegistrationId,
        ms: u64,
    },
    /// The guesser starts a login of the deposed leader's activation's
    /// user, with a wrong password, at the newer leader `NodeId`.
    GuessAtNewLeader(NodeId),
    /// The chat server sends the deposed leader a copy of the activation.
    ResendToDeposed,
    /// Deliver the deposed leader the acknowledgements held back.
    DeliverHeldAcks,
    /// The partition of `resend-to-deposed-leader` healed: forget it.
    EndDeposed,
}

/// How many copies of one request `flood-new-leader` sends: past the
/// bound a leader that cannot answer yet may hold (`check/load.rs`).
pub(super) const FLOOD: u32 = super::check::load::HELD_BOUND as u32 + 64;

/// How many message copies `late-old-term-messages` holds for each
/// receiver, and `crash-after-vote` holds in all.
const LATE_HELD: usize = 32;

/// A held copy of a genuine sealed message: its term, sender, receiver.
type Held = (Term, NodeId, NodeId, SealedMessage<OpaqueCrypto>);

/// Which of a receiver's two queues a held copy is in. The order of the
/// variants is the order in which a late delivery sends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kept {
    /// Anything else: appends, snapshots, vote requests, votes.
    Other,
    /// A follower's answer (`AppendReply`, `SnapshotReply`).
    Answer,
}

/// What the schedules keep between their moments: the message copies they
/// hold back to deliver late, and the terms they have acted on.
#[derive(Default)]
pub(super) struct Late {
    /// `late-old-term-messages`: what nodes sent, by receiver, with the
    /// followers' answers (`AppendReply`, `SnapshotReply`) apart from the
    /// rest, so that a node that leads again terms later still gets the
    /// answers of its earlier leadership late (in one queue, the next
    /// leaders' appends to it push them out within a second).
    held: BTreeMap<(NodeId, Kept), VecDeque<Held>>,
    /// `late-old-term-messages`: the newest term seen with a leader.
    leader_term: Term,
    /// `crash-after-vote`: the vote requests candidates sent.
    requests: VecDeque<Held>,
    /// `flood-new-leader`: the newest term whose new leader was considered.
    flooded_term: Term,
    /// `resend-to-deposed-leader`: the leader that last answered an
    /// activation, its term, and the registration.
    activated: Option<(NodeId, Term, RegistrationId)>,
    /// `resend-to-deposed-leader`: the leader cut off, until the heal.
    deposed: Option<Deposed>,
}

/// `resend-to-deposed-leader`'s leader cut off after an activation, and how
/// far the schedule has gone with it.
pub(super) struct Deposed {
    leader: NodeId,
    /// Its term when it was cut off: a leader of a later term replaced it.
    term: Term,
    /// The activation it answered, as the chat server captured it.
    activation: ClientRequest<OpaqueCrypto>,
    /// The followers' acknowledgements to it in its term, held back.
    acks: VecDeque<Held>,
    stage: DeposedStage,
}

/// Where `resend-to-deposed-leader` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeposedStage {
    /// Waiting for a newer leader to open its term.
    AwaitingNewLeader,
    /// The guess is queued.
    Guessing,
    /// The guess was sent, by this client with this request id: waiting
    /// for the newer leader to answer it (after its commit).
    Guessed(ClientId, RequestId),
    /// The copy of the activation is queued.
    Resending,
    /// The copy was sent, by this client with this request id: waiting for
    /// the deposed leader to take it.
    Resent(ClientId, RequestId),
    /// The held acknowledgements are delivered.
    Done,
}

/// Keeps a copy in `queue`, forgetting the oldest beyond [`LATE_HELD`].
fn hold(queue: &mut VecDeque<Held>, copy: Held) {
    if queue.len() == LATE_HELD {
        queue.pop_front();
    }
    queue.push_back(copy);
}

/// Watches node `id`'s step and queues an act when the schedule's moment
/// has come. One in `ODDS` such moments is taken, so that a run still sees
/// the protocol get through them as well.
pub(super) fn watch(world: &mut World, id: NodeId) {
    const ODDS: u32 = 4;
    let Some(nemesis) = world.mix.nemesis else {
        return;
    };
    if world.phase != Phase::Faults {
        return;
    }
    if world.late.deposed.is_some() {
        follow_deposed(world, id);
        return;
    }
    if world.nemesis_busy || world.cluster.node(id).is_none() {
        return;
    }
    if matches!(
        nemesis,
        Nemesis::LateOldTermMessages | Nemesis::CrashAfterVote | Nemesis::RolledBackVote
    ) {
        // Copies of what this node sent (leaders' appends, followers'
        // answers, votes), or of this candidate's requests.
        let effects = world.cluster.effects();
        for ((from, to, m), (_, _, sealed)) in effects.messages.iter().zip(&effects.sealed) {
            let copy = (m.term(), *from, *to, sealed.clone());
            match nemesis {
                Nemesis::LateOldTermMessages if *from == id => {
                    let kept = match m {
                        PeerMessage::AppendReply { .. } | PeerMessage::SnapshotReply { .. } => {
                            Kept::Answer
                        }
                        _ => Kept::Other,
                    };
                    hold(world.late.held.entry((*to, kept)).or_default(), copy);
                }
                Nemesis::CrashAfterVote
                    if *from == id && matches!(m, PeerMessage::RequestVote { .. }) =>
                {
                    hold(&mut world.late.requests, copy);
                }
                _ => {}
            }
        }
    }
    let raft = world
        .cluster
        .node(id)
        .map(|n| n.raft())
        .expect("looked up above");
    let act = match nemesis {
        Nemesis::IsolateLeaderAfterAppend
        | Nemesis::StaleLogLeader
        | Nemesis::CrashLeaderAfterAppend
        | Nemesis::LoneTailRollback => {
            let appended = world.cluster.effects().messages.iter().any(|(from, _, m)| {
                *from == id
                    && matches!(m, PeerMessage::Append { entries, .. } if !entries.is_empty())
            });
            let leads = raft.role() == Role::Leader && appended;
            match nemesis {
                Nemesis::StaleLogLeader => {
                    leads.then(|| Act::IsolateThenCrashSuccessor(id, 1_000 + world.below(2_000)))
                }
                Nemesis::CrashLeaderAfterAppend => leads.then_some(Act::Crash(id)),
                Nemesis::LoneTailRollback => (leads && may_roll_back(world, id))
                    .then(|| Act::IsolateThenRollBack(id, 300 + world.below(1_500))),
                _ => leads.then(|| Act::Isolate(id, 300 + world.below(3_000))),
            }
        }
        Nemesis::CrashMidElection => (raft.role() == Role::Candidate).then(|| {
            // The candidate, or one of the nodes it asks.
            let n = u64::from(world.scenario.nodes);
            Act::Crash(NodeId(world.below(n) as u8))
        }),
        Nemesis::CrashAfterVote | Nemesis::RolledBackVote => {
            let lose_vote = nemesis == Nemesis::RolledBackVote;
            let may = !lose_vote || may_roll_back(world, id);
            world
                .cluster
                .effects()
                .messages
                .iter()
                .find_map(|(from, to, m)| match m {
                    PeerMessage::Vote {
                        term,
                        granted: true,
                    } if *from == id && may => Some(Act::CrashVoter {
                        voter: id,
                        term: *term,
                        candidate: *to,
                        lose_vote,
                    }),
                    _ => None,
                })
        }
        Nemesis::RollbackAfterCommit => {
            let advanced = world
                .cluster
                .effects()
                .applied
                .iter()
                .any(|(n, _)| *n == id);
            (advanced && world.rollback_nodes.contains(&id)).then_some(Act::CrashAndRollBack(id))
        }
        Nemesis::LateOldTermMessages => {
            let term = raft.term();
            let newer = raft.role() == Role::Leader && term > world.late.leader_term;
            if newer {
                world.late.leader_term = term;
            }
            let stale = world.late.held.values().flatten().any(|(t, ..)| *t < term);
            (newer && stale).then_some(Act::DeliverLate(term))
        }
        Nemesis::FloodNewLeader => {
            let term = raft.term();
            let open = world
                .cluster
                .node(id)
                .is_some_and(super::check::load::term_open);
            let fresh = raft.role() == Role::Leader && !open && term > world.late.flooded_term;
            if fresh {
                world.late.flooded_term = term;
            }
            (fresh && !world.captured.is_empty())
                .then(|| Act::Flood(id, 1_000 + world.below(2_000)))
        }
        Nemesis::ResendToDeposedLeader => {
            let effects = world.cluster.effects();
            let activated =
                effects
                    .replies
                    .iter()
                    .find_map(|(from, reply)| match &reply.response {
                        ClientResponse::Activated { registration, .. } if *from == id => {
                            Some(*registration)
                        }
                        _ => None,
                    });
            let appended = effects.messages.iter().any(|(from, _, m)| {
                *from == id
                    && matches!(m, PeerMessage::Append { entries, .. } if !entries.is_empty())
            });
            let (leads, term) = (raft.role() == Role::Leader, raft.term());
            if let (Some(registration), true) = (activated, leads) {
                world.late.activated = Some((id, term, registration));
            }
            match world.late.activated {
                Some((leader, t, registration))
                    if leader == id && t == term && leads && appended =>
                {
                    Some(Act::CutOffAfterActivation {
                        leader: id,
                        registration,
                        ms: 1_500 + world.below(1_500),
                    })
                }
                _ => None,
            }
        }
        // Driven by the fault tick (`flap`), or by the devices' requests
        // (`obstructs`, `refuses_manifest`), not by node steps.
        Nemesis::FlappingPartition
        | Nemesis::ObstructClients
        | Nemesis::FailedBackups
        | Nemesis::RewrittenName => None,
    };
    let Some(act) = act else {
        return;
    };
    if !world.rng().next_u32().is_multiple_of(ODDS) {
        return;
    }
    world.nemesis_busy = true;
    let now = world.now();
    world.cluster.schedule(now, Ev::Nemesis(act));
}

/// Carries out a queued act.
pub(super) fn act(world: &mut World, act: Act) {
    world.nemesis_busy = false;
    if world.phase != Phase::Faults {
        return;
    }
    match act {
        Act::Isolate(id, ms) | Act::IsolateThenCrashSuccessor(id, ms) => {
            cut_off(world, id, ms);
            let at = world.now().plus(ms);
            let pid = world.partition_id;
            world.cluster.schedule(at, Ev::HealPartition(pid));
            if let Act::IsolateThenCrashSuccessor(..) = act {
                // Busy until the crash, so no other act cuts in between.
                world.nemesis_busy = true;
                world
                    .cluster
                    .schedule(at, Ev::Nemesis(Act::CrashLeaderExcept(id)));
            }
        }
        Act::Flood(id, ms) => {
            if !world.cluster.is_up(id) {
                return;
            }
            cut_off(world, id, ms);
            let pid = world.partition_id;
            world
                .cluster
                .schedule(world.now().plus(ms), Ev::HealPartition(pid));
            super::actors::flood(world, id, FLOOD);
        }
        Act::DeliverLate(term) => {
            let mut old = Vec::new();
            for queue in world.late.held.values_mut() {
                let (late, kept): (Vec<_>, Vec<_>) = std::mem::take(queue)
                    .into_iter()
                    .partition(|(t, ..)| *t < term);
                *queue = kept.into();
                old.extend(late);
            }
            for (t, from, to, m) in old {
                note(world, to, t.0);
                world.cluster.inject(from, to, m, Some((from, to)));
            }
        }
        Act::CrashLeaderExcept(stale) => {
            let leader = world.cluster.ids().find(|n| {
                *n != stale
                    && world.cluster.is_up(*n)
                    && world
                        .cluster
                        .node(*n)
                        .is_some_and(|node| node.raft().role() == Role::Leader)
            });
            if let Some(id) = leader {
                note(world, id, 0);
                super::faults::crash(world, id, false);
            }
        }
        Act::IsolateThenRollBack(id, ms) => {
            world.rollback_nodes.insert(id);
            cut_off(world, id, ms);
            let at = world.now().plus(ms);
            let pid = world.partition_id;
            // Busy until the crash, which comes before the heal, so that
            // what it appended cut off never leaves it.
            world.nemesis_busy = true;
            world
                .cluster
                .schedule(at, Ev::Nemesis(Act::CrashLosingLastEntry(id)));
            world.cluster.schedule(at.plus(1), Ev::HealPartition(pid));
        }
        Act::Crash(id) | Act::CrashAndRollBack(id) | Act::CrashLosingLastEntry(id) => {
            if !world.cluster.is_up(id) {
                return;
            }
            match act {
                Act::CrashAndRollBack(_) => {
                    world
                        .forced_rollback
                        .insert(id, super::ForcedRollback::Drawn);
                }
                Act::CrashLosingLastEntry(_) => {
                    world
                        .forced_rollback
                        .insert(id, super::ForcedRollback::LastEntryHsmKept);
                }
                _ => {}
            }
            note(world, id, 0);
            super::faults::crash(world, id, false);
        }
        Act::CrashVoter {
            voter,
            term,
            candidate,
            lose_vote,
        } => {
            if !world.cluster.is_up(voter) {
                return;
            }
            if lose_vote {
                world.rollback_nodes.insert(voter);
                world
                    .forced_rollback
                    .insert(voter, super::ForcedRollback::LastRecordHsmKept);
            }
            note(world, voter, term.0);
            super::faults::crash(world, voter, true);
            // The winner's first heartbeats would end a rival's candidacy
            // before the late copies land: cut it off from everyone but its
            // voter for about an election timeout.
            let others: Vec<NodeId> = world
                .cluster
                .ids()
                .filter(|o| *o != candidate && *o != voter)
                .collect();
            for o in others {
                world.cluster.partition(candidate, o);
            }
            world.stats.partitions += 1;
            world.partition_id += 1;
            let ms = 300 + world.below(700);
            note(world, candidate, ms);
            let pid = world.partition_id;
            world
                .cluster
                .schedule(world.now().plus(ms), Ev::HealPartition(pid));
            // Busy until the late copies are in, after the brief restart.
            world.nemesis_busy = true;
            let at = world.now().plus(super::faults::BRIEF_DOWN_MAX_MS + 1);
            let again = Act::AskAgain {
                voter,
                term,
                except: candidate,
            };
            world.cluster.schedule(at, Ev::Nemesis(again));
        }
        Act::CutOffAfterActivation {
            leader,
            registration,
            ms,
        } => {
            let Some(term) = world.cluster.node(leader).map(|n| n.raft().term()) else {
                return;
            };
            let activation = world.captured.iter().rev().find(|r| {
                matches!(r, ClientRequest::Activate { registration: named, .. } if *named == registration)
            });
            let Some(activation) = activation.cloned() else {
                return;
            };
            cut_off(world, leader, ms);
            let at = world.now().plus(ms);
            let pid = world.partition_id;
            world.cluster.schedule(at, Ev::HealPartition(pid));
            world.cluster.schedule(at, Ev::Nemesis(Act::EndDeposed));
            world.late.activated = None;
            world.late.deposed = Some(Deposed {
                leader,
                term,
                activation,
                acks: VecDeque::new(),
                stage: DeposedStage::AwaitingNewLeader,
            });
            // Busy until the heal, so that no other act cuts in.
            world.nemesis_busy = true;
        }
        Act::GuessAtNewLeader(to) => {
            world.nemesis_busy = true;
            let Some(user) = world.late.deposed.as_ref().map(|d| d.activation.user()) else {
                return;
            };
            if let Some(sent) = super::actors::guess_login(world, to, user) {
                note(world, to, user.0);
                if let Some(d) = world.late.deposed.as_mut() {
                    d.stage = DeposedStage::Guessed(sent.0, sent.1);
                }
            }
        }
        Act::ResendToDeposed => {
            world.nemesis_busy = true;
            let Some((leader, request)) = world
                .late
                .deposed
                .as_ref()
                .map(|d| (d.leader, d.activation.clone()))
            else {
                return;
            };
            note(world, leader, request.user().0);
            if let Some(sent) = super::actors::replay_to(world, leader, request) {
                if let Some(d) = world.late.deposed.as_mut() {
                    d.stage = DeposedStage::Resent(sent.0, sent.1);
                }
            }
        }
        Act::DeliverHeldAcks => {
            world.nemesis_busy = true;
            let acks = world
                .late
                .deposed
                .as_mut()
                .map(|d| std::mem::take(&mut d.acks))
                .unwrap_or_default();
            for (t, from, to, m) in acks {
                note(world, to, t.0);
                world.cluster.inject(from, to, m, Some((from, to)));
            }
        }
        Act::EndDeposed => world.late.deposed = None,
        Act::AskAgain {
            voter,
            term,
            except,
        } => {
            let (rivals, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut world.late.requests)
                .into_iter()
                .partition(|(t, from, to, _)| *t == term && *to == voter && *from != except);
            world.late.requests = kept.into();
            for (t, from, to, m) in rivals {
                note(world, to, t.0);
                world.cluster.inject(from, to, m, Some((from, to)));
            }
        }
    }
}

/// `resend-to-deposed-leader` after node `id`'s step: hold back the
/// acknowledgements sent to the deposed leader in its term; queue the guess
/// once `id` leads a term newer than the deposed leader's and has opened it
/// (it can commit the guess at once), then the copy of the activation once
/// `id` answered the guess, then the held acknowledgements once the
/// deposed leader took the copy.
fn follow_deposed(world: &mut World, id: NodeId) {
    let Some(d) = world.late.deposed.as_mut() else {
        return;
    };
    let effects = world.cluster.effects();
    for ((from, to, m), (_, _, sealed)) in effects.messages.iter().zip(&effects.sealed) {
        let ack = matches!(m, PeerMessage::AppendReply { term, .. } if *term == d.term);
        if ack && *to == d.leader && d.stage != DeposedStage::Done {
            hold(&mut d.acks, (d.term, *from, *to, sealed.clone()));
        }
    }
    let Some(d) = world.late.deposed.as_ref() else {
        return;
    };
    let Some(node) = world.cluster.node(id) else {
        return;
    };
    let raft = node.raft();
    let next = match d.stage {
        DeposedStage::AwaitingNewLeader => (id != d.leader
            && raft.role() == Role::Leader
            && raft.term() > d.term
            && super::check::load::term_open(node))
        .then_some((Act::GuessAtNewLeader(id), DeposedStage::Guessing)),
        DeposedStage::Guessed(client, request) => world
            .cluster
            .effects()
            .replies
            .iter()
            .any(|(from, r)| *from == id && r.to == client && r.request == request)
            .then_some((Act::ResendToDeposed, DeposedStage::Resending)),
        DeposedStage::Resent(client, request) => (id == d.leader
            && world.cluster.effects().request_id == Some((client, request)))
        .then_some((Act::DeliverHeldAcks, DeposedStage::Done)),
        DeposedStage::Guessing | DeposedStage::Resending | DeposedStage::Done => None,
    };
    if let Some((act, stage)) = next {
        if let Some(d) = world.late.deposed.as_mut() {
            d.stage = stage;
        }
        let now = world.now();
        world.cluster.schedule(now, Ev::Nemesis(act));
    }
}

/// The flapping partition, at every fault tick: heal, and cut off another
/// node at once.
pub(super) fn flap(world: &mut World) {
    if world.mix.nemesis != Some(Nemesis::FlappingPartition) || world.phase != Phase::Faults {
        return;
    }
    world.cluster.heal();
    let n = u64::from(world.scenario.nodes);
    let id = NodeId(world.below(n) as u8);
    cut_off(world, id, 0);
}

/// Whether node `id`'s disk may go back: one of the R nodes, or the first
/// a schedule that keeps a place for its own acts on (`lone-tail-rollback`,
/// `rolled-back-vote`).
fn may_roll_back(world: &World, id: NodeId) -> bool {
    world.rollback_nodes.contains(&id)
        || world.rollback_nodes.len() < usize::from(world.scenario.rollback_tolerance)
}

/// Cuts node `id` off from its peers, as a partition of its own.
fn cut_off(world: &mut World, id: NodeId, ms: u64) {
    world.cluster.isolate(id);
    world.stats.partitions += 1;
    world.partition_id += 1;
    note(world, id, ms);
}

/// Whether `obstruct-clients` stands in the way of the operation actor `a`
/// starts now (for as long as faults stay on): one honest operation in two
/// begun while faults are on, so that a device registers in one and is
/// sent back in its logins later, and the unobstructed show that the same
/// faults leave room to work. Drawn only under this schedule, so that no
/// other seed's draws move.
pub(super) fn obstructs(world: &mut World, a: usize) -> bool {
    world.mix.nemesis == Some(Nemesis::ObstructClients)
        && world.phase == Phase::Faults
        && world.actors[a].role == super::actors::Role::Honest
        && world.below(2) == 0
}

/// The honest device `schedule` aims at while faults are on: the first,
/// so that choosing it draws nothing.
fn client_target(world: &World, schedule: Nemesis) -> Option<usize> {
    if world.mix.nemesis != Some(schedule) || world.phase != Phase::Faults {
        return None;
    }
    world
        .actors
        .iter()
        .position(|actor| actor.role == super::actors::Role::Honest)
}

/// Whether `failed-backups` aims at actor `a` now (faults still on): its
/// backups' manifest puts are answered "unavailable", and it backs up
/// again soon after each one ends.
pub(super) fn aims_backups_at(world: &World, a: usize) -> bool {
    client_target(world, Nemesis::FailedBackups) == Some(a)
}

/// What `rewritten-name` does with actor `a` now, if it aims at it.
pub(super) fn rewrite_at(world: &World, a: usize) -> Option<&Rewrite> {
    (client_target(world, Nemesis::RewrittenName) == Some(a)).then_some(&world.rewrite)
}

/// `rewritten-name` moves on to `next` with actor `a`, crashing it first
/// if `crash` (just after the cloud's step it reacts to, before its answer
/// reaches the device).
pub(super) fn rewrite_step(world: &mut World, a: usize, next: Rewrite, crash: bool) {
    world.rewrite = next;
    let what = match world.rewrite {
        Rewrite::CrashAfterPut => "rewrite-wait",
        Rewrite::CrashDisable { .. } => "rewrite-crash-after-put",
        Rewrite::WriteAgain { .. } => "rewrite-crash-after-delete",
        Rewrite::Done => "rewrite-written-again",
    };
    note_client_act(world, a, what, u64::from(crash));
    if crash {
        let at = world.now().plus(1);
        let epoch = world.actors[a].epoch;
        world
            .cluster
            .schedule(at, Ev::ClientCrash { actor: a, epoch });
    }
}

/// Counts an act of a schedule aimed at actor `a`'s operations and puts
/// it in the trace (`what`: what it did; `arg`: the trace's number).
pub(super) fn note_client_act(world: &mut World, a: usize, what: &'static str, arg: u64) {
    world.coverage.counts.nemesis_acts += 1;
    let user = world.actors[a].user.0;
    world.record(
        "nemesis",
        Party::World,
        Some(Party::Actor(a as u32)),
        what,
        Some(user),
        arg,
    );
}

/// Counts an act and puts it in the trace.
fn note(world: &mut World, id: NodeId, arg: u64) {
    world.coverage.counts.nemesis_acts += 1;
    let name = world.mix.nemesis.map_or("nemesis", Nemesis::name);
    world.record(
        "nemesis",
        Party::World,
        Some(Party::Node(id.0)),
        name,
        None,
        arg,
    );
}
