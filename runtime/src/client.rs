//! The sans-IO [`Client`] driven for real: vault requests over TCP to the
//! nodes of a `cluster.toml`, cloud operations to its cloud service
//! ([`crate::cloud`]).
//!
//! The client decides everything (which node, when to resend, what an
//! answer means); this driver connects, frames, waits and reports. Each
//! vault request goes on a connection of its own, which is closed after
//! the answer or when the client moves on, so a late answer can never be
//! taken for another request's. A node that does not accept the connection
//! is remembered, so that a failure can say how many nodes were down.

use crate::cloud::CloudClient;
use crate::codec::FrameCodec;
use crate::config::ClusterFile;
use crate::error::RuntimeError;
use crate::net::{Net, Tcp};
use backup_vault::client::error::ClientError;
use backup_vault::client::state::DeviceState;
use backup_vault::client::{
    CallId, Client, ClientConfig, CloudOp, CloudReply, Completed, Operation, Output,
};
use backup_vault::cloud::StoreError;
use backup_vault::vault::ids::{Millis, NodeId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault::wire::{self, FrameLimits};
use futures_util::StreamExt;
use rand_chacha::rand_core::{OsRng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// How long to wait for a node to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One thing the driver did, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A request went to a vault node.
    Vault {
        /// The node.
        to: NodeId,
        /// The request's kind (`login-start`, `stage`, ...).
        what: &'static str,
    },
    /// A vault node did not accept the connection.
    Unreachable {
        /// The node.
        node: NodeId,
    },
    /// A cloud operation was performed.
    Cloud {
        /// `put`, `get`, `list`, ...
        what: &'static str,
        /// Whether it succeeded.
        ok: bool,
    },
    /// The client asked for its state to be saved now, mid-operation
    /// ([`Output::Persist`]): a driver that keeps the device's state in a
    /// file writes this before the operation goes on.
    Save {
        /// The state to save (it holds K: keep it where only the device's
        /// owner reads it).
        state: Box<DeviceState>,
    },
}

/// Why an operation failed: the client's own error, with what the driver
/// saw of the vault.
#[derive(Debug, thiserror::Error)]
pub enum ClientFailure {
    /// The vault could not be reached often enough.
    #[error("the vault is unreachable: {down} of {nodes} nodes did not accept connections; try again later")]
    VaultDown {
        /// Nodes that refused or timed out the last connection to them.
        down: usize,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// The client's own error (its message says what the user can do).
    #[error(transparent)]
    Client(ClientError),
    /// The runtime failed (the cloud folder, ...).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl ClientFailure {
    /// The client's error, if the client failed on its own terms.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            ClientFailure::Client(e) => Some(e),
            ClientFailure::VaultDown { .. } => Some(&ClientError::VaultUnavailable),
            ClientFailure::Runtime(_) => None,
        }
    }

    /// Whether trying again later may succeed: the vault or the cloud was
    /// unreachable (nodes down, no leader, a partition), not a refusal.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.client_error(),
            Some(ClientError::VaultUnavailable | ClientError::CloudUnavailable)
        )
    }
}

/// Where a client's time went: each vault request's round trip (connect,
/// send, answer) by kind, and the time spent in the sans-IO client's own
/// code (its OPAQUE and backup-format work).
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// Round trips of answered vault requests, by kind.
    pub vault: std::collections::BTreeMap<&'static str, Vec<Duration>>,
    /// Time inside the client's calls.
    pub client_code: Duration,
}

/// What the driver saw of one vault request, for a history recorder
/// (the runtime's fault tests record what real clients saw, and judge it
/// with the simulator's history checks). `id` numbers the sends of one
/// connection.
#[derive(Debug)]
pub enum Observed<'a> {
    /// The request is being sent (it may or may not reach the node).
    Sent {
        /// This send.
        id: u64,
        /// The request.
        request: &'a ClientRequest<OpaqueCrypto>,
    },
    /// The node did not accept the connection: the request reached no node.
    NotDelivered {
        /// The send.
        id: u64,
    },
    /// The answer arrived.
    Answered {
        /// The send.
        id: u64,
        /// The answer.
        response: &'a ClientResponse<OpaqueCrypto>,
    },
}

