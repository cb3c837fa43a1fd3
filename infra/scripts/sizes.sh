#!/usr/bin/env bash
# make sizes: every function's stripped release binary built on its own, as `cargo lambda
# build --bin <function>` builds it for Lambda, with Lambda's release profile
# (lambda_release_profile in common.sh). (make bench builds them together with
# `kassa`, and Cargo then unifies features across all of them, which makes each bigger.)
# Slow: one fat-LTO build per function, in its own target dir so features never mix.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_system_packages
lambda_release_profile
target=${SIZES_TARGET_DIR:-$STATE_DIR/size-target}
printf '| function | stripped release binary |\n|---|---|\n'
for package in functions/*/; do
  name=$(basename "$package")
  say "building $name alone"
  AWS_LC_SYS_NO_JITTER_ENTROPY=1 CARGO_TARGET_DIR=$target cargo build -q --release --locked \
    --manifest-path "$package/Cargo.toml" --bin "$name"
  awk -v name="$name" -v bytes="$(stat -c %s "$target/release/$name")" \
    'BEGIN { printf "| %s | %.1f MB |\n", name, bytes / 1e6 }'
done
