//! `bvault-suite check walk ...`: seeded random walks through a model
//! (`backup_vault_model::walk`), the symbolic-cryptography sweep.

use super::check::{protocol_model, vault_model, BoundArgs, ModelName};
use super::sim::{interrupt_flag, parse_seed_range, SeedRange};
use crate::exit::{CliError, Exit};
use backup_vault_model::walk::{sweep, WalkBudget, WalkReport, WalkVerdict};
use clap::Args;
use stateright::Model;
use std::fmt::Debug;
use std::time::Duration;

macro_rules! say {
    ($($arg:tt)*) => {
        crate::io_util::print_report(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// The owner's activation sends on a walk unless `--activations` says
/// otherwise. Unbounded, a walk resends an unanswered activation again and
/// again, and each send is one more operation the linearizability observer
/// must order: its work grows exponentially with the sends left unanswered
/// (at 4 sends, one walk of a broken variant that answers nothing ran for
/// minutes; at 2, a sweep of 2,000 walks takes seconds).
pub const WALK_ACTIVATIONS: u8 = 2;

/// Arguments of `bvault-suite check walk`.
#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Model and bounds (the fault and client budgets bound each walk).
    #[command(flatten)]
    pub bounds: BoundArgs,
    /// The seeds, one walk each: `A..B` runs A up to B-1.
    #[arg(long, default_value = "0..100", value_parser = parse_seed_range)]
    pub seeds: SeedRange,
    /// Actions per walk, at most (a walk also ends where no action is
    /// enabled).
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// Worker threads; 0 means one per CPU core.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub threads: usize,
    /// Stop after this long: seconds, or a number with s, m or h (a walk
    /// cut short counts as not run, and the sweep shows nothing: exit 7).
    #[arg(long, value_name = "TIME", value_parser = super::check::parse_duration)]
    pub time_budget: Option<Duration>,
    /// Print one JSON document on stdout instead of text (schema
    /// `bvault-check-walk/1`, in docs/model-checking.md).
    #[arg(long)]
    pub json: bool,
}

/// Runs `bvault-suite check walk`.
pub fn run_walk(args: &WalkArgs) -> Result<(), CliError> {
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    if args.steps == 0 {
        return Err(CliError::usage("--steps 0: a walk needs at least one step"));
    }
    let budget = WalkBudget {
        seeds: args.seeds.start..args.seeds.end,
        steps: args.steps,
        threads,
        time: args.time_budget,
        // On standard error, as `check run`'s: `--json` output on standard
        // output stays one document.
        progress: Some(Duration::from_secs(5)),
    };
    let stop = interrupt_flag()?;
    match args.bounds.model {
        ModelName::Vault => {
            let mut m = vault_model(&args.bounds)?;
            if args.bounds.activations.is_none() {
                let mut bounds = m.bounds;
                bounds.activations = Some(WALK_ACTIVATIONS);
                m = backup_vault_model::vault::VaultModel::new(bounds, m.flaw);
            }
            let head = WalkHead {
                model: "vault",
                flaw: m.flaw.map_or("none", |f| f.name()),
                bounds: format!("{:?}", m.bounds),
            };
            head.print(args, threads)?;
            let r = sweep(&m, &budget, &stop);
            finish(&head, args, threads, &r, |path| m.describe_path(path))
        }
        ModelName::Protocol => {
            let m = protocol_model(&args.bounds)?;
            let head = WalkHead {
                model: "protocol",
                flaw: m.broken.map_or("none", |f| f.name()),
                bounds: format!("{:?}", m.bounds),
            };
            head.print(args, threads)?;
            let r = sweep(&m, &budget, &stop);
            finish(&head, args, threads, &r, |path| {
                path.iter()
                    .enumerate()
                    .map(|(k, a)| format!("{:>3}. {}", k + 1, m.format_action(a)))
                    .collect()
            })
        }
    }
}

struct WalkHead {
    model: &'static str,
    flaw: &'static str,
    bounds: String,
}

impl WalkHead {
    fn print(&self, args: &WalkArgs, threads: usize) -> Result<(), CliError> {
        if args.json {
            return Ok(());
        }
        say!("model: {}, {}", self.model, self.bounds);
        say!("flaw: {}", self.flaw);
        say!(
            "walks: seeds {}..{}, at most {} steps each, {} thread(s){}",
            args.seeds.start,
            args.seeds.end,
            args.steps,
            threads,
            args.time_budget
                .map_or(String::new(), |t| format!(", at most {}s", t.as_secs()))
        );
        Ok(())
    }
}

/// The command that replays the walk of `seed` alone: the same model,
/// bounds and `--steps`, with one seed, and without what changes only how
/// the sweep runs (threads, time budget, JSON).
fn replay_command(seed: u64) -> String {
    replay_words(std::env::args().collect(), seed).join(" ")
}

fn replay_words(words: Vec<String>, seed: u64) -> Vec<String> {
    const WITH_VALUE: [&str; 4] = ["--seeds", "-j", "--threads", "--time-budget"];
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        if WITH_VALUE.contains(&w.as_str()) {
            words.next();
            continue;
        }
        let joined = WITH_VALUE.iter().any(|f| w.starts_with(&format!("{f}=")))
            || (w.starts_with("-j") && !w.starts_with("--"));
        if joined || w == "--json" {
            continue;
        }
        out.push(w);
    }
    out.push("--seeds".to_string());
    out.push(format!("{seed}..{}", seed + 1));
    out
}

fn finish<A: Debug>(
    head: &WalkHead,
    args: &WalkArgs,
    threads: usize,
    r: &WalkReport<A>,
    describe: impl Fn(&[A]) -> Vec<String>,
) -> Result<(), CliError> {
    let verdict = r.verdict();
    let exit = match verdict {
        WalkVerdict::NoneFound => Exit::Success,
        WalkVerdict::Violated => Exit::Violation,
        WalkVerdict::Inconclusive { .. } => Exit::Inconclusive,
    };
    let replay = r.violation.as_ref().map(|f| replay_command(f.seed));
    if args.json {
        let doc = serde_json::json!({
            "schema": "bvault-check-walk/1",
            "model": head.model,
            "flaw": head.flaw,
            "bounds": head.bounds,
            "seeds": { "start": args.seeds.start, "end": args.seeds.end },
            "steps_per_walk": args.steps,
            "threads": threads,
            "time_budget_s": args.time_budget.map(|t| t.as_secs()),
            "walks": r.walks,
            "planned": r.planned,
            "steps": r.steps,
            "ended": r.ended,
            "elapsed_s": r.elapsed.as_secs_f64(),
            "steps_per_s": r.steps_per_second(),
            "stopped": r.stopped,
            "examples": r.examples.iter().map(|e| serde_json::json!({
                "name": e.name, "first_seed": e.first_seed, "walks": e.walks,
            })).collect::<Vec<_>>(),
            "violation": r.violation.as_ref().map(|f| serde_json::json!({
                "seed": f.seed,
                "property": f.property,
                "steps": f.path.len(),
                "shrunk_steps": f.shrunk.len(),
                "path": describe(&f.shrunk),
                "replay": replay,
            })),
            "verdict": match verdict {
                WalkVerdict::NoneFound => "none_found",
                WalkVerdict::Violated => "violated",
                WalkVerdict::Inconclusive { .. } => "inconclusive",
            },
            "exit_code": exit.code(),
        });
        say!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
        );
    } else {
        say!(
            "walks: {} of {}, {} steps ({} ended early: no action enabled), {:.1}s, {:.0} steps/s",
            r.walks,
            r.planned,
            r.steps,
            r.ended,
            r.elapsed.as_secs_f64(),
            r.steps_per_second()
        );
        say!("sometimes properties:");
        for e in &r.examples {
            match e.first_seed {
                Some(s) => say!(
                    "  ok   {}: reached by {} walk(s), first by seed {s}",
                    e.name,
                    e.walks
                ),
                None => say!("  none {}: no walk reached it", e.name),
            }
        }
        if let Some(f) = &r.violation {
            say!("");
            say!(
                "VIOLATED \"{}\" on the walk of seed {}, after {} steps; a shorter path of {} steps:",
                f.property,
                f.seed,
                f.path.len(),
                f.shrunk.len()
            );
            for line in describe(&f.shrunk) {
                say!("  {line}");
            }
            say!("replay: {}", replay.as_deref().unwrap_or_default());
        }
    }
    let message = match verdict {
        WalkVerdict::NoneFound => {
            if !args.json {
                say!(
                    "verdict: no violation on these walks (a sweep, not a proof: other schedules may fail)"
                );
            }
            return Ok(());
        }
        WalkVerdict::Violated => "a property is violated".to_string(),
        WalkVerdict::Inconclusive {
            unrun,
            missing_examples,
        } => {
            let mut why = Vec::new();
            if unrun > 0 {
                why.push(format!(
                    "{unrun} seed(s) not run (a signal or the time budget stopped the sweep)"
                ));
            }
            if !missing_examples.is_empty() {
                why.push(format!(
                    "no walk reached an example of: {}",
                    missing_examples.join("; ")
                ));
            }
            format!("nothing shown: {}", why.join(", and "))
        }
    };
    if !args.json {
        say!("verdict: {message}");
    }
    Err(CliError::with_exit(exit, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_keeps_the_bounds_and_drops_how_the_sweep_ran() {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let got = replay_words(
            words(
                "bvault-suite check walk vault --crashes 6 --seeds 0..900 -j 2 --json \
                 --time-budget 5m --steps 1000 -j2 --threads=3 --seeds=1..2 --flaw double-vote",
            )
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect(),
            17,
        );
        assert_eq!(
            got.join(" "),
            "bvault-suite check walk vault --crashes 6 --steps 1000 --flaw double-vote --seeds 17..18"
        );
    }
}