/// A function that sees every [`Observed`] event of a connection.
pub type Observer = Box<dyn FnMut(Observed<'_>) + Send>;

/// A client's connection to a cluster and its cloud service.
pub struct Connection<N: Net = Tcp> {
    net: N,
    file: ClusterFile,
    cloud: CloudClient<N>,
    rng: ChaCha20Rng,
    start: Instant,
    timings: Timings,
    observer: Option<Observer>,
    next_send: u64,
}

impl Connection<Tcp> {
    /// A connection over TCP to the cluster of `file` and its cloud service
    /// (each connects when first used), with randomness from the operating
    /// system.
    ///
    /// # Errors
    /// [`RuntimeError::Io`] if the operating system's randomness fails.
    pub fn open(file: ClusterFile) -> Result<Self, RuntimeError> {
        let rng = ChaCha20Rng::from_rng(OsRng).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Connection::on(Tcp, file, rng))
    }
}

impl<N: Net> Connection<N> {
    /// A connection on `net` to the cluster of `file` and its cloud
    /// service, drawing the client's randomness from `rng`.
    pub fn on(net: N, file: ClusterFile, rng: ChaCha20Rng) -> Self {
        let cloud = CloudClient::on(net.clone(), file.cloud.addr);
        Connection {
            net,
            file,
            cloud,
            rng,
            start: Instant::now(),
            timings: Timings::default(),
            observer: None,
            next_send: 0,
        }
    }

    /// The client configuration the cluster file implies.
    ///
    /// # Errors
    /// [`RuntimeError::Config`] if the fleet key is bad.
    pub fn client_config(&self) -> Result<ClientConfig, RuntimeError> {
        let key = self.file.fleet_key().map_err(|why| RuntimeError::Config {
            path: self.file.base.join("cluster.toml"),
            why,
        })?;
        let mut config = ClientConfig::new(key, self.file.cluster.ksf.params());
        config.vault_nodes = self.file.cluster.nodes;
        Ok(config)
    }

    /// Calls `observer` with every vault request this connection sends and
    /// what became of it.
    pub fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    fn observed(&mut self, event: Observed<'_>) {
        if let Some(o) = self.observer.as_mut() {
            o(event);
        }
    }

    /// The timings gathered since the last call, and a fresh start.
    pub fn take_timings(&mut self) -> Timings {
        std::mem::take(&mut self.timings)
    }

    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    fn address(&self, node: NodeId) -> Option<SocketAddr> {
        self.file.node(node).map(|e| e.client)
    }

    /// Runs `op` on `client` to its end.
    ///
    /// # Errors
    /// The operation's [`ClientError`]; [`ClientFailure::VaultDown`] in
    /// place of `VaultUnavailable` when nodes refused connections.
    pub async fn run(
        &mut self,
        client: &mut Client,
        op: Operation,
        mut progress: impl FnMut(Progress),
    ) -> Result<Completed, ClientFailure> {
        let (answers_tx, mut answers) = mpsc::unbounded_channel();
        let mut down = BTreeSet::new();
        let mut calls = Calls(Vec::new());
        let now = self.now();
        let t = std::time::Instant::now();
        client.start(op, now, &mut self.rng);
        self.timings.client_code += t.elapsed();
        loop {
            while let Some(out) = client.poll() {
                match out {
                    Output::Vault { call, to, request } => {
                        progress(Progress::Vault {
                            to,
                            what: request.kind(),
                        });
                        let id = self.next_send;
                        self.next_send += 1;
                        self.observed(Observed::Sent {
                            id,
                            request: &request,
                        });
                        match self.address(to) {
                            Some(addr) => {
                                let kind = request.kind();
                                calls.push(self.net.spawn(vault_call(
                                    self.net.clone(),
                                    addr,
                                    Sending { to, call, id, kind },
                                    request,
                                    answers_tx.clone(),
                                )));
                            }
                            None => {
                                down.insert(to);
                                self.observed(Observed::NotDelivered { id });
                            }
                        }
                    }
                    Output::Cloud { call, op } => {
                        let what = cloud_name(&op);
                        let result = self.cloud_exec(op).await;
                        progress(Progress::Cloud {
                            what,
                            ok: result.is_ok(),
                        });
                        let now = self.now();
                        let t = std::time::Instant::now();
                        client.on_cloud(call, result, now, &mut self.rng);
                        self.timings.client_code += t.elapsed();
                    }
                    Output::Persist => progress(Progress::Save {
                        state: Box::new(client.state().clone()),
                    }),
                    Output::Done(done) => {
                        drop(calls);
                        return Ok(done);
                    }
                    Output::Failed(error) => {
                        drop(calls);
                        if error == ClientError::VaultUnavailable && !down.is_empty() {
                            return Err(ClientFailure::VaultDown {
                                down: down.len(),
                                nodes: usize::from(self.file.cluster.nodes),
                            });
                        }
                        return Err(ClientFailure::Client(error));
                    }
                }
            }
            let wake = client
                .poll_timeout()
                .map(|d| self.start + Duration::from_millis(d.0))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
            tokio::select! {
                // An answer before the timeout when both are ready: it
                // spares a resend, and no runtime randomness picks.
                biased;
                answer = answers.recv() => {
                    let Some(answer) = answer else { continue };
                    let now = self.now();
                    match answer {
                        Answer::Reply { call, from, id, kind, took, response } => {
                            down.remove(&from);
                            self.observed(Observed::Answered { id, response: &response });
                            self.timings.vault.entry(kind).or_default().push(took);
                            let t = std::time::Instant::now();
                            client.on_vault(call, *response, now, &mut self.rng);
                            self.timings.client_code += t.elapsed();
                        }
                        Answer::Unreachable { node, id } => {
                            down.insert(node);
                            self.observed(Observed::NotDelivered { id });
                            progress(Progress::Unreachable { node });
                        }
                        Answer::Lost { node } => {
                            down.remove(&node);
                        }
                    }
                }
                () = tokio::time::sleep_until(wake) => {
                    let now = self.now();
                    let t = std::time::Instant::now();
                    client.handle_timeout(now, &mut self.rng);
                    self.timings.client_code += t.elapsed();
                }
            }
        }
    }

