//! `bvault-suite check ...`: the stateright models of `backup-vault-model`, from
//! the command line (list them, check one within bounds and budgets, or
//! serve the Explorer to step through its states in a browser).

use crate::exit::{CliError, Exit};
use backup_vault::flaws::{VaultFlaw, VAULT_FLAWS};
use backup_vault_model::protocol::{Broken, ProtocolBounds, ProtocolModel};
use backup_vault_model::run::{check, Budget, Coverage, Proved, Report, Strategy, Verdict};
use backup_vault_model::vault::slice::{slices, Slice};
use backup_vault_model::vault::{Start, Timers, VaultBounds, VaultModel};
use clap::{Args, Subcommand, ValueEnum};
use stateright::{Expectation, Model};
use std::fmt::Debug;
use std::time::Duration;

/// Prints one line of a report (`io_util::print_report`: a reader that
/// closes the pipe early does not change the verdict), returning early on
/// any other write error.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::io_util::print_report(&format!("{}\n", format_args!($($arg)*)))?
    };
}

const AFTER_HELP: &str = "\
Models:
  protocol  the abstract protocol: replicated attempt counters at quorums
  vault     the vault node's own code (implementation in the loop)

Examples:
  bvault-suite check list
  bvault-suite check run vault --depth 5
  bvault-suite check run vault --flaw ke2-before-commit --depth 3
  bvault-suite check run vault --forged-appends 1 --disk-edits 1 --host-rollbacks 1 --depth 4
  bvault-suite check run vault --dfs --threads 2 --depth 12 --time-budget 10m
  bvault-suite check run vault --timers 2 --crashes 1 --rollbacks 0 --duplicates 0 \\
      --guesses 0 --logins 0 --changes 0 --reregistrations 0 --forgeries 0 --replays 0 \\
      --forged-activations 0 --probes 0 --splices 0 --foreign-evaluations 0 --resends 0 \\
      --depth none --dfs -j 2
  bvault-suite check run protocol --depth 9 --threads 2
  bvault-suite check explore vault --addr localhost:3000

Exit codes:
  0  proved: the bound was explored exhaustively, every property holds in
     every state of it, and every `sometimes` property has an example
  2  usage error (unknown model or flaw, impossible cluster)
  6  a property is violated: the counterexample is printed
  7  nothing proved: a budget stopped the search before the bound, a
     depth-first or multi-threaded search was cut at its depth (only
     breadth-first search on one thread proves a depth bound), or a
     `sometimes` property has no example (the bound does not reach it)";

/// `bvault-suite check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// List the models, their properties and their broken variants.
    List,
    /// Check a model exhaustively within bounds and a budget.
    #[command(
        long_about = "\
Check a model: explore every state reachable within the bounds (cluster
size, guess limit, fault and client budgets, path length) and evaluate every
property in each. Prints states generated, unique states, the depth reached,
states per second, each property's verdict and, for a violation, the path
that leads to it as a readable sequence of steps and messages.

Depth is the number of steps (actions) on a path. Breadth-first search keeps
whole states (memory is the limit); depth-first keeps fingerprints and goes
further per GB. Either way a counterexample is reported shortest: a second,
breadth-first search no deeper than the path found (up to 100,000 states).

Only breadth-first search on one thread proves a depth bound. The checker
marks a state seen when it first reaches it; depth-first search, or several
threads with a queue each, can first reach a state on a long path, cut it at
the bound, and never expand it from a shorter one. Such a run finds
counterexamples, but when its depth cut anything it proves nothing (exit 7).",
        after_help = AFTER_HELP
    )]
    Run(RunArgs),
    /// Check the vault model's slice: small bounds, each explored
    /// exhaustively, that reach commits, logins, destructions, leader
    /// changes and snapshots.
    #[command(
        long_about = "\
Check the vault model's slice (backup_vault_model::vault::slice): a few
small bounds, each explored exhaustively by breadth-first search, that
together reach commits, logins, destructions, leader changes, snapshots and
the first election, with the node's own code in the loop. The full bound
cannot reach a commit within a CI budget; each slice switches on only what
its scenario needs and goes deep enough that every `sometimes` property its
bounds allow has an example. A slice that misses one is not a pass.

This is the model checker's part of CI and of the mutation oracle
(scripts/mutants.py).",
        after_help = "\
Examples:
  bvault-suite check slice
  bvault-suite check slice --only destruction --flaw ke2-before-commit
  bvault-suite check slice --json

