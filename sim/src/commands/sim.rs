//! `bvault-suite sim ...`: the deterministic simulator from the command line.
//!
//! - `run --seed S`: one run, its summary, and on failure the invariant,
//!   the step, the events that led to it and the command that replays it.
//! - `sweep --seeds A..B`: many seeds on every core, with totals and every
//!   failure's replay command; `--shard k/n` splits a sweep across machines.
//!
//! The world itself lives in [`backup_vault_sim::world`]; this module only
//! turns flags into a [`Scenario`], runs seeds (catching panics, which are
//! bugs in the implementation and count as failures), and prints.
//!
//! Everything printed is a function of the scenario and the seeds, except
//! the wall-clock figures (wall time, events/s, seeds/s, compression).

use crate::exit::{CliError, Exit};
use crate::io_util::{check_output, is_stdio, print_report, AtomicFile};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault_sim::world::coverage::Coverage;
use backup_vault_sim::world::nemesis::Nemesis;
use backup_vault_sim::world::{
    self, parse_flaw, AnyFlaw, FaultSelection, RunOptions, RunReport, Scenario,
};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

const SIM_AFTER_HELP: &str = "\
Examples:
  bvault-suite sim run --seed 1
  bvault-suite sim run --seed 1 --trace run.jsonl --history history.jsonl
  bvault-suite sim sweep --seeds 0..1000
  bvault-suite sim sweep --seeds 0..1000000 --shard 3/8 --json > shard3.json

Exit codes:
  0  every seed passed
  2  usage error (bad flags, bad seed range or shard, unknown fault kind or flaw)
  6  a seed failed: an invariant was violated, or an assertion in the simulated code failed
  7  a sweep was interrupted (SIGINT or SIGTERM) before every seed ran, and
     none of those that ran failed: the summary says how many ran
  1  I/O error (cannot write a trace, a history or stdout)";

/// `bvault-suite sim ...`
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run one seed and print its summary.
    #[command(
        long_about = "\
Run one seed of the simulated world (vault nodes, honest users, adversaries,
the cloud store, and the faults the seed picks) and print a summary: the fault
mix, events, virtual and wall time, events per second, time compression
(virtual time per wall second), the trace hash and what the users did.

The same seed and flags always give the same run and the same trace hash. If
an invariant is violated (or the simulation panics), the run stops and prints
the invariant, the step, the virtual time, the events that led to it and the
exact command that replays it, and exits 6.",
        after_help = SIM_AFTER_HELP
    )]
    Run(SimRunArgs),
    /// Run many seeds on every core; exit non-zero on any failure.
    #[command(
        long_about = "\
Run every seed of the half-open range A..B (A included, B not) that belongs to
this shard, on every core, with a progress bar on a terminal (seeds done,
failures, events per second, time left). At the end, print the totals (seeds,
failures, events, events per second, seeds per second, time compression, wall
time) and each failure with its invariant, seed and replay command.

Shards: --shard k/n runs the seeds s of A..B with s % n == k - 1 (k is 1..=n).
The n shards k = 1..n together run every seed of the range exactly once, so
any job runner can spread a nightly sweep over n machines with the same A..B.",
        after_help = SIM_AFTER_HELP
    )]
    Sweep(SimSweepArgs),
}

