//! The commands: one module per command group, each a thin layer over the
//! `backup-vault` library.

mod backup;
mod client;
mod cluster;
mod inspect;
mod key;
mod node;

use crate::cli::{BackupCommand, CloudCommand, ClusterCommand, Command, NodeCommand};
use crate::exit::CliError;

/// Runs one parsed command.
pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Key(cmd) => key::run(cmd),
        Command::Backup(BackupCommand::Encrypt(args)) => backup::encrypt(&args),
        Command::Backup(BackupCommand::Decrypt(args)) => backup::decrypt(&args),
        Command::Backup(BackupCommand::Inspect(args)) => inspect::run(&args),
        Command::Node(NodeCommand::Serve(args)) => node::serve(&args),
        Command::Node(NodeCommand::Inspect(args)) => node::inspect(&args),
        Command::Cluster(ClusterCommand::Init(args)) => cluster::init(&args),
        Command::Cluster(ClusterCommand::Up(args)) => cluster::up(&args),
        Command::Cluster(ClusterCommand::Demo(args)) => cluster::demo(&args),
        Command::Cluster(ClusterCommand::Bench(args)) => cluster::bench(&args),
        Command::Cloud(CloudCommand::Serve(args)) => node::serve_cloud(&args),
        Command::Client(args) => client::run(&args),
    }
}
