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
fn the_vault_model_passes_a_small_bound() {
    let o = bvault(&["check", "run", "vault", "--depth", "2"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("states generated:"), "{text}");
    assert!(text.contains("states/s"), "{text}");
    assert!(text.contains("exhaustive within the bound: yes"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

#[test]
fn a_flaw_exits_6_with_the_path_as_a_message_sequence() {
    let o = bvault(&[
        "check",
        "run",
        "vault",
        "--flaw",
        "ke2-before-commit",
        "--depth",
        "1",
    ]);
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

#[test]
fn the_protocol_model_runs_and_its_broken_rules_are_caught() {
    let o = bvault(&["check", "run", "protocol", "--depth", "3", "--dfs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
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
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
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
    assert_eq!(host.status.code(), Some(0), "{text}");
    assert!(text.contains("forged_appends: 1"), "{text}");
    assert!(text.contains("ok   HOST-1"), "{text}");
    // The host's actions add states: the flags reach the search.
    assert!(unique_states(&text) > unique_states(&stdout(&plain)), "{text}");
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
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("exhaustive within the bound: no"), "{text}");
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
