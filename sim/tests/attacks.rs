//! The attacks of the outside review, run end to end with the real
//! cryptography (OPAQUE with opaque-ke, AES-GCM, HMAC) on a simulated
//! 5-node cluster, by an attacker who is the chat server: it holds the
//! account (it may send any request for the user) and relays everything
//! between the user's device and the vault.
//!
//! Each attack succeeds against the broken variant that reopens its hole,
//! and fails against the correct code:
//! - the offline dictionary attack through the registration oracle
//!   (`registration-oracle`): one login attempt, then free OPRF evaluations
//!   of every candidate password, unmasking the captured KE2 offline;
//! - the substituted evaluation (`unchecked-registration-transcript`): the
//!   chat server answers the device's registration request with an OPRF
//!   evaluation under a key of its own (beside the vault's genuine ticket
//!   and public key, which the device checks), so the password file the
//!   device makes is keyed by the chat server; after one login attempt it
//!   searches the dictionary offline with its own key;
//! - the change revert: the user's password change is replaced in flight
//!   by the user's own old registration, under the proof of K the device
//!   made for the new one, which would give the old password a fresh guess
//!   budget while the device reports the change done (refused twice: the
//!   proof names other content, and the old registration's ticket is spent);
//! - the change hijack (`content-free-proofs`): the chat server forwards a
//!   registration of its own, made under the ticket of the device's change,
//!   under the proof the device made, and so replaces the user's record
//!   without the displacement that tells the device;
//! - the ticket reuse (`proof-stage-reuses-ticket`): the chat server
//!   displaces the user's record with one of its own, and as the holder of
//!   that record's K stages, again and again, a registration under the
//!   user's spent ticket, each a fresh budget of evaluations under the
//!   user's old OPRF key: with one KE2 of the user's record, the dictionary
//!   falls offline;
//! - the ticket forgery (`forgeable-tickets`): the chat server registers
//!   for the account under a genuine ticket whose OPRF key it changed to
//!   the victim's, again and again, and each registration buys a fresh
//!   budget of evaluations under the victim's key: with one KE2 of the
//!   victim's record, the dictionary falls offline.
//!
//! - the unproved delete (`delete-proof-unchecked`): the chat server
//!   deletes the user's record under a proof of K it made with a key of
//!   its own; the real proof check is the only thing in its way (a vault
//!   that accepted every proof passed every other engine of the suite).
//! - the unproven finish (`unverified-finish-resets`): after each wrong
//!   guess's KE2 the chat server sends a KE3 of its own, which proves
//!   nothing; a vault that refilled the budget before checking KE3 would
//!   be guessed for ever.
//!
//! The device is the real client state machine (`backup_vault::client`).

mod support;

use backup_vault::client::crypto::{prove, seal_registration, verifier};
use backup_vault::client::{Client, ClientError, Completed, Operation, Output};
use backup_vault::cloud::StoreError;
use backup_vault::flaws::VaultFlaw;
use backup_vault::key::BackupKey;
use backup_vault::opaque::client as opaque_client;
use backup_vault::opaque::messages::{KE1_LEN, KE2_LEN, KE3_LEN, REGISTRATION_REQUEST_LEN};
use backup_vault::opaque::wrap::WrappedKey;
use backup_vault::opaque::{
    wrap_backup_key, FleetPublicKey, FleetSecrets, Ke1, Ke3, KsfParams, RegistrationRequest,
    RegistrationResponse, RegistrationUpload, SealedToFleet,
};
use backup_vault::vault::binding::{
    content_digest, RegistrationPayload, RegistrationTicket, RegistrationTranscript,
};
use backup_vault::vault::crypto::{
    ContentDigest, DeleteNonce, OprfKeyId, ProofStatement, RegistrationId, TicketClaims,
    DELETE_NONCE_LEN,
};
use backup_vault::vault::opaque_crypto::{credential_id, user_bytes, OpaqueCrypto};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Replacing};
use hkdf::Hkdf;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::Sha512;
use support::{world, World, DEVICE, USER};

type Req = ClientRequest<OpaqueCrypto>;
type Resp = ClientResponse<OpaqueCrypto>;

const T: u64 = support::WAIT_MS;

/// The victim's password, and the attacker's dictionary (90 words, the
/// password among them, not first).
const PASSWORD: &str = "tiger-lily-42";

fn dictionary() -> Vec<String> {
    let mut words: Vec<String> = (0..89).map(|i| format!("common-password-{i}")).collect();
    words.insert(61, PASSWORD.to_string());
    words
}

impl World {
    /// Runs `op` on the device to its end. Every vault request passes
    /// through `relay` (the chat server), which may rewrite it.
    fn run(
        &mut self,
        device: &mut Client,
        op: Operation,
        relay: &mut dyn FnMut(Req) -> Req,
    ) -> Result<Completed, ClientError> {
        self.run_relayed(device, op, relay, &mut |_, response| response)
    }

    /// As [`World::run`], and every answer passes through `answers` (the
    /// chat server again), with the request it answers.
    fn run_relayed(
        &mut self,
        device: &mut Client,
        op: Operation,
        relay: &mut dyn FnMut(Req) -> Req,
        answers: &mut dyn FnMut(&Req, Resp) -> Resp,
    ) -> Result<Completed, ClientError> {
        device.start(op, self.cluster.now(), &mut self.rng);
        loop {
            let Some(output) = device.poll() else {
                // An answer the device ignored (one that did not check
                // out): it waits for its deadline, then sends again.
                let deadline = device.poll_timeout().expect("a running operation waits");
                let now = self.cluster.now().max(deadline);
                device.handle_timeout(now, &mut self.rng);
                continue;
            };
            match output {
                // The scripted cluster finds the leader itself.
                Output::Vault { call, request, .. } => {
                    let request = relay(request);
                    match self.cluster.call(DEVICE, request.clone(), T) {
                        Some(response) => {
                            let response = answers(&request, response);
                            device.on_vault(call, response, self.cluster.now(), &mut self.rng);
                        }
                        None => {
                            let deadline = device.poll_timeout().expect("it waits");
                            let now = self.cluster.now().max(deadline);
                            device.handle_timeout(now, &mut self.rng);
                        }
                    }
                }
                // Only a disable touches the cloud (it deletes the
                // backups): there are none.
                Output::Cloud { call, .. } => {
                    device.on_cloud(
                        call,
                        Err(StoreError::NotFound),
                        self.cluster.now(),
                        &mut self.rng,
                    );
                }
                // A crash here restores the state the test saved itself.
                Output::Persist => {}
                Output::Done(done) => return Ok(done),
                Output::Failed(error) => return Err(error),
            }
        }
    }

