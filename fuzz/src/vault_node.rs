//! Fuzz target `vault_node`: a vault node fed arbitrary input sequences.
//!
//! The input is a script (3 bytes a step, see [`Script::decode`]): client requests from
//! three users (registrations, activations with right or wrong proofs,
//! logins with any guess, login finishes naming any login, deletes), clock
//! advances, disk syncs, and crashes that lose unsynced writes. The node is
//! a single-node cluster (so it leads by itself) with the symbolic password
//! check. The target checks:
//! - nothing panics (including the node's own invariant assertions);
//! - LOCK-1: per user, the number of KE2 replies since the last proof of
//!   knowledge (a successful login or an activation) never exceeds the limit;
//! - LOCK-4: after `KeyDestroyed`, no KE2 for that user until a new activation.

use backup_vault::vault::crypto::{
    ProofPurpose, ProofStatement, RegistrationId, SymKey, SymPassword, SymProof, SymRegistration,
    SymbolicCrypto,
};
use backup_vault::vault::ids::{Millis, NodeId, UserId};
use backup_vault::vault::node::{
    ClientId, NodeConfig, RequestId, VaultDisk, VaultNode, VaultWrite,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::raft::durable::WriteId;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;

type Sym = SymbolicCrypto;

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A request from user `user % 3`.
    Request {
        /// Which user.
        user: u8,
        /// What it asks.
        request: Request,
    },
    /// The clock moves on by this many milliseconds.
    Advance(u16),
    /// The disk makes every write so far durable.
    Sync,
    /// The node crashes and restarts from its disk.
    Crash,
}

/// A request, with registrations and logins named by index into those seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Stage a registration; `replacing` names a seen registration.
    Stage {
        /// The password.
        password: u8,
        /// The key (the owner's is 0).
        key: u8,
        /// Index of the registration being replaced, with the proof's key.
        replacing: Option<(u8, u8)>,
    },
    /// Activate a seen registration with a proof made with `key`.
    Activate {
        /// Index into seen registrations.
        registration: u8,
        /// The proof's key.
        key: u8,
        /// Whether the proof names the right purpose.
        right_purpose: bool,
    },
    /// Start a login with a guess.
    LoginStart {
        /// The guess.
        guess: u8,
    },
    /// Finish a seen login.
    LoginFinish {
        /// Index into seen logins.
        login: u8,
    },
    /// Delete a seen registration with a proof made with `key`.
    Delete {
        /// Index into seen registrations.
        registration: u8,
        /// The proof's key.
        key: u8,
    },
}

/// The whole input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The node's RNG seed.
    pub seed: u64,
    /// The guess limit (taken modulo 5, plus 1).
    pub limit: u8,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Script {
    /// Decodes fuzz input: byte 0 is the seed, byte 1 the limit, then
    /// 3 bytes per step `[op, a, b]`, where the user is `op >> 3` (mod 3) and
    /// `op & 7` picks the step: 0 stage (password a, key b), 1 stage
    /// replacing registration b with a proof, 2 activate (registration a,
    /// key b & 1, right purpose unless b & 2), 3 login start (guess a),
    /// 4 login finish (login a), 5 delete (registration a, key b), 6 advance
    /// the clock by `a * 16 + b % 16` ms, 7 sync the disk (a even) or crash.
    /// Every byte string is a script; a trailing partial step is ignored.
    pub fn decode(data: &[u8]) -> Script {
        let (seed, limit) = (
            data.first().copied().unwrap_or(0),
            data.get(1).copied().unwrap_or(0),
        );
        let steps = data
            .get(2..)
            .unwrap_or(&[])
            .chunks_exact(3)
            .map(|c| Self::step(c[0], c[1], c[2]))
            .collect();
        Script {
            seed: u64::from(seed),
            limit,
            steps,
        }
    }

    fn step(op: u8, a: u8, b: u8) -> Step {
        let user = op >> 3;
        let request = |request| Step::Request { user, request };
        match op & 7 {
            0 => request(Request::Stage {
                password: a,
                key: b,
                replacing: None,
            }),
            1 => request(Request::Stage {
                password: a,
                key: 0,
                replacing: Some((b, 0)),
            }),
            2 => request(Request::Activate {
                registration: a,
                key: b & 1,
                right_purpose: b & 2 == 0,
            }),
            3 => request(Request::LoginStart { guess: a }),
            4 => request(Request::LoginFinish { login: a }),
            5 => request(Request::Delete {
                registration: a,
                key: b,
            }),
            6 => Step::Advance(u16::from(a) * 16 + u16::from(b % 16)),
            _ if a.is_multiple_of(2) => Step::Sync,
            _ => Step::Crash,
        }
    }
}

