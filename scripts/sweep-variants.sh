#!/usr/bin/env bash
# Sweeps every scenario variant of the simulator with every fault on:
# cluster sizes 3, 5, 7 and 9, rollback tolerance 0 to 3, guess limits 1, 3
# and 10, 6, 12 and 24 users, and the default swarm, each run also checking
# that its vault history linearizes (--check-history). Exits non-zero if any
# seed of any variant fails; prints one summary line per variant.
#
#   scripts/sweep-variants.sh [SEEDS] [BVAULT]
#
# SEEDS defaults to 2000 (the nightly bar per variant); BVAULT to the release
# binary, built if missing. Every failing seed's replay command is printed.
set -uo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-2000}"
bvault="${2:-target/release/bvault-suite}"
if [ ! -x "$bvault" ]; then
  cargo build --release -q -p backup-vault-sim || exit 1
fi
variants=(
  ""
  "--faults all"
  "--faults all --nodes 3 --rollback-tolerance 0"
  "--faults all --nodes 3 --rollback-tolerance 1"
  "--faults all --nodes 5 --rollback-tolerance 0"
  "--faults all --nodes 5 --rollback-tolerance 2"
  "--faults all --nodes 7 --rollback-tolerance 1"
  "--faults all --nodes 7 --rollback-tolerance 2"
  "--faults all --nodes 9 --rollback-tolerance 3"
  "--faults all --guess-limit 1"
  "--faults all --guess-limit 3"
  "--faults all --users 12"
  "--faults all --users 24"
)
failed=0
for v in "${variants[@]}"; do
  # shellcheck disable=SC2086
  out=$("$bvault" sim sweep --seeds "0..$seeds" --check-history $v 2>&1)
  code=$?
  result=$(printf '%s\n' "$out" | grep -m1 'result' | sed 's/^ *result *//')
  printf '%-55s %s\n' "${v:-(default swarm)}" "$result"
  if [ "$code" -ne 0 ]; then
    failed=1
    printf '%s\n' "$out" | grep -E 'FAILED|message|replay' | sed 's/^/    /'
  fi
done
exit "$failed"
