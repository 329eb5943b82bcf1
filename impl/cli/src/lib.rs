//! The user-facing input and output shared by the project's two binaries:
//! `bvault` (this crate's binary, the reference implementation's tool) and
//! `bvault-suite` (the verification suite, in `sim/`).
//!
//! - [`exit`]: the exit codes, and the error type that carries one.
//! - [`io_util`]: atomic output files, standard input and output, and the
//!   checks on paths a user names.
//!
//! Nothing here touches protocol state; the protocol crates never depend
//! on it.
#![forbid(unsafe_code)]

pub mod exit;
pub mod io_util;
