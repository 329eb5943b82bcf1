//! Runs one stage as a child process and reads what it proved.
//!
//! Each stage is a separate process (this binary again, cargo, a script):
//! a panic or an out-of-memory kill in one stage cannot take the report
//! with it, and the command a report shows is exactly the one that ran.
//! A stage's standard output and error go straight to files in
//! `DIR/stages/`, so they survive whatever happens to `verify`.

use super::outcome::{Finding, Outcome};
use super::plan::{Expect, Run, Stage};
pub use backup_vault_sim::catalogue::shell_line;
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Where and how stages run.
pub struct Runner<'a> {
    /// This binary.
    pub binary: &'a Path,
    /// The workspace root, for `Tool` stages (None when the binary runs
    /// outside its source tree).
    pub root: Option<&'a Path>,
    /// `DIR/stages`.
    pub stage_dir: &'a Path,
    /// Shard of sweeps: (k, n).
    pub shard: (u64, u64),
    /// A broken variant every correct-code stage runs with, if any.
    pub flaw: Option<&'a str>,
    /// Set by SIGINT/SIGTERM.
    pub interrupted: &'a AtomicBool,
    /// Called every few seconds while a stage runs, with its elapsed time.
    pub heartbeat: &'a dyn Fn(&Stage, Duration),
}

/// What one stage did.
#[derive(Clone, Debug)]
pub struct StageResult {
    /// The outcome.
    pub outcome: Outcome,
    /// The failures it found (for a caught variant: the catch).
    pub findings: Vec<Finding>,
    /// The command line, as a user would type it.
    pub command: String,
    /// Its argument vector (program first).
    pub argv: Vec<String>,
    /// The child's exit code, if it ran and exited.
    pub exit_code: Option<i32>,
    /// Wall time.
    pub elapsed: Duration,
    /// Figures the stage reported (seeds run, events/s, states...).
    pub figures: Value,
    /// Its captured output.
    pub stdout: PathBuf,
    /// Its captured errors.
    pub stderr: PathBuf,
}

