//! Real faults on real processes, judged by the simulator's history checks.
//!
//! A cluster of 5 `bvault node serve` processes (rollback tolerance 1, guess
//! limit 3) and the cloud service, on loopback. Three real clients run at
//! once: an honest user who backs up and restores, a guesser who spends the
//! guesses of a second user's key with wrong passwords, and a user who
//! changes the password, disables and enables again. Meanwhile a nemesis:
//!
//! - kills the leader with SIGKILL right after a client received a KE2
//!   (between KE2 and KE3), and at random times;
//! - kills the cloud service during backups;
//! - rolls one node's data folder back to a copy taken at an earlier kill
//!   (one node only: the rollback tolerance is 1);
//! - restarts what it killed from its disk.
//!
//! Every vault request the clients send and the answer that reached them is
//! recorded as a history (`backup-vault-history`, `docs/history.md`); each
//! node records its committed commands' metadata (`record_applied`). At the
//! end the history is judged by the bound on password tests per registration
//! (LOCK-1) and the linearizability search (CONS-4), and the clients' own
//! view by: no acknowledged backup lost (a fresh device restores at least
//! the newest acknowledged generation) and a destroyed key stays destroyed.
//! So that a pass means something, the same history rewritten as a vault
//! that never counts a guess would have answered must fail the bound.
//!
//! Real processes are not deterministic: the seed fixes the clients' and the
//! nemesis's choices, not the interleaving. A failing run keeps its folder
//! (history, node logs, applied commands, the nemesis schedule) under
//! `target/runtime-faults/` and names it.
//!
//! `BVAULT_FAULT_RUNS` (default 1) and `BVAULT_FAULT_SECONDS` (default 8)
//! set the soak's size; the nightly runs more.

use backup_vault::client::error::ClientError;
use backup_vault::client::state::DeviceState;
use backup_vault::client::{Client, Completed, Operation, Password};
use backup_vault::format::Generation;
use backup_vault::vault::crypto::{ContentDigest, Ke1Digest, RegistrationId};
use backup_vault::vault::ids::UserId;
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::vault::protocol::{ClientRequest, ClientResponse};
use backup_vault_history::{guesses, linearizable, Answer, Call, EventType, History};
use backup_vault_runtime::client::{ClientFailure, Connection, Observed};
use backup_vault_runtime::cluster::{init, InitOptions, Supervisor, CLUSTER_FILE};
use backup_vault_runtime::config::{ClusterFile, KsfName};
use backup_vault_runtime::hsm::EmulatedHsm;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: u8 = 5;
const GUESS_LIMIT: u8 = 3;

fn bvault() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bvault"))
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The history of every client's vault requests, as real clients saw them.
struct Recorder {
    history: History,
    crypto: OpaqueCrypto,
    start: Instant,
    /// (actor, send id) to the history's process.
    open: BTreeMap<(u32, u64), u64>,
    /// KE2s seen, for the nemesis to aim at.
    ke2s: u64,
}

impl Recorder {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn call(&self, request: &ClientRequest<OpaqueCrypto>) -> Call {
        // Every KE3 here is a real client's, for its own login.
        Call::of(&self.crypto, request, |_| true)
    }

    fn observe(&mut self, actor: u32, event: Observed<'_>) {
        let now = self.now();
        match event {
            Observed::Sent { id, request } => {
                let call = self.call(request);
                let process = self.history.invoke(request.user().0, actor, call, now);
                self.history.delivered(process, 1);
                self.open.insert((actor, id), process);
            }
            Observed::NotDelivered { id } => {
                if let Some(process) = self.open.remove(&(actor, id)) {
                    self.history.delivered(process, 0);
                }
            }
            Observed::Answered { id, response } => {
                if matches!(response, ClientResponse::Ke2 { .. }) {
                    self.ke2s += 1;
                }
                if let Some(&process) = self.open.get(&(actor, id)) {
                    // The registration a KE2 or LoginOk is about is filled in
                    // from the committed log at the end.
                    let answer = Answer::of(response, None);
                    if answer.completion(true).is_some() {
                        self.open.remove(&(actor, id));
                    }
                    self.history.complete(process, answer, true, now);
                }
            }
        }
    }
}

/// What the nodes committed, from their `applied.jsonl` files.
#[derive(Default)]
struct Committed {
    staged: BTreeSet<ContentDigest>,
    activated: BTreeSet<RegistrationId>,
    consumed: BTreeMap<Ke1Digest, RegistrationId>,
    reset: BTreeSet<u64>,
    reset_ke1: BTreeMap<Ke1Digest, RegistrationId>,
    deleted: BTreeSet<RegistrationId>,
}

