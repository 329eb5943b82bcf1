//! The reference implementation's runtime: the sans-IO vault node and client
//! of `backup-vault`, driven by tokio over TCP, on files with `fsync`.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | `cluster.toml`: addresses, folders, the cluster's rules |
//! | [`node`] | the tokio driver of one node: sockets, group commit, the HSM's counter |
//! | [`net`] | the seam to the network: TCP for `bvault`, a simulated network in tests |
//! | [`disk`] | [`disk::FileDisk`]: the record log in a file |
//! | [`hsm`] | the emulated HSM: fleet secrets and the non-volatile counter |
//! | [`codec`] | the wire's frames on a tokio stream |
//! | [`client`] | the sans-IO client driven against a cluster and its cloud service |
//! | [`cloud`] | the cloud store as a service, and its client |
//! | [`device`] | the client device's state file |
//! | [`recorder`] | real clients' requests as a history, judged by the simulator's history checks |
//! | [`status`] | a node's `status.json` |
//! | [`inspect`] | a stopped node's disk, read through its HSM |
//! | [`cluster`] | a local cluster: `cluster.toml`, node processes, SIGKILL |
//! | [`bench`] | `bvault cluster bench`: logins per second, latency, where a login's time goes |
//! | [`demo`] | `bvault cluster demo`: the password-mode story on real processes |
//! | [`fsutil`] | atomic file replacement and folder syncs |
//! | [`error`] | [`RuntimeError`] |
//!
//! `docs/runtime.md` explains the storage choice and what a crash leaves.

#![forbid(unsafe_code)]

pub mod bench;
pub mod client;
pub mod cloud;
pub mod cluster;
pub mod codec;
pub mod config;
pub mod demo;
pub mod device;
pub mod disk;
pub mod error;
pub mod fsutil;
pub mod hsm;
pub mod inspect;
pub mod net;
pub mod node;
pub mod recorder;
pub mod status;

pub use config::ClusterFile;
pub use error::RuntimeError;
