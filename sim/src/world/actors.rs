//! The world's actors: each honest user's device, and three adversaries,
//! all driving the implementation's own sans-IO [`Client`] where they act
//! as a client.
//!
//! - An honest device enables key or password mode, backs up generated
//!   chat archives, restores, changes its password and disables, at random
//!   times; it may crash mid-flow and resume from its saved state. Its
//!   user remembers the password typed into a set-up or change whose end
//!   the device never saw, and logs in with it once the vault holds it.
//! - The guesser acts as a user's account (the chat server): it runs logins
//!   with wrong passwords, and now and then with the right one.
//! - The replayer captures honest devices' vault requests and sends them
//!   again later, sometimes under another user's name (and races captured
//!   KE3s straight away).
//! - The re-registrar enables password mode for a user from a fresh device,
//!   with its own key and password (which must never buy guesses against
//!   the user's real key).

use super::check::conduct::{Reply, Sent};
use super::check::device::{self, Kind, Writes};
use super::check::secrets::SecretKind;
use super::check::told;
use super::nemesis::Rewrite;
use super::scenario::FaultKind;
use super::trace::Party;
use super::{Ev, Phase, World, FINAL_MS, SIM_CHUNK};
use crate::cluster::Delivered;
use backup_vault::archive::{self, ArchiveSpec};
use backup_vault::client::crypto::{prove, seal_registration, verifier};
use backup_vault::client::layout::{backup_key, decode_manifest, manifest_key, parse_backup_key};
use backup_vault::client::{
    CallId, Client, ClientError, CloudOp, CloudReply, Completed, DeviceState, Mode, Operation,
    Output, Password,
};
use backup_vault::cloud::{ObjectStore, StoreError};
use backup_vault::format::header::HEADER_LEN;
use backup_vault::format::Generation;
use backup_vault::format::TAG_LEN;
use backup_vault::invariant::Invariant;
use backup_vault::key::BackupKey;
use backup_vault::opaque::messages::REGISTRATION_REQUEST_LEN;
use backup_vault::opaque::wrap::{SEAL_VERSION, SESSION_SEALED_KEY_LEN};
use backup_vault::opaque::{
    wrap_backup_key, RegistrationRequest, RegistrationResponse, ReplyTag, SealedToFleet,
    SessionSealedKey,
};
use backup_vault::vault::binding::{
    content_digest, RegistrationPayload, RegistrationTicket, RegistrationTranscript,
};
use backup_vault::vault::crypto::{
    DeleteNonce, ProofStatement, RegistrationId, VaultCrypto, DELETE_NONCE_LEN,
};
use backup_vault::vault::ids::{Millis, NodeId, UserId};
use backup_vault::vault::node::{ClientId, RequestId};
use backup_vault::vault::opaque_crypto::{
    credential_id, user_bytes, OpaqueCrypto, VaultRegistrationResponse,
};
use backup_vault::vault::protocol::{ClientRequest, ClientResponse, Replacing};
use backup_vault::vault::records::ActiveRecord;
use bytes::Bytes;
use rand_chacha::rand_core::RngCore;
use std::collections::BTreeSet;
use zeroize::Zeroizing;

/// What an actor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Honest,
    Guesser,
    Replayer,
    Reregistrar,
}

/// What the final phase checks with an actor's operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FinalCheck {
    /// LIVE-5: a backup on a device that keeps its key succeeds; the
    /// device's final restore follows it.
    Backup,
    /// LIVE-5: a device in password mode whose record is gone (destroyed,
    /// or replaced by another registration) sets its password up again;
    /// its final login follows.
    Reenable,
    /// LIVE-1 (login with the right password) and DUR-1.
    Login,
    /// DUR-1 with the 64-digit key.
    Key,
    /// LIVE-5: a device that restored turns encrypted backups off; the
    /// vault's authenticated `Deleted` must come and the flow must finish.
    Disable,
}

/// The operation an actor is running.
struct Op {
    name: &'static str,
    f: Option<&'static str>,
    plaintext: Option<Bytes>,
    final_check: Option<FinalCheck>,
    /// What the user asked (DEV-1).
    kind: Kind,
    /// The device's saved state when the operation began: the generation
    /// it had acknowledged (DUR-1), the registration it held (REG-2), and
    /// what DEV-1 judges the state after against.
    before: DeviceState,
    /// The backup objects it wrote (DEV-1).
    writes: Writes,
    /// Begun before every fault healed and still running when the final
    /// restores began: it must end within their time too (LIVE-1), or a
    /// client that waits forever would be exempt from every final check.
    must_finish: bool,
    /// `obstruct-clients` stands in its way while faults are on.
    obstructed: bool,
    /// A backup that put its bytes on a name at least once.
    put_backup_object: bool,
    /// A restore with digits acted on an answer that held a backup object
    /// put under other digits (DEV-2).
    received_other_key: bool,
    /// A restore acted on an answer that held a backup object of its
    /// folder damaged on the way (DEV-2).
    received_damaged: bool,
    /// An answer the chat server forged reached the device (`intercept`):
    /// a disable then may end "not confirmed", as it must on the vault's
    /// unauthenticated word (LIVE-5 excuses only that).
    received_forgery: bool,
    /// A restore: the generations the last listing it was served named,
    /// and those it fetched (DUR-1: it skips no newer one it was shown).
    listed: BTreeSet<Generation>,
    fetched: BTreeSet<Generation>,
    /// A restore: the manifest it was served, as bytes (DUR-1: it skips no
    /// newer generation its own manifest names, whatever the listing).
    manifest_read: Option<Vec<u8>>,
}

/// How many typed passwords of unseen outcome a user remembers.
const TYPED_KEPT: usize = 4;

/// The password honest actor `a`'s user logs in with: the one they know
/// works, or, when the vault's active registration is one the device asked
/// to activate in a set-up or change it never saw end, the password they
/// typed there (which the user now knows works). `None` if the user knows
/// no password.
fn login_password(world: &mut World, a: usize) -> Option<Password> {
    let active = reference_active(world, world.actors[a].user).map(|r| r.registration);
    let actor = &mut world.actors[a];
    if let Some(at) = active.and_then(|reg| actor.typed.iter().position(|(r, _)| *r == reg)) {
        actor.password = Some(std::mem::take(&mut actor.typed).swap_remove(at).1);
    }
    actor.password.clone()
}

/// `user`'s active registration as the committed log left it (the
/// checkers' reference store), if any.
fn reference_active(world: &World, user: UserId) -> Option<&ActiveRecord<OpaqueCrypto>> {
    world
        .consensus
        .reference()
        .get(user)
        .and_then(|r| r.active.as_ref())
}

/// One actor. See the module documentation.
pub(super) struct Actor {
    pub(super) role: Role,
    pub(super) user: UserId,
    pub(super) index: usize,
    pub(super) epoch: u32,
    /// The node the actor last sent to (its client's leader hint, or the
    /// replayer's pick).
    pub(super) leader: NodeId,
    /// The client deadline a timeout event is queued for, with the epoch
    /// of the client it wakes (an event for an earlier epoch is dropped
    /// when it fires, so it wakes no later client).
    timeout_at: Option<(u32, Millis)>,
    client: Option<Client>,
    saved: DeviceState,
    password: Option<Password>,
    next_password: Option<Password>,
    /// The passwords the user typed into a set-up or a change whose end
    /// the device never saw, by the registration the device asked the
    /// vault to activate with each (newest last, at most [`TYPED_KEPT`]).
    /// Its activation may have committed with the answer lost: then the
    /// vault holds that password and the device its earlier registration,
    /// and the user, who remembers what they typed, logs in with it (DEV-1:
    /// the login must move the device to the vault's registration).
    typed: Vec<(RegistrationId, Password)>,
    calls: u64,
    op: Option<Op>,
    reenable: bool,
    passwords_made: u32,
    /// Operations started, for naming each (LOCK-5 counts per restore).
    ops: u64,
    /// Backups of this device that failed after putting their bytes on a
    /// name, since its last acknowledged backup: names a later backup must
    /// start above (the coverage counter `failed backups past the conflict
    /// budget`).
    failed_after_put: u32,
    /// `--second-devices`: this user's second device (on the first).
    pub(super) second: Option<usize>,
    /// `--second-devices`: the user's first device (on the second).
    pub(super) primary: Option<usize>,
    /// A disable began under the key this device holds: a second device
    /// sets itself up from it again only once it holds a new key.
    key_disabled: bool,
}

impl Actor {
    /// The device of honest user `user`, with a key the world generated
    /// (so the secret scanner knows K before the device uses it).
    pub(super) fn honest(world: &mut World, user: u64) -> Actor {
        let user = UserId(user);
        let key = new_key(world, user);
        let mut saved = DeviceState::new(user);
        saved.key = Some(key);
        let index = world.actors.len();
        let client = Client::from_state(saved.clone(), world.client_config);
        Actor {
            role: Role::Honest,
            user,
            index,
            epoch: 0,
            leader: NodeId(0),
            timeout_at: None,
            client: Some(client),
            saved,
            password: None,
            next_password: None,
            typed: Vec::new(),
            calls: 0,
            op: None,
            reenable: false,
            passwords_made: 0,
            ops: 0,
            failed_after_put: 0,
            second: None,
            primary: None,
            key_disabled: false,
        }
    }

    /// The second device of the honest user whose first device is actor
    /// `primary` (`--second-devices`): a new phone, with no key until it
    /// sets itself up from the first.
    pub(super) fn second_device(world: &mut World, primary: usize) -> Actor {
        let user = world.actors[primary].user;
        let saved = DeviceState::new(user);
        let client = Client::from_state(saved.clone(), world.client_config);
        let mut actor = Actor::adversary(world, Role::Honest);
        actor.user = user;
        actor.saved = saved;
        actor.client = Some(client);
        actor.primary = Some(primary);
        actor
    }

    /// An adversary.
    pub(super) fn adversary(world: &mut World, role: Role) -> Actor {
        let index = world.actors.len();
        Actor {
            role,
            user: UserId(1),
            index,
            epoch: 0,
            leader: NodeId(0),
            timeout_at: None,
            client: None,
            saved: DeviceState::new(UserId(1)),
            password: None,
            next_password: None,
            typed: Vec::new(),
            calls: 0,
            op: None,
            reenable: false,
            passwords_made: 0,
            ops: 0,
            failed_after_put: 0,
            second: None,
            primary: None,
            key_disabled: false,
        }
    }

    /// The honest restore (password login) this actor is running, if any.
    pub(super) fn restore(&self) -> Option<super::check::oracle::RestoreId> {
        let login = self.op.as_ref().is_some_and(|o| o.f == Some("login"));
        (self.role == Role::Honest && login).then_some((self.index, self.ops))
    }

    /// The password an honest device is registering now, if it is.
    pub(super) fn registering(&self) -> Option<&Password> {
        (self.role == Role::Honest)
            .then_some(self.next_password.as_ref())
            .flatten()
    }

    /// Actor `a` asked the vault to activate `registration` for the
    /// password it is registering (if it is): remembered until the set-up
    /// or change ends in the device's sight.
    pub(super) fn activating(&mut self, registration: RegistrationId) {
        let Some(password) = self.registering().cloned() else {
            return;
        };
        if self.typed.iter().any(|(r, _)| *r == registration) {
            return;
        }
        if self.typed.len() == TYPED_KEPT {
            self.typed.remove(0);
        }
        self.typed.push((registration, password));
    }

