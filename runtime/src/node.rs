//! The tokio driver of one vault node: the shared [`NodeHost`] over TCP, on
//! a [`FileDisk`], with its [`EmulatedHsm`].
//!
//! One task owns the host and loops: it waits for the next peer frame,
//! client frame or deadline, hands the node every input that is ready (up
//! to [`MAX_BATCH`]), carries out their effects in the contract's order
//! ([`backup_vault::vault::io`]), then syncs the disk once for every write
//! those inputs queued (group commit) and carries out what the node says
//! once it hears they are durable. Before any effect leaves, the HSM's
//! counter is stored if it moved. The node itself withholds every message
//! and reply that depends on a write until it hears the write is durable,
//! so a leader's appends go to its followers while its own sync runs. The
//! rules all live in the node; this file moves bytes, time and randomness.
//!
//! - Time: a monotonic clock from the process's start ([`Millis`]); the
//!   node's deadlines are in memory only, so a restart may start it anew.
//! - Randomness: ChaCha20 seeded from the operating system, injected.
//! - The network: any [`Net`]; `bvault` runs on [`Tcp`], the turmoil tests
//!   on a simulated network. Every `select!` here is `biased`, so no
//!   runtime randomness picks between ready branches.
//! - Peers: node `i` sends to node `j` on a connection `i` opened, which
//!   starts with a [`PeerHello`]; each outgoing link has a bounded queue
//!   ([`PEER_QUEUE`]) and reconnects with backoff. A message that finds the
//!   queue full, or the peer unreachable, is lost, which consensus tolerates.
//! - Clients: each connection is a [`ClientId`]; requests are answered on
//!   the connection they came on. At most [`MAX_CLIENTS`] connections.
//! - A disk or HSM failure stops the node (see [`crate::disk`]).

