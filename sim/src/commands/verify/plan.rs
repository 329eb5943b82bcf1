//! What each profile runs: the stages, their bounds, and what each counts
//! as evidence for. The profiles are the one place that says how much a
//! `verify` run promises; the broken-variant matrix comes from the
//! catalogue (`docs/invariants.toml`).

use backup_vault_sim::catalogue::{Catalogue, Engine, Evidence, Variant};
use clap::ValueEnum;

/// How much a run checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// A few minutes on 2 cores: sweeps of every scenario variation, the
    /// model checker's slice, one replay, and every sim and model broken
    /// variant. What a new user runs first; no cargo, no servers.
    Quick,
    /// Quick, plus what needs the source tree and cargo: the real-crypto
    /// attacks, the fuzz corpora, the independent decoder, the real-process
    /// fault suite, and the broken variants that tests catch.
    Ci,
    /// The nightly bar: the ci stages with 10x to 100x the seeds, every
    /// scenario variation at 2,000 seeds, and the mutation score (hours).
    Nightly,
}

impl Profile {
    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Ci => "ci",
            Profile::Nightly => "nightly",
        }
    }
}

/// How a stage runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    /// This binary with these arguments (`sim sweep ...`, `check slice ...`);
    /// `--json` is added, and `--shard k/n` for sweeps.
    Suite(Vec<String>),
    /// One seed run twice (`sim run --seed S ARGS`): the two trace hashes
    /// must be equal (SIM-1).
    Replay {
        /// The seed.
        seed: u64,
        /// Scenario flags.
        args: Vec<String>,
    },
    /// A program run from the workspace root (cargo, python3, a script).
    Tool {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// What a stage's result must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The correct code: every check holds.
    Hold,
    /// A broken variant: the stage must fail with one of `names`
    /// (invariant IDs for sweeps, property-name prefixes for the model).
    /// Empty for `Tool` stages, whose test asserts the catch itself.
    Catch {
        /// The variant.
        variant: String,
        /// The invariant it breaks.
        breaks: String,
        /// What a catch may name.
        names: Vec<String>,
    },
}