impl Runner<'_> {
    /// The argument vector of a stage (program first), as it runs here.
    pub fn argv(&self, stage: &Stage) -> Vec<String> {
        let bin = self.binary.display().to_string();
        match &stage.run {
            Run::Suite(args) => {
                let mut v = vec![bin];
                v.extend(args.iter().cloned());
                if let (Some(flaw), Expect::Hold) = (self.flaw, &stage.expect) {
                    v.extend(["--flaw".to_owned(), flaw.to_owned()]);
                }
                if args[0] == "sim" {
                    if stage.sharded && self.shard.1 > 1 {
                        v.extend([
                            "--shard".to_owned(),
                            format!("{}/{}", self.shard.0, self.shard.1),
                        ]);
                    }
                    v.push("-q".to_owned());
                }
                v.push("--json".to_owned());
                v
            }
            Run::Replay { seed, args } => {
                let mut v = vec![bin, "sim".into(), "run".into(), "--seed".into()];
                v.push(seed.to_string());
                v.extend(args.iter().cloned());
                if let Some(flaw) = self.flaw {
                    v.extend(["--flaw".to_owned(), flaw.to_owned()]);
                }
                v
            }
            Run::Tool { program, args } => {
                let mut v = vec![program.clone()];
                v.extend(args.iter().cloned());
                v
            }
        }
    }

    /// Runs a stage to its end (or until a signal), and judges it.
    pub fn run(&self, stage: &Stage) -> StageResult {
        let argv = self.argv(stage);
        let command = shell_line(&argv);
        let stdout = self.stage_dir.join(format!("{}.stdout", stage.id));
        let stderr = self.stage_dir.join(format!("{}.stderr", stage.id));
        let start = Instant::now();
        let mut result = StageResult {
            outcome: Outcome::Error(String::new()),
            findings: Vec::new(),
            command,
            argv: argv.clone(),
            exit_code: None,
            elapsed: Duration::ZERO,
            figures: Value::Null,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        };
        if self.flaw.is_some() && !matches!(stage.run, Run::Suite(_) | Run::Replay { .. }) {
            result.outcome =
                Outcome::Skipped("a --flaw run checks simulator and model stages only".into());
            return result;
        }
        if let Run::Replay { .. } = stage.run {
            result.outcome = self.replay(stage, &argv, &stdout, &stderr, &mut result);
            result.elapsed = start.elapsed();
            return result;
        }
        let status = match self.spawn(stage, &argv, &stdout, &stderr, false) {
            Ok(s) => s,
            Err(why) => {
                result.outcome = Outcome::Error(why);
                result.elapsed = start.elapsed();
                return result;
            }
        };
        result.elapsed = start.elapsed();
        result.exit_code = status.code();
        let out = std::fs::read_to_string(&stdout).unwrap_or_default();
        let err_tail = last_line(&std::fs::read_to_string(&stderr).unwrap_or_default());
        let code = status.code();
        result.outcome = match &stage.run {
            Run::Suite(args) if args[0] == "sim" => {
                judge_sweep(stage, code, &out, &err_tail, &mut result)
            }
            Run::Suite(args) if args.get(1).is_some_and(|a| a == "walk") => {
                judge_walk(stage, code, &out, &err_tail, &mut result)
            }
            Run::Suite(_) => judge_slice(stage, code, &out, &err_tail, &mut result),
            _ => judge_tool(
                stage,
                code,
                &err_tail,
                self.interrupted.load(Ordering::SeqCst),
            ),
        };
        result
    }

    /// Spawns a child with its output in files (appended to, for the
    /// replay's second run), forwards a signal to it, and waits.
    fn spawn(
        &self,
        stage: &Stage,
        argv: &[String],
        stdout: &Path,
        stderr: &Path,
        append: bool,
    ) -> Result<ExitStatus, String> {
        let open = |p: &Path| {
            let f = if append {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
            } else {
                File::create(p)
            };
            f.map_err(|e| format!("cannot write '{}': {e}", p.display()))
        };
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(open(stdout)?)
            .stderr(open(stderr)?);
        if let Run::Tool { .. } = stage.run {
            let Some(root) = self.root else {
                return Err("needs the source tree (cargo and the scripts), which is not where this binary was built".into());
            };
            cmd.current_dir(root);
        }
        let mut child: Child = cmd
            .spawn()
            .map_err(|e| format!("cannot start '{}': {e}", argv[0]))?;
        let start = Instant::now();
        let mut beat = Instant::now();
        let mut forwarded = false;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for '{}': {e}", argv[0])),
            }
            if self.interrupted.load(Ordering::SeqCst) && !forwarded {
                // The child stops as a sweep does on a signal: it reports
                // what it ran. (On a terminal's Ctrl-C it has the SIGINT too.)
                forwarded = true;
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
            }
            if beat.elapsed() >= Duration::from_secs(5) {
                beat = Instant::now();
                (self.heartbeat)(stage, start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIM-1: the seed twice, the same trace hash.
    fn replay(
        &self,
        stage: &Stage,
        argv: &[String],
        stdout: &Path,
        stderr: &Path,
        result: &mut StageResult,
    ) -> Outcome {
        let mut hashes = Vec::new();
        for i in 0..2 {
            let status = match self.spawn(stage, argv, stdout, stderr, i == 1) {
                Ok(s) => s,
                Err(why) => return Outcome::Error(why),
            };
            result.exit_code = status.code();
            if self.interrupted.load(Ordering::SeqCst) {
                return Outcome::Skipped("interrupted by a signal".into());
            }
            let text = std::fs::read_to_string(stdout).unwrap_or_default();
            let hash = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("trace hash"))
                .map(|h| h.trim().to_owned())
                .nth(i);
            match hash {
                Some(h) => hashes.push(h),
                None => {
                    return Outcome::Error(format!(
                        "run {} printed no trace hash (exit {:?})",
                        i + 1,
                        status.code()
                    ))
                }
            }
        }
        result.figures = serde_json::json!({ "trace_hash": hashes[0] });
        if hashes[0] == hashes[1] {
            Outcome::Proved
        } else {
            result.findings.push(Finding {
                invariant: "SIM-1".into(),
                seed: None,
                place: "the whole run".into(),
                message: format!("trace hashes differ: {} then {}", hashes[0], hashes[1]),
                bundle: None,
                faults: Vec::new(),
            });
            Outcome::Violated
        }
    }
}

