//! What confirms a disable, so that a device forgets K only once no record
//! of K lives (REG-2), and always can once none does (LIVE-5). Each
//! scenario was a bug found by a reviewer, or while judging that report,
//! and each has a twin on the broken variant that reopens it.
//!
//! - A key-mode device turns password mode on; the vault activates the
//!   registration but the `Activated` is lost (or the chat server holds the
//!   `Activate` back). The device names the registration from its
//!   authentic `Staged` on, so its disable asks the vault to delete it.
//!   Variant: `staged-left-unnamed`.
//! - A crash after a `KeyLivesOn` hop, once the vault deleted the live
//!   record, leaves the device naming an earlier registration: the vault
//!   answers "gone" for any registration that is not live once no record
//!   of the proof's key lives. Variant: `gone-only-for-the-last-gone`.
//! - The chat server withholds the vault's authentic "gone" and replays it
//!   at a later disable, after the device staged a new registration of the
//!   same K whose `Activate` it holds back; or it earns a "gone" then with
//!   its own delete under a foreign proof, which the vault cannot check
//!   against a tombstone. The "gone" names the delete's proof, which covers
//!   a fresh nonce: the device takes only the answer to its own delete.
//!   Variant: `gone-for-any-proof`. Nor does a "gone" that names its proof
//!   but another registration: the chat server renames the device's delete
//!   to a registration of K that went, and the vault, which checks the
//!   proof against no live record under that name, answers "gone".

mod support;

use backup_vault::client::{Client, ClientError, Completed, Operation};
use backup_vault::flaws::{ClientFlaw, VaultFlaw};
use support::{world, Req, Resp, Route};

const PASSWORD: &str = "tiger-lily-42";

/// The key-mode scenario: returns whether REG-2 was broken, the device's
/// disable ending with K forgotten while a login with the password
/// releases it.
fn key_mode_forgets_a_live_key(hold_back: bool, flaw: Option<ClientFlaw>) -> bool {
    let mut w = world(7, None);
    w.config.flaw = flaw;
    let mut device = Client::new(support::USER, w.config);
    let shown = w.run_plain(&mut device, Operation::EnableKeyMode);
    assert!(matches!(shown, Ok(Completed::KeyShown { .. })), "{shown:?}");
    let k = device.state().key.clone().expect("K");

    let (res, held) = w.enable_obstructed(
        &mut device,
        PASSWORD,
        false,
        |req| hold_back && matches!(req, Req::Activate { .. }),
        true,
    );
    assert!(matches!(res, Err(ClientError::VaultUnavailable)), "{res:?}");
    assert_eq!(device.state().registration.is_some(), flaw.is_none());
    assert_eq!(device.state().key.as_ref(), Some(&k));

    // Faults heal; the user turns backups off.
    let off = w.run_plain(&mut device, Operation::Disable);
    w.cluster.run_for(5_000);
    let forgot = matches!(off, Ok(Completed::Disabled { .. })) && device.state().key.is_none();
    if let Some(activate) = held {
        let _ = w.call(activate);
    }
    let (_, released) = w.login(PASSWORD);
    forgot && released == Some(k)
}

#[test]
fn key_mode_disable_after_lost_activation_leaves_no_record_of_k() {
    assert!(
        !key_mode_forgets_a_live_key(false, None),
        "REG-2: the device forgot K (disable confirmed) while the vault releases K to the password"
    );
}

#[test]
fn key_mode_disable_after_held_back_activation_leaves_no_record_of_k() {
    assert!(
        !key_mode_forgets_a_live_key(true, None),
        "REG-2: the device forgot K (disable confirmed) while the vault releases K to the password (activation held back)"
    );
}

#[test]
fn a_key_mode_device_naming_no_staged_registration_forgets_a_live_key() {
    let flaw = Some(ClientFlaw::StagedLeftUnnamed);
    assert!(key_mode_forgets_a_live_key(false, flaw));
    assert!(key_mode_forgets_a_live_key(true, flaw));
}