Exit codes: 0 every slice proved; 6 a property is violated in some slice;
7 no violation, but some slice proved nothing (an example is missing)."
    )]
    Slice(SliceArgs),
    /// Walk a model at random: one seeded schedule per seed, far longer
    /// than a search reaches, every state checked (a sweep, not a proof).
    #[command(
        long_about = "\
Walk a model at random: for each seed, start at the initial state and take
one enabled action after another, chosen by a generator seeded with the
seed, until --steps actions or no action is enabled; check every property
in every state on the way. With the vault model this sweeps the node's own
code with symbolic cryptography under every fault the bounds allow, on
schedules of hundreds of steps where an exhaustive search stops at a few
dozen.

A sweep proves nothing about the schedules it did not draw. The same model,
bounds, seed and --steps give the same walk on any number of threads; a
violation is reported for the smallest failing seed, with the command that
replays it and a shorter path to the same violation.",
        after_help = "\
Examples:
  bvault-suite check walk vault --seeds 0..1000 --steps 300 -j 2
  bvault-suite check walk vault --crashes 6 --rollbacks 1 --duplicates 20 --seeds 0..500
  bvault-suite check walk vault --flaw ke2-before-commit --seeds 0..200 --json

Exit codes: 0 every seed walked, no violation, every `sometimes` property
reached by some walk; 6 a property is violated; 7 nothing shown: a signal or
--time-budget stopped the sweep before every seed ran, or some `sometimes`
property was never reached; 2 usage error."
    )]
    Walk(super::walk::WalkArgs),
    /// Serve stateright's Explorer for a model on localhost.
    #[command(after_help = AFTER_HELP)]
    Explore(ExploreArgs),
}

/// Which model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// The abstract protocol model.
    Protocol,
    /// The implementation in the loop.
    Vault,
}

/// Bounds shared by `run` and `explore`.
#[derive(Debug, Args)]
pub struct BoundArgs {
    /// The model.
    #[arg(value_enum)]
    pub model: ModelName,
    /// Nodes (N).
    #[arg(long, default_value_t = 3)]
    pub nodes: u8,
    /// Rollback tolerance (R); quorums are floor((N+R)/2)+1.
    #[arg(long, default_value_t = 1)]
    pub rollback_tolerance: u8,
    /// Guesses per record (default: 3 for vault, 2 for protocol).
    #[arg(long)]
    pub limit: Option<u8>,
    /// Crashes.
    #[arg(long, default_value_t = 2)]
    pub crashes: u8,
    /// Disk rollbacks (on at most R nodes).
    #[arg(long, default_value_t = 1)]
    pub rollbacks: u8,
    /// Duplicate deliveries.
    #[arg(long, default_value_t = 1)]
    pub duplicates: u8,
    /// Attacker guesses (default: limit + 1).
    #[arg(long)]
    pub guesses: Option<u8>,
    /// Owner logins (default: 1).
    #[arg(long)]
    pub logins: Option<u8>,
    /// Owner password changes (default: 1).
    #[arg(long)]
    pub changes: Option<u8>,
    /// Attacker re-registrations (default: 1).
    #[arg(long)]
    pub reregistrations: Option<u8>,
    /// Elections (protocol model only; default: 2).
    #[arg(long)]
    pub elections: Option<u8>,
    /// Start the vault model from a fresh cluster (no leader, no records)
    /// instead of after the bootstrap.
    #[arg(long)]
    pub fresh: bool,
    /// Run a deliberately broken variant (see `bvault-suite check list`).
    #[arg(long, value_name = "NAME")]
    pub flaw: Option<String>,
    /// Host adversary (vault model): `Append`s forged in the clear from a
    /// made-up leader of a higher term, one per node and kind.
    #[arg(long, default_value_t = 0)]
    pub forged_appends: u8,
    /// Host adversary (vault model): sealed messages delivered to a node
    /// they were not sealed for.
    #[arg(long, default_value_t = 0)]
    pub misdirections: u8,
    /// Host adversary (vault model): edits of a down node's disk records
    /// (replaced by a clear form, swapped, or replayed).
    #[arg(long, default_value_t = 0)]
    pub disk_edits: u8,
    /// Host adversary (vault model): rollbacks of a down node's disk under
    /// the same HSM (its counter kept), on any node, R or not.
    #[arg(long, default_value_t = 0)]
    pub host_rollbacks: u8,
    /// Vault model: timer firings (elections, heartbeats, login expiry)
    /// over all nodes: a number, `off` or `unbounded` (the default). A
    /// number makes the state space finite, so that `--depth none` can
    /// explore all of it.
    #[arg(long, value_name = "N|off|unbounded", value_parser = parse_timers)]
    pub timers: Option<Timers>,
    /// Vault model: the owner's sends of its staged registration's
    /// activation, in all (default: as many as it likes, until one is
    /// answered). A number makes the space finite with `--timers N`.
    #[arg(long)]
    pub activations: Option<u8>,
    /// Vault model: owner deletes of a registration it knows (default: 0).
    #[arg(long)]
    pub deletes: Option<u8>,
    /// Vault model: attacker KE3s naming another user for one of the
    /// owner's logins (default: 1).
    #[arg(long)]
    pub forgeries: Option<u8>,
    /// Vault model: attacker replays of the owner's requests (default: 1).
    #[arg(long)]
    pub replays: Option<u8>,
    /// Vault model: attacker activations of the owner's staged
    /// registration under its own key (default: 1).
    #[arg(long)]
    pub forged_activations: Option<u8>,
    /// Vault model: attacker registration requests for the owner with a
    /// guess, outside a login (default: 1).
    #[arg(long)]
    pub probes: Option<u8>,
    /// Vault model: attacker stages splicing the owner's older
    /// registration into its change (default: 1).
    #[arg(long)]
    pub splices: Option<u8>,
    /// Vault model: owner changes whose OPRF evaluation the chat server
    /// substitutes (default: 1).
    #[arg(long)]
    pub foreign_evaluations: Option<u8>,
    /// Vault model: attacker stages, as the holder of a K of its own, under
    /// a ticket of the owner's that the chat server kept (default: 1).
    #[arg(long)]
    pub ticket_reuses: Option<u8>,
    /// Vault model: owner resends of its pending KE1 (default: 1).
    #[arg(long)]
    pub resends: Option<u8>,
    /// Vault model: a node compacts its log into a snapshot every this
    /// many applied entries (default: 1000, which no bound reaches; 1 to 3
    /// make snapshots, their installs and their restarts part of the space).
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<u64>,
}

