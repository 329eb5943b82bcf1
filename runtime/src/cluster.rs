//! A local cluster of node processes: `bvault cluster init`, `cluster up`,
//! the demo, and the real-process fault tests.
//!
//! [`init`] writes `DIR/cluster.toml` (loopback addresses on free ports)
//! and provisions every node's emulated HSM with one new fleet. A
//! [`Supervisor`] starts `bvault node serve` processes from a binary path,
//! kills them (SIGKILL), restarts them, and reads who leads from their
//! status files. Each node's log goes to `DIR/node-N/node.log`; the cloud
//! service (`bvault cloud serve`) runs as one more process, logging to
//! `DIR/cloud.log`.

use crate::config::{CloudSection, ClusterFile, ClusterSection, KsfName, NodeEntry};
use crate::error::RuntimeError;
use crate::node::{provision, NodePaths};
use crate::status::NodeStatus;
use backup_vault::opaque::FleetSecrets;
use backup_vault::vault::ids::NodeId;
use backup_vault::vault::raft::Timing;
use rand_chacha::rand_core::{CryptoRng, OsRng, RngCore};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cluster file's name in a cluster folder.
pub const CLUSTER_FILE: &str = "cluster.toml";

/// What a new cluster is made of.
#[derive(Clone, Copy, Debug)]
pub struct InitOptions {
    /// Nodes.
    pub nodes: u8,
    /// Rollback tolerance R.
    pub rollback_tolerance: u8,
    /// Guesses per key.
    pub guess_limit: u8,
    /// The clients' password-hardening cost.
    pub ksf: KsfName,
}

/// Creates a cluster in `dir`: `cluster.toml`, and every node's folder with
/// its HSM provisioned with one new fleet. Refuses a folder that already
/// has a `cluster.toml`.
///
/// # Errors
/// [`RuntimeError::Config`] if the options do not make a valid cluster or
/// the folder has one; [`RuntimeError::File`].
pub fn init(dir: &Path, options: InitOptions) -> Result<ClusterFile, RuntimeError> {
    let ports = free_ports(2 * usize::from(options.nodes) + 1)?;
    let layout = Layout {
        nodes: ports
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect(),
        cloud: ports[2 * usize::from(options.nodes)],
    };
    init_at(dir, options, &layout, &mut OsRng)
}

/// Where a cluster's processes listen.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Each node's peer and client addresses, node 0 first.
    pub nodes: Vec<(SocketAddr, SocketAddr)>,
    /// The cloud service's address.
    pub cloud: SocketAddr,
}

/// As [`init`], on the addresses of `layout`, with the fleet's secrets
/// drawn from `rng` (a simulation passes a seeded one, so that a seed
/// replays the whole run).
///
/// # Errors
/// As [`init`]; [`RuntimeError::Config`] if `layout` does not name one
/// address pair per node.
pub fn init_at(
    dir: &Path,
    options: InitOptions,
    layout: &Layout,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<ClusterFile, RuntimeError> {
    let path = dir.join(CLUSTER_FILE);
    if layout.nodes.len() != usize::from(options.nodes) {
        return Err(RuntimeError::Config {
            path,
            why: format!(
                "{} nodes but {} address pairs",
                options.nodes,
                layout.nodes.len()
            ),
        });
    }
    if path.exists() {
        return Err(RuntimeError::Config {
            path,
            why: "a cluster already exists here; use it, or pick another folder".into(),
        });
    }
    crate::fsutil::create_private_dir(dir)?;
    let fleet = FleetSecrets::generate(rng);
    let nodes = (0..options.nodes)
        .zip(&layout.nodes)
        .map(|(id, &(peer, client))| NodeEntry {
            id,
            peer,
            peer_listen: None,
            client,
            dir: PathBuf::from(format!("node-{id}")),
        })
        .collect();
    let mut file = ClusterFile {
        cluster: ClusterSection {
            nodes: options.nodes,
            rollback_tolerance: options.rollback_tolerance,
            guess_limit: options.guess_limit,
            fleet_public_key: hex::encode(fleet.public_key().as_bytes()),
            ksf: options.ksf,
            election_min_ms: Timing::DEFAULT.election_min_ms,
            election_max_ms: Timing::DEFAULT.election_max_ms,
            heartbeat_ms: Timing::DEFAULT.heartbeat_ms,
            snapshot_every: 1000,
            record_applied: false,
        },
        cloud: CloudSection {
            dir: PathBuf::from("cloud"),
            addr: layout.cloud,
        },
        nodes,
        base: dir.to_path_buf(),
    };
    file.check().map_err(|why| RuntimeError::Config {
        path: path.clone(),
        why,
    })?;
    for id in 0..options.nodes {
        provision(&file, NodeId(id), &fleet)?;
    }
    crate::fsutil::create_private_dir(&file.cloud_dir())?;
    file.save(&path)?;
    file.base = dir.to_path_buf();
    Ok(file)
}

/// `count` loopback addresses on ports free right now (the kernel's
/// choice). Another program may take one before a node binds it; the node
/// then fails with a clear "cannot listen" error.
fn free_ports(count: usize) -> Result<Vec<SocketAddr>, RuntimeError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()?)
}

/// Node processes of one cluster. Dropping it kills them all.
pub struct Supervisor {
    exe: PathBuf,
    /// Appended to every `node serve` command line.
    node_args: Vec<String>,
    config: PathBuf,
    file: ClusterFile,
    children: BTreeMap<u8, Child>,
    cloud: Option<Child>,
}

