//! `bvault node serve`, `bvault node inspect` and `bvault cloud serve`.

use crate::cli::{CloudServeArgs, NodeArgs, NodeInspectArgs};
use crate::exit::CliError;
use backup_vault::vault::ids::NodeId;
use backup_vault_cli::runtime::{load_cluster, runtime_error};
use backup_vault_runtime::inspect;

/// Runs a node in the foreground until SIGTERM or Ctrl-C, with the
/// cluster file's rules.
pub fn serve(args: &NodeArgs) -> Result<(), CliError> {
    backup_vault_cli::serve::node(&args.config, args.id, |rules| rules)
}

/// Runs the cloud service in the foreground until SIGTERM or Ctrl-C.
pub fn serve_cloud(args: &CloudServeArgs) -> Result<(), CliError> {
    backup_vault_cli::serve::cloud(&args.config)
}

/// Prints what a stopped node's disk holds.
pub fn inspect(args: &NodeInspectArgs) -> Result<(), CliError> {
    let file = load_cluster(&args.node.config)?;
    let disk = inspect::inspect(&file, NodeId(args.node.id))
        .map_err(|e| runtime_error(&format!("node {}", args.node.id), &e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&disk).expect("a summary encodes")
        );
        return Ok(());
    }
    println!(
        "node {}: {} bytes, {} records ({} authentic), framing {}",
        disk.node, disk.bytes, disk.records, disk.authentic, disk.framing
    );
    println!(
        "term {}, snapshot to index {}, log to index {}",
        disk.term, disk.snapshot, disk.last_index
    );
    for u in &disk.users {
        println!(
            "user {}: {}{}{}",
            u.user,
            u.state,
            u.guesses_left
                .map(|g| format!(", {g} guesses left"))
                .unwrap_or_default(),
            if u.holds_key_material {
                ", password file and wrapped key held"
            } else {
                ", no key material"
            }
        );
    }
    Ok(())
}
