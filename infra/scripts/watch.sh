#!/usr/bin/env bash
# make watch: every function under its API paths through `cargo lambda watch`, rebuilt on
# change — the Lambda runtime emulated, one process per function.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_system_packages
ensure_postgres
ensure_valkey
ensure_venv
export DATABASE_OWNER_URL=${DATABASE_OWNER_URL:-postgres://postgres@127.0.0.1:5432/kassa}
export DATABASE_URL=${DATABASE_URL:-postgres://kassa_service@127.0.0.1:5432/kassa}
port=${WATCH_PORT:-9100}   # 9000, cargo-lambda's default, is taken on these machines
say "cargo lambda watch on http://127.0.0.1:$port (try: curl -H 'X-Tenant-ID: demo' http://127.0.0.1:$port/storefront/tenant)"
PATH="$VENV/bin:$PATH" exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port"