/// A password change whose `Activated` is lost leaves the device naming r1
/// while r2 (same K) is active. The disable follows KeyLivesOn{r1, r2} and
/// the vault deletes r2; the answer is lost and the device crashes (its
/// state reverts to the operation's start: r1). Every later disable
/// names r1 again, which did not go last, though no record of K lives
/// and every fault has healed. Returns how the two disables after the
/// crash ended, and the answer to a login with the new password.
fn disables_after_a_crash_past_the_hop(
    flaw: Option<VaultFlaw>,
) -> (
    Result<Completed, ClientError>,
    Result<Completed, ClientError>,
    Resp,
) {
    let mut w = world(9, flaw);
    let mut device = w.registered_device(PASSWORD);
    let r1 = device.state().registration.expect("r1");
    let res = w.run_routed(
        &mut device,
        Operation::ChangePassword {
            new_password: "second-password-7".into(),
        },
        &mut |_| Route::Forward,
        &mut |_, resp| match resp {
            Resp::Activated { .. } => Resp::Retry,
            other => other,
        },
    );
    assert!(res.is_err(), "{res:?}");
    assert_eq!(device.state().registration, Some(r1));
    let saved = device.state().clone();
    // The disable: the delete of r2 applies, its answer is lost, the device crashes.
    let mut hop = false;
    let _ = w.run_routed(
        &mut device,
        Operation::Disable,
        &mut |req| match req {
            Req::Delete { registration, .. } if *registration != r1 => {
                hop = true;
                Route::Forward
            }
            _ => Route::Forward,
        },
        &mut |req, resp| match (req, resp) {
            (Req::Delete { registration, .. }, Resp::Deleted { .. }) if *registration != r1 => {
                Resp::Retry
            }
            (_, other) => other,
        },
    );
    assert!(hop, "the disable followed KeyLivesOn to r2");
    let mut device = Client::from_state(saved, w.config);
    assert_eq!(device.state().registration, Some(r1));
    // Faults heal: the user turns backups off, twice.
    let first = w.run_plain(&mut device, Operation::Disable);
    let second = w.run_plain(&mut device, Operation::Disable);
    let (login, _) = w.login("second-password-7");
    (first, second, login)
}

#[test]
fn a_disable_after_a_crash_past_the_hop_is_confirmed() {
    let (first, second, login) = disables_after_a_crash_past_the_hop(None);
    assert!(
        matches!(login, Resp::NotRegistered),
        "no record of K lives: {login:?}"
    );
    assert!(
        matches!(first, Ok(Completed::Disabled { .. })),
        "LIVE-5: no record of K lives, faults healed, and the disable fails: {first:?} / {second:?}"
    );
}

#[test]
fn a_gone_said_only_for_the_last_gone_blocks_every_disable_after_the_crash() {
    let (first, second, login) =
        disables_after_a_crash_past_the_hop(Some(VaultFlaw::GoneOnlyForTheLastGone));
    assert!(matches!(login, Resp::NotRegistered), "{login:?}");
    assert!(
        matches!(first, Err(ClientError::DeleteUnconfirmed))
            && matches!(second, Err(ClientError::DeleteUnconfirmed)),
        "{first:?} / {second:?}"
    );
}