fn read_committed(file: &ClusterFile) -> Committed {
    let mut c = Committed::default();
    for entry in &file.nodes {
        let path = file.node_dir(entry).join("applied.jsonl");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue; // a line torn by a SIGKILL
            };
            let reg = RegistrationId(v["registration"].as_u64().unwrap_or(u64::MAX));
            let ke1 = || serde_json::from_value::<Ke1Digest>(v["ke1"].clone()).ok();
            let content = || serde_json::from_value::<ContentDigest>(v["content"].clone()).ok();
            match v["kind"].as_str() {
                Some("stage") => c.staged.extend(content()),
                Some("activate") => {
                    c.activated.insert(reg);
                }
                Some("consume-attempt") => {
                    if let Some(k) = ke1() {
                        c.consumed.insert(k, reg);
                    }
                }
                Some("reset") => {
                    c.reset.insert(v["user"].as_u64().unwrap_or(u64::MAX));
                    if let Some(k) = ke1() {
                        c.reset_ke1.insert(k, reg);
                    }
                }
                Some("delete") => {
                    c.deleted.insert(reg);
                }
                _ => {}
            }
        }
    }
    c
}

/// Fills in the registration of KE2 and LoginOk answers from the committed
/// log (the wire's answers do not carry it; the simulator reads it from the
/// entry the reply names), then closes the history.
fn finish_history(history: &mut History, committed: &Committed, now: u64) {
    let mut ke1_of: BTreeMap<u64, Ke1Digest> = BTreeMap::new();
    for e in &history.events {
        if let (EventType::Invoke, Call::LoginStart { ke1 }) = (e.kind, &e.call) {
            ke1_of.insert(e.process, *ke1);
        }
    }
    let mut login_ke1 = BTreeMap::new();
    for e in &mut history.events {
        if let Some(Answer::Ke2 {
            registration,
            login,
            ..
        }) = e.answer.as_mut()
        {
            if let Some(ke1) = ke1_of.get(&e.process) {
                *registration = committed.consumed.get(ke1).copied();
                login_ke1.insert((e.user, *login), *ke1);
            }
        }
    }
    for e in &mut history.events {
        if let (Call::LoginFinish { login, .. }, Some(Answer::LoginOk { registration })) =
            (&e.call, e.answer.as_mut())
        {
            if let Some(ke1) = login_ke1.get(&(e.user, *login)) {
                *registration = committed.reset_ke1.get(ke1).copied();
            }
        }
    }
    history.close(now, |user, call| match call {
        Call::RegistrationStart => false,
        Call::Stage { content, .. } => committed.staged.contains(content),
        Call::Activate { registration, .. } => committed.activated.contains(registration),
        Call::LoginStart { ke1 } => committed.consumed.contains_key(ke1),
        Call::LoginFinish { valid, .. } => *valid && committed.reset.contains(&user),
        Call::Delete { registration } => committed.deleted.contains(registration),
    });
}

/// What the clients saw that the history does not say.
#[derive(Default)]
struct Seen {
    /// The newest backup generation acknowledged to the honest user.
    acknowledged: Generation,
    /// Whether the guesser was told the key was destroyed.
    destroyed: bool,
    problems: Vec<String>,
}

type Shared = Arc<Mutex<Recorder>>;

fn connect(file: &ClusterFile, recorder: &Shared, actor: u32) -> Connection {
    let mut conn = Connection::open(file.clone()).expect("a connection");
    let rec = recorder.clone();
    conn.observe(Box::new(move |event| {
        rec.lock().expect("recorder").observe(actor, event);
    }));
    conn
}

/// Errors faults may cause, which are no violation.
fn transient(e: &ClientFailure) -> bool {
    matches!(
        e.client_error(),
        Some(ClientError::VaultUnavailable | ClientError::CloudUnavailable)
    ) || matches!(e, ClientFailure::VaultDown { .. })
}

