//! `bvault-suite verify`: the whole suite in one command, and one report.
//!
//! - [`plan`]: what each profile runs (stages, bounds, evidence);
//! - [`runner`]: one stage as a child process, judged from its JSON;
//! - [`outcome`]: stage outcomes, the run's verdict and its exit code;
//! - [`bundle`]: a folder per failure, with its replay script and diagram;
//! - `backup_vault_model::diagram`: counterexamples as sequence diagrams;
//! - [`report`]: `results.json`, `report.md`, `report.html`, `junit.xml`;
//! - [`merge`]: shards of one run into one report (`verify merge`).
//!
//! While it runs, `DIR/events.jsonl` gets one line per stage finished and
//! `DIR/failures.jsonl` one per failure, and the reports are rewritten
//! after every stage, so a run killed outright still leaves the report of
//! what had run. On SIGINT or SIGTERM the running stage is told to stop
//! (a sweep reports the seeds it ran), the rest are marked skipped, and
//! the reports are written.

mod bundle;
mod merge;
mod outcome;
mod plan;
mod report;
mod runner;

use crate::exit::{CliError, Exit};
use backup_vault_sim::catalogue::{Catalogue, Evidence};
use backup_vault_sim::provenance::Provenance;
use backup_vault_sim::world::{parse_flaw, AnyFlaw};
use clap::{Args, Subcommand};
use outcome::{Outcome, Verdict, OTHER_SHARD};
use plan::{Profile, Run, Stage};
use report::Record;
use runner::{Runner, StageResult};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// `verify`'s help epilogue.
pub const AFTER_HELP: &str = "\
Examples:
  bvault-suite verify                          # the quick profile, into target/verify
  bvault-suite verify --profile ci --out ci-report
  bvault-suite verify --profile nightly --shard 3/8 --out shard3
  bvault-suite verify --flaw ke2-before-commit # see the checks bite, with diagrams
  bvault-suite verify merge shard1 shard2 shard3 --out nightly   # one report from shards

Writes into DIR: report.html, report.md, results.json (schema bvault-verify/1,
docs/verify.md), junit.xml, events.jsonl and failures.jsonl (streamed while it
runs), stages/ (each stage's output), failures/ (a folder per failure: replay.sh,
scenario.json, trace.jsonl and its timeline, history.jsonl, output.txt,
diagram.mmd, diagram.svg).

Exit codes:
  0  every stage proved what the profile promises, every broken variant caught
  6  a violation: some check failed (see the report's Failures)
  7  nothing violated, but the run proved less than its profile promises: a
     stage was interrupted, could not run, missed a coverage example, or a
     broken variant escaped its check
  1  the report could not be written
  2  usage error";

/// Arguments of `bvault-suite verify`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifyArgs {
    /// `merge`, or nothing to run the suite.
    #[command(subcommand)]
    pub command: Option<VerifyCommand>,
    /// The run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `verify`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Merge the reports of the shards of one run (`--shard k/n` from any
    /// job runner) into one report; exit codes as for a run.
    Merge(MergeArgs),
    /// Print the generated section of docs/invariants.md (the catalogue's
    /// invariants, evidence and broken variants with their commands), or
    /// rewrite it in place with --write.
    Catalogue(CatalogueArgs),
}

/// Arguments of `bvault-suite verify catalogue`.
#[derive(Debug, Args)]
pub struct CatalogueArgs {
    /// Replace the generated section of this file (docs/invariants.md)
    /// instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

/// Arguments of `bvault-suite verify merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' report folders (each with its results.json).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged reports go.
    #[arg(long, value_name = "DIR", default_value = "target/verify-merged")]
    pub out: PathBuf,
}

/// Arguments of a verify run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How much to check: quick (minutes, no cargo), ci (plus the tests that
    /// need the source tree), nightly (hours).
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    /// Where the reports go (created; files in it are replaced).
    #[arg(long, value_name = "DIR", default_value = "target/verify")]
    pub out: PathBuf,
    /// Run shard k of n: each sweep runs its seeds s with s % n == k - 1;
    /// stages that cannot be split run on shard 1.
    #[arg(long, value_name = "k/n", default_value = "1/1",
          value_parser = crate::commands::sim::parse_shard)]
    pub shard: crate::commands::sim::Shard,
    /// Run every simulator and model stage with this broken variant (the
    /// matrix of variants is left out): the report shows what catches it.
    #[arg(long, value_name = "NAME")]
    pub flaw: Option<String>,
    /// Run only the stages whose id contains this text (repeatable).
    #[arg(long = "only", value_name = "TEXT")]
    pub only: Vec<String>,
}