/// The knobs that make a [`Scenario`]; defaults are [`Scenario::default`].
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Vault nodes, one per data center (1 to 9).
    #[arg(long, value_name = "N", default_value_t = Scenario::default().nodes,
          value_parser = clap::value_parser!(u8).range(1..=9))]
    pub nodes: u8,
    /// Rollback tolerance R: nodes that may come back with an older disk;
    /// the quorum (N + R) / 2 + 1 must not exceed N.
    #[arg(long, value_name = "R", default_value_t = Scenario::default().rollback_tolerance)]
    pub rollback_tolerance: u8,
    /// Honest users (at least 1).
    #[arg(long, value_name = "U", default_value_t = Scenario::default().users,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// Password guesses per record before it is destroyed (at least 1).
    #[arg(long, value_name = "G", default_value_t = Scenario::default().guess_limit,
          value_parser = clap::value_parser!(u8).range(1..))]
    pub guess_limit: u8,
    /// Virtual time the world runs with faults before it heals and settles,
    /// in milliseconds (at least 1000).
    #[arg(long, value_name = "MS", default_value_t = Scenario::default().duration_ms,
          value_parser = clap::value_parser!(u64).range(1000..))]
    pub duration_ms: u64,
    /// Faults: none, swarm (each seed switches each kind on or off), all, or a
    /// comma-separated list of kinds (drop, delay, duplicate, partition, crash,
    /// torn-write, corrupt-write, rollback, clock, client-network, client-crash,
    /// cloud-unavailable, cloud-lost-write, cloud-stale, cloud-corrupt,
    /// cloud-missing, intercept).
    #[arg(long, value_name = "KINDS", default_value_t = Scenario::default().faults,
          value_parser = FaultSelection::parse)]
    pub faults: FaultSelection,
    /// Size of each user's generated chat archive, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Scenario::default().archive_bytes)]
    pub archive_bytes: u64,
    /// Run a deliberately broken vault or client variant, to see a check
    /// bite; at most one vault flaw and one client flaw.
    #[arg(long = "flaw", value_name = "NAME", value_parser = parse_flaw)]
    pub flaws: Vec<AnyFlaw>,
    /// Also check, when each run ends, that its vault history (every
    /// request and answer) linearizes against the sequential model of
    /// docs/history.md; a failure is a CONS-4 violation.
    #[arg(long)]
    pub check_history: bool,
    /// Aim every seed at one nemesis schedule (isolate-leader-after-append,
    /// crash-mid-election, flapping-partition, rollback-after-commit,
    /// stale-log-leader, late-old-term-messages, crash-leader-after-append,
    /// crash-after-vote, obstruct-clients, flood-new-leader; aimed only:
    /// lone-tail-rollback, rolled-back-vote, resend-to-deposed-leader,
    /// failed-backups, rewritten-name)
    /// instead of the swarm's pick; a seed whose fault kinds do not allow
    /// it runs none.
    #[arg(long, value_name = "NAME", value_parser = Nemesis::parse)]
    pub nemesis: Option<Nemesis>,
    /// Honest devices in password mode sometimes switch to key mode (their
    /// vault record stays until backups are turned off), a path the
    /// default users never take; off by default so that recorded seeds
    /// keep their runs.
    #[arg(long)]
    pub mode_switches: bool,
    /// Every honest user also has a second device of the same key, on a
    /// slower network: it sets itself up from the first (a restore with the
    /// digits or the password), then backs up and restores alongside it,
    /// so that backups of one key race for the same names and manifest;
    /// off by default so that recorded seeds keep their runs.
    #[arg(long)]
    pub second_devices: bool,
}

impl ScenarioArgs {
    /// The scenario, after the checks clap cannot do alone.
    ///
    /// # Errors
    /// A usage error for a rollback tolerance the cluster cannot have, or
    /// two flaws of the same side.
    pub fn scenario(&self) -> Result<Scenario, CliError> {
        // The quorum rule lives in one place, the vault's own ClusterConfig.
        ClusterConfig::new(self.nodes, self.rollback_tolerance).map_err(|err| {
            CliError::usage(format!(
                "--nodes {} --rollback-tolerance {}: {err}",
                self.nodes, self.rollback_tolerance
            ))
        })?;
        let mut scenario = Scenario {
            nodes: self.nodes,
            rollback_tolerance: self.rollback_tolerance,
            users: self.users,
            guess_limit: self.guess_limit,
            duration_ms: self.duration_ms,
            faults: self.faults.clone(),
            archive_bytes: self.archive_bytes,
            check_history: self.check_history,
            nemesis: self.nemesis,
            mode_switches: self.mode_switches,
            second_devices: self.second_devices,
            ..Scenario::default()
        };
        for flaw in &self.flaws {
            match *flaw {
                AnyFlaw::Vault(f) if scenario.vault_flaw.is_none() => scenario.vault_flaw = Some(f),
                AnyFlaw::Client(f) if scenario.client_flaw.is_none() => {
                    scenario.client_flaw = Some(f);
                }
                _ => {
                    return Err(CliError::usage(
                        "at most one vault flaw and one client flaw can be given",
                    ))
                }
            }
        }
        Ok(scenario)
    }
}

/// Arguments of `bvault-suite sim run`.
#[derive(Debug, Args)]
pub struct SimRunArgs {
    /// The seed: the whole run follows from it and the knobs.
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Write the event trace to FILE as JSON lines (one object per step), and
    /// a readable timeline of messages between parties to FILE.timeline.txt.
    /// Both hold every event, of every party, on a failure too (the report
    /// prints the events that led to it); a run that panics writes them up
    /// to the panic. Existing files are replaced.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write the vault history (every request any party sent, and the first
    /// answer that reached it) to FILE as JSON lines (see docs/history.md).
    /// An existing file is replaced.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// Arguments of `bvault-suite sim sweep`.
#[derive(Debug, Args)]
pub struct SimSweepArgs {
    /// The seeds: A..B runs A, A+1, ..., B-1 (A must be less than B).
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range)]
    pub seeds: SeedRange,
    /// Run only shard k of n: the seeds s with s % n == k - 1 (1 <= k <= n).
    #[arg(long, value_name = "k/n", default_value = "1/1", value_parser = parse_shard)]
    pub shard: Shard,
    /// Worker threads; 0 means one per core.
    #[arg(long, short = 'j', value_name = "T", default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON document on stdout instead of text (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Stop at the first failure (seeds already running finish).
    #[arg(long)]
    pub fail_fast: bool,
    /// Require every coverage counter to be non-zero over the sweep (the
    /// nightly bar): a sweep with no failure but a counter at zero exits 7,
    /// nothing proved, naming the event its faults never provoked. The
    /// counters only an aimed schedule reaches often (`Coverage::AIMED`)
    /// are left to `--require`.
    #[arg(long)]
    pub require_coverage: bool,
    /// Require this one coverage counter to be non-zero, named as reports
    /// print it (for example "password registrations done"); repeatable.
    /// A sweep that never provoked it exits 7, as for `--require-coverage`.
    #[arg(long = "require", value_name = "COUNTER")]
    pub require: Vec<String>,
    /// Never show the progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// A half-open range of seeds, `start..end`, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

