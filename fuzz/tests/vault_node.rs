//! The `vault_node` target's own checks, shown to work and to bite.

use backup_vault::vault::crypto::{RegistrationId, SymKey, SymbolicCrypto};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::protocol::{ClientResponse, LoginId};
use backup_vault_fuzz::prng::SplitMix64;
use backup_vault_fuzz::vault_node::{run, Lock1Checker, Request, Script, Step, Violation};

type Resp = ClientResponse<SymbolicCrypto>;

fn request(request: Request) -> Step {
    Step::Request { user: 0, request }
}

/// Register (and sync so it commits), then `n` wrong logins, each synced.
fn script(limit: u8, n: usize) -> Script {
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
    for _ in 0..n {
        steps.push(request(Request::LoginStart { guess: 2 }));
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
    // limit 3: three KE2, then the record is destroyed; nothing violates.
    let out = run(&script(3, 6));
    assert_eq!(out.violation, None);
    assert_eq!(out.ke2, 3, "{out:?}");
    assert_eq!(
        out.destroyed, 3,
        "the 4th login destroys, the 5th and 6th find it destroyed"
    );
}

#[test]
fn the_lock1_checker_bites() {
    let mut c = Lock1Checker::default();
    let u = UserId(1);
    let ke2 = Resp::Ke2 {
        login: LoginId(1),
        ke2: (),
        remaining: 0,
    };
    for _ in 0..3 {
        assert_eq!(c.observe(u, &ke2, 3), None);
    }
    assert_eq!(
        c.observe(u, &ke2, 3),
        Some(Violation::Lock1 {
            user: u,
            ke2: 4,
            limit: 3
        })
    );
    // A proof resets the count.
    let mut c = Lock1Checker::default();
    for _ in 0..3 {
        c.observe(u, &ke2, 3);
    }
    let ok = Resp::LoginOk {
        sealed_key: SymKey(1),
        registration: RegistrationId(1),
        remaining: 3,
    };
    assert_eq!(c.observe(u, &ok, 3), None);
    assert_eq!(c.observe(u, &ke2, 3), None);
    // After destruction, a KE2 is a LOCK-4 violation.
    c.observe(u, &Resp::KeyDestroyed, 3);
    assert_eq!(c.observe(u, &ke2, 3), Some(Violation::Lock4 { user: u }));
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
