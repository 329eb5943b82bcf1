//! The whole system in one simulated world: vault nodes, users' devices,
//! adversaries and the cloud, under faults, checked after every step.
//!
//! The world grows the kernel of [`crate::cluster`]: its own events
//! (devices waking, timeouts, cloud replies, faults) go into the kernel's
//! queue, so one queue orders everything and one seeded RNG decides
//! everything. A seed is a complete bug report.
//!
//! | module | job |
//! |---|---|
//! | [`scenario`] | the knobs, the fault kinds and the swarm rule |
//! | `actors` | users' devices and adversaries, driving the real client |
//! | [`cloud`] | the cloud store's fault hook |
//! | `faults` | node, network and clock faults, and the final heal |
//! | [`check`] | the invariant checkers |
//! | [`trace`] | the event trace and its hash (SIM-1) |
//! | [`history`] | the client-visible history for linearizability checkers |

mod actors;
pub mod check;
pub mod cloud;
pub mod coverage;
mod faults;
pub mod history;
mod host;
pub mod nemesis;
pub mod scenario;
pub mod trace;

pub use check::Violation;
pub use scenario::{parse_flaw, AnyFlaw, FaultKind, FaultMix, FaultSelection, Scenario};

use crate::cluster::{request_kind, response_kind, Cluster, SimConfig, Stepped};
use actors::Actor;
use backup_vault::client::ClientConfig;
use backup_vault::client::Password;
use backup_vault::cloud::MemoryStore;
use backup_vault::format::ChunkSize;
use backup_vault::invariant::Invariant;
use backup_vault::opaque::client as opaque_client;
use backup_vault::opaque::{FleetSecrets, KsfParams, RegistrationRequest};
use backup_vault::vault::binding::{RegistrationTicket, RegistrationTranscript};
use backup_vault::vault::crypto::VaultCrypto;
use backup_vault::vault::crypto::{ContentDigest, OpenedRegistration};
use backup_vault::vault::hsm_seal::{STORAGE_KEY_LABEL, WIRE_KEY_LABEL};
use backup_vault::vault::ids::{LogIndex, Millis, NodeId, Term, UserId};
use backup_vault::vault::node::{ClientId, NodeConfig, Reply, RequestId, VaultNode};
use backup_vault::vault::opaque_crypto::user_bytes;
use backup_vault::vault::opaque_crypto::{OpaqueCrypto, TICKET_KEY_LABEL};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::raft::Timing;
use backup_vault::vault::records::Command;
use check::acks::Acks;
use check::answers::Asked;
use check::backups::Backups;
use check::budgets::Budgets;
use check::conduct::Conduct;
use check::consensus::Consensus;
use check::consensus::Kind;
use check::convergence::CatchUp;
use check::elections::Elections;
use check::erasure::Erasure;
use check::exhaustion::Exhaustion;
use check::load::Load;
use check::lockout::Lockout;
use check::oracle::Oracle;
use check::secrets::{SecretKind, Secrets};
use check::told::Told;
use check::{OprfInput, RequestInfo};
use cloud::SwarmHook;
use history::History;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use trace::{Party, Record, Trace};

/// How long the world settles after the heal before the final checks.
const SETTLE_MS: u64 = 8_000;
/// How long the final backups and restores may take.
const FINAL_MS: u64 = 30_000;
/// Plaintext bytes per chunk of the simulated devices' backups: small, so
/// that every backup has several chunks to cut, swap and truncate.
const SIM_CHUNK: u32 = 1024;

/// What to keep besides the verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep every trace record (for `--trace`).
    pub keep_trace: bool,
    /// Keep the vault history (for `--history`).
    pub keep_history: bool,
    /// The per-step checkers note their first violation without stopping
    /// the run, so that the end-of-run history checks judge the whole
    /// history on their own; the report then names the history check's
    /// violation, or else the per-step one. For tests that show each
    /// history check catching a broken variant by itself.
    pub history_checks_alone: bool,
}

/// Figures of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Logins that released K.
    pub logins_ok: u64,
    /// Logins that failed for a wrong password (OPAQUE: the client finds
    /// out from KE2 and never sends KE3).
    pub wrong_passwords: u64,
    /// Records destroyed by the guess limit.
    pub destroyed: u64,
    /// Backups acknowledged.
    pub backups: u64,
    /// Restores that returned a backup.
    pub restores: u64,
    /// Operations that failed (under faults, most do so correctly).
    pub ops_failed: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Disk rollbacks (including restarts from a corrupt disk's prefix).
    pub rollbacks: u64,
    /// Partitions made.
    pub partitions: u64,
    /// Cloud faults injected.
    pub cloud_faults: u64,
    /// KE2 messages released by the vault.
    pub ke2_released: u64,
    /// Bytes scanned for secrets (KEY-1, HOST-1).
    pub bytes_scanned: u64,
    /// Peer messages the host adversary forged or replayed.
    pub host_injected: u64,
    /// Disk edits by the host adversary.
    pub host_disk_edits: u64,
    /// Rollbacks of every disk at once by the host adversary.
    pub host_every_disk_rollbacks: u64,
    /// Whether such a rollback voided the final liveness checks (see
    /// `host::HostAdversary::liveness_voided`).
    pub liveness_voided: bool,
    /// Whether the final liveness checks were waived because a tail some
    /// HSM acknowledged is held by no log and too few counters can prove
    /// it uncommitted (`check::unprovable_tail`): the cluster rightly waits
    /// for a disk that holds it.
    pub liveness_waived_lost_tail: bool,
    /// Peer messages nodes dropped because they did not open.
    pub dropped_messages: u64,
    /// Disk audits for erased key material (LOCK-4 on disk).
    pub erasure_audits: u64,
    /// `Exhaust` entries committed (a spent budget destroying its record
    /// once no login against it could finish).
    pub exhaust_commits: u64,
    /// The coverage counters (`coverage.rs`).
    pub coverage: coverage::Coverage,
}

/// The result of one run.
#[derive(Debug)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// The faults the seed switched on.
    pub mix: FaultMix,
    /// Events processed.
    pub events: u64,
    /// Virtual time simulated, ms.
    pub virtual_ms: u64,
    /// Wall time taken.
    pub wall: Duration,
    /// The trace hash (SIM-1).
    pub trace_hash: u64,
    /// The first invariant broken, if any.
    pub violation: Option<Violation>,
    /// Figures.
    pub stats: Stats,
    /// The trace (every record only with `keep_trace`; trimmed to the
    /// events that matter when the run failed).
    pub trace: Trace,
    /// The history, with `keep_history`.
    pub history: Option<History>,
}

/// The world's own events in the kernel queue.
#[derive(Debug)]
enum Ev {
    /// Actor `actor` may start its next operation.
    Wake { actor: usize, epoch: u32 },
    /// Actor `actor`'s client asked to be woken now (its deadline for an
    /// answer); an early or stale wake-up does nothing.
    Timeout { actor: usize, epoch: u32 },
    /// A cloud operation's result reaches actor `actor`.
    CloudDone {
        actor: usize,
        epoch: u32,
        call: backup_vault::client::CallId,
        result: Result<backup_vault::client::CloudReply, backup_vault::cloud::StoreError>,
    },
    /// A device crashes in the middle of whatever it does.
    ClientCrash { actor: usize, epoch: u32 },
    /// An answer the chat server forged reaches actor `actor`.
    Forged {
        actor: usize,
        epoch: u32,
        call: backup_vault::client::CallId,
        response: Box<ClientResponse<OpaqueCrypto>>,
    },
    /// The fault injector's clock.
    FaultTick,
    /// A nemesis schedule acts.
    Nemesis(nemesis::Act),
    /// A crashed node restarts.
    Restart(NodeId),
    /// The host adversary puts back the disks it rolled back.
    RestoreDisks,
    /// A partition heals.
    HealPartition(u64),
    /// Faults end: heal everything and let the world settle.
    Heal,
    /// The settle time is over: start the final backups and restores.
    Final,
    /// The final backups and restores ran out of time.
    End,
    /// Look again whether every node has caught up (LIVE-3).
    CatchUp,
}

