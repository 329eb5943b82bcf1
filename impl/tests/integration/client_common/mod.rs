//! A tiny in-process world for the client tests: one real vault node (a
//! 1-node cluster with real OPAQUE), a real `MemoryStore` with a scriptable
//! fault hook, and a driver loop that carries the client's outputs.

#![allow(dead_code)]

use backup_vault::client::{
    CallId, Client, ClientConfig, ClientError, CloudOp, CloudReply, Completed, DeviceState,
    Operation, Output,
};
use backup_vault::cloud::{
    DeleteFault, FaultHook, GetFault, ListFault, MemoryStore, ObjectInfo, ObjectKey, ObjectStore,
    PutFault, StoreError, Version, VersionInfo,
};
use backup_vault::opaque::{FleetSecrets, KsfParams};
use backup_vault::vault::host::{HostStep, NodeHost};
use backup_vault::vault::ids::{Millis, NodeId, UserId};
use backup_vault::vault::io::{Effect, Input};
use backup_vault::vault::node::{ClientId, NodeConfig, RequestId};
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::raft::Role;
use backup_vault::vault::storage::SealedDisk;
use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::VecDeque;

pub type Req = ClientRequest<OpaqueCrypto>;
pub type Resp = ClientResponse<OpaqueCrypto>;

type PutFn = Box<dyn FnMut(&ObjectKey) -> PutFault>;
type GetFn = Box<dyn FnMut(&ObjectKey, &[VersionInfo]) -> GetFault>;
type ListFn = Box<dyn FnMut(&[ObjectInfo]) -> ListFault>;

/// A fault hook driven by closures the test sets; no fault by default.
#[derive(Default)]
pub struct Script {
    pub put: Option<PutFn>,
    pub get: Option<GetFn>,
    pub get_version: Option<GetFn>,
    pub list: Option<ListFn>,
}

impl FaultHook for Script {
    fn on_put(&mut self, key: &ObjectKey, _: &Bytes, _: Option<Version>) -> PutFault {
        self.put.as_mut().map_or(PutFault::None, |f| f(key))
    }
    fn on_get(&mut self, key: &ObjectKey, _: Option<Version>, v: &[VersionInfo]) -> GetFault {
        self.get.as_mut().map_or(GetFault::None, |f| f(key, v))
    }
    fn on_get_version(&mut self, key: &ObjectKey, _: Version, v: &[VersionInfo]) -> GetFault {
        self.get_version
            .as_mut()
            .map_or(GetFault::None, |f| f(key, v))
    }
    fn on_list(&mut self, _: &str, listing: &[ObjectInfo]) -> ListFault {
        self.list.as_mut().map_or(ListFault::None, |f| f(listing))
    }
    fn on_delete(&mut self, _: &ObjectKey, _: Option<Version>) -> DeleteFault {
        DeleteFault::None
    }
}

/// What happens to one vault exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaultFault {
    /// The request never arrives.
    DropRequest,
    /// The request is processed; the reply is lost.
    DropReply,
}

pub struct World {
    /// The node and its disk; writes are made durable at once.
    host: NodeHost<OpaqueCrypto, SealedDisk<OpaqueCrypto>>,
    pub now: Millis,
    pub cloud: MemoryStore<Script>,
    pub rng: ChaCha20Rng,
    pub config: ClientConfig,
    /// Faults for the next vault exchanges, in order.
    pub vault_faults: VecDeque<Option<VaultFault>>,
    /// Every vault request the client sent, in order.
    pub vault_log: Vec<Req>,
    /// Every cloud op the client sent, in order.
    pub cloud_log: Vec<CloudOp>,
    /// Every state the client asked to have saved mid-operation
    /// (`Output::Persist`), in order.
    pub persisted: Vec<DeviceState>,
    request_seq: u64,
}

pub const ALICE: UserId = UserId(7);

impl World {
    pub fn new(seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let crypto = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
        let config = ClientConfig::new(crypto.public_key(), KsfParams::CHEAP);
        let node_config = NodeConfig {
            cluster: ClusterConfig::new(1, 0).unwrap(),
            ..NodeConfig::default()
        };
        let host = NodeHost::init(
            NodeId(0),
            node_config,
            crypto,
            SealedDisk::default(),
            Millis(0),
            &mut rng,
        );
        let mut world = World {
            host,
            now: Millis(0),
            cloud: MemoryStore::with_hook(Script::default()),
            rng,
            config,
            vault_faults: VecDeque::new(),
            vault_log: Vec::new(),
            cloud_log: Vec::new(),
            persisted: Vec::new(),
            request_seq: 0,
        };
        world.elect();
        world
    }

    pub fn client(&self, user: UserId) -> Client {
        Client::new(user, self.config)
    }

    /// Ticks the node until it leads.
    fn elect(&mut self) {
        for _ in 0..100 {
            let node = self.host.node().expect("the node never crashes here");
            if node.raft().role() == Role::Leader {
                return;
            }
            self.now = node.next_deadline().max(self.now);
            let step = self.host.handle(Input::Timer, self.now, &mut self.rng);
            self.pump(step);
        }
        panic!("a 1-node cluster elects itself");
    }