/// A suite stage's one JSON document, or the error outcome when it printed
/// none (it crashed, or was killed).
fn report(code: Option<i32>, out: &str, err_tail: &str) -> Result<Value, Outcome> {
    serde_json::from_str::<Value>(out)
        .map_err(|_| Outcome::Error(format!("exit {code:?}, no JSON report: {err_tail}")))
}

/// A sweep's JSON: seeds, failures, coverage.
fn judge_sweep(
    stage: &Stage,
    code: Option<i32>,
    out: &str,
    err_tail: &str,
    r: &mut StageResult,
) -> Outcome {
    let doc = match report(code, out, err_tail) {
        Ok(doc) => doc,
        Err(outcome) => return outcome,
    };
    r.figures = serde_json::json!({
        "seeds_run": doc["seeds_run"],
        "seeds_in_shard": doc["seeds_in_shard"],
        "events": doc["events"],
        "events_per_s": doc["speed"]["events_per_s"],
        "seeds_per_s": doc["speed"]["seeds_per_s"],
        "compression": doc["speed"]["compression"],
        "coverage": doc["coverage"],
        // Seeds whose final liveness checks were void or waived: they
        // proved safety only.
        "liveness_not_judged": doc["liveness_not_judged"],
    });
    for f in doc["failures"].as_array().into_iter().flatten() {
        let step = f["step"].as_u64();
        r.findings.push(Finding {
            invariant: f["invariant"].as_str().unwrap_or("?").to_owned(),
            seed: f["seed"].as_u64(),
            place: match (step, f["at_ms"].as_u64()) {
                (Some(s), Some(t)) => format!("step {s} ({t} ms virtual)"),
                _ => "a panic".to_owned(),
            },
            message: f["message"].as_str().unwrap_or("").to_owned(),
            bundle: None,
            faults: super::outcome::strings(&f["faults"]),
        });
    }
    let interrupted = doc["interrupted"].as_bool().unwrap_or(false);
    match (&stage.expect, code) {
        (Expect::Hold, Some(0)) => Outcome::Proved,
        (Expect::Hold, Some(6)) => Outcome::Violated,
        (_, Some(7)) if interrupted => Outcome::Inconclusive("interrupted by a signal".into()),
        (Expect::Hold, Some(7)) => Outcome::Inconclusive(format!("nothing proved: {err_tail}")),
        (Expect::Catch { names, .. }, Some(6)) => {
            let first = r
                .findings
                .first()
                .map(|f| f.invariant.clone())
                .unwrap_or_default();
            if names.contains(&first) {
                Outcome::Proved
            } else {
                Outcome::Escaped(format!(
                    "caught as {first}, expected one of {}",
                    names.join(", ")
                ))
            }
        }
        (Expect::Catch { .. }, Some(0)) => {
            Outcome::Escaped(format!("not caught: {} seeds passed", doc["seeds_run"]))
        }
        // A variant whose every check holds for want of anything to judge
        // (it never completes the work the checks look at) is caught by the
        // coverage bar: the counter it names stayed at zero over the sweep.
        (Expect::Catch { names, .. }, Some(7)) => {
            let zero: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| doc["coverage"][*n].as_u64() == Some(0))
                .collect();
            if zero.is_empty() {
                Outcome::Escaped(format!(
                    "nothing proved, but not for {}: {err_tail}",
                    names.join(", ")
                ))
            } else {
                r.findings.push(Finding {
                    invariant: zero.join(", "),
                    seed: None,
                    place: format!("{} seeds", doc["seeds_run"]),
                    message: format!("coverage counter never reached: {}", zero.join(", ")),
                    bundle: None,
                    faults: Vec::new(),
                });
                Outcome::Proved
            }
        }
        _ => Outcome::Error(format!("exit {code:?}: {err_tail}")),
    }
}

