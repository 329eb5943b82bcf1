//! The vault with real cryptography: OPAQUE (cheap Argon2 parameters),
//! K wrapped under the export key, proofs of key, registrations sealed to
//! the fleet key, on a simulated 5-node cluster.

use backup_vault::client::crypto::{prove, seal_registration, verifier};
use backup_vault::key::BackupKey;
use backup_vault::opaque::client::{self, ClientConfig};
use backup_vault::opaque::{
    open_from_session, unwrap_backup_key, Direction, FleetSecrets, Ke3, KsfParams,
};
use backup_vault::vault::crypto::{DeleteNonce, ProofStatement, RegistrationId, DELETE_NONCE_LEN};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::node::ClientId;
use backup_vault::vault::opaque_crypto::{
    content_digest, user_bytes, OpaqueCrypto, RegistrationPayload, RegistrationTranscript,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Refusal, Replacing};
use backup_vault_sim::cluster::{Cluster, SimConfig};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Req = ClientRequest<OpaqueCrypto>;
type Resp = ClientResponse<OpaqueCrypto>;

const U: UserId = UserId(77);
const C: ClientId = ClientId(1);
const T: u64 = 5_000;

struct World {
    cluster: Cluster<OpaqueCrypto>,
    config: ClientConfig,
    rng: ChaCha20Rng,
    key: BackupKey,
}

fn world(seed: u64) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let crypto = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
    let config = ClientConfig {
        fleet_key: crypto.public_key(),
        ksf: KsfParams::CHEAP,
    };
    let mut cluster = Cluster::new(SimConfig::default(), crypto, seed);
    cluster.run_for(2_000);
    let key = BackupKey::generate(&mut rng);
    World {
        cluster,
        config,
        rng,
        key,
    }
}

impl World {
    fn call(&mut self, req: Req) -> Resp {
        self.cluster.call(C, req, T).expect("an answer")
    }

    /// Registers `password` for U; returns the Stage and Activate requests.
    fn register(
        &mut self,
        password: &[u8],
        replacing: Option<RegistrationId>,
    ) -> (RegistrationId, Req, Req) {
        let start = client::registration_start(&mut self.rng, &user_bytes(U), password).unwrap();
        let Resp::RegistrationResponse(response) = self.call(Req::RegistrationStart {
            user: U,
            request: start.request.clone(),
        }) else {
            panic!("no registration response")
        };
        let fin = client::registration_finish(
            &mut self.rng,
            start.state,
            password,
            &response.response,
            &self.config,
        )
        .unwrap();
        let wrapped = backup_vault::opaque::wrap_backup_key(
            &fin.export_key,
            &user_bytes(U),
            &self.key,
            &mut self.rng,
        );
        let sealed = seal_registration(
            &mut self.rng,
            &self.config.fleet_key,
            U,
            RegistrationPayload {
                upload: fin.upload,
                wrapped_key: wrapped,
                verifier: verifier(&self.key, U),
                ticket: response.ticket,
                transcript: RegistrationTranscript {
                    request: start.request,
                    response: response.response,
                },
            },
        );
        let content = content_digest(&sealed);
        let stage = Req::Stage {
            user: U,
            sealed,
            content,
            replacing: replacing.map(|r| Replacing {
                registration: r,
                proof: prove(
                    &self.key,
                    &ProofStatement::Replace {
                        user: U,
                        active: r,
                        content,
                    },
                ),
            }),
        };
        let Resp::Staged { registration, .. } = self.call(stage.clone()) else {
            panic!("not staged")
        };
        let activate = Req::Activate {
            user: U,
            registration,
            content,
            proof: prove(
                &self.key,
                &ProofStatement::Activate {
                    user: U,
                    registration,
                    content,
                },
            ),
        };
        assert!(matches!(
            self.call(activate.clone()),
            Resp::Activated { remaining: 10, .. }
        ));
        (registration, stage, activate)
    }

