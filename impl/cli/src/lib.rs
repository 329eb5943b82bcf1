//! The user-facing input and output shared by the project's two binaries:
//! `bvault` (this crate's binary, the reference implementation's tool) and
//! `bvault-suite` (the verification suite, in `sim/`).
//!
//! - [`exit`]: the exit codes, and the error type that carries one.
//! - [`io_util`]: atomic output files, standard input and output, and the
//!   checks on paths a user names.
//! - [`runtime`]: the tokio runtime, the cluster file and the runtime's
//!   errors as exit codes, for the commands that run the real runtime.
//! - [`serve`]: `node serve` and `cloud serve` in the foreground, so that
//!   the suite's node host serves exactly as `bvault`'s does.
//!
//! Nothing here touches protocol state; the protocol crates never depend
//! on it.
#![forbid(unsafe_code)]

pub mod exit;
pub mod io_util;
pub mod runtime;
pub mod serve;
