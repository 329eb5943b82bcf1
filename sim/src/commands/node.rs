//! `bvault-suite node serve` and `bvault-suite cloud serve`: the suite's
//! own node host, for the real-process fault suite's broken variants.
//!
//! `bvault` never carries a broken variant, so a real-process run that must
//! fail needs node processes of the suite's own. These serve exactly as
//! `bvault node serve` and `bvault cloud serve` do (the same code,
//! `backup_vault_cli::serve`), with the command lines the runtime's
//! supervisor gives them, and `--flaw NAME` puts a vault flaw into the
//! node's rules.

use backup_vault::flaws::VaultFlaw;
use backup_vault_cli::exit::CliError;
use backup_vault_sim::world::{parse_flaw, AnyFlaw};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `bvault-suite node ...`
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run node N of a cluster until SIGTERM or Ctrl-C, as `bvault node
    /// serve` does, optionally with a broken variant.
    Serve(NodeServeArgs),
}

/// `bvault-suite node serve`
#[derive(Debug, Args)]
pub struct NodeServeArgs {
    /// Which node of which cluster, as for `bvault node serve`.
    #[command(flatten)]
    pub node: backup_vault_cli::serve::NodeArgs,
    /// A vault flaw for this node to run (an unknown name is answered
    /// with the list of known ones); none by default.
    #[arg(long, value_name = "NAME", value_parser = parse_vault_flaw)]
    pub flaw: Option<VaultFlaw>,
}

/// `bvault-suite cloud ...`
#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Serve the cluster's cloud folder until SIGTERM or Ctrl-C, as `bvault
    /// cloud serve` does.
    Serve(CloudArgs),
}

/// `bvault-suite cloud serve`
#[derive(Debug, Args)]
pub struct CloudArgs {
    /// The cluster file (cluster.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

fn parse_vault_flaw(name: &str) -> Result<VaultFlaw, String> {
    match parse_flaw(name)? {
        AnyFlaw::Vault(flaw) => Ok(flaw),
        AnyFlaw::Client(_) => Err(format!(
            "'{name}' is a client flaw: a node runs vault flaws only"
        )),
    }
}

/// Runs `bvault-suite node ...`.
pub fn run(cmd: NodeCommand) -> Result<(), CliError> {
    match cmd {
        NodeCommand::Serve(args) => {
            backup_vault_cli::serve::node(&args.node.config, args.node.id, |mut rules| {
                rules.flaw = args.flaw;
                rules
            })
        }
    }
}

/// Runs `bvault-suite cloud ...`.
pub fn run_cloud(cmd: CloudCommand) -> Result<(), CliError> {
    match cmd {
        CloudCommand::Serve(args) => backup_vault_cli::serve::cloud(&args.config),
    }
}