/// Arguments of `bvault-suite check run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Model and bounds.
    #[command(flatten)]
    pub bounds: BoundArgs,
    /// Longest path, in steps, or `none`: search until the space ends,
    /// which it does only when every action is bounded (the vault model
    /// with `--timers N`, and `--activations N` if the owner changes its
    /// password); a search without a depth bound is exhaustive in any
    /// order and on any number of threads once it ends.
    #[arg(long, default_value = "4", value_name = "N|none", value_parser = parse_depth)]
    pub depth: Depth,
    /// Breadth-first search (the default).
    #[arg(long, conflicts_with = "dfs")]
    pub bfs: bool,
    /// Depth-first search.
    #[arg(long)]
    pub dfs: bool,
    /// Checker threads; 0 means one per CPU core.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub threads: usize,
    /// Stop after about this many generated states.
    #[arg(long, value_name = "N")]
    pub max_states: Option<usize>,
    /// Stop after this long: seconds, or a number with s, m or h.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub time_budget: Option<Duration>,
    /// Print one JSON document on stdout instead of text (schema in
    /// docs/model-checking.md, "check run --json").
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `bvault-suite check slice`.
#[derive(Debug, Args)]
pub struct SliceArgs {
    /// Run only the slice with this name (repeatable; default: every one).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Run a deliberately broken variant (see `bvault-suite check list`).
    #[arg(long, value_name = "NAME")]
    pub flaw: Option<String>,
    /// Print one JSON document on stdout instead of text (schema
    /// `bvault-check-slice/1`, in docs/model-checking.md).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `bvault-suite check explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Model and bounds.
    #[command(flatten)]
    pub bounds: BoundArgs,
    /// Address to serve on.
    #[arg(long, default_value = "localhost:3000")]
    pub addr: String,
}

/// A search's depth bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depth(pub Option<usize>);

fn parse_depth(text: &str) -> Result<Depth, String> {
    if text == "none" {
        return Ok(Depth(None));
    }
    text.parse::<usize>()
        .map(|d| Depth(Some(d)))
        .map_err(|_| format!("{text:?} is neither a number of steps nor `none`"))
}

fn parse_timers(text: &str) -> Result<Timers, String> {
    match text {
        "off" => Ok(Timers::Off),
        "unbounded" => Ok(Timers::Unbounded),
        n => n.parse::<u8>().map(Timers::AtMost).map_err(|_| {
            format!("{text:?} is neither `off`, `unbounded` nor a number of firings (0 to 255)")
        }),
    }
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90, 90s, 10m or 2h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit {unit:?}: use s, m or h")),
    };
    Ok(Duration::from_secs(secs))
}

/// Runs one `bvault-suite check` command.
pub fn run(cmd: CheckCommand) -> Result<(), CliError> {
    match cmd {
        CheckCommand::List => list(),
        CheckCommand::Run(args) => run_check(&args),
        CheckCommand::Slice(args) => run_slices(&args),
        CheckCommand::Walk(args) => super::walk::run_walk(&args),
        CheckCommand::Explore(args) => explore(&args),
    }
}

