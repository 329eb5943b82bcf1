//! Fuzz target `vault_node`: a vault node fed arbitrary input sequences.
//!
//! The input is a script (3 bytes a step, see [`Script::decode`]): client requests from
//! three users (registrations, each preceded by the registration request
//! that gets its ticket; registration requests alone, as an attacker's
//! probes; activations with right or wrong proofs; logins with any guess,
//! resent or not; login finishes naming any login; deletes), clock
//! advances, disk syncs, and crashes that lose unsynced writes. The node is
//! a single-node cluster (so it leads by itself) with the symbolic
//! cryptography, whose OPRF evaluations name the key they were made under.
//! The target checks:
//! - nothing panics (including the node's own invariant assertions);
//! - LOCK-1: per OPRF key, the distinct inputs evaluated (in registration
//!   responses and KE2s alike) between two proofs of knowledge about the
//!   record of that key (an activation or a successful login) never exceed
//!   the limit; an input counts in the interval where it was first evaluated;
//! - LOCK-4: after `KeyDestroyed`, no KE2 for that user until a new activation;
//! - HOST-1: every disk record the node hands its host is sealed;
//! - a restart reads back every record of a disk nobody tampered with (the
//!   segment chain of appends, restarts and compactions holds together).

use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, OprfKeyId, ProofStatement, RegistrationId, SymBlinded, SymKey,
    SymPassword, SymProof, SymRegistration, SymbolicCrypto, TicketClaims, DELETE_NONCE_LEN,
};
use backup_vault::vault::host::NodeHost;
use backup_vault::vault::ids::{Millis, NodeId, UserId};
use backup_vault::vault::io::{Effect, Input};
use backup_vault::vault::node::{ClientId, NodeConfig, RequestId};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, LoginId, Replacing};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault::vault::storage::{Recovery, SealedDisk};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Start a login with a guess, hidden by a blind (the same guess and
    /// blind again is a resend of the same KE1).
    LoginStart {
        /// The guess.
        guess: u8,
        /// The blind.
        blind: u8,
    },
    /// A registration request alone: an OPRF evaluation of a guess.
    Probe {
        /// The guess.
        guess: u8,
        /// The blind.
        blind: u8,
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
    /// key b & 1, right purpose unless b & 2), 3 login start (guess a % 4,
    /// blind b % 4), 4 login finish (login a), 5 delete (registration a,
    /// key b) when b < 128, else a registration probe (guess a % 4, blind
    /// b % 4), 6 advance the clock by `a * 16 + b % 16` ms, 7 sync the
    /// disk (a even) or crash.
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
            3 => request(Request::LoginStart {
                guess: a % 4,
                blind: b % 4,
            }),
            4 => request(Request::LoginFinish { login: a }),
            5 if b < 128 => request(Request::Delete {
                registration: a,
                key: b,
            }),
            5 => request(Request::Probe {
                guess: a % 4,
                blind: b % 4,
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
    /// More distinct inputs evaluated under one OPRF key than the limit
    /// between two proofs about its record.
    Lock1 {
        /// The user.
        user: UserId,
        /// Distinct inputs counted.
        tests: u32,
        /// The limit.
        limit: u8,
    },
    /// A registration whose password file was not made from the node's own
    /// evaluation (a relay substituted one) was staged: whoever made that
    /// evaluation can test passwords against it without the node (LOCK-1).
    ForeignEvaluationStaged {
        /// The user.
        user: UserId,
    },
    /// A KE2 after `KeyDestroyed` without a new activation.
    Lock4 {
        /// The user.
        user: UserId,
    },
    /// The node handed its host a disk record in the clear (HOST-1).
    ClearRecord,
    /// A restart read back fewer records than the disk, which nobody
    /// tampered with, holds.
    DiskNotReadBack {
        /// Records the node read as authentic.
        authentic: usize,
        /// Records on the disk.
        records: usize,
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

/// Counts password tests per OPRF key between proofs of knowledge.
#[derive(Debug, Default)]
pub struct Lock1Checker {
    /// KE2 replies seen in total.
    pub ke2_total: u32,
    /// `KeyDestroyed` replies seen in total.
    pub destroyed_total: u32,
    /// Every input ever evaluated under each key.
    evaluated: BTreeMap<OprfKeyId, BTreeSet<SymBlinded>>,
    /// Inputs first evaluated since the last proof, per key.
    since_proof: BTreeMap<OprfKeyId, u32>,
    destroyed: BTreeMap<UserId, bool>,
}

impl Lock1Checker {
    /// An OPRF evaluation of `input` under `key` for `user` left the node.
    pub fn evaluated(
        &mut self,
        user: UserId,
        key: OprfKeyId,
        input: SymBlinded,
        limit: u8,
    ) -> Option<Violation> {
        if !self.evaluated.entry(key).or_default().insert(input) {
            return None; // the same input again: the same test
        }
        let n = self.since_proof.entry(key).or_insert(0);
        *n += 1;
        (*n > u32::from(limit)).then_some(Violation::Lock1 {
            user,
            tests: *n,
            limit,
        })
    }

    /// A proof of knowledge about the record of `key`.
    pub fn proved(&mut self, user: UserId, key: OprfKeyId) {
        self.since_proof.insert(key, 0);
        self.destroyed.insert(user, false);
    }

    /// Feeds one reply about `user`, whose registrations have the keys in
    /// `keys`; returns a violation if the rules broke.
    pub fn observe(
        &mut self,
        user: UserId,
        response: &ClientResponse<Sym>,
        keys: &BTreeMap<RegistrationId, OprfKeyId>,
        limit: u8,
    ) -> Option<Violation> {
        match response {
            ClientResponse::RegistrationResponse(r) => {
                return self.evaluated(user, r.eval.key, r.eval.input, limit);
            }
            ClientResponse::Ke2 { ke2, .. } => {
                self.ke2_total += 1;
                if self.destroyed.get(&user) == Some(&true) {
                    return Some(Violation::Lock4 { user });
                }
                return self.evaluated(user, ke2.key, ke2.input, limit);
            }
            ClientResponse::LoginOk { sealed_key } => {
                if let Some(key) = keys.get(&sealed_key.registration) {
                    self.proved(user, *key);
                }
            }
            ClientResponse::Activated { registration, .. } => {
                if let Some(key) = keys.get(registration) {
                    self.proved(user, *key);
                }
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
    /// The node, its disk of sealed records and its unsynced writes.
    host: NodeHost<Sym, SealedDisk<Sym>>,
    config: NodeConfig,
    /// The node's effects not yet looked at, in order.
    pending: Vec<Effect<Sym>>,
    now: Millis,
    rng: ChaCha20Rng,
    /// request id -> user, to attribute replies.
    asked: BTreeMap<RequestId, UserId>,
    next_request: u64,
    registrations: Vec<(UserId, RegistrationId)>,
    /// What each staged registration was: its key and content.
    staged: BTreeMap<RegistrationId, (OprfKeyId, ContentDigest)>,
    /// The Stage requests sent, by request id: their key and content.
    stages_sent: BTreeMap<RequestId, (OprfKeyId, ContentDigest)>,
    /// Per user, the last request sent when a proof (`Activated`,
    /// `LoginOk`) was last answered.
    proof_answered: BTreeMap<UserId, u64>,
    /// The Stage requests sent whose password file was made from a
    /// substituted evaluation.
    foreign_sent: BTreeSet<RequestId>,
    /// The ticket of the last registration response.
    ticket: Option<TicketClaims>,
    logins: Vec<(UserId, LoginId)>,
}

impl Driver {
    /// Gives the node one input; its effects wait in `pending`.
    fn input(&mut self, input: Input<Sym>) {
        let step = self.host.handle(input, self.now, &mut self.rng);
        self.pending.extend(step.effects);
    }

    fn collect(&mut self, checker: &mut Lock1Checker) -> Option<Violation> {
        let mut replies = Vec::new();
        for effect in std::mem::take(&mut self.pending) {
            match effect {
                Effect::Persist { .. } => unreachable!("the host keeps the writes"),
                Effect::Reply(reply) => replies.push(reply),
                // A single node sends and receives nothing; the rest is
                // observability.
                Effect::Send { .. }
                | Effect::Dropped { .. }
                | Effect::Applied(_)
                | Effect::Restored { .. }
                | Effect::Role { .. } => {}
            }
        }
        for reply in replies {
            let Some(user) = self.asked.get(&reply.request).copied() else {
                continue;
            };
            match &reply.response {
                ClientResponse::Staged { registration, .. } => {
                    if self.foreign_sent.contains(&reply.request) {
                        return Some(Violation::ForeignEvaluationStaged { user });
                    }
                    self.registrations.push((user, *registration));
                    if let Some(sent) = self.stages_sent.get(&reply.request) {
                        self.staged.insert(*registration, *sent);
                    }
                }
                ClientResponse::Ke2 { login, .. } => self.logins.push((user, *login)),
                ClientResponse::RegistrationResponse(r) => self.ticket = Some(r.ticket),
                _ => {}
            }
            // A `KeyDestroyed` to a request sent before the user's latest
            // proof was answered may take effect before that proof (the two
            // were in flight together): it says nothing of the record the
            // proof activated, so it does not mark the user destroyed.
            let concurrent_with_proof = matches!(reply.response, ClientResponse::KeyDestroyed)
                && self
                    .proof_answered
                    .get(&user)
                    .is_some_and(|at| reply.request.0 <= *at);
            if matches!(
                reply.response,
                ClientResponse::Activated { .. } | ClientResponse::LoginOk { .. }
            ) {
                self.proof_answered.insert(user, self.next_request);
            }
            if concurrent_with_proof {
                continue;
            }
            let keys: BTreeMap<RegistrationId, OprfKeyId> =
                self.staged.iter().map(|(r, (k, _))| (*r, *k)).collect();
            if let Some(v) = checker.observe(user, &reply.response, &keys, self.config.guess_limit)
            {
                return Some(v);
            }
        }
        None
    }

    /// Makes every write so far durable and tells the node; a write in the
    /// clear is a violation.
    fn sync(&mut self) -> Option<Violation> {
        let last = self.host.unsynced().last().map(|w| w.0)?;
        let mut clear = false;
        let step = self.host.sync(last, self.now, &mut self.rng, |op, _| {
            clear |= op.record().sealed.place.is_none();
        });
        self.pending.extend(step.effects);
        clear.then_some(Violation::ClearRecord)
    }

    /// The node crashes and restarts from its disk, which must read back
    /// whole.
    fn restart(&mut self) -> Option<Violation> {
        // The unsynced writes and the effects not yet delivered die with
        // the node.
        self.pending.clear();
        let records = self.host.disk().records.len();
        match self.host.restart(self.now, &mut self.rng) {
            Recovery::Clean => None,
            _ => Some(Violation::DiskNotReadBack {
                authentic: self.host.disk().records.len(),
                records,
            }),
        }
    }

    fn send(&mut self, user: UserId, req: ClientRequest<Sym>) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        self.asked.insert(id, user);
        self.input(Input::Client {
            from: ClientId(1),
            id,
            request: req,
        });
        id
    }
}

fn proof(key: u8, statement: ProofStatement) -> SymProof {
    SymProof {
        key: SymKey(key),
        statement,
    }
}

fn pick<T: Copy>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(i) % items.len()])
}

/// Runs a script; returns what happened, stopping at the first violation.
pub fn run(script: &Script) -> Outcome {
    run_with(script, None)
}

/// Runs a script on a node running `flaw` (tests show the checks bite).
pub fn run_with(script: &Script, flaw: Option<backup_vault::flaws::VaultFlaw>) -> Outcome {
    let config = NodeConfig {
        cluster: ClusterConfig::new(1, 0).expect("1 node"),
        guess_limit: script.limit % 5 + 1,
        snapshot_every: 4,
        flaw,
        ..NodeConfig::default()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(script.seed);
    let host = NodeHost::init(
        NodeId(0),
        config,
        SymbolicCrypto,
        SealedDisk::default(),
        Millis(0),
        &mut rng,
    );
    let mut d = Driver {
        host,
        config,
        pending: Vec::new(),
        now: Millis(0),
        rng,
        asked: BTreeMap::new(),
        next_request: 0,
        registrations: Vec::new(),
        staged: BTreeMap::new(),
        stages_sent: BTreeMap::new(),
        proof_answered: BTreeMap::new(),
        foreign_sent: BTreeSet::new(),
        ticket: None,
        logins: Vec::new(),
    };
    let mut checker = Lock1Checker::default();
    // Let the node elect itself, and make its term's no-op durable so that
    // it serves requests from the first step.
    d.now = d.now.plus(1_000);
    d.input(Input::Timer);
    let _ = d.collect(&mut checker);
    let stop = |v: Violation, checker: &Lock1Checker| Outcome {
        violation: Some(v),
        ke2: checker.ke2_total,
        destroyed: checker.destroyed_total,
    };
    if let Some(v) = d.sync() {
        return stop(v, &checker);
    }
    for step in script.steps.iter().take(400) {
        match step {
            Step::Advance(ms) => {
                d.now = d.now.plus(u64::from(*ms));
                d.input(Input::Timer);
            }
            Step::Sync => {
                if let Some(v) = d.sync() {
                    return stop(v, &checker);
                }
            }
            Step::Crash => {
                if let Some(v) = d.restart() {
                    return stop(v, &checker);
                }
                d.now = d.now.plus(1_000);
                d.input(Input::Timer);
                if let Some(v) = d.collect(&mut checker).or_else(|| d.sync()) {
                    return stop(v, &checker);
                }
            }
            Step::Request { user, request } => {
                let user = UserId(u64::from(user % 3));
                if let Request::Stage { password, .. } = request {
                    // A registration starts with its registration request,
                    // which the node answers at once with a ticket.
                    d.ticket = None;
                    let input = SymBlinded {
                        password: SymPassword(password % 4),
                        blind: 0,
                    };
                    d.send(
                        user,
                        ClientRequest::RegistrationStart {
                            user,
                            request: input,
                        },
                    );
                    if let Some(v) = d.collect(&mut checker) {
                        return Outcome {
                            violation: Some(v),
                            ke2: checker.ke2_total,
                            destroyed: checker.destroyed_total,
                        };
                    }
                }
                let Some(req) = build(&d, user, request) else {
                    continue;
                };
                let stage = match &req {
                    ClientRequest::Stage {
                        sealed, content, ..
                    } => Some((
                        (sealed.ticket.key, *content),
                        sealed.evaluated_under != sealed.ticket.key,
                    )),
                    _ => None,
                };
                let id = d.send(user, req);
                if let Some((sent, foreign)) = stage {
                    d.stages_sent.insert(id, sent);
                    if foreign {
                        d.foreign_sent.insert(id);
                    }
                }
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
    let content_of =
        |r: RegistrationId| d.staged.get(&r).map_or(ContentDigest([0; 32]), |(_, c)| *c);
    Some(match request {
        Request::Stage {
            password,
            key,
            replacing,
        } => {
            // Without an answered registration request there is no ticket
            // (symbolic tickets cannot be forged), so nothing to stage.
            let ticket = d.ticket?;
            // Bit 2 of `key`: a relay answered the registration request
            // with an evaluation under a key of its own.
            let sealed = SymRegistration {
                user,
                password: SymPassword(password % 4),
                key: SymKey(key % 2),
                ticket,
                evaluated_under: if key & 4 == 0 {
                    ticket.key
                } else {
                    OprfKeyId([0xC5; 16])
                },
            };
            let content = sealed.content();
            ClientRequest::Stage {
                user,
                sealed,
                content,
                replacing: replacing.and_then(|(i, k)| {
                    pick(&mine, i).map(|r| Replacing {
                        registration: r,
                        proof: proof(
                            k % 2,
                            ProofStatement::Replace {
                                user,
                                active: r,
                                content,
                            },
                        ),
                    })
                }),
            }
        }
        Request::Activate {
            registration,
            key,
            right_purpose,
        } => {
            let r = pick(&mine, *registration)?;
            let content = content_of(r);
            let statement = if *right_purpose {
                ProofStatement::Activate {
                    user,
                    registration: r,
                    content,
                }
            } else {
                ProofStatement::Delete {
                    user,
                    registration: r,
                    nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
                }
            };
            ClientRequest::Activate {
                user,
                registration: r,
                content,
                proof: proof(key % 2, statement),
            }
        }
        Request::LoginStart { guess, blind } => ClientRequest::LoginStart {
            user,
            ke1: SymBlinded {
                password: SymPassword(*guess),
                blind: *blind,
            },
        },
        Request::Probe { guess, blind } => ClientRequest::RegistrationStart {
            user,
            request: SymBlinded {
                password: SymPassword(*guess),
                blind: 10 + *blind,
            },
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
            // The fuzzer's device draws no nonces: each delete repeats
            // one, as a resend does.
            let nonce = DeleteNonce([0; DELETE_NONCE_LEN]);
            ClientRequest::Delete {
                user,
                registration: r,
                nonce,
                proof: proof(
                    key % 2,
                    ProofStatement::Delete {
                        user,
                        registration: r,
                        nonce,
                    },
                ),
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