/// Parses `A..B` with `A < B`.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_seed_range(text: &str) -> Result<SeedRange, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("'{text}' is not a seed range: expected A..B, such as 0..1000"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("'{s}' in '{text}' is not a seed (0 to {})", u64::MAX))
    };
    let (start, end) = (number(a)?, number(b)?);
    if start >= end {
        return Err(format!(
            "the range {start}..{end} is empty: A..B runs A up to B-1, so A must be less than B"
        ));
    }
    Ok(SeedRange { start, end })
}

/// Shard `index` of `count` (1-based): the seeds `s` with `s % count == index - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// k, in 1..=count.
    pub index: u64,
    /// n, at least 1.
    pub count: u64,
}

/// Parses `k/n` with `1 <= k <= n`.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not a shard: expected k/n, such as 3/8"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("'{s}' in shard '{text}' is not a number"))
    };
    let (index, count) = (number(k)?, number(n)?);
    if count == 0 || index == 0 || index > count {
        return Err(format!(
            "shard {index}/{count} does not exist: k/n needs 1 <= k <= n"
        ));
    }
    Ok(Shard { index, count })
}

/// The seeds of `range` that belong to `shard`: an arithmetic progression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSeeds {
    /// The first seed (meaningless when `len` is 0).
    pub first: u64,
    /// The step between seeds (the shard count).
    pub step: u64,
    /// How many seeds.
    pub len: u64,
}

impl ShardSeeds {
    /// The seeds of `range` in `shard`.
    pub fn new(range: SeedRange, shard: Shard) -> Self {
        let want = shard.index - 1;
        let offset = (want + shard.count - range.start % shard.count) % shard.count;
        match range.start.checked_add(offset) {
            Some(first) if first < range.end => ShardSeeds {
                first,
                step: shard.count,
                len: (range.end - 1 - first) / shard.count + 1,
            },
            _ => ShardSeeds {
                first: range.start,
                step: shard.count,
                len: 0,
            },
        }
    }

    /// The `i`-th seed, `i < len`.
    pub fn get(&self, i: u64) -> u64 {
        debug_assert!(i < self.len);
        self.first + i * self.step
    }
}

/// Runs one `bvault-suite sim` command.
pub fn run(command: SimCommand) -> Result<(), CliError> {
    match command {
        SimCommand::Run(args) => run_one(&args),
        SimCommand::Sweep(args) => sweep(&args),
    }
}

// ---------------------------------------------------------------------------
// Running a seed, with panics caught.

