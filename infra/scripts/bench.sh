#!/usr/bin/env bash
# make bench: a benchmark, not a test. Builds release binaries, seeds a `bench` shop with
# 10,000 products x 3 variants, drives the storefront with wrk (32 connections) with the
# Valkey cache on and off — beside nginx serving the same bytes, and with the Postgres round
# trips per miss counted — measures Lambda-style cold starts of the storefront function and
# cart create / add line / get cart on each cart store (Valkey, DynamoDB on the emulator),
# shopper sign-in and cached reads during a sign-in storm,
# the outbox → RabbitMQ consumer latency and the order → "On order placed" latency, and
# prints one table.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_services
apt_install wrk nginx-light
say "building release binaries"
# aws-lc's jitter entropy source costs start-up time and is not needed on Lambda.
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release --locked \
  -p kassa-cli -p kassa-storefront -p kassa-management -p kassa-products -p kassa-pricing \
  -p kassa-workflows -p kassa-worker-engine -p kassa-outbox-relay -p kassa-carts -p kassa-customers \
  -p kassa-checkout -p kassa-mollie-webhook -p kassa-pages
bin=$TARGET_DIR/release
out=$STATE_DIR/bench
mkdir -p "$out"
# What the release link of kassa did with infra/layout/kassa.order (infra/layout/link.py writes
# it beside the linked file, of which target/release/kassa is a hard link).
linked=$(find "$bin/deps" -maxdepth 1 -samefile "$bin/kassa" -print -quit 2>/dev/null || true)
layout=${linked:+$linked.layout}

export LOG_FORMAT=json RUST_LOG=warn
seed_bench_database "$bin/kassa" kassa_bench "${BENCH_PRODUCTS:-10000}"
# A second shop with a tenth of the products: misses should cost the same in both.
"$bin/kassa" seed-bench --products 1000 --handle bench1k >/dev/null

port=${BENCH_PORT:-18280}
base=http://127.0.0.1:$port
pid=
nginx_pid=
reap() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
stop() { reap "$pid"; pid=; }
stop_nginx() { reap "$nginx_pid"; nginx_pid=; }
trap 'stop; stop_nginx' EXIT
serve() { # on|off [database URL]
  # wrk is one client address: the per-IP miss limit would answer it 429.
  STOREFRONT_CACHE=$1 STOREFRONT_MISS_LIMIT=0 KASSA_LISTEN=127.0.0.1:$port DATABASE_MAX_CONNECTIONS=8 \
    DATABASE_URL=${2:-$DATABASE_URL} "$bin/kassa" serve >"$out/serve-$1.log" 2>&1 &
  pid=$!
  wait_for_port "$port" "kassa serve" 30
  for path in /storefront/products /storefront/products/product-4242 "/storefront/products?attr%5Bcolor%5D=red" /storefront/pages/home; do
    curl -sf -o /dev/null -H 'X-Tenant-ID: bench' "$base$path"
  done
}

say "cache hits, and nginx serving the same bytes (the HTTP stack's limit on this machine), in turn"
rm -rf "$out/bodies" && mkdir -p "$out/bodies"
serve on
python3 infra/bench/bench.py capture "$base" "$out/bodies"
nginx_port=${BENCH_NGINX_PORT:-18281}
mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$nginx_port; root $out/bodies; }
}
CONF
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
wait_for_port "$nginx_port" nginx 10
python3 infra/bench/bench.py paired "$base" "$pid" "http://127.0.0.1:$nginx_port" "$nginx_pid" \
  "$out/cached.json" "$out/nginx.json" >/dev/null
stop
stop_nginx
say "load with the cache off (every read from Postgres)"
serve off
python3 infra/bench/bench.py "$base" "$pid" uncached "$out/uncached.json" >/dev/null
stop
say "Postgres round trips per miss (through a counting proxy)"
python3 infra/bench/pgproxy.py 15433 5432 15434 &
proxy=$!
wait_for_port 15433 "the counting proxy" 10
# Plain text so the proxy can tell the pool's release checks apart, and no outbox relay or
# workflow sweep polling beside the requests.
EVENT_BUS=off serve off "postgres://kassa_service@127.0.0.1:15433/kassa_bench?sslmode=disable"
python3 infra/bench/roundtrips.py "$base" http://127.0.0.1:15434/ "$out/roundtrips.json" \
  "list page 1=/storefront/products" "detail=/storefront/products/product-4242" \
  "page home, 2 product grids=/storefront/pages/home" \
  "collection page (demo shop)=/storefront/collections/featured@demo" \
  "list of a collection (demo shop)=/storefront/products?collection=featured@demo" >/dev/null