    /// The connection id of this actor's current incarnation.
    pub(super) fn client_id(&self) -> ClientId {
        ClientId(((self.index as u64) << 20) | u64::from(self.epoch & 0xf_ffff))
    }
}

/// The world strikes actor `a` with `what`, about `user` (`arg`: the
/// trace's number): a fault in the trace.
fn fault_at(world: &mut World, a: usize, what: &'static str, user: UserId, arg: u64) {
    world.record(
        "fault",
        Party::World,
        Some(Party::Actor(a as u32)),
        what,
        Some(user.0),
        arg,
    );
}

/// Actor `a` starts a new client for `user`, as a new app process on a
/// new connection: its call numbers start again from 0, so replies to the
/// previous client's calls must not reach it (the epoch tells them apart).
fn fresh_client(world: &mut World, a: usize, user: UserId) {
    let actor = &mut world.actors[a];
    actor.user = user;
    actor.epoch += 1;
    actor.calls = 0;
    actor.client = Some(Client::new(user, world.client_config));
}

/// Whether actor `a`'s client runs an operation, by its own word, which the
/// world schedules on (crashes, final restores). Asserted against the
/// world's record: an operation started and no `Done` or `Failed` since.
fn busy(world: &World, a: usize) -> bool {
    let running = world.actors[a].client.as_ref().is_some_and(Client::is_busy);
    assert_eq!(
        running,
        world.actors[a].op.is_some(),
        "actor {a}'s client says it is busy: {running}; the world saw an operation start and not end: {}",
        world.actors[a].op.is_some()
    );
    running
}

fn schedule_wake(world: &mut World, a: usize, min: u64, spread: u64) {
    if world.phase != Phase::Faults {
        return;
    }
    let at = world.now().plus(min + world.below(spread));
    let epoch = world.actors[a].epoch;
    world.cluster.schedule(at, Ev::Wake { actor: a, epoch });
}

/// A device's new K, made by the world so that the secret scanner knows
/// it (raw and in both text forms) before the device sends anything.
fn new_key(world: &mut World, user: UserId) -> BackupKey {
    let key = BackupKey::generate(world.rng());
    world.add_secret(user, SecretKind::Key, key.expose_secret());
    world.add_secret(user, SecretKind::Key, key.to_text().as_bytes());
    world.add_secret(user, SecretKind::Key, key.to_text_grid().as_bytes());
    key
}

fn new_password(world: &mut World, a: usize) -> Password {
    let user = world.actors[a].user;
    world.actors[a].passwords_made += 1;
    let n = world.actors[a].passwords_made;
    let text = format!("pw-{}-{}-{:016x}", user.0, n, world.rng().next_u64());
    world.add_secret(user, SecretKind::Password, text.as_bytes());
    Password::new(text.into_bytes())
}

/// Actor `a` may start something.
pub(super) fn wake(world: &mut World, a: usize) {
    if world.phase != Phase::Faults || busy(world, a) {
        return;
    }
    match world.actors[a].role {
        Role::Honest => match world.actors[a].primary {
            Some(primary) => wake_second(world, a, primary),
            None => wake_honest(world, a),
        },
        Role::Guesser => wake_guesser(world, a),
        Role::Replayer => {
            replay_one(world, a);
            schedule_wake(world, a, 300, 2_000);
        }
        Role::Reregistrar => {
            if world.below(100) < 25 && world.scenario.users > 0 {
                let user = UserId(1 + world.below(u64::from(world.scenario.users)));
                fresh_client(world, a, user);
                let password =
                    Password::new(format!("attacker-{}", world.below(1 << 30)).into_bytes());
                start(
                    world,
                    a,
                    Operation::EnablePasswordMode { password },
                    Some("register"),
                    None,
                );
            } else {
                reuse_ticket(world, a);
                schedule_wake(world, a, 3_000, 10_000);
            }
        }
    }
}

fn wake_honest(world: &mut World, a: usize) {
    if world.actors[a].saved.key.is_none() {
        // The device makes a new K (after a disable); the world makes it,
        // so that the secret scanner knows it before any message is sent.
        let user = world.actors[a].user;
        let key = new_key(world, user);
        world.actors[a].saved.key = Some(key);
        let saved = world.actors[a].saved.clone();
        // A new client, whose call numbers start again: a new epoch, so no
        // late reply to the old client's calls reaches it.
        let actor = &mut world.actors[a];
        actor.epoch += 1;
        actor.calls = 0;
        actor.client = Some(Client::from_state(saved, world.client_config));
        actor.key_disabled = false;
    }
    let mode = world.actors[a].saved.mode;
    match super::nemesis::rewrite_at(world, a) {
        Some(Rewrite::CrashDisable { .. }) if mode != Mode::Off => {
            let user = world.actors[a].user;
            world.backups.disabled(user);
            return start(world, a, Operation::Disable, Some("delete"), None);
        }
        Some(Rewrite::WriteAgain { .. }) if mode != Mode::Off => {
            return start_backup(world, a, None);
        }
        _ => {}
    }
    let roll = world.below(100);
    let reenable = std::mem::take(&mut world.actors[a].reenable);
    let op = match mode {
        Mode::Off => {
            if roll < 70 {
                let password = new_password(world, a);
                world.actors[a].next_password = Some(password.clone());
                (Operation::EnablePasswordMode { password }, Some("register"))
            } else {
                (Operation::EnableKeyMode, None)
            }
        }
        Mode::Password if reenable => {
            let password = new_password(world, a);
            world.actors[a].next_password = Some(password.clone());
            (Operation::EnablePasswordMode { password }, Some("register"))
        }
        // Drawn only with `--mode-switches`, so that no other seed's draws
        // move: the user switches to key mode, the vault record kept.
        Mode::Password if world.scenario.mode_switches && world.below(100) < 15 => {
            (Operation::EnableKeyMode, None)
        }
        _ if roll < 50 || super::nemesis::aims_backups_at(world, a) => {
            return start_backup(world, a, None)
        }
        Mode::Password if roll < 75 => match login_password(world, a) {
            Some(password) => (Operation::RestoreWithPassword { password }, Some("login")),
            None => (restore_with_key(world, a), None),
        },
        Mode::Password if roll < 88 => {
            let password = new_password(world, a);
            world.actors[a].next_password = Some(password.clone());
            (
                Operation::ChangePassword {
                    new_password: password,
                },
                Some("change-password"),
            )
        }
        _ if roll < 96 => (restore_with_key(world, a), None),
        _ => {
            // From the moment the user asks to turn backups off, their
            // backups may go (a crash can stop the flow half way through
            // the deletions): nothing is promised any more.
            let user = world.actors[a].user;
            world.backups.disabled(user);
            (Operation::Disable, Some("delete"))
        }
    };
    start(world, a, op.0, op.1, None);
}

/// Second device `s` of the user whose first device is `p` may start
/// something (`--second-devices`). Without a key, it sets itself up from
/// the first device, as a new phone does: a restore with the first's 64
/// digits, or with the user's password where the first is in password mode
/// and sets no password up now. Set up, it backs up and restores, and
/// never turns backups on or off nor changes the password: those are the
/// first device's. It keeps the first's key only while that key's backups
/// stand: the first retires it before a disable ([`start`]).
fn wake_second(world: &mut World, s: usize, p: usize) {
    let first = &world.actors[p];
    let joinable =
        first.saved.mode != Mode::Off && first.saved.key.is_some() && !first.key_disabled;
    let own = world.actors[s].saved.key.as_ref();
    let (set_up, same_key) = (own.is_some(), own == first.saved.key.as_ref());
    let by_password = first.saved.mode == Mode::Password && first.registering().is_none();
    if set_up && !(joinable && same_key) {
        retire_second(world, s);
        return schedule_wake(world, s, 300, 3_000);
    }
    if !set_up && !joinable {
        return schedule_wake(world, s, 300, 3_000);
    }
    let roll = world.below(100);
    if set_up && roll < 70 {
        return start_backup(world, s, None);
    }
    if by_password && (!set_up || roll >= 85) {
        if let Some(password) = login_password(world, p) {
            let op = Operation::RestoreWithPassword { password };
            return start(world, s, op, Some("login"), None);
        }
    }
    // The digits: the first device's, which are its own once set up.
    let op = restore_with_key(world, p);
    start(world, s, op, None, None);
}

/// The user stops using second device `s` (`--second-devices`): an
/// operation it runs ends as in a crash, and it forgets what it held, as a
/// phone wiped. Done before its first device turns backups off, so that
/// no second device of a key writes after a deletion under it (the case
/// `docs/protocol.md` leaves open), and at the heal, so that the final
/// checks judge each user's first device alone.
fn retire_second(world: &mut World, s: usize) {
    let user = world.actors[s].user;
    let busy = u64::from(world.actors[s].op.is_some());
    fault_at(world, s, "second-device-retired", user, busy);
    let actor = &mut world.actors[s];
    actor.op = None;
    actor.epoch += 1;
    actor.calls = 0;
    actor.saved = DeviceState::new(user);
    actor.client = Some(Client::from_state(actor.saved.clone(), world.client_config));
}

/// Actor `a` backs up a new archive (a final check's, if `final_check`).
fn start_backup(world: &mut World, a: usize, final_check: Option<FinalCheck>) {
    let spec = ArchiveSpec::with_target(world.scenario.archive_bytes);
    let archive = archive::generate(world.rng(), &spec);
    let bytes = archive::encode(&archive).expect("generated archives encode");
    let plaintext = Bytes::from(bytes);
    let user = world.actors[a].user;
    world.backups.started(user, &plaintext);
    start(world, a, Operation::Backup { plaintext }, None, final_check);
}

fn restore_with_key(world: &World, a: usize) -> Operation {
    let text = world.actors[a]
        .saved
        .key
        .as_ref()
        .map(|k| k.to_text())
        .unwrap_or_else(|| Zeroizing::new(String::new()));
    Operation::RestoreWithKey { key_text: text }
}

fn wake_guesser(world: &mut World, a: usize) {
    let users = world.scenario.users.max(1);
    // Mostly one victim, so that records get destroyed.
    let user = if world.below(100) < 70 {
        UserId(1)
    } else {
        UserId(1 + world.below(u64::from(users)))
    };
    let victim = (user.0 - 1) as usize;
    // A spent budget: a new guess would destroy the record, so the chat
    // server resends the last login start it relayed for the user instead
    // (it costs nothing), to keep a login open against the record and the
    // record alive (LOCK-4 says for at most one login TTL).
    let spent = reference_active(world, user).is_some_and(|r| r.attempts.spent());
    if let (true, Some(ke1)) = (spent, world.last_ke1.get(&user).cloned()) {
        let to = world.actors[a].leader;
        replay_to(world, to, ke1);
        schedule_wake(world, a, 500, 2_500);
        return;
    }
    let guess = |world: &mut World| {
        let right = world.below(100) < 5;
        match (
            right,
            world.actors.get(victim).and_then(|v| v.password.clone()),
        ) {
            (true, Some(p)) => p,
            _ => Password::new(format!("guess-{}", world.below(1 << 40)).into_bytes()),
        }
    };
    if world.below(100) < 40 {
        // The other OPRF entry point: registration requests with guesses,
        // as the account may send them, free of any lockout if the vault
        // evaluated them under the record's key (LOCK-1 decides).
        for _ in 0..1 + world.below(4) {
            let password = guess(world);
            probe(world, a, user, &password);
        }
        schedule_wake(world, a, 500, 2_500);
        return;
    }
    let password = guess(world);
    fresh_client(world, a, user);
    start(
        world,
        a,
        Operation::RestoreWithPassword { password },
        Some("login"),
        None,
    );
}

