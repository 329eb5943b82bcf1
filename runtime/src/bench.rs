//! `bvault cluster bench`: logins per second and their latency on a local
//! cluster of real processes with fsync, with 1 client and with many, and
//! where a login's time goes.
//!
//! Each client is a task with its own connection and its own user, who
//! enabled password backups and stored a small backup first. A measured
//! operation is a restore with the password: one login (`login-start`,
//! whose `ConsumeAttempt` commits before KE2 is sent, then `login-finish`,
//! whose reset commits before the key is released) and one small cloud read.
//! Clients loop for the given time; nothing is timed on a warm-up.
//!
//! Reported, per client count: logins per second (the cluster's: one
//! leader serves them all); round-trip latency p50/p99 of `login-start` and
//! `login-finish` (each waits for one commit: a quorum's fsyncs); and the
//! share of a login spent in the client's code (OPAQUE at the client's
//! password-hardening cost, the backup format), in the leader's code (every
//! input it handled during the run, divided by the logins: OPAQUE on the
//! vault side, the vault's rules and consensus), and the rest (network,
//! followers, fsyncs, queueing). From the
//! leader's status file: syncs, writes per sync (group commit at work) and
//! the average sync time.

use crate::client::{Connection, Timings};
use crate::cluster::{init, InitOptions, Supervisor, CLUSTER_FILE};
use crate::config::{ClusterFile, KsfName};
use crate::error::RuntimeError;
use crate::node::blocking;
use crate::status::{NodeMetrics, NodeStatus};
use backup_vault::client::state::DeviceState;
use backup_vault::client::{Client, Completed, Operation, Password};
use backup_vault::vault::ids::UserId;
use bytes::Bytes;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The benchmark's settings.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The `bvault` binary that runs the nodes.
    pub exe: PathBuf,
    /// A new folder for the cluster.
    pub dir: PathBuf,
    /// Nodes.
    pub nodes: u8,
    /// Client counts to measure, in order.
    pub clients: Vec<usize>,
    /// How long each count is measured.
    pub seconds: f64,
}

/// The figures of one client count.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Concurrent clients.
    pub clients: usize,
    /// Logins completed.
    pub logins: u64,
    /// Seconds measured.
    pub seconds: f64,
    /// Logins per second, cluster-wide (the leader serves them).
    pub logins_per_second: f64,
    /// `login-start` round trip p50 and p99, milliseconds.
    pub login_start_ms: (f64, f64),
    /// `login-finish` round trip p50 and p99, milliseconds.
    pub login_finish_ms: (f64, f64),
    /// Per login: milliseconds in the client's code.
    pub client_code_ms: f64,
    /// Per login: milliseconds in the leader's code for every input during
    /// the run (the two requests, the KE2 and key release computed when
    /// their entries apply, peer messages, timers), disk syncs excluded.
    pub vault_code_ms: f64,
    /// Per login: milliseconds of the two round trips.
    pub round_trips_ms: f64,
    /// The leader's record-log syncs during the run.
    pub syncs: u64,
    /// Writes per sync.
    pub writes_per_sync: f64,
    /// Average sync, milliseconds.
    pub sync_ms: f64,
}

/// Why the benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A step failed.
    #[error("{0}")]
    Step(String),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// Runs the benchmark, printing progress through `say`, and writes
/// `DIR/bench.json`.
///
/// # Errors
/// [`BenchError`] if the cluster does not start or an operation fails.
pub async fn run(
    options: BenchOptions,
    mut say: impl FnMut(&str),
) -> Result<Vec<BenchResult>, BenchError> {
    let file = init(
        &options.dir,
        InitOptions {
            nodes: options.nodes,
            rollback_tolerance: 0,
            guess_limit: 10,
            // The password hardening runs on the phone, not in the vault:
            // the cheap setting keeps client code from hiding the vault's
            // cost. Its share is reported all the same.
            ksf: KsfName::Cheap,
        },
    )?;
    let mut cluster = Supervisor::new(options.exe.clone(), options.dir.join(CLUSTER_FILE))?;
    cluster.start_all()?;
    blocking(|| cluster.wait_for_leader(Duration::from_secs(20)))
        .ok_or_else(|| BenchError::Step("no leader within 20 s".into()))?;
    let mut results = Vec::new();
    let mut next_user = 1u64;
    for &clients in &options.clients {
        let users: Vec<UserId> = (0..clients as u64).map(|i| UserId(next_user + i)).collect();
        next_user += clients as u64;
        say(&format!(
            "{clients} client(s): enabling password backups for each..."
        ));
        let ready = run_all(&file, &users, |conn, user| async move {
            prepare(conn, user).await
        })
        .await?;
        let (leader, before) = leader_metrics(&mut cluster)?;
        say(&format!(
            "{clients} client(s): logging in for {} s...",
            options.seconds
        ));
        let until = Instant::now() + Duration::from_secs_f64(options.seconds);
        let started = Instant::now();
        let runs = run_all(&file, &users, |conn, user| {
            let state = ready
                .iter()
                .find(|(u, _)| *u == user)
                .map(|(_, s)| s.clone())
                .expect("prepared");
            async move { login_loop(conn, state, until).await }
        })
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (leader_after, after) = leader_metrics(&mut cluster)?;
        if leader_after != leader {
            return Err(BenchError::Step(format!(
                "the leader changed during the run (node {leader} to {leader_after}); run again"
            )));
        }
        let result = summarize(clients, seconds, runs, &before, &after);
        say(&format!(
            "{clients} client(s): {:.0} logins/s; login-start p50 {:.2} ms p99 {:.2} ms; login-finish p50 {:.2} ms p99 {:.2} ms; per login {:.2} ms client code, {:.2} ms leader code (all inputs), {:.2} ms round trips; {:.1} writes per sync, {:.2} ms per sync",
            result.logins_per_second,
            result.login_start_ms.0,
            result.login_start_ms.1,
            result.login_finish_ms.0,
            result.login_finish_ms.1,
            result.client_code_ms,
            result.vault_code_ms,
            result.round_trips_ms,
            result.writes_per_sync,
            result.sync_ms,
        ));
        results.push(result);
    }
    blocking(|| cluster.stop_all(Duration::from_secs(5)));
    let json = serde_json::to_vec_pretty(&results).expect("results encode");
    crate::fsutil::write_atomic(&options.dir.join("bench.json"), &json, 0o644)?;
    Ok(results)
}