/// A kind of change the committed log made (for the history).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Effect {
    Staged(backup_vault::vault::crypto::ContentDigest),
    Activated(backup_vault::vault::crypto::RegistrationId),
    Consumed(backup_vault::vault::crypto::Ke1Digest),
    Reset(UserId),
    Deleted(backup_vault::vault::crypto::RegistrationId),
}

/// Which phase the run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Faults,
    Settling,
    Final,
    /// The last operation is over: nodes catch up (LIVE-3).
    CatchingUp,
    Done,
}

/// One simulated world. See the module documentation.
pub(crate) struct World {
    scenario: Scenario,
    mix: FaultMix,
    cluster: Cluster<OpaqueCrypto, Ev>,
    cloud: MemoryStore<SwarmHook>,
    actors: Vec<Actor>,
    client_config: ClientConfig,
    /// The fleet's cryptography, which the checks use to recompute what
    /// nodes did (`check::oracle`) and to open what clients sent.
    crypto: OpaqueCrypto,
    consensus: Consensus<OpaqueCrypto>,
    lockout: Lockout,
    /// LOCK-5 on the committed log: a resent login start never destroys.
    resends: check::resends::Resends,
    exhaustion: Exhaustion,
    /// LIVE-4: every client's retries against its policy.
    conduct: Conduct,
    /// LIVE-4's restart budgets, judged from outside each client.
    budgets: Budgets,
    /// DEV-2: under which keys each folder's backups were put.
    told: Told,
    /// FMT-3: the backup ids of the files the devices put.
    file_ids: check::file_ids::FileIds,
    elections: Elections,
    /// CONS-3's ground: what each follower answered in each term.
    acks: Acks,
    /// LOAD-1: what each leader that cannot answer yet holds.
    load: Load,
    oracle: Oracle,
    secrets: Secrets,
    /// Everything only HSMs may hold, K and passwords included: what the
    /// hosts' disks and traffic are searched for (HOST-1).
    host_secrets: Secrets,
    erasure: Erasure,
    host: host::HostAdversary,
    backups: Backups,
    requests: BTreeMap<(ClientId, RequestId), RequestInfo>,
    trace: Trace,
    history: Option<History>,
    stats: Stats,
    coverage: coverage::Observer,
    phase: Phase,
    violation: Option<Violation>,
    /// With `history_checks_alone`: the per-step checkers' first violation,
    /// held back while the run goes on.
    held_back: Option<Violation>,
    history_checks_alone: bool,
    /// The end-of-run history checks are judging.
    judging_history: bool,
    /// Nodes whose disks may come back older (at most R).
    rollback_nodes: BTreeSet<NodeId>,
    /// A nemesis act is queued (one at a time).
    nemesis_busy: bool,
    /// What the `late-old-term-messages` and `crash-after-vote` schedules
    /// hold back (`nemesis.rs`).
    late: nemesis::Late,
    /// Where `rewritten-name` is (`nemesis.rs`).
    rewrite: nemesis::Rewrite,
    /// Each node's HSM log mark after its last step
    /// (`check::consensus::hsm_mark_within_disk`).
    hsm_marks: BTreeMap<NodeId, (Term, LogIndex)>,
    /// Nodes a nemesis crashed to restart from a rolled-back disk, and how.
    forced_rollback: BTreeMap<NodeId, ForcedRollback>,
    /// The partition in force, by id, for healing.
    partition_id: u64,
    /// Final backups and restores still running.
    finals_pending: usize,
    /// One run in four: every device that finishes its final restore
    /// turns backups off after it (LIVE-5, `actors::start_final_disable`).
    /// Whole runs, not devices, so that three runs in four end as they
    /// did without: a disable erases, and an erasure writes and sends a
    /// snapshot of the whole store, which catches up a lagging follower
    /// and would hide, at the end of most runs, a leader that never moves
    /// one on from snapshots (LIVE-3's check).
    final_disables: bool,
    /// What every node must apply, and by when (LIVE-3).
    catch_up: Option<CatchUp>,
    /// Messages captured from honest devices, for the replaying adversary.
    captured: std::collections::VecDeque<ClientRequest<OpaqueCrypto>>,
    /// The registrations each honest device (by actor, since its phone was
    /// last lost) sent an activation for: a staged record of K becomes
    /// guessable only through one, and a device that names no registration
    /// can know of a record of K only through one (REG-2).
    activations_sent:
        std::collections::BTreeSet<(usize, backup_vault::vault::crypto::RegistrationId)>,
    /// The last login start the chat server relayed for each user, from
    /// anyone: the guesser resends it to keep a spent record alive.
    last_ke1: BTreeMap<UserId, ClientRequest<OpaqueCrypto>>,
    /// The chat server's own OPAQUE fleet: the key it evaluates under when
    /// it substitutes the evaluation in a registration answer.
    chat_server: OpaqueCrypto,
    /// Registration requests (actor, call) whose answer the chat server
    /// will substitute on the way back, with the blinded element sent.
    substitute: BTreeMap<(usize, u64), RegistrationRequest>,
    /// Registration requests (actor, call) the chat server relayed while it
    /// intercepts, with the blinded element sent: their answers' tickets
    /// are what it splices a registration of its own under.
    relayed_starts: BTreeMap<(usize, u64), RegistrationRequest>,
    /// The last registration answer the chat server relayed to each actor,
    /// as the vault made it: the transcript and the ticket.
    relayed_tickets: BTreeMap<usize, (RegistrationTranscript, RegistrationTicket)>,
    /// The ticket claims of the last registration answer each adversary
    /// (the re-registrar) got for itself: its own stage count.
    own_tickets: BTreeMap<usize, backup_vault::vault::crypto::TicketClaims>,
    /// The last authenticated answer (a staging, an activation, a
    /// deletion) the chat server relayed to each actor: the tag it puts on
    /// the answers it forges, a genuine tag of the device's own key about
    /// another statement, which the device must refuse as it refuses a
    /// random one.
    relayed_tags: BTreeMap<usize, backup_vault::opaque::ReplyTag>,
    /// The last authentic "gone" the chat server relayed to each actor,
    /// which it replays as the answer to a later delete of the same
    /// registration: the device must refuse it, since it names the proof
    /// of an earlier delete (REG-2).
    relayed_gone: BTreeMap<usize, ClientResponse<OpaqueCrypto>>,
    /// Whether to check the history when the run ends.
    check_history: bool,
    /// What the committed log did, for telling `info` operations that
    /// certainly had no effect (kept with the history only).
    committed_effects: BTreeSet<Effect>,
    /// Every KE3 a client made, with its user and login: a KE3 the history
    /// calls valid (replays of it included).
    ke3_made: BTreeSet<(u64, u64, Vec<u8>)>,
}

thread_local! {
    /// The trace of this thread's last run that panicked (see [`run`]).
    static PANICKED_TRACE: std::cell::RefCell<Option<Trace>> = const { std::cell::RefCell::new(None) };
}

/// The trace of the last run on this thread that panicked, up to the
/// panic: what `sim run --trace` writes for a seed whose run did not end.
pub fn take_panicked_trace() -> Option<Trace> {
    PANICKED_TRACE.with(|t| t.borrow_mut().take())
}

