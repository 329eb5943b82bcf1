//! Real faults on real processes, judged by the simulator's history checks.
//!
//! Shared by two tests: `impl/cli/tests/runtime_faults.rs` runs the product,
//! `bvault`, which must pass; `sim/tests/runtime_faults_flawed.rs` runs the
//! suite's own node host with a broken variant, which must fail, so that a
//! pass of the first means something.
//!
//! A cluster of 5 `node serve` processes (rollback tolerance 1, guess
//! limit 3) and the cloud service, on loopback. Three real clients run at
//! once: an honest user who backs up and restores, a guesser who spends the
//! guesses of one user's key after another with wrong passwords (each
//! destruction checked with the right password, then the next user), and a
//! user who changes the password, disables and enables again. Meanwhile a nemesis:
//!
//! - kills the leader with SIGKILL right after a client received a KE2
//!   (between KE2 and KE3), and at random times;
//! - cuts the leader off from the other nodes right after a client received
//!   a KE2, its clients' links kept, so that the next guesses reach a
//!   leader without a quorum;
//! - kills the cloud service during backups;
//! - rolls one node's data folder back to a copy taken at an earlier kill
//!   (one node only: the rollback tolerance is 1);
//! - partitions a node (the leader, half the time) from the others for 0.3
//!   to 2 s: every peer link runs through a proxy in this test, which reads
//!   each connection's hello to learn which link it carries, and drops a
//!   cut link's connections and refuses new ones until it heals;
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
//! `target/tmp/runtime-faults/` and names it.

use backup_vault::client::error::ClientError;
use backup_vault::client::state::DeviceState;
use backup_vault::client::{Client, Completed, Operation, Password};
use backup_vault::format::Generation;
use backup_vault::vault::ids::UserId;
use backup_vault::vault::opaque_crypto::OpaqueCrypto;
use backup_vault::wire::frame::parse_header;
use backup_vault::wire::{decode_body, split_frame, FrameLimits, Kind, PeerHello, HEADER_LEN};
use backup_vault_runtime::client::{ClientFailure, Connection};
use backup_vault_runtime::cluster::{init, InitOptions, Supervisor, CLUSTER_FILE};
use backup_vault_runtime::config::{ClusterFile, KsfName};
use backup_vault_runtime::hsm::EmulatedHsm;
use backup_vault_runtime::recorder::{judge, requests, Committed, Recorder};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: u8 = 5;
const GUESS_LIMIT: u8 = 3;

/// The program that serves the nodes and the cloud service, and what the
/// nodes' command lines add (`node serve --config FILE --id N ARGS`).
pub struct Servers {
    /// `bvault`, or the suite's own node host, `bvault-suite`.
    pub exe: PathBuf,
    /// Added to each `node serve` (`--flaw NAME` for the suite's).
    pub node_args: Vec<String>,
}

/// The variable `name` as a number, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the clients saw that the history does not say.
#[derive(Default)]
struct Seen {
    /// The newest backup generation acknowledged to the honest user.
    acknowledged: Generation,
    /// How many of the guesser's users it was told had their key destroyed.
    destroyed: u32,
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
                Err(e) if e.is_transient() => continue,
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
            Err(e) if e.is_transient() => {}
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
            Err(e) if e.is_transient() => {}
            Err(e) => seen
                .lock()
                .expect("seen")
                .problems
                .push(format!("honest restore: {e}")),
        }
    }
}

/// The guesser's users: the first is user 2; each next one is taken when
/// the last one's key is destroyed.
const FIRST_GUESSED: u64 = 2;
const NEXT_GUESSED: u64 = 100;

async fn guesser(file: ClusterFile, rec: Shared, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let mut conn = connect(&file, &rec, 1);
    let config = conn.client_config().expect("config");
    let right = Password::from("the real one");
    // One user after another, so that guesses meet the faults for the
    // whole run and not only in its first second: an attempt a fault loses
    // (a commit undone, a vote forgotten) shows as a test past the bound.
    let users = std::iter::once(FIRST_GUESSED).chain(NEXT_GUESSED..);
    for user in users.map(UserId) {
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
                Err(e) if e.is_transient() => {}
                Err(e) => {
                    seen.lock()
                        .expect("seen")
                        .problems
                        .push(format!("guesser's owner enable of user {}: {e}", user.0));
                    return;
                }
            }
        }
        let mut destroyed = false;
        let mut n = 0u32;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
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
                Err(ClientFailure::Client(
                    ClientError::KeyDestroyed | ClientError::NotRegistered,
                )) => {
                    if destroyed {
                        break; // the right password found nothing: next user
                    }
                    destroyed = true;
                    seen.lock().expect("seen").destroyed += 1;
                }
                Err(e) if e.is_transient() => {}
                other => seen.lock().expect("seen").problems.push(format!(
                    "user {}, guess {n} (destroyed before: {destroyed}) ended with {other:?}",
                    user.0
                )),
            }
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
            Err(e) if e.is_transient() => {}
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
    /// How many faults were aimed at a KE2 so far.
    aimed: u32,
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

