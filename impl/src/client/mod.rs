//! The client: the sans-IO state machine a phone runs to back up its chats
//! and keep its backup key K, in key mode or in the vault behind a password.
//!
//! # Shape
//! Like quinn-proto or rustls, the client does no I/O, reads no clock and
//! draws no randomness of its own. A driver (the simulator, or a runtime)
//! feeds it and carries out what it asks:
//!
//! - [`Client::start`] begins an [`Operation`]; one runs at a time, and
//!   starting another meanwhile outputs `Failed(Busy)`.
//! - [`Client::poll`] returns the next [`Output`]: a vault request or a cloud
//!   operation to perform (each with a [`CallId`]), or the operation's result.
//! - [`Client::on_vault`] and [`Client::on_cloud`] take the answers, with
//!   the `CallId` they answer.
//! - [`Client::poll_timeout`] says when the client next wants
//!   [`Client::handle_timeout`]: the deadline of the answer it waits for
//!   (an early or spurious call does nothing).
//!
//! Time comes in as `now` on every input, and randomness as
//! `&mut (impl RngCore + CryptoRng)`. Given the same inputs, times and RNG,
//! the outputs are identical.
//! Backup bytes travel as [`bytes::Bytes`]: the plaintext and the encrypted
//! file are never copied after encryption.
//!
//! # Modules
//! | module | job |
//! |---|---|
//! | [`api`] | operations, outputs, cloud operations and replies |
//! | [`crypto`] | the client's half of the vault protocol's cryptography: sealing, proofs of K, checking answers |
//! | [`config`] | [`ClientConfig`]: pinned fleet key, KSF cost, chunk size, retry budget, vault nodes, backoff |
//! | [`retry`] | the retry policy: timeouts with backoff and jitter, the leader hint |
//! | [`state`] | [`DeviceState`]: what the device keeps between operations |
//! | [`layout`] | the cloud object names and the manifest format |
//! | [`error`] | [`ClientError`] |
//! | `flows` | one state machine per flow (register, backup, restore, login, disable) |
//!
//! # Retries (the same for every flow)
//! Each request the client waits on may be sent up to
//! [`ClientConfig::max_attempts`] times. A resend happens when its deadline
//! passes ([`Client::handle_timeout`]; the wait backs off, see [`retry`]), on
//! a vault `NotLeader` that names the leader or `Retry`, and on a cloud
//! `Unavailable`; it carries the same request under a new [`CallId`], to
//! the node the client's leader hint names ([`Output::Vault`]'s `to`). An
//! answer to any send of the awaited request is accepted; an answer to a
//! request the client has moved past is ignored. When the budget is spent
//! the operation fails with `VaultUnavailable` or `CloudUnavailable` (except
//! disable, whose cloud deletions are best effort). What a resend costs or
//! risks is documented per flow: each `LoginStart` that reaches the vault
//! costs a guess *once*: the vault counts each KE1 once, and every resend
//! of a login, even after `LoginExpired`, carries the same KE1
//! (`flows/login.rs`); a resent `Stage` or `Activate` gets the same answer
//! again (`flows/register.rs`); puts are conditional, so a resent put is
//! idempotent, and a `PreconditionFailed` caused by our own earlier send is
//! recognised by reading the object back (`flows/backup.rs`).
//!
//! # What the client trusts
//! Everything between the client and the vault is the chat server's. The
//! client acts only on answers it can check: `Staged`, `Activated` and
//! `Deleted` carry a tag under a key derived from K, and `LoginOk` a seal
//! under the login's session key. An answer that does not check out is
//! ignored (the flow keeps waiting, and resends on the timeout), so a forged
//! answer can delay an operation, never change what the device believes.
//!
//! # Secrets
//! K, passwords, the OPAQUE export and session keys and the client's OPAQUE
//! state are wiped on drop, and `Debug` of the client, its state, its
//! operations and its outputs never shows them (K appears only as its
//! fingerprint; the key text of `KeyShown` is redacted).