/// Runs `scenario` with `seed`. Never panics on a violation: it is returned
/// in the report (a panic inside the implementation still unwinds; the
/// sweep catches it, and [`take_panicked_trace`] gives its trace).
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> RunReport {
    let started = Instant::now();
    let mut world = World::new(scenario, seed, options);
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world.run()));
    if let Err(panic) = ran {
        // An assertion inside the implementation (or the simulator): the
        // trace up to it is the bug report, so it outlives the world.
        let trace = std::mem::replace(&mut world.trace, Trace::new(false));
        PANICKED_TRACE.with(|t| *t.borrow_mut() = Some(trace));
        std::panic::resume_unwind(panic);
    }
    if world.violation.is_none() {
        world.violation = world.held_back.take();
    }
    let virtual_ms = world.cluster.now().0;
    let events = world.cluster.events_processed();
    let mut stats = world.stats.clone();
    stats.ke2_released = world.lockout.ke2_released;
    stats.destroyed = world.lockout.destroyed().len() as u64;
    stats.exhaust_commits = world.exhaustion.exhaust_commits;
    stats.bytes_scanned = world.secrets.scanned + world.host_secrets.scanned;
    stats.host_injected = world.host.forged + world.host.replayed;
    stats.host_disk_edits = world.host.disk_edits;
    stats.host_every_disk_rollbacks = world.host.every_disk;
    stats.liveness_voided = world.host.liveness_voided;
    stats.dropped_messages = world.cluster.dropped_messages();
    stats.erasure_audits = world.erasure.audits;
    stats.cloud_faults = world.cloud.hook().injected;
    stats.coverage = world.coverage.counts;
    let trace = world.trace;
    RunReport {
        seed,
        mix: world.mix,
        events,
        virtual_ms,
        wall: started.elapsed(),
        trace_hash: trace.hash(),
        violation: world.violation,
        stats,
        trace,
        history: world.history,
    }
}

impl World {
    fn new(scenario: &Scenario, seed: u64, options: &RunOptions) -> World {
        let mix = FaultMix::draw(&scenario.faults, seed, scenario.nemesis);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let fleet = FleetSecrets::generate(&mut rng);
        let mut host_secrets = Secrets::default();
        for secret in [
            fleet.to_bytes().to_vec(),
            fleet.derive_key(STORAGE_KEY_LABEL).to_vec(),
            fleet.derive_key(WIRE_KEY_LABEL).to_vec(),
            fleet.derive_key(TICKET_KEY_LABEL).to_vec(),
        ] {
            host_secrets.add(UserId(u64::MAX), SecretKind::FleetSecret, &secret);
        }
        let crypto = OpaqueCrypto::new(fleet);
        let cluster_config = ClusterConfig::new(scenario.nodes, scenario.rollback_tolerance)
            .expect("the scenario's cluster size and R are validated by the caller");
        let node = NodeConfig {
            cluster: cluster_config,
            guess_limit: scenario.guess_limit,
            // Snapshots are exercised: a long run compacts several times,
            // and the swarm's cadence compacts every few entries.
            snapshot_every: mix.snapshot_every,
            timing: Timing {
                max_entries_per_append: mix.append_batch,
                ..Timing::DEFAULT
            },
            login_ttl_ms: mix.login_ttl_ms,
            flaw: scenario.vault_flaw,
        };
        let config = SimConfig {
            node,
            net: faults::net_config(&mix),
            sync_delay_ms: mix.sync_delay_ms,
            max_drift_ppm: mix.level(FaultKind::Clock) * 50,
            max_timer_jitter_ms: u64::from(mix.level(FaultKind::Clock) / 10),
        };
        let mut client_config = ClientConfig::new(crypto.public_key(), KsfParams::CHEAP);
        client_config.chunk_size = ChunkSize::new(SIM_CHUNK).expect("a valid chunk size");
        client_config.flaw = scenario.client_flaw;
        client_config.vault_nodes = scenario.nodes;
        let mut cluster = Cluster::with_rng(config, crypto.clone(), rng);
        cluster.set_observe(true);
        let cloud = MemoryStore::with_hook(SwarmHook::new(&mix, seed));
        let mut world = World {
            scenario: scenario.clone(),
            mix,
            consensus: Consensus::new(scenario.nodes, scenario.guess_limit),
            lockout: Lockout::new(scenario.nodes, scenario.rollback_tolerance),
            resends: check::resends::Resends::default(),
            exhaustion: Exhaustion::new(node.login_ttl_ms),
            conduct: Conduct::new(&client_config),
            budgets: Budgets::new(&client_config),
            told: Told::default(),
            file_ids: check::file_ids::FileIds::default(),
            elections: Elections::new(
                scenario.nodes,
                scenario.rollback_tolerance,
                node.timing.election_min_ms,
                node.timing.election_max_ms,
                // A timer fires up to the jitter late in simulated time,
                // which a node's clock, drifting, reads as up to that much
                // more (rounded up).
                node.timing.heartbeat_ms
                    + config.max_timer_jitter_ms
                    + (config.max_timer_jitter_ms * u64::from(config.max_drift_ppm))
                        .div_ceil(1_000_000),
            ),
            acks: Acks::default(),
            load: Load::default(),
            oracle: Oracle::new(crypto.clone(), scenario.guess_limit),
            crypto: crypto.clone(),
            cluster,
            cloud,
            actors: Vec::new(),
            client_config,
            secrets: Secrets::default(),
            host_secrets,
            erasure: Erasure::new(scenario.nodes),
            host: host::HostAdversary::default(),
            backups: Backups::default(),
            requests: BTreeMap::new(),
            trace: Trace::new(options.keep_trace),
            history: (options.keep_history || scenario.check_history).then(History::default),
            check_history: scenario.check_history,
            committed_effects: BTreeSet::new(),
            ke3_made: BTreeSet::new(),
            stats: Stats::default(),
            coverage: coverage::Observer::default(),
            nemesis_busy: false,
            late: nemesis::Late::default(),
            rewrite: nemesis::Rewrite::default(),
            hsm_marks: BTreeMap::new(),
            forced_rollback: BTreeMap::new(),
            phase: Phase::Faults,
            violation: None,
            held_back: None,
            history_checks_alone: options.history_checks_alone,
            judging_history: false,
            rollback_nodes: BTreeSet::new(),
            partition_id: 0,
            finals_pending: 0,
            // A stream of its own, drawn from the seed, so that no other
            // draw of the run moves.
            final_disables: ChaCha8Rng::seed_from_u64(seed ^ 0x4469_7361_626c_6500).next_u32() % 4
                == 0,
            catch_up: None,
            captured: std::collections::VecDeque::new(),
            activations_sent: std::collections::BTreeSet::new(),
            last_ke1: BTreeMap::new(),
            // A stream of its own, so that the fleet's and the run's
            // randomness do not depend on it.
            chat_server: OpaqueCrypto::new(FleetSecrets::generate(&mut ChaCha8Rng::seed_from_u64(
                seed ^ 0xc4a7_5e7e_0000_0000,
            ))),
            substitute: BTreeMap::new(),
            relayed_starts: BTreeMap::new(),
            own_tickets: BTreeMap::new(),
            relayed_tickets: BTreeMap::new(),
            relayed_tags: BTreeMap::new(),
            relayed_gone: BTreeMap::new(),
        };
        world.populate();
        faults::choose_rollback_nodes(&mut world);
        world.cluster.schedule(Millis(200), Ev::FaultTick);
        world
            .cluster
            .schedule(Millis(scenario.duration_ms), Ev::Heal);
        world
    }