thread_local! {
    /// Set while this thread runs a seed: the panic hook then records the
    /// message here instead of printing it.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records panics inside a seed's run and
/// leaves every other panic to the previous hook.
fn install_panic_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let payload = info.payload();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(format!("{text}{at}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `seed`; a panic becomes `Err(message)`.
fn run_caught(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunReport, String> {
    install_panic_capture();
    CAPTURING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| world::run(scenario, seed, options)));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|_| {
        PANIC_MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// A failed seed, in the form both commands print.
#[derive(Clone, Debug)]
struct Failure {
    seed: u64,
    /// The invariant's ID, or `PANIC`.
    invariant: String,
    step: Option<u64>,
    at_ms: Option<u64>,
    message: String,
    user: Option<u64>,
    node: Option<u8>,
    leading: Vec<String>,
    replay: String,
    /// The fault kinds the seed switched on (and its nemesis schedule).
    faults: Vec<String>,
}

impl Failure {
    fn from_report(scenario: &Scenario, report: &RunReport) -> Option<Failure> {
        let v = report.violation.as_ref()?;
        Some(Failure {
            seed: report.seed,
            invariant: v.invariant.to_owned(),
            step: Some(v.step),
            at_ms: Some(v.at_ms),
            message: v.message.clone(),
            user: v.user,
            node: v.node,
            leading: v.leading.clone(),
            replay: scenario.replay_command(report.seed),
            faults: report
                .mix
                .on
                .keys()
                .map(|k| k.name().to_owned())
                .chain(report.mix.nemesis.map(|n| format!("nemesis {n}")))
                .collect(),
        })
    }

    fn panic(scenario: &Scenario, seed: u64, message: String) -> Failure {
        Failure {
            seed,
            invariant: "PANIC".to_owned(),
            step: None,
            at_ms: None,
            message,
            user: None,
            node: None,
            leading: Vec::new(),
            replay: scenario.replay_command(seed),
            faults: Vec::new(),
        }
    }

    /// `LOCK-1 at step 1234 (5678 ms)`, or `PANIC`.
    fn headline(&self) -> String {
        let mut out = self.invariant.clone();
        if let (Some(step), Some(at)) = (self.step, self.at_ms) {
            let _ = write!(out, " at step {step} ({at} ms virtual)");
        }
        if let Some(user) = self.user {
            let _ = write!(out, ", user {user}");
        }
        if let Some(node) = self.node {
            let _ = write!(out, ", node {node}");
        }
        out
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "invariant": self.invariant,
            "step": self.step,
            "at_ms": self.at_ms,
            "user": self.user,
            "node": self.node,
            "message": self.message,
            "replay": self.replay,
            "faults": self.faults,
        })
    }
}

// ---------------------------------------------------------------------------
// Figures.

/// Events per second, given events and a wall time.
fn per_second(count: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// `1234567.8` as `1,234,568`.
fn grouped(value: f64) -> String {
    let whole = value.round().max(0.0) as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn describe_scenario(s: &Scenario) -> String {
    let mut out = format!(
        "{} nodes, R {}, {} users, guess limit {}, {} ms, faults {}, archives of {} bytes",
        s.nodes,
        s.rollback_tolerance,
        s.users,
        s.guess_limit,
        s.duration_ms,
        s.faults,
        s.archive_bytes
    );
    if let Some(f) = s.vault_flaw {
        let _ = write!(out, ", vault flaw {}", f.name());
    }
    if let Some(f) = s.client_flaw {
        let _ = write!(out, ", client flaw {}", f.name());
    }
    if backup_vault::opaque::suite::TOY_GROUP {
        let _ = write!(out, ", group {}", backup_vault::opaque::suite::GROUP_NAME);
    }
    out
}

fn scenario_json(s: &Scenario) -> serde_json::Value {
    serde_json::json!({
        "nodes": s.nodes,
        "rollback_tolerance": s.rollback_tolerance,
        "users": s.users,
        "guess_limit": s.guess_limit,
        "duration_ms": s.duration_ms,
        "faults": s.faults.to_string(),
        "archive_bytes": s.archive_bytes,
        "vault_flaw": s.vault_flaw.map(|f| f.name()),
        "client_flaw": s.client_flaw.map(|f| f.name()),
        "nemesis": s.nemesis.map(|n| n.name()),
        "group": backup_vault::opaque::suite::GROUP_NAME,
    })
}

// ---------------------------------------------------------------------------
// `bvault-suite sim run`

/// Refuses `-` and directories as output names, before any work.
fn check_sim_output(path: &Path, flag: &str) -> Result<(), CliError> {
    if is_stdio(path) {
        return Err(CliError::usage(format!(
            "{flag} needs a file name; '-' (standard output) is not supported"
        )));
    }
    check_output(path, true)
}

/// `FILE.timeline.txt` next to `FILE`.
fn timeline_path(trace: &Path) -> PathBuf {
    let mut name = trace.as_os_str().to_owned();
    name.push(".timeline.txt");
    PathBuf::from(name)
}

fn run_one(args: &SimRunArgs) -> Result<(), CliError> {
    let scenario = args.scenario.scenario()?;
    // Output files are created before the run, so that a bad path costs
    // nothing; they appear under their names only once complete.
    let trace_files = match &args.trace {
        Some(path) => {
            let timeline = timeline_path(path);
            check_sim_output(path, "--trace")?;
            check_sim_output(&timeline, "--trace")?;
            Some((
                path.clone(),
                AtomicFile::create(path, true)?,
                timeline.clone(),
                AtomicFile::create(&timeline, true)?,
            ))
        }
        None => None,
    };
    let history_file = match &args.history {
        Some(path) => {
            check_sim_output(path, "--history")?;
            Some((path.clone(), AtomicFile::create(path, true)?))
        }
        None => None,
    };
    let options = RunOptions {
        keep_trace: trace_files.is_some(),
        keep_history: history_file.is_some(),
        history_checks_alone: false,
    };

    let started = Instant::now();
    let outcome = run_caught(&scenario, args.seed, &options);
    let wall = started.elapsed();

    let (report, failure, panicked) = match outcome {
        Ok(report) => {
            let failure = Failure::from_report(&scenario, &report);
            (Some(report), failure, None)
        }
        Err(message) => (
            None,
            Some(Failure::panic(&scenario, args.seed, message)),
            world::take_panicked_trace(),
        ),
    };

    let mut text = String::new();
    let _ = writeln!(
        text,
        "seed {}: {}",
        args.seed,
        if failure.is_some() {
            "FAILED"
        } else {
            "passed"
        }
    );
    let _ = writeln!(text, "  scenario     {}", describe_scenario(&scenario));
    if let Some(report) = &report {
        summarize(&mut text, report);
    } else {
        let _ = writeln!(
            text,
            "  wall time    {:.3} s before the panic",
            wall.as_secs_f64()
        );
    }

    let mut written = Vec::new();
    let trace = report.as_ref().map(|r| &r.trace).or(panicked.as_ref());
    if let (Some(trace), Some((path, mut file, timeline, mut timeline_file))) = (trace, trace_files)
    {
        let records = trace.records().unwrap_or(&[]);
        world::trace::write_jsonl(records, &mut file)
            .map_err(|err| CliError::io(format!("cannot write '{}'", path.display()), &err))?;
        file.commit()?;
        world::trace::write_timeline(records, &mut timeline_file)
            .map_err(|err| CliError::io(format!("cannot write '{}'", timeline.display()), &err))?;
        timeline_file.commit()?;
        written.push(format!(
            "{} records in '{}' and '{}'{}",
            records.len(),
            path.display(),
            timeline.display(),
            if report.is_none() {
                " (up to the panic)"
            } else {
                ""
            }
        ));
    }
    if let (Some(report), Some((path, mut file))) = (&report, history_file) {
        if let Some(history) = &report.history {
            history
                .write_jsonl(&mut file)
                .map_err(|err| CliError::io(format!("cannot write '{}'", path.display()), &err))?;
            file.commit()?;
            written.push(format!(
                "{} history events in '{}'",
                history.events.len(),
                path.display()
            ));
        }
    }
    for line in &written {
        let _ = writeln!(text, "  wrote        {line}");
    }

    let Some(failure) = failure else {
        return print_report(&text);
    };
    let _ = writeln!(text, "  violated     {}", failure.headline());
    let _ = writeln!(text, "  message      {}", failure.message);
    if !failure.leading.is_empty() {
        let _ = writeln!(text, "  events that led to it:");
        for line in &failure.leading {
            let _ = writeln!(text, "    {line}");
        }
    }
    let _ = writeln!(text, "  replay       {}", failure.replay);
    let _ = writeln!(
        text,
        "  with a trace {} --trace seed-{}.jsonl",
        failure.replay, failure.seed
    );
    print_report(&text)?;
    Err(CliError::with_exit(
        Exit::Violation,
        format!("seed {} failed: {}", failure.seed, failure.headline()),
    )
    .note(format!("replay: {}", failure.replay)))
}

/// The figures of one run.
fn summarize(text: &mut String, r: &RunReport) {
    let s = &r.stats;
    let _ = writeln!(text, "  fault mix    {}", r.mix);
    let _ = writeln!(
        text,
        "  events       {} in {} ms of virtual time",
        r.events, r.virtual_ms
    );
    let _ = writeln!(
        text,
        "  speed        {:.3} s wall: {} events/s, {}x compression (virtual time per wall second)",
        r.wall.as_secs_f64(),
        grouped(per_second(r.events, r.wall)),
        grouped(per_second(r.virtual_ms, r.wall) / 1000.0),
    );
    let _ = writeln!(text, "  trace hash   {:016x}", r.trace_hash);
    let _ = writeln!(
        text,
        "  users        {} logins, {} wrong passwords, {} records destroyed ({} exhaust entries committed), {} backups, {} restores, {} operations failed",
        s.logins_ok, s.wrong_passwords, s.destroyed, s.exhaust_commits, s.backups, s.restores, s.ops_failed
    );
    let _ = writeln!(
        text,
        "  faults       {} crashes, {} rollbacks, {} partitions, {} cloud faults",
        s.crashes, s.rollbacks, s.partitions, s.cloud_faults
    );
    let _ = writeln!(
        text,
        "  checks       {} KE2 released, {} bytes scanned for secrets, {} disk audits for erased key material",
        s.ke2_released, s.bytes_scanned, s.erasure_audits
    );
    let _ = writeln!(
        text,
        "  host         {} peer messages forged or replayed, {} disk edits, {} rollbacks of every disk, {} messages dropped by nodes",
        s.host_injected, s.host_disk_edits, s.host_every_disk_rollbacks, s.dropped_messages
    );
    let _ = writeln!(text, "  coverage     {}", coverage_text(&s.coverage));
    if s.liveness_voided {
        let _ = writeln!(
            text,
            "  liveness     not checked: a rollback of every disk left a node on its older disk (the counter stops elections rather than lose a commit)"
        );
    }
    if s.liveness_waived_lost_tail {
        let _ = writeln!(
            text,
            "  liveness     waived: a tail an HSM acknowledged is on no disk and too few counters prove it uncommitted, so the cluster waits for it (by design; sim/src/world/check/unprovable_tail.rs)"
        );
    }
}

// ---------------------------------------------------------------------------
// `bvault-suite sim sweep`

/// What the workers add up.
#[derive(Default)]
struct Totals {
    done: AtomicU64,
    failed: AtomicU64,
    events: AtomicU64,
    virtual_ms: AtomicU64,
    /// Wrapping sum of the trace hashes of the seeds that finished: a
    /// fingerprint of the sweep that does not depend on thread scheduling,
    /// and adds up across shards.
    hash_sum: AtomicU64,
    /// Sum of each run's own wall time: the single-core cost.
    run_wall_ns: AtomicU64,
    stop: AtomicBool,
    failures: Mutex<Vec<Failure>>,
    /// The coverage counters, summed over the seeds that finished.
    coverage: Mutex<Coverage>,
    /// Seeds whose final liveness checks were void (a rollback of every
    /// disk) and seeds where they were waived (an unprovable lost tail):
    /// they proved safety only.
    liveness_voided: AtomicU64,
    liveness_waived: AtomicU64,
}

/// Stops a sweep (or a verify run) on SIGINT or SIGTERM: seeds already
/// running finish, no new one starts, and the summary says what ran and
/// what failed. A second signal ends the process at once (the usual second
/// Ctrl-C).
pub(crate) fn interrupt_flag() -> Result<Arc<AtomicBool>, CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Order matters: the conditional shutdown sees the flag as it was
        // before this signal set it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|e| CliError::io("installing the signal handler", &e))?;
    }
    Ok(flag)
}

fn sweep(args: &SimSweepArgs) -> Result<(), CliError> {
    let scenario = args.scenario.scenario()?;
    let known = Coverage::default().named().map(|(name, _)| name);
    if let Some(unknown) = args.require.iter().find(|r| !known.contains(&r.as_str())) {
        return Err(CliError::usage(format!(
            "--require: no coverage counter is named {unknown:?}; the counters: {}",
            known.join("; ")
        )));
    }
    let seeds = ShardSeeds::new(args.seeds, args.shard);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let wanted = if args.threads == 0 {
        cores
    } else {
        args.threads
    };
    let threads = wanted.clamp(1, usize::try_from(seeds.len.max(1)).unwrap_or(usize::MAX));

    let bar = sweep_bar(seeds.len, args.json || args.quiet);
    let interrupted = interrupt_flag()?;
    let totals = Totals::default();
    let next = AtomicU64::new(0);
    let options = RunOptions {
        keep_trace: false,
        keep_history: false,
        history_checks_alone: false,
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                worker(
                    &scenario,
                    seeds,
                    &next,
                    &totals,
                    &options,
                    args.fail_fast,
                    &interrupted,
                    &bar,
                    started,
                )
            });
        }
    });
    let wall = started.elapsed();
    bar.finish_and_clear();

    let mut failures = totals
        .failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_by_key(|f| f.seed);
    let summary = SweepSummary {
        args,
        scenario: &scenario,
        seeds,
        threads,
        done: totals.done.into_inner(),
        events: totals.events.into_inner(),
        virtual_ms: totals.virtual_ms.into_inner(),
        hash_sum: totals.hash_sum.into_inner(),
        run_wall: Duration::from_nanos(totals.run_wall_ns.into_inner()),
        wall,
        failures: &failures,
        interrupted: interrupted.load(Ordering::Relaxed),
        coverage: totals
            .coverage
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        liveness_voided: totals.liveness_voided.into_inner(),
        liveness_waived: totals.liveness_waived.into_inner(),
    };
    if args.json {
        print_report(&format!("{}\n", summary.json()))?;
    } else {
        print_report(&summary.text())?;
    }
    if failures.is_empty() {
        if summary.done < seeds.len {
            return Err(CliError::with_exit(
                Exit::Inconclusive,
                format!(
                    "interrupted by a signal: {} of {} seeds run, none failed; the rest were not run",
                    summary.done, seeds.len
                ),
            ));
        }
        let mut zeros = summary.coverage.zeros();
        zeros.retain(|name| {
            let bar = args.require_coverage && !Coverage::AIMED.contains(name);
            bar || args.require.iter().any(|r| r == name)
        });
        if !zeros.is_empty() {
            return Err(CliError::with_exit(
                Exit::Inconclusive,
                format!(
                    "no seed failed, but nothing proved: the faults never provoked {}",
                    zeros.join("; ")
                ),
            ));
        }
        return Ok(());
    }
    Err(CliError::with_exit(
        Exit::Violation,
        format!(
            "{} of {} seeds failed; first: seed {} ({})",
            failures.len(),
            summary.done,
            failures[0].seed,
            failures[0].invariant
        ),
    )
    .note(format!("replay: {}", failures[0].replay)))
}