/// A model path as the JSON reports give it (one readable line per step),
/// as one text.
fn path_text(lines: &Value) -> String {
    lines
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A broken variant's model stage that found a violation: caught if one
/// finding names a property that starts with one of `names`.
fn caught_as_named(names: &[String], findings: &[Finding]) -> Outcome {
    if findings
        .iter()
        .any(|f| names.iter().any(|n| f.invariant.starts_with(n.as_str())))
    {
        Outcome::Proved
    } else {
        let got: Vec<_> = findings.iter().map(|f| f.invariant.as_str()).collect();
        Outcome::Escaped(format!(
            "violated {}, expected {}",
            got.join(", "),
            names.join(", ")
        ))
    }
}

/// `check slice --json`: per slice, each property's status.
fn judge_slice(
    stage: &Stage,
    code: Option<i32>,
    out: &str,
    err_tail: &str,
    r: &mut StageResult,
) -> Outcome {
    let doc = match report(code, out, err_tail) {
        Ok(doc) => doc,
        Err(outcome) => return outcome,
    };
    let mut unique = 0;
    let mut missing = Vec::new();
    for sl in doc["slices"].as_array().into_iter().flatten() {
        unique += sl["unique"].as_u64().unwrap_or(0);
        let name = sl["name"].as_str().unwrap_or("?");
        for p in sl["properties"].as_array().into_iter().flatten() {
            let prop = p["name"].as_str().unwrap_or("?");
            match p["status"].as_str() {
                Some("violated") => r.findings.push(Finding {
                    invariant: prop.to_owned(),
                    seed: None,
                    place: format!("slice {name}, depth {}", p["depth"]),
                    message: path_text(&p["path"]),
                    bundle: None,
                    faults: Vec::new(),
                }),
                Some("no_example") => missing.push(format!("{name}: {prop}")),
                _ => {}
            }
        }
    }
    r.figures = serde_json::json!({ "slices": doc["slices"].as_array().map_or(0, Vec::len), "unique_states": unique });
    match (&stage.expect, code) {
        (Expect::Hold, Some(0)) => Outcome::Proved,
        (Expect::Hold, Some(6)) => Outcome::Violated,
        (Expect::Hold, Some(7)) => {
            Outcome::Inconclusive(format!("no example of {}", missing.join("; ")))
        }
        (Expect::Catch { names, .. }, Some(6)) => caught_as_named(names, &r.findings),
        // A `sometimes` property the correct code reaches (its own stage
        // proves it) that the variant never reaches: caught as that example
        // missing. Named by prefix, as violations are.
        (Expect::Catch { names, .. }, Some(7))
            if missing.iter().any(|m| {
                let prop = m.split_once(": ").map_or(m.as_str(), |(_, p)| p);
                names.iter().any(|n| prop.starts_with(n.as_str()))
            }) =>
        {
            r.findings.push(Finding {
                invariant: missing.join("; "),
                seed: None,
                place: "the whole slice".to_owned(),
                message: format!("no example of {}", missing.join("; ")),
                bundle: None,
                faults: Vec::new(),
            });
            Outcome::Proved
        }
        (Expect::Catch { .. }, Some(0 | 7)) => {
            Outcome::Escaped("not caught within the slice".into())
        }
        _ => Outcome::Error(format!("exit {code:?}: {err_tail}")),
    }
}

/// `check walk --json` (schema `bvault-check-walk/1`): the smallest failing
/// seed's violation, or the examples no walk reached.
fn judge_walk(
    stage: &Stage,
    code: Option<i32>,
    out: &str,
    err_tail: &str,
    r: &mut StageResult,
) -> Outcome {
    let doc = match report(code, out, err_tail) {
        Ok(doc) => doc,
        Err(outcome) => return outcome,
    };
    let v = &doc["violation"];
    if let Some(property) = v["property"].as_str() {
        r.findings.push(Finding {
            invariant: property.to_owned(),
            seed: v["seed"].as_u64(),
            place: format!(
                "walk of seed {}, step {} (a path of {} steps to it: `{}`)",
                v["seed"],
                v["steps"],
                v["shrunk_steps"],
                v["replay"].as_str().unwrap_or("")
            ),
            message: path_text(&v["path"]),
            bundle: None,
            faults: Vec::new(),
        });
    }
    let missing: Vec<&str> = doc["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["first_seed"].is_null())
        .filter_map(|e| e["name"].as_str())
        .collect();
    r.figures = serde_json::json!({
        "walks": doc["walks"],
        "steps": doc["steps"],
        "steps_per_s": doc["steps_per_s"],
    });
    match (&stage.expect, code) {
        (Expect::Hold, Some(0)) => Outcome::Proved,
        (Expect::Hold, Some(6)) => Outcome::Violated,
        (Expect::Hold, Some(7)) => Outcome::Inconclusive(if missing.is_empty() {
            format!("stopped before every seed ran: {err_tail}")
        } else {
            format!("no walk reached {}", missing.join("; "))
        }),
        (Expect::Catch { names, .. }, Some(6)) => caught_as_named(names, &r.findings),
        (Expect::Catch { .. }, Some(0 | 7)) => Outcome::Escaped("no walk caught it".into()),
        _ => Outcome::Error(format!("exit {code:?}: {err_tail}")),
    }
}

/// A tool's exit status: 0 is a pass (a variant's test asserts the catch).
fn judge_tool(stage: &Stage, code: Option<i32>, err_tail: &str, interrupted: bool) -> Outcome {
    match (code, &stage.expect) {
        (Some(0), _) => Outcome::Proved,
        _ if interrupted => Outcome::Inconclusive("interrupted by a signal".into()),
        (Some(7), _) => Outcome::Inconclusive(format!("nothing proved: {err_tail}")),
        (_, Expect::Hold) => Outcome::Violated,
        (_, Expect::Catch { .. }) => {
            Outcome::Escaped(format!("the test failed (exit {code:?}): {err_tail}"))
        }
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(expect: Expect) -> Stage {
        Stage {
            id: "s".into(),
            title: "t".into(),
            evidence: backup_vault_sim::catalogue::Evidence::Sim,
            run: Run::Suite(vec!["sim".into(), "sweep".into()]),
            expect,
            bound: "b".into(),
            sharded: true,
        }
    }

    fn result() -> StageResult {
        StageResult {
            outcome: Outcome::Proved,
            findings: Vec::new(),
            command: String::new(),
            argv: Vec::new(),
            exit_code: None,
            elapsed: Duration::ZERO,
            figures: Value::Null,
            stdout: PathBuf::new(),
            stderr: PathBuf::new(),
        }
    }

    #[test]
    fn a_variant_is_proved_only_when_caught_by_an_expected_invariant() {
        let catch = Expect::Catch {
            variant: "v".into(),
            breaks: "LOCK-2".into(),
            names: vec!["LOCK-2".into()],
        };
        let passed = r#"{"seeds_run": 10, "failures": [], "interrupted": false}"#;
        let failed = |inv: &str| {
            format!(
                r#"{{"seeds_run": 3, "interrupted": false, "failures": [{{"seed": 2, "invariant": "{inv}", "step": 9, "at_ms": 5, "message": "m"}}]}}"#
            )
        };
        let s = stage(catch);
        assert!(matches!(
            judge_sweep(&s, Some(0), passed, "", &mut result()),
            Outcome::Escaped(_)
        ));
        assert_eq!(
            judge_sweep(&s, Some(6), &failed("LOCK-2"), "", &mut result()),
            Outcome::Proved
        );
        assert!(matches!(
            judge_sweep(&s, Some(6), &failed("CONS-4"), "", &mut result()),
            Outcome::Escaped(_)
        ));
        let hold = stage(Expect::Hold);
        let mut r = result();
        assert_eq!(
            judge_sweep(&hold, Some(6), &failed("LOCK-2"), "", &mut r),
            Outcome::Violated
        );
        assert_eq!(r.findings[0].seed, Some(2));
        assert_eq!(
            judge_sweep(&hold, Some(0), passed, "", &mut result()),
            Outcome::Proved
        );
        let interrupted = r#"{"seeds_run": 1, "failures": [], "interrupted": true}"#;
        assert!(matches!(
            judge_sweep(&hold, Some(7), interrupted, "", &mut result()),
            Outcome::Inconclusive(_)
        ));
        assert!(matches!(
            judge_sweep(&hold, Some(1), "not json", "boom", &mut result()),
            Outcome::Error(_)
        ));
    }

    /// A variant that leaves the checks nothing to judge is caught only by
    /// the absence it names: a coverage counter at zero (sweeps), or a
    /// `sometimes` example not found (slices). Any other "nothing proved"
    /// is not a catch.
    #[test]
    fn a_variant_is_caught_by_a_missing_example_only_when_it_names_it() {
        let catch = |name: &str| {
            stage(Expect::Catch {
                variant: "v".into(),
                breaks: "DUR-1".into(),
                names: vec![name.into()],
            })
        };
        let sweep = |restores: u64| {
            format!(
                r#"{{"seeds_run": 20, "failures": [], "interrupted": false, "coverage": {{"restores done": {restores}, "logins done": 0}}}}"#
            )
        };
        let mut r = result();
        let restores = catch("restores done");
        assert_eq!(
            judge_sweep(&restores, Some(7), &sweep(0), "", &mut r),
            Outcome::Proved
        );
        assert_eq!(r.findings[0].invariant, "restores done");
        assert!(matches!(
            judge_sweep(&restores, Some(7), &sweep(3), "", &mut result()),
            Outcome::Escaped(_)
        ));
        let interrupted = r#"{"seeds_run": 1, "failures": [], "interrupted": true, "coverage": {"restores done": 0}}"#;
        assert!(matches!(
            judge_sweep(&restores, Some(7), interrupted, "", &mut result()),
            Outcome::Inconclusive(_)
        ));

        let slice = |status: &str| {
            format!(
                r#"{{"slices": [{{"name": "delete", "unique": 9, "properties": [{{"name": "sometimes a delete removes a staged registration", "status": "{status}", "depth": 4}}]}}]}}"#
            )
        };
        let staged = catch("sometimes a delete removes a staged");
        let mut r = result();
        assert_eq!(
            judge_slice(&staged, Some(7), &slice("no_example"), "", &mut r),
            Outcome::Proved
        );
        assert!(r.findings[0].message.contains("no example of delete"));
        let active = catch("sometimes a delete removes the active");
        assert!(matches!(
            judge_slice(&active, Some(7), &slice("no_example"), "", &mut result()),
            Outcome::Escaped(_)
        ));
        assert!(matches!(
            judge_slice(&staged, Some(0), &slice("found"), "", &mut result()),
            Outcome::Escaped(_)
        ));
    }

    #[test]
    fn shell_lines_quote_what_a_shell_would_split() {
        let argv: Vec<String> = ["a", "b c", "it's", "--x=1", ""]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(shell_line(&argv), "a 'b c' 'it'\\''s' --x=1 ''");
    }

    #[test]
    fn a_walk_is_judged_by_its_violation_and_its_missing_examples() {
        let walk = |expect| Stage {
            run: Run::Suite(vec!["check".into(), "walk".into(), "vault".into()]),
            ..stage(expect)
        };
        let catch = Expect::Catch {
            variant: "v".into(),
            breaks: "LOCK-1".into(),
            names: vec!["LOCK-1".into()],
        };
        let violated = |prop: &str| {
            format!(
                r#"{{"walks": 3, "steps": 900, "examples": [], "violation": {{"seed": 2, "property": "{prop}", "steps": 40, "shrunk_steps": 12, "path": ["a", "b"], "replay": "r"}}}}"#
            )
        };
        let mut r = result();
        assert_eq!(
            judge_walk(
                &walk(Expect::Hold),
                Some(6),
                &violated("LOCK-1 x"),
                "",
                &mut r
            ),
            Outcome::Violated
        );
        assert_eq!(r.findings[0].seed, Some(2));
        assert_eq!(r.findings[0].message, "a\nb");
        assert_eq!(
            judge_walk(
                &walk(catch.clone()),
                Some(6),
                &violated("LOCK-1 x"),
                "",
                &mut result()
            ),
            Outcome::Proved
        );
        assert!(matches!(
            judge_walk(
                &walk(catch.clone()),
                Some(6),
                &violated("CONS-4 y"),
                "",
                &mut result()
            ),
            Outcome::Escaped(_)
        ));
        let missing = r#"{"walks": 10, "steps": 3000, "violation": null, "examples": [{"name": "sometimes e", "first_seed": null, "walks": 0}, {"name": "sometimes f", "first_seed": 1, "walks": 4}]}"#;
        match judge_walk(&walk(Expect::Hold), Some(7), missing, "", &mut result()) {
            Outcome::Inconclusive(why) => assert!(
                why.contains("sometimes e") && !why.contains("sometimes f"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge_walk(&walk(catch), Some(0), missing, "", &mut result()),
            Outcome::Escaped(_)
        ));
        assert!(matches!(
            judge_walk(&walk(Expect::Hold), Some(6), "killed", "", &mut result()),
            Outcome::Error(_)
        ));
    }
}
