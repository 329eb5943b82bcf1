//! Prints throughput and format/raw ratios from criterion's saved results,
//! and the simulator's events/s, compression and seeds/s.
//!
//! Run after `cargo bench -p backup-vault-benches --bench format` (or
//! `--bench sim`):
//! `cargo run -p backup-vault-benches --release --bin bench-report [CRITERION_DIR]`.
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// Mean time per iteration in nanoseconds, from `<dir>/new/estimates.json`.
fn mean_ns(dir: &Path) -> Option<f64> {
    let text = fs::read_to_string(dir.join("new").join("estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Bytes per iteration, from `<dir>/new/benchmark.json`.
fn bytes(dir: &Path) -> Option<f64> {
    let text = fs::read_to_string(dir.join("new").join("benchmark.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["throughput"]["Bytes"].as_f64()
}

/// Events per iteration, from `<dir>/new/benchmark.json`.
fn elements(dir: &Path) -> Option<f64> {
    let text = fs::read_to_string(dir.join("new").join("benchmark.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["throughput"]["Elements"].as_f64()
}

/// The simulator groups (see `benches/benches/sim.rs`): each holds one
/// benchmark, `batch`, and the bench's own `batch.json` with the seeds and
/// virtual time of one iteration. Returns whether any was found.
fn sim_report(root: &Path) -> bool {
    let mut found = false;
    let mut per_second = Vec::new();
    for group in [
        "sim_default",
        "sim_default_no_faults",
        "sim_short",
        "sim_48_users",
    ] {
        let leaf = root.join(group).join("batch");
        let Some(ns) = mean_ns(&leaf) else {
            continue;
        };
        let Some(events) = elements(&leaf) else {
            continue;
        };
        let batch: Option<serde_json::Value> = fs::read_to_string(leaf.join("batch.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let secs = ns / 1e9;
        if !found {
            println!("simulator, one core (per iteration: a fixed batch of seeds)");
            found = true;
        }
        per_second.push((group, events / secs));
        let mut line = format!("  {group:<24} {:>12.0} events/s", events / secs);
        if let Some(batch) = batch {
            if let (Some(virtual_ms), Some(seeds)) =
                (batch["virtual_ms"].as_f64(), batch["seeds"].as_f64())
            {
                line.push_str(&format!(
                    "  {:>9.0}x compression  {:>7.2} seeds/s",
                    virtual_ms / 1000.0 / secs,
                    seeds / secs
                ));
            }
        }
        println!("{line}");
    }
    let rate = |name: &str| per_second.iter().find(|(g, _)| *g == name).map(|(_, r)| *r);
    if let (Some(six), Some(many)) = (rate("sim_default"), rate("sim_48_users")) {
        println!(
            "  events/s at 48 users against 6 (sim_48_users / sim_default): {:.2} (target: at least 0.50)",
            many / six
        );
    }
    found
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mut found = sim_report(&root);
    for group in ["format_1MiB", "format_256MiB"] {
        let gdir = root.join(group);
        let Ok(entries) = fs::read_dir(&gdir) else {
            continue;
        };
        let mut rows: Vec<(String, f64)> = Vec::new();
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            // Parallel benchmarks nest one level deeper (name/threads).
            let leaves: Vec<PathBuf> = if p.join("new").exists() {
                vec![p.clone()]
            } else {
                let mut v: Vec<PathBuf> = fs::read_dir(&p)
                    .map(|d| {
                        d.flatten()
                            .map(|e| e.path())
                            .filter(|q| q.join("new").exists())
                            .collect()
                    })
                    .unwrap_or_default();
                v.sort();
                v
            };
            for leaf in leaves {
                if let (Some(ns), Some(b)) = (mean_ns(&leaf), bytes(&leaf)) {
                    let name = leaf
                        .strip_prefix(&gdir)
                        .unwrap_or(&leaf)
                        .display()
                        .to_string();
                    rows.push((name, b / ns)); // bytes per ns == GB/s
                }
            }
        }
        let raw = rows.iter().find(|(n, _)| n == "raw_aes256gcm").map(|r| r.1);
        if rows.is_empty() {
            continue;
        }
        found = true;
        println!("{group}");
        for (name, gbps) in &rows {
            match raw {
                Some(r) => println!(
                    "  {name:<24} {gbps:6.3} GB/s  {:5.1}% of raw",
                    100.0 * gbps / r
                ),
                None => println!("  {name:<24} {gbps:6.3} GB/s"),
            }
        }
    }
    if !found {
        eprintln!(
            "no results under {}; run `cargo bench -p backup-vault-benches --bench format` (or `--bench sim`) first",
            root.display()
        );
        std::process::exit(1);
    }
}
