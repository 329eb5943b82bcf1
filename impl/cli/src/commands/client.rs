//! `bvault client ...`: password-mode backups against a running cluster.

use crate::cli::{ClientArgs, ClientOp};
use crate::exit::{CliError, Exit};
use crate::keyfile;
use backup_vault::client::error::ClientError;
use backup_vault::client::state::DeviceState;
use backup_vault::client::{Client, Completed, Operation, Password};
use backup_vault::vault::ids::UserId;
use backup_vault_cli::io_util::{input_name, is_stdio, AtomicFile};
use backup_vault_cli::runtime::{load_cluster, runtime_error, tokio_runtime};
use backup_vault_runtime::client::{ClientFailure, Connection, Progress};
use backup_vault_runtime::device;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The longest password file read.
const MAX_PASSWORD_FILE: u64 = 4096;

/// Runs one client operation and saves the device's state after it.
pub fn run(args: &ClientArgs) -> Result<(), CliError> {
    let file = load_cluster(&args.cluster)?;
    let device_path = args.device.clone().unwrap_or_else(|| {
        file.base
            .join("devices")
            .join(format!("user-{}.json", args.user))
    });
    if let Some(parent) = device_path.parent() {
        backup_vault_runtime::fsutil::create_private_dir(parent)
            .map_err(|e| runtime_error("device folder", &e))?;
    }
    let state = device::load(&device_path)
        .map_err(|e| runtime_error("device file", &e))?
        .unwrap_or_else(|| DeviceState::new(UserId(args.user)));
    if state.user != UserId(args.user) {
        return Err(CliError::usage(format!(
            "{} belongs to user {}, not {}",
            device_path.display(),
            state.user.0,
            args.user
        )));
    }
    let (op, output) = operation(&args.op, &state)?;
    let mut conn = Connection::open(file).map_err(|e| runtime_error("cloud", &e))?;
    let config = conn
        .client_config()
        .map_err(|e| runtime_error("cluster file", &e))?;
    let mut client = Client::from_state(state, config);
    let verbose = args.verbose;
    let name = op.name();
    let rt = tokio_runtime()?;
    let mut save_failed = None;
    let result = rt.block_on(conn.run(&mut client, op, |p| match p {
        // Saved before the operation goes on, so that a crash keeps it.
        Progress::Save { state } => {
            if let Err(e) = device::save(&device_path, &state) {
                save_failed.get_or_insert(e);
            }
        }
        _ if !verbose => {}
        Progress::Vault { to, what } => eprintln!("bvault: {what} -> node {}", to.0),
        Progress::Unreachable { node } => {
            eprintln!("bvault: node {} is not reachable", node.0)
        }
        Progress::Cloud { what, ok } => {
            eprintln!("bvault: cloud {what}: {}", if ok { "ok" } else { "failed" })
        }
    }));
    // The device's state after the operation, whatever its outcome: the
    // client's own record of what it knows.
    device::save(&device_path, client.state()).map_err(|e| runtime_error("device file", &e))?;
    if let Some(e) = save_failed {
        return Err(runtime_error("device file", &e));
    }
    let done = result.map_err(|e| failure(name, &e))?;
    report(done, output.as_deref())
}

fn operation(op: &ClientOp, state: &DeviceState) -> Result<(Operation, Option<PathBuf>), CliError> {
    Ok(match op {
        ClientOp::Enable { password_file } => (
            Operation::EnablePasswordMode {
                password: read_password(password_file)?,
            },
            None,
        ),
        ClientOp::Backup { input } => {
            let bytes = std::fs::read(input).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    CliError::usage(format!("{} does not exist", input.display()))
                } else {
                    CliError::io(format!("cannot read {}", input.display()), &e)
                }
            })?;
            (
                Operation::Backup {
                    plaintext: bytes.into(),
                },
                None,
            )
        }
        ClientOp::Restore {
            output,
            password_file,
            key_file,
        } => {
            if output.exists() {
                return Err(CliError::usage(format!(
                    "{} already exists; restore refuses to overwrite",
                    output.display()
                )));
            }
            let op = match (password_file, key_file) {
                (Some(p), _) => Operation::RestoreWithPassword {
                    password: read_password(p)?,
                },
                (None, Some(k)) => Operation::RestoreWithKey {
                    key_text: keyfile::load(k)?.to_text(),
                },
                (None, None) if state.key.is_some() => Operation::RestoreWithKey {
                    key_text: state.key.as_ref().map(|k| k.to_text()).unwrap_or_default(),
                },
                (None, None) => {
                    return Err(CliError::usage(
                        "this device has no key: give --password-file or --key-file",
                    ))
                }
            };
            (op, Some(output.clone()))
        }
        ClientOp::ChangePassword { password_file } => (
            Operation::ChangePassword {
                new_password: read_password(password_file)?,
            },
            None,
        ),
        ClientOp::Disable => (Operation::Disable, None),
    })
}

