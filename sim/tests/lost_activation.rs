//! A device whose registration went (destroyed by guessing, or displaced
//! by its own fresh staging) turns password mode on again and stages a new
//! registration of the same K; the run fails after the verified `Staged`
//! (every `Activated` lost, or the `Activate` held back by the chat
//! server), so the device keeps naming the registration that went. When
//! the user turns backups off, the vault must not answer "gone" for it
//! while the new record of the same K lives: the device would forget K
//! while the vault keeps (or, at a replayed activation, brings back) a
//! guessable record of it (REG-2). Five-node simulated cluster, real
//! OPAQUE, the real client state machine; the chat server forwards,
//! answers, drops or rewrites each request and answer.
//!
//! A reviewer looking for real bugs found the vault answering "gone";
//! each scenario has its twin on the broken variant `gone-despite-live-key`.
//!
//! The first fix refused such a delete. The simulator then found (seed 296)
//! a device whose fresh staging the chat server held back and delivered
//! later: the live record was one the device never heard of, so its
//! deletion could never be confirmed. The vault now names the live record
//! of the proof's key (`KeyLivesOn`), and the device deletes it; the
//! held-back-staging scenario has its twin on `key-lives-on-refused`.

mod support;

use backup_vault::client::{ClientError, Completed, Operation};
use backup_vault::flaws::VaultFlaw;
use support::{world, Req, Resp};

const PASSWORD: &str = "tiger-lily-42";
const NEW_PASSWORD: &str = "second-password-7";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// The old record destroyed by guessing; every Activated answer lost.
    DestroyedActivatedLost,
    /// The old record live; the chat server answers the device's
    /// Stage-with-proof itself with a forged "unknown registration"
    /// (refusals are not authenticated), so the device stages afresh and
    /// displaces its own record; every Activated answer lost.
    ForgedRefusalActivatedLost,
    /// The old record destroyed by guessing; the chat server holds back the
    /// device's Activate (the device gives up), and replays it after the
    /// device's disable was confirmed.
    DestroyedActivationHeldBack,
}

/// The device's registration r1 goes (destroyed by guessing, or displaced
/// by the device's own fresh staging); the device turns password mode on
/// again, stages r2 afresh (same K, new password), and its run fails after
/// the Staged answer (Activated lost, or Activate held back). The device
/// keeps naming r1. When the user turns backups off, the vault answers the
/// delete of r1 from its tombstone with an authenticated "gone", so the
/// device forgets K, while r2, which holds the same K, is (or becomes)
/// active and guessable. Returns whether the vault still releases the
/// device's K after the device forgot it.
fn run_forgotten_live_record(how: How, flaw: Option<VaultFlaw>) -> bool {
    let mut w = world(7, flaw);
    let mut device = w.registered_device(PASSWORD);
    let k = device.state().key.clone().expect("K");
    let r1 = device.state().registration.expect("r1");

    if how != How::ForgedRefusalActivatedLost {
        for i in 0..10 {
            let (resp, _) = w.login(&format!("wrong-{i}"));
            assert!(matches!(resp, Resp::Ke2 { .. }), "{resp:?}");
        }
        let (resp, _) = w.login("wrong-final");
        assert!(matches!(resp, Resp::KeyDestroyed), "{resp:?}");
    }

    let (res, held) = w.enable_obstructed(
        &mut device,
        NEW_PASSWORD,
        how == How::ForgedRefusalActivatedLost,
        |req| how == How::DestroyedActivationHeldBack && matches!(req, Req::Activate { .. }),
        true,
    );
    assert!(matches!(res, Err(ClientError::VaultUnavailable)), "{res:?}");
    assert_eq!(
        device.state().registration,
        Some(r1),
        "the device still names r1"
    );

    // Faults heal. The user turns backups off; the chat server relays it.
    // The outcome is judged by what the device then holds: K forgotten
    // (the vault said "gone") or kept (`DeleteUnconfirmed`).
    let _ = w.run_plain(&mut device, Operation::Disable);
    w.cluster.run_for(5_000);
    let forgot = device.state().key.is_none();

    if let Some(activate) = held {
        w.call(activate);
    }
    // Whoever knows (or guesses) the new password gets the device's K.
    let (_, released) = w.login(NEW_PASSWORD);
    let same_k = released == Some(k);
    forgot && same_k
}

const FORGOT: &str =
    "REG-2: the device forgot K while the vault holds, or brings back, a guessable record of it";

