//! The runtime on real processes, through `bvault` as a user runs it: the
//! demo, `cluster up` and Ctrl-C, and `bvault client` with the errors a
//! user must be able to read.

use backup_vault_runtime::cluster::{init, InitOptions, Supervisor, CLUSTER_FILE};
use backup_vault_runtime::config::KsfName;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Each test runs a real cluster, whose ports are picked free when it is
/// made (`runtime::cluster::free_ports`) and bound only when its nodes
/// start: two clusters made at once by tests running in parallel can be
/// given one port, and a node then cannot listen (seen: "Address already
/// in use", a cluster with no leader, and `cluster up` waiting on). One at
/// a time.
static REAL_CLUSTERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_cluster_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    REAL_CLUSTERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn bvault() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bvault"))
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn the_demo_tells_the_whole_story_on_real_processes() {
    let _one = one_cluster_at_a_time();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    let out = Command::new(bvault())
        .args([
            "cluster",
            "demo",
            "--nodes",
            "3",
            "--archive-bytes",
            "200000",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .expect("run the demo");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("(the leader) was killed with SIGKILL"),
        "{stdout}"
    );
    assert!(stdout.contains("identical to the backup"), "{stdout}");
    assert!(stdout.contains("the vault destroyed the key"), "{stdout}");
    for id in 0..3 {
        assert!(
            stdout.contains(&format!("node {id}: term")),
            "node {id} missing: {stdout}"
        );
    }
    assert_eq!(
        stdout
            .matches("destroyed, no password file or wrapped key left")
            .count(),
        3
    );
    // Asked again in the same folder, it refuses rather than mix two clusters.
    let again = Command::new(bvault())
        .args(["cluster", "demo", "--dir"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
}

#[test]
fn cluster_up_shows_the_leader_and_stops_every_node_on_sigterm() {
    let _one = one_cluster_at_a_time();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("up");
    let mut up = Command::new(bvault())
        .args(["cluster", "up", "--nodes", "3", "--ksf", "cheap", "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cluster up");
    let file = dir.join(CLUSTER_FILE);
    // Read stdout up to the line that names the leader.
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(up.stdout.take().expect("piped")).lines();
    let mut seen = String::new();
    loop {
        let line = lines.next().expect("cluster up ended early").expect("utf8");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("leads") {
            break;
        }
        // `cluster up` runs on without a leader: fail, do not wait forever.
        assert!(!line.contains("no leader yet"), "{seen}");
    }
    assert!(file.exists());
    let pids: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_to_string(dir.join(format!("node-{i}/status.json"))).expect("status")
        })
        .collect();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = up.wait().expect("wait");
    let mut stdout = seen;
    for line in lines {
        stdout.push_str(&line.expect("utf8"));
        stdout.push('\n');
    }
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("leads"), "{stdout}");
    assert!(
        stdout.contains("stopped; the cluster's files stay in"),
        "{stdout}"
    );
    // Every node process is gone: its pid no longer answers.
    for s in pids {
        let v: serde_json::Value = serde_json::from_str(&s).expect("status json");
        let pid = v["pid"].as_u64().expect("pid") as i32;
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        assert!(!alive, "node process {pid} still runs");
    }
}

fn client(file: &Path, user: &str, args: &[&str]) -> Output {
    Command::new(bvault())
        .arg("client")
        .arg("--cluster")
        .arg(file)
        .args(["--user", user])
        .args(args)
        .output()
        .expect("run bvault client")
}

#[test]
fn client_commands_run_password_mode_and_say_what_went_wrong() {
    let _one = one_cluster_at_a_time();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("vault");
    init(
        &dir,
        InitOptions {
            nodes: 3,
            rollback_tolerance: 0,
            guess_limit: 3,
            ksf: KsfName::Cheap,
        },
    )
    .expect("init");
    let file = dir.join(CLUSTER_FILE);
    let mut nodes = Supervisor::new(bvault(), file.clone()).expect("supervisor");
    nodes.start_all().expect("start");
    nodes
        .wait_for_leader(Duration::from_secs(20))
        .expect("a leader");

    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "hunter2 but longer\n").expect("pw");
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "not it\n").expect("wrong");
    let chats = tmp.path().join("chats.tar");
    std::fs::write(&chats, vec![7u8; 150_000]).expect("chats");

    let out = client(
        &file,
        "5",
        &["enable", "--password-file", pw.to_str().expect("utf8")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 wrong guesses allowed"));
    let out = client(&file, "5", &["backup", chats.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("generation 1"));

    // A new device (its own state file) guesses wrong: exit 8, guesses left said.
    let device = tmp.path().join("other-phone.json");
    let restored = tmp.path().join("restored.tar");
    let other = |args: &[&str]| {
        let mut all = vec!["--device", device.to_str().expect("utf8")];
        all.extend_from_slice(args);
        client(&file, "5", &all)
    };
    let out = other(&[
        "restore",
        restored.to_str().expect("utf8"),
        "--password-file",
        wrong.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 attempt(s) left"),
        "{}",
        text(&out.stderr)
    );
    assert!(!restored.exists(), "no output on a failed restore");
    let out = other(&[
        "restore",
        restored.to_str().expect("utf8"),
        "--password-file",
        pw.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&restored).expect("restored"),
        vec![7u8; 150_000]
    );

    // Two of three nodes down: the vault cannot answer, and the error says why.
    nodes.kill(0);
    nodes.kill(1);
    let out = client(
        &file,
        "6",
        &["enable", "--password-file", pw.to_str().expect("utf8")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("the vault is unreachable: 2 of 3 nodes did not accept connections"),
        "{}",
        text(&out.stderr)
    );
    // Bad input is a usage error, before any network.
    let out = client(&file, "5", &["restore", restored.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, "\n").expect("empty");
    let out = client(
        &file,
        "7",
        &["enable", "--password-file", empty.to_str().expect("utf8")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the password is empty"));
}
