//! `bvault`: the command-line tool of the backup-vault suite.
//!
//! It creates backup keys and encrypts, decrypts and inspects backup files
//! in the v1 format of the `backup-vault` library. Every command is a
//! thin shell over that library: the syntax is in [`cli`], each command group
//! in [`commands`], and the mapping from errors to exit codes in [`exit`].
//!
//! `bvault sim run` and `bvault sim sweep` run the deterministic simulator
//! of the `backup-vault-sim` library (one seed, or many on every core), and
//! `bvault check` the stateright models of `backup-vault-model`.
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
//! | 6 | `bvault sim`: a seed failed (an invariant was violated, or an assertion in the simulated code failed) |
//!
//! Errors are printed on standard error as `bvault: error: <message>`,
//! sometimes followed by `bvault: note: <note>` lines. No message ever
//! contains key material.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod exit;
mod io_util;
mod json;
mod keyfile;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // First, before any AES instruction can run: a build with AES-NI enabled
    // at compile time must refuse a CPU without it instead of dying of SIGILL.
    if let Err(err) = backup_vault::cpu::check() {
        eprintln!("bvault: error: {err}");
        return exit::Exit::Failure.into();
    }
    let cli = cli::Cli::parse();
    match commands::run(cli.command) {
        Ok(()) => exit::Exit::Success.into(),
        Err(err) => {
            err.report();
            err.exit().into()
        }
    }
}