#[allow(clippy::too_many_arguments)] // the shared state of one sweep, borrowed
fn worker(
    scenario: &Scenario,
    seeds: ShardSeeds,
    next: &AtomicU64,
    totals: &Totals,
    options: &RunOptions,
    fail_fast: bool,
    interrupted: &AtomicBool,
    bar: &ProgressBar,
    started: Instant,
) {
    loop {
        if (fail_fast && totals.stop.load(Ordering::Relaxed)) || interrupted.load(Ordering::Relaxed)
        {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= seeds.len {
            return;
        }
        let seed = seeds.get(i);
        let t = Instant::now();
        let failure = match run_caught(scenario, seed, options) {
            Ok(report) => {
                totals.events.fetch_add(report.events, Ordering::Relaxed);
                totals
                    .virtual_ms
                    .fetch_add(report.virtual_ms, Ordering::Relaxed);
                // Atomic adds wrap, which is what the fingerprint wants.
                totals
                    .hash_sum
                    .fetch_add(report.trace_hash, Ordering::Relaxed);
                totals
                    .coverage
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .add(&report.stats.coverage);
                if report.stats.liveness_voided {
                    totals.liveness_voided.fetch_add(1, Ordering::Relaxed);
                } else if report.stats.liveness_waived_lost_tail {
                    totals.liveness_waived.fetch_add(1, Ordering::Relaxed);
                }
                Failure::from_report(scenario, &report)
            }
            Err(message) => Some(Failure::panic(scenario, seed, message)),
        };
        let spent = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        totals.run_wall_ns.fetch_add(spent, Ordering::Relaxed);
        if let Some(failure) = failure {
            totals.failed.fetch_add(1, Ordering::Relaxed);
            totals.stop.store(true, Ordering::Relaxed);
            bar.println(format!(
                "FAILED seed {}: {}: {}",
                failure.seed,
                failure.headline(),
                failure.message
            ));
            totals
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(failure);
        }
        totals.done.fetch_add(1, Ordering::Relaxed);
        if !bar.is_hidden() {
            bar.set_message(format!(
                "{} failed, {} events/s",
                totals.failed.load(Ordering::Relaxed),
                grouped(per_second(
                    totals.events.load(Ordering::Relaxed),
                    started.elapsed()
                ))
            ));
        }
        bar.inc(1);
    }
}

/// The progress bar: seeds done / total, failures, events/s, time left.
/// Hidden unless stderr is a terminal.
fn sweep_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "[{elapsed_precise}] [{wide_bar}] {pos}/{len} seeds, {msg}, {eta} left",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message("0 failed");
    bar
}

