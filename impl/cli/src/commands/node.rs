//! `bvault node serve`, `bvault node inspect` and `bvault cloud serve`.

use super::runtime::{load_cluster, runtime_error, tokio_runtime};
use crate::cli::{CloudServeArgs, NodeArgs, NodeInspectArgs};
use crate::exit::CliError;
use backup_vault::vault::ids::NodeId;
use backup_vault_runtime::{cloud, inspect, node};

/// Runs a node in the foreground until SIGTERM or Ctrl-C.
pub fn serve(args: &NodeArgs) -> Result<(), CliError> {
    let file = load_cluster(&args.config)?;
    init_logging();
    let rt = tokio_runtime()?;
    rt.block_on(node::serve(file, NodeId(args.id), terminated()))
        .map_err(|e| runtime_error(&format!("node {}", args.id), &e))
}

/// Runs the cloud service in the foreground until SIGTERM or Ctrl-C.
pub fn serve_cloud(args: &CloudServeArgs) -> Result<(), CliError> {
    let file = load_cluster(&args.config)?;
    init_logging();
    let rt = tokio_runtime()?;
    rt.block_on(cloud::serve(
        &file.cloud_dir(),
        file.cloud.addr,
        terminated(),
    ))
    .map_err(|e| runtime_error("cloud service", &e))
}

/// Completes on SIGTERM or Ctrl-C.
async fn terminated() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Prints what a stopped node's disk holds.
pub fn inspect(args: &NodeInspectArgs) -> Result<(), CliError> {
    let file = load_cluster(&args.node.config)?;
    let disk = inspect::inspect(&file, NodeId(args.node.id))
        .map_err(|e| runtime_error(&format!("node {}", args.node.id), &e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&disk).expect("a summary encodes")
        );
        return Ok(());
    }
    println!(
        "node {}: {} bytes, {} records ({} authentic), framing {}",
        disk.node, disk.bytes, disk.records, disk.authentic, disk.framing
    );
    println!(
        "term {}, snapshot to index {}, log to index {}",
        disk.term, disk.snapshot, disk.last_index
    );
    for u in &disk.users {
        println!(
            "user {}: {}{}{}",
            u.user,
            u.state,
            u.guesses_left
                .map(|g| format!(", {g} guesses left"))
                .unwrap_or_default(),
            if u.holds_key_material {
                ", password file and wrapped key held"
            } else {
                ", no key material"
            }
        );
    }
    Ok(())
}

/// Logs to stderr; `RUST_LOG` picks the level (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