fn list() -> Result<(), CliError> {
    let vault = VaultModel::new(VaultBounds::quiet(), None);
    say!("vault: the vault node's own code (VaultNode<SymbolicCrypto>) in the loop");
    print_properties(&vault)?;
    let flaws: Vec<_> = VAULT_FLAWS.iter().map(|f| f.name()).collect();
    say!("  flaws: {}", flaws.join(", "));
    say!("");
    let protocol = ProtocolModel::new(ProtocolBounds::default(), None);
    say!("protocol: the abstract protocol (replicated attempt counters at quorums)");
    print_properties(&protocol)?;
    let broken: Vec<_> = Broken::ALL.iter().map(|b| b.name()).collect();
    say!("  flaws: {}", broken.join(", "));
    Ok(())
}

fn print_properties<M: Model>(m: &M) -> Result<(), CliError> {
    for p in m.properties() {
        let kind = match p.expectation {
            Expectation::Sometimes => "sometimes",
            Expectation::Always => "always",
            Expectation::Eventually => "eventually",
        };
        say!("  {kind:<9} {}", p.name);
    }
    Ok(())
}

fn vault_flaw(name: Option<&str>) -> Result<Option<VaultFlaw>, CliError> {
    match name {
        None => Ok(None),
        Some(name) => VAULT_FLAWS
            .iter()
            .copied()
            .find(|f: &VaultFlaw| f.name() == name)
            .map(Some)
            .ok_or_else(|| unknown_flaw(name, VAULT_FLAWS.iter().map(|f| f.name()))),
    }
}

pub(crate) fn vault_model(b: &BoundArgs) -> Result<VaultModel, CliError> {
    let flaw = vault_flaw(b.flaw.as_deref())?;
    backup_vault::vault::quorum::ClusterConfig::new(b.nodes, b.rollback_tolerance)
        .map_err(|e| CliError::usage(format!("--nodes/--rollback-tolerance: {e}")))?;
    if b.elections.is_some() {
        return Err(CliError::usage(
            "--elections is the protocol model's: the vault model's elections come from its timers",
        ));
    }
    let limit = b.limit.unwrap_or(3).max(1);
    let defaults = VaultBounds::default();
    let bounds = VaultBounds {
        nodes: b.nodes,
        rollback_tolerance: b.rollback_tolerance,
        guess_limit: limit,
        crashes: b.crashes,
        rollbacks: b.rollbacks,
        duplicates: b.duplicates,
        guesses: b.guesses.unwrap_or(limit + 1),
        logins: b.logins.unwrap_or(defaults.logins),
        changes: b.changes.unwrap_or(defaults.changes),
        reregistrations: b.reregistrations.unwrap_or(defaults.reregistrations),
        forged_appends: b.forged_appends,
        misdirections: b.misdirections,
        disk_edits: b.disk_edits,
        host_rollbacks: b.host_rollbacks,
        timers: b.timers.unwrap_or(defaults.timers),
        activations: b.activations.or(defaults.activations),
        deletes: b.deletes.unwrap_or(defaults.deletes),
        forgeries: b.forgeries.unwrap_or(defaults.forgeries),
        replays: b.replays.unwrap_or(defaults.replays),
        forged_activations: b.forged_activations.unwrap_or(defaults.forged_activations),
        probes: b.probes.unwrap_or(defaults.probes),
        splices: b.splices.unwrap_or(defaults.splices),
        foreign_evaluations: b
            .foreign_evaluations
            .unwrap_or(defaults.foreign_evaluations),
        ticket_reuses: b.ticket_reuses.unwrap_or(defaults.ticket_reuses),
        resends: b.resends.unwrap_or(defaults.resends),
        snapshot_every: match b.snapshot_every {
            Some(0) => {
                return Err(CliError::usage(
                    "--snapshot-every 0: give 1 or more entries",
                ))
            }
            Some(n) => n,
            None => defaults.snapshot_every,
        },
        start: if b.fresh {
            Start::Fresh
        } else {
            Start::Registered
        },
        ..VaultBounds::default()
    };
    Ok(VaultModel::new(bounds, flaw))
}

