//! The vault's rules end to end on a simulated 5-node cluster, with the
//! symbolic cryptography (the real OPAQUE flows are in `vault_opaque.rs`).

use backup_vault::flaws::VaultFlaw;
use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, ProofStatement, RegistrationId, SymBlinded, SymKey, SymPassword,
    SymProof, SymRegistration, SymRelease, SymbolicCrypto, DELETE_NONCE_LEN,
};
use backup_vault::vault::ids::{NodeId, RequestId, UserId};
use backup_vault::vault::node::ClientId;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Refusal, Replacing};
use backup_vault_sim::cluster::{Cluster, SimConfig};

type Req = ClientRequest<SymbolicCrypto>;
type Resp = ClientResponse<SymbolicCrypto>;

const ALICE: UserId = UserId(1);
const KEY: SymKey = SymKey(42);
const PW: SymPassword = SymPassword(7);
const CLIENT: ClientId = ClientId(1);
const T: u64 = 5_000;

fn cluster(seed: u64) -> Cluster<SymbolicCrypto> {
    let mut c = Cluster::new(SimConfig::default(), SymbolicCrypto, seed);
    c.run_for(2_000);
    assert!(c.leader().is_some(), "a leader within 2 s");
    c
}

fn proof(statement: ProofStatement) -> SymProof {
    SymProof {
        key: KEY,
        statement,
    }
}

/// A registration of `password` for ALICE, with the ticket of a fresh
/// registration request.
fn sealed(c: &mut Cluster<SymbolicCrypto>, password: SymPassword) -> SymRegistration {
    let request = SymBlinded { password, blind: 0 };
    let Some(Resp::RegistrationResponse(answer)) = c.call(
        CLIENT,
        Req::RegistrationStart {
            user: ALICE,
            request,
        },
        T,
    ) else {
        panic!("no registration response");
    };
    SymRegistration {
        user: ALICE,
        password,
        key: KEY,
        ticket: answer.ticket,
        evaluated_under: answer.ticket.key,
    }
}

fn stage(sealed: SymRegistration, replacing: Option<RegistrationId>) -> Req {
    let content = sealed.content();
    Req::Stage {
        user: ALICE,
        sealed,
        content,
        replacing: replacing.map(|r| Replacing {
            registration: r,
            proof: proof(ProofStatement::Replace {
                user: ALICE,
                active: r,
                content,
            }),
        }),
    }
}

fn activate(registration: RegistrationId, content: ContentDigest) -> Req {
    Req::Activate {
        user: ALICE,
        registration,
        content,
        proof: proof(ProofStatement::Activate {
            user: ALICE,
            registration,
            content,
        }),
    }
}

/// Registers ALICE with `PW`; returns the registration and the requests
/// used (which the chat server could capture and replay).
fn register(c: &mut Cluster<SymbolicCrypto>) -> (RegistrationId, Req, Req) {
    let sealed = sealed(c, PW);
    let s = stage(sealed, None);
    let Some(Resp::Staged { registration, .. }) = c.call(CLIENT, s.clone(), T) else {
        panic!("stage failed");
    };
    let a = activate(registration, sealed.content());
    assert!(matches!(
        c.call(CLIENT, a.clone(), T),
        Some(Resp::Activated { remaining: 10, .. })
    ));
    (registration, s, a)
}

fn ke1(password: SymPassword, blind: u8) -> Req {
    Req::LoginStart {
        user: ALICE,
        ke1: SymBlinded { password, blind },
    }
}

/// One login attempt with a fresh KE1 (`blind`); returns the final answer.
fn login(c: &mut Cluster<SymbolicCrypto>, guess: SymPassword, blind: u8) -> Resp {
    let r = c.call(CLIENT, ke1(guess, blind), T).expect("answer");
    let Resp::Ke2 { login, .. } = r else { return r };
    c.call(
        CLIENT,
        Req::LoginFinish {
            user: ALICE,
            login,
            ke3: (),
        },
        T,
    )
    .expect("answer")
}

#[test]
fn the_right_password_releases_the_key() {
    let mut c = cluster(1);
    let (registration, _, _) = register(&mut c);
    assert_eq!(
        login(&mut c, PW, 1),
        Resp::LoginOk {
            sealed_key: SymRelease {
                key: KEY,
                registration,
                remaining: 10
            }
        }
    );
}

