//! `bvault-suite verify`: the catalogue agrees with the prose and the code,
//! and the command writes what it promises: reports, a verdict per
//! invariant, and for a failure a bundle that replays it, with a diagram.

use backup_vault::flaws::{CLIENT_FLAWS, VAULT_FLAWS};
use backup_vault_sim::catalogue::{Catalogue, Engine};
use backup_vault_sim::world::coverage::Coverage;
use backup_vault_sim::world::parse_flaw;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

fn prose() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/invariants.md");
    std::fs::read_to_string(path).expect("docs/invariants.md")
}

/// The invariant IDs a `### ` heading of the prose catalogue names.
fn prose_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("### ")) {
        let head = line.split(" — ").next().unwrap_or("");
        for word in head.trim_start_matches("### ").split([',', ' ']) {
            let w = word.trim();
            let looks_like_id = w.split_once('-').is_some_and(|(a, b)| {
                !a.is_empty()
                    && a.chars().all(|c| c.is_ascii_uppercase())
                    && !b.is_empty()
                    && b.chars().all(|c| c.is_ascii_digit())
            });
            if looks_like_id {
                ids.insert(w.to_owned());
            }
        }
    }
    ids
}

#[test]
fn catalogue_and_prose_agree() {
    let c = Catalogue::load().expect("docs/invariants.toml is valid");
    let toml_ids: BTreeSet<String> = c.invariants.iter().map(|i| i.id.clone()).collect();
    let md = prose();
    assert_eq!(
        toml_ids,
        prose_ids(&md),
        "docs/invariants.toml and the headings of docs/invariants.md name different invariants"
    );
    // Every broken variant the code has is in the catalogue, and every
    // catalogued name is one the code knows.
    let catalogued: BTreeSet<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
    for name in VAULT_FLAWS
        .iter()
        .map(|f| f.name())
        .chain(CLIENT_FLAWS.iter().map(|f| f.name()))
    {
        assert!(
            catalogued.contains(name),
            "broken variant {name} is not in docs/invariants.toml"
        );
    }
    let counters = Coverage::default().named().map(|(name, _)| name);
    for v in &c.variants {
        assert!(parse_flaw(&v.name).is_ok(), "{} is not a flaw name", v.name);
        if v.engine == Engine::Sim {
            for id in &v.expect {
                assert!(
                    id == "PANIC" || toml_ids.contains(id) || counters.contains(&id.as_str()),
                    "variant {} expects unknown {id} (neither an invariant nor a coverage counter)",
                    v.name
                );
            }
        }
    }
}

#[test]
fn the_generated_section_is_current() {
    let c = Catalogue::load().unwrap();
    let md = prose();
    let want = c
        .splice_markdown(&md)
        .expect("the markers are in docs/invariants.md");
    assert!(
        md == want,
        "docs/invariants.md's generated section is stale: run `cargo run --release -- verify catalogue --write docs/invariants.md`"
    );
}

#[test]
fn the_prose_headings_are_read_as_ids() {
    let ids = prose_ids("### CONS-1, CONS-2, CONS-3 — one leader\n### LOCK-1 — x\nnot ### FMT-9\n");
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["CONS-1", "CONS-2", "CONS-3", "LOCK-1"]
    );
}

fn verify(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .arg("verify")
        .arg("--out")
        .arg(dir)
        .args(args)
        .output()
        .expect("bvault-suite runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_passing_slice_writes_every_report_with_provenance() {
    let tmp = TempDir::new().unwrap();
    let (code, err) = verify(
        tmp.path(),
        &[
            "--only",
            "sim-3-nodes-r0",
            "--only",
            "replay",
            "--only",
            "variant-model-ke2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for f in [
        "report.html",
        "report.md",
        "results.json",
        "junit.xml",
        "events.jsonl",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f} missing");
    }
    let r = results(tmp.path());
    assert_eq!(r["schema"], "bvault-verify/1");
    assert_eq!(r["verdict"], "proved");
    assert!(r["provenance"]["commit"].is_string() && r["provenance"]["rustc"].is_string());
    // The default build runs on ristretto255; a report says which group
    // made it (a `scripts/toy-group.sh` build names the toy group).
    assert_eq!(
        r["provenance"]["group"],
        backup_vault::opaque::suite::GROUP_NAME
    );
    assert_eq!(backup_vault::opaque::suite::GROUP_NAME, "ristretto255");
    let stages = r["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3);
    assert!(
        stages.iter().all(|s| s["outcome"] == "proved"),
        "{stages:?}"
    );
    // The model variant was caught, with the property it breaks.
    let caught = stages.iter().find(|s| s["expect"] == "catch").unwrap();
    assert!(caught["findings"][0]["invariant"]
        .as_str()
        .unwrap()
        .starts_with("LOCK-2"));
    // Invariants no stage of this selection covers are said to be unchecked.
    let inv = r["invariants"].as_array().unwrap();
    let fmt2 = inv.iter().find(|i| i["id"] == "FMT-2").unwrap();
    assert_eq!(fmt2["verdict"], "not checked here");
    let junit = std::fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"sim-3-nodes-r0\""),
        "{junit}"
    );
}