pub(crate) fn protocol_model(b: &BoundArgs) -> Result<ProtocolModel, CliError> {
    let broken = match &b.flaw {
        None => None,
        Some(name) => Some(
            Broken::ALL
                .iter()
                .copied()
                .find(|f| f.name() == name)
                .ok_or_else(|| unknown_flaw(name, Broken::ALL.iter().map(|f| f.name())))?,
        ),
    };
    if b.nodes == 0 || b.rollback_tolerance >= b.nodes {
        return Err(CliError::usage("need 1 <= N and R < N"));
    }
    if [
        b.forged_appends,
        b.misdirections,
        b.disk_edits,
        b.host_rollbacks,
    ]
    .iter()
    .any(|n| *n > 0)
        || b.timers.is_some()
        || b.activations.is_some()
        || [
            b.deletes,
            b.forgeries,
            b.replays,
            b.forged_activations,
            b.probes,
            b.splices,
            b.foreign_evaluations,
            b.ticket_reuses,
            b.resends,
        ]
        .iter()
        .any(Option::is_some)
        || b.snapshot_every.is_some()
    {
        return Err(CliError::usage(
            "--forged-appends, --misdirections, --disk-edits, --host-rollbacks, --timers, --snapshot-every and the client actions beyond logins, guesses, changes and re-registrations are the vault model's; the protocol model has none of them",
        ));
    }
    let limit = b.limit.unwrap_or(2).max(1);
    let defaults = ProtocolBounds::default();
    let bounds = ProtocolBounds {
        nodes: b.nodes,
        rollback_tolerance: b.rollback_tolerance,
        guess_limit: limit,
        crashes: b.crashes,
        rollbacks: b.rollbacks,
        duplicates: b.duplicates,
        guesses: b.guesses.unwrap_or(limit + 1),
        logins: b.logins.unwrap_or(defaults.logins),
        changes: b.changes.unwrap_or(defaults.changes),
        reregistrations: b.reregistrations.unwrap_or(defaults.reregistrations),
        elections: b.elections.unwrap_or(defaults.elections),
    };
    Ok(ProtocolModel::new(bounds, broken))
}

fn unknown_flaw<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> CliError {
    let known: Vec<_> = known.collect();
    CliError::usage(format!(
        "unknown flaw {name:?} for this model; known: {}",
        known.join(", ")
    ))
}

fn budget(args: &RunArgs) -> Budget {
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    Budget {
        strategy: if args.dfs {
            Strategy::Dfs
        } else {
            Strategy::Bfs
        },
        threads,
        depth: args.depth.0,
        max_states: args.max_states,
        time: args.time_budget,
        stop_on: None,
        // A long search says how far it has got (on standard error, so
        // that --json output stays one document).
        progress: Some(std::time::Duration::from_secs(5)),
    }
}

fn run_check(args: &RunArgs) -> Result<(), CliError> {
    let budget = budget(args);
    let search = format!(
        "{}, {} thread(s), {}{}{}",
        if budget.strategy == Strategy::Dfs {
            "depth-first"
        } else {
            "breadth-first"
        },
        budget.threads,
        match args.depth.0 {
            Some(d) => format!("paths of up to {d} steps"),
            None => "paths of any length".to_string(),
        },
        args.max_states
            .map_or(String::new(), |n| format!(", at most ~{n} states")),
        args.time_budget
            .map_or(String::new(), |t| format!(", at most {}s", t.as_secs())),
    );
    match args.bounds.model {
        ModelName::Vault => {
            let m = vault_model(&args.bounds)?;
            if args.depth.0.is_none()
                && !m.bounds.space_ends()
                && args.max_states.is_none()
                && args.time_budget.is_none()
            {
                // Without a bound on its timers (and, with a change, on the
                // owner's activations) the vault model's space has no end:
                // such a search would never stop.
                return Err(CliError::usage(
                    "--depth none searches until the space ends, and the vault model's ends only with its timers bounded (--timers N or off) and, with a change, the owner's activations (--activations N); or give a --time-budget or --max-states",
                ));
            }
            let head = Head {
                model: "vault",
                title: "vault (implementation in the loop)",
                flaw: m.flaw.map_or("none", |f| f.name()),
                bounds: format!("{:?}", m.bounds),
                search,
            };
            head.print(args.json)?;
            let r = check(m.clone(), &budget);
            finish(&head, args, &r, |path| m.describe_path(path))
        }
        ModelName::Protocol => {
            let m = protocol_model(&args.bounds)?;
            let head = Head {
                model: "protocol",
                title: "protocol (abstract)",
                flaw: m.broken.map_or("none", |f| f.name()),
                bounds: format!("{:?}", m.bounds),
                search,
            };
            head.print(args.json)?;
            let r = check(m, &budget);
            finish(&head, args, &r, |path| {
                path.iter()
                    .enumerate()
                    .map(|(k, a)| format!("{:>3}. {a:?}", k + 1))
                    .collect()
            })
        }
    }
}