#[test]
fn ten_wrong_guesses_destroy_the_record_on_every_node() {
    let mut c = cluster(2);
    register(&mut c);
    for k in 1..=10u8 {
        assert_eq!(
            login(&mut c, SymPassword(100), k),
            Resp::WrongPassword { remaining: 10 - k }
        );
    }
    // The eleventh login, even with the right password, finds the budget spent.
    assert_eq!(login(&mut c, PW, 11), Resp::KeyDestroyed);
    c.run_for(1_000);
    for id in c.ids().collect::<Vec<_>>() {
        let rec = c.node(id).unwrap().store().get(ALICE).unwrap();
        assert!(
            rec.active.is_none() && rec.staged.is_none(),
            "LOCK-4 on {id:?}"
        );
    }
}

/// A 5-node cluster (with `flaw`) where ALICE's budget was spent by nine
/// wrong logins and a tenth KE1 whose login is left unfinished; returns
/// it with that last KE1, which the chat server, relaying it, holds.
fn spent_to_the_last_ke1(flaw: Option<VaultFlaw>) -> (Cluster<SymbolicCrypto>, Req) {
    let mut config = SimConfig::default();
    config.node.flaw = flaw;
    let mut c = Cluster::new(config, SymbolicCrypto, 12);
    c.run_for(2_000);
    register(&mut c);
    for k in 1..=9u8 {
        login(&mut c, SymPassword(100), k);
    }
    let last = ke1(SymPassword(100), 10);
    assert!(matches!(
        c.call(CLIENT, last.clone(), T),
        Some(Resp::Ke2 { remaining: 0, .. })
    ));
    (c, last)
}

/// The chat server relays every KE1, so it holds the last one of a spent
/// budget. It leaves that login unfinished and resends the KE1 every 20 s
/// (a resend costs nothing: LOCK-5) for two minutes. Returns the answers
/// to the resends and whether some node still holds ALICE's active record
/// at the end.
fn resend_the_last_ke1_of_a_spent_budget(flaw: Option<VaultFlaw>) -> (Vec<Resp>, bool) {
    let (mut c, last) = spent_to_the_last_ke1(flaw);
    let mut answers = Vec::new();
    for _ in 0..6 {
        c.run_for(20_000);
        answers.push(c.call(CLIENT, last.clone(), T).expect("answer"));
    }
    let alive = c.ids().collect::<Vec<_>>().into_iter().any(|id| {
        c.node(id)
            .and_then(|n| n.store().get(ALICE))
            .is_some_and(|r| r.active.is_some())
    });
    (answers, alive)
}

#[test]
fn a_resent_last_ke1_keeps_no_spent_record_alive() {
    // LOCK-4: a login against a spent budget lives no longer than one TTL
    // (30 s) past the budget's last test, however often its KE1 comes
    // again; the record is destroyed then, on every node.
    let (answers, alive) = resend_the_last_ke1_of_a_spent_budget(None);
    assert!(
        matches!(answers[0], Resp::Ke2 { remaining: 0, .. }),
        "{answers:?}"
    );
    assert!(
        answers[1..].iter().all(|a| *a == Resp::KeyDestroyed),
        "{answers:?}"
    );
    assert!(
        !alive,
        "LOCK-4: the spent record outlived its last test by two minutes"
    );
}

#[test]
fn a_resent_last_ke1_keeps_the_spent_record_alive_on_the_broken_variant() {
    // resent-login-renews-expiry: each resend opens a login for a whole
    // TTL, so the record is never destroyed while the resends go on.
    let (answers, alive) =
        resend_the_last_ke1_of_a_spent_budget(Some(VaultFlaw::ResentLoginRenewsExpiry));
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Resp::Ke2 { remaining: 0, .. })),
        "{answers:?}"
    );
    assert!(alive);
}

/// The chat server streams the last KE1 of a spent budget: four copies
/// every 5 ms for 60 s (two TTLs), faster than the cluster commits, so
/// a login start of the user is always in flight. Returns, per node,
/// whether it still holds ALICE's active record at the end.
fn stream_the_last_ke1_of_a_spent_budget(flaw: Option<VaultFlaw>) -> Vec<bool> {
    let (mut c, last) = spent_to_the_last_ke1(flaw);
    let start = c.now();
    let mut n = 0u64;
    while c.now().0 < start.0 + 60_000 {
        if let Some(l) = c.leader() {
            n += 1;
            c.submit_copies(l, ClientId(99), RequestId(n), last.clone(), 4);
        }
        c.run_for(5);
        let _ = c.take_replies();
    }
    c.ids()
        .collect::<Vec<_>>()
        .into_iter()
        .map(|id| {
            c.node(id)
                .and_then(|n| n.store().get(ALICE))
                .is_some_and(|r| r.active.is_some())
        })
        .collect()
}