/// One stage of a verify run.
#[derive(Clone, Debug)]
pub struct Stage {
    /// A stable identifier (file names, JUnit test names).
    pub id: String,
    /// What it is, in a few words.
    pub title: String,
    /// What a pass counts for.
    pub evidence: Evidence,
    /// How it runs.
    pub run: Run,
    /// What its result must be.
    pub expect: Expect,
    /// Its bound, in words (seeds, depth, time).
    pub bound: String,
    /// Whether `--shard k/n` splits it (sweeps); otherwise shard 1 runs it.
    pub sharded: bool,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// A sweep of the correct code.
fn sweep(id: &str, title: &str, seeds: u64, args: &[&str]) -> Stage {
    let mut argv = strings(&["sim", "sweep", "--seeds", &format!("0..{seeds}")]);
    argv.extend(strings(args));
    let flags = if args.is_empty() {
        String::new()
    } else {
        format!(", {}", args.join(" "))
    };
    Stage {
        id: id.to_owned(),
        title: title.to_owned(),
        evidence: Evidence::Sim,
        run: Run::Suite(argv),
        expect: Expect::Hold,
        bound: format!("seeds 0..{seeds}{flags}"),
        sharded: true,
    }
}

/// The sweeps of a profile: the default swarm, the coverage bar, every
/// scenario variation (cluster sizes 3 to 9, R 0 to 3, guess limits 1, 3
/// and 10, many users, every fault on) and the aimed nemesis schedules,
/// with `scale` times the quick profile's seeds.
fn sweeps(scale: u64) -> Vec<Stage> {
    let s = |n: u64| n * scale;
    vec![
        sweep(
            "sim-default",
            "default swarm, history checked, a login onto another registration required",
            s(200),
            &[
                "--check-history",
                "--require",
                "logins onto another registration",
            ],
        ),
        sweep(
            "sim-coverage",
            "every fault, guess limit 3, every coverage counter required",
            s(200),
            &[
                "--guess-limit",
                "3",
                "--faults",
                "all",
                "--require-coverage",
            ],
        ),
        sweep(
            "sim-3-nodes-r0",
            "3 nodes, R 0, every fault",
            s(40),
            &[
                "--nodes",
                "3",
                "--rollback-tolerance",
                "0",
                "--faults",
                "all",
            ],
        ),
        sweep(
            "sim-3-nodes-r1",
            "3 nodes, R 1, every fault",
            s(40),
            &[
                "--nodes",
                "3",
                "--rollback-tolerance",
                "1",
                "--faults",
                "all",
            ],
        ),
        sweep(
            "sim-5-nodes-r2",
            "5 nodes, R 2, every fault",
            s(30),
            &[
                "--nodes",
                "5",
                "--rollback-tolerance",
                "2",
                "--faults",
                "all",
            ],
        ),
        sweep(
            "sim-7-nodes-r2",
            "7 nodes, R 2, every fault",
            s(20),
            &[
                "--nodes",
                "7",
                "--rollback-tolerance",
                "2",
                "--faults",
                "all",
            ],
        ),
        sweep(
            "sim-9-nodes-r3",
            "9 nodes, R 3, every fault",
            s(10),
            &[
                "--nodes",
                "9",
                "--rollback-tolerance",
                "3",
                "--faults",
                "all",
            ],
        ),
        sweep(
            "sim-limit-1",
            "guess limit 1, history checked, a record destroyed while a node was down required",
            s(60),
            &[
                "--guess-limit",
                "1",
                "--faults",
                "all",
                "--check-history",
                "--require",
                "records destroyed while a node was down",
            ],
        ),
        sweep(
            "sim-limit-10",
            "guess limit 10, every fault",
            s(30),
            &["--guess-limit", "10", "--faults", "all"],
        ),
        sweep(
            "sim-24-users",
            "24 users, every fault",
            s(10),
            &["--users", "24", "--faults", "all"],
        ),
        sweep(
            "sim-stale-log-leader",
            "aimed: a new leader elected with a stale log (3 nodes, R 0)",
            s(100),
            &[
                "--nodes",
                "3",
                "--rollback-tolerance",
                "0",
                "--faults",
                "partition,crash",
                "--nemesis",
                "stale-log-leader",
            ],
        ),
        sweep(
            "sim-rollback-after-commit",
            "aimed: a rollback right after a commit (3 nodes, R 1)",
            s(60),
            &[
                "--nodes",
                "3",
                "--rollback-tolerance",
                "1",
                "--faults",
                "all",
                "--nemesis",
                "rollback-after-commit",
            ],
        ),
        sweep(
            "sim-crash-after-vote",
            "aimed: a voter crashed just after its vote leaves, then asked by a rival of the term (3 nodes)",
            s(60),
            &[
                "--nodes",
                "3",
                "--faults",
                "all",
                "--nemesis",
                "crash-after-vote",
            ],
        ),
        sweep(
            "sim-rolled-back-vote",
            "aimed: a voter crashed just after its vote leaves comes back without the vote's record, its HSM kept, and is asked by a rival of the term (3 nodes, R 1)",
            s(60),
            &[
                "--nodes",
                "3",
                "--faults",
                "all",
                "--nemesis",
                "rolled-back-vote",
            ],
        ),
        sweep(
            "sim-lone-tail-rollback",
            "aimed: a cut-off leader's disk loses the last entry of a tail no other node holds, its HSM kept (3 nodes, R 1)",
            s(60),
            &[
                "--nodes",
                "3",
                "--faults",
                "all",
                "--nemesis",
                "lone-tail-rollback",
                "--require",
                "leaders behind their own counter",
            ],
        ),
        sweep(
            "sim-mode-switches",
            "devices in password mode that switch to key mode, their vault record kept until they turn backups off",
            s(100),
            &["--mode-switches"],
        ),
        sweep(
            "sim-second-devices",
            "a second device per user, set up from the first, backing up and restoring alongside it: their backups race for names and the manifest, which must never go back (DUR-1), and a device put away while its twin backed up must back up after the heal (LIVE-5)",
            s(60),
            &[
                "--second-devices",
                "--require",
                "newer manifests met by a backup",
            ],
        ),
        sweep(
            "sim-resend-to-deposed-leader",
            "aimed: a leader that answered an activation, cut off as it next sends entries, is sent a copy of it once a newer leader has changed the record, then its held acknowledgements (5 nodes, R 1, partitions)",
            s(100),
            &[
                "--faults",
                "partition",
                "--nemesis",
                "resend-to-deposed-leader",
                "--require",
                "requests reaching a deposed leader",
            ],
        ),
        sweep(
            "sim-cloud-damage-and-intercept",
            "aimed: a cloud that damages, serves stale and loses objects while the chat server intercepts (DEV-1, DEV-2, LOCK-3)",
            s(60),
            &[
                "--duration-ms",
                "30000",
                "--faults",
                "cloud-corrupt,cloud-stale,cloud-missing,intercept",
            ],
        ),
        sweep(
            "sim-flood-new-leader",
            "aimed: a new leader cut off before it opens its term and flooded past what it may hold (LOAD-1)",
            s(40),
            &[
                "--duration-ms",
                "30000",
                "--faults",
                "partition",
                "--nemesis",
                "flood-new-leader",
                "--require",
                "leader queues filled to their bound",
            ],
        ),
        sweep(
            "sim-obstruct-clients",
            "aimed: honest operations sent back to their start until their restart budgets are spent (LIVE-4)",
            s(60),
            &[
                "--duration-ms",
                "30000",
                "--faults",
                "intercept,cloud-missing",
                "--nemesis",
                "obstruct-clients",
                "--require",
                "login restart budgets spent",
                "--require",
                "registration restart budgets spent",
                "--require",
                "backup conflict budgets spent",
            ],
        ),
        sweep(
            "sim-failed-backups",
            "aimed: one device's backups fail after their puts (the cloud answers its manifest puts \"unavailable\"), more in a row than its conflict budget; after the heal a backup must still succeed (LIVE-5)",
            s(20),
            &[
                "--duration-ms",
                "30000",
                "--faults",
                "cloud-unavailable",
                "--nemesis",
                "failed-backups",
                "--require",
                "failed backups past the conflict budget",
            ],
        ),
        sweep(
            "sim-rewritten-name",
            "aimed: a device crashed after a backup's put, then its disable crashed after deleting that name, writes the name again, the put's answer lost in one seed in two; the backup must move on (DUR-1 over every stored version)",
            s(20),
            &[
                "--duration-ms",
                "30000",
                "--faults",
                "client-crash,cloud-unavailable",
                "--nemesis",
                "rewritten-name",
                "--require",
                "deleted names written again",
            ],
        ),
    ]
}

/// The broken-variant stages of the catalogue that `engines` can run.
fn variants(catalogue: &Catalogue, engines: &[Engine]) -> Vec<Stage> {
    catalogue
        .variants
        .iter()
        .filter(|v| engines.contains(&v.engine))
        .map(variant_stage)
        .collect()
}

fn variant_stage(v: &Variant) -> Stage {
    let catch = Expect::Catch {
        variant: v.name.clone(),
        breaks: v.breaks.clone(),
        names: v.expect.clone(),
    };
    let (id, run, bound, evidence) = match v.engine {
        Engine::Sim => {
            let seeds = v.seeds.unwrap_or(1);
            let mut argv = strings(&["sim", "sweep", "--seeds", &format!("0..{seeds}")]);
            argv.extend(strings(&["--fail-fast", "--flaw", &v.name]));
            argv.extend(v.args.iter().cloned());
            (
                format!("variant-sim-{}", v.name),
                Run::Suite(argv),
                format!("caught within seeds 0..{seeds}"),
                Evidence::Sim,
            )
        }
        Engine::Model => {
            let mut argv = strings(&["check", "slice", "--flaw", &v.name]);
            argv.extend(v.args.iter().cloned());
            (
                format!("variant-model-{}", v.name),
                Run::Suite(argv),
                "the model checker's slice, BFS".to_owned(),
                Evidence::Model,
            )
        }
        Engine::Test => {
            let mut args = strings(&["test", "--release", "-q"]);
            args.extend(v.args.iter().cloned());
            (
                format!("variant-test-{}", v.name),
                Run::Tool {
                    program: "cargo".to_owned(),
                    args,
                },
                "the test's own bound".to_owned(),
                Evidence::Tests,
            )
        }
    };
    Stage {
        id,
        title: format!("broken variant {}: {}", v.name, v.what),
        evidence,
        run,
        expect: catch,
        bound,
        sharded: false,
    }
}

fn model_slice() -> Stage {
    Stage {
        id: "model-slice".to_owned(),
        title: "the vault model's slice: commits, logins, destructions, leader changes, snapshots"
            .to_owned(),
        evidence: Evidence::Model,
        run: Run::Suite(strings(&["check", "slice"])),
        expect: Expect::Hold,
        bound: {
            let all = backup_vault_model::vault::slice::slices();
            let whole = all.iter().filter(|s| s.depth.is_none()).count();
            format!(
                "{} bounds, {whole} searched whole, the others BFS-exhaustive to a depth",
                all.len()
            )
        },
        sharded: false,
    }
}

/// The vault model's whole space at 3 nodes, R = 1, with a crash and
/// `firings` timer firings (elections, heartbeats), and no client action:
/// a search without a depth bound, which ends because the firings are
/// bounded, so it proves every path of any length. Each firing more
/// multiplies the space by about a hundred (2: 9,038 states; 3: 866,512).
fn model_whole(firings: u8) -> Stage {
    let firings = firings.to_string();
    let mut args = strings(&["check", "run", "vault", "--timers", &firings]);
    for flag in [
        "--rollbacks",
        "--duplicates",
        "--guesses",
        "--logins",
        "--changes",
        "--reregistrations",
        "--forgeries",
        "--replays",
        "--forged-activations",
        "--probes",
        "--splices",
        "--foreign-evaluations",
        "--resends",
    ] {
        args.extend(strings(&[flag, "0"]));
    }
    args.extend(strings(&[
        "--crashes",
        "1",
        "--depth",
        "none",
        "--dfs",
        "-j",
        "2",
    ]));
    Stage {
        id: format!("model-whole-timers-{firings}"),
        title: "the vault model's whole space with bounded timers: elections and a crash at R = 1"
            .to_owned(),
        evidence: Evidence::Model,
        run: Run::Suite(args),
        expect: Expect::Hold,
        bound: format!("3 nodes, R 1, 1 crash, {firings} timer firings, every path of any length"),
        sharded: false,
    }
}

/// Seeded random walks through the vault model (`check walk`): the node's
/// own code with symbolic cryptography on schedules of `steps` actions,
/// each walk weighing the kinds of action its own way. `faults` adds fault
/// budgets to the model's defaults. Not a proof: "these seeds, no
/// violation, every `sometimes` property reached by some walk".
fn model_walk(
    id: &str,
    title: &str,
    model: &str,
    seeds: u64,
    steps: usize,
    faults: &[&str],
) -> Stage {
    let mut args = strings(&[
        "check",
        "walk",
        model,
        "--seeds",
        &format!("0..{seeds}"),
        "--steps",
        &steps.to_string(),
        "-j",
        "2",
    ]);
    args.extend(strings(faults));
    let extra = if faults.is_empty() {
        String::new()
    } else {
        format!(", {}", faults.join(" "))
    };
    Stage {
        id: id.to_owned(),
        title: title.to_owned(),
        evidence: Evidence::Model,
        run: Run::Suite(args),
        expect: Expect::Hold,
        bound: format!("seeds 0..{seeds}, {steps} steps each{extra}"),
        sharded: false,
    }
}

/// The host adversary and more crashes, duplicates and snapshots than the
/// exhaustive bounds afford, for walks.
const WALK_FAULTS: &[&str] = &[
    "--crashes",
    "6",
    "--duplicates",
    "8",
    "--host-rollbacks",
    "1",
    "--forged-appends",
    "1",
    "--misdirections",
    "2",
    "--disk-edits",
    "1",
    "--snapshot-every",
    "2",
];

/// The two walk stages, `scale` times the quick profile's seeds: short
/// walks with the default bounds, long ones with the faults (deeper
/// states: several crashes, elections and compactions in one walk). The
/// rarest example sets the numbers: `Exhaust` (a spent record destroyed
/// once its last login expired, which needs a leader that keeps its term
/// for a login's lifetime) is reached by 61 walks of 300 steps in 50,000
/// with the default bounds, and by 167 walks of 1,000 steps in 20,000 with
/// the faults, so the quick profile's 10,000 and 5,000 seeds expect 12 and
/// 42 walks to reach it (none would be a chance of about one in 100,000 on
/// unchanged code).
fn model_walks(scale: u64) -> Vec<Stage> {
    vec![
        // About 4 million steps a second: a step of the abstract model is
        // a few field updates.
        model_walk(
            "model-walk-protocol",
            "random walks through the abstract protocol model",
            "protocol",
            100_000 * scale,
            300,
            &[],
        ),
        model_walk(
            "model-walk",
            "random walks through the vault model: the node's code, symbolic crypto, 300 steps",
            "vault",
            10_000 * scale,
            300,
            &[],
        ),
        model_walk(
            "model-walk-faults",
            "random walks of 1,000 steps with the host adversary, six crashes and a snapshot every two entries",
            "vault",
            5_000 * scale,
            1_000,
            WALK_FAULTS,
        ),
    ]
}

fn replay() -> Stage {
    Stage {
        id: "replay-seed-7".to_owned(),
        title: "one seed run twice gives one trace".to_owned(),
        evidence: Evidence::Replay,
        run: Run::Replay {
            seed: 7,
            args: strings(&["--faults", "all"]),
        },
        expect: Expect::Hold,
        bound: "seed 7, every fault".to_owned(),
        sharded: false,
    }
}

fn tool(id: &str, title: &str, evidence: Evidence, program: &str, args: &[&str]) -> Stage {
    Stage {
        id: id.to_owned(),
        title: title.to_owned(),
        evidence,
        run: Run::Tool {
            program: program.to_owned(),
            args: strings(args),
        },
        expect: Expect::Hold,
        bound: format!("{program} {}", args.join(" ")),
        sharded: false,
    }
}

/// The stages that need the source tree: cargo tests and scripts.
fn source_tree_stages() -> Vec<Stage> {
    vec![
        tool(
            "attacks",
            "offline dictionary attacks with real OPAQUE against a simulated cluster",
            Evidence::Attacks,
            "cargo",
            &[
                "test",
                "--release",
                "-q",
                "-p",
                "backup-vault-sim",
                "--test",
                "attacks",
            ],
        ),
        tool(
            "real-processes",
            "bvault's node processes and cloud service under SIGKILL, cuts, a rollback and partitions, with real clients, judged by the history checks (its broken variants are the variant-test stages on runtime_faults_flawed)",
            Evidence::Tests,
            "cargo",
            &[
                "test",
                "--release",
                "-q",
                "-p",
                "backup-vault-cli",
                "--test",
                "runtime_faults",
            ],
        ),
        tool(
            "model-deep",
            "the model checker's deep explorations of the correct code (ignored by a plain cargo test)",
            Evidence::Model,
            "cargo",
            &[
                "test",
                "--release",
                "-q",
                "-p",
                "backup-vault-model",
                "--",
                "--ignored",
            ],
        ),
        tool(
            "fuzz-corpora",
            "every fuzz target's corpus and seeds replayed",
            Evidence::Fuzz,
            "cargo",
            &["test", "--release", "-q", "-p", "backup-vault-fuzz"],
        ),
        tool(
            "independent-decoder",
            "a decoder written from docs/format.md alone agrees with bvault",
            Evidence::Decoder,
            "sh",
            &[
                "-c",
                "cargo build --release -q -p backup-vault-cli && \
                 python3 docs/independent-decoder/decode_v1.py --vector docs/format.md && \
                 python3 docs/independent-decoder/crosscheck.py target/release/bvault",
            ],
        ),
    ]
}

/// Every stage of a profile, in the order they run: the correct code's
/// cheapest checks first, then the broken variants.
pub fn stages(profile: Profile, catalogue: &Catalogue) -> Vec<Stage> {
    let mut out = Vec::new();
    match profile {
        Profile::Quick => {
            out.extend(sweeps(1));
            out.push(model_slice());
            out.push(model_whole(2));
            out.extend(model_walks(1));
            out.push(replay());
            out.extend(variants(catalogue, &[Engine::Sim, Engine::Model]));
        }
        Profile::Ci => {
            out.extend(sweeps(2));
            out.push(model_slice());
            out.push(model_whole(3));
            out.extend(model_walks(4));
            out.push(replay());
            out.extend(source_tree_stages());
            out.extend(variants(
                catalogue,
                &[Engine::Sim, Engine::Model, Engine::Test],
            ));
        }
        Profile::Nightly => {
            out.extend(sweeps(50));
            out.push(sweep(
                "sim-nightly-default",
                "the default swarm at the nightly bar",
                1_000_000,
                &[],
            ));
            out.push(model_slice());
            out.push(model_whole(3));
            out.extend(model_walks(20));
            // The owner's deletes: with them a walk catches a delete that
            // takes the wrong registration (delete-ignores-id,
            // delete-takes-staged), but the owner often deletes its record
            // early, so a successful login and a delete of a staged
            // registration each come about twice in 1,000 walks: too rare
            // for the quick profile's budget.
            out.push(model_walk(
                "model-walk-deletes",
                "random walks with the owner's deletes",
                "vault",
                100_000,
                300,
                &["--deletes", "1"],
            ));
            out.push(replay());
            out.extend(source_tree_stages());
            out.push(tool(
                "mutation-score",
                "cargo-mutants over the vault and client code, judged by the simulator and the model checker",
                Evidence::Tests,
                "scripts/mutants.py",
                &["--profile", "nightly", "--out", "target/mutants-nightly"],
            ));
            // Held only when every bug from outside is caught: one that
            // passes every stage is a miss, reported until a check catches
            // it (scripts/outside-bugs/README.md).
            out.push(tool(
                "outside-bugs",
                "bugs written by reviewers who did not read the checks (scripts/outside-bugs), judged by the simulator and the model checker",
                Evidence::Tests,
                "scripts/mutants.py",
                &[
                    "--profile",
                    "nightly",
                    "--patches",
                    "scripts/outside-bugs",
                    "--out",
                    "target/outside-bugs-nightly",
                ],
            ));
            out.extend(variants(
                catalogue,
                &[Engine::Sim, Engine::Model, Engine::Test],
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_has_unique_stage_ids_and_catches_every_catalogued_variant() {
        let c = Catalogue::load().unwrap();
        for p in [Profile::Quick, Profile::Ci, Profile::Nightly] {
            let st = stages(p, &c);
            let mut ids: Vec<&str> = st.iter().map(|s| s.id.as_str()).collect();
            ids.sort_unstable();
            let before = ids.len();
            ids.dedup();
            assert_eq!(before, ids.len(), "{p:?}: stage ids repeat");
            let caught = st
                .iter()
                .filter(|s| matches!(s.expect, Expect::Catch { .. }))
                .count();
            let want = c
                .variants
                .iter()
                .filter(|v| p != Profile::Quick || v.engine != Engine::Test)
                .count();
            assert_eq!(caught, want, "{p:?}");
        }
    }
}
