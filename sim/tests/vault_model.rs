//! Model-based tests: random sequences of registrations, activations,
//! logins with right and wrong passwords, password changes, deletes and an
//! attacker's re-registrations, run against a 1-node and a 5-node cluster
//! (the implementation). Every answer must be one the record rules allow:
//! each request and its answer is a step of the one sequential spec of a
//! user's record (`backup_vault_model::vault::spec::RecordSpec`), the same
//! spec the model checker's linearizability tester uses.

use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, ProofStatement, RegistrationId, SymBlinded, SymKey, SymPassword,
    SymProof, SymRegistration, SymbolicCrypto, DELETE_NONCE_LEN,
};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::node::{ClientId, NodeConfig};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Replacing};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault_model::vault::spec::{RecordOp, RecordRet, RecordSpec};
use backup_vault_sim::cluster::{Cluster, SimConfig};
use proptest::prelude::*;
use stateright::semantics::SequentialSpec;
use std::collections::BTreeMap;

type Req = ClientRequest<SymbolicCrypto>;
type Resp = ClientResponse<SymbolicCrypto>;

const LIMIT: u8 = 3;

#[derive(Clone, Copy, Debug)]
enum Op {
    /// The owner (who knows K) registers a password, with no proof: a fresh registration.
    Register { user: u8, pw: u8 },
    /// The owner changes the password with a proof of K.
    Change { user: u8, pw: u8 },
    /// Anyone logs in with a guess.
    Login { user: u8, guess: u8 },
    /// The owner disables backups.
    Delete { user: u8 },
    /// The chat server stages a registration of its own (no proof of K).
    AttackerStage { user: u8, pw: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0u8..2;
    let pw = 0u8..3;
    prop_oneof![
        2 => (user.clone(), pw.clone()).prop_map(|(user, pw)| Op::Register { user, pw }),
        1 => (user.clone(), pw.clone()).prop_map(|(user, pw)| Op::Change { user, pw }),
        6 => (user.clone(), pw.clone()).prop_map(|(user, guess)| Op::Login { user, guess }),
        1 => user.clone().prop_map(|user| Op::Delete { user }),
        1 => (user, pw).prop_map(|(user, pw)| Op::AttackerStage { user, pw }),
    ]
}

/// The owner's device: knows K and the current registration of each user.
struct Harness {
    cluster: Cluster<SymbolicCrypto>,
    registration: BTreeMap<u8, RegistrationId>,
    /// Each login draws a new blind: a new KE1.
    blinds: u8,
    /// Per user, the spec every answer is checked against.
    specs: BTreeMap<u8, RecordSpec>,
    /// The first answer the spec did not allow, if any.
    broken: Option<String>,
}

const KEY: SymKey = SymKey(9);

fn proof(statement: ProofStatement) -> SymProof {
    SymProof {
        key: KEY,
        statement,
    }
}

impl Harness {
    fn new(nodes: u8, seed: u64) -> Self {
        let config = SimConfig {
            node: NodeConfig {
                cluster: ClusterConfig::new(nodes, 0).unwrap(),
                guess_limit: LIMIT,
                snapshot_every: 5,
                ..NodeConfig::default()
            },
            ..SimConfig::default()
        };
        let mut cluster = Cluster::new(config, SymbolicCrypto, seed);
        cluster.run_for(2_000);
        Harness {
            cluster,
            registration: BTreeMap::new(),
            blinds: 0,
            specs: BTreeMap::new(),
            broken: None,
        }
    }

    fn spec(&mut self, user: u8) -> &mut RecordSpec {
        self.specs
            .entry(user)
            .or_insert_with(|| RecordSpec::new(LIMIT))
    }

    /// Checks that `resp` is a final answer the spec allows for `op`.
    fn check(&mut self, user: u8, op: RecordOp, resp: &Resp) {
        let ret = RecordRet::from_response(resp);
        let spec = self.spec(user);
        let before = spec.clone();
        let ok = ret.is_some_and(|ret| spec.is_valid_step(&op, &ret));
        if !ok && self.broken.is_none() {
            self.broken = Some(format!(
                "user {user}: {op:?} answered {resp:?}, which the spec does not allow from {before:?}"
            ));
        }
    }

    fn call(&mut self, req: Req) -> Resp {
        self.cluster
            .call(ClientId(1), req, 5_000)
            .expect("the cluster answers")
    }