    /// The victim's device turns password backups on with [`PASSWORD`],
    /// unhindered: the record is active with its whole budget.
    fn register_victim(&mut self) -> Client {
        let mut device = Client::new(USER, self.config);
        let done = self.run(
            &mut device,
            Operation::EnablePasswordMode {
                password: PASSWORD.into(),
            },
            &mut |r| r,
        );
        assert!(
            matches!(done, Ok(Completed::Registered { remaining: 10 })),
            "{done:?}"
        );
        device
    }
}

impl World {
    /// The chat server registers for the account under a fresh ticket,
    /// without proof of K, and activates its registration: the user's
    /// record is displaced, and the chat server holds the current K.
    /// Returns its registration and the id the vault gave it.
    fn displace(&mut self) -> (OwnRegistration, RegistrationId) {
        let mut fresh_ticket = None;
        let fresh = own_registration(
            self,
            &mut |w, request| match w.call(Req::RegistrationStart {
                user: USER,
                request: request.clone(),
            }) {
                Resp::RegistrationResponse(answer) => {
                    fresh_ticket = Some(answer.ticket);
                    Some(answer.response)
                }
                _ => None,
            },
        )
        .expect("registration requests are answered");
        let (sealed, content) = fresh.seal(self, fresh_ticket.expect("answered above"));
        let Resp::Staged { registration, .. } = self.call(Req::Stage {
            user: USER,
            sealed,
            content,
            replacing: None,
        }) else {
            panic!("the chat server's own registration is staged");
        };
        assert!(fresh.activate(self, registration, content));
        (fresh, registration)
    }
}

/// What the attacker recovers offline from one KE2 and free registration
/// requests: for each candidate, the OPRF evaluation a registration
/// request gets, the masking key a client would derive from it, and the
/// KE2's masked response unmasked with that key. The candidate is the
/// password when the unmasked bytes start with the fleet's public key.
fn dictionary_attack(w: &mut World, ke2: &[u8; KE2_LEN]) -> Option<String> {
    offline_search(w, ke2, &mut |w, request| {
        let Resp::RegistrationResponse(answer) = w.call(Req::RegistrationStart {
            user: USER,
            request: request.clone(),
        }) else {
            panic!("registration requests are answered");
        };
        answer.response
    })
}

/// Tries every word of the dictionary against one KE2, offline: `evaluate`
/// gives the registration response a candidate's request gets, from which
/// the candidate's masking key follows.
fn offline_search(
    w: &mut World,
    ke2: &[u8; KE2_LEN],
    evaluate: &mut dyn FnMut(&mut World, &RegistrationRequest) -> RegistrationResponse,
) -> Option<String> {
    let config = backup_vault::opaque::client::ClientConfig {
        fleet_key: w.fleet_key,
        ksf: KsfParams::CHEAP,
    };
    let masking_nonce = &ke2[REGISTRATION_REQUEST_LEN..REGISTRATION_REQUEST_LEN + 32];
    let masked = &ke2[REGISTRATION_REQUEST_LEN + 32..REGISTRATION_REQUEST_LEN + 32 + 128];
    for candidate in dictionary() {
        let start =
            opaque_client::registration_start(&mut w.rng, &user_bytes(USER), candidate.as_bytes())
                .unwrap();
        let response = evaluate(w, &start.request);
        let done = opaque_client::registration_finish(
            &mut w.rng,
            start.state,
            candidate.as_bytes(),
            &response,
            &config,
        )
        .unwrap();
        // The upload is client public key (32) || masking key (64) || envelope.
        let masking_key = &done.upload.as_bytes()[32..96];
        let mut pad = [0u8; 128];
        Hkdf::<Sha512>::from_prk(masking_key)
            .unwrap()
            .expand_multi_info(&[masking_nonce, b"CredentialResponsePad"], &mut pad)
            .unwrap();
        let server_key: Vec<u8> = masked[..32]
            .iter()
            .zip(&pad[..32])
            .map(|(m, p)| m ^ p)
            .collect();
        if server_key == w.fleet_key.as_bytes() {
            return Some(candidate);
        }
    }
    None
}

/// The victim enables password backups; the chat server spends one guess to
/// capture a KE2, then tries the whole dictionary through registration
/// requests, offline. Returns what it learnt, and the key it then got.
fn run_dictionary_attack(
    flaw: Option<VaultFlaw>,
) -> (Option<String>, Option<BackupKey>, BackupKey) {
    let mut w = world(7, flaw);
    let device = w.register_victim();
    let k = device.state().key.clone().expect("the device has K");
    let (Resp::Ke2 { ke2, remaining, .. }, _) = w.login("a first guess") else {
        panic!("the first guess gets KE2");
    };
    assert_eq!(remaining, 9, "one guess spent");
    let found = dictionary_attack(&mut w, ke2.as_bytes());
    let key = found.as_ref().and_then(|password| {
        let (resp, key) = w.login(password);
        assert!(matches!(resp, Resp::Ke2 { remaining: 8, .. }), "{resp:?}");
        key
    });
    (found, key, k)
}

#[test]
fn the_registration_oracle_gives_an_offline_dictionary_attack_on_the_broken_variant() {
    let (found, key, k) = run_dictionary_attack(Some(VaultFlaw::RegistrationOracle));
    assert_eq!(
        found.as_deref(),
        Some(PASSWORD),
        "the password, from 2 attempts"
    );
    assert_eq!(key, Some(k), "and with it, K");
}

#[test]
fn the_dictionary_attack_fails_on_the_correct_vault() {
    let (found, key, _) = run_dictionary_attack(None);
    assert_eq!(found, None, "registration requests test no password");
    assert_eq!(key, None);
}

/// What the change-revert attack achieved.
#[derive(Debug)]
struct Revert {
    /// The device's password change reported done.
    device_says_changed: bool,
    /// The chat server's guesses left against the old password after the
    /// change, measured by one more wrong guess (9: a fresh budget).
    remaining_after_one_more_guess: u8,
    /// Whether the new password releases K.
    new_password_releases_k: bool,
}