/// What a run checks, printed before the search starts.
struct Head {
    model: &'static str,
    title: &'static str,
    flaw: &'static str,
    bounds: String,
    search: String,
}

impl Head {
    fn print(&self, json: bool) -> Result<(), CliError> {
        if json {
            return Ok(());
        }
        say!("model: {}, {}", self.title, self.bounds);
        say!("flaw: {}", self.flaw);
        say!("search: {}", self.search);
        Ok(())
    }
}

/// Reports `r` as text or JSON and turns what it proved into the exit
/// status: 0 only when the run proved every property within the bound.
fn finish<A: Debug>(
    head: &Head,
    args: &RunArgs,
    r: &Report<A>,
    describe: impl Fn(&[A]) -> Vec<String>,
) -> Result<(), CliError> {
    let proved = r.proved();
    if args.json {
        print_json(head, args, r, &proved, &describe)?;
    } else {
        print_report(r, &proved, &describe)?;
    }
    match proved {
        Proved::Holds => Ok(()),
        Proved::Violated => {
            let n = r.verdicts.iter().filter(|v| v.is_violation()).count();
            Err(CliError::with_exit(
                Exit::Violation,
                format!("{n} propert(ies) violated"),
            ))
        }
        Proved::Inconclusive {
            coverage,
            missing_examples,
        } => Err(CliError::with_exit(
            Exit::Inconclusive,
            format!(
                "nothing proved: {}",
                inconclusive_reason(coverage, &missing_examples)
            ),
        )),
    }
}

fn inconclusive_reason(coverage: Coverage, missing: &[&str]) -> String {
    let mut why = Vec::new();
    if let Some(shortfall) = coverage.shortfall() {
        why.push(shortfall.to_string());
    }
    if !missing.is_empty() {
        why.push(format!(
            "no example within the bound for: {}",
            missing.join("; ")
        ));
    }
    why.join(", and ")
}

fn print_report<A: Debug>(
    r: &Report<A>,
    proved: &Proved,
    describe: impl Fn(&[A]) -> Vec<String>,
) -> Result<(), CliError> {
    say!(
        "states generated: {}, unique: {}, depth reached: {}, time: {:.1}s, {:.0} states/s",
        r.states,
        r.unique,
        r.max_depth,
        r.elapsed.as_secs_f64(),
        r.states_per_second()
    );
    say!(
        "exhaustive within the bound: {}",
        r.coverage
            .shortfall()
            .map_or("yes".to_string(), |why| format!("no ({why})"))
    );
    say!("properties:");
    for v in &r.verdicts {
        say!("  {:<4} {}: {}", tag(v), v.name, v.summary(r.exhaustive()));
    }
    for v in r.verdicts.iter().filter(|v| v.is_violation()) {
        say!("");
        say!("counterexample to \"{}\":", v.name);
        for line in describe(v.path.as_deref().unwrap_or_default()) {
            say!("  {line}");
        }
    }
    say!("verdict: {}", verdict_line(proved));
    Ok(())
}

/// The verdict in words, with why nothing was proved when it was not.
fn verdict_line(proved: &Proved) -> String {
    match proved {
        Proved::Holds => "proved within the bound".to_string(),
        Proved::Violated => "violated".to_string(),
        Proved::Inconclusive {
            coverage,
            missing_examples,
        } => format!(
            "nothing proved ({})",
            inconclusive_reason(*coverage, missing_examples)
        ),
    }
}

/// A property's status word: `FAIL`, `none` (a `sometimes` without an
/// example) or `ok`.
fn tag<A>(v: &Verdict<A>) -> &'static str {
    match (v.is_violation(), &v.expectation, v.path.is_some()) {
        (true, _, _) => "FAIL",
        (_, Expectation::Sometimes, false) => "none",
        _ => "ok",
    }
}

/// The `--json` document (schema `bvault-check-run/1`, documented in
/// docs/model-checking.md).
fn print_json<A: Debug>(
    head: &Head,
    args: &RunArgs,
    r: &Report<A>,
    proved: &Proved,
    describe: impl Fn(&[A]) -> Vec<String>,
) -> Result<(), CliError> {
    let verdict = proved_word(proved);
    let missing = match proved {
        Proved::Inconclusive {
            missing_examples, ..
        } => missing_examples.clone(),
        _ => Vec::new(),
    };
    let properties = properties_json(r, &describe);
    let doc = serde_json::json!({
        "schema": "bvault-check-run/1",
        "model": head.model,
        "flaw": head.flaw,
        "bounds": head.bounds,
        "search": {
            "strategy": if args.dfs { "dfs" } else { "bfs" },
            "threads": budget(args).threads,
            "depth": args.depth.0,
            "max_states": args.max_states,
            "time_budget_s": args.time_budget.map(|t| t.as_secs()),
        },
        "states": r.states,
        "unique": r.unique,
        "max_depth": r.max_depth,
        "elapsed_s": r.elapsed.as_secs_f64(),
        "exhaustive": r.exhaustive(),
        "verdict": verdict,
        "missing_examples": missing,
        "properties": properties,
        "exit_code": proved_exit(proved).code(),
    });
    say!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
    );
    Ok(())
}

