//! Speed of the deterministic simulator: events per second, simulated time
//! per wall second (compression) and seeds per second, on one core.
//!
//! Each benchmark runs a fixed batch of seeds per iteration, so that its
//! work is the same in every iteration; its throughput is the batch's
//! event count (`Throughput::Elements`), which the runs make deterministic.
//! Groups:
//! - `sim_default`: the default scenario (`Scenario::default()`: 5 nodes,
//!   R = 1, 6 users, 60 s of virtual time, swarm faults), seeds 0..8;
//! - `sim_default_no_faults`: the same world with `--faults none`;
//! - `sim_short`: the default scenario cut to 10 s, seeds 0..8, for a quick
//!   look (its fixed costs weigh more);
//! - `sim_48_users`: the default scenario with 48 users instead of 6, so
//!   that `bench-report` can put its events/s beside `sim_default`'s (the
//!   cost of a step should not grow with the world).
//!
//! Besides criterion's own output, each benchmark prints one line with the
//! three figures of its warm-up pass, and writes `batch.json` (seeds, events,
//! virtual milliseconds) next to criterion's results, so that
//! `cargo run -p backup-vault-benches --release --bin bench-report` can turn
//! criterion's mean time into events/s, compression and seeds/s.
//!
//! Run: `cargo bench -p backup-vault-benches --bench sim`.

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use backup_vault_sim::world::{self, FaultSelection, RunOptions, Scenario};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Seeds per iteration: enough to average over fault mixes.
const SEEDS: std::ops::Range<u64> = 0..8;

const OPTIONS: RunOptions = RunOptions {
    keep_trace: false,
    keep_history: false,
    history_checks_alone: false,
};

/// What one batch amounts to.
struct Batch {
    events: u64,
    virtual_ms: u64,
}

/// Runs the batch once; panics on a violation, since a benchmark of a
/// failing world measures the wrong thing.
fn run_batch(scenario: &Scenario) -> Batch {
    let mut batch = Batch {
        events: 0,
        virtual_ms: 0,
    };
    for seed in SEEDS {
        let report = world::run(scenario, seed, &OPTIONS);
        if let Some(v) = &report.violation {
            panic!(
                "seed {seed} violated {} ({}): replay with {}",
                v.invariant,
                v.message,
                scenario.replay_command(seed)
            );
        }
        batch.events += report.events;
        batch.virtual_ms += report.virtual_ms;
    }
    batch
}

/// Where criterion keeps its results: as criterion itself decides, short of
/// asking `cargo metadata` (the bench runs in `target/<profile>/deps`).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    let target = exe.ancestors().find(|p| p.ends_with("target"))?;
    Some(target.join("criterion"))
}

fn bench_scenario(c: &mut Criterion, group_name: &str, scenario: &Scenario) {
    let started = Instant::now();
    let batch = run_batch(scenario);
    let wall = started.elapsed().as_secs_f64();
    let seeds = SEEDS.end - SEEDS.start;
    println!(
        "{group_name}: {seeds} seeds, {} events, {} ms virtual; warm-up: {:.0} events/s, {:.0}x compression, {:.1} seeds/s",
        batch.events,
        batch.virtual_ms,
        batch.events as f64 / wall,
        batch.virtual_ms as f64 / 1000.0 / wall,
        seeds as f64 / wall,
    );
    if let Some(dir) = criterion_dir() {
        let dir = dir.join(group_name).join("batch");
        let json = serde_json::json!({
            "seeds": seeds,
            "events": batch.events,
            "virtual_ms": batch.virtual_ms,
        });
        // Best effort: the figures are also printed above.
        let _ = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("batch.json"), json.to_string()));
    }

    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(batch.events));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs_f64((wall * 12.0).max(5.0)));
    group.bench_function("batch", |b| {
        b.iter(|| {
            let batch = run_batch(black_box(scenario));
            black_box(batch.events)
        });
    });
    group.finish();
}

fn sim(c: &mut Criterion) {
    let default = Scenario::default();
    bench_scenario(c, "sim_default", &default);
    let quiet = Scenario {
        faults: FaultSelection::None,
        ..Scenario::default()
    };
    bench_scenario(c, "sim_default_no_faults", &quiet);
    let short = Scenario {
        duration_ms: 10_000,
        ..Scenario::default()
    };
    bench_scenario(c, "sim_short", &short);
    let crowd = Scenario {
        users: 48,
        ..Scenario::default()
    };
    bench_scenario(c, "sim_48_users", &crowd);
}

criterion_group!(benches, sim);
criterion_main!(benches);
