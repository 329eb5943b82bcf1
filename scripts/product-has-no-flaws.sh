#!/usr/bin/env bash
# Proves that the product binary, bvault, carries none of the suite's
# deliberately broken variants:
#   1. the feature tree of `-p backup-vault-cli` has no `flaws` feature;
#   2. the release binary contains no flaw name (every name in
#      impl/src/flaws.rs), while the suite's binary, built with them,
#      contains every one: the search itself can fail.
# Builds both release binaries. Exits non-zero, naming the problem, if not.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p backup-vault-cli
cargo build --release -q -p backup-vault-sim
product=target/release/bvault
suite=target/release/bvault-suite

if cargo tree -e features -p backup-vault-cli | grep -F 'feature "flaws"'; then
  echo "FAIL: the feature tree of backup-vault-cli enables the flaws feature" >&2
  exit 1
fi

mapfile -t names < <(grep -oE '=> "[a-z0-9-]+"' impl/src/flaws.rs | cut -d'"' -f2 | sort -u)
if [ "${#names[@]}" -lt 10 ]; then
  echo "FAIL: found only ${#names[@]} flaw names in impl/src/flaws.rs" >&2
  exit 1
fi
for name in "${names[@]}"; do
  if grep -qaF -- "$name" "$product"; then
    echo "FAIL: the product binary contains the flaw name '$name'" >&2
    exit 1
  fi
  if ! grep -qaF -- "$name" "$suite"; then
    echo "FAIL: the suite binary lacks the flaw name '$name': this search proves nothing" >&2
    exit 1
  fi
done
echo "bvault: no flaws feature, none of ${#names[@]} flaw names in $product (all present in $suite)"
