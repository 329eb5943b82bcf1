//! `bvault cluster demo`: the whole password-mode story on real processes.
//!
//! 1. A new cluster of node processes, on loopback, in a folder.
//! 2. A device enables password backups and backs up a generated chat
//!    archive to the cloud folder.
//! 3. The leader is killed with SIGKILL.
//! 4. A new device of the same user restores with the password, from the
//!    remaining nodes: byte for byte.
//! 5. Another device tries wrong passwords until the vault destroys the key.
//! 6. The killed node comes back and catches up; every node is stopped and
//!    its disk read through its HSM: the key material is gone everywhere.
//!
//! Each step prints one line of the story; any surprise ends the demo with
//! an error that says which step and what was seen.

use crate::client::{ClientFailure, Connection};
use crate::cluster::{init, InitOptions, Supervisor, CLUSTER_FILE};
use crate::config::KsfName;
use crate::error::RuntimeError;
use crate::inspect::inspect;
use crate::node::blocking;
use backup_vault::archive::{encode, generate, ArchiveSpec};
use backup_vault::client::error::ClientError;
use backup_vault::client::state::DeviceState;
use backup_vault::client::{Client, Completed, Operation, Password};
use backup_vault::vault::ids::{NodeId, UserId};
use backup_vault::vault::quorum::ClusterConfig;
use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The demo's settings.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The `bvault` binary that runs the nodes.
    pub exe: PathBuf,
    /// An empty or missing folder for the cluster.
    pub dir: PathBuf,
    /// Nodes (at least 3, so that one can die).
    pub nodes: u8,
    /// The archive's size in bytes.
    pub archive_bytes: u64,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A step did not go as the story says.
    #[error("step {step}: {what}")]
    Step {
        /// Which step.
        step: &'static str,
        /// What happened instead.
        what: String,
    },
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn step(step: &'static str, what: impl Into<String>) -> DemoError {
    DemoError::Step {
        step,
        what: what.into(),
    }
}

