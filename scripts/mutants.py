#!/usr/bin/env python3
"""Mutation score of the vault and client code, judged by the suite's own engines.

cargo-mutants generates the mutants (`cargo mutants --list --json --diff`);
this script applies each one to a scratch copy of the tree, rebuilds
`bvault-suite`, and runs the oracle: simulator sweeps and the model checker's
slice, in order, each stopping at its first failure. The unit tests are not
the oracle: they are written with the code and run separately (`cargo test`).

    scripts/mutants.py [--profile quick|nightly] [--package CRATE] [--file GLOB]... [--shard k/n]
                       [--out DIR] [--jobs T] [--limit N] [--fresh] [--in-diff FILE]
                       [--cargo-profile NAME] [--target-dir DIR]
    scripts/mutants.py --patches DIR [--patches DIR]... [the same options]

`--patches` judges hand-written bugs instead of cargo-mutants' mutants:
every `*.patch` under DIR (a `git diff` from the tree's root, applied with
`patch -p1`; text before its first `diff --git` line is a header whose
`Bug:` line describes it) is one mutant, named `patch:PATH`. These are the
bugs from outside: planted by someone who did not write the checks
(scripts/outside-bugs/README.md).

Writes, into DIR (default target/mutants-oracle):
  results.jsonl  one line per mutant, appended as each finishes (a rerun with
                 the same DIR resumes: mutants already judged are skipped)
  table.md       mutant | outcome | caught by | first failing seed or depth
  summary.json   counts and the score: caught / (caught + missed)

Outcomes: caught (a stage failed: an invariant broke, a check found no
example, or a stage ran past its timeout, which is a hang), missed (every
stage passed), unviable (the mutant does not build). Equivalent mutants are
a human judgement: list them, with a one-line argument each, in
scripts/mutants-equivalent.txt; they are reported but left out of the score.

Exit codes: 0 every viable, non-equivalent mutant caught; 1 some missed;
2 usage error or the oracle fails on the unmutated code (nothing measured);
7 interrupted (SIGINT/SIGTERM): the table covers what ran.

An entry of scripts/mutants-equivalent.txt names its mutant by file, line
and column, which move when code above it changes: an entry that names no
mutant any more is stale, and its mutant is judged again as if never
argued. `--check-equivalents` lists the package's mutants (no build) and
exits 1 naming each stale entry, with the mutants of the same text at
other positions (where the entry moved to, if it did); CI runs it.
"""

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ["impl/src/vault/**/*.rs", "impl/src/client/**/*.rs"]
EQUIVALENT_LIST = ROOT / "scripts" / "mutants-equivalent.txt"
# A mutant of a function named flaw_* (`replace Raft<E, S>::flaw_x -> T
# with V`, `replace flaw_x with ()`, `... in VaultNode<C>::flaw_x`).
FLAW_FUNCTIONS = (r"(replace ([A-Za-z0-9_<>, ]+::)?flaw_[a-z0-9_]+ (->|with))"
                  r"|( in ([A-Za-z0-9_<>, ]+::)?flaw_[a-z0-9_]+$)")

# The oracle, cheapest and most often biting first. Each stage is a command
# of bvault-suite that exits 0 only when it proved what it checks. The
# simulator stages stop at their first failing seed; the model stage is the
# checker's slice (`check slice`), which fails when a property is violated or
# a `sometimes` example it must reach is missing. The test stages run the
# attacks of sim/tests/attacks.rs: offline dictionary attacks with real OPAQUE
# against a simulated cluster (the sweeps' adversaries never run an offline
# search, and the model's crypto is symbolic, so a mutant that weakens a
# binding of the real crypto is theirs to catch).
def aimed_sweep(name, seeds, faults, nemesis, counter):
    """A sweep of `seeds` seeds of 30 s at one aimed nemesis schedule,
    which must bring its coverage counter (a schedule that never acts
    judges nothing)."""
    return (name, ["sim", "sweep", "--seeds", f"0..{seeds}", "--duration-ms", "30000",
                   "--faults", faults, "--nemesis", nemesis, "--require", counter])


def failed_backups(seeds):
    return aimed_sweep("sim failed backups", seeds, "cloud-unavailable", "failed-backups",
                       "failed backups past the conflict budget")


def rewritten_name(seeds):
    return aimed_sweep("sim rewritten name", seeds, "client-crash,cloud-unavailable",
                       "rewritten-name", "deleted names written again")


