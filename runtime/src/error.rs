//! What can stop the runtime, phrased for the operator.

use std::path::PathBuf;
use thiserror::Error;

/// Why a runtime command could not do its job. Every message names the file,
/// address or node it is about; none carries a secret.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `cluster.toml` is missing, unreadable or wrong.
    #[error("{}: {why}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The emulated HSM's files are damaged or missing.
    #[error("the emulated HSM in {}: {why}", .path.display())]
    Hsm {
        /// Its folder.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The node's disk failed under it; the node stopped so that nothing
    /// it could not make durable leaves it.
    #[error("the node's disk failed: {0}")]
    DiskFailed(String),
    /// Other I/O.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl RuntimeError {
    /// A [`RuntimeError::File`] for `path`.
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let path = path.into();
        move |source| RuntimeError::File { path, source }
    }
}
