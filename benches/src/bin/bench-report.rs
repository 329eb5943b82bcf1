//! Prints throughput and format/raw ratios from criterion's saved results,
//! the AES-256-GCM candidates against aws-lc, the pipeline's 2-thread/1-thread
//! ratios, and the simulator's events/s, compression and seeds/s.
//!
//! Run after `cargo bench -p backup-vault-benches --bench aead --bench format`
//! (or `--bench sim`):
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

/// `(benchmark, GB/s)` for every benchmark of a criterion group directory;
/// parametrised benchmarks (`name/param`) nest one level deeper.
fn group_rows(gdir: &Path) -> Vec<(String, f64)> {
    let Ok(entries) = fs::read_dir(gdir) else {
        return Vec::new();
    };
    let mut rows: Vec<(String, f64)> = Vec::new();
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
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
                    .strip_prefix(gdir)
                    .unwrap_or(&leaf)
                    .display()
                    .to_string();
                rows.push((name, b / ns)); // bytes per ns == GB/s
            }
        }
    }
    rows
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mut found = sim_report(&root);
    for group in ["aead_64KiB", "aead_16MiB"] {
        let rows = group_rows(&root.join(group));
        let Some(base) = rows.iter().find(|(n, _)| n == "aws-lc-rs").map(|r| r.1) else {
            continue;
        };
        found = true;
        println!("{group} (seal in place, one core)");
        for (name, gbps) in &rows {
            println!(
                "  {name:<24} {gbps:6.3} GB/s  {:5.1}% of aws-lc-rs",
                100.0 * gbps / base
            );
        }
    }
    for group in ["format_1MiB", "format_256MiB"] {
        let rows = group_rows(&root.join(group));
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
        let rate = |name: &str| rows.iter().find(|(n, _)| n == name).map(|r| r.1);
        for op in ["encrypt_parallel", "decrypt_parallel"] {
            if let (Some(one), Some(two)) = (rate(&format!("{op}/1")), rate(&format!("{op}/2"))) {
                println!(
                    "  {op}: 2 threads / 1 thread = {:.2}x (target: at least 1.8x on 256 MiB)",
                    two / one
                );
            }
        }
        for op in ["encrypt_stream", "decrypt_stream"] {
            if let (Some(r), Some(stream)) = (raw, rate(op)) {
                println!(
                    "  {op} / raw = {:.1}% (target: at least 90%)",
                    100.0 * stream / r
                );
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
