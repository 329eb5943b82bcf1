//! End-to-end tests of the `bvault` binary: each test runs the real
//! executable in its own temporary directory.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

const HEADER_LEN: usize = 112;
const TAG_LEN: usize = 16;

/// A temporary directory holding a fresh key in `key.txt`.
struct Env {
    dir: TempDir,
    /// The key's text, to check that it never leaks into stderr.
    key_text: String,
}

impl Env {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let mut env = Env {
            dir,
            key_text: String::new(),
        };
        let out = env.run(&["key", "new", "--out", "key.txt"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            out.stdout.is_empty(),
            "key new --out prints nothing on stdout"
        );
        assert!(stderr(&out).starts_with("fingerprint: "));
        env.key_text = fs::read_to_string(env.path("key.txt")).unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap()
    }

    /// The names in the directory, sorted: shows any leftover temporary file.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bvault"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().unwrap();
        let feeder = stdin.map(|bytes| {
            let mut pipe = child.stdin.take().unwrap();
            // Written on a thread: the tool streams, so it may fill stdout
            // before it has read all of stdin.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })
        });
        let out = child.wait_with_output().unwrap();
        if let Some(feeder) = feeder {
            feeder.join().unwrap();
        }
        self.assert_no_key_material(&stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "panic: {err}");
        assert!(!err.contains("RUST_BACKTRACE"), "panic: {err}");
        out
    }

    fn assert_no_key_material(&self, text: &str) {
        if self.key_text.is_empty() {
            return;
        }
        let compact: String = self
            .key_text
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        assert!(!text.contains(&compact), "key leaked: {text}");
        for line in self.key_text.lines() {
            assert!(!text.contains(line), "key line leaked: {text}");
        }
    }

    /// Encrypts `plain` (written to `name`) into `name.bv` with extra args.
    fn encrypt(&self, name: &str, plain: &[u8], extra: &[&str]) -> String {
        self.write(name, plain);
        let out_name = format!("{name}.bv");
        let mut args = vec!["backup", "encrypt", "--key-file", "key.txt"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[name, &out_name]);
        let out = self.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(out.stdout.is_empty());
        out_name
    }

    fn decrypt(&self, input: &str, output: &str, extra: &[&str]) -> Output {
        let mut args = vec!["backup", "decrypt", "--key-file", "key.txt"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[input, output]);
        self.run(&args)
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally, not by a signal")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `len` bytes of varied data: random runs, zero runs and text.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let run = (rng.next_u32() % 5000) as usize + 1;
        let run = run.min(len - out.len());
        match rng.next_u32() % 3 {
            0 => {
                let start = out.len();
                out.resize(start + run, 0);
                rng.fill_bytes(&mut out[start..]);
            }
            1 => out.resize(out.len() + run, 0),
            _ => out.extend(b"chat message \xf0\x9f\x92\xac ".iter().cycle().take(run)),
        }
    }
    out
}

fn assert_failed_cleanly(env: &Env, out: &Output, exit: i32, before: &[String]) {
    assert_eq!(code(out), exit, "{}", stderr(out));
    let err = stderr(out);
    assert!(err.starts_with("bvault: error: "), "{err}");
    assert_eq!(env.files(), before, "no output and no temporary file left");
}