/// Each property of `r` as JSON: name, kind, status, and the path (its
/// length is the depth at which a counterexample or example was found).
fn properties_json<A: Debug>(
    r: &Report<A>,
    describe: impl Fn(&[A]) -> Vec<String>,
) -> Vec<serde_json::Value> {
    r.verdicts
        .iter()
        .map(|v| {
            serde_json::json!({
                "name": v.name,
                "kind": match v.expectation {
                    Expectation::Always => "always",
                    Expectation::Sometimes => "sometimes",
                    Expectation::Eventually => "eventually",
                },
                "status": match tag(v) {
                    "FAIL" => "violated",
                    "none" => "no_example",
                    _ => if matches!(v.expectation, Expectation::Sometimes) { "example_found" } else { "holds" },
                },
                "depth": v.path.as_ref().map(Vec::len),
                "path": v.path.as_deref().map(&describe),
            })
        })
        .collect()
}

fn proved_word(proved: &Proved) -> &'static str {
    match proved {
        Proved::Holds => "proved",
        Proved::Violated => "violated",
        Proved::Inconclusive { .. } => "inconclusive",
    }
}

fn proved_exit(proved: &Proved) -> Exit {
    match proved {
        Proved::Holds => Exit::Success,
        Proved::Violated => Exit::Violation,
        Proved::Inconclusive { .. } => Exit::Inconclusive,
    }
}

/// How far a slice searches, as `check slice` prints it.
fn slice_reach(slice: &Slice) -> String {
    match slice.depth {
        Some(d) => format!("depth {d:>2}"),
        None => "whole   ".to_string(),
    }
}

/// `check slice`: every slice (or the named ones) exhaustively, one after
/// another; the exit status is the worst verdict (a violation before
/// nothing proved before proved).
fn run_slices(args: &SliceArgs) -> Result<(), CliError> {
    let flaw = vault_flaw(args.flaw.as_deref())?;
    let all = slices();
    for name in &args.only {
        if !all.iter().any(|s| s.name == name) {
            let known: Vec<_> = all.iter().map(|s| s.name).collect();
            return Err(CliError::usage(format!(
                "--only {name:?}: no such slice; known: {}",
                known.join(", ")
            )));
        }
    }
    let chosen: Vec<Slice> = all
        .into_iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|n| n == s.name))
        .collect();
    // One thread: only breadth-first search on one thread reaches every
    // state first by a shortest path, so only it proves a depth bound
    // (`Coverage::CutOutOfOrder`).
    let threads = 1;
    let mut docs = Vec::new();
    let (mut violated, mut inconclusive) = (Vec::new(), Vec::new());
    for slice in &chosen {
        let m = match VaultModel::new(slice.bounds, flaw).try_after(slice.steering_path) {
            Ok(m) => m,
            Err(why) => {
                // The code under test took another path than the slice's
                // steering path: the scenario is never reached, and the
                // slice proves nothing (as a missing example).
                inconclusive.push(slice.name);
                if args.json {
                    docs.push(slice_json(
                        slice,
                        serde_json::json!({
                            "verdict": "inconclusive",
                            "steering_path_failed": why,
                            "exit_code": Exit::Inconclusive.code(),
                        }),
                    ));
                } else {
                    say!(
                        "slice {:<15} {}: nothing proved: {why}",
                        slice.name,
                        slice_reach(slice)
                    );
                }
                continue;
            }
        };
        let budget = Budget {
            threads,
            depth: slice.depth,
            ..Budget::bfs(0)
        };
        let r = check(m.clone(), &budget);
        let proved = r.proved();
        let describe = |path: &[_]| m.describe_path(path);
        match proved {
            Proved::Holds => {}
            Proved::Violated => violated.push(slice.name),
            Proved::Inconclusive { .. } => inconclusive.push(slice.name),
        }
        if args.json {
            docs.push(slice_json(
                slice,
                serde_json::json!({
                "states": r.states,
                "unique": r.unique,
                "max_depth": r.max_depth,
                "elapsed_s": r.elapsed.as_secs_f64(),
                "exhaustive": r.exhaustive(),
                "verdict": proved_word(&proved),
                "missing_examples": match &proved {
                    Proved::Inconclusive { missing_examples, .. } => missing_examples.clone(),
                    _ => Vec::new(),
                },
                "properties": properties_json(&r, describe),
                "exit_code": proved_exit(&proved).code(),
                }),
            ));
        } else {
            say!(
                "slice {:<15} {}: {:>9} unique states, {:>6.1}s: {}",
                slice.name,
                slice_reach(slice),
                r.unique,
                r.elapsed.as_secs_f64(),
                verdict_line(&proved)
            );
            for v in r.verdicts.iter().filter(|v| v.is_violation()) {
                say!("  counterexample to \"{}\":", v.name);
                for line in describe(v.path.as_deref().unwrap_or_default()) {
                    say!("    {line}");
                }
            }
        }
    }
    let exit = if !violated.is_empty() {
        Exit::Violation
    } else if !inconclusive.is_empty() {
        Exit::Inconclusive
    } else {
        Exit::Success
    };
    if args.json {
        let doc = serde_json::json!({
            "schema": "bvault-check-slice/1",
            "flaw": flaw.map_or("none", |f| f.name()),
            "threads": threads,
            "slices": docs,
            "violated": violated,
            "inconclusive": inconclusive,
            "exit_code": exit.code(),
        });
        say!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
        );
    }
    match exit {
        Exit::Success => Ok(()),
        Exit::Violation => Err(CliError::with_exit(
            exit,
            format!("violated in slice(s): {}", violated.join(", ")),
        )),
        _ => Err(CliError::with_exit(
            exit,
            format!("nothing proved in slice(s): {}", inconclusive.join(", ")),
        )),
    }
}