    /// Stages `pw` for `user` (after the registration request that gets
    /// its ticket); returns the answer and the content staged.
    fn stage(
        &mut self,
        user: u8,
        pw: u8,
        key: SymKey,
        replacing: Option<RegistrationId>,
    ) -> (Resp, ContentDigest) {
        let id = UserId(u64::from(user));
        let request = SymBlinded {
            password: SymPassword(pw),
            blind: 0,
        };
        let Resp::RegistrationResponse(answer) =
            self.call(Req::RegistrationStart { user: id, request })
        else {
            panic!("no registration response");
        };
        let sealed = SymRegistration {
            user: id,
            password: SymPassword(pw),
            key,
            ticket: answer.ticket,
            evaluated_under: answer.ticket.key,
        };
        let content = sealed.content();
        let op = RecordOp::Stage {
            password: SymPassword(pw),
            key,
            claimed: content,
            actual: content,
            seq: answer.ticket.seq,
            own_evaluation: true,
            replacing: replacing.map(|r| (r, KEY, content)),
        };
        let resp = self.call(Req::Stage {
            user: id,
            sealed,
            content,
            replacing: replacing.map(|r| Replacing {
                registration: r,
                proof: proof(ProofStatement::Replace {
                    user: id,
                    active: r,
                    content,
                }),
            }),
        });
        self.check(user, op, &resp);
        (resp, content)
    }

    fn register(&mut self, user: u8, pw: u8, replacing: Option<RegistrationId>) {
        let (Resp::Staged { registration, .. }, content) = self.stage(user, pw, KEY, replacing)
        else {
            return;
        };
        let id = UserId(u64::from(user));
        let r = self.call(Req::Activate {
            user: id,
            registration,
            content,
            proof: proof(ProofStatement::Activate {
                user: id,
                registration,
                content,
            }),
        });
        let op = RecordOp::Activate {
            registration,
            content,
            proof_key: KEY,
        };
        self.check(user, op, &r);
        if matches!(r, Resp::Activated { .. }) {
            self.registration.insert(user, registration);
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Register { user, pw } => self.register(user, pw, None),
            Op::Change { user, pw } => {
                if let Some(r) = self.registration.get(&user).copied() {
                    self.register(user, pw, Some(r));
                }
            }
            Op::Login { user, guess } => self.login(user, guess),
            Op::Delete { user } => {
                let Some(r) = self.registration.get(&user).copied() else {
                    return;
                };
                let id = UserId(u64::from(user));
                let nonce = DeleteNonce([0; DELETE_NONCE_LEN]);
                let resp = self.call(Req::Delete {
                    user: id,
                    registration: r,
                    nonce,
                    proof: proof(ProofStatement::Delete {
                        user: id,
                        registration: r,
                        nonce,
                    }),
                });
                let op = RecordOp::Delete {
                    registration: r,
                    proof_key: KEY,
                };
                self.check(user, op, &resp);
                if matches!(resp, Resp::Deleted { .. }) {
                    self.registration.remove(&user);
                }
            }
            Op::AttackerStage { user, pw } => {
                // The attacker's registration has its own key; the owner's
                // registration is gone (displaced), so forget it.
                if let (Resp::Staged { .. }, _) = self.stage(user, pw, SymKey(200), None) {
                    self.registration.remove(&user);
                }
            }
        }
    }

    /// One login: KE1 with a fresh blind, then KE3 if a KE2 came back.
    fn login(&mut self, user: u8, guess: u8) {
        self.blinds = self.blinds.wrapping_add(1);
        let id = UserId(u64::from(user));
        let ke1 = SymBlinded {
            password: SymPassword(guess),
            blind: self.blinds,
        };
        // Which record the login runs against, and whether the guess is its
        // password: facts of the login, read from the spec's record.
        let against = self
            .spec(user)
            .states()
            .first()
            .and_then(|s| s.active.as_ref())
            .map(|a| (a.reg.registration, a.reg.password == SymPassword(guess)));
        let r = self.call(Req::LoginStart { user: id, ke1 });
        self.check(user, RecordOp::LoginStart { guess: ke1 }, &r);
        let (Resp::Ke2 { login, .. }, Some((registration, right))) = (r, against) else {
            return;
        };
        let finish = self.call(Req::LoginFinish {
            user: id,
            login,
            ke3: (),
        });
        let op = RecordOp::LoginFinish {
            registration,
            right,
            ke1,
        };
        self.check(user, op, &finish);
    }
}

fn run(nodes: u8, seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sut = Harness::new(nodes, seed);
    for (step, op) in ops.iter().enumerate() {
        sut.apply(*op);
        if let Some(broken) = sut.broken.take() {
            return Err(TestCaseError::fail(format!("step {step} {op:?}: {broken}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_single_node_follows_the_record_rules(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..30)) {
        run(1, seed, &ops)?;
    }

    #[test]
    fn a_five_node_cluster_follows_the_record_rules(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..30)) {
        run(5, seed, &ops)?;
    }
}