#[test]
fn key_encrypt_inspect_decrypt_round_trip() {
    let env = Env::new();

    // `key new` on stdout: 4 lines of 4 groups of 4 digits, fingerprint on stderr.
    let out = env.run(&["key", "new"]);
    assert_eq!(code(&out), 0);
    let grid = stdout(&out);
    let lines: Vec<&str> = grid.lines().collect();
    assert_eq!(lines.len(), 4, "{grid}");
    for line in &lines {
        let groups: Vec<&str> = line.split(' ').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit())));
    }
    assert!(grid.ends_with('\n'));
    assert!(!stderr(&out).contains(lines[0]), "the key is not on stderr");
    assert!(stderr(&out).starts_with("fingerprint: "));

    // The key file's fingerprint, as `key fingerprint` prints it.
    let out = env.run(&["key", "fingerprint", "--key-file", "key.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let fingerprint = stdout(&out).trim().to_owned();
    assert_eq!(fingerprint.len(), 32);

    let plain = data(300_123, 1);
    let bv = env.encrypt(
        "plain",
        &plain,
        &["--chunk-size", "1000", "--generation", "7"],
    );
    let file_len = env.read(&bv).len();
    assert_eq!(file_len, HEADER_LEN + plain.len() + 301 * TAG_LEN);

    // Inspect without the key: header fields, computed chunk count, and a plain warning.
    let out = env.run(&["backup", "inspect", &bv]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("format version:   1"), "{text}");
    assert!(text.contains("chunk size:       1000 bytes"), "{text}");
    assert!(text.contains("generation:       7"), "{text}");
    assert!(
        text.contains(&format!("key fingerprint:  {fingerprint}")),
        "{text}"
    );
    assert!(text.contains("chunks:           301 (computed from the file length)"));
    assert!(text.contains("consistent with the chunk size"));
    assert!(text.contains("NOTHING WAS AUTHENTICATED"), "{text}");

    // Inspect with the key: every chunk verified.
    let out = env.run(&["backup", "inspect", "--key-file", "key.txt", &bv]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("all 301 chunks verified"), "{text}");
    assert!(!text.contains("NOTHING WAS AUTHENTICATED"));

    // JSON, with and without the key.
    for with_key in [false, true] {
        let mut args = vec!["backup", "inspect", "--json"];
        if with_key {
            args.extend_from_slice(&["--key-file", "key.txt"]);
        }
        args.push(&bv);
        let out = env.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["chunk_size"], 1000);
        assert_eq!(v["generation"], 7);
        assert_eq!(v["chunks"], 301);
        assert_eq!(v["plaintext_length"], plain.len() as u64);
        assert_eq!(v["file_length"], file_len as u64);
        assert_eq!(v["key_fingerprint"], fingerprint.as_str());
        assert_eq!(v["authenticated"], with_key);
        assert!(v["error"].is_null());
    }

    let out = env.decrypt(&bv, "restored", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(env.read("restored"), plain);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| fs::metadata(env.path(name)).unwrap().permissions().mode();
        assert_eq!(mode("key.txt") & 0o777, 0o600);
        assert_eq!(mode("restored") & 0o077, 0, "plaintext is private");
    }
}