/// What the checker saw go wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// More KE2 replies than the limit between two proofs.
    Lock1 {
        /// The user.
        user: UserId,
        /// KE2 replies counted.
        ke2: u32,
        /// The limit.
        limit: u8,
    },
    /// A KE2 after `KeyDestroyed` without a new activation.
    Lock4 {
        /// The user.
        user: UserId,
    },
}

/// What a run did, for tests that check the target is not vacuous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The first violation, if any.
    pub violation: Option<Violation>,
    /// KE2 replies seen.
    pub ke2: u32,
    /// `KeyDestroyed` replies seen.
    pub destroyed: u32,
}

/// Counts KE2 replies per user between proofs of knowledge.
#[derive(Debug, Default)]
pub struct Lock1Checker {
    /// KE2 replies seen in total.
    pub ke2_total: u32,
    /// `KeyDestroyed` replies seen in total.
    pub destroyed_total: u32,
    ke2_since_proof: BTreeMap<UserId, u32>,
    destroyed: BTreeMap<UserId, bool>,
}

impl Lock1Checker {
    /// Feeds one reply about `user`; returns a violation if the rules broke.
    pub fn observe(
        &mut self,
        user: UserId,
        response: &ClientResponse<Sym>,
        limit: u8,
    ) -> Option<Violation> {
        match response {
            ClientResponse::Ke2 { .. } => {
                self.ke2_total += 1;
                if self.destroyed.get(&user) == Some(&true) {
                    return Some(Violation::Lock4 { user });
                }
                let n = self.ke2_since_proof.entry(user).or_insert(0);
                *n += 1;
                if *n > u32::from(limit) {
                    return Some(Violation::Lock1 {
                        user,
                        ke2: *n,
                        limit,
                    });
                }
            }
            ClientResponse::LoginOk { .. } | ClientResponse::Activated { .. } => {
                self.ke2_since_proof.insert(user, 0);
                self.destroyed.insert(user, false);
            }
            ClientResponse::KeyDestroyed => {
                self.destroyed_total += 1;
                self.destroyed.insert(user, true);
            }
            _ => {}
        }
        None
    }
}

struct Driver {
    node: VaultNode<Sym>,
    config: NodeConfig,
    disk: VaultDisk<Sym>,
    unsynced: Vec<(WriteId, VaultWrite<Sym>)>,
    now: Millis,
    rng: ChaCha20Rng,
    /// request id -> user, to attribute replies.
    asked: BTreeMap<RequestId, UserId>,
    next_request: u64,
    registrations: Vec<(UserId, RegistrationId)>,
    logins: Vec<(UserId, LoginId)>,
}

impl Driver {
    fn collect(&mut self, checker: &mut Lock1Checker) -> Option<Violation> {
        let out = self.node.take_output();
        self.unsynced.extend(out.writes);
        for reply in out.replies {
            let Some(user) = self.asked.get(&reply.request).copied() else {
                continue;
            };
            match &reply.response {
                ClientResponse::Staged { registration, .. } => {
                    self.registrations.push((user, *registration));
                }
                ClientResponse::Ke2 { login, .. } => self.logins.push((user, *login)),
                _ => {}
            }
            if let Some(v) = checker.observe(user, &reply.response, self.config.guess_limit) {
                return Some(v);
            }
        }
        None
    }
}

fn proof(user: UserId, key: u8, purpose: ProofPurpose, registration: RegistrationId) -> SymProof {
    SymProof {
        key: SymKey(key),
        statement: ProofStatement {
            purpose,
            user,
            registration,
        },
    }
}

fn pick<T: Copy>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(i) % items.len()])
}