#[test]
fn a_destroyed_registration_with_its_successor_live_is_not_said_gone() {
    assert!(
        !run_forgotten_live_record(How::DestroyedActivatedLost, None),
        "{FORGOT}"
    );
}

#[test]
fn a_displaced_registration_with_its_successor_live_is_not_said_gone() {
    assert!(
        !run_forgotten_live_record(How::ForgedRefusalActivatedLost, None),
        "{FORGOT}"
    );
}

#[test]
fn a_destroyed_registration_with_its_successor_held_back_is_not_said_gone() {
    assert!(
        !run_forgotten_live_record(How::DestroyedActivationHeldBack, None),
        "{FORGOT}"
    );
}

const BROKEN: Option<VaultFlaw> = Some(VaultFlaw::GoneDespiteLiveKey);

#[test]
fn a_destroyed_registration_is_said_gone_on_the_broken_variant() {
    assert!(run_forgotten_live_record(
        How::DestroyedActivatedLost,
        BROKEN
    ));
}

#[test]
fn a_displaced_registration_is_said_gone_on_the_broken_variant() {
    assert!(run_forgotten_live_record(
        How::ForgedRefusalActivatedLost,
        BROKEN
    ));
}

#[test]
fn a_held_back_activation_brings_the_key_back_on_the_broken_variant() {
    assert!(run_forgotten_live_record(
        How::DestroyedActivationHeldBack,
        BROKEN
    ));
}

/// The device's registration r1 is live. It turns password mode on again
/// with a new password: the chat server answers its staging with a proof
/// of K by a forged "unknown registration", so it stages afresh (without a
/// proof, which would displace r1), and holds that staging back; the
/// device gives up, still naming r1. Later the chat server delivers the
/// staging: r2, of the same K, displaces r1. The device never heard of
/// r2. When the user turns backups off, the vault must point the delete
/// of r1 at r2 (`KeyLivesOn`), so that the device deletes r2 and forgets
/// K: saying "gone" would break REG-2, and a plain refusal leaves the
/// device unable ever to turn backups off (LIVE-5). Returns the two
/// disables' results, whether the device still holds K, and what a login
/// with the new password then gets.
fn run_held_back_staging(
    flaw: Option<VaultFlaw>,
) -> (
    Result<Completed, ClientError>,
    Result<Completed, ClientError>,
    bool,
    Resp,
) {
    let mut w = world(11, flaw);
    let mut device = w.registered_device(PASSWORD);
    let r1 = device.state().registration.expect("r1");

    let (res, held) = w.enable_obstructed(
        &mut device,
        NEW_PASSWORD,
        true,
        |req| {
            matches!(
                req,
                Req::Stage {
                    replacing: None,
                    ..
                }
            )
        },
        false,
    );
    assert!(res.is_err(), "{res:?}");
    assert_eq!(device.state().registration, Some(r1), "the device names r1");
    let staged = w.call(held.expect("a staging held back"));
    assert!(
        matches!(
            staged,
            Resp::Staged {
                displaced: true,
                ..
            }
        ),
        "{staged:?}"
    );

    // Faults heal; the user turns backups off, and once more if that
    // failed.
    let first = w.run_plain(&mut device, Operation::Disable);
    let second = w.run_plain(&mut device, Operation::Disable);
    let kept = device.state().key.is_some();
    let (login, _) = w.login(NEW_PASSWORD);
    (first, second, kept, login)
}

#[test]
fn a_held_back_staging_of_the_key_is_deleted_by_the_disable() {
    let (first, _, kept, login) = run_held_back_staging(None);
    assert!(
        matches!(first, Ok(Completed::Disabled { .. })),
        "LIVE-5: the disable must be confirmed: {first:?}"
    );
    assert!(!kept, "the device forgot K");
    assert!(
        matches!(login, Resp::NotRegistered),
        "REG-2: no record of K is left: {login:?}"
    );
}

#[test]
fn a_held_back_staging_blocks_every_disable_if_refused() {
    let (first, second, kept, _) = run_held_back_staging(Some(VaultFlaw::KeyLivesOnRefused));
    assert!(
        matches!(first, Err(ClientError::DeleteUnconfirmed)),
        "{first:?}"
    );
    assert!(
        matches!(second, Err(ClientError::DeleteUnconfirmed)),
        "{second:?}"
    );
    assert!(kept, "the device keeps K for good");
}
