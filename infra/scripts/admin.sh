#!/usr/bin/env bash
# The admin UI (admin-nuxt/): build, serve, test, and measure it.
#
#   infra/scripts/admin.sh build    # npm ci + nuxt build; skipped when nothing changed since the last build
#   infra/scripts/admin.sh serve    # the built admin on http://127.0.0.1:3000 (ADMIN_PORT), API at NUXT_PUBLIC_API_BASE
#   infra/scripts/admin.sh dev      # the Nuxt dev server (hot reload) on the same address instead
#   infra/scripts/admin.sh test     # Vitest, the API client check, then Playwright in Debian's Chromium against
#                                   # a real kassa serve (own database and port) and the Zitadel stand-in
#   infra/scripts/admin.sh budget   # gzip KB of JavaScript the products screen loads first (target ≤ 300)
#   infra/scripts/admin.sh api      # regenerate the typed API client from a running Kassa (KASSA_API_URL,
#                                   # else one started here like the tests')
#   infra/scripts/admin.sh api-check  # fail when the committed client differs from what Kassa serves
#
# The Kassa binary is ${CARGO_TARGET_DIR:-target}/debug/kassa (KASSA_BIN to change); this
# script never runs cargo: build it first (`cargo build -p kassa-cli`).
set -euo pipefail
. "$(dirname "$0")/common.sh"

ADMIN_DIR=$ROOT/admin-nuxt
ADMIN_PORT=${ADMIN_PORT:-3000}
E2E_ADMIN_PORT=${ADMIN_E2E_PORT:-13000}
E2E_API_PORT=${ADMIN_E2E_API_PORT:-18090}
E2E_STANDIN_PORT=${ADMIN_E2E_STANDIN_PORT:-19111}
E2E_DB=${ADMIN_E2E_DB:-kassa_admin_e2e}
KASSA_BIN=${KASSA_BIN:-$TARGET_DIR/debug/kassa}
LOG=$STATE_DIR/admin
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NUXT_TELEMETRY_DISABLED=1