/// Runs the demo, printing its story through `say`.
///
/// # Errors
/// [`DemoError::Step`] naming the step that went otherwise.
pub async fn run(options: DemoOptions, mut say: impl FnMut(&str)) -> Result<(), DemoError> {
    let started = Instant::now();
    let guess_limit = 10;
    // The largest rollback tolerance that still lets the cluster work with
    // one node killed.
    let rollback_tolerance = (0..options.nodes)
        .rev()
        .find(|&r| {
            ClusterConfig::new(options.nodes, r)
                .is_ok_and(|c| c.quorum() < usize::from(options.nodes))
        })
        .ok_or_else(|| step("1", "no quorum size survives a node's death"))?;
    let file = init(
        &options.dir,
        InitOptions {
            nodes: options.nodes,
            rollback_tolerance,
            guess_limit,
            // The demo's passwords are not real ones: the cheap setting
            // keeps ten wrong guesses quick. `cluster init` defaults to
            // the realistic one.
            ksf: KsfName::Cheap,
        },
    )?;
    let config = options.dir.join(CLUSTER_FILE);
    say(&format!(
        "1. A cluster of {} vault nodes (rollback tolerance {rollback_tolerance}, {guess_limit} guesses) in {}; each node has its own process, disk folder and emulated HSM.",
        options.nodes,
        options.dir.display()
    ));
    let mut cluster = Supervisor::new(options.exe.clone(), config)?;
    cluster.start_all()?;
    let leader = blocking(|| wait_leader(&mut cluster, "1"))?;
    say(&format!(
        "   Node {} was elected leader in term {}.",
        leader.0, leader.1
    ));

    let user = UserId(1);
    let password = Password::from("correct horse battery staple");
    let mut conn = Connection::open(file.clone())?;
    let config = conn.client_config()?;
    let mut phone = Client::new(user, config);
    let done = conn
        .run(
            &mut phone,
            Operation::EnablePasswordMode {
                password: password.clone(),
            },
            |_| {},
        )
        .await
        .map_err(|e| step("2 (enable)", e.to_string()))?;
    let Completed::Registered { remaining } = done else {
        return Err(step("2 (enable)", format!("finished with {done:?}")));
    };
    let archive = generate(
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(7),
        &ArchiveSpec::with_target(options.archive_bytes),
    );
    let chats = Bytes::from(encode(&archive).map_err(|e| step("2 (archive)", e.to_string()))?);
    let done = conn
        .run(
            &mut phone,
            Operation::Backup {
                plaintext: chats.clone(),
            },
            |_| {},
        )
        .await
        .map_err(|e| step("2 (backup)", e.to_string()))?;
    let Completed::BackedUp { generation } = done else {
        return Err(step("2 (backup)", format!("finished with {done:?}")));
    };
    say(&format!(
        "2. User {} enabled password backups ({remaining} guesses) and backed up a {} byte chat archive as generation {}.",
        user.0,
        chats.len(),
        generation.0
    ));

    let leader = blocking(|| wait_leader(&mut cluster, "3"))?;
    cluster.kill(leader.0);
    say(&format!(
        "3. Node {} (the leader) was killed with SIGKILL.",
        leader.0
    ));

    let mut new_phone = Client::from_state(DeviceState::new(user), config);
    let done = conn
        .run(
            &mut new_phone,
            Operation::RestoreWithPassword {
                password: password.clone(),
            },
            |_| {},
        )
        .await
        .map_err(|e| step("4 (restore)", e.to_string()))?;
    let Completed::Restored { plaintext, .. } = done else {
        return Err(step("4 (restore)", format!("finished with {done:?}")));
    };
    if plaintext != chats {
        return Err(step(
            "4 (restore)",
            "the restored archive differs from the backup",
        ));
    }
    let now_leading = cluster.leader();
    say(&format!(
        "4. A new phone restored with the password{}: {} bytes, identical to the backup.",
        now_leading
            .map(|(id, term)| format!(" (node {id} leads now, term {term})"))
            .unwrap_or_default(),
        plaintext.len()
    ));

    let mut thief = Client::from_state(DeviceState::new(user), config);
    let mut wrong = 0;
    let destroyed = loop {
        wrong += 1;
        let guess = Password::from(format!("guess number {wrong}").as_str());
        let result = conn
            .run(
                &mut thief,
                Operation::RestoreWithPassword { password: guess },
                |_| {},
            )
            .await;
        match result {
            Err(ClientFailure::Client(ClientError::WrongPassword { remaining })) => {
                say(&format!(
                    "5. Wrong password {wrong}: {remaining} guess{} left.",
                    if remaining == 1 { "" } else { "es" }
                ));
            }
            Err(ClientFailure::Client(ClientError::KeyDestroyed)) => break wrong,
            other => {
                return Err(step(
                    "5 (wrong passwords)",
                    format!("guess {wrong} ended with {other:?}"),
                ))
            }
        }
        if wrong > u32::from(guess_limit) + 1 {
            return Err(step("5 (wrong passwords)", "the key was never destroyed"));
        }
    };
    say(&format!(
        "   Wrong password {destroyed}: the vault destroyed the key (too many wrong passwords)."
    ));
    match conn
        .run(
            &mut Client::from_state(DeviceState::new(user), config),
            Operation::RestoreWithPassword { password },
            |_| {},
        )
        .await
    {
        Err(ClientFailure::Client(ClientError::KeyDestroyed | ClientError::NotRegistered)) => {
            say("   Even the right password now gets: the key was destroyed.");
        }
        other => {
            return Err(step(
                "5 (after destruction)",
                format!("the right password got {other:?}"),
            ))
        }
    }

    cluster.start(leader.0)?;
    blocking(|| catch_up(&mut cluster, options.nodes))?;
    blocking(|| cluster.stop_all(Duration::from_secs(5)));
    say(&format!(
        "6. Node {} came back and caught up; every node was stopped and its disk read through its HSM:",
        leader.0
    ));
    for id in 0..options.nodes {
        let disk = inspect(&file, NodeId(id))?;
        let record = disk.users.iter().find(|u| u.user == user.0);
        let state = record.map(|u| u.state).unwrap_or("none");
        let holds = record.is_some_and(|u| u.holds_key_material);
        say(&format!(
            "   node {id}: term {}, log to index {}, user {}: {state}{}",
            disk.term,
            disk.last_index,
            user.0,
            if holds {
                ", KEY MATERIAL STILL HELD"
            } else {
                ", no password file or wrapped key left"
            }
        ));
        if state != "destroyed" || holds {
            return Err(step(
                "6 (disks)",
                format!("node {id}'s disk shows user {} as {state}", user.0),
            ));
        }
    }
    say(&format!(
        "The story held on real processes, in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn wait_leader(cluster: &mut Supervisor, at: &'static str) -> Result<(u8, u64), DemoError> {
    cluster
        .wait_for_leader(Duration::from_secs(20))
        .ok_or_else(|| {
            step(
                at,
                "no leader was elected within 20 s; see the node.log files",
            )
        })
}

/// Waits until every node has applied as far as the furthest one.
fn catch_up(cluster: &mut Supervisor, nodes: u8) -> Result<(), DemoError> {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let statuses = cluster.statuses();
        let furthest = statuses.values().map(|s| s.applied).max().unwrap_or(0);
        if statuses.len() == usize::from(nodes)
            && furthest > 0
            && statuses.values().all(|s| s.applied == furthest)
        {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(step(
                "6 (catch up)",
                format!("the nodes did not all apply the same entries within 20 s: {statuses:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A folder for the demo when none is given: a new one under the system's
/// temporary folder.
pub fn default_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("bvault-demo-{}-{stamp}", std::process::id()))
}

/// Whether `dir` can take a new cluster.
pub fn usable(dir: &Path) -> bool {
    !dir.join(CLUSTER_FILE).exists()
}