    fn rng(&mut self) -> &mut ChaCha8Rng {
        self.cluster.rng()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng().next_u64() % n.max(1)
    }

    fn now(&self) -> Millis {
        self.cluster.now()
    }

    fn record(
        &mut self,
        kind: &'static str,
        from: Party,
        to: Option<Party>,
        what: &'static str,
        user: Option<u64>,
        arg: u64,
    ) {
        let r = Record {
            step: self.cluster.events_processed(),
            at: self.cluster.now().0,
            kind,
            from,
            to,
            what,
            user,
            arg,
        };
        self.trace.push(r);
        if kind == "fault" {
            // Jepsen's nemesis entries: the faults among the operations.
            let node = match to {
                Some(Party::Node(n)) => Some(n),
                _ => None,
            };
            let at = r.at;
            if let Some(h) = self.history.as_mut() {
                h.fault(what, node, user, arg, at);
            }
        }
    }

    /// Stops the run with `v`, filling in where and what led to it.
    fn fail(&mut self, mut v: Violation) {
        if self.violation.is_some() {
            return;
        }
        if self.history_checks_alone && !self.judging_history {
            self.held_back.get_or_insert(v);
            return;
        }
        v.step = self.cluster.events_processed();
        v.at_ms = self.cluster.now().0;
        v.leading = self
            .trace
            .leading_to(v.user, v.node, 40)
            .iter()
            .map(trace::describe)
            .collect();
        self.record("check", Party::World, None, v.invariant, v.user, 0);
        self.violation = Some(v);
        self.phase = Phase::Done;
    }

    fn run(&mut self) {
        // A bound on events, so a livelock in the code under test ends the
        // run with a report instead of hanging a sweep.
        let max_events = 200_000 + self.scenario.duration_ms * 400;
        while self.phase != Phase::Done {
            if self.cluster.events_processed() > max_events {
                let v = Violation {
                    invariant: Invariant::Live1.id(),
                    step: 0,
                    at_ms: 0,
                    message: format!(
                        "the run did not finish within {max_events} events (a livelock?)"
                    ),
                    user: None,
                    node: None,
                    leading: Vec::new(),
                };
                self.fail(v);
                break;
            }
            let Some(stepped) = self.cluster.step() else {
                break;
            };
            match stepped {
                Stepped::Node(id) => self.after_node(id),
                Stepped::Reply(d) => self.on_reply(d),
                Stepped::External(ev) => self.on_event(ev),
            }
        }
        let now = self.now().0;
        let effects = &self.committed_effects;
        if let Some(history) = self.history.as_mut() {
            history.close(now, |user, call| {
                use history::Call;
                match call {
                    Call::RegistrationStart => false,
                    Call::Stage { content, .. } => effects.contains(&Effect::Staged(*content)),
                    Call::Activate { registration, .. } => {
                        effects.contains(&Effect::Activated(*registration))
                    }
                    Call::LoginStart { ke1 } => effects.contains(&Effect::Consumed(*ke1)),
                    // A valid finish resets its user's count; any reset of
                    // that user may be it. An invalid one changes nothing.
                    Call::LoginFinish { valid, .. } => {
                        *valid && effects.contains(&Effect::Reset(UserId(user)))
                    }
                    Call::Delete { registration } => {
                        effects.contains(&Effect::Deleted(*registration))
                    }
                }
            });
        }
        if self.check_history && self.violation.is_none() {
            self.check_history_now();
        }
    }

    /// The last operation is over, every fault long healed: every node
    /// must now catch up with the committed log (LIVE-3). Skipped when the
    /// run already failed, or when the host adversary rolled back every
    /// disk at once (no liveness is promised then).
    fn begin_catch_up(&mut self) {
        if self.violation.is_some() || self.host.liveness_voided {
            self.phase = Phase::Done;
            return;
        }
        self.phase = Phase::CatchingUp;
        let target = self.consensus.reference_index();
        let behind = self
            .cluster
            .ids()
            .filter(|id| self.cluster.node(*id).is_none_or(|n| n.applied() < target))
            .count();
        self.coverage.behind_at_the_end(behind as u64);
        self.catch_up = Some(CatchUp::new(target, self.now()));
        self.judge_catch_up();
    }

    /// Looks whether every node has applied the target (LIVE-3): done
    /// once they all have, a violation once the time is up, else again in
    /// a moment.
    fn judge_catch_up(&mut self) {
        let Some(catch_up) = self.catch_up.filter(|_| self.phase == Phase::CatchingUp) else {
            return;
        };
        let now = self.now();
        let applied = self.cluster.ids().map(|id| {
            (
                id,
                self.cluster
                    .node(id)
                    .map_or(Default::default(), |n| n.applied()),
            )
        });
        match catch_up.judge(applied, now) {
            Ok(true) => {
                self.phase = Phase::Done;
                // CONS-4 over every store, read whole: the per-step check
                // reads the users a step names and a few more in turn.
                let audit = self.cluster.ids().find_map(|id| {
                    let node = self.cluster.node(id)?;
                    self.consensus.audit_store(id, node).err()
                });
                if let Some(v) = audit {
                    self.fail(v);
                }
            }
            Ok(false) => {
                let at = now.plus(check::convergence::POLL_MS);
                self.cluster.schedule(at, Ev::CatchUp);
            }
            Err(_) if self.waive_liveness_for_lost_tail() => self.phase = Phase::Done,
            Err(v) => self.fail(v),
        }
    }

    /// Whether a final liveness check that just failed is waived for an
    /// unprovable lost tail ([`Self::lost_tail_unprovable`]); the run's
    /// report says so.
    pub(super) fn waive_liveness_for_lost_tail(&mut self) -> bool {
        let waive = self.lost_tail_unprovable();
        self.stats.liveness_waived_lost_tail |= waive;
        waive
    }

    /// Whether a tail some HSM acknowledged is held by no log and too few
    /// counters can prove it uncommitted, so the cluster rightly waits for
    /// a disk that holds it and the final liveness checks are waived
    /// (`check::unprovable_tail`). Read from the simulator's ground truth:
    /// the logs it holds and the HSMs' counters.
    fn lost_tail_unprovable(&self) -> bool {
        let marks: Vec<_> = self
            .cluster
            .ids()
            .map(|id| check::unprovable_tail::NodeMarks {
                log: self.cluster.node(id).map(|n| {
                    let log = n.raft().log();
                    (log.last_term(), log.last_index())
                }),
                counter: self.cluster.nvram(id).log,
            })
            .collect();
        check::unprovable_tail::unprovable_lost_tail(
            &marks,
            self.scenario.nodes,
            self.scenario.rollback_tolerance,
        )
    }

    /// LOCK-4's timing at the end of a run: no leader keeps a spent record
    /// past its due time (`check::exhaustion`).
    fn check_exhaustion_at_end(&mut self) {
        let nodes: Vec<_> = self
            .cluster
            .ids()
            .filter_map(|i| self.cluster.node(i).map(|n| (i, n)))
            .collect();
        if let Err(v) = self.exhaustion.at_end(&nodes, self.now().0) {
            self.fail(v);
        }
    }