async fn honest(
    file: ClusterFile,
    rec: Shared,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut conn = connect(&file, &rec, 0);
    let config = conn.client_config().expect("config");
    let user = UserId(1);
    let pw = Password::from("honest password");
    let mut phone = Client::new(user, config);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut enabled = false;
    while !stop.load(Ordering::Relaxed) {
        if !enabled {
            match conn
                .run(
                    &mut phone,
                    Operation::EnablePasswordMode {
                        password: pw.clone(),
                    },
                    |_| {},
                )
                .await
            {
                Ok(_) => enabled = true,
                Err(e) if transient(&e) => continue,
                Err(e) => {
                    seen.lock()
                        .expect("seen")
                        .problems
                        .push(format!("honest enable: {e}"));
                    return;
                }
            }
        }
        let mut data = vec![0u8; 2000 + (rng.next_u32() % 20_000) as usize];
        rng.fill_bytes(&mut data);
        match conn
            .run(
                &mut phone,
                Operation::Backup {
                    plaintext: data.into(),
                },
                |_| {},
            )
            .await
        {
            Ok(Completed::BackedUp { generation }) => {
                let mut s = seen.lock().expect("seen");
                s.acknowledged = s.acknowledged.max(generation);
            }
            Ok(other) => seen
                .lock()
                .expect("seen")
                .problems
                .push(format!("backup gave {other:?}")),
            Err(e) if transient(&e) => {}
            Err(e) => seen
                .lock()
                .expect("seen")
                .problems
                .push(format!("honest backup: {e}")),
        }
        let before = seen.lock().expect("seen").acknowledged;
        let mut fresh = Client::from_state(DeviceState::new(user), config);
        match conn
            .run(
                &mut fresh,
                Operation::RestoreWithPassword {
                    password: pw.clone(),
                },
                |_| {},
            )
            .await
        {
            Ok(Completed::Restored { generation, .. }) if generation >= before => {}
            Ok(other) => seen.lock().expect("seen").problems.push(format!(
                "a fresh device restored {other:?}, older than acknowledged generation {}",
                before.0
            )),
            Err(e) if transient(&e) => {}
            Err(e) => seen
                .lock()
                .expect("seen")
                .problems
                .push(format!("honest restore: {e}")),
        }
    }
}

async fn guesser(file: ClusterFile, rec: Shared, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let mut conn = connect(&file, &rec, 1);
    let config = conn.client_config().expect("config");
    let user = UserId(2);
    let right = Password::from("the real one");
    let mut owner = Client::new(user, config);
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match conn
            .run(
                &mut owner,
                Operation::EnablePasswordMode {
                    password: right.clone(),
                },
                |_| {},
            )
            .await
        {
            Ok(_) => break,
            Err(e) if transient(&e) => {}
            Err(e) => {
                seen.lock()
                    .expect("seen")
                    .problems
                    .push(format!("guesser's owner enable: {e}"));
                return;
            }
        }
    }
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let destroyed = seen.lock().expect("seen").destroyed;
        // After the destruction, the right password too must find nothing.
        let password = if destroyed {
            right.clone()
        } else {
            Password::from(format!("wrong {n}").as_str())
        };
        let mut thief = Client::from_state(DeviceState::new(user), config);
        match conn
            .run(
                &mut thief,
                Operation::RestoreWithPassword { password },
                |_| {},
            )
            .await
        {
            Err(ClientFailure::Client(ClientError::WrongPassword { .. })) if !destroyed => {}
            Err(ClientFailure::Client(ClientError::KeyDestroyed | ClientError::NotRegistered)) => {
                seen.lock().expect("seen").destroyed = true;
            }
            Err(e) if transient(&e) => {}
            other => seen.lock().expect("seen").problems.push(format!(
                "guess {n} (destroyed before: {destroyed}) ended with {other:?}"
            )),
        }
    }
}

async fn changer(file: ClusterFile, rec: Shared, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let mut conn = connect(&file, &rec, 2);
    let config = conn.client_config().expect("config");
    let mut phone = Client::new(UserId(3), config);
    let mut round = 0u32;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let op = match round % 3 {
            1 => Operation::EnablePasswordMode {
                password: Password::from(format!("pw {round}").as_str()),
            },
            2 => Operation::ChangePassword {
                new_password: Password::from(format!("pw {round}").as_str()),
            },
            _ => Operation::Disable,
        };
        let name = op.name();
        match conn.run(&mut phone, op, |_| {}).await {
            Ok(_) => {}
            Err(e) if transient(&e) => {}
            // A disable that could not confirm, or a change on a device a
            // fault left without a registration, is the client being safe.
            Err(ClientFailure::Client(
                ClientError::DeleteUnconfirmed
                | ClientError::NotEnabled
                | ClientError::NotRegistered,
            )) => {}
            Err(e) => seen
                .lock()
                .expect("seen")
                .problems
                .push(format!("changer {name}: {e}")),
        }
    }
}

/// The nemesis's schedule, kept for a failure's report.
struct Nemesis {
    log: Vec<String>,
    saved: Option<Vec<u8>>,
}