#[test]
fn a_stream_of_resends_keeps_no_spent_record_alive() {
    // LOCK-4: a login start in flight is no reason to wait: a resend of a
    // counted KE1 changes nothing, so the record goes one TTL after its
    // last test however fast the resends come (found by an outside
    // reviewer in the product).
    let alive = stream_the_last_ke1_of_a_spent_budget(None);
    assert!(
        !alive.iter().any(|a| *a),
        "LOCK-4: the spent record outlived its last test by 60 s ({alive:?})"
    );
}

#[test]
fn a_stream_of_resends_keeps_the_spent_record_on_the_broken_variant() {
    // resends-hold-exhaustion: every user with a login start in flight is
    // skipped, and a stream keeps one in flight at every check.
    let alive = stream_the_last_ke1_of_a_spent_budget(Some(VaultFlaw::ResendsHoldExhaustion));
    assert!(alive.iter().all(|a| *a), "{alive:?}");
}

/// ALICE changes her password: the stage of S (with proof of K, replacing
/// A) is answered, but the chat server keeps S's activation. It then spends
/// A's budget, and A is destroyed; ALICE deletes A ("gone", so her device
/// forgets K); the chat server replays the kept activation and logs in
/// with the new password. Returns the delete's answer, the replayed
/// activation's and the login's.
fn withheld_activation_after_a_confirmed_delete(flaw: Option<VaultFlaw>) -> (Resp, Resp, Resp) {
    let mut config = SimConfig::default();
    config.node.flaw = flaw;
    let mut c = Cluster::new(config, SymbolicCrypto, 13);
    c.run_for(2_000);
    let (a, _, _) = register(&mut c);
    let new_pw = SymPassword(8);
    let s = sealed(&mut c, new_pw);
    let content = s.content();
    let Some(Resp::Staged { registration, .. }) = c.call(CLIENT, stage(s, Some(a)), T) else {
        panic!("the change was not staged");
    };
    let withheld = activate(registration, content);
    for k in 1..=10u8 {
        login(&mut c, SymPassword(100), k);
    }
    assert_eq!(login(&mut c, SymPassword(100), 11), Resp::KeyDestroyed);
    let delete = Req::Delete {
        user: ALICE,
        registration: a,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        proof: proof(ProofStatement::Delete {
            user: ALICE,
            registration: a,
            nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        }),
    };
    let deleted = c.call(CLIENT, delete, T).expect("an answer to the delete");
    let replayed = c
        .call(CLIENT, withheld, T)
        .expect("an answer to the activation");
    (deleted, replayed, login(&mut c, new_pw, 50))
}

#[test]
fn a_destroyed_record_takes_a_staged_change_with_it() {
    // LOCK-4: the key is gone from the store, not only the registration
    // guessed against; a change staged beside it holds K too (found by an
    // outside reviewer in the product).
    let (deleted, replayed, login) = withheld_activation_after_a_confirmed_delete(None);
    assert!(matches!(deleted, Resp::Deleted { .. }), "{deleted:?}");
    assert!(!matches!(replayed, Resp::Activated { .. }), "{replayed:?}");
    assert!(!matches!(login, Resp::LoginOk { .. }), "{login:?}");
}

#[test]
fn a_destroyed_record_leaves_the_staged_change_on_the_broken_variant() {
    // destroy-keeps-staged: the replayed activation brings K back with a
    // fresh budget after the destruction. (The owner's delete is not
    // confirmed here: the vault does not say "gone" while the staged change,
    // a record of the same K, lives; it names it, `KeyLivesOn`.)
    let (deleted, replayed, login) =
        withheld_activation_after_a_confirmed_delete(Some(VaultFlaw::DestroyKeepsStaged));
    assert!(!matches!(deleted, Resp::Deleted { .. }), "{deleted:?}");
    assert!(
        matches!(replayed, Resp::Activated { remaining: 10, .. }),
        "{replayed:?}"
    );
    assert!(matches!(login, Resp::LoginOk { .. }), "{login:?}");
}

