//! The `vault_node` target's own checks, shown to work and to bite.

use backup_vault::flaws::VaultFlaw;
use backup_vault::vault::crypto::{
    OprfKeyId, RegistrationId, SymBlinded, SymEval, SymKey, SymPassword, SymRelease, SymbolicCrypto,
};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::protocol::{ClientResponse, LoginId};
use backup_vault_fuzz::prng::SplitMix64;
use backup_vault_fuzz::vault_node::{
    run, run_with, Lock1Checker, Request, Script, Step, Violation,
};
use std::collections::BTreeMap;

type Resp = ClientResponse<SymbolicCrypto>;

fn request(request: Request) -> Step {
    Step::Request { user: 0, request }
}

/// Register (and sync so it commits), then `logins` (guess, blind) logins,
/// each synced.
fn script(limit: u8, logins: &[(u8, u8)]) -> Script {
    let mut steps = vec![
        request(Request::Stage {
            password: 1,
            key: 0,
            replacing: None,
        }),
        Step::Sync,
        request(Request::Activate {
            registration: 0,
            key: 0,
            right_purpose: true,
        }),
        Step::Sync,
    ];
    for (guess, blind) in logins {
        steps.push(request(Request::LoginStart {
            guess: *guess,
            blind: *blind,
        }));
        steps.push(Step::Sync);
    }
    Script {
        seed: 1,
        limit: limit - 1,
        steps,
    }
}

#[test]
fn a_real_node_stops_at_the_limit() {
    // limit 3: three new KE1s get KE2, the fourth destroys the record, the
    // fifth and sixth find it destroyed.
    let logins = [(2, 0), (2, 1), (2, 2), (2, 3), (3, 0), (3, 1)];
    let out = run(&script(3, &logins));
    assert_eq!(out.violation, None);
    assert_eq!(out.ke2, 3, "{out:?}");
    assert_eq!(out.destroyed, 3, "{out:?}");
}

#[test]
fn a_resent_ke1_is_answered_and_costs_nothing() {
    // limit 3: the same KE1 six times is one test: six KE2, no destruction.
    let out = run(&script(3, &[(2, 0); 6]));
    assert_eq!(out.violation, None);
    assert_eq!((out.ke2, out.destroyed), (6, 0), "{out:?}");
}

#[test]
fn registration_probes_are_caught_when_they_evaluate_under_the_record_key() {
    // Two logins, then registration requests with new guesses: under the
    // record's key (the broken variant) they are tests, and the third
    // overshoots the limit of 3; under fresh keys they test nothing.
    let mut s = script(3, &[(2, 0), (2, 1)]);
    for guess in 0..3 {
        s.steps.push(request(Request::Probe { guess, blind: 1 }));
    }
    assert_eq!(run(&s).violation, None, "fresh keys: no test");
    let caught = run_with(&s, Some(VaultFlaw::RegistrationOracle));
    assert!(
        matches!(
            caught.violation,
            Some(Violation::Lock1 {
                tests: 4,
                limit: 3,
                ..
            })
        ),
        "{caught:?}"
    );
}

#[test]
fn a_registration_from_a_substituted_evaluation_is_caught_when_staged() {
    // Bit 2 of the stage's key: the password file was made from a relay's
    // evaluation. The correct node refuses it; the broken variant stages it.
    let mut s = script(3, &[]);
    if let Step::Request {
        request: Request::Stage { key, .. },
        ..
    } = &mut s.steps[0]
    {
        *key = 4;
    }
    assert_eq!(run(&s).violation, None, "refused");
    let caught = run_with(&s, Some(VaultFlaw::UncheckedRegistrationTranscript));
    assert!(
        matches!(
            caught.violation,
            Some(Violation::ForeignEvaluationStaged { .. })
        ),
        "{caught:?}"
    );
}

fn ke2(blind: u8) -> Resp {
    Resp::Ke2 {
        login: LoginId(1),
        ke2: SymEval {
            key: OprfKeyId([1; 16]),
            input: SymBlinded {
                password: SymPassword(9),
                blind,
            },
        },
        remaining: 0,
    }
}

#[test]
fn the_lock1_checker_bites() {
    let mut c = Lock1Checker::default();
    let u = UserId(1);
    let keys = BTreeMap::from([(RegistrationId(1), OprfKeyId([1; 16]))]);
    for blind in 0..3 {
        assert_eq!(c.observe(u, &ke2(blind), &keys, 3), None);
    }
    // The same input again is the same test.
    assert_eq!(c.observe(u, &ke2(0), &keys, 3), None);
    assert_eq!(
        c.observe(u, &ke2(3), &keys, 3),
        Some(Violation::Lock1 {
            user: u,
            tests: 4,
            limit: 3
        })
    );
    // A proof about the record of that key resets the count.
    let mut c = Lock1Checker::default();
    for blind in 0..3 {
        c.observe(u, &ke2(blind), &keys, 3);
    }
    let ok = Resp::LoginOk {
        sealed_key: SymRelease {
            key: SymKey(1),
            registration: RegistrationId(1),
            remaining: 3,
        },
    };
    assert_eq!(c.observe(u, &ok, &keys, 3), None);
    assert_eq!(c.observe(u, &ke2(3), &keys, 3), None);
    // After destruction, a KE2 is a LOCK-4 violation.
    c.observe(u, &Resp::KeyDestroyed, &keys, 3);
    assert_eq!(
        c.observe(u, &ke2(4), &keys, 3),
        Some(Violation::Lock4 { user: u })
    );
}

#[test]
fn random_scripts_never_violate() {
    let mut rng = SplitMix64::new(99);
    let mut ke2 = 0;
    for len in [32usize, 128, 512, 2048].into_iter().cycle().take(400) {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let script = Script::decode(&bytes);
        let out = run(&script);
        assert_eq!(out.violation, None, "{script:?}");
        ke2 += out.ke2;
    }
    assert!(ke2 > 0, "random scripts reach the login code");
}

#[test]
fn the_seeds_reach_the_lockout_code() {
    let mut destroyed = 0;
    for s in backup_vault_fuzz::seeds::vault_node_seeds() {
        let out = run(&Script::decode(&s.bytes));
        assert_eq!(out.violation, None, "{}", s.name);
        assert!(out.ke2 > 0, "{}: {out:?}", s.name);
        destroyed += out.destroyed;
    }
    assert!(destroyed > 0, "some seed exhausts a budget");
}

#[test]
fn records_in_the_clear_are_caught() {
    // The broken variant writes its disk records in the clear: the first
    // sync (the node's own election, before any request) hands the host one.
    let s = script(3, &[(2, 0)]);
    assert_eq!(run(&s).violation, None);
    let caught = run_with(&s, Some(VaultFlaw::UnsealedStorage));
    assert_eq!(caught.violation, Some(Violation::ClearRecord), "{caught:?}");
}

#[test]
fn a_disk_reads_back_whole_across_compactions_and_restarts() {
    // snapshot_every is 4 in the target, and a destroyed record compacts
    // at once: the disk is rewritten several times, and each restart starts
    // a new segment after the last. Every restart reads every record back.
    let mut s = script(1, &[(2, 0)]);
    s.steps.push(Step::Crash);
    s.steps.extend([
        request(Request::LoginStart { guess: 2, blind: 1 }),
        Step::Sync,
        Step::Crash,
        request(Request::Stage {
            password: 3,
            key: 0,
            replacing: None,
        }),
        Step::Sync,
        Step::Crash,
        Step::Crash,
    ]);
    let out = run(&s);
    assert_eq!(out.violation, None, "{out:?}");
    assert_eq!(out.destroyed, 1, "{out:?}");
}
