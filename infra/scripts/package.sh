#!/usr/bin/env bash
# make package: `sam build` of every function in template.yaml (cargo-lambda from the project
# virtualenv, zig as the linker for Lambda's glibc), offline once the crates are fetched,
# then every function's binary size against the 10 MB budget: a function over it fails the
# build. make test runs it (through make replay), so CI builds what make deploy ships.
#
#   ARCH=arm64|x86_64   the Architecture parameter to build for (default: arm64 when the
#                       aarch64-unknown-linux-gnu standard library is installed, else x86_64;
#                       deploy with the same value: sam deploy --parameter-overrides Architecture=…)
#   KASSA_BUILD_DIR     where sam writes the artifacts (default $KASSA_STATE_DIR/sam-build,
#                       .kassa/sam-build; make replay uses its own)
#   SAM_BUILD_MODE=debug  sam's debug build (cargo lambda build without --release), for a
#                       quicker local `make replay`; its binaries are unoptimised, so no
#                       sizes are checked
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_venv
export PATH=$VENV/bin:$PATH SAM_CLI_TELEMETRY=0
if [ -z "${ARCH:-}" ]; then
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then ARCH=arm64; else ARCH=x86_64; fi
fi
[ "$ARCH" = arm64 ] && { rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
  die "ARCH=arm64 needs: rustup target add aarch64-unknown-linux-gnu"; }
build_dir=${KASSA_BUILD_DIR:-$STATE_DIR/sam-build}

lambda_release_profile
say "fetching the locked crates (the build itself runs offline)"
cargo fetch --locked -q
say "sam build ($ARCH) into $build_dir"
# zig links for Lambda's glibc, so the mold flags of .cargo/config.toml are left out here;
# aws-lc-sys needs no jitter entropy source on Lambda.
CARGO_NET_OFFLINE=true \
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="" \
  AWS_LC_SYS_NO_JITTER_ENTROPY=1 \
  sam build --beta-features --template-file template.yaml --build-dir "$build_dir" \
  --parameter-overrides "Architecture=$ARCH"

# One bootstrap per function of the template, each an ELF executable.
functions=$(grep -c 'BuildMethod: rust-cargolambda' template.yaml)
built=0
for binary in "$build_dir"/*/bootstrap; do
  [ -x "$binary" ] && [ "$(head -c 4 "$binary" | od -An -c | tr -d ' ')" = 177ELF ] ||
    die "$binary is not an executable ELF binary"
  built=$((built + 1))
done
[ "$built" -eq "$functions" ] || die "sam build made $built bootstraps for the template's $functions functions"
if [ "${SAM_BUILD_MODE:-}" = debug ]; then
  say "sam build (debug) made a bootstrap for each of the $functions functions; sizes: make package"
  exit 0
fi

# Each bootstrap is already stripped (profile.release strip = "symbols").
printf '| function | binary | within 10 MB |\n|---|---|---|\n'
over=0
for binary in "$build_dir"/*/bootstrap; do
  name=$(basename "$(dirname "$binary")")
  bytes=$(stat -c %s "$binary")
  ok=yes
  if [ "$bytes" -gt 10000000 ]; then ok=NO; over=$((over + 1)); fi
  awk -v name="$name" -v bytes="$bytes" -v ok="$ok" 'BEGIN { printf "| %s | %.1f MB | %s |\n", name, bytes / 1e6, ok }'
done
[ "$over" -eq 0 ] || die "$over function(s) over the 10 MB budget (README, Deploy: make package)"
say "built: deploy with sam deploy --template-file $build_dir/template.yaml --parameter-overrides Architecture=$ARCH … (README, Deploy)"
