//! Model-based tests: random sequences of registrations, activations,
//! logins with right and wrong passwords, password changes, deletes and an
//! attacker's re-registrations, run against a 1-node and a 5-node cluster
//! (the implementation) and against a plain reference model of the record
//! rules. Every answer must match.

use backup_vault::vault::crypto::{
    ContentDigest, ProofStatement, RegistrationId, SymBlinded, SymKey, SymPassword, SymProof,
    SymRegistration, SymbolicCrypto,
};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::node::{ClientId, NodeConfig};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Replacing};
use backup_vault::vault::quorum::ClusterConfig;
use backup_vault_sim::cluster::{Cluster, SimConfig};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

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

/// What the reference model says a client sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Done,
    LoginOk,
    Wrong(u8),
    Destroyed,
    NotRegistered,
    Refused,
}

/// The reference model: the record rules, written as plainly as possible.
#[derive(Default)]
struct Model {
    /// user -> (password, attempts used)
    active: BTreeMap<u8, (u8, u8)>,
    destroyed: BTreeMap<u8, bool>,
    /// Users whose owner still names a registration: its own, active or
    /// destroyed by the guess limit (a delete of it is confirmed: it is gone).
    named: BTreeSet<u8>,
}

impl Model {
    fn apply(&mut self, op: Op) -> Seen {
        match op {
            Op::Register { user, pw } => {
                self.active.insert(user, (pw, 0));
                self.named.insert(user);
                Seen::Done
            }
            Op::Change { user, pw } => match self.active.get_mut(&user) {
                Some(rec) => {
                    *rec = (pw, 0);
                    Seen::Done
                }
                None => Seen::Refused,
            },
            Op::Login { user, guess } => {
                let Some((pw, used)) = self.active.get(&user).copied() else {
                    return if self.destroyed.get(&user) == Some(&true) {
                        Seen::Destroyed
                    } else {
                        Seen::NotRegistered
                    };
                };
                if used == LIMIT {
                    self.active.remove(&user);
                    self.destroyed.insert(user, true);
                    return Seen::Destroyed;
                }
                if guess == pw {
                    self.active.insert(user, (pw, 0));
                    Seen::LoginOk
                } else {
                    self.active.insert(user, (pw, used + 1));
                    Seen::Wrong(LIMIT - used - 1)
                }
            }
            Op::Delete { user } => {
                let named = self.named.remove(&user);
                match self.active.remove(&user) {
                    Some(_) => {
                        self.destroyed.insert(user, false);
                        Seen::Done
                    }
                    // Destroyed by the guess limit: the vault confirms it
                    // is gone.
                    None if named => Seen::Done,
                    None => Seen::Refused,
                }
            }
            Op::AttackerStage { user, .. } => {
                self.named.remove(&user);
                if self.active.remove(&user).is_some() {
                    self.destroyed.insert(user, false);
                }
                Seen::Done
            }
        }
    }
}

/// The owner's device: knows K and the current registration of each user.
struct Harness {
    cluster: Cluster<SymbolicCrypto>,
    registration: BTreeMap<u8, RegistrationId>,
    /// Each login draws a new blind: a new KE1.
    blinds: u8,
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
        (resp, content)
    }

    fn register(&mut self, user: u8, pw: u8, replacing: Option<RegistrationId>) -> Seen {
        let (Resp::Staged { registration, .. }, content) = self.stage(user, pw, KEY, replacing)
        else {
            return Seen::Refused;
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
        assert!(
            matches!(
                r,
                Resp::Activated {
                    remaining: LIMIT,
                    ..
                }
            ),
            "{r:?}"
        );
        self.registration.insert(user, registration);
        Seen::Done
    }

    fn apply(&mut self, op: Op) -> Seen {
        match op {
            Op::Register { user, pw } => self.register(user, pw, None),
            Op::Change { user, pw } => match self.registration.get(&user).copied() {
                Some(r) => self.register(user, pw, Some(r)),
                None => Seen::Refused,
            },
            Op::Login { user, guess } => {
                self.blinds = self.blinds.wrapping_add(1);
                let r = self.call(Req::LoginStart {
                    user: UserId(u64::from(user)),
                    ke1: SymBlinded {
                        password: SymPassword(guess),
                        blind: self.blinds,
                    },
                });
                let login = match r {
                    Resp::Ke2 { login, .. } => login,
                    Resp::KeyDestroyed => return Seen::Destroyed,
                    Resp::NotRegistered => return Seen::NotRegistered,
                    other => panic!("login start: {other:?}"),
                };
                match self.call(Req::LoginFinish {
                    user: UserId(u64::from(user)),
                    login,
                    ke3: (),
                }) {
                    Resp::LoginOk { .. } => Seen::LoginOk,
                    Resp::WrongPassword { remaining } => Seen::Wrong(remaining),
                    other => panic!("login finish: {other:?}"),
                }
            }
            Op::Delete { user } => {
                let Some(r) = self.registration.get(&user).copied() else {
                    return Seen::Refused;
                };
                match self.call(Req::Delete {
                    user: UserId(u64::from(user)),
                    registration: r,
                    proof: proof(ProofStatement::Delete {
                        user: UserId(u64::from(user)),
                        registration: r,
                    }),
                }) {
                    Resp::Deleted { .. } => {
                        self.registration.remove(&user);
                        Seen::Done
                    }
                    _ => Seen::Refused,
                }
            }
            Op::AttackerStage { user, pw } => {
                // The attacker's registration has its own key; the owner's
                // registration is gone (displaced), so forget it.
                match self.stage(user, pw, SymKey(200), None).0 {
                    Resp::Staged { .. } => {
                        self.registration.remove(&user);
                        Seen::Done
                    }
                    other => panic!("attacker stage: {other:?}"),
                }
            }
        }
    }
}

fn run(nodes: u8, seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    let mut sut = Harness::new(nodes, seed);
    for (step, op) in ops.iter().enumerate() {
        let want = model.apply(*op);
        let got = sut.apply(*op);
        prop_assert_eq!(got, want, "step {} {:?}", step, op);
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