impl Supervisor {
    /// A supervisor that starts `exe node serve --config CONFIG --id N`.
    ///
    /// # Errors
    /// As [`ClusterFile::load`].
    pub fn new(exe: PathBuf, config: PathBuf) -> Result<Self, RuntimeError> {
        let file = ClusterFile::load(&config)?;
        Ok(Supervisor {
            exe,
            node_args: Vec::new(),
            config,
            file,
            children: BTreeMap::new(),
            cloud: None,
        })
    }

    /// Appends `args` to every `node serve` command line from now on: the
    /// real-process suite starts the suite's own node host with a broken
    /// variant this way (`bvault-suite node serve --flaw NAME`).
    #[must_use]
    pub fn with_node_args(mut self, args: Vec<String>) -> Self {
        self.node_args = args;
        self
    }

    /// The cluster file.
    pub fn file(&self) -> &ClusterFile {
        &self.file
    }

    /// Node `id`'s folders.
    pub fn paths(&self, id: u8) -> NodePaths {
        let entry = self.file.node(NodeId(id)).expect("a node of the cluster");
        NodePaths {
            root: self.file.node_dir(entry),
        }
    }

    /// Starts the cloud service and every node that is not running.
    ///
    /// # Errors
    /// [`RuntimeError::File`] if a process cannot be started.
    pub fn start_all(&mut self) -> Result<(), RuntimeError> {
        self.start_cloud()?;
        for id in 0..self.file.cluster.nodes {
            if !self.is_running(id) {
                self.start(id)?;
            }
        }
        Ok(())
    }

    /// Starts node `id` (its log appended to `node-N/node.log`). A process
    /// of node `id` that is still running is killed first: two processes
    /// of one node must never run, and none may be left behind.
    ///
    /// # Errors
    /// [`RuntimeError::File`].
    pub fn start(&mut self, id: u8) -> Result<(), RuntimeError> {
        self.kill(id);
        let paths = self.paths(id);
        // A stale status file would name a leader that is not running.
        let _ = std::fs::remove_file(paths.status());
        let id_text = id.to_string();
        let mut args = vec!["node", "serve", "--id", &id_text];
        args.extend(self.node_args.iter().map(String::as_str));
        let child = self.spawn(&args, &paths.root.join("node.log"))?;
        self.children.insert(id, child);
        Ok(())
    }

    /// Starts `exe ARGS --config CONFIG`, its output appended to `log`.
    fn spawn(&self, args: &[&str], log_path: &Path) -> Result<Child, RuntimeError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(RuntimeError::file(log_path))?;
        let err = log.try_clone().map_err(RuntimeError::file(log_path))?;
        Command::new(&self.exe)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(RuntimeError::file(&self.exe))
    }

    /// Starts the cloud service unless it is running.
    ///
    /// # Errors
    /// [`RuntimeError::File`] if it cannot be started.
    pub fn start_cloud(&mut self) -> Result<(), RuntimeError> {
        if !self
            .cloud
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
        {
            let log = self.file.cloud_dir().with_extension("log");
            self.cloud = Some(self.spawn(&["cloud", "serve"], &log)?);
        }
        Ok(())
    }

    /// Kills the cloud service with SIGKILL; [`Supervisor::start_cloud`]
    /// starts it again.
    pub fn kill_cloud(&mut self) {
        if let Some(mut child) = self.cloud.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether node `id`'s process is running.
    pub fn is_running(&mut self, id: u8) -> bool {
        match self.children.get_mut(&id) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills node `id` with SIGKILL and waits for it: no shutdown, no
    /// flush, as a power cut would leave it (minus the page cache).
    pub fn kill(&mut self, id: u8) {
        if let Some(mut child) = self.children.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops every node: SIGTERM, then SIGKILL for any still running after
    /// `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        let mut all: Vec<Child> = std::mem::take(&mut self.children).into_values().collect();
        all.extend(self.cloud.take());
        for child in &all {
            terminate(child.id());
        }
        let until = Instant::now() + grace;
        for mut child in all {
            loop {
                if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                    break;
                }
                if Instant::now() >= until {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The status of every running node.
    pub fn statuses(&mut self) -> BTreeMap<u8, NodeStatus> {
        let ids: Vec<u8> = self.children.keys().copied().collect();
        let running: Vec<u8> = ids.into_iter().filter(|id| self.is_running(*id)).collect();
        running
            .into_iter()
            .filter_map(|id| NodeStatus::read(&self.paths(id).status()).map(|s| (id, s)))
            .collect()
    }

    /// The running node that says it leads in the highest term, if one does.
    pub fn leader(&mut self) -> Option<(u8, u64)> {
        self.statuses()
            .into_iter()
            .filter(|(_, s)| s.role == "leader")
            .max_by_key(|(_, s)| s.term)
            .map(|(id, s)| (id, s.term))
    }

    /// Waits up to `within` for a leader.
    pub fn wait_for_leader(&mut self, within: Duration) -> Option<(u8, u64)> {
        let until = Instant::now() + within;
        loop {
            if let Some(found) = self.leader() {
                return Some(found);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to `within` for a leader other than `old`, in a later term.
    pub fn wait_for_new_leader(&mut self, old: (u8, u64), within: Duration) -> Option<(u8, u64)> {
        let until = Instant::now() + within;
        loop {
            if let Some(found) = self
                .leader()
                .filter(|&(id, term)| id != old.0 && term > old.1)
            {
                return Some(found);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let mut all: Vec<Child> = std::mem::take(&mut self.children).into_values().collect();
        all.extend(self.cloud.take());
        for mut child in all {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends SIGTERM to `pid`.
fn terminate(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}