fn copy_log(file: &ClusterFile, id: u8) -> Option<Vec<u8>> {
    let entry = file.node(backup_vault::vault::ids::NodeId(id))?;
    std::fs::read(file.node_dir(entry).join("data/vault.log")).ok()
}

/// Processes whose command line names `dir`: none may outlive a run.
fn processes_of(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

fn run_once(seed: u64, seconds: u64, out: &Path) -> Result<String, String> {
    let dir = out.join(format!("seed-{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut file = init(
        &dir,
        InitOptions {
            nodes: NODES,
            rollback_tolerance: 1,
            guess_limit: GUESS_LIMIT,
            ksf: KsfName::Cheap,
        },
    )
    .map_err(|e| e.to_string())?;
    file.cluster.record_applied = true;
    file.save(&dir.join(CLUSTER_FILE))
        .map_err(|e| e.to_string())?;
    let (_, fleet) = EmulatedHsm::open(&dir.join("node-0/hsm")).map_err(|e| e.to_string())?;
    let recorder: Shared = Arc::new(Mutex::new(Recorder {
        history: History::default(),
        crypto: OpaqueCrypto::new(fleet),
        start: Instant::now(),
        open: BTreeMap::new(),
        ke2s: 0,
    }));
    let mut cluster =
        Supervisor::new(bvault(), dir.join(CLUSTER_FILE)).map_err(|e| e.to_string())?;
    cluster.start_all().map_err(|e| e.to_string())?;
    cluster
        .wait_for_leader(Duration::from_secs(20))
        .ok_or("no leader within 20 s")?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let clients = [
        rt.spawn(honest(
            file.clone(),
            recorder.clone(),
            seen.clone(),
            stop.clone(),
            seed,
        )),
        rt.spawn(guesser(
            file.clone(),
            recorder.clone(),
            seen.clone(),
            stop.clone(),
        )),
        rt.spawn(changer(
            file.clone(),
            recorder.clone(),
            seen.clone(),
            stop.clone(),
        )),
    ];

    // The nemesis, on this thread.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6d65);
    let mut nemesis = Nemesis {
        log: Vec::new(),
        saved: None,
    };
    let started = Instant::now();
    let mut ke2s_seen = 0;
    let mut down: Vec<(u8, Instant)> = Vec::new();
    let mut cloud_down: Option<Instant> = None;
    let record = |rec: &Shared, f: &'static str, node: Option<u8>, log: &mut Vec<String>| {
        let mut r = rec.lock().expect("recorder");
        let now = r.now();
        r.history
            .fault(f, node, None, u64::from(node.unwrap_or(0)), now);
        log.push(format!(
            "{now} ms: {f} {}",
            node.map(|n| n.to_string()).unwrap_or_default()
        ));
    };
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(20));
        // Restart what is due.
        let now = Instant::now();
        for (id, _) in down.iter().filter(|(_, at)| *at <= now) {
            // Node 4's disk, and only node 4's, may be rolled back.
            if *id == 4 && rng.next_u32() % 2 == 0 {
                if let Some(old) = &nemesis.saved {
                    let path = file
                        .node_dir(
                            file.node(backup_vault::vault::ids::NodeId(4))
                                .expect("node 4"),
                        )
                        .join("data/vault.log");
                    std::fs::write(&path, old).map_err(|e| e.to_string())?;
                    record(&recorder, "rollback", Some(4), &mut nemesis.log);
                }
            }
            cluster.start(*id).map_err(|e| e.to_string())?;
            record(&recorder, "restart", Some(*id), &mut nemesis.log);
        }
        down.retain(|(_, at)| *at > now);
        if cloud_down.is_some_and(|at| at <= now) {
            cluster.start_cloud().map_err(|e| e.to_string())?;
            record(&recorder, "cloud-restart", None, &mut nemesis.log);
            cloud_down = None;
        }
        // At most one node down at a time: four of five keep a quorum of
        // four (R = 1), so the clients can make progress.
        if !down.is_empty() {
            continue;
        }
        let ke2s = recorder.lock().expect("recorder").ke2s;
        let aimed = ke2s > ke2s_seen && rng.next_u32() % 3 == 0;
        ke2s_seen = ke2s;
        let roll = rng.next_u32() % 100;
        let victim = if aimed || roll < 4 {
            cluster.leader().map(|(id, _)| id)
        } else if roll < 7 {
            Some((rng.next_u32() % u32::from(NODES)) as u8)
        } else {
            None
        };
        if let Some(id) = victim {
            cluster.kill(id);
            record(
                &recorder,
                if aimed {
                    "kill-leader-after-ke2"
                } else {
                    "kill"
                },
                Some(id),
                &mut nemesis.log,
            );
            if id == 4 && nemesis.saved.is_none() {
                nemesis.saved = copy_log(&file, 4);
            }
            let back = Duration::from_millis(300 + u64::from(rng.next_u32() % 900));
            down.push((id, Instant::now() + back));
        } else if roll < 9 && cloud_down.is_none() {
            cluster.kill_cloud();
            record(&recorder, "cloud-kill", None, &mut nemesis.log);
            cloud_down =
                Some(Instant::now() + Duration::from_millis(200 + u64::from(rng.next_u32() % 600)));
        }
    }
    for (id, _) in down.drain(..) {
        cluster.start(id).map_err(|e| e.to_string())?;
        record(&recorder, "restart", Some(id), &mut nemesis.log);
    }
    cluster.start_all().map_err(|e| e.to_string())?;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        rt.block_on(c).map_err(|e| e.to_string())?;
    }
    // Let every node apply what was committed, then stop them.
    std::thread::sleep(Duration::from_secs(1));
    cluster.stop_all(Duration::from_secs(5));
    let left = processes_of(&dir);
    if !left.is_empty() {
        return Err(format!("seed {seed}: processes left running: {left:?}"));
    }

    let committed = read_committed(&file);
    let mut rec = recorder.lock().expect("recorder");
    let now = rec.now();
    finish_history(&mut rec.history, &committed, now);
    let mut history_file = Vec::new();
    rec.history
        .write_jsonl(&mut history_file)
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("history.jsonl"), &history_file).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nemesis.txt"), nemesis.log.join("\n")).map_err(|e| e.to_string())?;
    let seen = seen.lock().expect("seen");
    let mut problems = seen.problems.clone();
    match guesses::check(&rec.history, GUESS_LIMIT) {
        guesses::Verdict::Within => {}
        v => problems.push(format!("LOCK-1 bound: {v:?}")),
    }
    match linearizable::check(&rec.history, GUESS_LIMIT) {
        linearizable::Verdict::Linearizable => {}
        v => problems.push(format!("CONS-4: {v:?}")),
    }
    // The checks must have something to judge in a real history: the same
    // history, as a vault that never counted a guess would have answered
    // (every KE2 saying the whole budget is left), must fail the bound. If
    // it passes, the recording or the registrations filled in from the
    // committed log gave the bound nothing to count.
    if seen.destroyed {
        let mut refunding = rec.history.clone();
        for e in &mut refunding.events {
            if let Some(Answer::Ke2 { remaining, .. }) = e.answer.as_mut() {
                *remaining = GUESS_LIMIT;
            }
        }
        if guesses::check(&refunding, GUESS_LIMIT) == guesses::Verdict::Within {
            problems.push(
                "the bound passed a history whose KE2s never count a guess: it judged nothing"
                    .to_string(),
            );
        }
    }
    let ops = rec
        .history
        .events
        .iter()
        .filter(|e| e.kind == EventType::Invoke)
        .count();
    let faults = rec.history.nemesis.len();
    let count = |what: &str| nemesis.log.iter().filter(|l| l.contains(what)).count();
    let (aimed, rollbacks, cloud_kills) =
        (count("after-ke2"), count("rollback"), count("cloud-kill"));
    if ops < 20 {
        problems.push(format!("only {ops} vault requests: the run proved little"));
    }
    if !problems.is_empty() {
        return Err(format!(
            "seed {seed}: {}\nthe run's files (history.jsonl, nemesis.txt, node logs, applied.jsonl): {}",
            problems.join("\n"),
            dir.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "seed {seed}: {ops} vault requests, {faults} faults ({aimed} leader kills right after a KE2, {rollbacks} rollbacks of node 4, {cloud_kills} cloud kills), acknowledged generation {}, guesser's key destroyed: {}; bound and linearizability hold",
        seen.acknowledged.0, seen.destroyed
    ))
}

#[test]
fn real_faults_on_real_processes_pass_the_history_checks() {
    let runs = env_or("BVAULT_FAULT_RUNS", 1);
    let seconds = env_or("BVAULT_FAULT_SECONDS", 8);
    let first = env_or("BVAULT_FAULT_SEED", 1);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtime-faults");
    let mut failures = Vec::new();
    for seed in first..first + runs {
        match run_once(seed, seconds, &out) {
            Ok(line) => println!("{line}"),
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
