//! The deterministic simulator of the backup-vault suite.
//!
//! It drives the reference implementation's own state machines (vault
//! nodes, clients and the cloud store) in a simulated world: one thread,
//! one seeded ChaCha RNG, a virtual clock, a network that delays, drops and
//! duplicates, and disks that lose unsynced writes on a crash. One seed
//! gives exactly one run.
//!
//! - [`cluster`]: the kernel: an event queue ordered by virtual time, and a
//!   vault cluster living in it.
//! - [`world`]: the whole system (devices, adversaries, the chat server, the
//!   cloud) under swarm faults, with the invariant checkers and the history.
#![forbid(unsafe_code)]

pub mod catalogue;
pub mod cluster;
pub mod provenance;
pub mod world;