/// Request numbers of probes: above any a client uses.
const PROBE_CALLS: u64 = 1 << 40;

/// One registration request for `user` with `password`, sent by adversary
/// `a` straight to a node (its answer is of no use to the client it holds).
fn probe(world: &mut World, a: usize, user: UserId, password: &Password) {
    let Ok(started) = backup_vault::opaque::client::registration_start(
        world.cluster.rng(),
        &user_bytes(user),
        password.expose_secret(),
    ) else {
        return;
    };
    world.actors[a].calls += 1;
    // Its own numbers, apart from those of the client the adversary holds.
    let call = PROBE_CALLS | world.actors[a].calls;
    let to = world.actors[a].leader;
    world.submit(
        a,
        to,
        call,
        ClientRequest::RegistrationStart {
            user,
            request: started.request,
        },
    );
}

fn start(
    world: &mut World,
    a: usize,
    op: Operation,
    f: Option<&'static str>,
    final_check: Option<FinalCheck>,
) {
    let plaintext = match &op {
        Operation::Backup { plaintext } => Some(plaintext.clone()),
        _ => None,
    };
    if let (Operation::Disable, Some(s)) = (&op, world.actors[a].second) {
        world.actors[a].key_disabled = true;
        retire_second(world, s);
    }
    let obstructed = super::nemesis::obstructs(world, a);
    world.actors[a].op = Some(Op {
        name: op.name(),
        f,
        plaintext,
        final_check,
        kind: Kind::of(&op),
        before: world.actors[a].saved.clone(),
        writes: Writes::default(),
        must_finish: false,
        obstructed,
        put_backup_object: false,
        received_other_key: false,
        received_damaged: false,
        received_forgery: false,
        listed: BTreeSet::new(),
        fetched: BTreeSet::new(),
        manifest_read: None,
    });
    world.actors[a].ops += 1;
    let name = op.name();
    let user = world.actors[a].user;
    world.record("start", Party::Actor(a as u32), None, name, Some(user.0), 0);
    // A device may crash somewhere in this flow.
    if world.actors[a].role == Role::Honest && world.mix.has(FaultKind::ClientCrash) {
        let level = u64::from(world.mix.level(FaultKind::ClientCrash));
        if world.below(1000) < level {
            let at = world.now().plus(1 + world.below(1_500));
            let epoch = world.actors[a].epoch;
            world
                .cluster
                .schedule(at, Ev::ClientCrash { actor: a, epoch });
        }
    }
    let mut client = world.actors[a]
        .client
        .take()
        .expect("an actor that starts has a client");
    let now = world.now();
    world.conduct.started(a, world.actors[a].epoch);
    world.budgets.started(a, world.actors[a].epoch);
    // An honest device's client resumes from what the app saved (DEV-1
    // judges the state after against it).
    if world.actors[a].role == Role::Honest {
        assert_eq!(
            Some(client.state()),
            world.actors[a].op.as_ref().map(|o| &o.before),
            "actor {a}'s client begins from a state other than the one its app saved"
        );
    }
    client.start(op, now, world.cluster.rng());
    world.actors[a].client = Some(client);
    pump(world, a);
}

/// Carries out everything the actor's client asks for.
fn pump(world: &mut World, a: usize) {
    loop {
        if world.phase == Phase::Done {
            return;
        }
        let Some(out) = world.actors[a].client.as_mut().and_then(Client::poll) else {
            let deadline = world.actors[a]
                .client
                .as_ref()
                .and_then(Client::poll_timeout);
            let (epoch, user) = (world.actors[a].epoch, world.actors[a].user);
            if let Err(v) = world.conduct.waiting(a, epoch, user, deadline) {
                world.fail(v);
                return;
            }
            world.budgets.waiting(a, epoch);
            arm_timeout(world, a);
            return;
        };
        if let Err(v) = judge_output(world, a, &out) {
            world.fail(v);
            return;
        }
        match out {
            Output::Vault { call, to, request } => {
                let honest = world.actors[a].role == Role::Honest;
                world.ke3_made(&request);
                if honest {
                    // Only an honest device holds the K of the registration
                    // it deletes: LOCK-3 lets the vault carry out a delete it
                    // asked for, whoever delivers it (the chat server may
                    // hold it back and send it later), and no other.
                    if let ClientRequest::Delete { registration, .. } = &request {
                        world.lockout.delete_requested(*registration);
                    }
                    if let ClientRequest::Activate { registration, .. } = &request {
                        world.activations_sent.insert((a, *registration));
                    }
                    capture(world, &request);
                }
                world.actors[a].calls += 1;
                world.actors[a].leader = to;
                let request = if honest {
                    intercept(world, a, call, request)
                } else {
                    Some(request)
                };
                if let Some(request) = request {
                    world.submit(a, to, call.0, request);
                }
            }
            Output::Cloud { call, op } => {
                world.actors[a].calls += 1;
                let result = cloud_exec(world, a, op);
                let epoch = world.actors[a].epoch;
                // A second device is on a slower network: its backups
                // overlap the first device's.
                let (min, spread) = match world.actors[a].primary {
                    Some(_) => (20, 280),
                    None => (5, 40),
                };
                let at = world.now().plus(min + world.below(spread));
                world.cluster.schedule(
                    at,
                    Ev::CloudDone {
                        actor: a,
                        epoch,
                        call,
                        result,
                    },
                );
            }
            Output::Persist => persist(world, a),
            Output::Done(done) => finish(world, a, Ok(done)),
            Output::Failed(error) => finish(world, a, Err(error)),
        }
    }
}

/// An honest device saves its state mid-operation: what a crash then
/// restores. The registration it names must be one the vault staged for
/// its user (DEV-1), as at the end of an operation.
fn persist(world: &mut World, a: usize) {
    if world.actors[a].role != Role::Honest {
        return;
    }
    let Some(state) = world.actors[a].client.as_ref().map(|c| c.state().clone()) else {
        return;
    };
    let user = world.actors[a].user;
    if let Err(v) = staged_for(world, user, state.registration, "saved") {
        world.fail(v);
        return;
    }
    world.actors[a].saved = state;
}

/// DEV-1: the registration a device names (`did` it: took, saved) is one
/// the vault staged for its user. Anything else came from a forged answer,
/// and the device would name it in every delete and password change.
fn staged_for(
    world: &World,
    user: UserId,
    registration: Option<RegistrationId>,
    did: &str,
) -> Result<(), super::Violation> {
    match registration.filter(|r| !world.erasure.was_staged(user, *r)) {
        Some(r) => Err(super::Violation::user(
            Invariant::Dev1,
            user,
            None,
            format!(
                "user {}'s device {did} registration {:x}, which the vault never staged for it",
                user.0, r.0
            ),
        )),
        None => Ok(()),
    }
}

/// LIVE-4: what the client sends and how it ends, against its policy; and
/// DEV-1's rule for the backup objects one backup writes.
fn judge_output(world: &mut World, a: usize, out: &Output) -> Result<(), super::Violation> {
    let (epoch, user, now) = (world.actors[a].epoch, world.actors[a].user, world.now());
    if let (
        Output::Cloud {
            op: CloudOp::Put { key, data, .. },
            ..
        },
        Some(current),
    ) = (out, world.actors[a].op.as_mut())
    {
        if let Some(generation) = parse_backup_key(user, key) {
            current.writes.put(user, generation, data)?;
        }
    }
    if let (Output::Done(Completed::BackedUp { generation }), Some(current), Role::Honest) =
        (out, world.actors[a].op.as_ref(), world.actors[a].role)
    {
        if current.kind == Kind::Backup {
            current.writes.acknowledged(user, *generation)?;
            let name = backup_key(user, *generation);
            let stored = world.cloud.peek(&name);
            current.writes.stored(
                user,
                *generation,
                stored.as_ref().map(|o| &o.data),
                world.cloud.stored_versions(&name).map(|o| o.data),
            )?;
        }
    }
    if let (
        Output::Vault {
            request: ClientRequest::Stage { replacing, .. },
            ..
        },
        Some(current),
        Role::Honest,
    ) = (out, world.actors[a].op.as_ref(), world.actors[a].role)
    {
        if current.kind == Kind::ChangePassword {
            told::change_staged(
                user,
                current.before.registration,
                replacing.as_ref().map(|r| r.registration),
            )?;
        }
    }
    let (c, b) = (&mut world.conduct, &mut world.budgets);
    match out {
        Output::Vault { call, to, request } => {
            let sent = Sent::Vault(request.clone());
            b.sent(a, epoch, user, &sent)?;
            c.sent(a, epoch, user, *call, sent, Some(*to), now)
        }
        Output::Cloud { call, op } => {
            let sent = Sent::Cloud(op.clone());
            b.sent(a, epoch, user, &sent)?;
            c.sent(a, epoch, user, *call, sent, None, now)
        }
        Output::Persist => Ok(()),
        Output::Done(_) => {
            b.finished(a, epoch, user, Ok(()))?;
            c.finished(a, epoch, user, Ok(()))
        }
        Output::Failed(e) => {
            let spent = b.finished(a, epoch, user, Err(e))?;
            c.finished(a, epoch, user, Err(e))?;
            if let Some(spent) = spent {
                world.coverage.budget_spent(spent);
            }
            Ok(())
        }
    }
}