/// ALICE's budget is spent by ten wrong logins; she then stages a
/// password change (with proof of K), which is the last entry to apply,
/// and the cluster goes quiet for two TTLs. Returns whether some node
/// still holds her active or staged record.
fn spent_then_a_change_applies_last(flaw: Option<VaultFlaw>) -> bool {
    let mut config = SimConfig::default();
    config.node.flaw = flaw;
    let mut c = Cluster::new(config, SymbolicCrypto, 14);
    c.run_for(2_000);
    let (a, _, _) = register(&mut c);
    for k in 1..=10u8 {
        login(&mut c, SymPassword(100), k);
    }
    let s = sealed(&mut c, SymPassword(8));
    assert!(matches!(
        c.call(CLIENT, stage(s, Some(a)), T),
        Some(Resp::Staged { .. })
    ));
    c.run_for(60_000);
    c.ids().collect::<Vec<_>>().into_iter().any(|id| {
        c.node(id)
            .and_then(|n| n.store().get(ALICE))
            .is_some_and(|r| r.active.is_some() || r.staged.is_some())
    })
}

#[test]
fn a_spent_record_goes_when_its_users_command_applied_last() {
    // LOCK-4: a command of the user that has applied is no longer in
    // flight; the rule waits only for what has not (the range of entries
    // after the applied index: two mutants of its start survived the
    // sweeps, which never go quiet right after such a command).
    assert!(!spent_then_a_change_applies_last(None));
}

#[test]
fn a_spent_record_stays_when_exhaustion_waits() {
    // exhaustion-waits: no Exhaust until the next new guess.
    assert!(spent_then_a_change_applies_last(Some(
        VaultFlaw::ExhaustionWaits
    )));
}

#[test]
fn a_right_guess_resets_the_budget() {
    let mut c = cluster(3);
    register(&mut c);
    for k in 0..9 {
        login(&mut c, SymPassword(100), k);
    }
    assert!(matches!(
        login(&mut c, PW, 20),
        Resp::LoginOk {
            sealed_key: SymRelease { remaining: 10, .. }
        }
    ));
    assert_eq!(
        login(&mut c, SymPassword(100), 21),
        Resp::WrongPassword { remaining: 9 }
    );
}

#[test]
fn a_leader_crash_between_ke2_and_ke3_costs_the_attempt() {
    let mut c = cluster(4);
    register(&mut c);
    let Some(Resp::Ke2 {
        login, remaining, ..
    }) = c.call(CLIENT, ke1(PW, 1), T)
    else {
        panic!("no KE2");
    };
    assert_eq!(remaining, 9);
    let old = c.leader().unwrap();
    c.crash(old);
    c.run_for(3_000);
    let finish = Req::LoginFinish {
        user: ALICE,
        login,
        ke3: (),
    };
    assert_eq!(c.call(CLIENT, finish, T), Some(Resp::LoginExpired));
    c.restart(old);
    // The attempt was committed before KE2 left: it is not given back. The
    // same KE1 again is the same test: answered, at no further cost (LOCK-5).
    let Some(Resp::Ke2 { remaining, .. }) = c.call(CLIENT, ke1(PW, 1), T) else {
        panic!("no KE2");
    };
    assert_eq!(remaining, 9);
    // A new KE1 is a new test.
    let Some(Resp::Ke2 { remaining, .. }) = c.call(CLIENT, ke1(PW, 2), T) else {
        panic!("no KE2");
    };
    assert_eq!(remaining, 8);
}

#[test]
fn replayed_registration_never_grants_fresh_guesses() {
    // The extra-guess attack class (Davies et al., CRYPTO 2023): the chat
    // server spends guesses, then replays the user's own registration to
    // get a fresh budget against the same password.
    let mut c = cluster(5);
    let (_, stage_msg, activate_msg) = register(&mut c);
    for k in 0..9 {
        login(&mut c, SymPassword(100), k);
    }
    // The registration's ticket is used up: the replay stages nothing.
    assert_eq!(
        c.call(CLIENT, stage_msg, T),
        Some(Resp::Refused(Refusal::StaleTicket))
    );
    // The activation is done already: the same answer, and no refill.
    assert!(matches!(
        c.call(CLIENT, activate_msg, T),
        Some(Resp::Activated { remaining: 1, .. })
    ));
    assert!(matches!(
        c.call(CLIENT, ke1(SymPassword(100), 30), T),
        Some(Resp::Ke2 { remaining: 0, .. })
    ));
}