/// The chat server keeps an authentic "gone" it withheld and replays it
/// later: the device's first disable deletes r1, the chat server answers
/// "retry" in place of every `Deleted`, and the disable fails with K kept
/// and r1 named. The user sets a new password: r1 is gone, so the device
/// stages r2 (same K) afresh, and the chat server holds its `Activate`
/// back. At the next disable the chat server answers with the old
/// `Deleted` of r1, authentic, but naming the proof of the first disable's
/// delete. A device that took it would forget K, and the held `Activate`
/// would then make r2 guessable (REG-2). Returns whether it did.
fn a_replayed_gone_makes_the_device_forget_a_live_key(flaw: Option<ClientFlaw>) -> bool {
    let new_password = "second-password-7";
    let mut w = world(13, None);
    w.config.flaw = flaw;
    let mut device = w.registered_device(PASSWORD);
    let k = device.state().key.clone().expect("K");
    let r1 = device.state().registration.expect("r1");

    let mut captured: Option<Resp> = None;
    let first = w.run_routed(
        &mut device,
        Operation::Disable,
        &mut |_| Route::Forward,
        &mut |_, resp| match resp {
            Resp::Deleted { .. } => {
                captured.get_or_insert(resp);
                Resp::Retry
            }
            other => other,
        },
    );
    assert!(first.is_err(), "{first:?}");
    assert_eq!(device.state().registration, Some(r1));
    let captured = captured.expect("an authentic gone for r1");

    let (change, held) = w.enable_obstructed(
        &mut device,
        new_password,
        false,
        |req| matches!(req, Req::Activate { .. }),
        false,
    );
    assert!(change.is_err(), "{change:?}");
    assert_eq!(device.state().registration, Some(r1));

    disable_answered_with(&mut w, &mut device, captured, held, new_password, &k)
}

#[test]
fn a_replayed_gone_answer_confirms_no_disable() {
    assert!(
        !a_replayed_gone_makes_the_device_forget_a_live_key(None),
        "REG-2: the device forgot K on a replayed gone while the vault releases K to the new password"
    );
}

#[test]
fn a_device_taking_a_gone_for_any_proof_forgets_a_live_key_on_a_replay() {
    assert!(a_replayed_gone_makes_the_device_forget_a_live_key(Some(
        ClientFlaw::GoneForAnyProof
    )));
}

/// The same attack without a replay: the vault cannot check a proof
/// against a tombstone, so it says "gone" for a gone registration to
/// anyone, naming the proof it was sent. The device's r1 is displaced by
/// its own fresh staging r2 (same K), whose `Activate` the chat server
/// holds back; the chat server sends its own delete of r1 with a proof
/// made under another key, gets the authentic "gone" (no record verifies
/// that proof, so none counts as the key's), and answers the device's
/// disable with it. A device that took it would forget K, and the held
/// activation would make r2 guessable (REG-2). Returns whether it did.
fn a_foreign_proofs_gone_makes_the_device_forget_a_live_key(flaw: Option<ClientFlaw>) -> bool {
    use backup_vault::key::BackupKey;
    use backup_vault::vault::crypto::{DeleteNonce, ProofStatement, DELETE_NONCE_LEN};
    use rand_chacha::rand_core::SeedableRng;

    let new_password = "second-password-7";
    let mut w = world(17, None);
    w.config.flaw = flaw;
    let mut device = w.registered_device(PASSWORD);
    let k = device.state().key.clone().expect("K");
    let r1 = device.state().registration.expect("r1");

    let (change, held) = w.enable_obstructed(
        &mut device,
        new_password,
        true,
        |req| matches!(req, Req::Activate { .. }),
        false,
    );
    assert!(change.is_err(), "{change:?}");
    assert_eq!(device.state().registration, Some(r1));

    let other = BackupKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(99));
    let statement = ProofStatement::Delete {
        user: support::USER,
        registration: r1,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
    };
    let earned = w.call(Req::Delete {
        user: support::USER,
        registration: r1,
        nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
        proof: backup_vault::client::crypto::prove(&other, &statement),
    });
    assert!(matches!(earned, Resp::Deleted { .. }), "{earned:?}");
    disable_answered_with(&mut w, &mut device, earned, held, new_password, &k)
}

#[test]
fn a_gone_earned_with_a_foreign_proof_confirms_no_disable() {
    assert!(
        !a_foreign_proofs_gone_makes_the_device_forget_a_live_key(None),
        "REG-2: the device forgot K on a gone earned with a foreign proof while the vault releases K to the new password"
    );
}

