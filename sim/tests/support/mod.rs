//! A five-node simulated cluster with real OPAQUE and the real client state
//! machine, for device scenarios the sweeps never reach (two devices of one
//! account, a chat server that rewrites answers, a network that duplicates
//! one kind of request). Shared by `two_devices.rs`, `lost_activation.rs`
//! and `duplicates.rs`; each test binary uses a part of it.
#![allow(dead_code)]

use backup_vault::client::{Client, ClientConfig, ClientError, Completed, Operation, Output};
use backup_vault::cloud::StoreError;
use backup_vault::flaws::VaultFlaw;
use backup_vault::key::BackupKey;
use backup_vault::opaque::client as opaque_client;
use backup_vault::opaque::{
    open_from_session, unwrap_backup_key, Direction, FleetPublicKey, FleetSecrets, KsfParams,
};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::node::{ClientId, RequestId};
use backup_vault::vault::opaque_crypto::{user_bytes, OpaqueCrypto};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Refusal};
use backup_vault_sim::cluster::{Cluster, SimConfig};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

pub type Req = ClientRequest<OpaqueCrypto>;
pub type Resp = ClientResponse<OpaqueCrypto>;

/// The account every scenario runs.
pub const USER: UserId = UserId(42);
/// The devices' client id at the vault.
pub const DEVICE: ClientId = ClientId(1);
/// The chat server's own client id, for the requests it makes itself.
pub const CHAT_SERVER: ClientId = ClientId(2);
/// How long one send waits for its answer, in virtual ms.
pub const WAIT_MS: u64 = 5_000;
/// The most outputs one operation may take before a scenario gives up.
const MAX_OUTPUTS: usize = 1_000;

/// What happens to one vault request of a device on its way.
pub enum Route {
    /// Delivered once; its answer comes back (through `answers`).
    Forward,
    /// Answered by the chat server itself, not delivered.
    Answer(Box<Resp>),
    /// Dropped: the device waits out its deadline.
    Drop,
    /// Delivered twice under one request id (a duplicating network); the
    /// first answer to arrive comes back.
    Twice,
    /// This request is delivered in its place (the chat server rewrote
    /// it); its answer comes back, through `answers`, as the answer to the
    /// device's.
    Instead(Box<Req>),
}

pub struct World {
    pub cluster: Cluster<OpaqueCrypto>,
    pub fleet_key: FleetPublicKey,
    pub config: ClientConfig,
    pub rng: ChaCha20Rng,
}

/// A cluster from `seed` whose nodes run `flaw`, with a leader elected.
pub fn world(seed: u64, flaw: Option<VaultFlaw>) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let crypto = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
    let fleet_key = crypto.public_key();
    let config = ClientConfig::new(fleet_key, KsfParams::CHEAP);
    let mut sim = SimConfig::default();
    sim.node.flaw = flaw;
    let mut cluster = Cluster::new(sim, crypto, seed);
    cluster.run_for(2_000);
    World {
        cluster,
        fleet_key,
        config,
        rng,
    }
}

impl World {
    /// Runs `op` on `device` to its end, every request delivered once and
    /// every answer as the vault gave it. The cloud holds nothing: every
    /// read is "not found", every write refused as not found.
    pub fn run_plain(
        &mut self,
        device: &mut Client,
        op: Operation,
    ) -> Result<Completed, ClientError> {
        self.run_routed(device, op, &mut |_| Route::Forward, &mut |_, r| r)
    }

    /// Runs `op` on `device` to its end: each vault request goes as
    /// `route` says, and each answer the vault gives a forwarded request
    /// through `answers` (the chat server may rewrite it).
    pub fn run_routed(
        &mut self,
        device: &mut Client,
        op: Operation,
        route: &mut dyn FnMut(&Req) -> Route,
        answers: &mut dyn FnMut(&Req, Resp) -> Resp,
    ) -> Result<Completed, ClientError> {
        device.start(op, self.cluster.now(), &mut self.rng);
        for _ in 0..MAX_OUTPUTS {
            let Some(output) = device.poll() else {
                self.wake(device);
                continue;
            };
            match output {
                Output::Vault { call, request, .. } => {
                    let answer = match route(&request) {
                        Route::Forward => self
                            .cluster
                            .call(DEVICE, request.clone(), WAIT_MS)
                            .map(|r| answers(&request, r)),
                        Route::Answer(r) => Some(*r),
                        Route::Drop => None,
                        Route::Twice => self.twice(request),
                        Route::Instead(other) => self
                            .cluster
                            .call(DEVICE, *other, WAIT_MS)
                            .map(|r| answers(&request, r)),
                    };
                    match answer {
                        Some(answer) => {
                            device.on_vault(call, answer, self.cluster.now(), &mut self.rng);
                        }
                        None => self.wake(device),
                    }
                }
                Output::Cloud { call, .. } => {
                    let now = self.cluster.now();
                    device.on_cloud(call, Err(StoreError::NotFound), now, &mut self.rng);
                }
                // A crash here restores the state the test saved itself.
                Output::Persist => {}
                Output::Done(done) => return Ok(done),
                Output::Failed(error) => return Err(error),
            }
        }
        panic!("the device's operation did not end within {MAX_OUTPUTS} outputs");
    }

