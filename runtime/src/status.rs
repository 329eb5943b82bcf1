//! `status.json`: what a running node says about itself, for `cluster up`,
//! the demo and the tests. Written (atomically) when the node's term or role
//! changes. It holds no secret.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// `leader`, `candidate`, `pre-candidate` or `follower`.
    pub role: String,
    /// The last log index it applied, when the file was written.
    pub applied: u64,
    /// Where its time went, since it started.
    #[serde(default)]
    pub metrics: NodeMetrics,
}

/// Where a node's time went, for the runtime benchmark: the node's own code
/// per client request kind (OPAQUE and the vault's rules; consensus waits are
/// not in it), and its disk syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMetrics {
    /// Per request kind: how many, and microseconds in the node's code
    /// while handling the request itself (a KE2 or a key release is
    /// computed later, when its entry applies: see `code_micros`).
    pub handled: BTreeMap<String, (u64, u64)>,
    /// Microseconds in the node's code for every input (requests, peer
    /// messages, timers; not the disk syncs).
    #[serde(default)]
    pub code_micros: u64,
    /// Group commits: syncs of the record log.
    pub syncs: u64,
    /// Writes those syncs made durable.
    pub synced_writes: u64,
    /// Microseconds in syncs (the writes, `fdatasync`, and the node's
    /// handling of `Persisted`).
    pub sync_micros: u64,
    /// Writes of the HSM's counter, each with its own sync.
    pub counter_writes: u64,
    /// Microseconds in them.
    pub counter_micros: u64,
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
            metrics: NodeMetrics::default(),
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