/// Runs `verify` or `verify merge`.
///
/// # Errors
/// Usage errors; an unwritable DIR; and, to set the exit code, a violation
/// (6) or a run that proved less than promised (7).
pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    match &args.command {
        Some(VerifyCommand::Merge(m)) => run_merge(m),
        Some(VerifyCommand::Catalogue(c)) => run_catalogue(c),
        None => run_suite(&args.run),
    }
}

fn run_catalogue(args: &CatalogueArgs) -> Result<(), CliError> {
    let catalogue =
        Catalogue::load().map_err(|e| CliError::with_exit(Exit::Failure, e.to_string()))?;
    let Some(path) = &args.write else {
        return crate::io_util::print_report(&format!("{}\n", catalogue.markdown()));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read '{}'", path.display()), &e))?;
    let new = catalogue
        .splice_markdown(&text)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    atomic_write(path, &new)
}

fn run_merge(args: &MergeArgs) -> Result<(), CliError> {
    let catalogue =
        Catalogue::load().map_err(|e| CliError::with_exit(Exit::Failure, e.to_string()))?;
    let shards = args
        .dirs
        .iter()
        .map(|d| merge::Shard::read(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::usage)?;
    let m = merge::merge(&shards, &catalogue).map_err(CliError::usage)?;
    for w in &m.warnings {
        eprintln!("verify merge: warning: {w}");
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::io(format!("cannot create '{}'", args.out.display()), &e))?;
    let record = Record {
        profile: m.profile,
        shard: (1, 1),
        flaw: m.flaw.as_deref(),
        prov: &m.provenance,
        catalogue: &catalogue,
        stages: &m.stages,
        elapsed: m.elapsed,
        interrupted: m.interrupted,
        out: &args.out,
    };
    write_reports(&record, &args.out)?;
    eprintln!("verify merge: {} shards of {}", shards.len(), m.count);
    finish(&record, &args.out)
}

fn run_suite(args: &RunArgs) -> Result<(), CliError> {
    let catalogue =
        Catalogue::load().map_err(|e| CliError::with_exit(Exit::Failure, e.to_string()))?;
    let flaw = args.flaw.as_deref();
    let client_flaw = match flaw.map(parse_flaw) {
        None => false,
        Some(Ok(AnyFlaw::Client(_))) => true,
        Some(Ok(AnyFlaw::Vault(_))) => false,
        Some(Err(e)) => return Err(CliError::usage(format!("--flaw: {e}"))),
    };
    let mut stages = plan::stages(args.profile, &catalogue);
    if flaw.is_some() {
        stages.retain(|s| matches!(s.expect, plan::Expect::Hold));
    }
    if !args.only.is_empty() {
        stages.retain(|s| args.only.iter().any(|o| s.id.contains(o.as_str())));
        if stages.is_empty() {
            return Err(CliError::usage("--only: no stage of this profile matches"));
        }
    }
    let out = &args.out;
    let stage_dir = out.join("stages");
    std::fs::create_dir_all(&stage_dir)
        .map_err(|e| CliError::io(format!("cannot create '{}'", stage_dir.display()), &e))?;
    let prov = Provenance::now();
    let root = source_root();
    let interrupted = crate::commands::sim::interrupt_flag()?;
    let shard = (args.shard.index, args.shard.count);
    let tty = std::io::stderr().is_terminal();
    let total = stages.len();
    let started = Instant::now();
    let mut events = Stream::create(&out.join("events.jsonl"))?;
    let mut failures = Stream::create(&out.join("failures.jsonl"))?;
    eprintln!(
        "verify: profile {}, {} stages, reports in '{}'\n  {}",
        args.profile.name(),
        total,
        out.display(),
        prov.line()
    );

    let mut done: Vec<(Stage, Option<StageResult>)> =
        stages.into_iter().map(|s| (s, None)).collect();
    for i in 0..done.len() {
        let stage = done[i].0.clone();
        let result = if interrupted.load(Ordering::SeqCst) {
            None
        } else if shard.0 != 1 && !stage.sharded {
            Some(skipped(&stage, format!("{OTHER_SHARD} of {}", shard.1)))
        } else if client_flaw && stage.evidence == Evidence::Model {
            Some(skipped(
                &stage,
                "a client flaw: the model has vault nodes only".into(),
            ))
        } else {
            eprintln!("[{}/{total}] {} ({}) ...", i + 1, stage.id, stage.bound);
            let beat = |s: &Stage, t: Duration| {
                if !tty {
                    eprintln!("  ... {} running for {:.0} s", s.id, t.as_secs_f64());
                }
            };
            let runner = Runner {
                binary: &prov.binary,
                root: root.as_deref(),
                stage_dir: &stage_dir,
                shard,
                flaw,
                interrupted: &interrupted,
                heartbeat: &beat,
            };
            let mut r = runner.run(&stage);
            if matches!(stage.expect, plan::Expect::Hold) && r.outcome == Outcome::Violated {
                for (n, f) in r.findings.iter_mut().enumerate().take(5) {
                    let name = format!(
                        "failures/{}-{}",
                        stage.id,
                        f.seed.map_or(format!("{n}"), |s| format!("seed-{s}"))
                    );
                    match bundle::write(&out.join(&name), &stage, &r.argv, f, &prov) {
                        Ok(()) => f.bundle = Some(name),
                        Err(e) => eprintln!("  cannot write the bundle: {e}"),
                    }
                    failures.line(&serde_json::json!({"stage": stage.id, "failure": f.json()}));
                }
            }
            eprintln!(
                "  {} {}{} in {:.1} s",
                stage.id,
                r.outcome.word(),
                r.outcome
                    .reason()
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default(),
                r.elapsed.as_secs_f64()
            );
            Some(r)
        };
        if let Some(r) = &result {
            events.line(&serde_json::json!({
                "stage": stage.id,
                "outcome": r.outcome.word(),
                "reason": r.outcome.reason(),
                "elapsed_s": r.elapsed.as_secs_f64(),
            }));
        }
        done[i].1 = result;
        // The reports after every stage: a run killed outright leaves them.
        let record = Record {
            profile: args.profile,
            shard,
            flaw,
            prov: &prov,
            catalogue: &catalogue,
            stages: &done,
            elapsed: started.elapsed(),
            interrupted: interrupted.load(Ordering::SeqCst),
            out,
        };
        write_reports(&record, out)?;
        if i + 1 == done.len() {
            return finish(&record, out);
        }
    }
    unreachable!("a run has at least one stage (checked above)")
}

/// Prints the summary and turns the verdict into the exit code.
fn finish(record: &Record<'_>, out: &Path) -> Result<(), CliError> {
    summary(record, out);
    match record.verdict() {
        Verdict::Proved => Ok(()),
        v => Err(CliError::with_exit(
            v.exit(),
            format!(
                "verify: {}; see '{}'",
                v.word(),
                out.join("report.html").display()
            ),
        )),
    }
}

fn skipped(stage: &Stage, why: String) -> StageResult {
    StageResult {
        outcome: Outcome::Skipped(why),
        findings: Vec::new(),
        command: match &stage.run {
            Run::Suite(a) => a.join(" "),
            _ => String::new(),
        },
        argv: Vec::new(),
        exit_code: None,
        elapsed: Duration::ZERO,
        figures: serde_json::Value::Null,
        stdout: PathBuf::new(),
        stderr: PathBuf::new(),
    }
}

fn summary(record: &Record<'_>, out: &Path) {
    let rows = record.rows();
    eprintln!("\ninvariant  verdict");
    for r in &rows {
        eprintln!("  {:<8} {}", r.id, r.verdict);
    }
    let v = record.verdict();
    eprintln!(
        "\nverify {}: {} in {:.0} s; report: {}",
        v.word().to_uppercase(),
        record.profile.name(),
        record.elapsed.as_secs_f64(),
        out.join("report.html").display()
    );
}

fn write_reports(record: &Record<'_>, out: &Path) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(&record.json()).unwrap_or_default();
    for (name, text) in [
        ("results.json", json),
        ("report.md", record.markdown()),
        ("report.html", record.html()),
        ("junit.xml", record.junit()),
    ] {
        atomic_write(&out.join(name), &text)?;
    }
    Ok(())
}

/// Writes a file whole or not at all (a temporary file renamed over it):
/// a reader never sees half a report.
fn atomic_write(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::io(format!("cannot write '{}'", path.display()), &e))
}

/// A JSON-lines file, flushed line by line.
struct Stream(std::fs::File);

impl Stream {
    fn create(path: &Path) -> Result<Stream, CliError> {
        std::fs::File::create(path)
            .map(Stream)
            .map_err(|e| CliError::io(format!("cannot write '{}'", path.display()), &e))
    }

    fn line(&mut self, value: &serde_json::Value) {
        // A lost progress line is not worth stopping the run for; the
        // reports carry the same facts.
        let _ = writeln!(self.0, "{value}").and_then(|()| self.0.flush());
    }
}

/// The workspace this binary was built from, if it is still there (for
/// stages that run cargo and scripts).
fn source_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    root.join("Cargo.toml").is_file().then_some(root)
}