    /// Wakes the device at its deadline.
    fn wake(&mut self, device: &mut Client) {
        let deadline = device.poll_timeout().expect("a running operation waits");
        let now = self.cluster.now().max(deadline);
        device.handle_timeout(now, &mut self.rng);
    }

    /// Sends two copies of `req` to the leader under one request id; the
    /// first answer to arrive, if one does within [`WAIT_MS`].
    fn twice(&mut self, req: Req) -> Option<Resp> {
        let leader = self.cluster.leader()?;
        let request = RequestId(self.rng.next_u64());
        self.cluster.submit_copies(leader, DEVICE, request, req, 2);
        let deadline = self.cluster.now().0 + WAIT_MS;
        while self.cluster.now().0 < deadline {
            self.cluster.run_for(5);
            let first = self
                .cluster
                .take_replies()
                .into_iter()
                .filter(|d| d.client == DEVICE && d.request == request)
                .min_by_key(|d| d.at);
            if let Some(first) = first {
                return Some(first.response);
            }
        }
        None
    }

    /// A request the chat server makes itself, and its answer.
    pub fn call(&mut self, req: Req) -> Resp {
        self.cluster
            .call(CHAT_SERVER, req, WAIT_MS)
            .expect("an answer")
    }

    /// A new device of the account with password mode turned on under
    /// `password`, every request delivered: it holds K and a registration
    /// with the full guess budget.
    pub fn registered_device(&mut self, password: &str) -> Client {
        let mut device = Client::new(USER, self.config);
        let done = self.run_plain(
            &mut device,
            Operation::EnablePasswordMode {
                password: password.into(),
            },
        );
        assert!(
            matches!(done, Ok(Completed::Registered { remaining: 10 })),
            "{done:?}"
        );
        device
    }

    /// Turns password mode on under `password` on `device` through a chat
    /// server that, if `refuse_replacing`, answers a staging that replaces
    /// the device's registration with a forged "unknown registration" (so
    /// the device stages afresh), holds back (drops, keeping the first
    /// copy) every request `hold` picks, and, if `lose_activated`, turns
    /// every `Activated` into "retry". Returns the run's result and the
    /// first request held back.
    pub fn enable_obstructed(
        &mut self,
        device: &mut Client,
        password: &str,
        refuse_replacing: bool,
        hold: impl Fn(&Req) -> bool,
        lose_activated: bool,
    ) -> (Result<Completed, ClientError>, Option<Req>) {
        let mut held: Option<Req> = None;
        let res = self.run_routed(
            device,
            Operation::EnablePasswordMode {
                password: password.into(),
            },
            &mut |req| match req {
                Req::Stage {
                    replacing: Some(_), ..
                } if refuse_replacing => {
                    Route::Answer(Box::new(Resp::Refused(Refusal::UnknownRegistration)))
                }
                _ if hold(req) => {
                    held.get_or_insert(req.clone());
                    Route::Drop
                }
                _ => Route::Forward,
            },
            &mut |_, resp| match resp {
                Resp::Activated { .. } if lose_activated => Resp::Retry,
                other => other,
            },
        );
        (res, held)
    }

    /// One login by the chat server with `password`: the answer to its
    /// KE1 (one guess spent), and the released K if the password was right.
    pub fn login(&mut self, password: &str) -> (Resp, Option<BackupKey>) {
        let config = opaque_client::ClientConfig {
            fleet_key: self.fleet_key,
            ksf: KsfParams::CHEAP,
        };
        let start =
            opaque_client::login_start(&mut self.rng, &user_bytes(USER), password.as_bytes())
                .expect("a login starts");
        let ke2 = self.call(Req::LoginStart {
            user: USER,
            ke1: start.ke1,
        });
        let Resp::Ke2 {
            login, ke2: bytes, ..
        } = &ke2
        else {
            return (ke2, None);
        };
        let Ok(fin) = opaque_client::login_finish(
            &mut self.rng,
            start.state,
            password.as_bytes(),
            bytes,
            &config,
        ) else {
            return (ke2, None);
        };
        let Resp::LoginOk { sealed_key } = self.call(Req::LoginFinish {
            user: USER,
            login: *login,
            ke3: fin.ke3,
        }) else {
            return (ke2, None);
        };
        let release = open_from_session(
            &fin.session_key,
            Direction::VaultToClient,
            &user_bytes(USER),
            &sealed_key,
        )
        .expect("a release from the vault opens");
        let key = unwrap_backup_key(&fin.export_key, &release.wrapped, &user_bytes(USER))
            .expect("the released key unwraps");
        (ke2, Some(key))
    }
}
