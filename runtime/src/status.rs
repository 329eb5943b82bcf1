//! `status.json`: what a running node says about itself, for `cluster up`,
//! the demo and the tests. Written (atomically) when the node's term or role
//! changes. It holds no secret.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// A node's status file. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node.
    pub id: u8,
    /// Its process.
    pub pid: u32,
    /// Its term.
    pub term: u64,
    /// `leader`, `candidate` or `follower`.
    pub role: String,
    /// The last log index it applied, when the file was written.
    pub applied: u64,
}

impl NodeStatus {
    /// A node that has just started.
    pub fn new(id: backup_vault::vault::ids::NodeId, pid: u32) -> Self {
        NodeStatus {
            id: id.0,
            pid,
            term: 0,
            role: "follower".into(),
            applied: 0,
        }
    }

    /// Writes the file.
    ///
    /// # Errors
    /// As [`crate::fsutil::write_atomic`].
    pub fn write(&self, path: &Path) -> Result<(), crate::error::RuntimeError> {
        let json = serde_json::to_vec_pretty(self).expect("a status encodes");
        crate::fsutil::write_atomic(path, &json, 0o644)
    }

    /// Reads a node's status file, if it is there and whole.
    pub fn read(path: &Path) -> Option<NodeStatus> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() > 64 * 1024 {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }
}