    /// The whole history: LOCK-1's bound on tests per registration (a
    /// linear pass, `history::guesses`), then CONS-4: it must linearize.
    fn check_history_now(&mut self) {
        let Some(history) = self.history.as_ref() else {
            return;
        };
        let limit = self.scenario.guess_limit;
        self.judging_history = true;
        let bound = match history::guesses::check(history, limit) {
            history::guesses::Verdict::Within => None,
            history::guesses::Verdict::TooManyTests {
                user,
                registration,
                tests,
            } => Some((user, format!(
                "the history shows {tests} distinct KE1s tested against registration {registration:?} with no possible proof between them (limit {limit})"
            ))),
            history::guesses::Verdict::RemainingTooHigh {
                user,
                registration,
                remaining,
                at_most,
            } => Some((user, format!(
                "a KE2 for registration {registration:?} reported {remaining} guesses left where the tests answered before it leave at most {at_most} (limit {limit})"
            ))),
        };
        if let Some((user, message)) = bound {
            self.fail(Violation::user(
                Invariant::Lock1,
                UserId(user),
                None,
                message,
            ));
            return;
        }
        let verdict = history::linearizable::check(history, limit);
        let v = match verdict {
            history::linearizable::Verdict::Linearizable => return,
            history::linearizable::Verdict::NotLinearizable { user, stuck_at } => Violation::user(
                Invariant::Cons4,
                UserId(user),
                None,
                format!(
                    "the vault history of user {user} does not linearize against the model of docs/history.md; no order places: {stuck_at}"
                ),
            ),
            history::linearizable::Verdict::Undecided { user } => Violation::user(
                Invariant::Cons4,
                UserId(user),
                None,
                format!(
                    "the history check of user {user} gave up after {} states: no verdict (not a pass)",
                    history::linearizable::MAX_STATES_PER_USER
                ),
            ),
        };
        self.fail(v);
    }

    /// The history's view of a request.
    fn history_call(&self, request: &ClientRequest<OpaqueCrypto>) -> history::Call {
        history::Call::of(&self.crypto, request, |r| match r {
            ClientRequest::LoginFinish { user, login, ke3 } => {
                self.ke3_made
                    .contains(&(user.0, login.0, ke3.as_bytes().to_vec()))
            }
            _ => false,
        })
    }

    /// A client made this KE3 for its own login (see `ke3_made`).
    fn ke3_made(&mut self, request: &ClientRequest<OpaqueCrypto>) {
        if let ClientRequest::LoginFinish { user, login, ke3 } = request {
            self.ke3_made
                .insert((user.0, login.0, ke3.as_bytes().to_vec()));
        }
    }

    /// After a node ran: trace it, scan what it produced, check it.
    fn after_node(&mut self, id: NodeId) {
        let effects = self.cluster.effects();
        let request = effects.request;
        let n = Party::Node(id.0);
        // Trace: one record per message and reply, else one for the step.
        let mut records: Vec<Record> = Vec::new();
        let step = self.cluster.events_processed();
        let at = self.cluster.now().0;
        for (from, to, msg) in &effects.messages {
            records.push(Record {
                step,
                at,
                kind: "send",
                from: Party::Node(from.0),
                to: Some(Party::Node(to.0)),
                what: message_kind(msg),
                user: None,
                arg: msg.term().0,
            });
        }
        for (from, r) in &effects.replies {
            records.push(Record {
                step,
                at,
                kind: "reply",
                from: Party::Node(from.0),
                to: Some(Party::Actor((r.to.0 >> 20) as u32)),
                what: response_kind(&r.response),
                user: self.requests.get(&(r.to, r.request)).map(|i| i.user.0),
                arg: r.index.map_or(0, |i| i.0),
            });
        }
        if records.is_empty() {
            records.push(Record {
                step,
                at,
                kind: "node",
                from: n,
                to: None,
                what: request.map_or("step", |r| r.1),
                user: request.map(|r| r.0 .0),
                arg: 0,
            });
        }
        for r in records {
            self.trace.push(r);
        }
        if let Err(v) = self.check_node(id) {
            self.fail(v);
        }
        nemesis::watch(self, id);
    }