/// The peer links the nemesis has cut, as (from, to), and how many
/// connections the proxies dropped or refused for it.
#[derive(Default)]
struct Cuts {
    links: tokio::sync::watch::Sender<BTreeSet<(u8, u8)>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// Node `to`'s peer address, as the others dial it: forwards each
/// connection to where `to` listens, until its link is cut.
async fn proxy(listener: tokio::net::TcpListener, to: u8, target: SocketAddr, cuts: Arc<Cuts>) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        let cuts = cuts.clone();
        tokio::spawn(async move {
            let _ = forward(inbound, to, target, &cuts).await;
        });
    }
}

async fn forward(
    mut inbound: tokio::net::TcpStream,
    to: u8,
    target: SocketAddr,
    cuts: &Cuts,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The hello says which node calls: the header, then its body.
    let limits = FrameLimits::DEFAULT;
    let mut hello = vec![0u8; HEADER_LEN];
    inbound.read_exact(&mut hello).await?;
    let header = parse_header(&hello, &limits).map_err(std::io::Error::other)?;
    hello.resize(header.frame_len(), 0);
    inbound.read_exact(&mut hello[HEADER_LEN..]).await?;
    let raw = split_frame(&hello, &limits).map_err(std::io::Error::other)?;
    let from = decode_body::<PeerHello>(Kind::PeerHello, raw.body)
        .map_err(std::io::Error::other)?
        .from
        .0;
    let link = (from, to);
    let mut watch = cuts.links.subscribe();
    if watch.borrow().contains(&link) {
        cuts.dropped.fetch_add(1, Ordering::Relaxed);
        return Ok(()); // refused: the link is cut
    }
    let mut outbound = tokio::net::TcpStream::connect(target).await?;
    outbound.write_all(&hello).await?;
    tokio::select! {
        biased;
        () = async {
            while watch.changed().await.is_ok() {
                if watch.borrow().contains(&link) {
                    cuts.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            std::future::pending::<()>().await;
        } => Ok(()),
        copied = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => copied.map(|_| ()),
    }
}

/// One run of `seconds` under the nemesis of `seed`, its folder under
/// `out`: a line of what it did, or every problem found and where its
/// files are kept.
pub fn run_once(seed: u64, seconds: u64, out: &Path, servers: &Servers) -> Result<String, String> {
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
    // Every peer link through a proxy the nemesis can cut: each node keeps
    // listening where init put it, and the others dial its proxy.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let cuts = Arc::new(Cuts::default());
    for entry in &mut file.nodes {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| e.to_string())?;
        let at = listener.local_addr().map_err(|e| e.to_string())?;
        entry.peer_listen = Some(entry.peer);
        rt.spawn(proxy(listener, entry.id, entry.peer, cuts.clone()));
        entry.peer = at;
    }
    file.save(&dir.join(CLUSTER_FILE))
        .map_err(|e| e.to_string())?;
    let (_, fleet) = EmulatedHsm::open(&dir.join("node-0/hsm")).map_err(|e| e.to_string())?;
    let recorder: Shared = Arc::new(Mutex::new(Recorder::new(OpaqueCrypto::new(fleet))));
    let mut cluster = Supervisor::new(servers.exe.clone(), dir.join(CLUSTER_FILE))
        .map_err(|e| e.to_string())?
        .with_node_args(servers.node_args.clone());
    cluster.start_all().map_err(|e| e.to_string())?;
    cluster
        .wait_for_leader(Duration::from_secs(20))
        .ok_or("no leader within 20 s")?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
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
        aimed: 0,
        saved: None,
    };
    let started = Instant::now();
    let mut ke2s_seen = 0;
    let mut down: Vec<(u8, Instant)> = Vec::new();
    let mut cloud_down: Option<Instant> = None;
    let mut partitioned: Option<(u8, Instant)> = None;
    let record = |rec: &Shared, f: &'static str, node: Option<u8>, log: &mut Vec<String>| {
        let mut r = rec.lock().expect("recorder");
        let now = r.now();
        r.fault(f, node);
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
        if let Some((id, _)) = partitioned.filter(|(_, at)| *at <= now) {
            cuts.links.send_modify(|c| c.clear());
            record(&recorder, "heal", Some(id), &mut nemesis.log);
            partitioned = None;
        }
        // At most one node down or cut off at a time: four of five keep a
        // quorum of four (R = 1), so the clients can make progress.
        if !down.is_empty() || partitioned.is_some() {
            continue;
        }
        let ke2s = recorder.lock().expect("recorder").ke2s();
        let aimed = ke2s > ke2s_seen && rng.next_u32() % 3 == 0;
        ke2s_seen = ke2s;
        // Every other aimed fault, the first included, cuts the leader off
        // instead of killing it: the clients still reach it, so the next
        // guesses go to a leader that cannot reach a quorum and must not
        // answer them (a leader that answers from its own log alone loses
        // those attempts when it rejoins).
        let cut_aimed = aimed && nemesis.aimed.is_multiple_of(2);
        nemesis.aimed += u32::from(aimed);
        let kill_aimed = aimed && !cut_aimed;
        let roll = rng.next_u32() % 100;
        let victim = if kill_aimed || roll < 4 {
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
                if kill_aimed {
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
        } else if !cut_aimed && roll < 9 && cloud_down.is_none() {
            cluster.kill_cloud();
            record(&recorder, "cloud-kill", None, &mut nemesis.log);
            cloud_down =
                Some(Instant::now() + Duration::from_millis(200 + u64::from(rng.next_u32() % 600)));
        } else if cut_aimed || roll < 12 {
            let leader = cluster.leader().map(|(id, _)| id);
            let id = match leader {
                Some(id) if cut_aimed || rng.next_u32() % 2 == 0 => id,
                _ => (rng.next_u32() % u32::from(NODES)) as u8,
            };
            cuts.links.send_modify(|c| {
                for other in (0..NODES).filter(|o| *o != id) {
                    c.insert((id, other));
                    c.insert((other, id));
                }
            });
            record(
                &recorder,
                if cut_aimed {
                    "partition-leader-after-ke2"
                } else {
                    "partition"
                },
                Some(id),
                &mut nemesis.log,
            );
            let lasting = Duration::from_millis(300 + u64::from(rng.next_u32() % 1700));
            partitioned = Some((id, Instant::now() + lasting));
        }
    }
    for (id, _) in down.drain(..) {
        cluster.start(id).map_err(|e| e.to_string())?;
        record(&recorder, "restart", Some(id), &mut nemesis.log);
    }
    if let Some((id, _)) = partitioned.take() {
        cuts.links.send_modify(|c| c.clear());
        record(&recorder, "heal", Some(id), &mut nemesis.log);
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

    let committed = Committed::read(&file);
    let recorder = Arc::try_unwrap(recorder)
        .map_err(|_| "a client still holds the recorder")?
        .into_inner()
        .expect("recorder");
    let history = recorder.finish(&committed);
    let mut history_file = Vec::new();
    history
        .write_jsonl(&mut history_file)
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("history.jsonl"), &history_file).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nemesis.txt"), nemesis.log.join("\n")).map_err(|e| e.to_string())?;
    let seen = seen.lock().expect("seen");
    let mut problems = seen.problems.clone();
    problems.extend(judge(&history, GUESS_LIMIT, seen.destroyed > 0));
    let ops = requests(&history);
    let faults = history.nemesis.len();
    let count = |what: &str| nemesis.log.iter().filter(|l| l.contains(what)).count();
    let (aimed_kills, aimed_cuts, rollbacks, cloud_kills, partitions) = (
        count("kill-leader-after-ke2"),
        count("partition-leader-after-ke2"),
        count("rollback"),
        count("cloud-kill"),
        count("partition"),
    );
    // A fault that never fires tests nothing: a partition must have cut
    // connections, or the proxies are not in the peers' path.
    if partitions > 0 && cuts.dropped.load(Ordering::Relaxed) == 0 {
        problems.push(format!(
            "{partitions} partitions cut no peer connection: the links do not run through the proxies"
        ));
    }
    if ops < 20 {
        problems.push(format!("only {ops} vault requests: the run proved little"));
    }
    // No acknowledged backup, no test of DUR-1: a cloud service that never
    // served (a mutant of `cloud serve` that returns at once) passed
    // every other check.
    if seen.acknowledged == Generation::default() {
        problems.push(
            "no backup was acknowledged: the run proved nothing of DUR-1 (did the cloud service serve?)"
                .to_string(),
        );
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
        "seed {seed}: {ops} vault requests, {faults} faults ({aimed_kills} leader kills and {aimed_cuts} leader partitions right after a KE2, {rollbacks} rollbacks of node 4, {cloud_kills} cloud kills, {partitions} partitions, {} peer connections cut), acknowledged generation {}, guesser's keys destroyed: {}; bound and linearizability hold",
        cuts.dropped.load(Ordering::Relaxed),
        seen.acknowledged.0,
        seen.destroyed
    ))
}