/// Everything a sweep prints.
struct SweepSummary<'a> {
    args: &'a SimSweepArgs,
    scenario: &'a Scenario,
    seeds: ShardSeeds,
    threads: usize,
    done: u64,
    events: u64,
    virtual_ms: u64,
    hash_sum: u64,
    run_wall: Duration,
    wall: Duration,
    failures: &'a [Failure],
    /// A signal stopped the sweep before every seed ran.
    interrupted: bool,
    /// The coverage counters, summed.
    coverage: Coverage,
    /// Seeds whose final liveness checks were void, and waived.
    liveness_voided: u64,
    liveness_waived: u64,
}

impl SweepSummary<'_> {
    fn text(&self) -> String {
        let a = self.args;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sweep {}..{}, shard {}/{} (seeds s with s % {} == {}): {} seeds",
            a.seeds.start,
            a.seeds.end,
            a.shard.index,
            a.shard.count,
            a.shard.count,
            a.shard.index - 1,
            self.seeds.len
        );
        let _ = writeln!(out, "  scenario     {}", describe_scenario(self.scenario));
        let _ = writeln!(
            out,
            "  result       {} seeds run, {} failed{}",
            self.done,
            self.failures.len(),
            if self.interrupted {
                " (interrupted by a signal: the other seeds were not run)"
            } else if self.done < self.seeds.len {
                " (stopped at the first failure)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  events       {} in {} ms of virtual time",
            self.events, self.virtual_ms
        );
        let _ = writeln!(
            out,
            "  hash sum     {:016x} (wrapping sum of the trace hashes; adds up across shards)",
            self.hash_sum
        );
        let _ = writeln!(
            out,
            "  speed        {:.3} s wall on {} thread{}: {} events/s, {:.1} seeds/s, {}x compression",
            self.wall.as_secs_f64(),
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            grouped(per_second(self.events, self.wall)),
            per_second(self.done, self.wall),
            grouped(per_second(self.virtual_ms, self.wall) / 1000.0),
        );
        let _ = writeln!(
            out,
            "  per core     {} events/s, {:.1} seeds/s, {}x compression",
            grouped(per_second(self.events, self.run_wall)),
            per_second(self.done, self.run_wall),
            grouped(per_second(self.virtual_ms, self.run_wall) / 1000.0),
        );
        let _ = writeln!(out, "  coverage     {}", coverage_text(&self.coverage));
        if self.liveness_voided + self.liveness_waived > 0 {
            let _ = writeln!(
                out,
                "  liveness     not judged in {} of the seeds run: {} void (a rollback of every disk), {} waived (a lost tail no counter can prove uncommitted); safety only, `sim run` a seed to see which",
                self.liveness_voided + self.liveness_waived,
                self.liveness_voided,
                self.liveness_waived
            );
        }
        for f in self.failures {
            let _ = writeln!(out, "FAILED seed {}: {}", f.seed, f.headline());
            let _ = writeln!(out, "  message      {}", f.message);
            let _ = writeln!(out, "  replay       {}", f.replay);
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let a = self.args;
        let figures = |wall: Duration| {
            serde_json::json!({
                "wall_s": wall.as_secs_f64(),
                "events_per_s": per_second(self.events, wall),
                "seeds_per_s": per_second(self.done, wall),
                "compression": per_second(self.virtual_ms, wall) / 1000.0,
            })
        };
        serde_json::json!({
            "seeds": { "start": a.seeds.start, "end": a.seeds.end },
            "shard": { "index": a.shard.index, "count": a.shard.count },
            "scenario": scenario_json(self.scenario),
            "threads": self.threads,
            "seeds_in_shard": self.seeds.len,
            "shard_seeds": {
                "first": (self.seeds.len > 0).then_some(self.seeds.first),
                "step": self.seeds.step,
            },
            "seeds_run": self.done,
            "stopped_early": self.done < self.seeds.len,
            "interrupted": self.interrupted,
            "failed": self.failures.len(),
            "events": self.events,
            "virtual_ms": self.virtual_ms,
            "trace_hash_sum": format!("{:016x}", self.hash_sum),
            "speed": figures(self.wall),
            "per_core": figures(self.run_wall),
            "coverage": coverage_json(&self.coverage),
            "liveness_not_judged": {
                "void_every_disk_rolled_back": self.liveness_voided,
                "waived_unprovable_lost_tail": self.liveness_waived,
            },
            "failures": self.failures.iter().map(Failure::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The coverage counters on one line, each with its count.
fn coverage_text(c: &Coverage) -> String {
    c.named()
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The coverage counters as a JSON object, by name.
fn coverage_json(c: &Coverage) -> serde_json::Value {
    serde_json::Value::Object(
        c.named()
            .iter()
            .map(|(name, n)| ((*name).to_string(), serde_json::Value::from(*n)))
            .collect(),
    )
}

/// Seeds written out, for tests.
#[cfg(test)]
fn shard_list(range: SeedRange, shard: Shard) -> Vec<u64> {
    let s = ShardSeeds::new(range, shard);
    (0..s.len).map(|i| s.get(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_and_refuse_empty() {
        assert_eq!(
            parse_seed_range("0..8").unwrap(),
            SeedRange { start: 0, end: 8 }
        );
        assert!(parse_seed_range("5..3").unwrap_err().contains("empty"));
        assert!(parse_seed_range("3..3").is_err());
        assert!(parse_seed_range("3").is_err());
        assert!(parse_seed_range("a..3").is_err());
        assert!(parse_seed_range("-1..3").is_err());
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("3/8").unwrap(), Shard { index: 3, count: 8 });
        assert!(parse_shard("0/2").is_err());
        assert!(parse_shard("3/2").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("1").is_err());
    }

    #[test]
    fn shards_cover_the_range_exactly_once() {
        for (start, end) in [(0u64, 1u64), (0, 10), (3, 17), (7, 8), (100, 1000)] {
            for count in 1..=9u64 {
                let mut all: Vec<u64> = (1..=count)
                    .flat_map(|index| shard_list(SeedRange { start, end }, Shard { index, count }))
                    .collect();
                for index in 1..=count {
                    let list = shard_list(SeedRange { start, end }, Shard { index, count });
                    assert!(list.iter().all(|s| s % count == index - 1));
                }
                all.sort_unstable();
                assert_eq!(
                    all,
                    (start..end).collect::<Vec<_>>(),
                    "{start}..{end} / {count}"
                );
            }
        }
        let near_max = SeedRange {
            start: u64::MAX - 3,
            end: u64::MAX,
        };
        assert_eq!(
            shard_list(near_max, Shard { index: 1, count: 1 }),
            vec![u64::MAX - 3, u64::MAX - 2, u64::MAX - 1]
        );
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(1_234_567.8), "1,234,568");
    }

    #[test]
    fn a_panic_in_a_run_is_caught_with_its_message() {
        install_panic_capture();
        CAPTURING.with(|c| c.set(true));
        let result = panic::catch_unwind(|| panic!("boom {}", 7));
        CAPTURING.with(|c| c.set(false));
        assert!(result.is_err());
        let message = PANIC_MESSAGE.with(|m| m.borrow_mut().take()).unwrap();
        assert!(message.starts_with("boom 7 at "), "{message}");
        assert!(message.contains("sim.rs"), "{message}");
    }
}