    fn check_node(&mut self, id: NodeId) -> Result<(), Violation> {
        // CONS-3's ground under rollbacks: an HSM's log mark rises only to
        // what its node's synced disk holds.
        let mark = self.cluster.nvram(id).log;
        let before = self.hsm_marks.insert(id, mark);
        check::consensus::hsm_mark_within_disk(id, mark, before, &self.cluster.disk(id).log)?;
        // HOST-1: what the host sees (every sealed message, every synced
        // disk byte) holds no HSM secret, K or password.
        let effects = self.cluster.effects();
        let hosting = self.mix.has(FaultKind::Host);
        for (from, to, sealed) in &effects.sealed {
            if let Some(found) = self.host_secrets.scan(sealed.as_bytes()) {
                return Err(leak(
                    found,
                    "a message between nodes, as the host carries it",
                    Some(id),
                ));
            }
            if hosting {
                self.host.capture(*from, *to, sealed);
            }
        }
        for (node, range) in &effects.synced {
            let disk = self.cluster.sim_disk(*node).bytes();
            let bytes = &disk[range.start.min(disk.len())..range.end.min(disk.len())];
            if let Some(found) = self.host_secrets.scan(bytes) {
                return Err(leak(
                    found,
                    "a node's disk, as the host reads it",
                    Some(*node),
                ));
            }
        }
        // LOCK-4 on disk: after a sync, what the node erased is gone from
        // its disk.
        if effects.synced.iter().any(|(n, _)| *n == id) {
            if let Some(node) = self.cluster.node(id) {
                let unsynced = self.cluster.unsynced(id);
                self.erasure
                    .check(id, node, self.cluster.disk(id), unsynced)?;
                if unsynced == 0 {
                    check::consensus::disk_holds_the_log(id, node, self.cluster.disk(id))?;
                    check::consensus::restart_term_covers_the_disk(
                        id,
                        node,
                        self.cluster.disk(id),
                    )?;
                }
            }
        }
        // KEY-1: every message, as the HSMs exchange it.
        let effects = self.cluster.effects();
        for (_, _, msg) in &effects.messages {
            if carries_data(msg) {
                let bytes = postcard::to_allocvec(msg).unwrap_or_default();
                if let Some(found) = self.secrets.scan(&bytes) {
                    return Err(leak(found, "a message between nodes", Some(id)));
                }
            }
        }
        for (_, r) in &effects.replies {
            let bytes = postcard::to_allocvec(&r.response).unwrap_or_default();
            if let Some(found) = self.secrets.scan(&bytes) {
                return Err(leak(found, "a vault reply", Some(id)));
            }
        }
        // HOST-1: a message the host moved to another link is dropped. The
        // link it was sealed for is where the host captured it; the node's
        // seal must bind both ends, or the host can hand a vote or an append
        // to a node it was not meant for.
        if let Some((sealed_for, came_on)) = self.cluster.effects().misdirected_taken {
            return Err(Violation::node(
                Invariant::Host1,
                id,
                format!(
                    "n{} took a peer message sealed for the link n{}->n{} that the host delivered as n{}->n{}",
                    id.0, sealed_for.0 .0, sealed_for.1 .0, came_on.0 .0, came_on.1 .0
                ),
            ));
        }
        let Some(node) = self.cluster.node(id) else {
            return Ok(());
        };
        if let Some(breach) = &self.cluster.effects().contract_breach {
            return Err(Violation::node(
                Invariant::Drv1,
                id,
                format!("driver contract: {breach}"),
            ));
        }
        // The exhaustion rule's index of spent budgets, where the store
        // changed in this step.
        let effects = self.cluster.effects();
        let applied = effects
            .applied
            .iter()
            .filter(|(n, _)| *n == id)
            .filter_map(|(_, a)| a.command.as_ref().map(|c| c.user()));
        let restored = effects.restored.iter().any(|(n, _)| *n == id);
        check::exhaustion::index_matches_store(id, node, applied, restored)?;
        // Lockout first: a broken lockout rule also makes a node's store
        // differ from the reference (CONS-4), but LOCK-n names the cause.
        let step = self.cluster.events_processed();
        let destroyed_before = self.lockout.destroyed().len();
        self.lockout
            .after_step(id, node, self.cluster.effects().request, step)?;
        let destroyed = self.lockout.destroyed().len() - destroyed_before;
        if destroyed > 0 {
            let down = self
                .cluster
                .ids()
                .filter(|i| !self.cluster.is_up(*i))
                .count();
            self.coverage.destroyed(destroyed as u64, down);
        }
        let effects = self.cluster.effects();
        let covered = self.elections.after_step(check::elections::Step {
            id,
            node,
            incarnation: self.cluster.incarnation(id),
            clock: self.cluster.clock_of(id),
            handled: effects.handled,
            sent: &effects.messages,
        })?;
        if covered.pre_vote_refused_under_a_leader {
            self.coverage.pre_vote_refused_under_a_leader();
        }
        if covered.vote_past_a_lost_tail {
            self.coverage.vote_past_lost_tail();
        }
        if self
            .acks
            .after_step(id, node, effects.handled, &effects.messages)?
        {
            self.coverage.stale_answer_to_a_leader();
        }
        // LOAD-1: what a leader that cannot answer yet holds.
        if self.load.after_step(
            id,
            self.cluster.incarnation(id),
            node,
            effects.request_id,
            &effects.replies,
        )? {
            self.coverage.leader_queue_filled();
        }
        let clock = self.cluster.clock_of(id).0;
        let effects = self.cluster.effects();
        let finishing = effects.finishing.zip(effects.request.map(|(user, _)| user));
        let expired_now = effects.request_id.is_some_and(|(client, request)| {
            effects.replies.iter().any(|(from, reply)| {
                *from == id
                    && (reply.to, reply.request) == (client, request)
                    && matches!(reply.response, ClientResponse::LoginExpired)
            })
        });
        let now = self.now().0;
        self.exhaustion
            .after_step(id, node, finishing, expired_now, clock, now)?;
        let applied = self.cluster.effects().applied.iter();
        let applied = applied.filter(|(from, _)| *from == id).map(|(_, a)| a);
        let added = self.consensus.after_step(id, node, step, applied)?;
        let staged: Vec<_> = added
            .iter()
            .filter_map(|(index, _, command)| match command {
                Some(Command::Stage {
                    user,
                    registration,
                    password_file,
                    wrapped_key,
                    verifier,
                    reply_key,
                    ..
                }) => Some((
                    *index,
                    *user,
                    *registration,
                    material_of(password_file, wrapped_key, verifier, reply_key),
                )),
                _ => None,
            })
            .collect();
        for (index, user, registration, parts) in staged {
            let material = self.record_material(user, parts);
            self.erasure.on_stage(index, user, registration, material);
        }
        let Some(node) = self.cluster.node(id) else {
            return Ok(());
        };
        if self.history.is_some() {
            for (_, _, command) in &added {
                let effect = match command {
                    Some(Command::Stage { content, .. }) => Effect::Staged(*content),
                    Some(Command::Activate { registration, .. }) => {
                        Effect::Activated(*registration)
                    }
                    Some(Command::ConsumeAttempt { ke1, .. }) => Effect::Consumed(*ke1),
                    Some(Command::Reset { user, .. }) => Effect::Reset(*user),
                    Some(Command::Delete { registration, .. }) => Effect::Deleted(*registration),
                    // Not a client's operation: the history's model takes
                    // it as an internal step (docs/history.md).
                    Some(Command::Exhaust { .. }) | None => continue,
                };
                self.committed_effects.insert(effect);
            }
        }
        let raft = node.raft();
        if raft.role() == backup_vault::vault::raft::Role::Leader {
            if self.coverage.is_new_leader_term(raft.term())
                && led_behind_own_counter(raft, self.cluster.nvram(id).log)
            {
                self.coverage.led_behind_own_counter();
            }
            self.coverage.leader(raft.term());
            if self.cluster.effects().request_id.is_some() {
                self.coverage.request_at_leader(raft.term());
            }
            for (_, c, _) in &added {
                self.coverage.committed_by_leader(c.term, raft.term());
            }
            // Read from the log, not from the node's own "serving": the
            // term is open once its first entry (the no-op) is committed,
            // and terms only grow along a log.
            let opened = raft.log().term_at(raft.commit_index()) == Some(raft.term());
            if let (Some(request), false) = (self.cluster.effects().request_id, opened) {
                self.coverage
                    .request_before_term_opened(request, id, raft.term());
            }
        }
        for (_, reply) in &self.cluster.effects().replies {
            self.coverage
                .replied((reply.to, reply.request), id, raft.term(), &reply.response);
        }
        for (index, command, outcome) in self.consensus.take_budget_entries() {
            if self.resends.applied(index, &command, &outcome)? {
                self.coverage.resent_login_start();
            }
        }
        self.lockout.on_commits(&added)?;
        self.exhaustion
            .on_commits(&added, self.consensus.reference(), self.now().0);
        self.oracle.on_commits(&added)?;
        let disks: Vec<_> = self.cluster.ids().map(|i| self.cluster.disk(i)).collect();
        for (from, reply) in &self.cluster.effects().replies {
            let request = self.requests.get(&(reply.to, reply.request));
            match &reply.response {
                ClientResponse::LoginOk { .. } => {
                    self.stats.logins_ok += 1;
                    if let Some(login) = request.and_then(|r| r.login) {
                        self.coverage.login_ok(login);
                    }
                }
                ClientResponse::Ke2 { login, .. } => {
                    if let Some(c) = reply.index.and_then(|i| self.consensus.committed(i)) {
                        self.coverage.ke2(*login, c.term, node.raft().term());
                    }
                }
                _ => {}
            }
            let consumed = reply
                .index
                .and_then(|i| self.consensus.committed(i))
                .filter(|c| c.kind == Kind::Consume)
                .and_then(|c| Some((c.user?, c.registration?)));
            self.exhaustion.on_reply(
                *from,
                &reply.response,
                request.and_then(|r| r.login.map(|login| (login, r.user))),
                consumed,
                node.raft().term(),
                self.cluster.clock_of(*from).0,
                self.now().0,
            );
            self.lockout
                .on_reply(*from, node, reply, request, &disks, &self.consensus)?;
            let Some(request) = request else {
                continue;
            };
            oracle_check(
                &mut self.oracle,
                &self.consensus,
                *from,
                node,
                reply,
                request,
            )?;
            if reply.index.is_none() {
                check::answers::check(
                    &self.consensus,
                    *from,
                    request.user,
                    &request.asked,
                    &reply.response,
                    request.sent,
                    step,
                )?;
            }
        }
        Ok(())
    }

    /// LOCK-1, the record's key: whether an honest device's registration
    /// opens with its password under the vault's key for it, by a real
    /// login offline (`check::oracle`). Spliced stages (content not the
    /// digest of what is carried) are LOCK-3's.
    fn check_registration_key(
        &mut self,
        user: UserId,
        opened: &OpenedRegistration<OpaqueCrypto>,
        content: ContentDigest,
        password: &Password,
    ) {
        self.record_material(
            user,
            material_of(
                &opened.password_file,
                &opened.wrapped_key,
                &opened.verifier,
                &opened.reply_key,
            ),
        );
        if opened.content != content || self.oracle.knows_registration(&content) {
            return;
        }
        let mut rng = ChaCha8Rng::from_seed(content.0);
        let vault_keyed = (|| {
            let start =
                opaque_client::login_start(&mut rng, &user_bytes(user), password.expose_secret())
                    .ok()?;
            let (_, ke2) = self
                .crypto
                .login_start(
                    &mut rng,
                    user,
                    &opened.ticket.key,
                    &opened.password_file,
                    &start.ke1,
                )
                .ok()?;
            let config = self.client_config.opaque();
            opaque_client::login_finish(
                &mut rng,
                start.state,
                password.expose_secret(),
                &ke2,
                &config,
            )
            .ok()
        })()
        .is_some();
        self.oracle.honest_registration(content, vault_keyed);
    }

