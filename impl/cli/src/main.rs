//! `bvault`: the command-line tool of the reference implementation.
//!
//! It creates backup keys and encrypts, decrypts and inspects backup files
//! in the v1 format of the `backup-vault` library. Every command is a
//! thin shell over that library: the syntax is in [`cli`], each command group
//! in [`commands`], and the mapping from errors to exit codes in [`exit`].
//!
//! It is built without the suite's deliberately broken variants: build it
//! with `cargo build --release -p backup-vault-cli`, so that cargo's feature
//! unification cannot bring in the suite's `flaws` feature. The
//! verification suite is a separate binary, `bvault-suite`.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---:|---|
//! | 0 | success |
//! | 1 | I/O or other runtime error |
//! | 2 | usage error or bad input: bad arguments, bad key text, a missing input file, refusing to overwrite |
//! | 3 | wrong key: the backup was made with another key |
//! | 4 | damaged data: truncated file, corrupt chunk, bad header, trailing data |
//! | 5 | unsupported format version or algorithm |
//!
//! Errors are printed on standard error as `bvault: error: <message>`,
//! sometimes followed by `bvault: note: <note>` lines. No message ever
//! contains key material.
#![forbid(unsafe_code)]

// The product never runs on the insecure toy group of the simulator's fast
// sweeps (`impl/src/opaque/toy_group.rs`).
#[cfg(bvault_toy_group)]
compile_error!("bvault must not be built with --cfg bvault_toy_group: that group is insecure and for the simulator only");

mod cli;
mod commands;
mod keyfile;
mod progress;

use backup_vault_cli::{exit, io_util};
use clap::Parser;
use std::process::ExitCode;

/// The name errors are printed under.
const PROGRAM: &str = "bvault";

fn main() -> ExitCode {
    // First, before any AES instruction can run: a build with AES-NI enabled
    // at compile time must refuse a CPU without it instead of dying of SIGILL.
    if let Err(err) = backup_vault::cpu::check() {
        eprintln!("{PROGRAM}: error: {err}");
        return exit::Exit::Failure.into();
    }
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(()) => exit::Exit::Success.into(),
        Err(err) => {
            err.report(PROGRAM);
            err.exit().into()
        }
    }
}
