//! `bvault key new` and `bvault key fingerprint`.

use crate::cli::{KeyCommand, KeyFingerprintArgs, KeyNewArgs};
use crate::exit::CliError;
use crate::io_util::{check_output, output_name, print_stdout, AtomicFile};
use crate::keyfile;
use backup_vault::key::BackupKey;
use rand_core::OsRng;
use std::io::{self, IsTerminal, Write};

/// Runs a `bvault key` command.
pub fn run(cmd: KeyCommand) -> Result<(), CliError> {
    match cmd {
        KeyCommand::New(args) => new(&args),
        KeyCommand::Fingerprint(args) => fingerprint(&args),
    }
}

fn new(args: &KeyNewArgs) -> Result<(), CliError> {
    if let Some(out) = &args.out {
        check_output(out, args.force)?;
    }
    let key = BackupKey::generate(&mut OsRng);
    let text = key.to_text_grid();
    match &args.out {
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.write_all(b"\n"))
                .and_then(|()| stdout.flush())
                .map_err(|err| CliError::io("cannot write the key to standard output", &err))?;
        }
        Some(out) => {
            let mut file = AtomicFile::create(out, args.force)?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .map_err(|err| {
                    CliError::io(format!("cannot write key file {}", output_name(out)), &err)
                })?;
            file.commit()?;
        }
    }
    eprintln!("fingerprint: {}", key.fingerprint());
    if args.out.is_none() && io::stdout().is_terminal() {
        eprintln!(
            "Anyone with these 64 digits can read every backup made with them, and no one can \
             restore a backup without them: keep them private and safe."
        );
    }
    Ok(())
}

fn fingerprint(args: &KeyFingerprintArgs) -> Result<(), CliError> {
    let key = keyfile::load(&args.key_file)?;
    print_stdout(&format!("{}\n", key.fingerprint()))
}