use crate::codec::FrameCodec;
use crate::config::ClusterFile;
use crate::disk::FileDisk;
use crate::error::RuntimeError;
use crate::hsm::EmulatedHsm;
use crate::net::{Listener, Net, Tcp};
use crate::status::NodeStatus;
use backup_vault::opaque::FleetSecrets;
use backup_vault::vault::host::{HostStep, NodeHost};
use backup_vault::vault::ids::{ClientId, Millis, NodeId, RequestId};
use backup_vault::vault::io::{Effect, Input};
use backup_vault::vault::node::NodeConfig;
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::ClientRequest;
use backup_vault::vault::raft::Role;
use backup_vault::vault::records::Command;
use backup_vault::vault::sealed::SealedMessage;
use backup_vault::wire::{self, FrameLimits, PeerHello};
use bytes::Bytes;
use futures_util::StreamExt;
use rand_chacha::rand_core::{OsRng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// Most inputs handed to the node between two disk syncs.
pub const MAX_BATCH: usize = 256;
/// Messages queued for one peer before new ones are dropped.
pub const PEER_QUEUE: usize = 1024;
/// Most client connections a node serves at once.
pub const MAX_CLIENTS: usize = 1024;
/// Replies queued for one client connection.
const CLIENT_QUEUE: usize = 64;
/// Inputs queued for the node task.
const INPUT_QUEUE: usize = 4096;
/// How often, at most, the status file is rewritten for progress alone.
const STATUS_EVERY: Duration = Duration::from_millis(250);
/// How long a peer has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

type C = OpaqueCrypto;
type Host = NodeHost<C, FileDisk<C>>;

/// What reaches the node task from the sockets.
enum Event {
    Peer {
        from: NodeId,
        message: SealedMessage<C>,
    },
    ClientOpened {
        conn: ClientId,
        replies: mpsc::Sender<Bytes>,
    },
    Client {
        conn: ClientId,
        request: ClientRequest<C>,
    },
    ClientClosed {
        conn: ClientId,
    },
}

/// Where a node keeps its files, under its folder from `cluster.toml`.
#[derive(Clone, Debug)]
pub struct NodePaths {
    /// The node's folder.
    pub root: PathBuf,
}

impl NodePaths {
    /// Node `id`'s folders in `file`.
    ///
    /// # Errors
    /// [`RuntimeError::Config`] if the file has no node `id`.
    pub fn of(file: &ClusterFile, id: NodeId) -> Result<NodePaths, RuntimeError> {
        let entry = file.node(id).ok_or_else(|| RuntimeError::Config {
            path: file.base.join("cluster.toml"),
            why: format!("no node {} in the file", id.0),
        })?;
        Ok(NodePaths {
            root: file.node_dir(entry),
        })
    }

    /// The host's disk: the record log.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    /// The emulated HSM.
    pub fn hsm(&self) -> PathBuf {
        self.root.join("hsm")
    }
    /// The status file `cluster up` and the tests read.
    pub fn status(&self) -> PathBuf {
        self.root.join("status.json")
    }
    /// The committed commands' metadata, when `record_applied` is on.
    pub fn applied(&self) -> PathBuf {
        self.root.join("applied.jsonl")
    }
}

/// Creates node `id`'s folders and provisions its HSM with the fleet's
/// secrets. Refuses a node that already has an HSM.
///
/// # Errors
/// As [`EmulatedHsm::provision`].
pub fn provision(file: &ClusterFile, id: NodeId, fleet: &FleetSecrets) -> Result<(), RuntimeError> {
    let paths = NodePaths::of(file, id)?;
    crate::fsutil::create_private_dir(&paths.data())?;
    EmulatedHsm::provision(&paths.hsm(), fleet)
}

/// Runs node `id` of `file` over TCP with the rules of `config`, with
/// randomness from the operating system, until `shutdown` completes or the
/// node fails. `bvault` passes [`ClusterFile::node_config`]; the suite's
/// own node host (`bvault-suite node serve`) passes the same with a broken
/// variant in it.
///
/// # Errors
/// As [`serve_with`]; [`RuntimeError::Io`] if the operating system's
/// randomness fails.
pub async fn serve(
    file: ClusterFile,
    id: NodeId,
    config: NodeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RuntimeError> {
    let rng = ChaCha20Rng::from_rng(OsRng).map_err(|e| std::io::Error::other(e.to_string()))?;
    serve_with(Tcp, rng, file, id, config, shutdown).await
}

/// Runs node `id` of `file` with the rules of `config` (`bvault` passes
/// [`ClusterFile::node_config`]) on `net`, drawing its randomness from
/// `rng`, until `shutdown` completes or the node fails.
///
/// # Errors
/// [`RuntimeError::Listen`] if an address is taken; [`RuntimeError::Hsm`]
/// or [`RuntimeError::DiskFailed`] if its storage fails (the node stops
/// without carrying out the failed batch's effects); [`RuntimeError::Config`]
/// if the HSM holds another fleet than the file names.
pub async fn serve_with<N: Net>(
    net: N,
    mut rng: ChaCha20Rng,
    file: ClusterFile,
    id: NodeId,
    config: NodeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RuntimeError> {
    let entry = file.node(id).cloned();
    let paths = NodePaths::of(&file, id)?;
    let entry = entry.expect("NodePaths::of found it");
    let (hsm, fleet) = EmulatedHsm::open(&paths.hsm())?;
    let fleet_key = fleet.public_key();
    if Ok(fleet_key) != file.fleet_key() {
        return Err(RuntimeError::Config {
            path: file.base.join("cluster.toml"),
            why: format!(
                "node {}'s HSM holds another fleet than fleet_public_key names",
                id.0
            ),
        });
    }
    let crypto = OpaqueCrypto::new(fleet);
    let disk = FileDisk::open(&paths.data())?;
    let clock = Clock::new();
    let mut host = Host::down_with_hsm(id, config, crypto, disk, hsm.watermark());
    let recovery = host.restart(clock.now(), &mut rng);
    if let Some(why) = host.disk().failure() {
        return Err(RuntimeError::DiskFailed(why.to_string()));
    }
    tracing::info!(node = id.0, ?recovery, "restarted from disk");

    let peers = net
        .bind(entry.peer_listen())
        .await
        .map_err(|source| RuntimeError::Listen {
            addr: entry.peer_listen(),
            source,
        })?;
    let clients = net
        .bind(entry.client)
        .await
        .map_err(|source| RuntimeError::Listen {
            addr: entry.client,
            source,
        })?;
    tracing::info!(node = id.0, peer = %entry.peer_listen(), client = %entry.client, "listening");

    let (events, inbox) = mpsc::channel(INPUT_QUEUE);
    let hello = PeerHello {
        from: id,
        fleet: *fleet_key.as_bytes(),
    };
    let nodes = file.cluster.nodes;
    let mut tasks = vec![
        net.spawn(accept_peers(
            net.clone(),
            peers,
            hello,
            nodes,
            events.clone(),
        )),
        net.spawn(accept_clients(net.clone(), clients, events)),
    ];
    let mut links = BTreeMap::new();
    for other in &file.nodes {
        if other.id != id.0 {
            let (tx, rx) = mpsc::channel(PEER_QUEUE);
            links.insert(NodeId(other.id), tx);
            tasks.push(net.spawn(peer_link(net.clone(), hello, other.peer, rx)));
        }
    }

    let applied_log = if file.cluster.record_applied {
        let path = paths.applied();
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(RuntimeError::file(&path))?,
        )
    } else {
        None
    };
    let mut driver = Driver {
        id,
        applied_log,
        host,
        hsm,
        rng,
        clock,
        links,
        conns: BTreeMap::new(),
        next_request: 0,
        status: NodeStatus::new(id, std::process::id()),
        status_path: paths.status(),
        status_written: Instant::now(),
        status_dirty: false,
        deadline: None,
    };
    driver.write_status();
    let result = driver.run(inbox, shutdown).await;
    for task in &tasks {
        task.abort();
    }
    result
}

/// The node's clock: milliseconds since the driver started.
#[derive(Clone, Copy, Debug)]
struct Clock {
    start: Instant,
}

impl Clock {
    fn new() -> Self {
        Clock {
            start: Instant::now(),
        }
    }
    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }
    fn instant(&self, at: Millis) -> Instant {
        self.start + Duration::from_millis(at.0)
    }
}

struct Driver {
    id: NodeId,
    applied_log: Option<std::fs::File>,
    host: Host,
    hsm: EmulatedHsm,
    rng: ChaCha20Rng,
    clock: Clock,
    links: BTreeMap<NodeId, mpsc::Sender<Bytes>>,
    conns: BTreeMap<ClientId, mpsc::Sender<Bytes>>,
    next_request: u64,
    status: NodeStatus,
    status_path: PathBuf,
    status_written: Instant,
    status_dirty: bool,
    deadline: Option<Millis>,
}

impl Driver {
    async fn run(
        &mut self,
        mut inbox: mpsc::Receiver<Event>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), RuntimeError> {
        tokio::pin!(shutdown);
        self.deadline = self.host.node().map(|n| n.next_deadline());
        let mut pending: Vec<HostStep<C>> = Vec::new();
        loop {
            let wake = self
                .deadline
                .map(|d| self.clock.instant(d))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    tracing::info!(node = self.id.0, "shutting down");
                    return Ok(());
                }
                // The timer before the inbox: under a steady stream of
                // inputs, a biased select that polled the inbox first would
                // never reach a due deadline (heartbeats, elections, expiry).
                () = tokio::time::sleep_until(wake) => {
                    let now = self.clock.now();
                    let started = std::time::Instant::now();
                    let step = self.host.handle(Input::Timer, now, &mut self.rng);
                    self.status.metrics.code_micros += started.elapsed().as_micros() as u64;
                    pending.push(step);
                }
                event = inbox.recv() => {
                    let Some(event) = event else { return Ok(()) };
                    self.input(event, &mut pending);
                    for _ in 1..MAX_BATCH {
                        match inbox.try_recv() {
                            Ok(event) => self.input(event, &mut pending),
                            Err(_) => break,
                        }
                    }
                }
            }
            // What the inputs asked for goes out now: the node withholds
            // anything that depends on a write it has not heard is durable.
            self.carry_out_all(&mut pending)?;
            // Group commit: one sync for every write the batch queued.
            if let Some(&(last, _)) = self.host.unsynced().last() {
                let now = self.clock.now();
                let writes = self.host.unsynced().len() as u64;
                let (host, rng) = (&mut self.host, &mut self.rng);
                let started = std::time::Instant::now();
                let step = blocking(|| host.sync(last, now, rng, |_, _| {}));
                let m = &mut self.status.metrics;
                m.syncs += 1;
                m.synced_writes += writes;
                m.sync_micros += started.elapsed().as_micros() as u64;
                if let Some(why) = self.host.disk().failure() {
                    return Err(RuntimeError::DiskFailed(why.to_string()));
                }
                pending.push(step);
                self.carry_out_all(&mut pending)?;
            }
        }
    }

    /// Stores the HSM's counter if it moved, then carries out the steps'
    /// effects: nothing that depends on the counter leaves before it is
    /// durable.
    fn carry_out_all(&mut self, pending: &mut Vec<HostStep<C>>) -> Result<(), RuntimeError> {
        if pending.is_empty() {
            return Ok(());
        }
        let (hsm, mark) = (&mut self.hsm, self.host.nvram());
        let started = std::time::Instant::now();
        if blocking(|| hsm.store(mark))? {
            self.status.metrics.counter_writes += 1;
            self.status.metrics.counter_micros += started.elapsed().as_micros() as u64;
        }
        for step in pending.drain(..) {
            self.carry_out(step);
        }
        // How far it applied, a few times a second at most.
        if self.status_dirty && self.status_written.elapsed() >= STATUS_EVERY {
            self.write_status();
        }
        Ok(())
    }

    fn input(&mut self, event: Event, pending: &mut Vec<HostStep<C>>) {
        let now = self.clock.now();
        let input = match event {
            Event::Peer { from, message } => Input::Peer { from, message },
            Event::ClientOpened { conn, replies } => {
                self.conns.insert(conn, replies);
                return;
            }
            Event::ClientClosed { conn } => {
                self.conns.remove(&conn);
                return;
            }
            Event::Client { conn, request } => {
                self.next_request += 1;
                let kind = request.kind();
                let input = Input::Client {
                    from: conn,
                    id: RequestId(self.next_request),
                    request,
                };
                let started = std::time::Instant::now();
                pending.push(self.host.handle(input, now, &mut self.rng));
                let spent = started.elapsed().as_micros() as u64;
                let entry = self
                    .status
                    .metrics
                    .handled
                    .entry(kind.to_string())
                    .or_default();
                entry.0 += 1;
                entry.1 += spent;
                self.status.metrics.code_micros += spent;
                return;
            }
        };
        let started = std::time::Instant::now();
        pending.push(self.host.handle(input, now, &mut self.rng));
        self.status.metrics.code_micros += started.elapsed().as_micros() as u64;
    }

    fn carry_out(&mut self, step: HostStep<C>) {
        debug_assert_eq!(
            self.hsm.watermark(),
            self.host.nvram(),
            "effects go out only once the HSM's counter is stored"
        );
        if let Some(d) = step.next_deadline {
            self.deadline = Some(d);
        }
        for effect in step.effects {
            match effect {
                Effect::Send { to, message } => {
                    let Some(link) = self.links.get(&to) else {
                        continue;
                    };
                    match wire::encode_sealed_peer_message::<C>(&message, &FrameLimits::DEFAULT) {
                        // A full queue or a closed link loses the message.
                        Ok(frame) => drop(link.try_send(Bytes::from(frame))),
                        Err(e) => tracing::warn!(to = to.0, error = %e, "peer message not framed"),
                    }
                }
                Effect::Reply(reply) => {
                    let Some(conn) = self.conns.get(&reply.to) else {
                        continue;
                    };
                    match wire::encode_client_response(&reply.response, &FrameLimits::CLIENT) {
                        Ok(frame) => drop(conn.try_send(Bytes::from(frame))),
                        Err(e) => tracing::warn!(error = %e, "reply not framed"),
                    }
                }
                Effect::Applied(applied) => {
                    self.status.applied = applied.index.0;
                    self.status_dirty = true;
                    if let (Some(log), Some(command)) =
                        (self.applied_log.as_mut(), &applied.command)
                    {
                        use std::io::Write;
                        let line = applied_line(applied.index.0, command);
                        if let Err(e) = writeln!(log, "{line}") {
                            tracing::warn!(error = %e, "applied.jsonl not written");
                        }
                    }
                    if let Some(outcome) = &applied.outcome {
                        tracing::debug!(
                            node = self.id.0,
                            index = applied.index.0,
                            ?outcome,
                            "applied"
                        );
                    }
                }
                Effect::Restored { index } => {
                    self.status.applied = index.0;
                    self.status_dirty = true;
                    tracing::info!(node = self.id.0, index = index.0, "installed a snapshot");
                }
                Effect::Role { term, role } => {
                    tracing::info!(node = self.id.0, term = term.0, ?role, "role");
                    self.status.term = term.0;
                    self.status.role = role_name(role).to_string();
                    self.write_status();
                }
                Effect::Dropped { from } => {
                    tracing::debug!(
                        node = self.id.0,
                        from = from.0,
                        "a peer message did not open"
                    );
                }
                Effect::Persist { .. } => unreachable!("the host keeps the writes"),
            }
        }
    }

    fn write_status(&mut self) {
        if let Some(node) = self.host.node() {
            self.status.term = node.raft().term().0;
            self.status.role = role_name(node.raft().role()).to_string();
        }
        if let Err(e) = self.status.write(&self.status_path) {
            tracing::warn!(error = %e, "status file not written");
        }
        self.status_written = Instant::now();
        self.status_dirty = false;
    }
}