/// A slice's entry in `check slice --json`: what the slice is, then
/// `outcome`'s fields (an object).
fn slice_json(slice: &Slice, outcome: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "name": slice.name,
        "purpose": slice.purpose,
        "bounds": format!("{:?}", slice.bounds),
        "depth": slice.depth,
        "steering_path": slice.steering_path,
    });
    if let (Some(doc), serde_json::Value::Object(outcome)) = (doc.as_object_mut(), outcome) {
        doc.extend(outcome);
    }
    doc
}

fn explore(args: &ExploreArgs) -> Result<(), CliError> {
    // Check the address first, for a clean error instead of a panic inside
    // the Explorer's server.
    std::net::TcpListener::bind(&args.addr).map_err(|e| {
        CliError::with_exit(
            Exit::Failure,
            format!("cannot listen on {}: {e}", args.addr),
        )
    })?;
    say!("Explorer: http://{}/ (Ctrl-C to stop)", args.addr);
    match args.bounds.model {
        ModelName::Vault => {
            let m = vault_model(&args.bounds)?;
            let _checker = m.checker().serve(args.addr.as_str());
        }
        ModelName::Protocol => {
            let m = protocol_model(&args.bounds)?;
            let _checker = m.checker().serve(args.addr.as_str());
        }
    }
    // The Explorer's server runs on its own threads until the process is
    // stopped.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn depths_and_timers_parse() {
        assert_eq!(parse_depth("7").unwrap(), Depth(Some(7)));
        assert_eq!(parse_depth("none").unwrap(), Depth(None));
        assert!(parse_depth("-1").is_err());
        assert!(parse_depth("all").is_err());
        assert_eq!(parse_timers("3").unwrap(), Timers::AtMost(3));
        assert_eq!(parse_timers("off").unwrap(), Timers::Off);
        assert_eq!(parse_timers("unbounded").unwrap(), Timers::Unbounded);
        assert!(parse_timers("256").is_err());
        assert!(parse_timers("many").is_err());
    }

    #[test]
    fn every_flaw_name_resolves() {
        for f in VAULT_FLAWS {
            let b = BoundArgs {
                model: ModelName::Vault,
                nodes: 3,
                rollback_tolerance: 1,
                limit: None,
                crashes: 0,
                rollbacks: 0,
                duplicates: 0,
                guesses: None,
                fresh: false,
                flaw: Some(f.name().to_string()),
                logins: None,
                changes: None,
                reregistrations: None,
                elections: None,
                forged_appends: 0,
                misdirections: 0,
                disk_edits: 0,
                host_rollbacks: 0,
                timers: None,
                activations: None,
                deletes: None,
                forgeries: None,
                replays: None,
                forged_activations: None,
                probes: None,
                splices: None,
                foreign_evaluations: None,
                ticket_reuses: None,
                resends: None,
                snapshot_every: Some(2),
            };
            let m = vault_model(&b).unwrap();
            assert_eq!(m.flaw, Some(*f));
            assert_eq!(m.bounds.snapshot_every, 2);
        }
    }
}