fn cloud_exec(world: &mut World, a: usize, op: CloudOp) -> Result<CloudReply, StoreError> {
    let user = world.actors[a].user.0;
    // DEV-1: what the answer about the manifest tells a backup (below).
    let manifest = match &op {
        CloudOp::Put { key, data, .. } if *key == manifest_key(UserId(user)) => {
            Some(Some(data.clone()))
        }
        CloudOp::Get { key } | CloudOp::GetVersion { key, .. }
            if *key == manifest_key(UserId(user)) =>
        {
            Some(None)
        }
        _ => None,
    };
    // DUR-1: the backup a restore fetches.
    let fetch = match &op {
        CloudOp::Get { key } | CloudOp::GetVersion { key, .. } => {
            parse_backup_key(UserId(user), key)
        }
        _ => None,
    };
    let manifest_get = matches!(manifest, Some(None));
    let (what, result) = match op {
        CloudOp::Put { key, data, cond } => {
            if let Some(found) = world.secrets.scan(&data) {
                world.fail(super::leak(found, "a cloud object", None));
            }
            if parse_backup_key(UserId(user), &key).is_some() {
                if let Err(v) = world.file_ids.put(UserId(user), &data) {
                    world.fail(v);
                }
                let writer = world.actors[a]
                    .op
                    .as_ref()
                    .and_then(|op| op.before.key.as_ref());
                world.told.backup_put(UserId(user), &key, &data, writer);
                if let Some(op) = world.actors[a].op.as_mut() {
                    op.put_backup_object = true;
                }
            }
            // DEV-1: a backup's manifest names what it wrote (judged after
            // the scan, so a manifest that leaks K is KEY-1's first).
            if key == manifest_key(UserId(user)) {
                if let Some(Op {
                    kind: Kind::Backup,
                    before: DeviceState { key: Some(k), .. },
                    writes,
                    ..
                }) = world.actors[a].op.as_ref()
                {
                    if let Err(v) = writes.manifest(UserId(user), k, &data) {
                        world.fail(v);
                    }
                }
            }
            if refuses_manifest(world, a, &key) {
                super::nemesis::note_client_act(world, a, "refuse-manifest-put", 0);
                ("put", Err(StoreError::Unavailable))
            } else {
                if world.actors[a].role == Role::Honest && deleted_name(world, UserId(user), &key) {
                    world.coverage.deleted_name_written_again();
                }
                let replaced = if key == manifest_key(UserId(user)) {
                    world.cloud.peek(&key)
                } else {
                    None
                };
                let result = world
                    .cloud
                    .put(&key, data.clone(), cond)
                    .map(CloudReply::Put);
                if let (Some(replaced), Ok(_)) = (replaced, &result) {
                    judge_manifest_order(world, a, &key, &replaced, &data);
                }
                ("put", rewrite_after_put(world, a, &key, result))
            }
        }
        CloudOp::Get { ref key } | CloudOp::GetVersion { ref key, .. }
            if obstructs_read(world, a, key) =>
        {
            super::nemesis::note_client_act(world, a, "obstruct-cloud-read", 0);
            ("get", Err(StoreError::NotFound))
        }
        CloudOp::Get { key } => {
            let got = world.cloud.get(&key);
            (
                "get",
                got.map(|o| CloudReply::Got(maybe_truncate(world, o))),
            )
        }
        CloudOp::GetVersion { key, version } => {
            let got = world.cloud.get_version(&key, version);
            (
                "get-version",
                got.map(|o| CloudReply::Got(maybe_truncate(world, o))),
            )
        }
        CloudOp::List { prefix } => ("list", world.cloud.list(&prefix).map(CloudReply::Listed)),
        CloudOp::Delete { key, cond } => {
            let result = world.cloud.delete(&key, cond).map(|()| CloudReply::Deleted);
            rewrite_after_delete(world, a, &key);
            ("delete", result)
        }
    };
    if manifest_get && newer_manifest(world, a, &result) {
        world.coverage.newer_manifest_met();
    }
    if let (
        Some(put),
        Some(Op {
            kind: Kind::Backup,
            before: DeviceState { key: Some(k), .. },
            writes,
            ..
        }),
    ) = (manifest, world.actors[a].op.as_mut())
    {
        // The manifest the answer shows the device: the one it put, if
        // the put was answered Ok; the one read; or none.
        let named = match (&put, &result) {
            (Some(data), Ok(CloudReply::Put(_))) => Some(&data[..]),
            (None, Ok(CloudReply::Got(object))) => Some(&object.data[..]),
            _ => None,
        };
        writes.manifest_answer(UserId(user), k, named);
    }
    if let Some(op) = world.actors[a]
        .op
        .as_mut()
        .filter(|op| matches!(op.kind, Kind::RestoreWithKey | Kind::RestoreWithPassword))
    {
        match (&fetch, &result) {
            (Some(g), _) => {
                op.fetched.insert(*g);
            }
            (None, Ok(CloudReply::Got(object))) if manifest_get => {
                op.manifest_read = Some(object.data.to_vec());
            }
            (None, Ok(CloudReply::Listed(infos))) => {
                op.listed = infos
                    .iter()
                    .filter_map(|info| parse_backup_key(UserId(user), &info.key))
                    .collect();
            }
            _ => {}
        }
    }
    world.record(
        "cloud",
        Party::Actor(a as u32),
        Some(Party::Cloud),
        what,
        Some(user),
        u64::from(result.is_ok()),
    );
    result
}

/// DUR-1's order of backups (`device::manifest_moves_on`): actor `a`'s
/// backup put `data` as its user's manifest `key`, over `replaced`, the
/// version then current; judged if the put stored it.
fn judge_manifest_order(
    world: &mut World,
    a: usize,
    key: &backup_vault::cloud::ObjectKey,
    replaced: &backup_vault::cloud::Object,
    data: &Bytes,
) {
    let stored = world
        .cloud
        .peek(key)
        .is_some_and(|now| now.version != replaced.version && now.data == *data);
    let user = world.actors[a].user;
    let judged = match world.actors[a].op.as_ref() {
        Some(Op {
            kind: Kind::Backup,
            before: DeviceState { key: Some(k), .. },
            ..
        }) if stored => device::manifest_moves_on(user, k, &replaced.data, data),
        _ => Ok(()),
    };
    if let Err(v) = judged {
        world.fail(v);
    }
}

/// Whether `result`, the answer to a read of the manifest by actor `a`'s
/// backup after it wrote a backup object, names under the backup's key a
/// generation above the one it wrote (the coverage counter `newer
/// manifests met by a backup`).
fn newer_manifest(world: &World, a: usize, result: &Result<CloudReply, StoreError>) -> bool {
    let (
        Ok(CloudReply::Got(object)),
        Some(Op {
            kind: Kind::Backup,
            before: DeviceState { key: Some(k), .. },
            writes,
            ..
        }),
    ) = (result, world.actors[a].op.as_ref())
    else {
        return false;
    };
    let user = world.actors[a].user;
    writes.last_generation().is_some_and(|wrote| {
        decode_manifest(k, user, &object.data).is_some_and(|named| named > wrote)
    })
}

/// Whether `obstruct-clients` stands in the way of actor `a`'s operation
/// now (`nemesis::obstructs` drew it at the start; faults still on).
fn obstructed(world: &World, a: usize) -> bool {
    world.phase == Phase::Faults && world.actors[a].op.as_ref().is_some_and(|op| op.obstructed)
}

/// Whether `obstruct-clients` answers actor `a`'s read of `key` "not
/// found": a backup object of its user, read during an obstructed backup.
fn obstructs_read(world: &World, a: usize, key: &backup_vault::cloud::ObjectKey) -> bool {
    obstructed(world, a)
        && matches!(
            world.actors[a].op.as_ref(),
            Some(Op {
                kind: Kind::Backup,
                ..
            })
        )
        && parse_backup_key(world.actors[a].user, key).is_some()
}

/// Whether `key` is a backup object of `user` that the cloud stored and
/// then deleted: a put now writes a name with a history.
fn deleted_name(world: &World, user: UserId, key: &backup_vault::cloud::ObjectKey) -> bool {
    parse_backup_key(user, key).is_some()
        && world.cloud.peek(key).is_none()
        && world.cloud.stored_versions(key).next().is_some()
}

/// `rewritten-name` after actor `a`'s put of `key` (answered `result`):
/// a backup's first stored put crashes the device; the put of the name
/// the crashed disable deleted is the last act, its answer lost if the
/// schedule drew so (stored all the same).
fn rewrite_after_put(
    world: &mut World,
    a: usize,
    key: &backup_vault::cloud::ObjectKey,
    result: Result<CloudReply, StoreError>,
) -> Result<CloudReply, StoreError> {
    let backup = parse_backup_key(world.actors[a].user, key).is_some()
        && world.actors[a]
            .op
            .as_ref()
            .is_some_and(|op| op.kind == Kind::Backup);
    if !backup || result.is_err() {
        return result;
    }
    match super::nemesis::rewrite_at(world, a) {
        Some(Rewrite::CrashAfterPut) => {
            let name = key.clone();
            super::nemesis::rewrite_step(world, a, Rewrite::CrashDisable { name }, true);
            result
        }
        Some(Rewrite::WriteAgain { name, lose }) if name == key => {
            let lose = *lose;
            super::nemesis::rewrite_step(world, a, Rewrite::Done, false);
            if lose {
                Err(StoreError::Unavailable)
            } else {
                result
            }
        }
        _ => result,
    }
}

/// `rewritten-name` after actor `a`'s delete of `key`: once the disable
/// has deleted the name the crashed backup put, the device crashes too,
/// keeping K.
fn rewrite_after_delete(world: &mut World, a: usize, key: &backup_vault::cloud::ObjectKey) {
    let disabling = world.actors[a]
        .op
        .as_ref()
        .is_some_and(|op| op.kind == Kind::Disable);
    let deleted = world.cloud.peek(key).is_none();
    if let Some(Rewrite::CrashDisable { name }) = super::nemesis::rewrite_at(world, a) {
        if disabling && deleted && name == key {
            let lose = world.below(2) == 0;
            let name = key.clone();
            super::nemesis::rewrite_step(world, a, Rewrite::WriteAgain { name, lose }, true);
        }
    }
}

/// Whether `failed-backups` answers actor `a`'s put of `key` "unavailable",
/// without storing it: a backup's manifest, put by the device it aims at.
fn refuses_manifest(world: &World, a: usize, key: &backup_vault::cloud::ObjectKey) -> bool {
    super::nemesis::aims_backups_at(world, a)
        && *key == manifest_key(world.actors[a].user)
        && matches!(
            world.actors[a].op.as_ref(),
            Some(Op {
                kind: Kind::Backup,
                ..
            })
        )
}

/// A cloud that serves a backup cut short at a chunk boundary (the cut a
/// format without a last-chunk flag cannot see), or a small object (a
/// manifest) cut anywhere: a partial read that every parser must refuse
/// without panicking.
fn maybe_truncate(
    world: &mut World,
    mut object: backup_vault::cloud::Object,
) -> backup_vault::cloud::Object {
    let record = SIM_CHUNK as usize + TAG_LEN;
    let len = object.data.len();
    if len <= HEADER_LEN && len > 0 && world.cloud.hook_mut().truncate() {
        let cut = (world.cloud.hook_mut().draw() % len as u64) as usize;
        object.data = object.data.slice(..cut);
        world.record(
            "fault",
            Party::Cloud,
            None,
            "serve-truncated-object",
            None,
            cut as u64,
        );
        return object;
    }
    if len > HEADER_LEN + 2 * record && world.cloud.hook_mut().truncate() {
        let chunks = (len - HEADER_LEN) / record;
        let keep = 1 + (world.cloud.hook_mut().draw() as usize) % chunks.max(1);
        let cut = HEADER_LEN + keep.min(chunks.saturating_sub(1)).max(1) * record;
        if cut < len {
            object.data = object.data.slice(..cut);
            world.record(
                "fault",
                Party::Cloud,
                None,
                "serve-truncated-backup",
                None,
                cut as u64,
            );
        }
    }
    object
}

fn capture(world: &mut World, request: &ClientRequest<OpaqueCrypto>) {
    if world.captured.len() == 64 {
        world.captured.pop_front();
    }
    world.captured.push_back(request.clone());
    // The replayer races captured KE3s under another user's name at once
    // (while faults last: after the heal, the adversaries are quiet too).
    if world.phase == Phase::Faults
        && matches!(request, ClientRequest::LoginFinish { .. })
        && world.below(100) < 30
    {
        if let Some(r) = world.actors.iter().position(|x| x.role == Role::Replayer) {
            let mut copy = request.clone();
            rewrite_user(world, &mut copy);
            send_replay(world, r, copy);
        }
    }
}