/// A committed command's metadata, as `applied.jsonl` holds it: no key
/// material, only what the history checks match requests against.
fn applied_line(index: u64, command: &Command<C>) -> serde_json::Value {
    let kind = match command {
        Command::Stage { .. } => "stage",
        Command::Activate { .. } => "activate",
        Command::ConsumeAttempt { .. } => "consume-attempt",
        Command::Reset { .. } => "reset",
        Command::Delete { .. } => "delete",
        Command::Exhaust { .. } => "exhaust",
    };
    let (user, registration) = (command.user().0, command.registration().0);
    let mut line = serde_json::json!({
        "index": index,
        "kind": kind,
        "user": user,
        "registration": registration,
    });
    match command {
        Command::Stage { content, .. } | Command::Activate { content, .. } => {
            line["content"] = serde_json::to_value(content).unwrap_or_default();
        }
        Command::ConsumeAttempt { ke1, .. } | Command::Reset { ke1, .. } => {
            line["ke1"] = serde_json::to_value(ke1).unwrap_or_default();
        }
        _ => {}
    }
    line
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Candidate => "candidate",
        Role::PreCandidate => "pre-candidate",
        Role::Follower => "follower",
    }
}

/// Runs a blocking disk step without stalling the runtime's other tasks
/// where the runtime allows it (a multi-threaded one); in a single-threaded
/// runtime (tests, turmoil) it runs in place.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

