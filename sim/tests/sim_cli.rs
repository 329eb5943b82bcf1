//! End-to-end tests of `bvault-suite sim run` and `bvault-suite sim sweep`: each test
//! runs the real executable, on small scenarios so that the suite stays fast.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// A small scenario: 2 users for 5 s of virtual time.
const SMALL: &[&str] = &["--duration-ms", "5000", "--users", "2"];

fn bvault(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "panic: {err}");
    out
}

/// `bvault-suite sim <args> <SMALL>` in a fresh directory.
fn sim(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["sim"];
    all.extend_from_slice(args);
    all.extend_from_slice(SMALL);
    bvault(dir, &all)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally, not by a signal")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `trace hash` line of a run's summary.
fn trace_hash(out: &Output) -> String {
    let text = stdout(out);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("trace hash"))
        .unwrap_or_else(|| panic!("no trace hash in:\n{text}"));
    let hash = line.split_whitespace().last().unwrap().to_owned();
    assert_eq!(hash.len(), 16, "{line}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    hash
}

fn passed(out: &Output) {
    assert_eq!(
        code(out),
        0,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn sweep_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["sweep", "--json"];
    all.extend_from_slice(args);
    let out = sim(dir, &all);
    passed(&out);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}):\n{}", stdout(&out)))
}