pub mod api;
pub mod config;
pub mod crypto;
pub mod error;
mod flows;
pub mod layout;
pub mod retry;
pub mod state;

pub use api::{CallId, CloudOp, CloudReply, Completed, Operation, Output, Password};
pub use config::{ClientConfig, Restarts};
pub use error::ClientError;
pub use state::{DeviceState, Mode};

use crate::cloud::StoreError;
use crate::flaws::flaw_on;
use crate::key::BackupKey;
use crate::vault::ids::{Millis, NodeId, UserId};
use crate::vault::opaque_crypto::OpaqueCrypto;
use crate::vault::protocol::ClientResponse;
use core::fmt;
use flows::{Ctx, Flow, Request, Step};
use rand_core::{CryptoRng, RngCore};
use retry::Route;
use std::collections::VecDeque;

/// The request the client is waiting on.
#[derive(Debug)]
struct Pending {
    request: Request,
    /// The call id of its first send; later sends have larger ids.
    first_call: CallId,
    /// How many times it was sent.
    sends: u32,
    /// When the last send stops being waited for.
    deadline: Millis,
}

/// One device's backup client. See the module documentation.
pub struct Client {
    device: DeviceState,
    config: ClientConfig,
    flow: Option<Flow>,
    pending: Option<Pending>,
    outbox: VecDeque<Output>,
    next_call: u64,
    route: Route,
}

impl Client {
    /// A fresh device of `user`: no key, backups off.
    pub fn new(user: UserId, config: ClientConfig) -> Self {
        Client::from_state(DeviceState::new(user), config)
    }

    /// A device resuming from its saved state (after an app restart or a
    /// crash: whatever operation was running is gone, and may be started again).
    pub fn from_state(device: DeviceState, config: ClientConfig) -> Self {
        Client {
            device,
            config,
            flow: None,
            pending: None,
            outbox: VecDeque::new(),
            next_call: 0,
            route: Route::new(config.vault_nodes),
        }
    }

    /// What the device keeps; save it after every operation that ends,
    /// failed ones included (see [`DeviceState`]).
    pub fn state(&self) -> &DeviceState {
        &self.device
    }

    /// The account.
    pub fn user(&self) -> UserId {
        self.device.user
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.flow.is_some()
    }

    /// The next thing for the driver to do, if any.
    #[must_use]
    pub fn poll(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

    /// When the client next needs [`Client::handle_timeout`]: the deadline
    /// of the answer it waits for; `None` when it waits for none.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        if flaw_on!(self.config.flaw, ClientFlaw::NeverArmsTimeout) {
            return None; // Broken: the driver is never asked to wake it.
        }
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// The vault node the client asks next (its leader hint).
    pub fn leader_hint(&self) -> NodeId {
        self.route.leader()
    }