/// The chat server spends 9 of the 10 guesses on the user's password, then
/// the user changes it; the chat server forwards, instead of the new
/// registration, the user's first one, under the proof of K the device made
/// for the new one.
fn run_change_revert(flaw: Option<VaultFlaw>) -> Revert {
    let mut w = world(11, flaw);
    let mut device = Client::new(USER, w.config);
    let mut captured = None;
    let done = w.run(
        &mut device,
        Operation::EnablePasswordMode {
            password: "old password".into(),
        },
        &mut |r| {
            if let Req::Stage { sealed, .. } = &r {
                captured = Some(sealed.clone());
            }
            r
        },
    );
    assert!(done.is_ok(), "{done:?}");
    let old = captured.expect("the first registration was seen");
    for i in 0..9 {
        w.login(&format!("guess {i}"));
    }
    let changed = w.run(
        &mut device,
        Operation::ChangePassword {
            new_password: "new password".into(),
        },
        &mut |r| match r {
            Req::Stage {
                user,
                content,
                replacing: Some(replacing),
                ..
            } => Req::Stage {
                user,
                sealed: old.clone(),
                content,
                replacing: Some(replacing),
            },
            other => other,
        },
    );
    let (guess, _) = w.login("one more guess");
    let remaining_after_one_more_guess = match guess {
        Resp::Ke2 { remaining, .. } => remaining,
        other => panic!("{other:?}"),
    };
    Revert {
        device_says_changed: matches!(changed, Ok(Completed::PasswordChanged)),
        remaining_after_one_more_guess,
        new_password_releases_k: w.login("new password").1.is_some(),
    }
}

#[test]
fn the_change_revert_fails_even_where_proofs_do_not_name_their_content() {
    // The old registration's ticket was spent when it was staged: a change
    // needs an unspent ticket too, so the splice is refused as stale even
    // by a vault that takes the content from the request.
    let r = run_change_revert(Some(VaultFlaw::ContentFreeProofs));
    assert!(!r.device_says_changed, "the device is not fooled: {r:?}");
    assert!(!r.new_password_releases_k, "{r:?}");
    assert_eq!(
        r.remaining_after_one_more_guess, 0,
        "no refill: the 10th guess of the old budget: {r:?}"
    );
}

/// What the change hijack achieved.
#[derive(Debug)]
struct Hijack {
    /// The vault staged the chat server's registration under the device's
    /// proof of K, the user's active record kept, as for a change.
    staged_under_users_proof: bool,
    /// The chat server then activated it with its own K.
    activated: bool,
    /// Whether the user's password still releases K afterwards.
    password_releases_k: bool,
}

/// The user changes its password; the chat server keeps the ticket and the
/// transcript of the registration answer it relays, makes a registration
/// of its own under them (a password and a K of its own), and forwards it
/// instead of the device's, under the proof of K the device made for its
/// own content. The ticket is unspent and genuine and the transcript the
/// vault's: only the content the proof names stands in the way. Staged as
/// a change, the user's record is kept until the chat server activates its
/// own with its own K: the user's record replaced without the displacement
/// that tells the device its record is gone.
fn run_change_hijack(flaw: Option<VaultFlaw>) -> Hijack {
    use backup_vault::vault::binding::RegistrationTicket;
    use std::cell::RefCell;
    let mut w = world(23, flaw);
    let mut device = w.register_victim();
    let fleet_key = w.fleet_key;
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let own_key = BackupKey::generate(&mut rng);
    let last_request: RefCell<Option<RegistrationRequest>> = RefCell::new(None);
    let relayed: RefCell<Option<(RegistrationTranscript, RegistrationTicket)>> = RefCell::new(None);
    let spliced: RefCell<Option<ContentDigest>> = RefCell::new(None);
    let spliced_request: RefCell<Option<Req>> = RefCell::new(None);
    let staged: RefCell<Option<(RegistrationId, ContentDigest)>> = RefCell::new(None);
    let _ = w.run_relayed(
        &mut device,
        Operation::ChangePassword {
            new_password: "new password".into(),
        },
        &mut |r| match r {
            Req::RegistrationStart { ref request, .. } => {
                *last_request.borrow_mut() = Some(request.clone());
                r
            }
            // Every resend of the device's stage gets the same splice.
            Req::Stage { .. } if spliced_request.borrow().is_some() => {
                spliced_request.borrow().clone().expect("checked above")
            }
            Req::Stage {
                user,
                content,
                replacing: Some(replacing),
                ..
            } if relayed.borrow().is_some() => {
                let (transcript, ticket) = relayed.borrow().clone().expect("checked above");
                // Its own password file, finished from the device's
                // evaluation (not of its request), under the device's
                // transcript: the vault cannot tell it from a genuine one.
                let start =
                    opaque_client::registration_start(&mut rng, &user_bytes(USER), OWN_PASSWORD)
                        .unwrap();
                let own = OwnRegistration::finish(
                    &mut rng,
                    fleet_key,
                    start.state,
                    transcript,
                    own_key.clone(),
                );
                let (sealed, _) = own.seal_with(&mut rng, &fleet_key, ticket);
                // The content the stage names is the device's: what the
                // staged record holds, for a vault that takes it as said.
                *spliced.borrow_mut() = Some(content);
                let request = Req::Stage {
                    user,
                    sealed,
                    content,
                    replacing: Some(replacing),
                };
                *spliced_request.borrow_mut() = Some(request.clone());
                request
            }
            other => other,
        },
        &mut |request, response| {
            match (request, &response) {
                (Req::RegistrationStart { .. }, Resp::RegistrationResponse(answer)) => {
                    let request = last_request.borrow().clone().expect("relayed above");
                    *relayed.borrow_mut() = Some((
                        RegistrationTranscript {
                            request,
                            response: answer.response.clone(),
                        },
                        answer.ticket.clone(),
                    ));
                }
                (
                    Req::Stage { .. },
                    Resp::Staged {
                        registration,
                        displaced: false,
                        ..
                    },
                ) => {
                    if let Some(own) = *spliced.borrow() {
                        *staged.borrow_mut() = Some((*registration, own));
                    }
                }
                _ => {}
            }
            response
        },
    );
    let staged = staged.into_inner();
    let activated = staged.is_some_and(|(registration, content)| {
        let proof = prove(
            &own_key,
            &ProofStatement::Activate {
                user: USER,
                registration,
                content,
            },
        );
        matches!(
            w.call(Req::Activate {
                user: USER,
                registration,
                content,
                proof,
            }),
            Resp::Activated { .. }
        )
    });
    Hijack {
        staged_under_users_proof: staged.is_some(),
        activated,
        password_releases_k: w.login(PASSWORD).1.is_some(),
    }
}