#[test]
fn a_broken_variant_fails_the_run_with_a_replayable_bundle_and_a_diagram() {
    let tmp = TempDir::new().unwrap();
    let (code, err) = verify(
        tmp.path(),
        &["--flaw", "ke2-before-commit", "--only", "sim-default"],
    );
    assert_eq!(code, 6, "{err}");
    let r = results(tmp.path());
    assert_eq!(r["verdict"], "violated");
    let lock2 = r["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "LOCK-2")
        .unwrap()
        .clone();
    assert_eq!(lock2["verdict"], "violated");
    let sweep = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "sim-default")
        .unwrap()
        .clone();
    let bundle = sweep["findings"][0]["bundle"].as_str().expect("a bundle");
    let dir = tmp.path().join(bundle);
    for f in [
        "replay.sh",
        "scenario.json",
        "trace.jsonl",
        "history.jsonl",
        "output.txt",
        "diagram.mmd",
        "diagram.svg",
    ] {
        assert!(dir.join(f).is_file(), "{bundle}/{f} missing");
    }
    // The replay script runs the same seed and fails the same way.
    let replay = Command::new(dir.join("replay.sh")).output().unwrap();
    assert_eq!(replay.status.code(), Some(6));
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("class=\"verdicts\"") && html.contains("<svg"));
    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(md.contains("```mermaid\nsequenceDiagram"), "{md}");
    let failures = std::fs::read_to_string(tmp.path().join("failures.jsonl")).unwrap();
    assert!(failures.lines().count() >= 1);
}

#[test]
fn usage_errors_are_refused() {
    let tmp = TempDir::new().unwrap();
    let (code, err) = verify(tmp.path(), &["--flaw", "no-such-flaw"]);
    assert_eq!(code, 2, "{err}");
    let (code, err) = verify(tmp.path(), &["--only", "no-such-stage"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn shards_merge_into_one_report() {
    let tmp = TempDir::new().unwrap();
    let (a, b, merged) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("m"),
    );
    for (dir, shard) in [(&a, "1/2"), (&b, "2/2")] {
        let (code, err) = verify(
            dir,
            &[
                "--only",
                "sim-3-nodes-r0",
                "--only",
                "replay",
                "--shard",
                shard,
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    // Shard 2 leaves the replay to shard 1.
    let r2 = results(&b);
    let replay = r2["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "replay-seed-7")
        .unwrap()
        .clone();
    assert_eq!(replay["outcome"], "skipped");
    let out = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(["verify", "merge"])
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = results(&merged);
    assert_eq!(m["verdict"], "proved");
    let sweep = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "sim-3-nodes-r0")
        .unwrap()
        .clone();
    assert_eq!(sweep["figures"]["seeds_run"], 40, "both halves of 0..40");
    // One shard alone is not the whole run.
    let out = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(["verify", "merge"])
        .arg(&b)
        .arg("--out")
        .arg(tmp.path().join("half"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same shard twice is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args(["verify", "merge"])
        .arg(&a)
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_signal_stops_the_run_and_leaves_the_report_of_what_ran() {
    let tmp = TempDir::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bvault-suite"))
        .args([
            "verify",
            "--only",
            "sim-default",
            "--only",
            "sim-coverage",
            "--out",
        ])
        .arg(tmp.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first stage is under way (its output file exists).
    let started = tmp.path().join("stages/sim-default.stdout");
    for _ in 0..600 {
        if started.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "interrupted: nothing proved");
    let r = results(tmp.path());
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["verdict"], "inconclusive");
    let stages = r["stages"].as_array().unwrap();
    assert_eq!(stages[0]["outcome"], "inconclusive", "{stages:?}");
    assert_eq!(stages[1]["outcome"], "skipped");
    assert!(tmp.path().join("report.html").is_file());
}