    /// Starts `op`. Its requests and result come out of [`Client::poll`].
    /// If an operation is already running, outputs `Failed(Busy)` and
    /// changes nothing.
    pub fn start(&mut self, op: Operation, now: Millis, rng: &mut (impl RngCore + CryptoRng)) {
        if self.flow.is_some() {
            self.outbox.push_back(Output::Failed(ClientError::Busy));
            return;
        }
        let mut ctx = Ctx {
            device: &mut self.device,
            config: &self.config,
            rng,
        };
        let (flow, step) = match op {
            Operation::EnableKeyMode => {
                let key = ctx
                    .device
                    .key
                    .get_or_insert_with(|| BackupKey::generate(&mut ctx.rng));
                let text = key.to_text_grid();
                ctx.device.mode = Mode::Key;
                (None, Step::Done(Completed::KeyShown { text }))
            }
            Operation::EnablePasswordMode { password } => {
                let key = ctx
                    .device
                    .key
                    .clone()
                    .unwrap_or_else(|| BackupKey::generate(&mut ctx.rng));
                let (flow, step) = flows::register::Register::start(
                    flows::register::Purpose::Enable,
                    password,
                    key,
                    &mut ctx,
                );
                (Some(Flow::Register(flow)), step)
            }
            Operation::ChangePassword { new_password } => {
                match (ctx.device.key.clone(), ctx.device.registration) {
                    (Some(key), Some(_)) => {
                        let (flow, step) = flows::register::Register::start(
                            flows::register::Purpose::Change,
                            new_password,
                            key,
                            &mut ctx,
                        );
                        (Some(Flow::Register(flow)), step)
                    }
                    _ => (None, Step::Failed(ClientError::NotEnabled)),
                }
            }
            Operation::Backup { plaintext } => match ctx.device.key.clone() {
                Some(key) => {
                    let (flow, step) = flows::backup::Backup::start(key, plaintext, &mut ctx);
                    (Some(Flow::Backup(flow)), step)
                }
                None => (None, Step::Failed(ClientError::NotEnabled)),
            },
            Operation::RestoreWithKey { key_text } => match BackupKey::parse(&key_text) {
                Ok(key) => {
                    let (flow, step) = flows::restore::Restore::start(key, Mode::Key, &mut ctx);
                    (Some(Flow::Restore(flow)), step)
                }
                Err(e) => (None, Step::Failed(ClientError::BadKeyText(e))),
            },
            Operation::RestoreWithPassword { password } => {
                let (flow, step) = flows::login::Login::start(password, &mut ctx);
                (flow.map(Flow::Login), step)
            }
            Operation::Disable => {
                let (flow, step) = flows::disable::Disable::start(&mut ctx);
                (Some(Flow::Disable(flow)), step)
            }
        };
        self.flow = flow;
        self.apply(step, now, rng);
    }

    /// The vault's answer to call `call`. Answers to calls the client has
    /// moved past, or that it never made, are ignored.
    pub fn on_vault(
        &mut self,
        call: CallId,
        response: ClientResponse<OpaqueCrypto>,
        now: Millis,
        rng: &mut (impl RngCore + CryptoRng),
    ) {
        let hasty = matches!(response, ClientResponse::NotLeader { leader: None })
            && flaw_on!(self.config.flaw, ClientFlaw::HintlessNotLeaderResends);
        if !self.awaits(call, |r| matches!(r, Request::Vault(_))) {
            return;
        }
        match response {
            ClientResponse::NotLeader { leader } => {
                if self.route.not_leader(leader) {
                    self.resend(now, rng);
                }
            }
            ClientResponse::Retry => self.resend(now, rng),
            response => self.dispatch(now, rng, |flow, ctx| flow.on_vault(response, ctx)),
        }
        if hasty {
            // Broken: no leader named, and sent again at once.
            self.resend(now, rng);
        }
    }

    /// The cloud's result for call `call`. Results for calls the client has
    /// moved past, or that it never made, are ignored.
    pub fn on_cloud(
        &mut self,
        call: CallId,
        result: Result<CloudReply, StoreError>,
        now: Millis,
        rng: &mut (impl RngCore + CryptoRng),
    ) {
        let cloud_call = if flaw_on!(self.config.flaw, ClientFlaw::IgnoresCloudAnswers) {
            |r: &Request| matches!(r, Request::Vault(_)) // Broken: the wrong kind.
        } else {
            |r: &Request| matches!(r, Request::Cloud(_))
        };
        if !self.awaits(call, cloud_call) {
            return;
        }
        if matches!(result, Err(StoreError::Unavailable)) {
            self.resend(now, rng);
            return;
        }
        self.dispatch(now, rng, |flow, ctx| flow.on_cloud(result, ctx));
    }