    /// What the checks need to know of a request.
    ///
    /// `opened` is the auditor's opening of a stage's sealed registration
    /// (`None` for other requests, or if it did not open).
    fn request_info(
        &mut self,
        request: &ClientRequest<OpaqueCrypto>,
        opened: Option<&OpenedRegistration<OpaqueCrypto>>,
        restore: Option<check::oracle::RestoreId>,
    ) -> RequestInfo {
        let user = request.user();
        let (asked, input) = match request {
            ClientRequest::RegistrationStart { request, .. } => (
                Asked::RegistrationStart,
                Some(OprfInput::Registration(request.clone())),
            ),
            ClientRequest::Stage {
                content, replacing, ..
            } => {
                if let Some(o) = opened {
                    self.lockout
                        .sealed(o.content, o.password_file.as_bytes().to_vec());
                }
                (
                    Asked::Stage {
                        replacing: replacing.as_ref().map(|r| r.registration),
                        seq: opened.map(|o| o.ticket.seq),
                        content: *content,
                    },
                    None,
                )
            }
            ClientRequest::Activate {
                registration,
                content,
                ..
            } => {
                self.lockout.activation_requested(*registration);
                (
                    Asked::Activate {
                        registration: *registration,
                        content: *content,
                    },
                    None,
                )
            }
            ClientRequest::LoginStart { ke1, .. } => {
                (Asked::LoginStart, Some(OprfInput::Login(ke1.clone())))
            }
            ClientRequest::LoginFinish { .. } => (Asked::LoginFinish, None),
            ClientRequest::Delete { registration, .. } => (
                Asked::Delete {
                    registration: *registration,
                },
                None,
            ),
        };
        RequestInfo {
            user,
            kind: request_kind(request),
            login: match request {
                ClientRequest::LoginFinish { login, .. } => Some(*login),
                _ => None,
            },
            sent: self.cluster.events_processed(),
            asked,
            input,
            restore,
            process: None,
            copies: 0,
        }
    }

    /// Sends a vault request for actor `a`.
    fn submit(&mut self, a: usize, to: NodeId, call: u64, request: ClientRequest<OpaqueCrypto>) {
        self.send(a, to, call, request, None);
    }

    /// Sends a vault request for actor `a`, as the network delivers it or,
    /// with `copies`, that many times.
    fn send(
        &mut self,
        a: usize,
        to: NodeId,
        call: u64,
        request: ClientRequest<OpaqueCrypto>,
        copies: Option<u32>,
    ) {
        let client = self.actors[a].client_id();
        let restore = self.actors[a].restore();
        // The checks hold the fleet's secrets: they open a stage's sealed
        // registration, once, to know what a stage of this content must hold.
        let opened = match &request {
            ClientRequest::Stage { user, sealed, .. } => {
                self.crypto.open_registration(*user, sealed).ok()
            }
            _ => None,
        };
        let mut info = self.request_info(&request, opened.as_ref(), restore);
        if let (ClientRequest::Stage { user, content, .. }, Some(opened)) = (&request, &opened) {
            if let Some(password) = self.actors[a].registering().cloned() {
                self.check_registration_key(*user, opened, *content, &password);
            }
        }
        match &request {
            ClientRequest::Activate { registration, .. } => {
                self.actors[a].activating(*registration);
            }
            ClientRequest::LoginStart { user, .. } => {
                self.last_ke1.insert(*user, request.clone());
            }
            _ => {}
        }
        if self.history.is_some() {
            let call = self.history_call(&request);
            let now = self.now().0;
            if let Some(h) = self.history.as_mut() {
                info.process = Some(h.invoke(request.user().0, a as u32, call, now));
            }
        }
        let bytes = postcard::to_allocvec(&request).unwrap_or_default();
        if let Some(found) = self.secrets.scan(&bytes) {
            self.fail(leak(found, "a client request", None));
            return;
        }
        self.record(
            "request",
            Party::Actor(a as u32),
            Some(Party::Node(to.0)),
            info.kind,
            Some(info.user.0),
            call,
        );
        info.copies = match copies {
            None => self.cluster.submit(to, client, RequestId(call), request),
            Some(n) => self
                .cluster
                .submit_copies(to, client, RequestId(call), request, n),
        };
        if let (Some(process), Some(h)) = (info.process, self.history.as_mut()) {
            h.delivered(process, info.copies);
        }
        self.requests.insert((client, RequestId(call)), info);
    }

    fn on_reply(&mut self, d: crate::cluster::Delivered<OpaqueCrypto>) {
        let a = (d.client.0 >> 20) as usize;
        let epoch = (d.client.0 & 0xf_ffff) as u32;
        if a >= self.actors.len() || self.actors[a].epoch != epoch {
            return;
        }
        let sent = self
            .requests
            .get(&(d.client, d.request))
            .and_then(|i| Some((i.process?, i.copies)));
        if let (Some((process, copies)), Some(history)) = (sent, self.history.as_mut()) {
            let registration = d
                .index
                .and_then(|index| self.consensus.committed(index).and_then(|c| c.registration));
            let answer = history::Answer::of(&d.response, registration);
            history.complete(process, answer, copies == 1, d.at.0);
        }
        self.record(
            "deliver",
            Party::Node(d.from.0),
            Some(Party::Actor(a as u32)),
            response_kind(&d.response),
            Some(self.actors[a].user.0),
            d.request.0,
        );
        if let ClientResponse::Staged { tag, .. }
        | ClientResponse::Activated { tag, .. }
        | ClientResponse::Deleted { tag, .. }
        | ClientResponse::KeyLivesOn { tag, .. } = &d.response
        {
            self.relayed_tags.insert(a, tag.clone());
        }
        if matches!(d.response, ClientResponse::Deleted { .. }) {
            self.relayed_gone.insert(a, d.response.clone());
        }
        if matches!(d.response, ClientResponse::KeyLivesOn { .. })
            && self.actors[a].role == actors::Role::Honest
        {
            self.coverage.delete_pointed_at_a_live_record();
        }
        actors::on_vault_reply(self, a, d);
    }

    fn on_event(&mut self, ev: Ev) {
        match ev {
            Ev::Wake { actor, epoch } => {
                if self.actors[actor].epoch == epoch {
                    actors::wake(self, actor);
                }
            }
            Ev::Timeout { actor, epoch } => {
                if self.actors[actor].epoch == epoch {
                    actors::timeout(self, actor);
                }
            }
            Ev::CloudDone {
                actor,
                epoch,
                call,
                result,
            } => {
                if self.actors[actor].epoch == epoch {
                    actors::cloud_done(self, actor, call, result);
                }
            }
            Ev::ClientCrash { actor, epoch } => {
                if self.actors[actor].epoch == epoch && self.phase == Phase::Faults {
                    actors::crash(self, actor);
                }
            }
            Ev::Forged {
                actor,
                epoch,
                call,
                response,
            } => {
                if self.actors[actor].epoch == epoch {
                    actors::forged(self, actor, call, *response);
                }
            }
            Ev::FaultTick => faults::tick(self),
            Ev::Nemesis(act) => nemesis::act(self, act),
            Ev::Restart(id) => faults::restart(self, id),
            Ev::RestoreDisks => host::restore_every_disk(self),
            Ev::HealPartition(id) => faults::heal_partition(self, id),
            Ev::Heal => faults::heal_all(self),
            Ev::Final => actors::start_finals(self),
            Ev::End => actors::end_finals(self),
            Ev::CatchUp => self.judge_catch_up(),
        }
    }