#[test]
fn a_spliced_change_replaces_the_record_under_the_users_proof_on_the_broken_variant() {
    let h = run_change_hijack(Some(VaultFlaw::ContentFreeProofs));
    assert!(h.staged_under_users_proof && h.activated, "{h:?}");
    assert!(!h.password_releases_k, "{h:?}");
}

#[test]
fn a_spliced_change_is_refused_by_the_correct_vault() {
    let h = run_change_hijack(None);
    assert!(!h.staged_under_users_proof && !h.activated, "{h:?}");
    assert!(h.password_releases_k, "the user's record is intact: {h:?}");
}

#[test]
fn the_change_revert_fails_on_the_correct_vault() {
    let r = run_change_revert(None);
    assert!(!r.device_says_changed, "the device is not fooled: {r:?}");
    assert!(!r.new_password_releases_k, "{r:?}");
    assert_eq!(
        r.remaining_after_one_more_guess, 0,
        "no refill: the 10th guess of the old budget: {r:?}"
    );
}

/// The chat server answers the device's first registration request with an
/// evaluation under its own key, keeping the vault's ticket and public key;
/// then it spends one guess to capture a KE2 and searches the dictionary
/// offline, evaluating each candidate under that same key. Returns whether
/// the device reported the registration done, and what the search found.
fn run_substituted_evaluation(flaw: Option<VaultFlaw>) -> (bool, Option<String>) {
    let mut w = world(13, flaw);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let chat_server = OpaqueCrypto::new(FleetSecrets::generate(&mut rng));
    let mut key_id: Option<OprfKeyId> = None;
    let mut substituted = false;
    let mut device = Client::new(USER, w.config);
    let done = w.run_relayed(
        &mut device,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
        &mut |r| r,
        &mut |request, response| match (request, response) {
            (Req::RegistrationStart { request, .. }, Resp::RegistrationResponse(mut answer))
                if !substituted =>
            {
                substituted = true;
                let id = answer.ticket.claims.key;
                key_id = Some(id);
                let own = chat_server
                    .evaluate(&credential_id(USER, &id), request)
                    .unwrap();
                let mut bytes = answer.response.as_bytes().to_vec();
                bytes[..REGISTRATION_REQUEST_LEN]
                    .copy_from_slice(&own.as_bytes()[..REGISTRATION_REQUEST_LEN]);
                answer.response = RegistrationResponse::from_bytes(&bytes).unwrap();
                Resp::RegistrationResponse(answer)
            }
            (_, response) => response,
        },
    );
    let registered = matches!(done, Ok(Completed::Registered { .. }));
    let id = key_id.expect("the device asked to register");
    let (Resp::Ke2 { ke2, remaining, .. }, _) = w.login("a first guess") else {
        panic!("the first guess gets KE2");
    };
    assert_eq!(remaining, 9, "one guess spent");
    let fleet_key = w.fleet_key;
    let found = offline_search(&mut w, ke2.as_bytes(), &mut |_, request| {
        let own = chat_server
            .evaluate(&credential_id(USER, &id), request)
            .unwrap();
        let mut bytes = own.as_bytes().to_vec();
        bytes[REGISTRATION_REQUEST_LEN..].copy_from_slice(fleet_key.as_bytes());
        RegistrationResponse::from_bytes(&bytes).unwrap()
    });
    (registered, found)
}

#[test]
fn a_substituted_evaluation_gives_an_offline_dictionary_attack_on_the_broken_variant() {
    let (registered, found) =
        run_substituted_evaluation(Some(VaultFlaw::UncheckedRegistrationTranscript));
    assert!(registered, "the device believes it registered");
    assert_eq!(
        found.as_deref(),
        Some(PASSWORD),
        "the password, from 1 attempt and the chat server's own key"
    );
}

#[test]
fn a_substituted_evaluation_is_refused_by_the_correct_vault() {
    // The vault refuses the registration made from the substituted
    // evaluation; the device starts over and registers under the vault's
    // key, against which the chat server's own key tests nothing.
    let (registered, found) = run_substituted_evaluation(None);
    assert!(registered, "the device registers on its second try");
    assert_eq!(found, None, "the chat server's key tests nothing");
}

/// What the ticket forgery achieved.
#[derive(Debug)]
struct Forgery {
    /// Registrations the vault staged under a forged ticket.
    forged_stages: usize,
    /// Evaluations under the victim's OPRF key the chat server got.
    evaluations: usize,
    /// The password the offline search found.
    found: Option<String>,
}

/// One OPRF evaluation of `request` under the key of the user's active
/// registration, bought with a login attempt whose KE1 carries the request
/// as its blinded element: the bytes of the registration response it makes
/// (the evaluation, then the fleet's public key). `None` when no login is
/// possible.
fn evaluate_by_login(w: &mut World, request: &RegistrationRequest) -> Option<Vec<u8>> {
    let start = opaque_client::login_start(&mut w.rng, &user_bytes(USER), b"any password").unwrap();
    let mut ke1 = [0u8; KE1_LEN];
    ke1.copy_from_slice(start.ke1.as_bytes());
    ke1[..REGISTRATION_REQUEST_LEN].copy_from_slice(request.as_bytes());
    let Resp::Ke2 { ke2, .. } = w.call(Req::LoginStart {
        user: USER,
        ke1: Ke1::from_bytes(&ke1).unwrap(),
    }) else {
        return None;
    };
    let mut bytes = ke2.as_bytes()[..REGISTRATION_REQUEST_LEN].to_vec();
    bytes.extend_from_slice(w.fleet_key.as_bytes());
    Some(bytes)
}

/// The chat server's own registration for the account: its password file,
/// its own K and K wrapped for that password file, and the transcript of
/// the evaluation it was made from.
#[derive(Clone)]
struct OwnRegistration {
    upload: RegistrationUpload,
    key: BackupKey,
    wrapped: WrappedKey,
    transcript: RegistrationTranscript,
}

/// The chat server's own password (it knows it: the record is its own).
const OWN_PASSWORD: &[u8] = b"the chat server's own";