def second_devices(seeds):
    """Two devices per user, backing up alongside each other: where the
    manifest puts their backups in order (DUR-1) and a device far behind
    its twin must still back up (LIVE-5)."""
    return ("sim second devices", ["sim", "sweep", "--seeds", f"0..{seeds}", "--second-devices",
                                   "--require", "newer manifests met by a backup"])


PROFILES = {
    "quick": [
        ("sim limit 1", ["sim", "sweep", "--seeds", "0..60", "--guess-limit", "1", "--check-history"]),
        ("sim default", ["sim", "sweep", "--seeds", "0..100"]),
        ("sim 3 nodes R1 limit 2", ["sim", "sweep", "--seeds", "0..60", "--nodes", "3",
                                    "--rollback-tolerance", "1", "--guess-limit", "2", "--faults", "all"]),
        ("model slice", ["check", "slice"]),
        # Seeded random walks through the vault model, 300 steps each: the
        # node's code with symbolic crypto where the slices' searches end.
        # Enough seeds that the rarest example (Exhaust, about 1 walk in
        # 800) is expected a dozen times: a mutant that only moves the walks
        # must not be counted caught for an example it happened to miss.
        ("model walk", ["check", "walk", "vault", "--seeds", "0..10000", "--steps", "300",
                        "-j", "2"]),
        ("sim attacks", ["cargo-test", "attacks"]),
        # Device scenarios no sweep reaches (a device meeting another's key; a
        # re-enable after the registration went, with every Activated
        # lost; every LoginFinish duplicated): sim/tests/lost_activation.rs,
        # two_devices.rs and duplicates.rs.
        ("sim lost activation", ["cargo-test", "lost_activation"]),
        ("sim two devices", ["cargo-test", "two_devices"]),
        ("sim duplicates", ["cargo-test", "duplicates"]),
        # The simulated cluster's scenarios (sim/tests/vault_cluster.rs):
        # schedules the sweeps reach too rarely to count on, each aimed
        # by hand (a leader crash between KE2 and KE3, a spent record whose
        # user's command applied last, a stream of resends).
        ("sim cluster scenarios", ["cargo-test", "vault_cluster"]),
        # What confirms a disable (sim/tests/disable_confirmation.rs): a
        # replayed, foreign-proof or renamed "gone", a key-mode set-up's
        # lost activation, a crash past a KeyLivesOn hop, each aimed by hand.
        ("sim disable confirmation", ["cargo-test", "disable_confirmation"]),
        # One device's backups failing after their puts, more in a row than
        # its conflict budget (the cloud answers its manifest puts
        # "unavailable"): where a backup must start above the names they
        # left, or none succeeds after the heal (LIVE-5).
        failed_backups(10),
        # A name a cut-short disable deleted, written again by a device
        # whose crash lost its floor, the put's answer lost in one seed in
        # two: where the backup's version rule must move on (DUR-1 at the
        # acknowledgement judges every stored version of the name).
        rewritten_name(10),
        # A second device per user, set up from the first: backups of one
        # key racing for names and the manifest, and a device put away
        # while its twin backed up (the newer-manifest branch of a backup
        # is reached only here).
        second_devices(20),
    ],
    "nightly": [
        ("sim limit 1", ["sim", "sweep", "--seeds", "0..200", "--guess-limit", "1", "--check-history"]),
        ("sim default", ["sim", "sweep", "--seeds", "0..300"]),
        ("sim 3 nodes R1 limit 2", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                    "--rollback-tolerance", "1", "--guess-limit", "2", "--faults", "all"]),
        # With the coverage bar: a mutant that keeps a path from ever
        # running (a request never held, a fault that never bites) leaves a
        # counter at zero, and the sweep proves nothing (exit 7).
        ("sim limit 3 all faults", ["sim", "sweep", "--seeds", "0..200", "--guess-limit", "3",
                                    "--faults", "all", "--check-history",
                                    "--require-coverage"]),
        ("sim 7 nodes R2", ["sim", "sweep", "--seeds", "0..100", "--nodes", "7",
                            "--rollback-tolerance", "2", "--faults", "all"]),
        # A cut-off leader whose disk loses the last entry of a tail no
        # other node holds, its HSM kept: where it must run, and lead on
        # the others' word (seed 590's case; LIVE-3 and LIVE-1).
        ("sim lone-tail rollback", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                    "--faults", "all", "--nemesis", "lone-tail-rollback",
                                    "--require", "leaders behind their own counter"]),
        ("sim stale-log leader", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                  "--rollback-tolerance", "0", "--faults", "partition,crash",
                                  "--nemesis", "stale-log-leader"]),
        # Every disk rolled back by the host, some HSMs replaced: where a
        # node that lost acknowledged entries votes on the others' word.
        ("sim 3 nodes host rollbacks", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                        "--faults", "host,crash"]),
        # The same at R = 0 (quorum 2 of 3): two quorums share one node, so
        # after a rollback of every disk a candidate behind its own counter
        # wins with the one node that never held its lost tail, and only
        # the others' word about that tail keeps it from leading (a
        # candidacy that leads without it lost commits here, and nowhere
        # else the oracle looks).
        ("sim 3 nodes R0 host rollbacks", ["sim", "sweep", "--seeds", "0..300", "--nodes", "3",
                                           "--rollback-tolerance", "0",
                                           "--faults", "host,crash"]),
        # A voter crashed just after its vote leaves and asked again by a
        # rival: where a vote sent before it is durable becomes a double
        # vote (a mutant that skipped the write was missed without it).
        ("sim crash after vote", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                  "--duration-ms", "30000", "--faults",
                                  "crash,partition,delay,duplicate", "--nemesis", "crash-after-vote"]),
        # The same voter back without its vote's record, its HSM kept:
        # where only the counter remembers the vote (outside bug
        # consensus/04 is otherwise reached only by chance).
        ("sim rolled-back vote", ["sim", "sweep", "--seeds", "0..200", "--nodes", "3",
                                  "--faults", "all", "--nemesis", "rolled-back-vote"]),
        # Older terms' messages (votes, append and snapshot answers) held
        # and delivered once a newer leader took over: where a handler
        # mistakes a stale message for a current one.
        ("sim late old-term messages", ["sim", "sweep", "--seeds", "0..200", "--faults", "all",
                                        "--nemesis", "late-old-term-messages"]),
        # A cloud that serves stale versions and loses objects, and nothing
        # else: where a restore must refuse a generation older than the
        # device was told is stored (the swarm rarely stacks these two).
        ("sim stale cloud", ["sim", "sweep", "--seeds", "0..100", "--duration-ms", "30000",
                             "--faults", "cloud-stale,cloud-missing"]),
        # Every other honest device sent back to the start of its login,
        # registration or backup for as long as faults are on: where an
        # operation's restart budget is spent, and LIVE-4 counts it.
        # A cloud that damages, serves stale and loses objects while the
        # chat server intercepts: where a restore must say what it met,
        # and a delete held back and sent later by the chat server is
        # still the device's own (a false LOCK-3 alarm hid here).
        ("sim cloud damage and intercept", ["sim", "sweep", "--seeds", "0..200", "--duration-ms", "30000",
                                            "--faults", "cloud-corrupt,cloud-stale,cloud-missing,intercept"]),
        ("sim obstructed clients", ["sim", "sweep", "--seeds", "0..60", "--duration-ms", "30000",
                                    "--faults", "intercept,cloud-missing",
                                    "--nemesis", "obstruct-clients"]),
        # A new leader cut off before it opens its term and flooded past
        # what it may hold: where the queue's bound is met (LOAD-1, and the
        # node's own assertion).
        ("sim flooded new leader", ["sim", "sweep", "--seeds", "0..40", "--duration-ms", "30000",
                                    "--faults", "partition", "--nemesis", "flood-new-leader",
                                    "--require", "leader queues filled to their bound"]),
        # Devices that switch from password to key mode: where a disable
        # must still delete the vault record the device holds (REG-2;
        # outside bug vault-client/15 was otherwise never reached).
        ("sim mode switches", ["sim", "sweep", "--seeds", "0..100", "--mode-switches"]),
        # A leader cut off just after it answered an activation, sent a
        # copy of it once a newer leader has changed the record: where an
        # answer read from a replaced leader's store must wait for the read
        # barrier (outside bug vault-client/03 was otherwise never reached).
        ("sim resend to deposed leader", ["sim", "sweep", "--seeds", "0..100",
                                          "--faults", "partition",
                                          "--nemesis", "resend-to-deposed-leader",
                                          "--require", "requests reaching a deposed leader"]),
        ("model slice", ["check", "slice"]),
        # The vault model's whole space with elections and a crash at R = 1
        # (every path of any length; verify's stage model-whole-timers-3):
        # where a vote, term or log-matching mistake needs a path longer
        # than the slice's election depth.
        ("model whole timers 3", ["check", "run", "vault", "--timers", "3", "--crashes", "1",
                                  "--rollbacks", "0", "--duplicates", "0", "--guesses", "0",
                                  "--logins", "0", "--changes", "0", "--reregistrations", "0",
                                  "--forgeries", "0", "--replays", "0",
                                  "--forged-activations", "0", "--probes", "0", "--splices", "0",
                                  "--foreign-evaluations", "0", "--resends", "0",
                                  "--depth", "none", "--dfs", "-j", "2"]),
        ("model walk", ["check", "walk", "vault", "--seeds", "0..20000", "--steps", "300",
                        "-j", "2"]),
        # The host adversary, six crashes and a snapshot every two entries,
        # on walks of 1,000 steps (verify's stage model-walk-faults).
        ("model walk faults", ["check", "walk", "vault", "--seeds", "0..5000", "--steps", "1000",
                               "-j", "2", "--crashes", "6", "--duplicates", "8",
                               "--host-rollbacks", "1", "--forged-appends", "1",
                               "--misdirections", "2", "--disk-edits", "1",
                               "--snapshot-every", "2"]),
        ("sim attacks", ["cargo-test", "attacks"]),
        ("sim lost activation", ["cargo-test", "lost_activation"]),
        ("sim two devices", ["cargo-test", "two_devices"]),
        ("sim duplicates", ["cargo-test", "duplicates"]),
        ("sim cluster scenarios", ["cargo-test", "vault_cluster"]),
        ("sim disable confirmation", ["cargo-test", "disable_confirmation"]),
        failed_backups(40),
        rewritten_name(40),
        second_devices(80),
        # The backup format's property tests (FMT-1): the simulator's
        # devices encrypt whole archives in memory and never use the
        # streaming encryptor the command line does, so a bug there (outside
        # bug vault-client/26, an encryptor that seals on drop) is theirs.
        ("format properties", ["cargo-test", "integration", "backup-vault", "format_props"]),
        # The cloud stores against a reference model (a map of histories),
        # random operation sequences on each backend: the simulator's cloud
        # is in memory, so the directory store the real runtime uses is
        # theirs (outside bug vault-client/36, a put after a delete that
        # reuses a version number).
        ("cloud properties", ["cargo-test", "integration", "backup-vault", "cloud_model"]),
    ],
}