    /// Adds actors: one device per honest user, the adversaries, and with
    /// `--second-devices` a second device per honest user.
    fn populate(&mut self) {
        for u in 0..self.scenario.users {
            let actor = Actor::honest(self, u64::from(u) + 1);
            self.actors.push(actor);
        }
        for role in [
            actors::Role::Guesser,
            actors::Role::Replayer,
            actors::Role::Reregistrar,
        ] {
            let actor = Actor::adversary(self, role);
            self.actors.push(actor);
        }
        if self.scenario.second_devices {
            for first in 0..self.scenario.users as usize {
                let second = Actor::second_device(self, first);
                self.actors[first].second = Some(self.actors.len());
                self.actors.push(second);
            }
        }
        for a in 0..self.actors.len() {
            let at = Millis(1_000 + self.below(2_000));
            let epoch = self.actors[a].epoch;
            self.cluster.schedule(at, Ev::Wake { actor: a, epoch });
        }
    }

    fn add_secret(
        &mut self,
        user: backup_vault::vault::ids::UserId,
        kind: SecretKind,
        bytes: &[u8],
    ) {
        self.secrets.add(user, kind, bytes);
        self.host_secrets.add(user, kind, bytes);
    }

    /// A registration's HSM-only material: searched for in what hosts see
    /// (HOST-1), and in a node's disk once it erased it (LOCK-4).
    fn record_material(&mut self, user: UserId, parts: [Vec<u8>; 4]) -> Vec<Vec<u8>> {
        for part in &parts {
            self.host_secrets.add(user, SecretKind::RecordSecret, part);
        }
        // Erasure is about what is the gone registration's own: its
        // password file and K wrapped under its password. The verifier and
        // the reply key derive from K and the user, so every registration
        // of the same K shares them (and the tombstone keeps the reply key
        // to answer "gone").
        parts[..2].to_vec()
    }
}

fn leak(
    found: (backup_vault::vault::ids::UserId, SecretKind),
    place: &str,
    node: Option<NodeId>,
) -> Violation {
    let what = match found.1 {
        SecretKind::Key => "backup key K",
        SecretKind::Password => "password",
        SecretKind::RecordSecret => {
            "record secret (password file, wrapped key, verifier or reply key)"
        }
        SecretKind::FleetSecret => "fleet secret or key derived from it",
    };
    let invariant = match found.1 {
        SecretKind::Key | SecretKind::Password => Invariant::Key1,
        SecretKind::RecordSecret | SecretKind::FleetSecret => Invariant::Host1,
    };
    Violation::user(
        invariant,
        found.0,
        node,
        format!(
            "user {}'s {what} appeared in the clear in {place}",
            found.0 .0
        ),
    )
}

/// The bytes of a registration's HSM-only material, as they appear inside
/// any encoding of a record that holds it.
fn material_of(
    password_file: &<OpaqueCrypto as VaultCrypto>::PasswordFile,
    wrapped_key: &<OpaqueCrypto as VaultCrypto>::WrappedKey,
    verifier: &<OpaqueCrypto as VaultCrypto>::KeyVerifier,
    reply_key: &<OpaqueCrypto as VaultCrypto>::ReplyKey,
) -> [Vec<u8>; 4] {
    [
        postcard::to_allocvec(password_file).unwrap_or_default(),
        postcard::to_allocvec(wrapped_key).unwrap_or_default(),
        postcard::to_allocvec(verifier).unwrap_or_default(),
        postcard::to_allocvec(reply_key).unwrap_or_default(),
    ]
}

/// Whether a peer message can carry record data (others hold only ids and
/// terms, so scanning them could find nothing).
fn carries_data(msg: &backup_vault::vault::node::VaultPeerMessage<OpaqueCrypto>) -> bool {
    use backup_vault::vault::raft::message::PeerMessage;
    match msg {
        PeerMessage::Append { entries, .. } => entries.iter().any(|e| e.command.is_some()),
        PeerMessage::InstallSnapshot { .. } => true,
        _ => false,
    }
}

fn message_kind(msg: &backup_vault::vault::node::VaultPeerMessage<OpaqueCrypto>) -> &'static str {
    use backup_vault::vault::raft::message::PeerMessage;
    match msg {
        PeerMessage::PreVote { .. } => "pre-vote",
        PeerMessage::PreVoteReply { .. } => "pre-vote-reply",
        PeerMessage::RequestVote { .. } => "request-vote",
        PeerMessage::Vote { .. } => "vote",
        PeerMessage::Append { entries, .. } if entries.is_empty() => "heartbeat",
        PeerMessage::Append { .. } => "append",
        PeerMessage::AppendReply { .. } => "append-reply",
        PeerMessage::Attest { .. } => "attest",
        PeerMessage::Attested { .. } => "attested",
        PeerMessage::InstallSnapshot { .. } | PeerMessage::SnapshotReply { .. } => "snapshot",
    }
}

/// LOCK-1 and LOCK-5 on one reply (see `check::oracle`).
fn oracle_check(
    oracle: &mut Oracle,
    consensus: &Consensus<OpaqueCrypto>,
    from: NodeId,
    node: &VaultNode<OpaqueCrypto>,
    reply: &Reply<OpaqueCrypto>,
    request: &RequestInfo,
) -> Result<(), Violation> {
    match (&reply.response, &request.input) {
        (ClientResponse::RegistrationResponse(answer), Some(OprfInput::Registration(input))) => {
            oracle.on_registration_response(from, request.user, input, answer, node.applied())
        }
        (ClientResponse::Ke2 { ke2, .. }, Some(OprfInput::Login(ke1))) => {
            let Some(index) = reply.index else {
                return Ok(());
            };
            let registration = node
                .raft()
                .log()
                .get(index)
                .and_then(|e| e.command.as_ref())
                .map(Command::registration)
                .or_else(|| consensus.committed(index).and_then(|c| c.registration));
            oracle.on_ke2(from, request.user, ke1, ke2.as_bytes(), index, registration)?;
            match (request.restore, registration) {
                (Some(restore), Some(registration)) => {
                    oracle.on_restore_ke2(from, request.user, restore, registration, index)
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// How a nemesis wants a node's disk rolled back at its next restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ForcedRollback {
    /// As the random injector draws it: up to 7 syncs back, the HSM
    /// replaced half the time.
    Drawn,
    /// Back to before the last entry on its disk, the HSM kept: the
    /// counter sees the loss.
    LastEntryHsmKept,
    /// The disk's last record lost (a sync's last write), the HSM kept.
    LastRecordHsmKept,
}

/// Whether a leader's log, before the first entry of its term, ends
/// behind `counter`, its HSM's mark of the log it acknowledged: it leads
/// past a tail its own disk lost (coverage). Scans back only over its own
/// term's entries, once per new leader term.
fn led_behind_own_counter<
    E: backup_vault::vault::crypto::Value,
    S: backup_vault::vault::crypto::Value,
>(
    raft: &backup_vault::vault::raft::Raft<E, S>,
    counter: (Term, LogIndex),
) -> bool {
    let log = raft.log();
    let mut i = log.last_index();
    while i > log.base_index() && log.term_at(i) == Some(raft.term()) {
        i = LogIndex(i.0 - 1);
    }
    log.term_at(i).is_some_and(|t| (t, i) < counter)
}