/// Makes the chat server's own registration from the evaluation `evaluate`
/// gives its registration request; `None` if it gives none.
fn own_registration(
    w: &mut World,
    evaluate: &mut dyn FnMut(&mut World, &RegistrationRequest) -> Option<RegistrationResponse>,
) -> Option<OwnRegistration> {
    let start =
        opaque_client::registration_start(&mut w.rng, &user_bytes(USER), OWN_PASSWORD).unwrap();
    let response = evaluate(w, &start.request)?;
    let key = BackupKey::generate(&mut w.rng);
    let transcript = RegistrationTranscript {
        request: start.request,
        response,
    };
    let fleet_key = w.fleet_key;
    Some(OwnRegistration::finish(
        &mut w.rng,
        fleet_key,
        start.state,
        transcript,
        key,
    ))
}

impl OwnRegistration {
    /// The chat server's registration with K `key`, its password file
    /// finished (from the registration `state` began) with the response of
    /// `transcript`, which it carries.
    fn finish(
        rng: &mut ChaCha20Rng,
        fleet_key: FleetPublicKey,
        state: opaque_client::ClientRegistrationState,
        transcript: RegistrationTranscript,
        key: BackupKey,
    ) -> OwnRegistration {
        let config = backup_vault::opaque::client::ClientConfig {
            fleet_key,
            ksf: KsfParams::CHEAP,
        };
        let done = opaque_client::registration_finish(
            rng,
            state,
            OWN_PASSWORD,
            &transcript.response,
            &config,
        )
        .unwrap();
        let wrapped = wrap_backup_key(&done.export_key, &user_bytes(USER), &key, rng);
        OwnRegistration {
            upload: done.upload,
            key,
            wrapped,
            transcript,
        }
    }

    /// Sealed to the fleet under `ticket`: the request's content.
    fn seal(&self, w: &mut World, ticket: RegistrationTicket) -> (SealedToFleet, ContentDigest) {
        let fleet_key = w.fleet_key;
        self.seal_with(&mut w.rng, &fleet_key, ticket)
    }

    /// As [`OwnRegistration::seal`], with an RNG and fleet key of its own.
    fn seal_with(
        &self,
        rng: &mut ChaCha20Rng,
        fleet_key: &FleetPublicKey,
        ticket: RegistrationTicket,
    ) -> (SealedToFleet, ContentDigest) {
        let sealed = seal_registration(
            rng,
            fleet_key,
            USER,
            RegistrationPayload {
                upload: self.upload.clone(),
                wrapped_key: self.wrapped.clone(),
                verifier: verifier(&self.key, USER),
                ticket,
                transcript: self.transcript.clone(),
            },
        );
        let content = content_digest(&sealed);
        (sealed, content)
    }

    /// Activates `registration` of `content` with a proof of its own K.
    fn activate(
        &self,
        w: &mut World,
        registration: RegistrationId,
        content: ContentDigest,
    ) -> bool {
        let proof = prove(
            &self.key,
            &ProofStatement::Activate {
                user: USER,
                registration,
                content,
            },
        );
        matches!(
            w.call(Req::Activate {
                user: USER,
                registration,
                content,
                proof,
            }),
            Resp::Activated { .. }
        )
    }
}

/// The chat server's state in the ticket forgery: the victim's OPRF key id,
/// and its own registration made from an evaluation under that key.
struct Forger {
    victim_key: OprfKeyId,
    made: Option<OwnRegistration>,
    forged_stages: usize,
    evaluations: usize,
}

impl Forger {
    /// An evaluation under the active registration's key, counted.
    fn evaluate(&mut self, w: &mut World, request: &RegistrationRequest) -> Option<Vec<u8>> {
        let bytes = evaluate_by_login(w, request)?;
        self.evaluations += 1;
        Some(bytes)
    }

    /// Registers for the account under a genuine fresh ticket whose key is
    /// changed to the victim's (the MAC kept), from its own password file
    /// made from an evaluation under that key. Whether the vault activated it.
    fn reregister(&mut self, w: &mut World) -> bool {
        if self.made.is_none() {
            self.made = own_registration(w, &mut |w, request| {
                let bytes = self.evaluate(w, request)?;
                Some(RegistrationResponse::from_bytes(&bytes).unwrap())
            });
            if self.made.is_none() {
                return false;
            }
        }
        // A genuine ticket, for the sequence number and a MAC.
        let own = opaque_client::registration_start(&mut w.rng, &user_bytes(USER), b"x").unwrap();
        let Resp::RegistrationResponse(answer) = w.call(Req::RegistrationStart {
            user: USER,
            request: own.request,
        }) else {
            panic!("registration requests are answered");
        };
        let ticket = RegistrationTicket {
            claims: TicketClaims {
                key: self.victim_key,
                ..answer.ticket.claims
            },
            mac: answer.ticket.mac,
        };
        let made = self.made.clone().expect("made above");
        let (sealed, content) = made.seal(w, ticket);
        let Resp::Staged { registration, .. } = w.call(Req::Stage {
            user: USER,
            sealed,
            content,
            replacing: None,
        }) else {
            return false;
        };
        self.forged_stages += 1;
        made.activate(w, registration, content)
    }
}

/// The victim enables password backups; the chat server, which saw the
/// victim's ticket go by, spends one guess to capture a KE2, then searches
/// the dictionary offline, buying each candidate's evaluation under the
/// victim's OPRF key with a login against a registration of its own made
/// under a forged ticket for that key, re-registered whenever its budget
/// runs out.
fn run_ticket_forgery(flaw: Option<VaultFlaw>) -> Forgery {
    let mut w = world(17, flaw);
    let mut device = Client::new(USER, w.config);
    let mut victim_key = None;
    let done = w.run_relayed(
        &mut device,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
        &mut |r| r,
        &mut |_, response| {
            if let Resp::RegistrationResponse(answer) = &response {
                victim_key = Some(answer.ticket.claims.key);
            }
            response
        },
    );
    assert!(matches!(done, Ok(Completed::Registered { .. })), "{done:?}");
    let (Resp::Ke2 { ke2, .. }, _) = w.login("a first guess") else {
        panic!("the first guess gets KE2");
    };
    let mut forger = Forger {
        victim_key: victim_key.expect("the device registered"),
        made: None,
        forged_stages: 0,
        evaluations: 0,
    };
    let mut active = false;
    let found = offline_search(&mut w, ke2.as_bytes(), &mut |w, request| {
        for _ in 0..2 {
            if active {
                if let Some(bytes) = forger.evaluate(w, request) {
                    return RegistrationResponse::from_bytes(&bytes).unwrap();
                }
            }
            active = forger.reregister(w);
        }
        // No evaluation under the victim's key to be had: the candidate is
        // evaluated under a fresh key, which tests nothing.
        let Resp::RegistrationResponse(answer) = w.call(Req::RegistrationStart {
            user: USER,
            request: request.clone(),
        }) else {
            panic!("registration requests are answered");
        };
        answer.response
    });
    Forgery {
        forged_stages: forger.forged_stages,
        evaluations: forger.evaluations,
        found,
    }
}

