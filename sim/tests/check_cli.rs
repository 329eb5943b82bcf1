//! `bvault-suite check`: listing the models, checking one (exit 0 when every
//! property holds, 6 with a printed counterexample when one is violated),
//! and usage errors.

use std::process::{Command, Output};

fn bvault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(args)
        .output()
        .expect("bvault-suite runs")
}

/// A vault check that the broken variant `ke2-before-commit` fails at depth 1.
const EARLY_KE2: &[&str] = &[
    "check",
    "run",
    "vault",
    "--flaw",
    "ke2-before-commit",
    "--depth",
    "1",
];

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn list_names_both_models_their_properties_and_flaws() {
    let o = bvault(&["check", "list"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for needle in [
        "vault:",
        "protocol:",
        "LOCK-1",
        "LOCK-2",
        "LOCK-3",
        "LOCK-4",
        "CONS-1",
        "CONS-2",
        "CONS-3",
        "CONS-4 the record store is linearizable",
        "sometimes a disk is rolled back",
        "ke2-before-commit",
        "append-without-check",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn a_bound_that_reaches_no_example_proves_nothing_and_exits_7() {
    // Depth 2 is explored exhaustively and nothing is violated, but no
    // login, destruction or leader change happens within it: the
    // properties hold vacuously, and the run must not pass.
    let o = bvault(&["check", "run", "vault", "--depth", "2"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(7), "{text}");
    assert!(text.contains("states generated:"), "{text}");
    assert!(text.contains("states/s"), "{text}");
    assert!(text.contains("exhaustive within the bound: yes"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("none sometimes a login succeeds"), "{text}");
    assert!(text.contains("verdict: nothing proved"), "{text}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing proved"));
}

#[test]
fn json_reports_the_verdict_and_every_property() {
    let o = bvault(&["check", "run", "vault", "--depth", "2", "--json"]);
    assert_eq!(o.status.code(), Some(7));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(doc["schema"], "bvault-check-run/1");
    assert_eq!(doc["verdict"], "inconclusive");
    assert_eq!(doc["exit_code"], 7);
    assert_eq!(doc["exhaustive"], true);
    let missing = doc["missing_examples"].as_array().unwrap();
    assert!(missing.iter().any(|m| m == "sometimes a login succeeds"));
    let props = doc["properties"].as_array().unwrap();
    assert!(props
        .iter()
        .any(|p| p["kind"] == "always" && p["status"] == "holds"));
    assert!(props.iter().all(|p| p["status"] != "violated"));
    // A violation: its counterexample path, exit 6.
    let o = bvault(&[EARLY_KE2, &["--json"]].concat());
    assert_eq!(o.status.code(), Some(6));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["verdict"], "violated");
    let failed: Vec<_> = doc["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "violated")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["path"].as_array().is_some_and(|p| !p.is_empty()));
}

/// The abstract model with one election, one owner login and two guesses
/// against a limit of one, no crashes, no duplicates, to depth 8.
const SMALL_PROTOCOL: &[&str] = &[
    "check",
    "run",
    "protocol",
    "--rollback-tolerance",
    "0",
    "--limit",
    "1",
    "--guesses",
    "2",
    "--crashes",
    "0",
    "--duplicates",
    "0",
    "--elections",
    "1",
    "--changes",
    "0",
    "--reregistrations",
    "0",
    "--logins",
    "1",
    "--depth",
    "8",
];

#[test]
fn a_bound_with_every_example_is_proved_and_exits_0() {
    // Depth 8 is exhaustive and reaches a login, a destruction and a
    // leader change (a rollback cannot happen with R = 0, so it is not
    // asked for).
    let o = bvault(SMALL_PROTOCOL);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("exhaustive within the bound: yes"), "{text}");
    assert!(text.contains("ok   sometimes a login succeeds"), "{text}");
    assert!(!text.contains("sometimes a disk is rolled back"), "{text}");
    assert!(text.contains("verdict: proved within the bound"), "{text}");
}

#[test]
fn only_breadth_first_search_on_one_thread_proves_a_depth_bound() {
    // The bound breadth-first search proves above, searched depth-first or
    // on two threads: each cuts states at depth 8 that it may have reached
    // first on a longer path (depth-first search misses the login that
    // breadth-first search finds), so neither proves anything.
    for how in ["--dfs", "--threads=2"] {
        let o = bvault(&[SMALL_PROTOCOL, &[how, "--json"]].concat());
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(7), "{how}: {text}");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(doc["exhaustive"], false, "{how}");
        assert_eq!(doc["verdict"], "inconclusive", "{how}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("multi-threaded search was cut"),
            "{how}"
        );
    }
}

#[test]
fn a_flaw_exits_6_with_the_path_as_a_message_sequence() {
    let o = bvault(EARLY_KE2);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(6), "{text}");
    assert!(text.contains("FAIL LOCK-2"), "{text}");
    assert!(text.contains("counterexample to"), "{text}");
    // The path shows the request, the write and the early KE2.
    assert!(text.contains("KE1 u1"), "{text}");
    assert!(text.contains("appends Entries"), "{text}");
    assert!(
        text.contains("replies to") && text.contains("KE2"),
        "{text}"
    );
}

/// Runs `bvault-suite` with its standard output a pipe whose reader has
/// already gone, as `bvault-suite ... | head` leaves it once `head` has
/// read its lines.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(args)
        .stdout(writer)
        .output()
        .expect("bvault-suite runs")
}

#[test]
fn a_closed_pipe_neither_panics_nor_changes_the_verdict() {
    for (args, want) in [
        (&["check", "list"][..], 0),
        (&["sim", "sweep", "--seeds", "0..2"][..], 0),
        (&["verify", "catalogue"][..], 0),
        (&["check", "run", "vault", "--depth", "2"][..], 7),
        (EARLY_KE2, 6),
    ] {
        let o = with_closed_stdout(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("cannot write"), "{args:?}: {err}");
    }
}

#[test]
fn the_protocol_model_runs_and_its_broken_rules_are_caught() {
    let o = bvault(&["check", "run", "protocol", "--depth", "3", "--dfs"]);
    assert_eq!(o.status.code(), Some(7), "{}", stdout(&o));
    assert!(!stdout(&o).contains("FAIL"));
    let o = bvault(&[
        "check",
        "run",
        "protocol",
        "--flaw",
        "reset-on-reregistration",
        "--depth",
        "2",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(6), "{text}");
    assert!(text.contains("FAIL LOCK-3"), "{text}");
    assert!(text.contains("Reregister"), "{text}");
}

/// The number after `unique: ` in a report.
fn unique_states(text: &str) -> u64 {
    let at = text.find("unique: ").expect("a unique count") + "unique: ".len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a number")
}

#[test]
fn the_host_adversary_bounds_reach_the_vault_model() {
    let plain = bvault(&["check", "run", "vault", "--depth", "2"]);
    let host = bvault(&[
        "check",
        "run",
        "vault",
        "--depth",
        "2",
        "--forged-appends",
        "1",
        "--misdirections",
        "1",
        "--disk-edits",
        "1",
        "--host-rollbacks",
        "1",
    ]);
    let text = stdout(&host);
    assert_eq!(host.status.code(), Some(7), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("forged_appends: 1"), "{text}");
    assert!(text.contains("ok   HOST-1"), "{text}");
    // The host's actions add states: the flags reach the search.
    assert!(
        unique_states(&text) > unique_states(&stdout(&plain)),
        "{text}"
    );
    // The protocol model has no host.
    let o = bvault(&["check", "run", "protocol", "--disk-edits", "1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn budgets_stop_the_search_and_say_so() {
    let o = bvault(&[
        "check",
        "run",
        "vault",
        "--depth",
        "30",
        "--max-states",
        "2000",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(7), "{text}");
    assert!(text.contains("exhaustive within the bound: no"), "{text}");
    assert!(
        text.contains("a budget stopped the search before the bound"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = bvault(&["check", "run", "vault", "--flaw", "no-such-flaw"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown flaw"));
    let o = bvault(&[
        "check",
        "run",
        "vault",
        "--nodes",
        "3",
        "--rollback-tolerance",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = bvault(&["check", "run", "nothing"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The vault model with two timer firings, a crash at R = 1 and no client
/// action: a finite space.
const WHOLE_VAULT: &[&str] = &[
    "check",
    "run",
    "vault",
    "--timers",
    "2",
    "--crashes",
    "1",
    "--rollbacks",
    "0",
    "--duplicates",
    "0",
    "--guesses",
    "0",
    "--logins",
    "0",
    "--changes",
    "0",
    "--reregistrations",
    "0",
    "--forgeries",
    "0",
    "--replays",
    "0",
    "--forged-activations",
    "0",
    "--probes",
    "0",
    "--splices",
    "0",
    "--foreign-evaluations",
    "0",
    "--resends",
    "0",
    "--depth",
    "none",
];

#[test]
fn a_whole_space_is_proved_in_any_order() {
    // Without a depth bound nothing is cut: depth-first on two threads
    // proves as breadth-first on one does, and a leader change is reached.
    for how in [&["--dfs", "-j", "2"][..], &["--bfs"][..]] {
        let o = bvault(&[WHOLE_VAULT, how, &["--json"]].concat());
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{how:?}: {text}");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
        assert_eq!(doc["exhaustive"], true, "{how:?}");
        assert_eq!(doc["search"]["depth"], serde_json::Value::Null, "{how:?}");
        assert!(
            doc["max_depth"].as_u64().unwrap() > 8,
            "{how:?}: paths longer than a slice's"
        );
    }
}

#[test]
fn a_search_without_end_is_refused_unless_a_budget_ends_it() {
    // Unbounded timers: the space has no end.
    let endless = bvault(&["check", "run", "vault", "--depth", "none"]);
    assert_eq!(endless.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&endless.stderr).contains("--timers N"));
    // A change with unbounded activation sends: no end either.
    let o = bvault(&["check", "run", "vault", "--timers", "0", "--depth", "none"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--activations N"));
    // With a budget it runs, and proves nothing when the budget ends it.
    let o = bvault(&[
        "check",
        "run",
        "vault",
        "--depth",
        "none",
        "--max-states",
        "2000",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stdout(&o));
}

#[test]
fn walks_report_a_flaw_with_its_seed_a_shorter_path_and_a_replay_command() {
    let o = bvault(&[
        "check",
        "walk",
        "vault",
        "--flaw",
        "ke2-before-commit",
        "--seeds",
        "0..20",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(doc["schema"], "bvault-check-walk/1");
    assert_eq!(doc["verdict"], "violated");
    let v = &doc["violation"];
    assert!(v["property"].as_str().unwrap().starts_with("LOCK-2"), "{v}");
    assert!(v["shrunk_steps"].as_u64() <= v["steps"].as_u64());
    let replay = v["replay"].as_str().unwrap();
    let seed = v["seed"].as_u64().unwrap();
    assert!(
        replay.ends_with(&format!("--seeds {seed}..{}", seed + 1)),
        "{replay}"
    );
    assert!(!replay.contains("--json"), "{replay}");
    // The replay command finds the same violation on its one seed.
    let words: Vec<&str> = replay.split(' ').skip(1).collect();
    let again = bvault(&words);
    assert_eq!(again.status.code(), Some(6));
    assert!(stdout(&again).contains(&format!("on the walk of seed {seed}")));
}

#[test]
fn walks_that_reach_no_example_show_nothing_and_exit_7() {
    // Walks of five steps: no login can finish, no record be destroyed.
    let o = bvault(&["check", "walk", "vault", "--seeds", "0..10", "--steps", "5"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(7), "{text}");
    assert!(
        text.contains("none sometimes a record is destroyed"),
        "{text}"
    );
    assert!(text.contains("verdict: nothing shown"), "{text}");
}

#[test]
fn walks_of_the_correct_code_reach_every_example_and_exit_0() {
    // Two guesses against a limit of three: no record is destroyed, so the
    // rarest example (Exhaust, about 1 walk in 800) is not asked for, and
    // 2,000 walks reach the rest (a login about 1 in 30).
    let o = bvault(&[
        "check",
        "walk",
        "vault",
        "--guesses",
        "2",
        "--seeds",
        "0..2000",
        "-j",
        "2",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("walks: 2000 of 2000"), "{text}");
    assert!(text.contains("ok   sometimes a login succeeds"), "{text}");
    assert!(!text.contains("Exhaust"), "{text}");
    assert!(text.contains("a sweep, not a proof"), "{text}");
}

#[test]
fn walk_usage_errors_exit_2() {
    for args in [
        &["check", "walk", "vault", "--steps", "0"][..],
        &["check", "walk", "vault", "--seeds", "5..5"],
        &["check", "walk", "vault", "--snapshot-every", "0"],
        &["check", "walk", "protocol", "--snapshot-every", "2"],
        &["check", "walk", "vault", "--flaw", "no-such-flaw"],
    ] {
        let o = bvault(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}