/// Runs `f` for every user at once, each with its own connection.
async fn run_all<F, Fut, T>(
    file: &ClusterFile,
    users: &[UserId],
    f: F,
) -> Result<Vec<T>, BenchError>
where
    F: Fn(Connection, UserId) -> Fut,
    Fut: std::future::Future<Output = Result<T, BenchError>> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for &user in users {
        let conn = Connection::open(file.clone())?;
        tasks.spawn(f(conn, user));
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.map_err(|e| BenchError::Step(e.to_string()))??);
    }
    Ok(out)
}

fn password() -> Password {
    Password::from("benchmark password")
}

async fn prepare(mut conn: Connection, user: UserId) -> Result<(UserId, DeviceState), BenchError> {
    let config = conn.client_config()?;
    let mut client = Client::new(user, config);
    let fail = |what: &str, e: String| BenchError::Step(format!("user {}: {what}: {e}", user.0));
    conn.run(
        &mut client,
        Operation::EnablePasswordMode {
            password: password(),
        },
        |_| {},
    )
    .await
    .map_err(|e| fail("enable", e.to_string()))?;
    conn.run(
        &mut client,
        Operation::Backup {
            plaintext: Bytes::from_static(b"a small chat archive"),
        },
        |_| {},
    )
    .await
    .map_err(|e| fail("backup", e.to_string()))?;
    Ok((user, client.state().clone()))
}

async fn login_loop(
    mut conn: Connection,
    state: DeviceState,
    until: Instant,
) -> Result<(u64, Timings), BenchError> {
    let config = conn.client_config()?;
    let mut logins = 0;
    while Instant::now() < until {
        let mut client = Client::from_state(state.clone(), config);
        let done = conn
            .run(
                &mut client,
                Operation::RestoreWithPassword {
                    password: password(),
                },
                |_| {},
            )
            .await
            .map_err(|e| BenchError::Step(format!("restore: {e}")))?;
        if !matches!(done, Completed::Restored { .. }) {
            return Err(BenchError::Step(format!("restore finished with {done:?}")));
        }
        logins += 1;
    }
    Ok((logins, conn.take_timings()))
}

fn leader_metrics(cluster: &mut Supervisor) -> Result<(u8, NodeMetrics), BenchError> {
    let (id, _) = cluster
        .leader()
        .ok_or_else(|| BenchError::Step("no leader".into()))?;
    let status = NodeStatus::read(&cluster.paths(id).status())
        .ok_or_else(|| BenchError::Step(format!("node {id} has no status file")))?;
    Ok((id, status.metrics))
}

fn summarize(
    clients: usize,
    seconds: f64,
    runs: Vec<(u64, Timings)>,
    before: &NodeMetrics,
    after: &NodeMetrics,
) -> BenchResult {
    let logins: u64 = runs.iter().map(|(n, _)| n).sum();
    let mut starts = Vec::new();
    let mut finishes = Vec::new();
    let mut client_code = Duration::ZERO;
    for (_, t) in &runs {
        starts.extend(t.vault.get("login-start").into_iter().flatten().copied());
        finishes.extend(t.vault.get("login-finish").into_iter().flatten().copied());
        client_code += t.client_code;
    }
    let per = |total: f64| {
        if logins == 0 {
            0.0
        } else {
            total / logins as f64
        }
    };
    let vault_us = after.code_micros.saturating_sub(before.code_micros);
    let round_trips: Duration = starts.iter().chain(&finishes).sum();
    let syncs = after.syncs.saturating_sub(before.syncs);
    let writes = after.synced_writes.saturating_sub(before.synced_writes);
    let sync_us = after.sync_micros.saturating_sub(before.sync_micros);
    BenchResult {
        clients,
        logins,
        seconds,
        logins_per_second: logins as f64 / seconds,
        login_start_ms: percentiles(&mut starts),
        login_finish_ms: percentiles(&mut finishes),
        client_code_ms: per(client_code.as_secs_f64() * 1e3),
        vault_code_ms: per(vault_us as f64 / 1e3),
        round_trips_ms: per(round_trips.as_secs_f64() * 1e3),
        syncs,
        writes_per_sync: if syncs == 0 {
            0.0
        } else {
            writes as f64 / syncs as f64
        },
        sync_ms: if syncs == 0 {
            0.0
        } else {
            sync_us as f64 / syncs as f64 / 1e3
        },
    }
}

/// p50 and p99, in milliseconds (nearest rank).
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1e3
    };
    (at(0.50), at(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentiles(&mut ms), (50.0, 99.0));
        let mut one = vec![Duration::from_millis(7)];
        assert_eq!(percentiles(&mut one), (7.0, 7.0));
        assert_eq!(percentiles(&mut []), (0.0, 0.0));
    }
}
