//! `Debug` of a client, its state, its operations and its outputs never
//! shows K, its digits or a password.

use crate::client_common::*;
use backup_vault::client::{Client, Operation, Output};

/// Every 8-digit window of the key's digits.
fn key_windows(text: &str) -> Vec<String> {
    let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    assert_eq!(digits.len(), 64);
    (0..=56).map(|i| digits[i..i + 8].to_owned()).collect()
}

fn assert_clean(shown: &str, windows: &[String], password: &str) {
    assert!(!shown.contains(password), "password in {shown}");
    for w in windows {
        assert!(!shown.contains(w.as_str()), "key digits {w} in {shown}");
    }
}

#[test]
fn debug_of_a_client_mid_flow_shows_no_secret() {
    let mut w = World::new(40);
    let mut phone = w.client(ALICE);
    let text = key_text(&mut w, &mut phone);
    let windows = key_windows(&text);
    let password = "hunter2-very-secret";

    // Mid-registration: the client holds K, the password and OPAQUE state.
    w.start(&mut phone, enable_password(password));
    let mut seen = Vec::new();
    while let Some(out) = phone.poll() {
        match out {
            Output::Vault { call, request, .. } => {
                seen.push(format!("{request:?}"));
                assert_clean(&format!("{phone:?}"), &windows, password);
                assert_clean(&format!("{:?}", phone.state()), &windows, password);
                let Some(resp) = w.vault(request) else { break };
                w.feed_vault(&mut phone, call, resp);
            }
            other => {
                seen.push(format!("{other:?}"));
                break;
            }
        }
    }
    for s in &seen {
        assert_clean(s, &windows, password);
    }

    // Mid-login on a new device: KE2 received, KE3 in flight.
    let mut tablet: Client = w.client(ALICE);
    w.start(&mut tablet, restore_password(password));
    let Some(Output::Vault { call, request, .. }) = tablet.poll() else {
        panic!()
    };
    let ke2 = w.vault(request).unwrap();
    w.feed_vault(&mut tablet, call, ke2);
    assert_clean(&format!("{tablet:?}"), &windows, password);

    // Operations and results.
    let op = restore_key(&text);
    assert_clean(&format!("{op:?}"), &windows, password);
    assert_clean(
        &format!(
            "{:?}",
            Operation::ChangePassword {
                new_password: password.into()
            }
        ),
        &windows,
        password,
    );
    let mut other = w.client(ALICE);
    w.start(&mut other, Operation::EnableKeyMode);
    let shown = format!("{:?}", other.poll());
    assert!(shown.contains("redacted"), "{shown}");
    let other_text = other.state().key.as_ref().unwrap().to_text();
    assert_clean(&shown, &key_windows(&other_text), password);
}
