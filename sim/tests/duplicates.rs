//! Copies of a request in the network: an honest restore with the right
//! password must not fail on duplication alone (LIVE-1). Real crypto, the
//! real client state machine, a simulated 5-node cluster.

mod support;

use backup_vault::client::{Client, ClientError, Completed, Operation};
use backup_vault::flaws::VaultFlaw;
use support::{world, Req, Route, USER};

const PASSWORD: &str = "tiger-lily-42";
/// Seeds tried per scenario (each draws its own delays for the copies).
const SEEDS: u64 = 20;

/// Every `LoginFinish` reaches the leader twice under one request id (a
/// duplicating network), and the device acts on the first answer that
/// arrives; every other vault request goes once.
fn finishes_twice(req: &Req) -> Route {
    match req {
        Req::LoginFinish { .. } => Route::Twice,
        _ => Route::Forward,
    }
}

/// One device turns password mode on; a fresh install of the same account
/// (its key lost) restores by password, with the right one, while the
/// network duplicates each of its `LoginFinish`es. Returns the restore's
/// result and whether the fresh device ends up with the first one's K.
fn restore_with_duplicated_finishes(
    seed: u64,
    flaw: Option<VaultFlaw>,
) -> (Result<Completed, ClientError>, bool) {
    let mut w = world(seed, flaw);
    let mut first = Client::new(USER, w.config);
    let done = w.run_plain(
        &mut first,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
    );
    assert!(matches!(done, Ok(Completed::Registered { .. })), "{done:?}");
    let key = first.state().key.clone().expect("K");
    let mut fresh = Client::new(USER, w.config);
    let restored = w.run_routed(
        &mut fresh,
        Operation::RestoreWithPassword {
            password: PASSWORD.into(),
        },
        &mut finishes_twice,
        &mut |_, r| r,
    );
    let same_key = fresh
        .state()
        .key
        .as_ref()
        .is_some_and(|k| k.expose_secret() == key.expose_secret());
    (restored, same_key)
}

fn login_expired(result: &Result<Completed, ClientError>) -> bool {
    matches!(result, Err(ClientError::Protocol(m)) if m.contains("login-expired"))
}

/// LIVE-1: a copy of the KE3 arriving while the original's `Reset` is in
/// flight is left unanswered, so the device gets the original's `LoginOk`
/// and K, in every seed. (The cloud holds no backup: the restore then ends
/// on the cloud's side, after K.)
#[test]
fn a_duplicated_login_finish_still_restores() {
    for seed in 0..SEEDS {
        let (result, same_key) = restore_with_duplicated_finishes(seed, None);
        assert!(
            same_key && !login_expired(&result),
            "seed {seed}: the right password, each KE3 sent twice, got no K: {result:?}"
        );
    }
}

#[test]
fn a_duplicated_login_finish_fails_the_restore_on_the_broken_variant() {
    // duplicate-finish-expires-login: the copy is answered LoginExpired at
    // once, before the original's LoginOk; the device restarts its login
    // and, after its restarts, fails. Most seeds fail; one suffices.
    let failed: Vec<u64> = (0..SEEDS)
        .filter(|&seed| {
            let flaw = Some(VaultFlaw::DuplicateFinishExpiresLogin);
            let (result, same_key) = restore_with_duplicated_finishes(seed, flaw);
            login_expired(&result) && !same_key
        })
        .collect();
    assert!(!failed.is_empty(), "no seed of 0..{SEEDS} failed");
}