#[test]
fn a_forged_ticket_gives_an_offline_dictionary_attack_on_the_broken_variant() {
    let f = run_ticket_forgery(Some(VaultFlaw::ForgeableTickets));
    assert_eq!(f.found.as_deref(), Some(PASSWORD), "{f:?}");
    assert!(
        f.evaluations > 10 && f.forged_stages > 1,
        "more evaluations under the victim's key than its budget: {f:?}"
    );
}

#[test]
fn a_forged_ticket_is_refused_by_the_correct_vault() {
    let f = run_ticket_forgery(None);
    assert_eq!(f.forged_stages, 0, "{f:?}");
    assert_eq!(f.found, None, "{f:?}");
}

/// What the ticket reuse achieved.
#[derive(Debug)]
struct TicketReuse {
    /// Registrations the vault staged under the victim's spent ticket.
    restages: usize,
    /// Evaluations under the victim's OPRF key the chat server got after it
    /// displaced the victim's record.
    evaluations: usize,
    /// The password the offline search found.
    found: Option<String>,
}

/// The victim enables password backups, and the chat server, which relays
/// the answer, keeps the ticket (genuine, MACed, naming the victim's OPRF
/// key). It spends one guess to capture a KE2 and a second to have its own
/// registration request evaluated under the victim's key; then it registers
/// for the account under a fresh ticket of its own (no proof: the victim's
/// record is displaced) and activates it, so that it holds the current K.
/// As that K's holder it stages, with a proof of K, its registration made
/// from the victim-key evaluation under the victim's spent ticket, and
/// activates it: a record under the victim's key with a fresh budget, and
/// each login against it evaluates a candidate under that key. Whenever the
/// budget runs low it stages again (a new seal, a new content) and the
/// dictionary falls offline.
fn run_ticket_reuse(flaw: Option<VaultFlaw>) -> TicketReuse {
    let mut w = world(19, flaw);
    let mut device = Client::new(USER, w.config);
    let mut victim_ticket = None;
    let done = w.run_relayed(
        &mut device,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
        &mut |r| r,
        &mut |_, response| {
            if let Resp::RegistrationResponse(answer) = &response {
                victim_ticket = Some(answer.ticket.clone());
            }
            response
        },
    );
    assert!(matches!(done, Ok(Completed::Registered { .. })), "{done:?}");
    let victim_ticket = victim_ticket.expect("the device registered");
    let (Resp::Ke2 { ke2, .. }, _) = w.login("a first guess") else {
        panic!("the first guess gets KE2");
    };
    let under_victim_key = own_registration(&mut w, &mut |w, request| {
        evaluate_by_login(w, request).map(|b| RegistrationResponse::from_bytes(&b).unwrap())
    })
    .expect("the second guess gets KE2");
    // The chat server's first registration, under a fresh ticket: it
    // displaces the victim's record, and makes the chat server K's holder.
    let (fresh, mut active) = w.displace();
    let mut holder = fresh;
    let mut reuse = TicketReuse {
        restages: 0,
        evaluations: 0,
        found: None,
    };
    let mut left = 0u8;
    reuse.found = offline_search(&mut w, ke2.as_bytes(), &mut |w, request| {
        if left <= 1 {
            // Stage under the victim's spent ticket, proving the current K.
            let (sealed, content) = under_victim_key.seal(w, victim_ticket.clone());
            let proof = prove(
                &holder.key,
                &ProofStatement::Replace {
                    user: USER,
                    active,
                    content,
                },
            );
            if let Resp::Staged { registration, .. } = w.call(Req::Stage {
                user: USER,
                sealed,
                content,
                replacing: Some(Replacing {
                    registration: active,
                    proof,
                }),
            }) {
                reuse.restages += 1;
                if under_victim_key.activate(w, registration, content) {
                    active = registration;
                    holder = under_victim_key.clone();
                    left = 10;
                }
            }
        }
        if left > 1 {
            if let Some(bytes) = evaluate_by_login(w, request) {
                left -= 1;
                reuse.evaluations += 1;
                return RegistrationResponse::from_bytes(&bytes).unwrap();
            }
        }
        // No evaluation under the victim's key to be had: the candidate is
        // evaluated under a fresh key, which tests nothing.
        let Resp::RegistrationResponse(answer) = w.call(Req::RegistrationStart {
            user: USER,
            request: request.clone(),
        }) else {
            panic!("registration requests are answered");
        };
        answer.response
    });
    reuse
}

#[test]
fn a_reused_ticket_gives_an_offline_dictionary_attack_on_the_broken_variant() {
    let r = run_ticket_reuse(Some(VaultFlaw::ProofStageReusesTicket));
    assert_eq!(r.found.as_deref(), Some(PASSWORD), "{r:?}");
    assert!(
        r.evaluations > 10 && r.restages > 1,
        "more evaluations under the victim's key than its budget: {r:?}"
    );
}

#[test]
fn a_reused_ticket_is_refused_by_the_correct_vault() {
    let r = run_ticket_reuse(None);
    assert_eq!(r.restages, 0, "{r:?}");
    assert_eq!(r.evaluations, 0, "{r:?}");
    assert_eq!(r.found, None, "{r:?}");
}

/// What the chat server's delete without K achieved.
#[derive(Debug)]
struct UnprovedDelete {
    /// The vault's answer to the delete.
    answer: Resp,
    /// Whether the user's password still releases K afterwards.
    password_releases_k: bool,
}

