//! The commands: one module per command group, each a thin layer over the
//! `backup-vault` library.

mod backup;
mod inspect;
mod key;

use crate::cli::{BackupCommand, Command};
use crate::exit::CliError;

/// Runs one parsed command.
pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Key(cmd) => key::run(cmd),
        Command::Backup(BackupCommand::Encrypt(args)) => backup::encrypt(&args),
        Command::Backup(BackupCommand::Decrypt(args)) => backup::decrypt(&args),
        Command::Backup(BackupCommand::Inspect(args)) => inspect::run(&args),
    }
}