interrupted = False


def on_signal(_signum, _frame):
    global interrupted
    interrupted = True


def sh(cmd, cwd, timeout=None, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def copy_tree(dest: Path):
    """A scratch copy of the tracked files (and uncommitted edits to them).

    Inside the repository (the default `--out` is under `target/`), cargo
    finds the repository's own `.cargo/config.toml` above the copy, and
    merges the config files it finds on the way up: a second copy of it
    would list its rustflags twice, and every dependency would be built
    again, beside the test step's, for flags that differ only by that
    repetition (most of CI's mutation slice, once)."""
    inside = dest.resolve().is_relative_to(ROOT)
    if inside:
        shutil.rmtree(dest / ".cargo", ignore_errors=True)  # left by an older copy
    files = sh(["git", "ls-files", "-z"], ROOT).stdout.split("\0")
    for rel in filter(None, files):
        if inside and rel.startswith(".cargo/"):
            continue
        src = ROOT / rel
        if not src.is_file():
            continue
        dst = dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copy(src, dst)  # a fresh mtime, so that cargo sees the change


def claim_target(tree: Path, target: Path):
    """Makes the tree's files newer than anything another tree built into
    `target`.

    Cargo names a path crate's artifacts by its path relative to the
    workspace, so two scratch trees sharing one `--target-dir` share one
    artifact per crate, and cargo calls it fresh when no source file is
    newer than it. A tree copied yesterday, whose files kept yesterday's
    mtimes, would then run the artifact another tree built later, with
    that tree's last mutant compiled in (seen: the unmutated baseline
    failed, because the library ignored every cloud answer). So when the
    target was last built from another tree, every file of this one is
    touched first; the marker file records which tree built it last."""
    marker = target / "mutants-tree"
    me = str(tree.resolve())
    if marker.is_file() and marker.read_text() == me:
        return
    now = time.time()
    for path in tree.rglob("*"):
        if path.is_file() and "target" not in path.relative_to(tree).parts[:1]:
            os.utime(path, (now, now))
    target.mkdir(parents=True, exist_ok=True)
    marker.write_text(me)


def list_mutants(tree: Path, globs, in_diff=None, package="backup-vault"):
    # Functions named flaw_* are the broken variants' own code (compiled with
    # the `flaws` feature only, never in a release): mutating them tests the
    # broken-variant matrix, not the vault, so they are not in the population
    # (methods and free functions alike). The pattern names the function
    # mutated, so a guard of real code that also reads a flaw switch
    # (`newer > g || flaw_on!(...)`) stays in.
    cmd = ["cargo", "mutants", "--list", "--json", "--diff", "-p", package,
           "--exclude-re", FLAW_FUNCTIONS]
    for g in globs:
        cmd += ["-f", g]
    if in_diff:
        cmd += ["--in-diff", str(Path(in_diff).resolve())]
    out = sh(cmd, tree)
    if out.returncode != 0:
        sys.exit(f"mutants.py: cargo mutants --list failed:\n{out.stderr}")
    return json.loads(out.stdout)


def list_patches(dirs):
    """The hand-written bugs under `dirs`: one mutant per `*.patch` file,
    with the files it touches (from its `+++ b/...` lines) and its `Bug:`
    line."""
    mutants = []
    for d in dirs:
        files = sorted(Path(d).rglob("*.patch"))
        if not files:
            raise SystemExit(f"mutants.py: --patches {d}: no *.patch file there")
        for f in files:
            text = f.read_text()
            touched = sorted({line[6:].strip() for line in text.splitlines()
                              if line.startswith("+++ b/")})
            bug = next((line[4:].strip() for line in text.splitlines()
                        if line.startswith("Bug:")), "")
            if not touched:
                raise SystemExit(f"mutants.py: {f}: no `+++ b/PATH` line: not a git diff")
            rel = f.resolve().relative_to(ROOT) if f.resolve().is_relative_to(ROOT) else f
            mutants.append({"name": f"patch:{rel}", "file": touched[0], "files": touched,
                            "diff": text, "patch": True, "bug": bug})
    return mutants


def apply_mutant(tree: Path, m):
    """Applies mutant `m` to `tree`. Returns (applied, originals): the bytes
    of every file it touches (None for a file it creates), to put back."""
    files = m.get("files") or [m["file"]]
    originals = {f: ((tree / f).read_bytes() if (tree / f).exists() else None) for f in files}
    if m.get("patch"):
        cmd = ["patch", "-s", "-p1", "-d", str(tree), "--no-backup-if-mismatch"]
    else:
        cmd = ["patch", "-s", "-p0", str(tree / m["file"])]
    p = subprocess.run(cmd, input=m["diff"], text=True, capture_output=True)
    return p.returncode == 0, originals


def restore(tree: Path, originals):
    for f, data in originals.items():
        if data is None:
            (tree / f).unlink(missing_ok=True)
        else:
            (tree / f).write_bytes(data)


def load_equivalent():
    """name -> one-line argument, from scripts/mutants-equivalent.txt."""
    eq = {}
    if EQUIVALENT_LIST.exists():
        for line in EQUIVALENT_LIST.read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            name, _, why = line.partition(" ## ")
            eq[name.strip()] = why.strip()
    return eq


def position_free(name: str) -> str:
    """A mutant's name without its line and column."""
    path, sep, rest = name.partition(":")
    parts = rest.split(":", 2)
    return path + sep + parts[2] if len(parts) == 3 else name


def check_equivalents(package: str) -> int:
    """Every entry of the equivalents list names a mutant of the working
    tree: every file of impl/src, the default files and the labels
    (invariant.rs, flaws.rs) beside them."""
    names = [m["name"] for m in list_mutants(ROOT, ["impl/src/**/*.rs"], package=package)]
    current = set(names)
    by_text = {}
    for name in names:
        by_text.setdefault(position_free(name), []).append(name)
    stale = [e for e in load_equivalent() if e not in current]
    for entry in stale:
        moved = by_text.get(position_free(entry), [])
        print(f"stale: {entry}", file=sys.stderr)
        for m in moved:
            print(f"  same text now at: {m}", file=sys.stderr)
    print(f"{len(load_equivalent())} entries in {EQUIVALENT_LIST.relative_to(ROOT)}, "
          f"{len(stale)} stale (among {len(current)} mutants of {package})")
    return 1 if stale else 0


# The cargo profile the suite is built with, and its folder under the target
# directory: `mutants` unless `--cargo-profile` names another (measured: the
# test profile, reusing `cargo test`'s target directory, was slower over a
# whole run, since the oracle runs with debug assertions; CI's three-mutant
# slice, where building the dependencies dominated, uses it).
CARGO_PROFILE = "mutants"


def profile_dir(profile: str) -> str:
    return {"dev": "debug", "test": "debug", "release": "release", "bench": "release"}.get(profile, profile)


def cargo_selection(test: str, package: str = "backup-vault-sim"):
    """What cargo builds: in the test profile, the whole workspace's feature
    set, as `cargo test --workspace` resolved it, through one integration
    test that needs the suite's binary (`-p backup-vault-sim` alone resolves
    fewer features, and rebuilt about a hundred dependencies beside the
    test step's: 6 of the CI slice's 8 minutes); else `package` alone."""
    if CARGO_PROFILE == "test":
        return ["--workspace", "--test", test]
    return ["-p", package, "--test", test]


def build(tree: Path, target: Path):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    if CARGO_PROFILE == "test":
        cmd = ["cargo", "test", "--no-run", "--profile", CARGO_PROFILE] + cargo_selection("sim_cli")
    else:
        cmd = ["cargo", "build", "--profile", CARGO_PROFILE, "-p", "backup-vault-sim",
               "--bin", "bvault-suite"]
    r = sh(cmd, tree, timeout=1800, env=env)
    return r.returncode == 0, r.stderr[-3000:]


def first_failure(stdout):
    """The first failing seed (sim) or the violated property and depth (model)."""
    try:
        doc = json.loads(stdout)
    except (ValueError, TypeError):
        return None
    if "failures" in doc:
        if doc["failures"]:
            f = doc["failures"][0]
            return f"seed {f['seed']}: {f['invariant']} ({f['replay']})"
        return None
    if "slices" in doc:
        for sl in doc["slices"]:
            bad = [p for p in sl.get("properties", []) if p.get("status") in ("violated", "no_example")]
            if sl.get("exit_code", 0) != 0 and bad:
                p = bad[0]
                where = f" at depth {p['depth']}" if p.get("depth") is not None else ""
                return f"slice {sl['name']}: {p['name']}: {p['status']}{where}"
    if doc.get("schema") == "bvault-check-run/1":
        bad = [p for p in doc.get("properties", []) if p.get("status") in ("violated", "no_example")]
        if bad:
            p = bad[0]
            where = f" at depth {p['depth']}" if p.get("depth") is not None else ""
            return f"{doc['model']}: {p['name']}: {p['status']}{where}"
    if doc.get("schema") == "bvault-check-walk/1":
        v = doc.get("violation")
        if v:
            return f"walk of seed {v['seed']}: {v['property']} after {v['steps']} steps ({v['replay']})"
        missing = [e["name"] for e in doc.get("examples", []) if e.get("first_seed") is None]
        if missing:
            return "no walk reached: " + "; ".join(missing)
    return None


def run_stage(binary: Path, tree: Path, target: Path, stage, timeout, threads):
    name, args = stage
    if args[0] == "cargo-test":
        env = dict(os.environ, CARGO_TARGET_DIR=str(target))
        # ["cargo-test", TEST] or ["cargo-test", TEST, PACKAGE, FILTER].
        cmd = (["cargo", "test", "-q", "--profile", CARGO_PROFILE]
               + cargo_selection(*args[1:3]) + args[3:4])
    else:
        env = None
        cmd = [str(binary)] + args + ["--json"]
        if args[0] == "sim":
            cmd += ["--fail-fast", "-q", "--threads", str(threads)]
        if args[:2] == ["sim", "sweep"]:
            # A vault that commits nothing passes every other check: each
            # device whose registration fails stays in key mode and restores
            # from the cloud alone (seen: `send_append` emptied). A client
            # that never hears the cloud backs up and restores nothing, and
            # the durability checks hold vacuously (seen: `on_cloud`'s
            # guard negated).
            cmd += ["--require", "password registrations done",
                    "--require", "restores done"]
    start = time.monotonic()
    try:
        r = sh(cmd, tree, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, f"ran past {timeout:.0f} s (a hang)"
    took = time.monotonic() - start
    if r.returncode == 0:
        return "pass", took, None
    # A sweep interrupted by a signal (exit 7 saying so) or a stage killed
    # from outside proves nothing: not a catch. Exit 7 for a coverage
    # counter left at zero (`--require`) is one: the unmutated baseline
    # provoked it.
    stopped = r.returncode == 7 and "interrupted by a signal" in r.stderr
    if interrupted or stopped or r.returncode in (-signal.SIGINT, -signal.SIGTERM, -signal.SIGKILL):
        return "interrupted", took, f"exit {r.returncode}"
    if args[0] == "cargo-test":
        failed = [ln.split()[0] for ln in r.stdout.splitlines()
                  if ln.startswith("    ") and ln.strip() and " " not in ln.strip()]
        return "fail", took, ("test " + ", ".join(failed[:2])) if failed else (
            "does not build, or failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:200])
    detail = first_failure(r.stdout)
    if detail is None:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["?"]
        detail = f"exit {r.returncode}: {tail[0][:200]}"
    return "fail", took, detail


def main():
    global interrupted
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--file", action="append", help="glob of files to mutate (repeatable)")
    ap.add_argument("--package", default="backup-vault",
                    help="the crate whose files are mutated (default: backup-vault; the suite"
                         " is rebuilt on each mutant, so any crate it links can be judged)")
    ap.add_argument("--shard", default="1/1", help="k/n: run mutants i with i %% n == k-1")
    ap.add_argument("--out", default=str(ROOT / "target" / "mutants-oracle"))
    ap.add_argument("--jobs", type=int, default=0, help="simulator threads (0: one per core)")
    ap.add_argument("--limit", type=int, help="judge at most N mutants this run")
    ap.add_argument("--cargo-profile", default="mutants",
                    help="cargo profile to build the suite with (default: mutants)")
    ap.add_argument("--target-dir", help="cargo target directory (default: OUT/target)")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results in --out")
    ap.add_argument("--in-diff", metavar="FILE",
                    help="only mutants on lines a unified diff changes (e.g. git diff BASE -- impl/src)")
    ap.add_argument("--names", metavar="FILE",
                    help="only the mutants named in FILE, one per line (e.g. the survivors of an"
                         " earlier run, judged again after a check was added)")
    ap.add_argument("--check-equivalents", action="store_true",
                    help="check that every entry of scripts/mutants-equivalent.txt names a"
                         " mutant that exists (no build); exit 1 naming the stale ones")
    ap.add_argument("--patches", action="append", metavar="DIR",
                    help="judge the hand-written bugs under DIR (every *.patch, a git diff"
                         " from the tree's root) instead of cargo-mutants' mutants (repeatable)")
    ap.add_argument("--skip", action="append", default=[], metavar="STAGE",
                    help="leave out a stage of the profile (repeatable); mutants it would have"
                         " judged stay 'missed' until a run with the stage judges them")
    args = ap.parse_args()
    if args.check_equivalents:
        return check_equivalents(args.package)
    try:
        k, n = (int(x) for x in args.shard.split("/"))
        assert 1 <= k <= n
    except (ValueError, AssertionError):
        print(f"mutants.py: --shard {args.shard!r}: expected k/n with 1 <= k <= n", file=sys.stderr)
        return 2
    threads = args.jobs or os.cpu_count() or 1
    stages = [s for s in PROFILES[args.profile] if s[0] not in args.skip]
    unknown = set(args.skip) - {s[0] for s in PROFILES[args.profile]}
    if unknown:
        print(f"mutants.py: --skip: no stage {sorted(unknown)} in profile {args.profile}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    if args.fresh and results_path.exists():
        results_path.unlink()
    global CARGO_PROFILE
    CARGO_PROFILE = args.cargo_profile
    tree = out / "tree"
    target = Path(args.target_dir).resolve() if args.target_dir else out / "target"
    tree.mkdir(exist_ok=True)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    copy_tree(tree)
    # The mutants first, so that a bad --names fails before the build and
    # the baselines (minutes), not after.
    globs = args.file or DEFAULT_FILES
    if args.patches:
        if args.file or args.in_diff:
            print("mutants.py: --patches judges the patches alone; --file and --in-diff"
                  " select cargo-mutants' mutants", file=sys.stderr)
            return 2
        globs = args.patches
        mutants = list_patches(args.patches)
    else:
        mutants = list_mutants(tree, globs, args.in_diff, args.package)
    mutants = [m for i, m in enumerate(mutants) if i % n == k - 1]
    if args.names:
        wanted = {line.strip() for line in Path(args.names).read_text().splitlines() if line.strip()}
        unknown = wanted - {m["name"] for m in mutants}
        if unknown:
            print("mutants.py: --names lists mutants that do not exist (any more), or that"
                  " --file, --shard or --in-diff leave out:\n  " + "\n  ".join(sorted(unknown)),
                  file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m["name"] in wanted]
    claim_target(tree, target)
    binary = target / profile_dir(CARGO_PROFILE) / "bvault-suite"
    print(f"building the unmutated suite (profile {CARGO_PROFILE})...", flush=True)
    ok, err = build(tree, target)
    if not ok:
        print(f"mutants.py: the unmutated tree does not build:\n{err}", file=sys.stderr)
        return 2
    baseline = {}
    for stage in stages:
        verdict, took, detail = run_stage(binary, tree, target, stage, None, threads)
        print(f"  baseline {stage[0]}: {verdict} in {took:.1f} s", flush=True)
        if verdict != "pass":
            print(f"mutants.py: the oracle fails on the unmutated code ({stage[0]}: {detail});"
                  " nothing can be measured", file=sys.stderr)
            return 2
        baseline[stage[0]] = took

    equivalent = load_equivalent()
    done = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("profile") == args.profile:
                done[rec["name"]] = rec
    def settled(m):
        # A mutant missed by fewer stages than this run has is judged again,
        # by the stages it has not met yet.
        rec = done.get(m["name"])
        return rec is not None and (rec["outcome"] != "missed"
                                    or all(s[0] in rec.get("stages", {}) for s in stages))
    todo = [m for m in mutants if not settled(m)]
    if args.limit is not None:
        todo = todo[: args.limit]
    print(f"{len(mutants)} mutants in shard {k}/{n}; {len(mutants) - len(todo)} judged before; "
          f"{len(todo)} to judge with the {args.profile} oracle", flush=True)

    with results_path.open("a") as results:
        for i, m in enumerate(todo, 1):
            if interrupted:
                break
            rec = {"name": m["name"], "file": m["file"], "profile": args.profile}
            if m.get("bug"):
                rec["bug"] = m["bug"]
            started = time.monotonic()
            originals = {}
            try:
                applied, originals = apply_mutant(tree, m)
                if not applied:
                    rec.update(outcome="unviable", detail="the diff does not apply")
                else:
                    ok, err = build(tree, target)
                    if not ok:
                        rec.update(outcome="unviable", detail="does not build")
                    else:
                        earlier = done.get(m["name"], {})
                        passed = dict(earlier.get("stages", {})) if earlier.get("outcome") == "missed" else {}
                        rec.update(outcome="missed", stages=passed)
                        for stage in stages:
                            if stage[0] in passed:
                                continue
                            limit = max(60.0, 5 * baseline[stage[0]])
                            verdict, took, detail = run_stage(binary, tree, target, stage, limit, threads)
                            if verdict == "interrupted":
                                interrupted = True
                                break
                            rec["stages"][stage[0]] = round(took, 1)
                            if verdict != "pass":
                                rec.update(outcome="caught", caught_by=stage[0],
                                           how=verdict, detail=detail)
                                break
            finally:
                restore(tree, originals)
            if rec["outcome"] == "missed" and m["name"] in equivalent:
                rec.update(outcome="equivalent", detail=equivalent[m["name"]])
            rec["seconds"] = round(time.monotonic() - started, 1)
            if interrupted and rec["outcome"] == "missed":
                break  # a stage was cut short by the signal: judge it again next run
            results.write(json.dumps(rec) + "\n")
            results.flush()
            done[m["name"]] = rec
            print(f"[{i}/{len(todo)}] {rec['outcome']:<10} {m['name']}"
                  + (f"  <- {rec['caught_by']}" if "caught_by" in rec else ""), flush=True)

    names = {m["name"] for m in mutants}
    judged = [done[nm] for nm in sorted(names) if nm in done]
    for rec in judged:  # equivalence may have been argued after the run
        if rec["outcome"] == "missed" and rec["name"] in equivalent:
            rec.update(outcome="equivalent", detail=equivalent[rec["name"]])
    counts = {}
    for rec in judged:
        counts[rec["outcome"]] = counts.get(rec["outcome"], 0) + 1
    caught, missed = counts.get("caught", 0), counts.get("missed", 0)
    score = caught / (caught + missed) if caught + missed else None
    by_stage = {}
    for rec in judged:
        if rec["outcome"] == "caught":
            by_stage[rec["caught_by"]] = by_stage.get(rec["caught_by"], 0) + 1
    summary = {
        "schema": "bvault-mutants/1",
        "profile": args.profile,
        "files": globs,
        "shard": args.shard,
        "mutants": len(mutants),
        "judged": len(judged),
        "counts": counts,
        "caught_by_stage": by_stage,
        "score": score,
        "interrupted": interrupted,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    with (out / "table.md").open("w") as t:
        t.write(f"Mutation score ({args.profile} oracle): {caught} caught of {caught + missed} "
                f"viable, non-equivalent mutants"
                + (f" = {100 * score:.1f}%" if score is not None else "") + "\n\n")
        t.write("| mutant | outcome | caught by | first failing seed or depth |\n|---|---|---|---|\n")
        for rec in judged:
            name = f"`{rec['name']}`" + (f": {rec['bug']}" if rec.get("bug") else "")
            t.write(f"| {name} | {rec['outcome']} | {rec.get('caught_by', '')} | "
                    f"{(rec.get('detail') or '').replace('|', '/')} |\n")
    print(json.dumps(summary, indent=1))
    if interrupted or len(judged) < len(mutants):
        return 7
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