fn report(done: Completed, output: Option<&Path>) -> Result<(), CliError> {
    match done {
        Completed::Registered { remaining } => {
            println!("password backups are on: the key is in the vault, {remaining} wrong guesses allowed");
        }
        Completed::BackedUp { generation } => println!("backed up as generation {}", generation.0),
        Completed::Restored {
            plaintext,
            generation,
        } => {
            let out = output.expect("a restore has an output");
            let mut file = AtomicFile::create(out, false)?;
            file.write_all(&plaintext)
                .map_err(|e| CliError::io(format!("cannot write {}", out.display()), &e))?;
            file.commit()?;
            println!(
                "restored generation {} ({} bytes) into {}",
                generation.0,
                plaintext.len(),
                out.display()
            );
        }
        Completed::PasswordChanged => {
            println!("the new password is active; the old one no longer works")
        }
        Completed::Disabled {
            not_deleted,
            listing_failed,
        } => {
            println!("backups are off and the vault's record is deleted");
            if !not_deleted.is_empty() || listing_failed {
                println!(
                    "note: {} cloud object(s) could not be deleted{}; they are ciphertext",
                    not_deleted.len(),
                    if listing_failed {
                        " and the listing failed"
                    } else {
                        ""
                    }
                );
            }
        }
        Completed::KeyShown { .. } => println!("key mode is on"),
    }
    Ok(())
}

fn failure(op: &str, e: &ClientFailure) -> CliError {
    let exit = match e.client_error() {
        Some(
            ClientError::WrongPassword { .. }
            | ClientError::KeyDestroyed
            | ClientError::NotRegistered
            | ClientError::KeyDiffers,
        ) => Exit::Refused,
        Some(ClientError::NotEnabled | ClientError::BadKeyText(_)) => Exit::Usage,
        Some(ClientError::WrongKey) => Exit::WrongKey,
        Some(ClientError::BackupDamaged { .. }) => Exit::Damaged,
        _ => Exit::Failure,
    };
    CliError::with_exit(exit, format!("{op}: {e}"))
}

/// The first line of `path` (`-`: standard input), without its line end.
fn read_password(path: &Path) -> Result<Password, CliError> {
    let name = input_name(path);
    let mut raw = Zeroizing::new(Vec::new());
    let read = if is_stdio(path) {
        io::stdin()
            .lock()
            .take(MAX_PASSWORD_FILE + 1)
            .read_until(b'\n', &mut raw)
    } else {
        std::fs::File::open(path).and_then(|f| {
            io::BufReader::new(f)
                .take(MAX_PASSWORD_FILE + 1)
                .read_until(b'\n', &mut raw)
        })
    };
    read.map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            CliError::usage(format!("password file {name} does not exist"))
        } else {
            CliError::io(format!("cannot read password file {name}"), &e)
        }
    })?;
    if raw.len() as u64 > MAX_PASSWORD_FILE {
        return Err(CliError::usage(format!(
            "password file {name}: the first line is longer than {MAX_PASSWORD_FILE} bytes"
        )));
    }
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    if raw.is_empty() {
        return Err(CliError::usage(format!(
            "password file {name}: the password is empty"
        )));
    }
    Ok(Password::new(raw.to_vec()))
}