stop
kill "$proxy"

say "carts on each store: cart create, add line, get cart"
ensure_aws_emulator
# Three variants with untracked stock, so adding lines never runs out.
variants=$(psql "$DATABASE_OWNER_URL" -Atc \
  "update product_variants set stock = null where sku like 'PRODUCT-4242-%' returning id" | grep -v '^UPDATE' | paste -sd, -)
CART_STORE=dynamodb "$bin/kassa" migrate >/dev/null
cart_rows=()
for store in valkey dynamodb; do
  CART_STORE=$store serve on
  python3 infra/bench/carts.py "$base" "$store" "$variants" "$out/carts-$store.json" >/dev/null
  stop
  cart_rows+=("rows:$store=$out/carts-$store.json")
done

say "shoppers: sign-in, a signed-in cached read, cached reads during a sign-in storm"
# Failed sign-ins of earlier runs would still count against the bench's address.
valkey-cli -u "$VALKEY_URL" --scan --pattern 'kassa:rl:signin:*' | xargs -r valkey-cli -u "$VALKEY_URL" del >/dev/null
serve on
python3 infra/bench/shoppers.py "$base" 32 bench-shopper-pass "$out/shoppers.json" >/dev/null
stop
cart_rows+=("rows:shoppers=$out/shoppers.json")

say "checkout -> Mollie (simulator) -> webhook paid -> order placed"
ensure_mollie_sim
# The demo shop pays with the simulator's key; its webhooks come back to this server.
DEMO_MOLLIE_KEY=$MOLLIE_SIM_KEY "$bin/kassa" seed-demo >/dev/null
export PUBLIC_BASE_URL=$base
serve on
python3 infra/bench/checkout.py "$base" "${MOLLIE_API_URL%/v2}" "${BENCH_CHECKOUTS:-100}" "$out/checkout.json" >/dev/null
stop
cart_rows+=("rows:checkout=$out/checkout.json")

say "cold starts of the storefront function"
# Inside Lambda the signing and encryption keys and the media URL have no default: give the bench's own.
cold=$(python3 infra/bench/coldstart.py "$bin/storefront" events/storefront-tenant.json 20 \
  "DATABASE_URL=$DATABASE_URL" "VALKEY_URL=$VALKEY_URL" LOG_FORMAT=json \
  "CUSTOMER_TOKEN_KEYS=bench=bench-only-customer-token-key-0123456789" \
  "PAYMENT_KEY_ENCRYPTION_KEYS=bench=$(head -c 32 /dev/zero | base64)" \
  "MEDIA_BASE_URL=http://127.0.0.1:4566/kassa-media")

say "outbox commit -> consumer done on RabbitMQ"
relay=$(DATABASE_URL=$DATABASE_OWNER_URL "$bin/kassa" bench-relay --events 1000)
say "outbox commit -> consumer done, published after commit to SQS (the AWS emulator), no relay"
relay_sqs=$(DATABASE_URL=$DATABASE_OWNER_URL "$bin/kassa" bench-relay --bus sqs --events 1000)
say "order commit -> On order placed finished (relay, RabbitMQ, worker, SMTP sink)"
ensure_smtp_sink
# lapin logs the worker's queue probe (a passive declare) as an error: not one.
workflows=$(DATABASE_URL=$DATABASE_OWNER_URL RUST_LOG=warn,lapin=off "$bin/kassa" bench-workflows --orders 200)
say "order commit -> On order placed finished (published after commit to SQS on the emulator, worker; no relay)"
workflows_sqs=$(DATABASE_URL=$DATABASE_OWNER_URL "$bin/kassa" bench-workflows --bus sqs --orders 200)

sizes=()
for f in storefront management products pricing workflows carts customers checkout mollie-webhook pages worker-engine outbox-relay; do
  sizes+=("$f=$(stat -c %s "$bin/$f")")
done
echo
python3 infra/bench/report.py "$out/cached.json" "$out/uncached.json" "$out/nginx.json" "$out/roundtrips.json" "$cold" "$relay" "$workflows" "relay_sqs=$relay_sqs" "workflows_sqs=$workflows_sqs" "layout=$layout" "${cart_rows[@]}" "${sizes[@]}" | tee "$out/report.txt"