    /// The clock reached [`Client::poll_timeout`]: the awaited answer did not
    /// come, so the request goes again (to the next vault node, if it went
    /// to the vault), or the operation fails if the retry budget is spent.
    /// Does nothing before the deadline, or when no answer is awaited.
    pub fn handle_timeout(&mut self, now: Millis, rng: &mut (impl RngCore + CryptoRng)) {
        let Some(pending) = self.pending.as_ref() else {
            return;
        };
        if now < pending.deadline {
            return;
        }
        if matches!(pending.request, Request::Vault(_)) {
            self.route.next();
        }
        self.resend(now, rng);
    }

    fn awaits(&self, call: CallId, kind: impl Fn(&Request) -> bool) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| call >= p.first_call && call.0 < self.next_call && kind(&p.request))
    }

    fn dispatch(
        &mut self,
        now: Millis,
        rng: &mut (impl RngCore + CryptoRng),
        f: impl FnOnce(&mut Flow, &mut Ctx<'_>) -> Step,
    ) {
        let Some(mut flow) = self.flow.take() else {
            return;
        };
        let named = self.device.registration;
        let mut ctx = Ctx {
            device: &mut self.device,
            config: &self.config,
            rng,
        };
        let step = f(&mut flow, &mut ctx);
        self.flow = Some(flow);
        // A registration named in the middle of an operation (a set-up's
        // staging, a disable's `KeyLivesOn`) is saved before the request
        // that acts on it goes out: a crash must not make the device
        // forget a record of K it asked the vault about (REG-2).
        let renamed = self.device.registration.is_some() && self.device.registration != named;
        let saves = !flaw_on!(self.config.flaw, ClientFlaw::NamedNotSaved);
        if renamed && saves && matches!(step, Step::Send(_)) {
            self.outbox.push_back(Output::Persist);
        }
        self.apply(step, now, rng);
    }

    fn resend(&mut self, now: Millis, rng: &mut (impl RngCore + CryptoRng)) {
        let Some(pending) = self.pending.as_mut() else {
            return;
        };
        if pending.sends >= self.config.max_attempts.max(1) {
            let Some(pending) = self.pending.take() else {
                return;
            };
            self.dispatch(now, rng, |flow, ctx| {
                flow.on_exhausted(&pending.request, ctx)
            });
            return;
        }
        pending.sends += 1;
        let send = if flaw_on!(self.config.flaw, ClientFlaw::FlatBackoff) {
            1 // Broken: every resend waits the first wait.
        } else {
            pending.sends
        };
        pending.deadline = self.config.backoff.deadline(send, now, rng);
        let request = pending.request.clone();
        let call = CallId(self.next_call);
        self.next_call += 1;
        self.emit(call, request);
    }

    fn apply(&mut self, step: Step, now: Millis, rng: &mut (impl RngCore + CryptoRng)) {
        match step {
            Step::Send(request) => {
                let call = CallId(self.next_call);
                self.next_call += 1;
                self.pending = Some(Pending {
                    request: request.clone(),
                    first_call: call,
                    sends: 1,
                    deadline: self.config.backoff.deadline(1, now, rng),
                });
                self.emit(call, request);
            }
            Step::Done(completed) => self.finish(Output::Done(completed)),
            Step::Failed(error) => self.finish(Output::Failed(error)),
            Step::Wait => {}
        }
    }

    fn emit(&mut self, call: CallId, request: Request) {
        self.outbox.push_back(match request {
            Request::Vault(request) => Output::Vault {
                call,
                to: self.route.leader(),
                request,
            },
            Request::Cloud(op) => Output::Cloud { call, op },
        });
    }

    fn finish(&mut self, output: Output) {
        self.flow = None;
        self.pending = None;
        self.outbox.push_back(output);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.device)
            .field("operation", &self.flow.as_ref().map(Flow::name))
            .field(
                "waiting_for",
                &self.pending.as_ref().map(|p| (p.first_call, p.sends)),
            )
            .field("queued_outputs", &self.outbox.len())
            .finish()
    }
}