# Node 20.19+ for Nuxt 4.4. Where the system's is older (Debian 12 ships 18), the admin runs
# on the Node 22 that the Zitadel stand-in's npm packages bring.
ensure_node() {
  command -v npm >/dev/null || apt_install nodejs npm
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    ensure_node_deps
    export PATH=$STANDIN_DIR/node_modules/.bin:$PATH
    say "using the stand-in's Node $(node --version) (the system's is too old for Nuxt 4)"
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# npm ci when package-lock.json changed since the last install.
ensure_admin_deps() {
  ensure_node
  if [ ! -f "$ADMIN_DIR/node_modules/.package-lock.json" ] ||
    [ "$ADMIN_DIR/package-lock.json" -nt "$ADMIN_DIR/node_modules/.package-lock.json" ]; then
    say "installing the admin's npm packages"
    (cd "$ADMIN_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# A fingerprint of everything the build reads.
source_stamp() {
  (cd "$ADMIN_DIR" && find app layers nuxt.config.ts package-lock.json tsconfig.json -type f -print0 | sort -z |
    xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

cmd_build() {
  ensure_admin_deps
  local stamp
  stamp=$(source_stamp)
  if [ -f "$ADMIN_DIR/.output/server/index.mjs" ] && [ "$(cat "$ADMIN_DIR/.output/.kassa-stamp" 2>/dev/null)" = "$stamp" ]; then
    say "the admin is built and up to date (admin-nuxt/.output)"
    return 0
  fi
  mkdir -p "$STATE_DIR"
  say "building the admin (nuxt build)"
  (cd "$ADMIN_DIR" && npx nuxt build >"$STATE_DIR/admin-build.log" 2>&1) ||
    { tail -n 40 "$STATE_DIR/admin-build.log" >&2; die "nuxt build failed (log: $STATE_DIR/admin-build.log)"; }
  echo "$stamp" >"$ADMIN_DIR/.output/.kassa-stamp"
}

cmd_serve() {
  [ -f "$ADMIN_DIR/.output/server/index.mjs" ] || cmd_build
  port_open "$ADMIN_PORT" && die "port $ADMIN_PORT is taken (an admin already running? set ADMIN_PORT)"
  say "the admin on http://127.0.0.1:$ADMIN_PORT (API ${NUXT_PUBLIC_API_BASE:-http://127.0.0.1:8080}, Zitadel ${NUXT_PUBLIC_ZITADEL_ISSUER:-${ZITADEL_ISSUER:-http://127.0.0.1:9011}})"
  NUXT_PUBLIC_ZITADEL_ISSUER=${NUXT_PUBLIC_ZITADEL_ISSUER:-${ZITADEL_ISSUER:-http://127.0.0.1:9011}} \
    HOST=127.0.0.1 PORT=$ADMIN_PORT exec node "$ADMIN_DIR/.output/server/index.mjs"
}

cmd_dev() {
  ensure_admin_deps
  port_open "$ADMIN_PORT" && die "port $ADMIN_PORT is taken (an admin already running? set ADMIN_PORT)"
  cd "$ADMIN_DIR"
  NUXT_PUBLIC_ZITADEL_ISSUER=${NUXT_PUBLIC_ZITADEL_ISSUER:-${ZITADEL_ISSUER:-http://127.0.0.1:9011}} \
    exec node_modules/.bin/nuxt dev --host 127.0.0.1 --port "$ADMIN_PORT"
}

pids=()
vhost=
stop_started() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$vhost" ]; then as_root rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 || true; fi
}

# A Kassa of the tests' own: database $E2E_DB (new every run), the demo shops, port
# $E2E_API_PORT, and its own Zitadel stand-in on $E2E_STANDIN_PORT.
start_backend() {
  [ -x "$KASSA_BIN" ] || die "no Kassa binary at $KASSA_BIN: run 'cargo build -p kassa-cli' first (or set KASSA_BIN)"
  ensure_services
  ensure_node_deps
  # Saving payment settings checks the key with Mollie: the simulator (exports MOLLIE_API_URL, MOLLIE_SIM_KEY).
  ensure_mollie_sim
  mkdir -p "$LOG"
  trap stop_started EXIT
  port_open "$E2E_API_PORT" && die "port $E2E_API_PORT is taken (set ADMIN_E2E_API_PORT)"
  port_open "$E2E_STANDIN_PORT" && die "port $E2E_STANDIN_PORT is taken (set ADMIN_E2E_STANDIN_PORT)"
  # Access tokens of 75 s: the tests see the admin refresh them silently (60 s before expiry).
  (cd "$STANDIN_DIR" && PORT=$E2E_STANDIN_PORT ACCESS_TOKEN_TTL=${ADMIN_E2E_TOKEN_TTL:-75} exec node_modules/.bin/node server.mjs >"$LOG/standin.log" 2>&1) &
  pids+=($!)
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $E2E_DB with (force)"
  export DATABASE_OWNER_URL=postgres://postgres@127.0.0.1:5432/$E2E_DB
  export DATABASE_URL=postgres://kassa_service@127.0.0.1:5432/$E2E_DB
  export ZITADEL_ISSUER=http://127.0.0.1:$E2E_STANDIN_PORT
  export KASSA_LISTEN=127.0.0.1:$E2E_API_PORT LOG_FORMAT=json RUST_LOG=${RUST_LOG:-warn}
  export ADMIN_ORIGINS=http://127.0.0.1:$E2E_ADMIN_PORT
  # Workflow runs, for the runs screen: events go through a RabbitMQ virtual host of the
  # tests' own (new every run), so make dev's worker and this one never see each other's
  # events; mail goes to a closed port, so "send email" fails fast (100 ms backoff) and the
  # run waits for someone to retry it.
  if command -v rabbitmqctl >/dev/null; then
    as_root rabbitmqctl -q delete_vhost "$E2E_DB" >/dev/null 2>&1 || true
    as_root rabbitmqctl -q add_vhost "$E2E_DB" >/dev/null
    as_root rabbitmqctl -q set_permissions -p "$E2E_DB" guest '.*' '.*' '.*' >/dev/null
    vhost=$E2E_DB
    export EVENT_BUS=rabbitmq RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/$E2E_DB
    export SMTP_URL=smtp://127.0.0.1:9 WORKFLOW_RETRY_BASE_MS=100
  else
    die "rabbitmqctl is missing: the admin's e2e tests need RabbitMQ (make test's ensure_services installs it)"
  fi
  "$KASSA_BIN" migrate >"$LOG/migrate.log" 2>&1 || { cat "$LOG/migrate.log" >&2; die "kassa migrate failed"; }
  "$KASSA_BIN" seed-demo >"$LOG/seed.log" 2>&1 || { cat "$LOG/seed.log" >&2; die "kassa seed-demo failed"; }
  "$KASSA_BIN" serve >"$LOG/kassa.log" 2>&1 &
  pids+=($!)
  wait_for_port "$E2E_API_PORT" "kassa serve" 60
  wait_for_port "$E2E_STANDIN_PORT" "the Zitadel stand-in" 20
  export KASSA_API_URL=http://127.0.0.1:$E2E_API_PORT
}

cmd_api() {
  ensure_admin_deps
  if [ -z "${KASSA_API_URL:-}" ]; then start_backend; fi
  (cd "$ADMIN_DIR" && node scripts/generate-api.mjs --api "$KASSA_API_URL" "$@")
}

cmd_test() {
  ensure_admin_deps
  ensure_chromium
  say "admin type check (vue-tsc, strict) and unit tests (Vitest)"
  (cd "$ADMIN_DIR" && npx nuxt prepare >/dev/null 2>&1 && npx vue-tsc --noEmit -p .nuxt/tsconfig.app.json && npx vitest run)
  cmd_build
  start_backend
  say "the admin's API client matches the OpenAPI documents Kassa serves"
  (cd "$ADMIN_DIR" && node scripts/generate-api.mjs --check --api "$KASSA_API_URL")
  port_open "$E2E_ADMIN_PORT" && die "port $E2E_ADMIN_PORT is taken (set ADMIN_E2E_PORT)"
  NUXT_PUBLIC_API_BASE=$KASSA_API_URL NUXT_PUBLIC_ZITADEL_ISSUER=$ZITADEL_ISSUER \
    HOST=127.0.0.1 PORT=$E2E_ADMIN_PORT node "$ADMIN_DIR/.output/server/index.mjs" >"$LOG/admin.log" 2>&1 &
  pids+=($!)
  wait_for_port "$E2E_ADMIN_PORT" "the admin" 20
  say "admin end-to-end tests (Playwright, /usr/bin/chromium)"
  (cd "$ADMIN_DIR" && ADMIN_URL=http://127.0.0.1:$E2E_ADMIN_PORT API_URL=$KASSA_API_URL ISSUER=$ZITADEL_ISSUER \
    npx playwright test "$@")
}

cmd_budget() {
  ensure_admin_deps
  ensure_chromium
  cmd_build
  # The products screen needs a signed-in user and the API: the same stack as the tests.
  start_backend
  port_open "$E2E_ADMIN_PORT" && die "port $E2E_ADMIN_PORT is taken (set ADMIN_E2E_PORT)"
  NUXT_PUBLIC_API_BASE=$KASSA_API_URL NUXT_PUBLIC_ZITADEL_ISSUER=$ZITADEL_ISSUER \
    HOST=127.0.0.1 PORT=$E2E_ADMIN_PORT node "$ADMIN_DIR/.output/server/index.mjs" >"$LOG/admin-budget.log" 2>&1 &
  pids+=($!)
  wait_for_port "$E2E_ADMIN_PORT" "the admin" 20
  (cd "$ADMIN_DIR" && node scripts/budget.mjs "http://127.0.0.1:$E2E_ADMIN_PORT/products" "${ADMIN_JS_BUDGET_KB:-300}")
}

case "${1:-}" in
  build) cmd_build ;;
  serve) cmd_serve ;;
  dev) cmd_dev ;;
  test) shift; cmd_test "$@" ;;
  budget) cmd_budget ;;
  api) shift; cmd_api "$@" ;;
  api-check) shift; cmd_api --check "$@" ;;
  *) echo "usage: $0 build|serve|dev|test|budget|api|api-check" >&2; exit 2 ;;
esac