/// The chat server between device `a` and the vault (fault kind
/// `intercept`): it may answer a registration request with an OPRF
/// evaluation under its own key beside the vault's genuine ticket, splice
/// an older captured registration of the user under the proof of K the
/// device made for a new one (the change-revert attack), forge the answer
/// the device waits for (a staging, an activation, a released key, "not
/// registered" or "deleted" to a delete), answer a login start with "not the leader"
/// naming a node outside the cluster and with a "retry" for a call not made
/// yet, and drop the real request. Returns what reaches the vault, if
/// anything.
fn intercept(
    world: &mut World,
    a: usize,
    call: CallId,
    request: ClientRequest<OpaqueCrypto>,
) -> Option<ClientRequest<OpaqueCrypto>> {
    if obstructed(world, a) {
        // `obstruct-clients`: the answers that send a device back to the
        // start of its login or registration, each time, and the real
        // request dropped; one staging in four is told instead that the
        // registration it replaces is not the active one (a device then
        // tries its next choice, or fails: no restart).
        use backup_vault::vault::protocol::Refusal;
        let forged = match &request {
            ClientRequest::LoginFinish { .. } => Some(ClientResponse::LoginExpired),
            ClientRequest::Stage { .. } => Some(ClientResponse::Refused(if world.below(4) == 0 {
                Refusal::UnknownRegistration
            } else {
                Refusal::StaleTicket
            })),
            _ => None,
        };
        if let Some(forged) = forged {
            super::nemesis::note_client_act(world, a, "obstruct-vault-answer", 0);
            forge(world, a, call, forged);
            return None;
        }
    }
    let level = u64::from(world.mix.level(FaultKind::Intercept));
    if let ClientRequest::RegistrationStart { request, .. } = &request {
        world.relayed_starts.insert((a, call.0), request.clone());
    }
    if level == 0 || world.below(1000) >= level {
        return Some(request);
    }
    match request {
        ClientRequest::RegistrationStart {
            request: ref blinded,
            ..
        } => {
            // The answer will reach the device with the OPRF evaluation
            // replaced by one under the chat server's own key.
            world.substitute.insert((a, call.0), blinded.clone());
            Some(request)
        }
        ClientRequest::Stage {
            user,
            sealed,
            content,
            replacing: Some(replacing),
        } => {
            // Half the time a registration of its own, made under the
            // ticket of the device's change; else the device's oldest
            // registration it captured (its ticket is spent).
            let spliced = if world.below(2) == 0 {
                own_registration(world, a, user)
            } else {
                world.captured.iter().find_map(|r| match r {
                    ClientRequest::Stage {
                        user: u,
                        sealed: old,
                        content: c,
                        ..
                    } if *u == user && *c != content => Some(old.clone()),
                    _ => None,
                })
            };
            let sealed = match spliced {
                Some(spliced) => {
                    world.record(
                        "fault",
                        Party::World,
                        None,
                        "splice-stage",
                        Some(user.0),
                        call.0,
                    );
                    spliced
                }
                None => sealed,
            };
            Some(ClientRequest::Stage {
                user,
                sealed,
                content,
                replacing: Some(replacing),
            })
        }
        ClientRequest::Stage { .. } => {
            let forged = ClientResponse::Staged {
                registration: RegistrationId(world.rng().next_u64()),
                displaced: false,
                tag: forged_tag(world, a),
            };
            forge(world, a, call, forged);
            Some(request)
        }
        ClientRequest::Activate { registration, .. } => {
            let forged = ClientResponse::Activated {
                registration,
                remaining: world.scenario.guess_limit,
                tag: forged_tag(world, a),
            };
            forge(world, a, call, forged);
            // Half the time the real activation never reaches the vault: a
            // device that believed the forgery reports a record that is not
            // there.
            (world.below(2) == 0).then_some(request)
        }
        ClientRequest::LoginFinish { .. } => {
            let mut bytes = [0u8; SESSION_SEALED_KEY_LEN];
            world.rng().fill_bytes(&mut bytes);
            bytes[0] = SEAL_VERSION;
            if let Ok(sealed_key) = SessionSealedKey::from_bytes(&bytes) {
                forge(world, a, call, ClientResponse::LoginOk { sealed_key });
            }
            Some(request)
        }
        ClientRequest::Delete {
            user,
            registration,
            nonce,
            ref proof,
        } => {
            forge(world, a, call, ClientResponse::NotRegistered);
            // And "deleted", naming the registration and the proof the
            // chat server saw go by (its digest is anyone's to compute),
            // under a tag it cannot make for them.
            let tag = forged_tag(world, a);
            forge(
                world,
                a,
                call,
                ClientResponse::Deleted {
                    registration,
                    proof: backup_vault::vault::binding::proof_digest(proof),
                    tag: tag.clone(),
                },
            );
            // And the vault's authentic "gone" of an earlier delete of the
            // same registration, which names that delete's proof.
            let kept = world.relayed_gone.get(&a).cloned();
            if let Some(kept) = kept.filter(|k| {
                matches!(k, ClientResponse::Deleted { registration: r, .. } if *r == registration)
            }) {
                forge(world, a, call, kept);
            }
            // And "its key lives on" in a registration the vault never
            // made: a device that took it would name it from then on.
            let live = RegistrationId(registration.0 ^ 1);
            forge(
                world,
                a,
                call,
                ClientResponse::KeyLivesOn {
                    registration,
                    live,
                    tag,
                },
            );
            match world.below(4) {
                // Half the time the real delete never reaches the vault.
                0 | 1 => None,
                // Once in four it reaches the vault renamed to the user's
                // registration that went last, with the device's nonce and
                // proof: the vault's authentic "gone" then names the
                // device's proof, but another registration, and comes back
                // as the answer to the device's delete.
                2 => {
                    let gone = world
                        .consensus
                        .reference()
                        .get(user)
                        .and_then(|r| r.tombstone())
                        .map(|t| t.registration())
                        .filter(|g| *g != registration);
                    Some(match gone {
                        Some(gone) => ClientRequest::Delete {
                            user,
                            registration: gone,
                            nonce,
                            proof: proof.clone(),
                        },
                        None => request,
                    })
                }
                _ => Some(request),
            }
        }
        ClientRequest::LoginStart { .. } if world.phase == Phase::Faults => {
            // "Not the leader: ask node N", for a node outside the cluster,
            // and a "retry" answering the call the device will make next
            // (call numbers are sequential): a device follows neither (the
            // "retry" only if the call was made before it arrives, when it
            // is one the device must obey).
            // Not in the final restores: a "retry" that arrives once the
            // next call is made is one the device must obey, and a stream of
            // them spends its budget (an in-path adversary can always deny
            // service; LIVE-1 judges the vault, not that).
            let nodes = u64::from(world.scenario.nodes);
            let nowhere = NodeId(u8::try_from(nodes + world.below(3)).unwrap_or(u8::MAX));
            let leader = Some(nowhere);
            forge(world, a, call, ClientResponse::NotLeader { leader });
            forge(world, a, CallId(call.0 + 1), ClientResponse::Retry);
            Some(request)
        }
        other => Some(other),
    }
}

/// A registration the chat server makes for `user` with a password and a
/// K of its own, under the ticket and transcript of the last registration
/// answer it relayed to device `a`: genuine, and unspent while the
/// device's registration is not staged. Only the content a proof of K
/// names keeps it from riding on the device's proof. `None` before it
/// relayed one.
fn own_registration(world: &mut World, a: usize, user: UserId) -> Option<SealedToFleet> {
    let (transcript, ticket) = world.relayed_tickets.get(&a)?.clone();
    let key = BackupKey::generate(world.cluster.rng());
    sealed_registration(world, user, transcript, ticket, &key)
}

/// A registration for `user` sealed to the fleet with the chat server's own
/// password and K `key`, under `ticket`, its password file finished from
/// the evaluation in `transcript` (not of the chat server's request: a
/// password file the vault cannot tell from a genuine one). `None` if
/// OPAQUE refuses the evaluation.
fn sealed_registration(
    world: &mut World,
    user: UserId,
    transcript: RegistrationTranscript,
    ticket: RegistrationTicket,
    key: &BackupKey,
) -> Option<SealedToFleet> {
    const OWN_PASSWORD: &[u8] = b"the chat server's own";
    let config = world.client_config.opaque();
    let fleet_key = world.client_config.fleet_key;
    let rng = world.cluster.rng();
    let start =
        backup_vault::opaque::client::registration_start(rng, &user_bytes(user), OWN_PASSWORD)
            .ok()?;
    let done = backup_vault::opaque::client::registration_finish(
        rng,
        start.state,
        OWN_PASSWORD,
        &transcript.response,
        &config,
    )
    .ok()?;
    let wrapped_key = wrap_backup_key(&done.export_key, &user_bytes(user), key, rng);
    let payload = RegistrationPayload {
        upload: done.upload,
        wrapped_key,
        verifier: verifier(key, user),
        ticket,
        transcript,
    };
    Some(seal_registration(rng, &fleet_key, user, payload))
}

/// The re-registrar, which holds the K of the record it registered for a
/// user (displacing the user's), stages under a proof of that K a
/// registration made under one of the tickets the chat server relayed to
/// that user's devices: a second registration under the OPRF key of one of
/// the user's own, whose password each login against it would test, with
/// a fresh budget after every proof of its own. The stage rule refuses it
/// (the ticket is spent, or is spent by the user's own staging first);
/// LOCK-1 judges every store for a key serving two registrations. Half the
/// wake-ups that can, do. Every other one also rewrites the ticket's stage
/// count to the one an unspent ticket would carry (one past the
/// re-registrar's own ticket's), keeping the ticket's key and MAC: the MAC
/// must cover the count, or a spent ticket becomes a fresh one. Whether it
/// sent one.
fn reuse_ticket(world: &mut World, a: usize) -> bool {
    let Some(state) = world.actors[a].client.as_ref().map(|c| c.state().clone()) else {
        return false;
    };
    let (Some(key), Some(registration)) = (state.key, state.registration) else {
        return false;
    };
    let user = state.user;
    let relayed = world
        .relayed_tickets
        .iter()
        .find(|(v, _)| world.actors[**v].user == user)
        .map(|(_, t)| t.clone());
    let Some((transcript, mut ticket)) = relayed else {
        return false;
    };
    if world.below(2) == 0 {
        return false;
    }
    // Chosen by the call count, not drawn, so that no run moves for it. The
    // proof holds only while the re-registrar's own registration is the
    // user's latest staging, so the count is then one past its own ticket's.
    if world.actors[a].calls % 2 == 1 {
        let own = world
            .own_tickets
            .get(&a)
            .filter(|t| t.user == user)
            .map(|t| t.seq);
        if let Some(own) = own {
            ticket.claims.seq = own + 1;
        }
    }
    let Some(sealed) = sealed_registration(world, user, transcript, ticket, &key) else {
        return false;
    };
    let content = content_digest(&sealed);
    let proof = prove(
        &key,
        &ProofStatement::Replace {
            user,
            active: registration,
            content,
        },
    );
    world.actors[a].calls += 1;
    let call = PROBE_CALLS | world.actors[a].calls;
    fault_at(world, a, "reuse-ticket", user, call);
    let to = world.actors[a].leader;
    world.submit(
        a,
        to,
        call,
        ClientRequest::Stage {
            user,
            sealed,
            content,
            replacing: Some(Replacing {
                registration,
                proof,
            }),
        },
    );
    true
}

