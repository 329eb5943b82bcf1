//! What a stopped node's disk holds, read through its HSM: `bvault node
//! inspect`, and the demo's proof that a destroyed key is gone from every
//! node's disk.
//!
//! The record log is sealed under the fleet's keys, so reading it takes the
//! HSM ([`EmulatedHsm::open`]); this is the operator holding the emulated
//! HSM, not the host. The reading is the node's own (`open_disk`, the
//! authentic prefix), and it changes nothing on disk. The record store shown
//! is the snapshot's, with every entry of the durable log applied after it:
//! what the node would hold once all of its log is committed. Whether an
//! entry was committed is not on disk (Raft keeps the commit index in
//! memory), so a record of an entry not yet committed can show here.

use crate::config::ClusterFile;
use crate::disk::LOG_FILE;
use crate::error::RuntimeError;
use crate::hsm::EmulatedHsm;
use crate::node::NodePaths;
use backup_vault::vault::ids::{LogIndex, NodeId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::records::{RecordStore, Tombstone, UserRecord};
use backup_vault::vault::sealed::{open_disk, StoredRecord};
use backup_vault::wire::disk::{decode_log, DiskLimits, Tail};
use serde::Serialize;

type C = OpaqueCrypto;

/// One user's records on a node's disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserOnDisk {
    /// The user.
    pub user: u64,
    /// `active`, `staged`, `destroyed`, `displaced`, `deleted` or `none`.
    pub state: &'static str,
    /// Guesses left on the active record.
    pub guesses_left: Option<u8>,
    /// Whether a password file or a wrapped key of the user is still held
    /// (active or staged): after a destruction, nothing.
    pub holds_key_material: bool,
}

/// A node's disk, as its HSM reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeDisk {
    /// The node.
    pub node: u8,
    /// Bytes in the record log.
    pub bytes: u64,
    /// Records in it, and how many of them are authentic.
    pub records: usize,
    /// Of which authentic, from the start.
    pub authentic: usize,
    /// `clean`, `torn tail` or `corrupt at offset N`.
    pub framing: String,
    /// The durable term.
    pub term: u64,
    /// The snapshot's last index (0: none).
    pub snapshot: u64,
    /// The durable log's last index.
    pub last_index: u64,
    /// Every user with records.
    pub users: Vec<UserOnDisk>,
}

/// Reads node `id`'s disk through its HSM. The node should be stopped:
/// a running node may be writing.
///
/// # Errors
/// [`RuntimeError::Hsm`] if its HSM cannot be opened, [`RuntimeError::File`]
/// if the log cannot be read.
pub fn inspect(file: &ClusterFile, id: NodeId) -> Result<NodeDisk, RuntimeError> {
    let paths = NodePaths::of(file, id)?;
    let (_, fleet) = EmulatedHsm::open(&paths.hsm())?;
    let crypto = OpaqueCrypto::new(fleet);
    let path = paths.data().join(LOG_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(RuntimeError::File { path, source: e }),
    };
    let (records, tail) = decode_log::<StoredRecord<C>>(&bytes, &DiskLimits::DEFAULT);
    let framing = match &tail {
        Tail::Clean => "clean".to_string(),
        Tail::Torn { .. } => "torn tail".to_string(),
        Tail::Corrupt(c) => format!("corrupt at offset {}", c.offset),
    };
    let opened = open_disk(&crypto, id, &records, false);
    let disk = opened.state;
    let guess_limit = file.cluster.guess_limit;
    let (mut store, base) = match &disk.snapshot {
        Some((index, _, store)) => (store.clone(), *index),
        None => (RecordStore::<C>::new(guess_limit), LogIndex(0)),
    };
    let last = disk.log.last_index();
    let mut i = base.0 + 1;
    while i <= last.0 {
        if let Some(command) = disk.log.get(LogIndex(i)).and_then(|e| e.command.as_ref()) {
            let _ = store.apply(LogIndex(i), command);
        }
        i += 1;
    }
    let users = store.iter().map(|(u, r)| summarize(u.0, r)).collect();
    Ok(NodeDisk {
        node: id.0,
        bytes: bytes.len() as u64,
        records: records.len(),
        authentic: opened.authentic,
        framing,
        term: disk.term.0,
        snapshot: base.0,
        last_index: last.0,
        users,
    })
}

fn summarize(user: u64, record: &UserRecord<C>) -> UserOnDisk {
    let state = if record.active.is_some() {
        "active"
    } else if record.staged.is_some() {
        "staged"
    } else {
        match record.tombstone() {
            Some(Tombstone::Destroyed(_)) => "destroyed",
            Some(Tombstone::Displaced(_)) => "displaced",
            Some(Tombstone::Deleted(_)) => "deleted",
            None => "none",
        }
    };
    UserOnDisk {
        user,
        state,
        guesses_left: record.active.as_ref().map(|a| a.attempts.remaining()),
        holds_key_material: record.active.is_some() || record.staged.is_some(),
    }
}