/// The chat server, which holds the account but never K, deletes the
/// user's record under a proof it made with a key of its own. The vault
/// checks every proof of K against the verifier the registration stored
/// (`VaultCrypto::verify_proof`: an HMAC under that verifier, which only
/// K derives). No other engine of the suite hands the real verifier a
/// proof made without K: the simulator's devices prove with their own
/// keys, and the model's crypto is symbolic.
fn run_unproved_delete(flaw: Option<VaultFlaw>) -> UnprovedDelete {
    let mut w = world(13, flaw);
    let mut device = Client::new(USER, w.config);
    let mut active = None;
    let done = w.run(
        &mut device,
        Operation::EnablePasswordMode {
            password: "a password".into(),
        },
        &mut |r| {
            if let Req::Activate { registration, .. } = &r {
                active = Some(*registration);
            }
            r
        },
    );
    assert!(done.is_ok(), "{done:?}");
    let registration = active.expect("the activation was seen");
    let own_key = BackupKey::generate(&mut w.rng);
    let nonce = DeleteNonce([1; DELETE_NONCE_LEN]);
    let proof = prove(
        &own_key,
        &ProofStatement::Delete {
            user: USER,
            registration,
            nonce,
        },
    );
    let answer = w.call(Req::Delete {
        user: USER,
        registration,
        nonce,
        proof,
    });
    UnprovedDelete {
        answer,
        password_releases_k: w.login("a password").1.is_some(),
    }
}

#[test]
fn a_delete_proved_without_k_destroys_the_record_on_the_broken_variant() {
    let d = run_unproved_delete(Some(VaultFlaw::DeleteProofUnchecked));
    assert!(matches!(d.answer, Resp::Deleted { .. }), "{d:?}");
    assert!(!d.password_releases_k, "{d:?}");
}

#[test]
fn a_delete_proved_without_k_is_refused_by_the_correct_vault() {
    let d = run_unproved_delete(None);
    assert!(
        !matches!(d.answer, Resp::Deleted { .. }),
        "a delete without K was carried out: {d:?}"
    );
    assert!(
        d.password_releases_k,
        "the record is gone after a delete without K: {d:?}"
    );
}

/// How a disable ended when the chat server answered it with a genuine
/// "deleted" tag of another registration.
#[derive(Debug)]
struct GoneTag {
    /// How the device's disable ended.
    disable: Result<Completed, ClientError>,
    /// Whether the user's password still releases K afterwards.
    password_releases_k: bool,
}

/// Every registration a device makes with one K has the same reply key (it
/// is derived from K's verifier), so a "deleted" answer's tag must name the
/// registration it says is gone. The chat server displaces the device's
/// registration with one of its own, then deletes the displaced one (a gone
/// registration's delete needs no proof: it is a resend's answer) and keeps
/// the genuine "deleted" tag it gets. The device sets its password up again,
/// with the same K. When it turns backups off, the chat server holds its
/// delete back and answers "deleted" for the new registration with the kept
/// tag. A tag that did not name the registration would pass: the device
/// forgets K while its record stays guessable. Neither the simulator's
/// forger (it puts on a forged answer the last genuine tag it relayed,
/// whatever its statement) nor the model (its tags are symbolic) makes this
/// forgery.
fn run_gone_tag() -> GoneTag {
    let mut w = world(23, None);
    let mut device = w.register_victim();
    let first = device.state().registration.expect("the device registered");
    w.displace();
    let nonce = DeleteNonce([2; DELETE_NONCE_LEN]);
    let no_proof = prove(
        &BackupKey::generate(&mut w.rng),
        &ProofStatement::Delete {
            user: USER,
            registration: first,
            nonce,
        },
    );
    let (kept_proof, kept) = match w.call(Req::Delete {
        user: USER,
        registration: first,
        nonce,
        proof: no_proof.clone(),
    }) {
        Resp::Deleted { proof, tag, .. } => (proof, tag),
        other => panic!("a displaced registration's delete is answered: {other:?}"),
    };
    let again = w.run(
        &mut device,
        Operation::EnablePasswordMode {
            password: PASSWORD.into(),
        },
        &mut |r| r,
    );
    assert!(
        matches!(again, Ok(Completed::Registered { .. })),
        "{again:?}"
    );
    let second = device
        .state()
        .registration
        .expect("the device registered again");
    assert_ne!(first, second);
    let disable = w.run_relayed(
        &mut device,
        Operation::Disable,
        &mut |r| match r {
            // Held back: the vault sees the old registration's delete.
            Req::Delete { .. } => Req::Delete {
                user: USER,
                registration: first,
                nonce,
                proof: no_proof.clone(),
            },
            other => other,
        },
        &mut |request, response| match request {
            Req::Delete { .. } => Resp::Deleted {
                registration: second,
                proof: kept_proof,
                tag: kept.clone(),
            },
            _ => response,
        },
    );
    GoneTag {
        disable,
        password_releases_k: w.login(PASSWORD).1.is_some(),
    }
}

#[test]
fn a_deleted_tag_of_another_registration_ends_no_disable() {
    let g = run_gone_tag();
    assert!(
        !matches!(g.disable, Ok(Completed::Disabled { .. })),
        "the device took another registration's tag for its delete: {g:?}"
    );
    assert!(g.password_releases_k, "the record stays: {g:?}");
}

/// The chat server keeps a captured KE1's key-exchange half (its client
/// nonce and ephemeral key) and puts its own guess's blinded element in
/// front: a new password test under the record's OPRF key, which must cost
/// a guess like any other. A vault that named a login by its key-exchange
/// half alone would take the splice for a free resend of the first login
/// and evaluate the guess for nothing, again and again. Returns the
/// remaining guesses the two answers reported.
fn run_spliced_ke1() -> (u8, Option<u8>) {
    let mut w = world(11, None);
    w.register_victim();
    let first =
        opaque_client::login_start(&mut w.rng, &user_bytes(USER), b"a first guess").unwrap();
    let Resp::Ke2 { remaining, .. } = w.call(Req::LoginStart {
        user: USER,
        ke1: first.ke1.clone(),
    }) else {
        panic!("the first guess gets KE2");
    };
    let guess =
        opaque_client::login_start(&mut w.rng, &user_bytes(USER), b"a second guess").unwrap();
    let mut spliced = *first.ke1.as_bytes();
    spliced[..32].copy_from_slice(&guess.ke1.as_bytes()[..32]);
    assert_eq!(spliced.len(), KE1_LEN);
    let spliced = Ke1::from_bytes(&spliced).expect("a blinded element and a key-exchange half");
    match w.call(Req::LoginStart {
        user: USER,
        ke1: spliced,
    }) {
        Resp::Ke2 { remaining: r, .. } => (remaining, Some(r)),
        // Refused outright: no evaluation, no guess.
        _ => (remaining, None),
    }
}