async fn accept_peers<N: Net>(
    net: N,
    listener: N::Listener,
    me: PeerHello,
    nodes: u8,
    events: mpsc::Sender<Event>,
) {
    loop {
        let Ok((stream, addr)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let events = events.clone();
        net.spawn(async move {
            if let Err(why) = read_peer(stream, me, nodes, events).await {
                tracing::debug!(%addr, %why, "peer connection closed");
            }
        });
    }
}

async fn read_peer(
    stream: impl AsyncRead + Unpin,
    me: PeerHello,
    nodes: u8,
    events: mpsc::Sender<Event>,
) -> Result<(), String> {
    let mut frames = FramedRead::new(stream, FrameCodec::new(FrameLimits::DEFAULT));
    let first = tokio::time::timeout(HELLO_TIMEOUT, frames.next())
        .await
        .map_err(|_| "no hello in time".to_string())?
        .ok_or("closed before its hello")?
        .map_err(|e| e.to_string())?;
    let hello = first.peer_hello().map_err(|e| e.to_string())?;
    if hello.fleet != me.fleet {
        tracing::warn!(from = hello.from.0, "a peer of another fleet was refused");
        return Err("another fleet".into());
    }
    if hello.from == me.from || hello.from.0 >= nodes {
        return Err(format!("no such peer {}", hello.from.0));
    }
    while let Some(frame) = frames.next().await {
        let frame = frame.map_err(|e| e.to_string())?;
        let message = frame
            .sealed_peer_message::<C>()
            .map_err(|e| e.to_string())?;
        let event = Event::Peer {
            from: hello.from,
            message,
        };
        events.send(event).await.map_err(|_| "node stopped")?;
    }
    Ok(())
}

async fn peer_link<N: Net>(
    net: N,
    me: PeerHello,
    addr: std::net::SocketAddr,
    mut queue: mpsc::Receiver<Bytes>,
) {
    const FIRST: Duration = Duration::from_millis(20);
    const MOST: Duration = Duration::from_millis(500);
    let mut backoff = FIRST;
    let hello =
        Bytes::from(wire::encode_peer_hello(&me, &FrameLimits::DEFAULT).expect("a hello frames"));
    loop {
        // What queued while the link was down is stale: consensus resends.
        while queue.try_recv().is_ok() {}
        let connected = tokio::time::timeout(Duration::from_secs(1), net.connect(addr)).await;
        let Ok(Ok(mut stream)) = connected else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MOST);
            continue;
        };
        backoff = FIRST;
        if stream.write_all(&hello).await.is_err() {
            continue;
        }
        loop {
            let Some(frame) = queue.recv().await else {
                return;
            };
            if stream.write_all(&frame).await.is_err() {
                break;
            }
        }
    }
}

