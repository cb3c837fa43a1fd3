#!/usr/bin/env bash
# make layout: writes infra/layout/kassa.order, the functions that `kassa serve` runs, hottest
# first, which the release link of `kassa` places at the start of its code (infra/layout/link.py).
# Builds `kassa` with its symbols (profile.layout), seeds a small bench shop, and runs the
# server under callgrind twice — cache on (misses, then hits) and cache off (every read from
# Postgres) — while wrk reads each storefront case of `make bench`. Run it again after large
# changes: `make bench` prints how many of the file's functions the release link found.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_services
apt_install valgrind wrk
say "building kassa with its symbols (profile.layout)"
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --profile layout --locked -p kassa-cli --bin kassa
bin=$TARGET_DIR/layout/kassa
out=$STATE_DIR/layout
rm -rf "$out" && mkdir -p "$out"

export LOG_FORMAT=json RUST_LOG=warn
seed_bench_database "$bin" kassa_layout 1000

port=${LAYOUT_PORT:-18290}
base=http://127.0.0.1:$port
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT
for cache in on off; do
  say "kassa serve under callgrind, cache $cache"
  STOREFRONT_CACHE=$cache STOREFRONT_MISS_LIMIT=0 KASSA_LISTEN=127.0.0.1:$port DATABASE_MAX_CONNECTIONS=8 \
    valgrind --tool=callgrind --compress-strings=no --compress-pos=no --demangle=no \
    --callgrind-out-file="$out/callgrind.$cache" "$bin" serve >"$out/serve-$cache.log" 2>&1 &
  pid=$!
  wait_for_port "$port" "kassa serve under callgrind" 300
  # The cases of make bench (infra/bench/bench.py), 8 connections for a few seconds each.
  for path in /health /storefront/products /storefront/products/product-424 \
    "/storefront/products?attr%5Bcolor%5D=red" /storefront/pages/home; do
    wrk -t2 -c8 -d4s -H 'X-Tenant-ID: bench' "$base$path" >/dev/null
  done
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  [ -s "$out/callgrind.$cache" ] || die "callgrind wrote no profile (see $out/serve-$cache.log)"
done
python3 -B infra/layout/profile.py "$bin" infra/layout/kassa.order \
  "kassa serve at $(git rev-parse --short HEAD): start-up, then make bench's storefront reads, cache on and off" \
  "$out"/callgrind.on "$out"/callgrind.off