#[test]
fn a_spliced_ke1_costs_a_guess_like_any_other() {
    let (first, second) = run_spliced_ke1();
    assert_eq!(first, 9, "the first guess costs one");
    assert!(
        second.is_none_or(|r| r == 8),
        "the spliced KE1 was evaluated without costing a guess: {second:?} left"
    );
}

/// The chat server relays the owner's successful login and keeps its KE1
/// and KE3. Later, with guesses of its own spent, it resends that KE1 (the
/// proven one, which stays answerable so that a restore whose `LoginOk`
/// was lost can finish) and puts the kept KE3 on the new login. A KE3
/// proves the password only for the KE2 it answers, and the vault makes
/// each KE2 with fresh randomness: the replay must not verify, or it would
/// refill the budget without a proof, again and again, and the guesses
/// would never run out. Returns the answer to the replayed KE3 and the
/// guesses the next wrong guess reports left.
fn run_replayed_login() -> (Resp, u8) {
    let mut w = world(13, None);
    let mut device = w.register_victim();
    let (mut start, mut finish) = (None, None);
    let _ = w.run(
        &mut device,
        Operation::RestoreWithPassword {
            password: PASSWORD.into(),
        },
        &mut |r| {
            match &r {
                Req::LoginStart { ke1, .. } => start = Some(ke1.clone()),
                Req::LoginFinish { ke3, .. } => finish = Some(ke3.clone()),
                _ => {}
            }
            r
        },
    );
    let (ke1, ke3) = (start.expect("a KE1"), finish.expect("a KE3"));
    for k in 0..3 {
        let (answer, key) = w.login(&format!("a guess {k}"));
        assert!(
            matches!(answer, Resp::Ke2 { .. }) && key.is_none(),
            "{answer:?}"
        );
    }
    let Resp::Ke2 { login, .. } = w.call(Req::LoginStart { user: USER, ke1 }) else {
        panic!("the proven KE1 stays answerable");
    };
    let replayed = w.call(Req::LoginFinish {
        user: USER,
        login,
        ke3,
    });
    let (next, _) = w.login("one more guess");
    let Resp::Ke2 { remaining, .. } = next else {
        panic!("a new guess gets KE2: {next:?}");
    };
    (replayed, remaining)
}

#[test]
fn a_replayed_login_transcript_proves_nothing() {
    let (replayed, remaining) = run_replayed_login();
    assert!(
        !matches!(replayed, Resp::LoginOk { .. }),
        "a replayed KE3 verified: {replayed:?}"
    );
    assert_eq!(
        remaining, 6,
        "the budget was refilled without a proof (10, 3 guesses, the replay, one more)"
    );
}

/// What the chat server's guesses, each finished with a KE3 of its own,
/// achieved.
#[derive(Debug)]
struct UnprovenFinishes {
    /// The wrong guesses the vault tested (each answered with a KE2).
    tests: usize,
    /// The vault's answers to the KE3s.
    finishes: Vec<Resp>,
    /// The answer that ended the guessing (a login start not answered
    /// with a KE2), if one did.
    end: Option<Resp>,
    /// Whether the user's password still releases K afterwards.
    password_releases_k: bool,
}

/// The chat server guesses the user's password, and after each wrong
/// guess's KE2 it sends a KE3 of its own for that login: random bytes of a
/// KE3's length, which prove nothing (its client cannot open the envelope
/// with a wrong password, so it has no real KE3 to send). Only a verified
/// KE3 may refill the budget (LOCK-3): after the limit's worth of guesses
/// the next login start must destroy the record. A vault that proposed the
/// `Reset` before checking KE3 would refill the budget on each of these
/// finishes and be guessed for ever. No sweep's adversary sends such a
/// KE3: the guesser's client gives up after a wrong guess's KE2, and the
/// replayer's KE3s are copies of finished logins'. Three budgets' worth of
/// guesses at most.
fn run_unproven_finishes(flaw: Option<VaultFlaw>) -> UnprovenFinishes {
    let mut w = world(29, flaw);
    w.register_victim();
    let limit = 10;
    let (mut tests, mut finishes, mut end) = (0, Vec::new(), None);
    for k in 0..3 * limit {
        let guess = opaque_client::login_start(
            &mut w.rng,
            &user_bytes(USER),
            format!("guess {k}").as_bytes(),
        )
        .unwrap();
        let login = match w.call(Req::LoginStart {
            user: USER,
            ke1: guess.ke1,
        }) {
            Resp::Ke2 { login, .. } => login,
            other => {
                end = Some(other);
                break;
            }
        };
        tests += 1;
        let mut garbage = [0u8; KE3_LEN];
        w.rng.fill_bytes(&mut garbage);
        let ke3 = Ke3::from_bytes(&garbage).expect("a KE3 is any 64 bytes");
        finishes.push(w.call(Req::LoginFinish {
            user: USER,
            login,
            ke3,
        }));
    }
    UnprovenFinishes {
        tests,
        finishes,
        end,
        password_releases_k: w.login(PASSWORD).1.is_some(),
    }
}

#[test]
fn a_ke3_that_proves_nothing_refills_the_budget_on_the_broken_variant() {
    let u = run_unproven_finishes(Some(VaultFlaw::UnverifiedFinishResets));
    assert_eq!(u.tests, 30, "every guess was tested: {u:?}");
    assert!(u.end.is_none(), "{u:?}");
    assert!(u.password_releases_k, "the record lives on: {u:?}");
}

#[test]
fn a_ke3_that_proves_nothing_leaves_the_budget_spent() {
    let u = run_unproven_finishes(None);
    assert!(
        u.finishes
            .iter()
            .all(|f| matches!(f, Resp::WrongPassword { .. })),
        "a KE3 that proves nothing was answered otherwise: {u:?}"
    );
    assert_eq!(
        u.tests, 10,
        "the chat server's own KE3s bought it guesses past the limit of 10: {u:?}"
    );
    assert!(
        matches!(u.end, Some(Resp::KeyDestroyed)),
        "the guess past the limit did not destroy the record: {u:?}"
    );
    assert!(
        !u.password_releases_k,
        "the record outlived its budget: {u:?}"
    );
}
