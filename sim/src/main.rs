//! `bvault-suite`: the verification suite's command-line tool.
//!
//! - `bvault-suite sim run` and `bvault-suite sim sweep` run the
//!   deterministic simulator of the `backup-vault-sim` library (one seed, or
//!   many on every core);
//! - `bvault-suite check` runs the stateright models of
//!   `backup-vault-model`;
//! - `bvault-suite verify` runs the whole suite at a profile's budgets and
//!   writes one report (HTML, Markdown, JSON, JUnit) with a verdict per
//!   invariant;
//! - `bvault-suite node serve` and `bvault-suite cloud serve` run the real
//!   runtime's node (optionally with a broken variant) and cloud service,
//!   for the real-process fault suite.
//!
//! It carries the deliberately broken variants ("flaws") that show each
//! check can fail; they are inert unless a run names one. The reference
//! implementation's own tool, `bvault` (keys and backup files), is a
//! separate binary built without them (`impl/cli`).
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---:|---|
//! | 0 | success |
//! | 1 | I/O or other runtime error |
//! | 2 | usage error or bad input |
//! | 6 | a seed failed (an invariant was violated, or an assertion in the simulated code failed), or a model check found a counterexample |
//! | 7 | nothing violated, but the run proved less than asked (a budget or a signal stopped it, an example or a coverage counter is missing, a broken variant escaped) |
//!
//! Errors are printed on standard error as `bvault-suite: error: <message>`.
#![forbid(unsafe_code)]

mod commands;

use backup_vault_cli::{exit, io_util};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The name errors are printed under.
const PROGRAM: &str = "bvault-suite";

/// `bvault-suite`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "bvault-suite",
    version = backup_vault_sim::provenance::LONG_VERSION,
    about = "The backup-vault verification suite: the deterministic simulator and the model checker.",
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// The command to run.
    #[command(subcommand)]
    command: Command,
}

/// The top-level command groups.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the deterministic simulator: one seed, or a sweep over many.
    #[command(subcommand)]
    Sim(commands::sim::SimCommand),
    /// Model checking: the abstract protocol and the vault node's own code.
    #[command(subcommand)]
    Check(commands::check::CheckCommand),
    /// The whole suite at a profile's budgets, with one report: a verdict
    /// per invariant, failure bundles with replay scripts and diagrams.
    #[command(after_help = commands::verify::AFTER_HELP)]
    Verify(commands::verify::VerifyArgs),
    /// The suite's own node host: a vault node as `bvault node serve` runs
    /// it, optionally with a broken variant (for the real-process suite).
    #[command(subcommand)]
    Node(commands::node::NodeCommand),
    /// The cloud service, as `bvault cloud serve` runs it (the suite's node
    /// host's cluster needs one).
    #[command(subcommand)]
    Cloud(commands::node::CloudCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(cmd) => commands::sim::run(cmd),
        Command::Check(cmd) => commands::check::run(cmd),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Node(cmd) => commands::node::run(cmd),
        Command::Cloud(cmd) => commands::node::run_cloud(cmd),
    };
    match result {
        Ok(()) => exit::Exit::Success.into(),
        Err(err) => {
            err.report(PROGRAM);
            err.exit().into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap checks a command line's definition only when it is built: a
    /// clash (two argument groups of one name) would otherwise show as a
    /// panic at the first use of the command it is in.
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
