//! What the runtime commands share: a tokio runtime, the cluster file, and
//! turning the runtime's errors into exit codes.

use crate::exit::{CliError, Exit};
use backup_vault_runtime::{ClusterFile, RuntimeError};
use std::path::Path;

/// A two-thread tokio runtime: enough for a node (its disk syncs block one
/// thread while the other serves the sockets) and for a client.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", &e))
}

/// Reads a cluster file, with a usage error if it is missing or wrong.
pub fn load_cluster(path: &Path) -> Result<ClusterFile, CliError> {
    ClusterFile::load(path).map_err(|e| match e {
        RuntimeError::Config { .. } => CliError::usage(e.to_string()),
        other => runtime_error("cluster file", &other),
    })
}

/// A runtime error while doing `context`.
pub fn runtime_error(context: &str, e: &RuntimeError) -> CliError {
    let exit = match e {
        RuntimeError::Config { .. } => Exit::Usage,
        _ => Exit::Failure,
    };
    CliError::with_exit(exit, format!("{context}: {e}"))
}
