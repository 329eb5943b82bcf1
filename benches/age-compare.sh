#!/usr/bin/env bash
# Whole-process cost of `bvault backup encrypt/decrypt` against `age` on the
# same file, side by side in one run: CPU time (user + system) and wall time,
# the median of RUNS runs each, and bvault's ratios to age.
#
#   benches/age-compare.sh [SIZE_MIB] [RUNS]        (defaults: 512 MiB, 5 runs)
#
# Both tools read a file of random bytes from the page cache, and write their
# output twice over: to a file in the same temporary directory (on the disk
# that holds TMPDIR), and to standard output redirected to /dev/null, which
# leaves out the kernel's cost of writing (the same for both). bvault runs with its default 64 KiB chunks, on 1 thread (-j 1) and
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

# Prints "wall user sys" in seconds for one run of the command, its standard
# output going to /dev/null.
measure() {
    rm -f "$tmp/out"
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >/dev/null
    cat "$tmp/time"
}

# Prints the "wall user sys" of the run with the median CPU time (user + sys).
median() {
    for _ in $(seq "$runs"); do measure "$@"; done |
        awk '{ print $1, $2, $3, $2 + $3 }' | sort -n -k4 |
        awk '{ w[NR] = $1; u[NR] = $2; s[NR] = $3 } END { m = int((NR + 1) / 2); print w[m], u[m], s[m] }'
}

declare -A result
run() {
    local name=$1
    shift
    result[$name]=$(median "$@")
}

key=$tmp/bvault.key
for sink in file stdout; do
    if [[ $sink == file ]]; then out=$tmp/out; else out=-; fi
    # Interleaved, so that a change in the machine's load hits every row alike.
    run "age encrypt, $sink" age -r "$recipient" -o "$out" "$tmp/plain"
    run "bvault encrypt -j 1, $sink" "$bvault" backup encrypt -q -f -j 1 -k "$key" "$tmp/plain" "$out"
    run "bvault encrypt -j 2, $sink" "$bvault" backup encrypt -q -f -j 2 -k "$key" "$tmp/plain" "$out"
    run "age decrypt, $sink" age -d -i "$tmp/age.key" -o "$out" "$tmp/plain.age"
    run "bvault decrypt -j 1, $sink" "$bvault" backup decrypt -q -f -j 1 -k "$key" "$tmp/plain.bvault" "$out"
    run "bvault decrypt -j 2, $sink" "$bvault" backup decrypt -q -f -j 2 -k "$key" "$tmp/plain.bvault" "$out"
done

echo "$size_mib MiB of random bytes, median of $runs runs; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "age: $(age --version); bvault: $("$bvault" --version)"
echo
echo "| command | output | wall s | user s | sys s | CPU / age's | wall / age's |"
echo "|---|---|---:|---:|---:|---:|---:|"
for sink in file stdout; do
    for op in encrypt decrypt; do
        for tool in "age $op" "bvault $op -j 1" "bvault $op -j 2"; do
            read -r w u s <<<"${result[$tool, $sink]}"
            read -r aw au as <<<"${result[age $op, $sink]}"
            label=$sink
            [[ $sink == stdout ]] && label="stdout to /dev/null"
            awk -v n="$tool" -v o="$label" -v w="$w" -v u="$u" -v s="$s" -v aw="$aw" -v ac="$(awk -v a="$au" -v b="$as" 'BEGIN { print a + b }')" \
                'BEGIN { printf "| `%s` | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", n, o, w, u, s, (u + s) / ac, w / aw }'
        done
    done
done