    async fn cloud_exec(&mut self, op: CloudOp) -> Result<CloudReply, StoreError> {
        let cloud = &mut self.cloud;
        match op {
            CloudOp::Put { key, data, cond } => {
                cloud.put(&key, data, cond).await.map(CloudReply::Put)
            }
            CloudOp::Get { key } => cloud.get(&key, None).await.map(CloudReply::Got),
            CloudOp::GetVersion { key, version } => {
                cloud.get(&key, Some(version)).await.map(CloudReply::Got)
            }
            CloudOp::List { prefix } => cloud.list(&prefix).await.map(CloudReply::Listed),
            CloudOp::Delete { key, cond } => {
                cloud.delete(&key, cond).await.map(|()| CloudReply::Deleted)
            }
        }
    }
}

/// The vault calls in flight, aborted when the operation ends (or its
/// future is dropped).
struct Calls(Vec<tokio::task::JoinHandle<()>>);

impl Calls {
    fn push(&mut self, call: tokio::task::JoinHandle<()>) {
        self.0.retain(|c| !c.is_finished());
        self.0.push(call);
    }
}

impl Drop for Calls {
    fn drop(&mut self) {
        for call in &self.0 {
            call.abort();
        }
    }
}

enum Answer {
    Reply {
        call: CallId,
        from: NodeId,
        id: u64,
        kind: &'static str,
        took: Duration,
        response: Box<ClientResponse<OpaqueCrypto>>,
    },
    /// The node did not accept the connection.
    Unreachable { node: NodeId, id: u64 },
    /// The connection broke before an answer (the node crashed, or dropped
    /// the connection): the client's timeout resends.
    Lost { node: NodeId },
}

/// One send of a vault request.
struct Sending {
    to: NodeId,
    call: CallId,
    id: u64,
    kind: &'static str,
}

async fn vault_call<N: Net>(
    net: N,
    addr: SocketAddr,
    sending: Sending,
    request: ClientRequest<OpaqueCrypto>,
    answers: mpsc::UnboundedSender<Answer>,
) {
    let Sending { to, call, id, kind } = sending;
    let started = std::time::Instant::now();
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, net.connect(addr)).await {
        Ok(Ok(s)) => s,
        _ => {
            let _ = answers.send(Answer::Unreachable { node: to, id });
            return;
        }
    };
    let (read, mut write) = tokio::io::split(stream);
    let Ok(frame) = wire::encode_client_request(&request, &FrameLimits::CLIENT) else {
        return;
    };
    if write.write_all(&frame).await.is_err() {
        let _ = answers.send(Answer::Lost { node: to });
        return;
    }
    let mut frames = FramedRead::new(read, FrameCodec::new(FrameLimits::CLIENT));
    let answer = match frames.next().await {
        Some(Ok(frame)) => match frame.client_response::<OpaqueCrypto>() {
            Ok(response) => Answer::Reply {
                call,
                from: to,
                id,
                kind,
                took: started.elapsed(),
                response: Box::new(response),
            },
            Err(_) => Answer::Lost { node: to },
        },
        _ => Answer::Lost { node: to },
    };
    let _ = answers.send(answer);
}

fn cloud_name(op: &CloudOp) -> &'static str {
    match op {
        CloudOp::Put { .. } => "put",
        CloudOp::Get { .. } => "get",
        CloudOp::GetVersion { .. } => "get-version",
        CloudOp::List { .. } => "list",
        CloudOp::Delete { .. } => "delete",
    }
}
