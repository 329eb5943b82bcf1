//! Prints throughput and format/raw ratios from criterion's saved results.
//!
//! Run after `cargo bench -p backup-vault-benches --bench format`:
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

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mut found = false;
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
            "no results under {}; run `cargo bench -p backup-vault-benches --bench format` first",
            root.display()
        );
        std::process::exit(1);
    }
}