/// The chat server replaces the OPRF evaluation in a registration answer
/// on its way to device `a` with its own evaluation of the device's
/// request, under a key of its own fleet; it keeps the vault's ticket and
/// public key, which the device checks.
fn substitute_evaluation(
    world: &mut World,
    a: usize,
    call: u64,
    blinded: &RegistrationRequest,
    answer: &mut VaultRegistrationResponse,
) {
    let user = world.actors[a].user;
    let credential = credential_id(user, &answer.ticket.claims.key);
    let Ok(own) = world.chat_server.evaluate(&credential, blinded) else {
        return;
    };
    let mut bytes = answer.response.as_bytes().to_vec();
    bytes[..REGISTRATION_REQUEST_LEN].copy_from_slice(&own.as_bytes()[..REGISTRATION_REQUEST_LEN]);
    if let Ok(forged) = RegistrationResponse::from_bytes(&bytes) {
        answer.response = forged;
        fault_at(world, a, "substitute-evaluation", user, call);
    }
}

/// The tag on an answer the chat server forges for actor `a`: the genuine
/// tag of the last authenticated answer it relayed to `a` (made with the
/// device's own key, about another statement: a staging for an
/// activation, an activation for a deletion), or random bytes before it
/// relayed one. A device that checks a tag's key but not its statement
/// takes the first for genuine.
fn forged_tag(world: &mut World, a: usize) -> ReplyTag {
    let mut bytes = [0u8; 32];
    // Drawn either way, so the run's other draws stay where they were.
    world.rng().fill_bytes(&mut bytes);
    match world.relayed_tags.get(&a) {
        Some(tag) => tag.clone(),
        None => ReplyTag::from_bytes(&bytes).expect("32 bytes make a tag"),
    }
}

/// Delivers `response` to actor `a` as if the vault had answered `call`.
fn forge(world: &mut World, a: usize, call: CallId, response: ClientResponse<OpaqueCrypto>) {
    let user = world.actors[a].user;
    fault_at(world, a, "forged-reply", user, call.0);
    let epoch = world.actors[a].epoch;
    let at = world.now().plus(1 + world.below(20));
    world.cluster.schedule(
        at,
        Ev::Forged {
            actor: a,
            epoch,
            call,
            response: Box::new(response),
        },
    );
}

/// A forged answer reaches actor `a`.
pub(super) fn forged(
    world: &mut World,
    a: usize,
    call: CallId,
    response: ClientResponse<OpaqueCrypto>,
) {
    if let Some(op) = world.actors[a].op.as_mut() {
        op.received_forgery = true;
    }
    let d = Delivered {
        at: world.now(),
        client: world.actors[a].client_id(),
        request: RequestId(call.0),
        response,
        from: world.actors[a].leader,
        index: None,
    };
    on_vault_reply(world, a, d);
}

fn rewrite_user(world: &mut World, request: &mut ClientRequest<OpaqueCrypto>) {
    let users = u64::from(world.scenario.users.max(1));
    let other = UserId(1 + world.below(users));
    match request {
        ClientRequest::RegistrationStart { user, .. }
        | ClientRequest::Stage { user, .. }
        | ClientRequest::Activate { user, .. }
        | ClientRequest::LoginStart { user, .. }
        | ClientRequest::LoginFinish { user, .. }
        | ClientRequest::Delete { user, .. } => *user = other,
    }
}

fn replay_one(world: &mut World, a: usize) {
    if world.captured.is_empty() {
        return;
    }
    let i = world.below(world.captured.len() as u64) as usize;
    let mut request = world.captured[i].clone();
    let draw = world.below(100);
    if draw < 30 {
        rewrite_user(world, &mut request);
    } else if draw >= 70 {
        request = reuse_proof(request);
    }
    send_replay(world, a, request);
}

/// A captured request's proof of K, sent again as the proof of a delete of
/// the registration it named: an activation's (`Activate { registration }`)
/// or a change's (`Replace { active }`). A proof authorises only the
/// statement it was made for, so the vault must refuse the delete; the
/// checks see any delete committed without the key holder's own request
/// (`check::lockout`, LOCK-3). Other requests are replayed as they were.
fn reuse_proof(request: ClientRequest<OpaqueCrypto>) -> ClientRequest<OpaqueCrypto> {
    match request {
        ClientRequest::Activate {
            user,
            registration,
            proof,
            ..
        }
        | ClientRequest::Stage {
            user,
            replacing:
                Some(backup_vault::vault::protocol::Replacing {
                    registration,
                    proof,
                }),
            ..
        } => ClientRequest::Delete {
            user,
            registration,
            nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
            proof,
        },
        other => other,
    }
}

fn send_replay(world: &mut World, a: usize, request: ClientRequest<OpaqueCrypto>) {
    let n = u64::from(world.scenario.nodes);
    let to = NodeId(world.below(n) as u8);
    world.actors[a].leader = to;
    world.actors[a].calls += 1;
    let call = world.actors[a].calls;
    world.submit(a, to, call, request);
}

/// The guesser starts a login of `user` at node `to` with a wrong password
/// (`resend-to-deposed-leader`), outside the client it holds, numbered as
/// its probes are. Returns the sender and request id the answer will
/// carry; `None` if there is no guesser.
pub(super) fn guess_login(
    world: &mut World,
    to: NodeId,
    user: UserId,
) -> Option<(ClientId, RequestId)> {
    let g = world.actors.iter().position(|x| x.role == Role::Guesser)?;
    let password = format!("guess-{}", world.below(1 << 40));
    let started = backup_vault::opaque::client::login_start(
        world.cluster.rng(),
        &user_bytes(user),
        password.as_bytes(),
    )
    .ok()?;
    world.actors[g].calls += 1;
    let call = PROBE_CALLS | world.actors[g].calls;
    let client = world.actors[g].client_id();
    world.submit(
        g,
        to,
        call,
        ClientRequest::LoginStart {
            user,
            ke1: started.ke1,
        },
    );
    Some((client, RequestId(call)))
}

/// The replayer sends `request` (a copy of a device's) to node `to`.
/// Returns the sender and request id the node will see; `None` if there is
/// no replayer.
pub(super) fn replay_to(
    world: &mut World,
    to: NodeId,
    request: ClientRequest<OpaqueCrypto>,
) -> Option<(ClientId, RequestId)> {
    let r = world.actors.iter().position(|x| x.role == Role::Replayer)?;
    world.actors[r].leader = to;
    world.actors[r].calls += 1;
    let call = world.actors[r].calls;
    let client = world.actors[r].client_id();
    world.submit(r, to, call, request);
    Some((client, RequestId(call)))
}

/// The replayer sends one of the requests the devices sent, drawn from
/// the captured list, to node `to`, `n` times at once (`flood-new-leader`):
/// one request, so that the vault history sees one operation delivered `n`
/// times (a resend, as the history knows them), not `n` operations at once
/// from one process, whose interleavings no linearizability search could
/// get through. Nothing if none was captured.
pub(super) fn flood(world: &mut World, to: NodeId, n: u32) {
    let Some(r) = world.actors.iter().position(|x| x.role == Role::Replayer) else {
        return;
    };
    if world.captured.is_empty() {
        return;
    }
    let i = world.below(world.captured.len() as u64) as usize;
    let request = world.captured[i].clone();
    world.actors[r].leader = to;
    world.actors[r].calls += 1;
    let call = world.actors[r].calls;
    world.send(r, to, call, request, Some(n));
}

/// A reply reached actor `a`.
pub(super) fn on_vault_reply(world: &mut World, a: usize, d: Delivered<OpaqueCrypto>) {
    let mut response = d.response;
    if let Some(request) = world.relayed_starts.remove(&(a, d.request.0)) {
        if let ClientResponse::RegistrationResponse(answer) = &response {
            let transcript = RegistrationTranscript {
                request,
                response: answer.response.clone(),
            };
            world
                .relayed_tickets
                .insert(a, (transcript, answer.ticket.clone()));
        }
    }
    if world.actors[a].role == Role::Reregistrar {
        if let ClientResponse::RegistrationResponse(answer) = &response {
            world.own_tickets.insert(a, answer.ticket.claims);
        }
    }
    if let Some(blinded) = world.substitute.remove(&(a, d.request.0)) {
        if let ClientResponse::RegistrationResponse(answer) = &mut response {
            substitute_evaluation(world, a, d.request.0, &blinded, answer);
        }
    }
    let Some(mut client) = world.actors[a].client.take() else {
        return;
    };
    let now = world.now();
    let reply = match &response {
        ClientResponse::Retry => Reply::Retry,
        ClientResponse::NotLeader { leader } => Reply::NotLeader(*leader),
        _ => Reply::Other,
    };
    let epoch = world.actors[a].epoch;
    if world.conduct.answer(a, epoch, CallId(d.request.0), reply) {
        world.budgets.vault_answer(a, epoch, &response);
    }
    client.on_vault(CallId(d.request.0), response, now, world.cluster.rng());
    world.actors[a].client = Some(client);
    pump(world, a);
}

/// Actor `a`'s client asked to be woken at this time: it may give up on an
/// answer and send again (the client decides; see `client::retry`).
pub(super) fn timeout(world: &mut World, a: usize) {
    world.actors[a].timeout_at = None;
    let Some(mut client) = world.actors[a].client.take() else {
        return;
    };
    let now = world.now();
    world.conduct.woken(a, world.actors[a].epoch, now);
    client.handle_timeout(now, world.cluster.rng());
    world.actors[a].client = Some(client);
    pump(world, a);
}

/// Wakes actor `a` at its client's deadline, if it has one and no wake-up
/// is queued for it.
fn arm_timeout(world: &mut World, a: usize) {
    let Some(deadline) = world.actors[a]
        .client
        .as_ref()
        .and_then(Client::poll_timeout)
    else {
        return;
    };
    let epoch = world.actors[a].epoch;
    if world.actors[a].timeout_at == Some((epoch, deadline)) {
        return;
    }
    world.actors[a].timeout_at = Some((epoch, deadline));
    world
        .cluster
        .schedule(deadline, Ev::Timeout { actor: a, epoch });
}

/// A cloud result reached actor `a`.
pub(super) fn cloud_done(
    world: &mut World,
    a: usize,
    call: CallId,
    result: Result<CloudReply, StoreError>,
) {
    let Some(mut client) = world.actors[a].client.take() else {
        return;
    };
    let now = world.now();
    let reply = if matches!(result, Err(StoreError::Unavailable)) {
        Reply::Unavailable
    } else {
        Reply::Other
    };
    let epoch = world.actors[a].epoch;
    if world.conduct.answer(a, epoch, call, reply) {
        world.budgets.cloud_answer(a, epoch, &result);
        note_other_key(world, a, &result);
        note_damaged(world, a, &result);
    }
    client.on_cloud(call, result, now, world.cluster.rng());
    world.actors[a].client = Some(client);
    pump(world, a);
}

/// DEV-2: whether the answer honest device `a`'s restore with digits acts on
/// holds a backup object put under other digits.
fn note_other_key(world: &mut World, a: usize, result: &Result<CloudReply, StoreError>) {
    let (Ok(CloudReply::Got(object)), Role::Honest) = (result, world.actors[a].role) else {
        return;
    };
    let user = world.actors[a].user;
    let told = &world.told;
    if let Some(op) = world.actors[a].op.as_mut() {
        if let (Kind::RestoreWithKey, Some(key)) = (op.kind, op.before.key.as_ref()) {
            if told.made_under_other_key(user, object, key) {
                op.received_other_key = true;
            }
        }
    }
}