#[test]
fn an_activation_without_proof_of_key_is_refused() {
    let mut c = cluster(6);
    let sealed = sealed(&mut c, PW);
    let content = sealed.content();
    let Some(Resp::Staged { registration, .. }) = c.call(CLIENT, stage(sealed, None), T) else {
        panic!()
    };
    let statement = ProofStatement::Activate {
        user: ALICE,
        registration,
        content,
    };
    let forged = Req::Activate {
        user: ALICE,
        registration,
        content,
        proof: SymProof {
            key: SymKey(0),
            statement,
        },
    };
    assert_eq!(
        c.call(CLIENT, forged, T),
        Some(Resp::Refused(Refusal::BadProof))
    );
    // A proof naming other content does not activate this one either.
    let other = ContentDigest([1; 32]);
    assert_eq!(
        c.call(CLIENT, activate(registration, other), T),
        Some(Resp::Refused(Refusal::BadProof))
    );
    // Staged but not active: not guessable (REG-2).
    assert_eq!(c.call(CLIENT, ke1(PW, 1), T), Some(Resp::NotRegistered));
}

#[test]
fn password_change_with_proof_keeps_the_old_record_until_activation() {
    let mut c = cluster(7);
    let (old, _, _) = register(&mut c);
    let new_pw = SymPassword(8);
    let new = sealed(&mut c, new_pw);
    let Some(Resp::Staged {
        registration,
        displaced,
        ..
    }) = c.call(CLIENT, stage(new, Some(old)), T)
    else {
        panic!()
    };
    assert!(!displaced);
    assert!(
        matches!(login(&mut c, PW, 1), Resp::LoginOk { .. }),
        "old password until activation"
    );
    assert!(matches!(
        c.call(CLIENT, activate(registration, new.content()), T),
        Some(Resp::Activated { remaining: 10, .. })
    ));
    assert!(matches!(login(&mut c, new_pw, 2), Resp::LoginOk { .. }));
    assert_eq!(login(&mut c, PW, 3), Resp::WrongPassword { remaining: 9 });
}

#[test]
fn delete_needs_proof_and_erases_the_record() {
    let mut c = cluster(8);
    let (registration, _, _) = register(&mut c);
    let bad = Req::Delete {
        user: ALICE,
        registration,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        proof: proof(ProofStatement::Activate {
            user: ALICE,
            registration,
            content: ContentDigest([0; 32]),
        }),
    };
    assert_eq!(
        c.call(CLIENT, bad, T),
        Some(Resp::Refused(Refusal::BadProof))
    );
    let good = Req::Delete {
        user: ALICE,
        registration,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        proof: proof(ProofStatement::Delete {
            user: ALICE,
            registration,
            nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        }),
    };
    assert!(matches!(
        c.call(CLIENT, good.clone(), T),
        Some(Resp::Deleted { registration: r, .. }) if r == registration
    ));
    assert_eq!(login(&mut c, PW, 1), Resp::NotRegistered);
    // A replayed delete finds the registration gone, and says so again.
    assert!(matches!(
        c.call(CLIENT, good, T),
        Some(Resp::Deleted { registration: r, .. }) if r == registration
    ));
}

#[test]
fn a_follower_redirects_and_the_cluster_survives_a_minority_down() {
    let mut c = cluster(9);
    register(&mut c);
    let leader = c.leader().unwrap();
    let others: Vec<NodeId> = c.ids().filter(|i| *i != leader).take(2).collect();
    for o in &others {
        c.crash(*o);
    }
    assert!(matches!(login(&mut c, PW, 1), Resp::LoginOk { .. }));
    c.crash(leader);
    c.run_for(3_000);
    // Two of five are up: no quorum, no answers.
    assert_eq!(c.call(CLIENT, ke1(PW, 2), 3_000), None);
    c.restart(others[0]);
    c.run_for(3_000);
    assert!(matches!(login(&mut c, PW, 3), Resp::LoginOk { .. }));
}

#[test]
fn the_same_seed_replays_identically() {
    let run = |seed| {
        let mut c = cluster(seed);
        register(&mut c);
        login(&mut c, SymPassword(3), 1);
        (c.now(), c.events_processed(), c.leader())
    };
    assert_eq!(run(10), run(10));
    assert_ne!(run(10).1, run(11).1);
}
