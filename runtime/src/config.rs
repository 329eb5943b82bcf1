//! `cluster.toml`: where every node of a cluster listens and keeps its
//! files, the cluster's rules, and the fleet's public key that clients pin.
//!
//! ```toml
//! [cluster]
//! nodes = 5
//! rollback_tolerance = 1
//! guess_limit = 10
//! fleet_public_key = "64 hex digits"
//! ksf = "realistic"            # or "cheap" (tests and demos only)
//!
//! [cloud]
//! dir = "cloud"                # relative paths are against this file's folder
//! addr = "127.0.0.1:7300"      # the cloud service (bvault cloud serve)
//!
//! [[node]]
//! id = 0
//! peer = "127.0.0.1:7100"      # vault-to-vault frames
//! client = "127.0.0.1:7200"    # client requests
//! dir = "node-0"               # data/ (the record log) and hsm/ (the emulated HSM)
//! ```
//!
//! Every value is checked when the file is read ([`ClusterFile::load`]):
//! the node list must name ids `0..nodes` once each, and the cluster's
//! size and rollback tolerance must make a valid quorum
//! ([`ClusterConfig::new`]). Nothing secret is in this file.

use crate::error::RuntimeError;
use backup_vault::opaque::{FleetPublicKey, KsfParams};
use backup_vault::vault::ids::NodeId;
use backup_vault::vault::node::NodeConfig;
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::raft::Timing;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The largest `cluster.toml` read: it names at most 255 nodes.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// A parsed and checked `cluster.toml`. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The cluster's rules.
    pub cluster: ClusterSection,
    /// The cloud store.
    pub cloud: CloudSection,
    /// The nodes, by id.
    #[serde(rename = "node")]
    pub nodes: Vec<NodeEntry>,
    /// The folder relative paths are against (the file's own); not in the file.
    #[serde(skip)]
    pub base: PathBuf,
}

/// `[cluster]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// How many nodes.
    pub nodes: u8,
    /// How many rolled-back disks the quorums tolerate (R).
    pub rollback_tolerance: u8,
    /// Guesses per password-protected key.
    pub guess_limit: u8,
    /// The fleet's OPAQUE public key, 64 hex digits; clients pin it.
    pub fleet_public_key: String,
    /// The password-hardening cost clients use: `realistic` (Argon2id,
    /// 64 MiB) or `cheap` (for tests and demos).
    pub ksf: KsfName,
    /// Shortest election timeout, in milliseconds.
    #[serde(default = "default_election_min_ms")]
    pub election_min_ms: u64,
    /// Longest election timeout, in milliseconds.
    #[serde(default = "default_election_max_ms")]
    pub election_max_ms: u64,
    /// A leader's heartbeat interval, in milliseconds.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Compact the log every this many applied entries.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// For tests: each node appends every committed command's metadata
    /// (index, kind, user, registration, KE1 and content digests; never key
    /// material) to `node-N/applied.jsonl`, for the history checks.
    #[serde(default)]
    pub record_applied: bool,
}

fn default_election_min_ms() -> u64 {
    Timing::DEFAULT.election_min_ms
}
fn default_election_max_ms() -> u64 {
    Timing::DEFAULT.election_max_ms
}
fn default_heartbeat_ms() -> u64 {
    Timing::DEFAULT.heartbeat_ms
}
fn default_snapshot_every() -> u64 {
    NodeConfig::default().snapshot_every
}

/// A named password-hardening cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KsfName {
    /// [`KsfParams::REALISTIC`].
    Realistic,
    /// [`KsfParams::CHEAP`]: for tests and demos, never for real passwords.
    Cheap,
}

impl KsfName {
    /// The parameters.
    pub fn params(self) -> KsfParams {
        match self {
            KsfName::Realistic => KsfParams::REALISTIC,
            KsfName::Cheap => KsfParams::CHEAP,
        }
    }
}

/// `[cloud]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSection {
    /// The directory the cloud service keeps its objects in.
    pub dir: PathBuf,
    /// Where the cloud service listens.
    pub addr: SocketAddr,
}

/// One `[[node]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// Its id, `0..nodes`.
    pub id: u8,
    /// Where the other nodes reach it.
    pub peer: SocketAddr,
    /// Where it listens for other nodes, when that is not `peer` (a proxy
    /// or an address translation sits between them; the fault suite puts a
    /// partitioning proxy there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_listen: Option<SocketAddr>,
    /// Where it listens for clients.
    pub client: SocketAddr,
    /// Its folder: `data/` for the record log, `hsm/` for the emulated HSM.
    pub dir: PathBuf,
}