/// DEV-2: whether the answer honest device `a`'s restore acts on holds a
/// backup object of its folder damaged on the way.
fn note_damaged(world: &mut World, a: usize, result: &Result<CloudReply, StoreError>) {
    if world.actors[a].role != Role::Honest {
        return;
    }
    let damaged = world.told.damaged_backup(world.actors[a].user, result);
    if let Some(op) = world.actors[a].op.as_mut() {
        if matches!(op.kind, Kind::RestoreWithKey | Kind::RestoreWithPassword) && damaged {
            op.received_damaged = true;
        }
    }
}

/// Device `a` crashes mid-flow and comes back from its saved state.
pub(super) fn crash(world: &mut World, a: usize) {
    if !busy(world, a) {
        return;
    }
    let user = world.actors[a].user;
    fault_at(world, a, "device-crash", user, 0);
    world.actors[a].op = None;
    let actor = &mut world.actors[a];
    actor.epoch += 1;
    actor.calls = 0;
    actor.next_password = None;
    actor.client = Some(Client::from_state(actor.saved.clone(), world.client_config));
    schedule_wake(world, a, 500, 1_000);
}

fn error_name(e: &ClientError) -> &'static str {
    match e {
        ClientError::WrongPassword { .. } => "wrong-password",
        ClientError::KeyDestroyed => "destroyed",
        ClientError::NotRegistered => "not-registered",
        ClientError::VaultUnavailable => "vault-unavailable",
        ClientError::CloudUnavailable => "cloud-unavailable",
        ClientError::BackupDamaged { .. } => "backup-damaged",
        ClientError::WrongKey => "wrong-key",
        ClientError::StaleBackup { .. } => "stale-backup",
        ClientError::NoBackup => "no-backup",
        ClientError::BadKeyText(_) => "bad-key-text",
        ClientError::Busy => "busy",
        ClientError::NotEnabled => "not-enabled",
        ClientError::KeyDiffers => "key-differs",
        _ => "error",
    }
}

/// Actor `a`'s operation ended.
fn finish(world: &mut World, a: usize, result: Result<Completed, ClientError>) {
    let Some(op) = world.actors[a].op.take() else {
        return;
    };
    let user = world.actors[a].user;
    let role = world.actors[a].role;
    if role == Role::Honest {
        if let Some(client) = world.actors[a].client.as_ref() {
            let after = client.state().clone();
            if let Err(v) = device::judge(user, op.kind, &op.before, &after, result.as_ref()) {
                world.fail(v);
                return;
            }
            let taken = Some(after.registration).filter(|r| *r != op.before.registration);
            if let Err(v) = staged_for(world, user, taken.flatten(), "took") {
                world.fail(v);
                return;
            }
            world.actors[a].saved = after;
        }
    }
    let what = match &result {
        Ok(_) => "done",
        Err(e) => error_name(e),
    };
    world.record("done", Party::Actor(a as u32), None, what, Some(user.0), 0);
    if matches!(result, Err(ClientError::WrongPassword { .. })) {
        world.stats.wrong_passwords += 1;
    }
    if role == Role::Honest && op.kind == Kind::Backup {
        count_failed_backup(world, a, &op, result.is_ok());
    }
    let restored = matches!(result, Ok(Completed::Restored { .. }));
    let outcome = match result {
        Ok(done) => on_completed(world, a, &op, done),
        Err(e) => on_failed(world, a, &op, e),
    };
    if let Err(v) = outcome {
        world.fail(v);
        return;
    }
    match op.final_check {
        Some(FinalCheck::Backup) => start_final_restore(world, a, true),
        Some(FinalCheck::Reenable) => start_final_restore(world, a, false),
        Some(FinalCheck::Login | FinalCheck::Key) if restored => start_final_disable(world, a),
        _ => {}
    }
    if op.final_check.is_some() || op.must_finish {
        world.finals_pending = world.finals_pending.saturating_sub(1);
        if world.finals_pending == 0 {
            world.begin_catch_up();
        }
        return;
    }
    let (min, spread) = match role {
        // Soon, so that its failed backups outnumber the conflict budget
        // well before the heal.
        Role::Honest if super::nemesis::aims_backups_at(world, a) => (20, 200),
        // A first device with a second one is now and then put away for a
        // while, as phones are, and the second backs up meanwhile: the
        // first comes back behind by more backups than its conflict
        // budget (drawn only with `--second-devices`).
        Role::Honest if world.actors[a].second.is_some() && world.below(6) == 0 => (15_000, 15_000),
        Role::Honest => (300, 3_000),
        Role::Guesser => (500, 2_500),
        _ => (3_000, 10_000),
    };
    schedule_wake(world, a, min, spread);
}

/// Counts the backups of honest device `a` that failed after putting their
/// bytes, since its last acknowledged one; one more than its conflict
/// budget is the coverage counter's case: a backup that started at the
/// acknowledged generation again would meet every name they left.
fn count_failed_backup(world: &mut World, a: usize, op: &Op, acknowledged: bool) {
    let actor = &mut world.actors[a];
    if acknowledged {
        actor.failed_after_put = 0;
        return;
    }
    if !op.put_backup_object {
        return;
    }
    actor.failed_after_put += 1;
    if actor.failed_after_put == world.client_config.restarts.backup_conflicts + 1 {
        world.coverage.failed_backups_past_the_budget();
    }
}

