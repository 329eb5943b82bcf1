//! `node serve` and `cloud serve`: a node or the cloud service in the
//! foreground until SIGTERM or Ctrl-C.
//!
//! Both binaries serve through here, so that the suite's own node host
//! (`bvault-suite node serve`, which may run a broken variant) is the
//! product's in everything but the rules it is handed.

use crate::exit::CliError;
use crate::runtime::{load_cluster, runtime_error, tokio_runtime};
use backup_vault::vault::ids::NodeId;
use backup_vault::vault::node::NodeConfig;
use backup_vault_runtime::{cloud, node};
use clap::Args;
use std::path::{Path, PathBuf};

/// Which node of which cluster: the arguments of `node serve` and `node
/// inspect`, the same in both binaries, since the runtime's supervisor
/// starts either with them.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The cluster file (cluster.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The node's id, 0 to nodes - 1.
    #[arg(long, value_name = "N")]
    pub id: u8,
}

/// Runs node `id` of the cluster file at `config`, with the file's rules as
/// `rules` changes them (`bvault` changes nothing), until SIGTERM or Ctrl-C.
///
/// # Errors
/// A usage error if the cluster file is missing or wrong; a failure if the
/// node's disk, HSM or sockets fail.
pub fn node(
    config: &Path,
    id: u8,
    rules: impl FnOnce(NodeConfig) -> NodeConfig,
) -> Result<(), CliError> {
    let file = load_cluster(config)?;
    init_logging();
    let rt = tokio_runtime()?;
    let node_config = rules(file.node_config());
    rt.block_on(node::serve(file, NodeId(id), node_config, terminated()))
        .map_err(|e| runtime_error(&format!("node {id}"), &e))
}

/// Runs the cloud service of the cluster file at `config` until SIGTERM or
/// Ctrl-C.
///
/// # Errors
/// A usage error if the cluster file is missing or wrong; a failure if the
/// service cannot listen or its folder fails.
pub fn cloud(config: &Path) -> Result<(), CliError> {
    let file = load_cluster(config)?;
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

/// Logs to stderr; `RUST_LOG` picks the level (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