impl NodeEntry {
    /// The address it listens on for other nodes.
    pub fn peer_listen(&self) -> SocketAddr {
        self.peer_listen.unwrap_or(self.peer)
    }
}

impl ClusterFile {
    /// Reads and checks `path`.
    ///
    /// # Errors
    /// [`RuntimeError::Config`] naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<ClusterFile, RuntimeError> {
        let bad = |why: String| RuntimeError::Config {
            path: path.to_path_buf(),
            why,
        };
        let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(bad(format!(
                "it is {} bytes, more than the {MAX_CONFIG_BYTES} a cluster file may have",
                meta.len()
            )));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let mut file = ClusterFile::parse(&text).map_err(bad)?;
        file.base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(file)
    }

    /// Parses and checks a cluster file's text (relative paths stay
    /// relative: `base` is empty).
    ///
    /// # Errors
    /// What is wrong, in words.
    pub fn parse(text: &str) -> Result<ClusterFile, String> {
        let file: ClusterFile = toml::from_str(text).map_err(|e| e.to_string())?;
        file.check()?;
        Ok(file)
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        toml::to_string_pretty(self).expect("a cluster file encodes")
    }

    /// Writes the file to `path` (atomically: a temporary file renamed).
    ///
    /// # Errors
    /// [`RuntimeError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), RuntimeError> {
        crate::fsutil::write_atomic(path, self.to_text().as_bytes(), 0o644)
    }

    /// The checks [`ClusterFile::load`] makes, as a message.
    pub fn check(&self) -> Result<(), String> {
        self.cluster_config()?;
        self.fleet_key()?;
        let n = usize::from(self.cluster.nodes);
        if self.nodes.len() != n {
            return Err(format!(
                "[cluster] says {n} nodes but there are {} [[node]] entries",
                self.nodes.len()
            ));
        }
        for id in 0..self.cluster.nodes {
            let count = self.nodes.iter().filter(|e| e.id == id).count();
            if count != 1 {
                return Err(format!(
                    "node id {id} appears {count} times; ids must be 0..{n}, once each"
                ));
            }
        }
        let t = &self.cluster;
        if t.election_min_ms == 0 || t.election_max_ms < t.election_min_ms {
            return Err(
                "election timeouts must satisfy 0 < election_min_ms <= election_max_ms".into(),
            );
        }
        if t.heartbeat_ms == 0 || t.heartbeat_ms >= t.election_min_ms {
            return Err("heartbeat_ms must be above 0 and below election_min_ms".into());
        }
        if t.snapshot_every == 0 {
            return Err("snapshot_every must be at least 1".into());
        }
        if t.guess_limit == 0 {
            return Err("guess_limit must be at least 1".into());
        }
        Ok(())
    }

    /// The quorum rules.
    pub fn cluster_config(&self) -> Result<ClusterConfig, String> {
        ClusterConfig::new(self.cluster.nodes, self.cluster.rollback_tolerance)
            .map_err(|e| format!("[cluster] nodes and rollback_tolerance: {e}"))
    }

    /// The fleet key clients pin.
    pub fn fleet_key(&self) -> Result<FleetPublicKey, String> {
        let bytes = hex::decode(self.cluster.fleet_public_key.trim())
            .map_err(|e| format!("fleet_public_key is not hex: {e}"))?;
        FleetPublicKey::from_bytes(&bytes).map_err(|e| format!("fleet_public_key: {e}"))
    }

    /// A node's configuration, as its vault code takes it.
    pub fn node_config(&self) -> NodeConfig {
        let t = &self.cluster;
        NodeConfig {
            cluster: self.cluster_config().expect("checked when loaded"),
            timing: Timing {
                election_min_ms: t.election_min_ms,
                election_max_ms: t.election_max_ms,
                heartbeat_ms: t.heartbeat_ms,
                ..Timing::DEFAULT
            },
            guess_limit: t.guess_limit,
            snapshot_every: t.snapshot_every,
            ..NodeConfig::default()
        }
    }

    /// Node `id`'s entry.
    pub fn node(&self, id: NodeId) -> Option<&NodeEntry> {
        self.nodes.iter().find(|e| e.id == id.0)
    }

    /// A path from the file, against the file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }

    /// Node `id`'s folder.
    pub fn node_dir(&self, entry: &NodeEntry) -> PathBuf {
        self.resolve(&entry.dir)
    }

    /// The cloud store's folder.
    pub fn cloud_dir(&self) -> PathBuf {
        self.resolve(&self.cloud.dir)
    }
}
