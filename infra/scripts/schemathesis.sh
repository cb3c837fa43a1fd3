#!/usr/bin/env bash
# Part of make test: schemathesis generates requests from /management/openapi.json and sends
# them, with an owner's token, to a real `kassa serve` (its own database, the demo data and
# the Zitadel stand-in). It fails on any 5xx and on any response that does not fit the
# documented schema.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

PORT=${SCHEMATHESIS_PORT:-18080}
STANDIN_PORT=${SCHEMATHESIS_STANDIN_PORT:-19011}
DB=kassa_schemathesis
EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-30}
LOG="$STATE_DIR/schemathesis"
mkdir -p "$LOG"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $DB with (force)"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export ZITADEL_ISSUER=http://127.0.0.1:$STANDIN_PORT
export KASSA_LISTEN=127.0.0.1:$PORT LOG_FORMAT=json RUST_LOG=warn

(cd "$STANDIN_DIR" && PORT=$STANDIN_PORT exec node_modules/.bin/node server.mjs >"$LOG/standin.log" 2>&1) &
pids+=($!)
cargo build -q -p kassa-cli --bin kassa
kassa=$TARGET_DIR/debug/kassa
"$kassa" migrate >/dev/null
"$kassa" seed-demo >/dev/null
"$kassa" serve >"$LOG/kassa.log" 2>&1 &
pids+=($!)
wait_for_port "$PORT" "kassa serve" 30
wait_for_port "$STANDIN_PORT" "the Zitadel stand-in" 20
token=$(cd "$STANDIN_DIR" && node_modules/.bin/node token.mjs owner@demo "$ZITADEL_ISSUER" | tail -n 1)

say "schemathesis against http://127.0.0.1:$PORT/management/openapi.json ($EXAMPLES examples per operation)"
"$VENV/bin/st" run "http://127.0.0.1:$PORT/management/openapi.json" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $token" -H "X-Tenant-ID: demo" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$EXAMPLES" --seed 20261125 --no-color \
  --report junit --report-junit-path "$LOG/junit.xml" | tee "$LOG/output.txt"