#[test]
fn parallel_and_serial_encryption_both_decrypt() {
    let env = Env::new();
    // More than one 8 MiB batch, so the parallel paths loop.
    let plain = data(9 * 1024 * 1024 + 777, 2);
    env.write("plain", &plain);
    for (out, threads) in [("serial.bv", "1"), ("parallel.bv", "4")] {
        let args = [
            "backup",
            "encrypt",
            "-k",
            "key.txt",
            "--chunk-size",
            "1000",
            "--threads",
            threads,
            "plain",
            out,
        ];
        let run = env.run(&args);
        assert_eq!(code(&run), 0, "{}", stderr(&run));
    }
    for bv in ["serial.bv", "parallel.bv"] {
        for threads in ["1", "3", "0"] {
            let restored = format!("{bv}.{threads}.out");
            let out = env.decrypt(bv, &restored, &["--threads", threads]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            assert!(env.read(&restored) == plain, "{bv} with {threads} threads");
        }
    }
}

#[test]
fn wrong_key_exits_3_and_leaves_no_output() {
    let env = Env::new();
    let bv = env.encrypt("plain", &data(50_000, 3), &["--chunk-size", "1000"]);
    let other = env.run(&["key", "new", "--out", "other.txt"]);
    assert_eq!(code(&other), 0);
    let before = env.files();
    for threads in ["1", "2"] {
        let out = env.run(&[
            "backup",
            "decrypt",
            "--key-file",
            "other.txt",
            "--threads",
            threads,
            &bv,
            "restored",
        ]);
        assert_failed_cleanly(&env, &out, 3, &before);
        assert!(stderr(&out).contains("wrong key"), "{}", stderr(&out));
    }
    let out = env.run(&["backup", "inspect", "--key-file", "other.txt", &bv]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("wrong key"));
}

#[test]
fn flipped_body_byte_exits_4_and_leaves_no_output() {
    let env = Env::new();
    let plain = data(200_000, 4);
    let bv = env.encrypt("plain", &plain, &["--chunk-size", "1000"]);
    let mut bytes = env.read(&bv);
    // Deep in the body, so that plaintext of earlier chunks would be written
    // if the output were not atomic.
    let at = bytes.len() - 5_000;
    bytes[at] ^= 0x01;
    env.write(&bv, &bytes);
    let before = env.files();
    for threads in ["1", "4"] {
        let out = env.decrypt(&bv, "restored", &["--threads", threads]);
        assert_failed_cleanly(&env, &out, 4, &before);
        assert!(
            stderr(&out).contains("failed authentication"),
            "{}",
            stderr(&out)
        );
    }
    // With --force, an existing OUT is left as it was.
    env.write("restored", b"keep me");
    let before = env.files();
    let out = env.decrypt(&bv, "restored", &["--force"]);
    assert_failed_cleanly(&env, &out, 4, &before);
    assert_eq!(env.read("restored"), b"keep me");
    let out = env.run(&["backup", "inspect", "-k", "key.txt", &bv]);
    assert_eq!(code(&out), 4);
    assert!(stdout(&out).contains("FAILED after"), "{}", stdout(&out));
}

#[test]
fn truncated_and_extended_files_exit_4() {
    let env = Env::new();
    let bv = env.encrypt("plain", &data(10_500, 5), &["--chunk-size", "1000"]);
    let bytes = env.read(&bv);
    // The final chunk is 500 + TAG_LEN bytes.
    let cuts = [
        ("at a chunk boundary", bytes.len() - (500 + TAG_LEN)),
        ("inside a chunk", bytes.len() - 100),
        ("inside the header", 50),
        ("right after the header", HEADER_LEN),
    ];
    for (what, len) in cuts {
        env.write("cut.bv", &bytes[..len]);
        let before = env.files();
        for threads in ["1", "2"] {
            let out = env.decrypt("cut.bv", "restored", &["--threads", threads]);
            assert!(stderr(&out).contains("cut.bv"), "{what}");
            assert_failed_cleanly(&env, &out, 4, &before);
        }
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"extra");
    env.write("long.bv", &longer);
    let before = env.files();
    let out = env.decrypt("long.bv", "restored", &[]);
    assert_failed_cleanly(&env, &out, 4, &before);

    // Without the key, a length that cannot be right is reported as damage,
    // still saying that nothing was authenticated.
    env.write("cut.bv", &bytes[..bytes.len() - (500 + 10)]);
    let out = env.run(&["backup", "inspect", "cut.bv"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stdout(&out).contains("INCONSISTENT"));
    assert!(stdout(&out).contains("NOTHING WAS AUTHENTICATED"));
}

#[test]
fn future_version_exits_5() {
    let env = Env::new();
    let bv = env.encrypt("plain", &data(5_000, 6), &[]);
    let mut bytes = env.read(&bv);
    bytes[9] = 2; // version, big-endian u16 at offset 8
    env.write(&bv, &bytes);
    let before = env.files();
    let out = env.decrypt(&bv, "restored", &[]);
    assert_failed_cleanly(&env, &out, 5, &before);
    assert!(stderr(&out).contains("unsupported backup format version 2"));
    let out = env.run(&["backup", "inspect", "--json", &bv]);
    assert_eq!(code(&out), 5);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["exit_code"], 5);
}

#[test]
fn bad_key_text_exits_2_with_its_position() {
    let env = Env::new();
    env.write("plain", b"hello");
    let good = env.key_text.clone();
    // Replace the 3rd character of the 2nd line with a letter that is not hex.
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines[1].replace_range(2..3, "g");
    env.write("bad.txt", lines.join("\n").as_bytes());
    for args in [
        vec!["key", "fingerprint", "--key-file", "bad.txt"],
        vec!["backup", "encrypt", "-k", "bad.txt", "plain", "plain.bv"],
    ] {
        let out = env.run(&args);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("'bad.txt'"), "{err}");
        assert!(err.contains("line 2, column 3"), "{err}");
    }
    assert!(!env.path("plain.bv").exists());

    env.write("short.txt", b"0123 4567\n");
    let out = env.run(&["key", "fingerprint", "-k", "short.txt"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("expected 64 hex digits, found 8"));

    env.write("huge.txt", &vec![b'0'; 100_000]);
    let out = env.run(&["key", "fingerprint", "-k", "huge.txt"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("at most 4096 bytes"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&["key", "fingerprint", "-k", "missing.txt"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("does not exist"));
}

#[test]
fn refusing_to_overwrite_exits_2() {
    let env = Env::new();
    let plain = data(3_000, 7);
    let bv = env.encrypt("plain", &plain, &[]);
    let original = env.read(&bv);

    let out = env.run(&["backup", "encrypt", "-k", "key.txt", "plain", &bv]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"));
    assert_eq!(env.read(&bv), original);

    env.write("restored", b"old");
    let out = env.decrypt(&bv, "restored", &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(env.read("restored"), b"old");
    let out = env.decrypt(&bv, "restored", &["--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.read("restored"), plain);

    let key_before = env.read("key.txt");
    let out = env.run(&["key", "new", "--out", "key.txt"]);
    assert_eq!(code(&out), 2);
    assert_eq!(env.read("key.txt"), key_before);

    // A missing input is bad input too, and so is an unknown flag.
    let out = env.run(&["backup", "encrypt", "-k", "key.txt", "nope", "x.bv"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("'nope' does not exist"));
    assert_eq!(code(&env.run(&["backup", "encrypt", "--bogus"])), 2);
    assert_eq!(code(&env.run(&[])), 2);
}

#[test]
fn help_works_for_every_subcommand() {
    let env = Env::new();
    let commands: &[&[&str]] = &[
        &[],
        &["key"],
        &["key", "new"],
        &["key", "fingerprint"],
        &["backup"],
        &["backup", "encrypt"],
        &["backup", "decrypt"],
        &["backup", "inspect"],
    ];
    for command in commands {
        for flag in ["--help", "-h"] {
            let mut args = command.to_vec();
            args.push(flag);
            let out = env.run(&args);
            assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
            let text = stdout(&out);
            assert!(text.contains("Usage: bvault"), "{args:?}: {text}");
            if command.len() == 2 {
                assert!(text.contains("Examples:"), "{args:?}: {text}");
            }
        }
    }
    let top = stdout(&env.run(&["--help"]));
    for line in [
        "Exit codes:",
        "0  success",
        "1  I/O",
        "2  usage error",
        "3  wrong key",
        "4  damaged data",
        "5  unsupported",
    ] {
        assert!(top.contains(line), "missing {line:?} in {top}");
    }
    let out = env.run(&["--version"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("bvault "), "{}", stdout(&out));
}

#[test]
fn stdin_and_stdout_round_trip() {
    let env = Env::new();
    let plain = data(250_000, 8);
    let enc = env.run_with_stdin(
        &[
            "backup",
            "encrypt",
            "-k",
            "key.txt",
            "--chunk-size",
            "4K",
            "-",
            "-",
        ],
        Some(plain.clone()),
    );
    assert_eq!(code(&enc), 0, "{}", stderr(&enc));
    assert_eq!(enc.stdout.len(), HEADER_LEN + plain.len() + 62 * TAG_LEN);
    for threads in ["1", "2"] {
        let dec = env.run_with_stdin(
            &[
                "backup", "decrypt", "-k", "key.txt", "-j", threads, "-", "-",
            ],
            Some(enc.stdout.clone()),
        );
        assert_eq!(code(&dec), 0, "{}", stderr(&dec));
        assert!(dec.stdout == plain);
    }
    let out = env.run_with_stdin(
        &["backup", "inspect", "-k", "key.txt", "-"],
        Some(enc.stdout.clone()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("all 62 chunks verified"));
    // Key from stdin.
    let out = env.run_with_stdin(
        &["key", "fingerprint", "-k", "-"],
        Some(env.key_text.clone().into_bytes()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn empty_input_round_trips() {
    let env = Env::new();
    let bv = env.encrypt("empty", b"", &[]);
    assert_eq!(env.read(&bv).len(), HEADER_LEN + TAG_LEN);
    let out = env.run(&["backup", "inspect", &bv]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("chunks:           1 "));
    let out = env.decrypt(&bv, "restored", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.read("restored").is_empty());
    assert!(Path::new(&env.path("restored")).exists());
}