#[test]
fn run_prints_a_summary() {
    let dir = TempDir::new().unwrap();
    let out = sim(dir.path(), &["run", "--seed", "1"]);
    passed(&out);
    let text = stdout(&out);
    assert!(text.starts_with("seed 1: passed\n"), "{text}");
    for field in [
        "scenario",
        "fault mix",
        "events",
        "events/s",
        "compression",
        "trace hash",
        "logins",
    ] {
        assert!(text.contains(field), "no {field:?} in:\n{text}");
    }
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// SIM-1 from the command line: the same seed gives the same trace hash, a
/// different seed a different one.
#[test]
fn same_seed_same_trace_hash() {
    let dir = TempDir::new().unwrap();
    let first = sim(dir.path(), &["run", "--seed", "7"]);
    let again = sim(dir.path(), &["run", "--seed", "7"]);
    let other = sim(dir.path(), &["run", "--seed", "8"]);
    for out in [&first, &again, &other] {
        passed(out);
    }
    assert_eq!(trace_hash(&first), trace_hash(&again));
    assert_ne!(trace_hash(&first), trace_hash(&other));
    // Everything but the wall-clock figures is the same, too.
    let steady = |out: &Output| -> Vec<String> {
        stdout(out)
            .lines()
            .filter(|l| !l.trim_start().starts_with("speed"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(steady(&first), steady(&again));
}

#[test]
fn trace_writes_json_lines_and_a_timeline() {
    let dir = TempDir::new().unwrap();
    let out = sim(dir.path(), &["run", "--seed", "3", "--trace", "t.jsonl"]);
    passed(&out);
    let jsonl = fs::read_to_string(dir.path().join("t.jsonl")).unwrap();
    let mut last_step = 0;
    let mut lines = 0;
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let step = v["step"].as_u64().unwrap();
        assert!(step >= last_step, "steps go forward: {line}");
        last_step = step;
        assert!(v["t_ms"].is_u64(), "{line}");
        assert!(v["kind"].is_string(), "{line}");
        assert!(v["from"].is_string(), "{line}");
        lines += 1;
    }
    assert!(lines > 100, "a run has many events, the trace has {lines}");
    let timeline = fs::read_to_string(dir.path().join("t.jsonl.timeline.txt")).unwrap();
    assert_eq!(
        timeline.lines().count(),
        lines + 1,
        "a header, then one line per record"
    );
    assert!(
        timeline.contains(" ms "),
        "{}",
        &timeline[..400.min(timeline.len())]
    );
    assert!(
        stdout(&out).contains("t.jsonl.timeline.txt"),
        "the summary names the files"
    );
    // Tracing does not change the run.
    let plain = sim(dir.path(), &["run", "--seed", "3"]);
    assert_eq!(trace_hash(&out), trace_hash(&plain));
}

#[test]
fn history_writes_json_lines() {
    let dir = TempDir::new().unwrap();
    let out = sim(dir.path(), &["run", "--seed", "4", "--history", "h.jsonl"]);
    passed(&out);
    let text = fs::read_to_string(dir.path().join("h.jsonl")).unwrap();
    let (mut invokes, mut completions, mut faults) = (0, 0, 0);
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["index"].as_u64(), Some(i as u64), "{line}");
        assert!(v["f"].is_string(), "{line}");
        if v["process"] == "nemesis" {
            // A fault, as Jepsen's nemesis writes it: info, between the
            // operations.
            assert_eq!(v["type"], "info", "{line}");
            faults += 1;
            continue;
        }
        assert!(v["process"].is_u64(), "{line}");
        match v["type"].as_str().unwrap() {
            "invoke" => invokes += 1,
            "ok" | "fail" | "info" => completions += 1,
            other => panic!("unknown event type {other}: {line}"),
        }
    }
    assert!(invokes > 0, "users did something");
    assert!(faults > 0, "the seed's faults are in the history");
    assert!(
        completions <= invokes,
        "{completions} completions of {invokes} calls"
    );
}

#[test]
fn output_files_are_checked_before_the_run() {
    let dir = TempDir::new().unwrap();
    let out = sim(
        dir.path(),
        &["run", "--seed", "1", "--trace", "no/such/dir/t.jsonl"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "nothing ran");
    let out = sim(dir.path(), &["run", "--seed", "1", "--history", "-"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn sweep_json_has_the_figures() {
    let dir = TempDir::new().unwrap();
    let v = sweep_json(dir.path(), &["--seeds", "0..8", "--threads", "2"]);
    assert_eq!(v["seeds_run"], 8, "{v}");
    assert_eq!(v["seeds_in_shard"], 8, "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    assert_eq!(v["failures"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["stopped_early"], false, "{v}");
    assert!(v["events"].as_u64().unwrap() > 0, "{v}");
    assert!(v["virtual_ms"].as_u64().unwrap() >= 8 * 5000, "{v}");
    for key in ["events_per_s", "seeds_per_s", "compression", "wall_s"] {
        assert!(v["speed"][key].as_f64().unwrap() > 0.0, "{key}: {v}");
        assert!(v["per_core"][key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    assert_eq!(v["scenario"]["users"], 2, "{v}");
    assert_eq!(v["scenario"]["faults"], "swarm", "{v}");
}

/// Shards 1/2 and 2/2 run disjoint halves of the range that together are
/// the whole: their seed counts, events, virtual time and trace-hash sums
/// add up to those of the unsharded sweep, and the thread count changes
/// none of it.
#[test]
fn shards_partition_the_range() {
    let dir = TempDir::new().unwrap();
    let whole = sweep_json(dir.path(), &["--seeds", "3..10", "--threads", "1"]);
    let first = sweep_json(dir.path(), &["--seeds", "3..10", "--shard", "1/2"]);
    let second = sweep_json(
        dir.path(),
        &["--seeds", "3..10", "--shard", "2/2", "-j", "3"],
    );
    assert_eq!(whole["seeds_run"], 7);
    // 3..10 holds 4, 6, 8 (s % 2 == 0) and 3, 5, 7, 9 (s % 2 == 1).
    assert_eq!(first["seeds_run"], 3);
    assert_eq!(first["shard_seeds"]["first"], 4);
    assert_eq!(second["seeds_run"], 4);
    assert_eq!(second["shard_seeds"]["first"], 3);
    for key in ["events", "virtual_ms"] {
        assert_eq!(
            first[key].as_u64().unwrap() + second[key].as_u64().unwrap(),
            whole[key].as_u64().unwrap(),
            "{key}"
        );
    }
    let hash = |v: &serde_json::Value| {
        u64::from_str_radix(v["trace_hash_sum"].as_str().unwrap(), 16).unwrap()
    };
    assert_eq!(hash(&first).wrapping_add(hash(&second)), hash(&whole));
    let again = sweep_json(dir.path(), &["--seeds", "3..10", "--threads", "3"]);
    assert_eq!(hash(&again), hash(&whole), "threads do not change the runs");
}

#[test]
fn sweep_text_has_the_totals() {
    let dir = TempDir::new().unwrap();
    let out = sim(dir.path(), &["sweep", "--seeds", "0..2"]);
    passed(&out);
    let text = stdout(&out);
    for field in [
        "2 seeds run, 0 failed",
        "events/s",
        "seeds/s",
        "compression",
        "per core",
    ] {
        assert!(text.contains(field), "no {field:?} in:\n{text}");
    }
}

/// Bad input exits 2 with a message that says what is wrong.
#[test]
fn bad_input_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["sweep", "--seeds", "5..3"], "empty"),
        (&["sweep", "--seeds", "5"], "A..B"),
        (
            &["sweep", "--seeds", "0..4", "--shard", "3/2"],
            "1 <= k <= n",
        ),
        (
            &["sweep", "--seeds", "0..4", "--shard", "0/2"],
            "1 <= k <= n",
        ),
        (
            &["run", "--seed", "1", "--faults", "drop,bogus"],
            "unknown fault kind 'bogus'",
        ),
        (
            &["run", "--seed", "1", "--flaw", "bogus"],
            "unknown flaw 'bogus'",
        ),
        (&["run", "--seed", "1", "--nodes", "0"], "--nodes"),
        (&["run", "--seed", "1", "--nodes", "10"], "--nodes"),
        (
            // quorum(3, 3) = 4 > 3 nodes; quorum(3, 2) = 3 would be fine.
            &[
                "run",
                "--seed",
                "1",
                "--nodes",
                "3",
                "--rollback-tolerance",
                "3",
            ],
            "rollback tolerance 3",
        ),
        (
            &["run", "--seed", "1", "--guess-limit", "0"],
            "--guess-limit",
        ),
        (&["run", "--seed", "1", "--users", "0"], "--users"),
        (
            &["run", "--seed", "1", "--duration-ms", "999"],
            "--duration-ms",
        ),
        (&["run"], "--seed"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["sim"];
        all.extend_from_slice(args);
        let out = bvault(dir.path(), &all);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{args:?}: no {needle:?} in {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?} ran: {}", stdout(&out));
    }
}

#[test]
fn help_documents_shards_traces_and_exit_codes() {
    let dir = TempDir::new().unwrap();
    let out = bvault(dir.path(), &["sim", "sweep", "--help"]);
    passed(&out);
    let text = stdout(&out);
    assert!(text.contains("s % n == k - 1"), "{text}");
    assert!(text.contains("6  a seed failed"), "{text}");
    let out = bvault(dir.path(), &["sim", "run", "--help"]);
    passed(&out);
    assert!(
        stdout(&out).contains("FILE.timeline.txt"),
        "{}",
        stdout(&out)
    );
}

/// The arguments of a printed replay command, to run with the test binary.
fn replay_args(replay: &str) -> Vec<String> {
    let rest = replay
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("not a replay command: {replay}"));
    rest.split_whitespace().map(str::to_owned).collect()
}

/// A deliberately broken client (K in the manifest) is caught by KEY-1: the
/// run exits 6 and prints the invariant, the step and the replay command,
/// and that command replays the same failure.
#[test]
fn a_failing_seed_prints_the_command_that_replays_it() {
    let dir = TempDir::new().unwrap();
    // The first seed that catches the flaw (which seed that is depends on
    // the whole world's behaviour; that one does is what is tested).
    let (seed, out) = (0..20)
        .map(|seed| {
            let s = seed.to_string();
            let args = [
                "run",
                "--seed",
                &s,
                "--flaw",
                "key-in-manifest",
                "--trace",
                "t.jsonl",
            ];
            (seed, sim(dir.path(), &args))
        })
        .find(|(_, out)| code(out) != 0)
        .expect("key-in-manifest is caught within 20 seeds");
    assert_eq!(code(&out), 6, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("seed {seed}: FAILED\n")),
        "{text}"
    );
    assert!(text.contains("violated     KEY-1 at step "), "{text}");
    assert!(text.contains("events that led to it:"), "{text}");
    assert!(
        stderr(&out).contains(&format!("bvault-suite: error: seed {seed} failed: KEY-1")),
        "{}",
        stderr(&out)
    );
    let replay = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("replay       "))
        .unwrap_or_else(|| panic!("no replay line in:\n{text}"));
    assert!(replay.contains("--flaw key-in-manifest"), "{replay}");
    assert!(replay.contains("--duration-ms 5000"), "{replay}");

    // The trace of a failed run holds every party's events (not only
    // those of the user and node the check names), and the failed check
    // at the last step.
    let trace = fs::read_to_string(dir.path().join("t.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last_step = records
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .max()
        .unwrap();
    let check = records
        .iter()
        .find(|r| r["kind"] == "check")
        .unwrap_or_else(|| panic!("no check record in:\n{trace}"));
    assert_eq!(check["what"], "KEY-1", "{check}");
    assert_eq!(check["step"], last_step, "{check}");
    let users: std::collections::BTreeSet<u64> =
        records.iter().filter_map(|r| r["user"].as_u64()).collect();
    assert!(users.len() > 1, "only users {users:?} in the trace");

    let args = replay_args(replay);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let again = bvault(dir.path(), &args);
    assert_eq!(code(&again), 6);
    let violated = |o: &Output| {
        stdout(o)
            .lines()
            .find(|l| l.contains("violated"))
            .map(str::to_owned)
    };
    assert_eq!(violated(&again), violated(&out));
    assert_eq!(trace_hash(&again), trace_hash(&out));
}

/// A sweep over a broken variant exits 6 and lists every failure, sorted by
/// seed, with its replay command; --fail-fast stops early.
#[test]
fn a_failing_sweep_exits_6_with_every_failure() {
    let dir = TempDir::new().unwrap();
    let out = sim(
        dir.path(),
        &[
            "sweep",
            "--seeds",
            "0..4",
            "--json",
            "--flaw",
            "ke2-before-commit",
        ],
    );
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(v["failed"].as_u64().unwrap(), failures.len() as u64);
    assert!(!failures.is_empty(), "{v}");
    let seeds: Vec<u64> = failures
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect();
    assert!(seeds.windows(2).all(|w| w[0] < w[1]), "{seeds:?}");
    for f in failures {
        assert_eq!(f["invariant"], "LOCK-2", "{f}");
        let replay = f["replay"].as_str().unwrap();
        assert!(
            replay.contains(&format!("--seed {} ", f["seed"])),
            "{replay}"
        );
        assert!(replay.contains("--flaw ke2-before-commit"), "{replay}");
    }
    assert!(stderr(&out).contains("seeds failed"), "{}", stderr(&out));

    let out = sim(
        dir.path(),
        &[
            "sweep",
            "--seeds",
            "0..40",
            "--json",
            "--fail-fast",
            "-j",
            "1",
            "--flaw",
            "ke2-before-commit",
        ],
    );
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stopped_early"], true, "{v}");
    assert_eq!(v["failed"], 1, "one thread stops at its first failure: {v}");
}

#[test]
fn an_interrupted_sweep_reports_what_it_ran_and_exits_7() {
    // A sweep far too long to finish, stopped by SIGINT once it has run a
    // seed: it prints what it ran, and "some seeds passed" is not a pass.
    let dir = TempDir::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(["sim", "sweep", "--seeds", "0..1000000", "-j", "1", "--json"])
        .args(SMALL)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough for the handler to be installed and a few seeds to run.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the summary");
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["stopped_early"], true);
    assert_eq!(doc["failed"], 0);
    let ran = doc["seeds_run"].as_u64().unwrap();
    assert!(ran < 1_000_000, "{doc}");
    assert!(stderr(&out).contains("interrupted by a signal"));
}

/// A sweep whose faults never provoke a coverage event proved nothing:
/// with `--require-coverage` it exits 7 and names the counters at zero,
/// even though no seed failed.
#[test]
fn a_sweep_without_coverage_is_not_a_pass() {
    let dir = TempDir::new().unwrap();
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", "--seeds", "0..2", "--faults", "none", "-q"];
        args.extend_from_slice(extra);
        sim(dir.path(), &args)
    };
    let out = sweep(&["--require-coverage"]);
    assert_eq!(code(&out), 7, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("nemesis acts"), "{}", stderr(&out));
    // A counter only an aimed schedule reaches often is left to
    // `--require`: the bar does not name it, a requirement does.
    let aimed = "requests reaching a deposed leader";
    assert!(!stderr(&out).contains(aimed), "{}", stderr(&out));
    let required = sweep(&["--require-coverage", "--require", aimed]);
    assert_eq!(code(&required), 7, "{}", stderr(&required));
    assert!(stderr(&required).contains(aimed), "{}", stderr(&required));
    let plain = sweep(&[]);
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    // One counter required: only it counts.
    let met = sweep(&["--require", "password registrations done"]);
    assert_eq!(code(&met), 0, "{}", stderr(&met));
    let unmet = sweep(&["--require", "nemesis acts"]);
    assert_eq!(code(&unmet), 7, "{}", stderr(&unmet));
    assert!(
        !stderr(&unmet).contains("leader changes"),
        "{}",
        stderr(&unmet)
    );
    let unknown = sweep(&["--require", "no such counter"]);
    assert_eq!(code(&unknown), 2, "{}", stderr(&unknown));
}

#[test]
fn a_run_that_panics_still_writes_its_trace_up_to_the_panic() {
    let dir = TempDir::new().unwrap();
    // A broken variant that trips an assertion in the node (which seed
    // does depends on the whole world; that one within 20 does is tested).
    let out = (0..20)
        .map(|seed| {
            let s = seed.to_string();
            let args = [
                "sim",
                "run",
                "--seed",
                &s,
                "--duration-ms",
                "30000",
                "--faults",
                "all",
                "--flaw",
                "durable-index-only-grows",
                "--trace",
                "p.jsonl",
            ];
            bvault(dir.path(), &args)
        })
        .find(|out| stdout(out).contains("violated     PANIC"))
        .expect("durable-index-only-grows panics within 20 seeds");
    let text = stdout(&out);
    assert!(text.contains("(up to the panic)"), "{text}");
    let trace = fs::read_to_string(dir.path().join("p.jsonl")).unwrap();
    assert!(trace.lines().count() > 100, "{trace}");
    assert!(dir.path().join("p.jsonl.timeline.txt").exists());
}
