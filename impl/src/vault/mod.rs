//! The vault: a cluster of HSM nodes that keep users' wrapped backup keys
//! behind a password with a guess limit, replicated by consensus.
//!
//! - [`ids`] holds node, user, term and index newtypes.
//! - [`quorum`] holds the quorum rule with rollback tolerance R.
//! - [`lockout`] holds the lockout rule (guess counting).
//! - [`crypto`] holds the cryptography a node needs, real or symbolic;
//!   [`opaque_crypto`] the real one; [`binding`] the bytes the client and
//!   the vault compute alike.
//! - [`hsm_seal`] holds the real seal of what a node hands its host (disk
//!   records, peer messages); [`sealed`] what is sealed, and how a
//!   node reads its disk back.
//! - [`raft`] holds consensus.
//! - [`records`] holds the replicated record store and its commands.
//! - [`protocol`] holds client requests and replies.
//! - [`node`] holds the vault node: all of the above as one sans-IO state machine.
//! - [`io`] holds the driver contract: the node's inputs and the ordered
//!   effects a driver carries out.
//! - [`host`] holds the node host: a node, its disk and its unsynced
//!   writes, the glue every driver shares.
//! - [`storage`] holds the disks a host persists through: the record log
//!   with its recovery policy, and a typed disk for model checking.

pub mod binding;
pub mod crypto;
pub mod host;
pub mod hsm_seal;
pub mod ids;
pub mod io;
pub mod lockout;
pub mod node;
pub mod opaque_crypto;
pub mod protocol;
pub mod quorum;
pub mod raft;
pub mod records;
pub mod sealed;
pub mod storage;