    /// A full login; on success returns the unwrapped K and the KE3 used.
    fn login(&mut self, password: &[u8]) -> (Resp, Option<(BackupKey, Ke3)>) {
        let start = client::login_start(&mut self.rng, &user_bytes(U), password).unwrap();
        let r = self.call(Req::LoginStart {
            user: U,
            ke1: start.ke1,
        });
        let Resp::Ke2 { login, ke2, .. } = r.clone() else {
            return (r, None);
        };
        match client::login_finish(&mut self.rng, start.state, password, &ke2, &self.config) {
            Ok(fin) => {
                let r = self.call(Req::LoginFinish {
                    user: U,
                    login,
                    ke3: fin.ke3.clone(),
                });
                let Resp::LoginOk { sealed_key } = &r else {
                    return (r, None);
                };
                let release = open_from_session(
                    &fin.session_key,
                    Direction::VaultToClient,
                    &user_bytes(U),
                    sealed_key,
                )
                .unwrap();
                assert_eq!(release.remaining, 10, "a login restores the full budget");
                let k =
                    unwrap_backup_key(&fin.export_key, &release.wrapped, &user_bytes(U)).unwrap();
                (r, Some((k, fin.ke3)))
            }
            // A wrong password: the client cannot even make KE3. The guess
            // is spent already, when KE2 was released.
            Err(_) => (r, None),
        }
    }
}

#[test]
fn the_right_password_releases_k_and_only_the_client_can_unwrap_it() {
    let mut w = world(1);
    w.register(b"correct horse", None);
    let (resp, got) = w.login(b"correct horse");
    assert!(matches!(resp, Resp::LoginOk { .. }), "{resp:?}");
    assert_eq!(got.unwrap().0, w.key);
}

#[test]
fn ten_wrong_passwords_destroy_the_record_and_erase_its_secrets() {
    let mut w = world(2);
    w.register(b"correct horse", None);
    for k in 1..=10u8 {
        let (resp, _) = w.login(b"wrong guess");
        assert!(
            matches!(resp, Resp::Ke2 { remaining, .. } if remaining == 10 - k),
            "{resp:?}"
        );
    }
    let (resp, _) = w.login(b"correct horse");
    assert_eq!(resp, Resp::KeyDestroyed);
    w.cluster.run_for(1_000);
    for id in w.cluster.ids().collect::<Vec<_>>() {
        let rec = w.cluster.node(id).unwrap().store().get(U).unwrap();
        assert!(
            rec.active.is_none() && rec.staged.is_none(),
            "LOCK-4 on {id:?}"
        );
    }
}

#[test]
fn replayed_ke1_and_ke3_gain_nothing() {
    let mut w = world(3);
    w.register(b"pw", None);
    let (_, got) = w.login(b"pw");
    let (_, old_ke3) = got.unwrap();
    // A fresh login by the chat server (it cannot finish it), answered with
    // the KE3 captured from the user's last login.
    let start = client::login_start(&mut w.rng, &user_bytes(U), b"anything").unwrap();
    let Resp::Ke2 {
        login, remaining, ..
    } = w.call(Req::LoginStart {
        user: U,
        ke1: start.ke1.clone(),
    })
    else {
        panic!()
    };
    assert_eq!(remaining, 9);
    let replay = w.call(Req::LoginFinish {
        user: U,
        login,
        ke3: old_ke3,
    });
    assert_eq!(replay, Resp::WrongPassword { remaining: 9 });
    // Replaying the same KE1 is the same password test: it costs nothing
    // more, and still gives no KE3.
    let again = w.call(Req::LoginStart {
        user: U,
        ke1: start.ke1,
    });
    assert!(matches!(again, Resp::Ke2 { remaining: 9, .. }), "{again:?}");
}

#[test]
fn password_change_and_delete_work_with_real_proofs() {
    let mut w = world(4);
    let (old, _, _) = w.register(b"old password", None);
    let (new, _, _) = w.register(b"new password", Some(old));
    assert!(w.login(b"new password").1.is_some());
    assert!(w.login(b"old password").1.is_none());
    let delete = Req::Delete {
        user: U,
        registration: new,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        proof: prove(
            &w.key,
            &ProofStatement::Delete {
                user: U,
                registration: new,
                nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
            },
        ),
    };
    assert!(matches!(
        w.call(delete),
        Resp::Deleted { registration, .. } if registration == new
    ));
    assert_eq!(w.login(b"new password").0, Resp::NotRegistered);
}

#[test]
fn a_replayed_registration_gives_no_new_budget() {
    let mut w = world(5);
    let (_, stage, activate) = w.register(b"pw", None);
    for _ in 0..9 {
        w.login(b"guess");
    }
    // Its ticket is used up: the replay stages nothing and displaces nothing.
    assert_eq!(w.call(stage), Resp::Refused(Refusal::StaleTicket));
    // The activation is already done: the same answer, the same budget.
    assert!(
        matches!(w.call(activate), Resp::Activated { remaining: 1, .. }),
        "no refill"
    );
    assert!(matches!(
        w.login(b"guess").0,
        Resp::Ke2 { remaining: 0, .. }
    ));
}
