//! `bvault cluster init`, `up` and `demo`.

use crate::cli::{ClusterBenchArgs, ClusterDemoArgs, ClusterInitArgs};
use crate::exit::CliError;
use backup_vault_cli::runtime::{runtime_error, tokio_runtime};
use backup_vault_runtime::cluster::{self, InitOptions, Supervisor, CLUSTER_FILE};
use backup_vault_runtime::config::KsfName;
use backup_vault_runtime::demo::{self, DemoOptions};
use std::path::PathBuf;
use std::time::Duration;

fn options(args: &ClusterInitArgs) -> InitOptions {
    InitOptions {
        nodes: args.nodes,
        rollback_tolerance: args.rollback_tolerance,
        guess_limit: args.guess_limit,
        ksf: if args.ksf == "cheap" {
            KsfName::Cheap
        } else {
            KsfName::Realistic
        },
    }
}

fn exe() -> Result<PathBuf, CliError> {
    std::env::current_exe().map_err(|e| CliError::io("cannot find the bvault binary", &e))
}

/// Creates a cluster.
pub fn init(args: &ClusterInitArgs) -> Result<(), CliError> {
    let file =
        cluster::init(&args.dir, options(args)).map_err(|e| runtime_error("cluster init", &e))?;
    println!(
        "created a cluster of {} nodes in {} (fleet key {})",
        file.cluster.nodes,
        args.dir.display(),
        file.cluster.fleet_public_key
    );
    println!(
        "start it with: bvault cluster up --dir {}",
        args.dir.display()
    );
    Ok(())
}

/// Starts every node, shows the leader, and stops them all on Ctrl-C.
pub fn up(args: &ClusterInitArgs) -> Result<(), CliError> {
    // The signal handlers first: a SIGTERM while the nodes start must stop
    // them too, not kill this process and leave them running.
    let rt = tokio_runtime()?;
    let mut term = rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
    });
    let mut interrupt = rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
    });
    let config = args.dir.join(CLUSTER_FILE);
    if !config.exists() {
        init(args)?;
    }
    let mut nodes =
        Supervisor::new(exe()?, config.clone()).map_err(|e| runtime_error("cluster up", &e))?;
    nodes
        .start_all()
        .map_err(|e| runtime_error("cluster up", &e))?;
    let count = nodes.file().cluster.nodes;
    for entry in &nodes.file().nodes {
        println!(
            "node {}: peers on {}, clients on {}, log in {}",
            entry.id,
            entry.peer,
            entry.client,
            nodes.file().node_dir(entry).join("node.log").display()
        );
    }
    match nodes.wait_for_leader(Duration::from_secs(20)) {
        Some((id, term)) => {
            println!("node {id} leads (term {term}); {count} nodes up. Ctrl-C stops them all.")
        }
        None => println!("no leader yet after 20 s; see the node logs. Ctrl-C stops the nodes."),
    }
    println!(
        "try: bvault client --cluster {} --user 1 enable --password-file PASSWORD_FILE",
        config.display()
    );
    rt.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut leader = nodes.leader();
        let mut down: Vec<u8> = Vec::new();
        loop {
            tokio::select! {
                () = signalled(&mut interrupt) => break,
                () = signalled(&mut term) => break,
                _ = tick.tick() => {
                    let now = nodes.leader();
                    if now != leader {
                        if let Some((id, term)) = now {
                            println!("node {id} leads now (term {term})");
                        }
                        leader = now;
                    }
                    for id in 0..count {
                        let running = nodes.is_running(id);
                        if !running && !down.contains(&id) {
                            println!("node {id} stopped; see its node.log");
                            down.push(id);
                        }
                    }
                }
            }
        }
    });
    println!("stopping {count} nodes...");
    nodes.stop_all(Duration::from_secs(5));
    println!(
        "stopped; the cluster's files stay in {}",
        args.dir.display()
    );
    Ok(())
}

/// Waits for a signal; forever if its handler could not be installed.
async fn signalled(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs the demo.
pub fn demo(args: &ClusterDemoArgs) -> Result<(), CliError> {
    if args.nodes < 3 {
        return Err(CliError::usage(
            "the demo needs at least 3 nodes, so that one can die",
        ));
    }
    let dir = args.dir.clone().unwrap_or_else(demo::default_dir);
    if !demo::usable(&dir) {
        return Err(CliError::usage(format!(
            "{} already holds a cluster; the demo makes a new one",
            dir.display()
        )));
    }
    let options = DemoOptions {
        exe: exe()?,
        dir: dir.clone(),
        nodes: args.nodes,
        archive_bytes: args.archive_bytes,
    };
    let rt = tokio_runtime()?;
    rt.block_on(demo::run(options, |line| println!("{line}")))
        .map_err(|e| {
            CliError::with_exit(
                crate::exit::Exit::Failure,
                format!("the demo stopped at {e}"),
            )
            .note(format!(
                "the cluster's files and node logs are in {}",
                dir.display()
            ))
        })
}

/// Runs the benchmark.
pub fn bench(args: &ClusterBenchArgs) -> Result<(), CliError> {
    if args.clients.is_empty() || args.clients.contains(&0) || args.seconds <= 0.0 {
        return Err(CliError::usage(
            "give at least one client count above 0, and seconds above 0",
        ));
    }
    let dir = args.dir.clone().unwrap_or_else(|| {
        let mut d = demo::default_dir();
        d.set_file_name(format!(
            "bvault-bench-{}",
            d.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        d
    });
    if !demo::usable(&dir) {
        return Err(CliError::usage(format!(
            "{} already holds a cluster; the benchmark makes a new one",
            dir.display()
        )));
    }
    let options = backup_vault_runtime::bench::BenchOptions {
        exe: exe()?,
        dir: dir.clone(),
        nodes: args.nodes,
        clients: args.clients.clone(),
        seconds: args.seconds,
    };
    let rt = tokio_runtime()?;
    rt.block_on(backup_vault_runtime::bench::run(options, |line| {
        println!("{line}")
    }))
    .map(|_| println!("figures in {}", dir.join("bench.json").display()))
    .map_err(|e| {
        CliError::with_exit(
            crate::exit::Exit::Failure,
            format!("the benchmark stopped: {e}"),
        )
        .note(format!(
            "the cluster's files and node logs are in {}",
            dir.display()
        ))
    })
}
