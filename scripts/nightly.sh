#!/usr/bin/env bash
# The nightly run, for a cron job on one machine (a matrix of machines runs
# `bvault-suite verify --profile nightly --shard k/n` instead: docs/verify.md).
#
#   scripts/nightly.sh [OUT] [FUZZ_SECONDS_PER_TARGET]
#
# 1. `bvault-suite verify --profile nightly` (the sweeps, the model's slice,
#    the broken variants, the attacks, the fuzz corpora, the decoder, the
#    mutation score) into OUT/verify;
# 2. every cargo-fuzz target for FUZZ_SECONDS each (default 600), from its
#    working corpus fuzz/corpus/TARGET, which is kept between nights and
#    minimised afterwards (`cargo fuzz cmin`);
# 3. source coverage of the tests (fuzz corpora replayed included) with
#    `cargo llvm-cov`, into OUT/coverage (lcov and an HTML report);
# 4. the supply chain: `cargo deny check` against deny.toml, offline
#    (licenses, bans and sources always; advisories from the database
#    already on the machine, if any);
# 5. the real-process fault soak: FAULT_RUNS (default 20) runs of 30 s of
#    the runtime's fault suite (impl/cli/tests/runtime_faults.rs), each
#    judged by the history checks; a failing run's folder is kept and named.
# 6. the runtime under turmoil: TURMOIL_SEEDS (default 300) seeds of
#    runtime/tests/turmoil_cluster.rs, each judged and replayed to the same
#    trace; a failure names its seed and the command that replays it.
#
# Tools it needs are installed on first use (cargo install --locked).
# Each part's exit code is kept; the script exits with the first non-zero
# one, after running them all, and prints one line per part. Every output
# names the commit it ran.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/nightly/$(date -u +%Y-%m-%dT%H%M%SZ)}"
fuzz_seconds="${2:-600}"
mkdir -p "$out"
log() { printf '[nightly %s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$out/nightly.log" >&2; }
need() { # need TOOL-SUBCOMMAND CRATE [TOOLCHAIN]
  if ! cargo ${3:+"+$3"} "$1" --version >/dev/null 2>&1; then
    log "installing $2"
    cargo install --locked "$2" >>"$out/nightly.log" 2>&1 || return 1
  fi
}
results=()
record() { results+=("$1=$2"); log "$1: exit $2"; }

log "commit $(git rev-parse HEAD 2>/dev/null || echo unknown), into $out"

log "1. verify --profile nightly"
cargo build --release -q -p backup-vault-sim
target/release/bvault-suite verify --profile nightly --out "$out/verify"
record verify $?

log "2. fuzzing, ${fuzz_seconds}s per target, corpora kept in fuzz/corpus"
if need fuzz cargo-fuzz nightly; then
  fuzz/run-all.sh "$fuzz_seconds"
  code=$?
  for t in $(cargo +nightly fuzz list); do
    if ! cargo +nightly fuzz cmin "$t" "fuzz/corpus/$t" >>"$out/nightly.log" 2>&1; then
      [ "$code" -eq 0 ] && code=1
    fi
  done
  cp -r fuzz/logs "$out/fuzz-logs" 2>/dev/null
  record fuzz "$code"
else
  record fuzz 2
fi

log "3. coverage (cargo llvm-cov over the workspace tests and the fuzz corpora)"
if need llvm-cov cargo-llvm-cov && rustup component add llvm-tools-preview >>"$out/nightly.log" 2>&1; then
  cargo llvm-cov --workspace --lcov --output-path "$out/coverage.lcov" >>"$out/nightly.log" 2>&1
  code=$?
  cargo llvm-cov report --html --output-dir "$out/coverage" >>"$out/nightly.log" 2>&1 || true
  record coverage "$code"
else
  record coverage 2
fi

log "4. supply chain (cargo deny, offline)"
if need deny cargo-deny; then
  cargo deny --offline check licenses bans sources
  code=$?
  if [ -d "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" ]; then
    cargo deny --offline check advisories || code=$?
  else
    log "no advisory database on this machine: advisories not checked"
    [ "$code" -eq 0 ] && code=7  # nothing violated, but less was proved
  fi
  record deny "$code"
else
  record deny 2
fi

log "5. real-process fault soak: ${FAULT_RUNS:-20} runs of 30 s"
BVAULT_FAULT_RUNS="${FAULT_RUNS:-20}" BVAULT_FAULT_SECONDS=30 \
  cargo test --release -q -p backup-vault-cli --test runtime_faults -- --nocapture 2>&1 | tee -a "$out/nightly.log"
record faults "${PIPESTATUS[0]}"

log "6. the runtime under turmoil: ${TURMOIL_SEEDS:-300} seeds, each replayed"
BVAULT_TURMOIL_SEEDS="${TURMOIL_SEEDS:-300}" \
  cargo test --release -q -p backup-vault-runtime --test turmoil_cluster -- --nocapture 2>&1 | tee -a "$out/nightly.log"
record turmoil "${PIPESTATUS[0]}"

log "summary: ${results[*]}"
for r in "${results[@]}"; do
  c=${r#*=}
  if [ "$c" -ne 0 ]; then exit "$c"; fi
done
exit 0
