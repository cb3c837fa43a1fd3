#!/usr/bin/env bash
# Part of make test: both OpenAPI documents (/management/openapi.json, /storefront/openapi.json)
# must be valid OpenAPI 3.1; schemathesis generates requests from them and sends them (with an
# owner's token for the management API) to a real `kassa serve` (its own database, the demo
# data and the Zitadel stand-in). It fails on any 5xx and on any response that does not fit
# the documented schema.
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
export DATABASE_OWNER_URL=postgres://postgres@127.0.0.1:5432/$DB
export DATABASE_URL=postgres://kassa_service@127.0.0.1:5432/$DB
export ZITADEL_ISSUER=http://127.0.0.1:$STANDIN_PORT
# One client address sends everything: the per-IP miss limit stays off here.
export KASSA_LISTEN=127.0.0.1:$PORT LOG_FORMAT=json RUST_LOG=warn STOREFRONT_MISS_LIMIT=0
# Its wrong passwords would otherwise lock sign-in from 127.0.0.1 for 15 minutes (make dev too).
export SIGN_IN_IP_LIMIT=0
# PUT /management/payment-settings checks keys with Mollie: the simulator, never api.mollie.com
# (unreachable here, which would be a 503 and fail the no-5xx gate).
ensure_mollie_sim
# Mollie's webhooks (from the simulator) come back to this server.
export PUBLIC_BASE_URL=http://127.0.0.1:$PORT

(cd "$STANDIN_DIR" && PORT=$STANDIN_PORT exec node_modules/.bin/node server.mjs >"$LOG/standin.log" 2>&1) &
pids+=($!)
cargo build -q -p kassa-cli --bin kassa
kassa=$TARGET_DIR/debug/kassa
"$kassa" migrate >/dev/null
DEMO_MOLLIE_KEY=$MOLLIE_SIM_KEY "$kassa" seed-demo >/dev/null
"$kassa" serve >"$LOG/kassa.log" 2>&1 &
pids+=($!)
wait_for_port "$PORT" "kassa serve" 30
wait_for_port "$STANDIN_PORT" "the Zitadel stand-in" 20
token=$(cd "$STANDIN_DIR" && node_modules/.bin/node token.mjs owner@demo "$ZITADEL_ISSUER" | tail -n 1)

say "make checkout-demo, paying: cart → checkout → the simulator's checkout page → webhook → placed"
KASSA_URL=http://127.0.0.1:$PORT python3 infra/scripts/checkout_demo.py --pay paid >"$LOG/checkout-demo.txt" ||
  { cat "$LOG/checkout-demo.txt"; die "the checkout walkthrough failed"; }
tail -n 3 "$LOG/checkout-demo.txt"
say "the OpenAPI documents are valid OpenAPI 3.1"
"$VENV/bin/python" infra/scripts/validate_openapi.py \
  "http://127.0.0.1:$PORT/management/openapi.json" "http://127.0.0.1:$PORT/storefront/openapi.json"
say "schemathesis against http://127.0.0.1:$PORT/storefront/openapi.json ($EXAMPLES examples per operation)"
"$VENV/bin/st" run "http://127.0.0.1:$PORT/storefront/openapi.json" \
  --url "http://127.0.0.1:$PORT" -H "X-Tenant-ID: demo" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$EXAMPLES" --seed 20261125 --no-color \
  --report junit --report-junit-path "$LOG/junit-storefront.xml" | tee "$LOG/output-storefront.txt"
say "schemathesis against http://127.0.0.1:$PORT/management/openapi.json ($EXAMPLES examples per operation)"
# Two gates: (1) no 5xx and responses as documented, failing the run; (2) every check
# schemathesis has (`--checks all`), reported, failing the run only on a 5xx. The other
# findings of (2) (requests the document allows but the server refuses, and the like) are
# listed for the OpenAPI issue to close.
"$VENV/bin/st" run "http://127.0.0.1:$PORT/management/openapi.json" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $token" -H "X-Tenant-ID: demo" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$EXAMPLES" --seed 20261125 --no-color \
  --report junit --report-junit-path "$LOG/junit.xml" | tee "$LOG/output.txt"
say "schemathesis --checks all (gate: no 5xx)"
"$VENV/bin/st" run "http://127.0.0.1:$PORT/management/openapi.json" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $token" -H "X-Tenant-ID: demo" \
  --checks all \
  --max-examples "$EXAMPLES" --seed 20261129 --no-color \
  --report junit --report-junit-path "$LOG/junit-all.xml" >"$LOG/output-all.txt" 2>&1 || true
"$VENV/bin/python" infra/scripts/no_server_errors.py "$LOG/junit-all.xml" "$LOG/output-all.txt"
say "an anonymous caller against the storefront: random query strings and headers"
"$VENV/bin/python" infra/scripts/storefront_fuzz.py "http://127.0.0.1:$PORT" "${STOREFRONT_FUZZ_EXAMPLES:-1500}"