async fn accept_clients<N: Net>(net: N, listener: N::Listener, events: mpsc::Sender<Event>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let mut next = 0u64;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        next += 1;
        let conn = ClientId(next);
        let events = events.clone();
        let spawner = net.clone();
        net.spawn(async move {
            serve_client(spawner, stream, conn, events).await;
            drop(permit);
        });
    }
}

async fn serve_client<N: Net>(
    net: N,
    stream: impl AsyncRead + AsyncWrite + Send + 'static,
    conn: ClientId,
    events: mpsc::Sender<Event>,
) {
    let (read, mut write) = tokio::io::split(stream);
    let (replies, mut outbox) = mpsc::channel::<Bytes>(CLIENT_QUEUE);
    if events
        .send(Event::ClientOpened { conn, replies })
        .await
        .is_err()
    {
        return;
    }
    let writer = net.spawn(async move {
        while let Some(frame) = outbox.recv().await {
            if write.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let mut frames = FramedRead::new(read, FrameCodec::new(FrameLimits::CLIENT));
    while let Some(Ok(frame)) = frames.next().await {
        let Ok(request) = frame.client_request::<C>() else {
            break;
        };
        if events.send(Event::Client { conn, request }).await.is_err() {
            break;
        }
    }
    let _ = events.send(Event::ClientClosed { conn }).await;
    writer.abort();
}
