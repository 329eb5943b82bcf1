#!/usr/bin/env bash
# Whole-process cost of `bvault backup encrypt/decrypt` against `age` on the
# same file, side by side in one run: CPU time (user + system) and wall time,
# the median of RUNS runs each, and bvault's ratios to age.
#
#   benches/age-compare.sh [SIZE_MIB] [RUNS]        (defaults: 512 MiB, 5 runs)
#
# Both tools read a file of random bytes from the page cache and write their
# output to a file in the same temporary directory (on the disk that holds
# TMPDIR). bvault runs with its default 64 KiB chunks, on 1 thread (-j 1) and
# on 2 (-j 2); age (Debian package `age`) uses an X25519 recipient and its
# 64 KiB ChaCha20-Poly1305 chunks. Needs: age, age-keygen, GNU time
# (/usr/bin/time), and a release build of bvault, made here if missing.
set -euo pipefail

size_mib=${1:-512}
runs=${2:-5}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
bvault=$target_dir/release/bvault

for tool in age age-keygen /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "error: $tool not found (Debian: apt-get install age time)" >&2
        exit 2
    }
done
(cd "$root" && cargo build -q --release -p backup-vault-cli)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c "$((size_mib << 20))" /dev/urandom >"$tmp/plain"
"$bvault" key new --out "$tmp/bvault.key" >/dev/null
age-keygen -o "$tmp/age.key" 2>/dev/null
recipient=$(age-keygen -y "$tmp/age.key")
# Warm the page cache and make the ciphertexts the decryptions read.
cat "$tmp/plain" >/dev/null
"$bvault" backup encrypt -q -k "$tmp/bvault.key" "$tmp/plain" "$tmp/plain.bvault"
age -r "$recipient" -o "$tmp/plain.age" "$tmp/plain"

# Prints "wall cpu" in seconds for one run of the command.
measure() {
    rm -f "$tmp/out"
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >/dev/null
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$tmp/time"
}

# Prints the median "wall cpu" over $runs runs.
median() {
    for _ in $(seq "$runs"); do measure "$@"; done |
        sort -n -k2 | awk '{ w[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2); printf "%s %s\n", w[m], c[m] }'
}

declare -A wall cpu
run() {
    local name=$1
    shift
    read -r "wall[$name]" "cpu[$name]" < <(median "$@")
}

# Interleaved, so that a change in the machine's load hits every row alike.
run "age encrypt" age -r "$recipient" -o "$tmp/out" "$tmp/plain"
run "bvault encrypt -j 1" "$bvault" backup encrypt -q -f -j 1 -k "$tmp/bvault.key" "$tmp/plain" "$tmp/out"
run "bvault encrypt -j 2" "$bvault" backup encrypt -q -f -j 2 -k "$tmp/bvault.key" "$tmp/plain" "$tmp/out"
run "age decrypt" age -d -i "$tmp/age.key" -o "$tmp/out" "$tmp/plain.age"
run "bvault decrypt -j 1" "$bvault" backup decrypt -q -f -j 1 -k "$tmp/bvault.key" "$tmp/plain.bvault" "$tmp/out"
run "bvault decrypt -j 2" "$bvault" backup decrypt -q -f -j 2 -k "$tmp/bvault.key" "$tmp/plain.bvault" "$tmp/out"

echo "$size_mib MiB of random bytes, median of $runs runs; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "age: $(age --version); bvault: $("$bvault" --version)"
echo
echo "| command | wall s | CPU s (user+sys) | CPU / age's | wall / age's |"
echo "|---|---:|---:|---:|---:|"
for op in encrypt decrypt; do
    for name in "age $op" "bvault $op -j 1" "bvault $op -j 2"; do
        awk -v n="$name" -v w="${wall[$name]}" -v c="${cpu[$name]}" \
            -v aw="${wall[age $op]}" -v ac="${cpu[age $op]}" \
            'BEGIN { printf "| `%s` | %.3f | %.3f | %.2f | %.2f |\n", n, w, c, c / ac, w / aw }'
    done
done
