#!/bin/sh
# Builds and runs `bvault-suite` on the INSECURE toy group instead of
# ristretto255 (impl/src/opaque/toy_group.rs): the same protocol code, the
# same checks, without the cost of the elliptic-curve arithmetic. For the
# simulator's fast sweeps only; every report it prints names the group, and
# the replay commands it prints run through this script again.
#
#   scripts/toy-group.sh sim sweep --seeds 0..1000
#   scripts/toy-group.sh sim run --seed 17
#
# The build lives in target/toy-group, apart from the real one. The flag is
# appended to the build settings of .cargo/config.toml (cargo joins the
# arrays), so the AES-NI and Poly1305 settings stay as they are. The product
# binary `bvault` refuses to compile with it (impl/cli/src/main.rs).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${BVAULT_TOY_TARGET_DIR:-"$root/target/toy-group"}
host=$(rustc -vV | sed -n 's/^host: //p')
# Built from the checkout, where cargo reads .cargo/config.toml; run from
# where the caller stands, so that paths in the arguments mean what they say.
(
  cd "$root"
  cargo build --quiet --release -p backup-vault-sim --target-dir "$target_dir" \
      --config "target.$host.rustflags=[\"--cfg\", \"bvault_toy_group\"]"
)
exec "$target_dir/release/bvault-suite" "$@"