    /// Carries out `step`, making every write durable at once, until the
    /// node is quiet; returns the replies.
    fn pump(&mut self, mut step: HostStep<OpaqueCrypto>) -> Vec<(RequestId, Resp)> {
        let mut replies = Vec::new();
        loop {
            for effect in step.effects {
                if let Effect::Reply(r) = effect {
                    replies.push((r.request, r.response));
                }
                // One node: nothing to send; the rest is observability.
            }
            let Some(&up_to) = step.wrote.last() else {
                return replies;
            };
            step = self.host.sync(up_to, self.now, &mut self.rng, |_, _| {});
        }
    }

    /// One vault exchange; `None` if a fault swallowed it.
    pub fn vault(&mut self, req: Req) -> Option<Resp> {
        self.vault_log.push(req.clone());
        let fault = self.vault_faults.pop_front().flatten();
        if fault == Some(VaultFault::DropRequest) {
            return None;
        }
        self.now = self.now.plus(1);
        self.request_seq += 1;
        let id = RequestId(self.request_seq);
        let input = Input::Client {
            from: ClientId(1),
            id,
            request: req,
        };
        let step = self.host.handle(input, self.now, &mut self.rng);
        let replies = self.pump(step);
        let reply = replies
            .into_iter()
            .find(|(r, _)| *r == id)
            .map(|(_, resp)| resp)
            .expect("a 1-node leader answers at once");
        if fault == Some(VaultFault::DropReply) {
            return None;
        }
        Some(reply)
    }

    pub fn cloud_op(&mut self, op: CloudOp) -> Result<CloudReply, StoreError> {
        self.cloud_log.push(op.clone());
        match op {
            CloudOp::Put { key, data, cond } => {
                self.cloud.put(&key, data, cond).map(CloudReply::Put)
            }
            CloudOp::Get { key } => self.cloud.get(&key).map(CloudReply::Got),
            CloudOp::GetVersion { key, version } => {
                self.cloud.get_version(&key, version).map(CloudReply::Got)
            }
            CloudOp::List { prefix } => self.cloud.list(&prefix).map(CloudReply::Listed),
            CloudOp::Delete { key, cond } => {
                self.cloud.delete(&key, cond).map(|()| CloudReply::Deleted)
            }
        }
    }

    /// Drives `client` until its operation ends.
    pub fn drive(&mut self, client: &mut Client) -> Result<Completed, ClientError> {
        for _ in 0..10_000 {
            let Some(out) = client.poll() else {
                panic!("the client stalled: {client:?}");
            };
            match out {
                // One node: every request reaches it, whatever `to` says.
                Output::Vault { call, request, .. } => match self.vault(request) {
                    Some(resp) => client.on_vault(call, resp, self.now, &mut self.rng),
                    None => self.time_out(client),
                },
                Output::Cloud { call, op } => {
                    let result = self.cloud_op(op);
                    client.on_cloud(call, result, self.now, &mut self.rng);
                }
                Output::Persist => self.persisted.push(client.state().clone()),
                Output::Done(done) => return Ok(done),
                Output::Failed(err) => return Err(err),
            }
        }
        panic!("the operation did not end");
    }

    /// No answer comes: the clock moves to the client's deadline.
    pub fn time_out(&mut self, client: &mut Client) {
        let deadline = client
            .poll_timeout()
            .expect("the client waits for an answer");
        self.now = self.now.max(deadline);
        client.handle_timeout(self.now, &mut self.rng);
    }

    /// Starts `op` on `client` and drives it to its end.
    pub fn run(&mut self, client: &mut Client, op: Operation) -> Result<Completed, ClientError> {
        client.start(op, self.now, &mut self.rng);
        self.drive(client)
    }

    pub fn start(&mut self, client: &mut Client, op: Operation) {
        client.start(op, self.now, &mut self.rng);
    }

    pub fn feed_vault(&mut self, client: &mut Client, call: CallId, resp: Resp) {
        client.on_vault(call, resp, self.now, &mut self.rng);
    }
}

pub fn backup(plaintext: &[u8]) -> Operation {
    Operation::Backup {
        plaintext: Bytes::copy_from_slice(plaintext),
    }
}

pub fn enable_password(password: &str) -> Operation {
    Operation::EnablePasswordMode {
        password: password.into(),
    }
}

pub fn restore_password(password: &str) -> Operation {
    Operation::RestoreWithPassword {
        password: password.into(),
    }
}

pub fn restore_key(text: &str) -> Operation {
    Operation::RestoreWithKey {
        key_text: zeroize::Zeroizing::new(text.to_owned()),
    }
}

/// Unwraps a `Restored`.
pub fn restored(result: Result<Completed, ClientError>) -> (Bytes, u64) {
    match result {
        Ok(Completed::Restored {
            plaintext,
            generation,
        }) => (plaintext, generation.0),
        other => panic!("expected a restore, got {other:?}"),
    }
}

/// Unwraps a `BackedUp`.
pub fn backed_up(result: Result<Completed, ClientError>) -> u64 {
    match result {
        Ok(Completed::BackedUp { generation }) => generation.0,
        other => panic!("expected a backup, got {other:?}"),
    }
}

/// Enables key mode and returns the key text.
pub fn key_text(world: &mut World, client: &mut Client) -> String {
    match world.run(client, Operation::EnableKeyMode) {
        Ok(Completed::KeyShown { text }) => text.to_string(),
        other => panic!("expected a key, got {other:?}"),
    }
}
