#!/usr/bin/env bash
# Runs every cargo-fuzz target for BUDGET_SECONDS each, one after another,
# and exits non-zero if any target finds a crash (or fails to run).
#
#   fuzz/run-all.sh BUDGET_SECONDS [LIBFUZZER_ARG]...
#   fuzz/run-all.sh 60
#   fuzz/run-all.sh 600 -jobs=4 -workers=4
#
# Each target starts from its working corpus fuzz/corpus/TARGET (created if
# missing; new inputs are written there, never into the committed seeds) plus
# the committed seeds fuzz/seeds/TARGET. Crashes land in fuzz/artifacts/TARGET/;
# each target's libFuzzer log is kept in fuzz/logs/TARGET.log.
# Environment: FUZZ_TOOLCHAIN (default: nightly); FUZZ_SANITIZER (default:
# address; CI's few-second slice uses none, which builds and runs faster: our
# code forbids unsafe, and the nightly's long runs keep AddressSanitizer for
# the dependencies' unsafe code).
set -euo pipefail

usage() {
    echo "usage: $0 BUDGET_SECONDS [LIBFUZZER_ARG]..." >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
budget=$1
shift
[[ $budget =~ ^[1-9][0-9]*$ ]] || usage

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
toolchain=${FUZZ_TOOLCHAIN:-nightly}
cargo_fuzz=(cargo "+$toolchain" fuzz)
sanitizer=${FUZZ_SANITIZER:-address}
# cargo fuzz builds with the workspace's release profile, whose thin LTO and
# single codegen unit (right for the shipped binary) made linking each of the
# targets take minutes; fuzzing does not need them.
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

if ! "${cargo_fuzz[@]}" --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed for toolchain '$toolchain'; see fuzz/README.md" >&2
    exit 2
fi

mapfile -t targets < <("${cargo_fuzz[@]}" list)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "error: \`cargo fuzz list\` found no targets" >&2
    exit 2
fi

# Per-target dictionary and input size limit.
dict_for() {
    case $1 in
        key_text) echo fuzz/dict/key.dict ;;
        *) echo fuzz/dict/backup.dict ;;
    esac
}
max_len_for() {
    case $1 in
        header) echo 512 ;;
        key_text) echo 4200 ;; # past MAX_KEY_TEXT_BYTES (4096)
        roundtrip | backends) echo 4096 ;;
        *) echo 8192 ;;
    esac
}

echo "building ${#targets[@]} targets (sanitizer: $sanitizer): ${targets[*]}"
"${cargo_fuzz[@]}" build -s "$sanitizer"

mkdir -p fuzz/logs
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    seeds=()
    [[ -d fuzz/seeds/$target ]] && seeds=("fuzz/seeds/$target")
    log="fuzz/logs/$target.log"
    echo "=== $target: ${budget}s (log: $log)"
    status=0
    "${cargo_fuzz[@]}" run -s "$sanitizer" "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$budget" \
        -dict="$(dict_for "$target")" \
        -max_len="$(max_len_for "$target")" \
        -print_final_stats=1 \
        "$@" >"$log" 2>&1 || status=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    if [[ $status -eq 0 ]]; then
        line="$target: ok, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}"
    else
        line="$target: FAILED (exit $status), ${runs:-?} runs; see $log and fuzz/artifacts/$target/"
        failed+=("$target")
        grep -E '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -20 >&2 || true
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "=== summary (${budget}s per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashes or errors in: ${failed[*]}" >&2
    echo "replay one on stable: cargo run -p backup-vault-fuzz --bin TARGET -- fuzz/artifacts/TARGET/crash-..." >&2
    exit 1
fi