/// Runs a script; returns what happened, stopping at the first violation.
pub fn run(script: &Script) -> Outcome {
    let config = NodeConfig {
        cluster: ClusterConfig::new(1, 0).expect("1 node"),
        guess_limit: script.limit % 5 + 1,
        snapshot_every: 4,
        ..NodeConfig::default()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(script.seed);
    let node = VaultNode::new(
        NodeId(0),
        config,
        SymbolicCrypto,
        VaultDisk::default(),
        Millis(0),
        &mut rng,
    );
    let mut d = Driver {
        node,
        config,
        disk: VaultDisk::default(),
        unsynced: Vec::new(),
        now: Millis(0),
        rng,
        asked: BTreeMap::new(),
        next_request: 0,
        registrations: Vec::new(),
        logins: Vec::new(),
    };
    let mut checker = Lock1Checker::default();
    // Let the node elect itself.
    d.now = d.now.plus(1_000);
    d.node.on_tick(d.now, &mut d.rng);
    for step in script.steps.iter().take(400) {
        match step {
            Step::Advance(ms) => {
                d.now = d.now.plus(u64::from(*ms));
                d.node.on_tick(d.now, &mut d.rng);
            }
            Step::Sync => {
                if let Some(last) = d.unsynced.last().map(|w| w.0) {
                    for (_, w) in d.unsynced.drain(..) {
                        d.disk.apply(&w);
                    }
                    d.node.on_persisted(last, d.now, &mut d.rng);
                }
            }
            Step::Crash => {
                d.unsynced.clear();
                d.node = VaultNode::new(
                    NodeId(0),
                    config,
                    SymbolicCrypto,
                    d.disk.clone(),
                    d.now,
                    &mut d.rng,
                );
                d.now = d.now.plus(1_000);
                d.node.on_tick(d.now, &mut d.rng);
            }
            Step::Request { user, request } => {
                let user = UserId(u64::from(user % 3));
                let Some(req) = build(&d, user, request) else {
                    continue;
                };
                d.next_request += 1;
                let id = RequestId(d.next_request);
                d.asked.insert(id, user);
                d.node.on_client(ClientId(1), id, req, d.now, &mut d.rng);
            }
        }
        if let Some(v) = d.collect(&mut checker) {
            return Outcome {
                violation: Some(v),
                ke2: checker.ke2_total,
                destroyed: checker.destroyed_total,
            };
        }
    }
    Outcome {
        violation: None,
        ke2: checker.ke2_total,
        destroyed: checker.destroyed_total,
    }
}

fn build(d: &Driver, user: UserId, request: &Request) -> Option<ClientRequest<Sym>> {
    let mine: Vec<RegistrationId> = d
        .registrations
        .iter()
        .filter(|(u, _)| *u == user)
        .map(|(_, r)| *r)
        .collect();
    Some(match request {
        Request::Stage {
            password,
            key,
            replacing,
        } => ClientRequest::Stage {
            user,
            sealed: SymRegistration {
                user,
                password: SymPassword(password % 4),
                key: SymKey(key % 2),
            },
            replacing: replacing.and_then(|(i, k)| {
                pick(&mine, i).map(|r| (r, proof(user, k % 2, ProofPurpose::Replace, r)))
            }),
        },
        Request::Activate {
            registration,
            key,
            right_purpose,
        } => {
            let r = pick(&mine, *registration)?;
            let purpose = if *right_purpose {
                ProofPurpose::Activate
            } else {
                ProofPurpose::Delete
            };
            ClientRequest::Activate {
                user,
                registration: r,
                proof: proof(user, key % 2, purpose, r),
            }
        }
        Request::LoginStart { guess } => ClientRequest::LoginStart {
            user,
            ke1: SymPassword(guess % 4),
        },
        Request::LoginFinish { login } => {
            let logins: Vec<LoginId> = d
                .logins
                .iter()
                .filter(|(u, _)| *u == user)
                .map(|(_, l)| *l)
                .collect();
            ClientRequest::LoginFinish {
                user,
                login: pick(&logins, *login).unwrap_or(LoginId(u64::from(*login))),
                ke3: (),
            }
        }
        Request::Delete { registration, key } => {
            let r = pick(&mine, *registration)?;
            ClientRequest::Delete {
                user,
                registration: r,
                proof: proof(user, key % 2, ProofPurpose::Delete, r),
            }
        }
    })
}

/// The fuzz target: decode a script, run it, panic on a violation.
pub fn vault_node(data: &[u8]) {
    let script = Script::decode(data);
    if let Some(v) = run(&script).violation {
        panic!("vault_node: {v:?} in {script:?}");
    }
}
