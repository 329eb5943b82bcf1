//! Two devices of one account against a five-node simulated cluster, real
//! OPAQUE and the real client state machine. The sweeps' second devices
//! (`--second-devices`) share their first device's key and never set up
//! one of their own, so what one device's set-up of a new key does to
//! another is judged here.
//!
//! A device that holds a key keeps it through a password restore (DEV-1:
//! `check/device.rs` allows a password restore to change the key only on a
//! device that had none): the key the vault releases may be another
//! device's, and taking it would lose the backups only this device's key
//! opens. A reviewer looking for real bugs found the client taking it.

mod support;

use backup_vault::client::{Client, ClientError, Completed, Operation};
use backup_vault::flaws::ClientFlaw;
use support::{world, USER};

const PASSWORD: &str = "tiger-lily-42";

/// The old device holds K_A in key mode; a new device of the account turns
/// password mode on with a fresh K_B; the user then runs a password restore
/// on the old device. Under `flaw` on the old device: the restore's result,
/// and whether the old device still holds K_A.
fn restore_on_a_device_with_its_own_key(
    flaw: Option<ClientFlaw>,
) -> (Result<Completed, ClientError>, bool) {
    let mut w = world(11, None);
    let mut old = Client::new(USER, w.config);
    let shown = w.run_plain(&mut old, Operation::EnableKeyMode);
    assert!(matches!(shown, Ok(Completed::KeyShown { .. })), "{shown:?}");
    let k_a = old.state().key.clone().expect("K_A");
    let mut new = Client::new(USER, w.config);
    let enabled = w.run_plain(
        &mut new,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
    );
    assert!(
        matches!(enabled, Ok(Completed::Registered { .. })),
        "{enabled:?}"
    );
    assert_ne!(
        new.state().key,
        Some(k_a.clone()),
        "the new device's key is its own"
    );
    let mut config = w.config;
    config.flaw = flaw;
    let mut old = Client::from_state(old.state().clone(), config);
    let restored = w.run_plain(
        &mut old,
        Operation::RestoreWithPassword {
            password: PASSWORD.into(),
        },
    );
    let kept = old.state().key == Some(k_a);
    (restored, kept)
}

#[test]
fn a_password_restore_keeps_the_devices_own_key() {
    let (restored, kept) = restore_on_a_device_with_its_own_key(None);
    assert!(
        matches!(restored, Err(ClientError::KeyDiffers)),
        "{restored:?}"
    );
    assert!(kept, "DEV-1: the device's own key was replaced");
}

#[test]
fn a_password_restore_replaces_the_devices_own_key_on_the_broken_variant() {
    let (restored, kept) =
        restore_on_a_device_with_its_own_key(Some(ClientFlaw::RestoreReplacesOwnKey));
    assert!(restored.is_err(), "the cloud holds nothing: {restored:?}");
    assert!(!kept, "the broken variant takes the other device's key");
}