#[test]
fn a_device_taking_a_gone_for_any_proof_forgets_a_live_key_on_a_foreign_proofs_gone() {
    assert!(a_foreign_proofs_gone_makes_the_device_forget_a_live_key(
        Some(ClientFlaw::GoneForAnyProof)
    ));
}

/// The user turns backups off and the chat server answers the device's
/// delete with `gone`; then it delivers the `Activate` it held back.
/// Returns whether REG-2 broke: the device forgot `k` while a login with
/// `new_password` releases it.
fn disable_answered_with(
    w: &mut support::World,
    device: &mut Client,
    gone: Resp,
    held: Option<Req>,
    new_password: &str,
    k: &backup_vault::key::BackupKey,
) -> bool {
    let _ = w.run_routed(
        device,
        Operation::Disable,
        &mut |req| match req {
            Req::Delete { .. } => Route::Answer(Box::new(gone.clone())),
            _ => Route::Forward,
        },
        &mut |_, resp| resp,
    );
    let forgot = device.state().key.is_none();
    if let Some(activate) = held {
        let _ = w.call(activate);
    }
    let (_, released) = w.login(new_password);
    forgot && released.as_ref() == Some(k)
}

/// The chat server renames the device's delete: its r1 was displaced by
/// its own fresh staging r2 (same K) after a forged refusal, and r2 was
/// activated with the `Activated` lost, so the device names r1. Its
/// disable follows `KeyLivesOn` to r2, and the chat server delivers the
/// delete of r2, nonce and proof kept, as a delete of r1: no live record
/// verifies a proof about r1, so the vault answers "gone" for r1, naming
/// the device's proof, under K's tombstone key. The answer comes back as
/// the answer to the delete of r2, `relabelled` to r2 if asked (the tag
/// covers the registration, so the device must refuse that too). A device
/// that took it would forget K while r2 is active (REG-2). Returns whether
/// it did.
fn a_renamed_delete_makes_the_device_forget_a_live_key(relabelled: bool) -> bool {
    let new_password = "second-password-7";
    let mut w = world(19, None);
    let mut device = w.registered_device(PASSWORD);
    let k = device.state().key.clone().expect("K");
    let r1 = device.state().registration.expect("r1");
    let (change, held) = w.enable_obstructed(&mut device, new_password, true, |_| false, true);
    assert!(change.is_err(), "{change:?}");
    assert!(held.is_none());
    assert_eq!(device.state().registration, Some(r1));
    let mut renamed = false;
    let _ = w.run_routed(
        &mut device,
        Operation::Disable,
        &mut |req| match req {
            Req::Delete {
                user,
                registration,
                nonce,
                proof,
            } if *registration != r1 => {
                renamed = true;
                Route::Instead(Box::new(Req::Delete {
                    user: *user,
                    registration: r1,
                    nonce: *nonce,
                    proof: proof.clone(),
                }))
            }
            _ => Route::Forward,
        },
        &mut |req, resp| match (req, resp) {
            (
                Req::Delete { registration, .. },
                Resp::Deleted {
                    registration: _,
                    proof,
                    tag,
                },
            ) if relabelled && *registration != r1 => Resp::Deleted {
                registration: *registration,
                proof,
                tag,
            },
            (_, resp) => resp,
        },
    );
    assert!(renamed, "the disable followed KeyLivesOn to r2");
    let (_, released) = w.login(new_password);
    device.state().key.is_none() && released == Some(k)
}

#[test]
fn a_gone_naming_the_devices_proof_but_another_registration_confirms_no_disable() {
    for relabelled in [false, true] {
        assert!(
            !a_renamed_delete_makes_the_device_forget_a_live_key(relabelled),
            "REG-2: the device forgot K on a gone for another registration (relabelled: {relabelled}) while the vault releases K to the new password"
        );
    }
}