fn on_completed(
    world: &mut World,
    a: usize,
    op: &Op,
    done: Completed,
) -> Result<(), super::Violation> {
    let user = world.actors[a].user;
    let honest = world.actors[a].role == Role::Honest;
    match done {
        Completed::Registered { .. } | Completed::PasswordChanged if honest => {
            let held = world.actors[a].saved.registration;
            told::registered(user, held, |r| world.lockout.activated(r))?;
            world.actors[a].password = world.actors[a].next_password.take();
            world.actors[a].typed.clear();
            world.coverage.registration_done();
        }
        Completed::BackedUp { generation } if honest => {
            if let (Some(p), Some(key)) = (&op.plaintext, &op.before.key) {
                world
                    .backups
                    .backed_up(user, key.fingerprint(), generation, p);
            }
            world.stats.backups += 1;
        }
        Completed::Restored {
            plaintext,
            generation,
        } => {
            world.stats.restores += 1;
            if honest {
                world.coverage.restore_done();
            }
            // DEV-1: a login moves the device to the registration whose key
            // the vault released, whatever it held before (its own change
            // whose answer was lost, another device's change).
            if honest && op.kind == Kind::RestoreWithPassword {
                let client = world.actors[a].client_id();
                let held = world.actors[a].saved.registration;
                if let Some(released) = world.lockout.released_to(client) {
                    if op.before.registration.is_some_and(|r| r != released) {
                        world.coverage.login_onto_another_registration();
                    }
                    if held != Some(released) {
                        return Err(super::Violation::user(
                            Invariant::Dev1,
                            user,
                            None,
                            format!(
                                "user {}'s password restore was released the key of registration {:x}, and the device holds {}",
                                user.0,
                                released.0,
                                held.map_or("none".to_string(), |r| format!("registration {:x}", r.0))
                            ),
                        ));
                    }
                }
            }
            // The key the restore opened the backup with.
            let key = world.actors[a]
                .client
                .as_ref()
                .and_then(|c| c.state().key.clone());
            world.backups.restored(
                user,
                key.as_ref().map(BackupKey::fingerprint),
                generation,
                &plaintext,
                op.before.acknowledged,
            )?;
            // DUR-1: the newest backup it can find. A newer generation the
            // listing it was served named, never fetched, was skipped: a new
            // device set up from an older backup than the cloud showed it.
            // Nor one the manifest it was served names, if that manifest is
            // the device's own (it opens under the key the restore used): a
            // listing may leave out the newest backup, the manifest may not.
            if let Some(named) = op
                .manifest_read
                .as_deref()
                .zip(key.as_ref())
                .and_then(|(bytes, key)| decode_manifest(key, user, bytes))
                .filter(|g| *g > generation && !op.fetched.contains(g))
            {
                return Err(super::Violation::user(
                    Invariant::Dur1,
                    user,
                    None,
                    format!(
                        "user {}'s restore returned generation {} without fetching generation {}, which its own manifest named: a newer backup skipped",
                        user.0, generation.0, named.0
                    ),
                ));
            }
            if let Some(skipped) = op
                .listed
                .range(Generation(generation.0 + 1)..)
                .find(|g| !op.fetched.contains(g))
            {
                return Err(super::Violation::user(
                    Invariant::Dur1,
                    user,
                    None,
                    format!(
                        "user {}'s restore returned generation {} without fetching generation {}, which the listing it was served named: a newer backup skipped",
                        user.0, generation.0, skipped.0
                    ),
                ));
            }
            if op.final_check.is_some() {
                if let Some((g, _)) = world.backups.latest(user) {
                    if generation < *g {
                        return Err(super::Violation::user(
                            Invariant::Dur1,
                            user,
                            None,
                            format!(
                                "after healing, user {}'s restore returned generation {} instead of the acknowledged {}",
                                user.0, generation.0, g.0
                            ),
                        ));
                    }
                }
            }
        }
        Completed::Disabled { .. } if honest => {
            if op.final_check == Some(FinalCheck::Disable) && op.before.registration.is_some() {
                world.coverage.final_disable_done();
            }
            world.backups.disabled(user);
            world.actors[a].password = None;
            world.actors[a].typed.clear();
            // REG-2, the delete path: the device has forgotten K, so no
            // guessable record of its registration, nor of its key under
            // another registration (one it staged afresh whose answer was
            // lost), may remain, nor a staged one a device sent an
            // activation for (held back, it makes the record guessable
            // later; a staging whose id no device learned can never be
            // activated: the activation's proof names it). A record holds
            // K when a proof made with K verifies under its verifier, as
            // the vault would judge it. A device that names no
            // registration answers for the records of K it sent an
            // activation for (a password set-up in key mode whose answer
            // was lost, or cut short by a crash); one whose phone was lost
            // and set up again from the digits knows of none, and asks
            // nothing (docs/protocol.md, disable).
            if op.before.registration.is_some() || op.before.key.is_some() {
                let named = op.before.registration;
                let statement = ProofStatement::Delete {
                    user,
                    registration: named.unwrap_or(RegistrationId(0)),
                    nonce: DeleteNonce([0; DELETE_NONCE_LEN]),
                };
                let proof = op
                    .before
                    .key
                    .as_ref()
                    .map(|k| backup_vault::client::crypto::prove(k, &statement));
                let holds = |registration: RegistrationId, verifier| {
                    Some(registration) == named
                        || proof
                            .as_ref()
                            .is_some_and(|p| world.crypto.verify_proof(verifier, &statement, p))
                };
                let rec = world.consensus.reference().get(user);
                let by_this_device = |r: &RegistrationId| world.activations_sent.contains(&(a, *r));
                let by_any =
                    |r: &RegistrationId| world.activations_sent.iter().any(|(_, x)| x == r);
                let known = |r: &RegistrationId| named.is_some() || by_this_device(r);
                let live = rec.and_then(|rec| {
                    let active = rec
                        .active
                        .as_ref()
                        .filter(|x| known(&x.registration))
                        .map(|x| (x.registration, &x.verifier));
                    let staged = rec
                        .staged
                        .as_ref()
                        .filter(|x| known(&x.registration) && by_any(&x.registration))
                        .map(|x| (x.registration, &x.verifier));
                    active.into_iter().chain(staged).find(|(g, v)| holds(*g, v))
                });
                if let Some((live, _)) = live {
                    return Err(super::Violation::user(
                        Invariant::Reg2,
                        user,
                        None,
                        format!(
                            "user {}'s device turned backups off (its registration {}) and forgot its key while the vault still holds a record of that key, registration {:x}",
                            user.0,
                            named.map_or("none".to_owned(), |r| format!("{:x}", r.0)),
                            live.0
                        ),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn on_failed(world: &mut World, a: usize, op: &Op, e: ClientError) -> Result<(), super::Violation> {
    let user = world.actors[a].user;
    world.stats.ops_failed += 1;
    if world.actors[a].role == Role::Honest {
        if op.received_other_key {
            world.coverage.met_other_digits();
        }
        match op.kind {
            Kind::RestoreWithKey => world.told.restore_failed(
                user,
                op.before.key.as_ref(),
                &e,
                op.received_other_key,
                op.received_damaged,
            )?,
            Kind::RestoreWithPassword => {
                world
                    .told
                    .restore_failed(user, None, &e, false, op.received_damaged)?;
            }
            _ => {}
        }
        match (op.kind, &e) {
            (Kind::RestoreWithKey | Kind::RestoreWithPassword, ClientError::NoBackup) => {
                world.coverage.found_no_backup();
            }
            (Kind::ChangePassword, ClientError::NotRegistered) => {
                world.coverage.change_found_record_gone();
            }
            _ => {}
        }
        if matches!(e, ClientError::KeyDestroyed | ClientError::NotRegistered) {
            world.actors[a].reenable = true;
        }
        world.actors[a].next_password = None;
    }
    let Some(check) = op.final_check else {
        return Ok(());
    };
    if world.host.liveness_voided {
        // See `HostAdversary::liveness_voided`.
        return Ok(());
    }
    if check == FinalCheck::Disable
        && op.received_forgery
        && matches!(e, ClientError::DeleteUnconfirmed)
    {
        // The chat server answered "not registered" in the vault's name:
        // the device rightly kept its key (REG-2), and the in-path server
        // can always deny this service.
        return Ok(());
    }
    if matches!(
        check,
        FinalCheck::Backup | FinalCheck::Reenable | FinalCheck::Disable
    ) {
        if world.waive_liveness_for_lost_tail() {
            return Ok(());
        }
        // The cloud and the cluster are healed and the device keeps its
        // key: nothing may stop a backup, a new password or turning
        // backups off now.
        return Err(super::Violation::user(
            Invariant::Live5,
            user,
            None,
            format!(
                "after every fault healed, user {}'s {} failed: {e}",
                user.0, op.name
            ),
        ));
    }
    let login_failed = matches!(
        e,
        ClientError::VaultUnavailable
            | ClientError::WrongPassword { .. }
            | ClientError::KeyDestroyed
            | ClientError::NotRegistered
            | ClientError::Protocol(_)
    );
    match (check, login_failed, world.backups.latest(user)) {
        (FinalCheck::Login, true, _) | (_, false, Some(_)) => {
            let invariant = if check == FinalCheck::Login && login_failed {
                Invariant::Live1
            } else {
                Invariant::Dur1
            };
            if invariant == Invariant::Live1 && world.waive_liveness_for_lost_tail() {
                return Ok(());
            }
            Err(super::Violation::user(
                invariant,
                user,
                None,
                format!(
                    "after every fault healed, user {}'s {} failed: {e}",
                    user.0, op.name
                ),
            ))
        }
        // Nothing was promised: a leftover backup of an earlier key, or
        // none at all, is not a broken promise.
        (
            FinalCheck::Key | FinalCheck::Backup | FinalCheck::Reenable | FinalCheck::Disable,
            true,
            _,
        )
        | (_, false, None) => Ok(()),
    }
}

/// The settle time is over: every honest device that keeps its key backs up
/// (LIVE-5), sets its password up again if its record is gone (LIVE-5),
/// then restores, to check LIVE-1 and DUR-1. A device still busy with an
/// operation begun before must finish it within the same time instead
/// (LIVE-1): a client that waits forever for a lost answer is a liveness
/// failure, not an exemption.
pub(super) fn start_finals(world: &mut World) {
    if world.phase == Phase::Done {
        return;
    }
    world.phase = Phase::Final;
    world.finals_pending = 0;
    for a in 0..world.actors.len() {
        if world.actors[a].primary.is_some() {
            retire_second(world, a);
        }
    }
    for a in 0..world.actors.len() {
        if world.actors[a].role != Role::Honest || world.actors[a].primary.is_some() {
            continue;
        }
        if busy(world, a) {
            if let Some(op) = world.actors[a].op.as_mut() {
                op.must_finish = true;
                world.finals_pending += 1;
            }
            continue;
        }
        // Each final operation runs on a fresh app process with the saved
        // state: a backup first where the device keeps its key (LIVE-5),
        // then its restore (when the backup is done, `finish`).
        let saved = &world.actors[a].saved;
        if saved.mode != Mode::Off && saved.key.is_some() {
            restart_app(world, a);
            world.finals_pending += 1;
            start_backup(world, a, Some(FinalCheck::Backup));
        } else {
            start_final_restore(world, a, true);
        }
        if world.phase == Phase::Done {
            return;
        }
    }
    if world.finals_pending == 0 {
        world.begin_catch_up();
        return;
    }
    let at = world.now().plus(FINAL_MS);
    world.cluster.schedule(at, Ev::End);
}

/// Actor `a`'s app process starts again from its saved state.
fn restart_app(world: &mut World, a: usize) {
    world.actors[a].epoch += 1;
    world.actors[a].calls = 0;
    world.actors[a].client = Some(Client::from_state(
        world.actors[a].saved.clone(),
        world.client_config,
    ));
}

/// Actor `a`'s final restore: a login where its password should work (LIVE-1
/// and DUR-1), else with its key where a backup was promised (DUR-1). A
/// device in password mode whose record is gone first sets its password up
/// again, if `may_reenable` (LIVE-5), and logs in after.
fn start_final_restore(world: &mut World, a: usize, may_reenable: bool) {
    let user = world.actors[a].user;
    let active = reference_active(world, user).map(|r| (r.registration, r.attempts.remaining()));
    let typed = active.is_some_and(|(reg, _)| world.actors[a].typed.iter().any(|(r, _)| *r == reg));
    let password = login_password(world, a);
    let saved = &world.actors[a].saved;
    // The device's own registration, or one whose activation it asked for
    // and never saw answered: the user knows the password of either.
    let login_possible = saved.mode == Mode::Password
        && active.is_some_and(|(reg, left)| (Some(reg) == saved.registration || typed) && left > 0)
        && password.is_some();
    // An in-path chat server (`intercept`) stays in the path after the
    // heal and can always deny a registration service (a substituted
    // evaluation at every restart); the re-enable is judged without it.
    if may_reenable
        && !login_possible
        && saved.mode == Mode::Password
        && saved.key.is_some()
        && !world.mix.has(FaultKind::Intercept)
    {
        let password = new_password(world, a);
        world.actors[a].next_password = Some(password.clone());
        restart_app(world, a);
        world.finals_pending += 1;
        start(
            world,
            a,
            Operation::EnablePasswordMode { password },
            Some("register"),
            Some(FinalCheck::Reenable),
        );
        return;
    }
    let check = if login_possible {
        FinalCheck::Login
    } else if saved.key.is_some() && world.backups.latest(user).is_some() {
        FinalCheck::Key
    } else {
        return;
    };
    let op = match check {
        FinalCheck::Login => Operation::RestoreWithPassword {
            password: password.expect("checked above"),
        },
        _ => restore_with_key(world, a),
    };
    if world.below(2) == 0 {
        // The phone is lost: the user restores onto a new one, with the
        // password or the 64 digits they kept, which is what backups are
        // for. DEV-1 then judges a restore that sets a device up.
        world.actors[a].saved = DeviceState::new(user);
        world.activations_sent.retain(|(actor, _)| *actor != a);
        fault_at(world, a, "device-lost", user, 0);
    }
    restart_app(world, a);
    world.finals_pending += 1;
    let f = (check == FinalCheck::Login).then_some("login");
    start(world, a, op, f, Some(check));
}

/// In one run in four (`World::final_disables`), every device turns
/// encrypted backups off after its final restore (LIVE-5), in the same app: with every fault healed the vault's
/// authenticated `Deleted` (or its word that the registration is already
/// gone) must come, and the flow must finish. An in-path chat server
/// (`intercept`) stays in the path after the heal: a disable that received
/// its forged "not registered" may end "not confirmed" (see `on_failed`).
/// A device whose registration the vault no longer knows (a host forged a
/// reset, or another registration went since) cannot have its deletion
/// confirmed, and rightly keeps its key: it is not asked.
fn start_final_disable(world: &mut World, a: usize) {
    let user = world.actors[a].user;
    let confirmable = match world.actors[a].saved.registration {
        None => true,
        Some(r) => world.consensus.reference().get(user).is_some_and(|rec| {
            rec.active.as_ref().is_some_and(|x| x.registration == r)
                || rec.staged.as_ref().is_some_and(|x| x.registration == r)
                || rec.gone.as_ref().is_some_and(|g| g.why.registration() == r)
        }),
    };
    if !world.final_disables || !confirmable {
        return;
    }
    // As for any disable: from the request on, nothing is promised.
    world.backups.disabled(user);
    world.finals_pending += 1;
    start(
        world,
        a,
        Operation::Disable,
        Some("delete"),
        Some(FinalCheck::Disable),
    );
}

/// The final restores ran out of time.
pub(super) fn end_finals(world: &mut World) {
    if world.phase != Phase::Final {
        return;
    }
    let stuck = world
        .actors
        .iter()
        .find(|x| {
            x.op.as_ref()
                .is_some_and(|o| o.final_check.is_some() || o.must_finish)
        })
        .map(|x| {
            (
                x.user,
                x.op.as_ref().map_or("", |o| o.name),
                x.op.as_ref().and_then(|o| o.final_check),
            )
        });
    let waived = stuck.is_some() && world.waive_liveness_for_lost_tail();
    if let Some((user, name, check)) = stuck.filter(|_| !world.host.liveness_voided && !waived) {
        let invariant = if matches!(
            check,
            Some(FinalCheck::Backup | FinalCheck::Reenable | FinalCheck::Disable)
        ) {
            Invariant::Live5
        } else {
            Invariant::Live1
        };
        world.fail(super::Violation::user(
            invariant,
            user,
            None,
            format!(
                "after every fault healed, user {}'s {name} did not finish within {} s",
                user.0,
                FINAL_MS / 1000
            ),
        ));
    }
    if world.violation.is_none() && !world.host.liveness_voided {
        world.check_exhaustion_at_end();
    }
    world.begin_catch_up();
}
