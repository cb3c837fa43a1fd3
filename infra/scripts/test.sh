#!/usr/bin/env bash
# make test: the one test command. Formatting, lints, every test against the real
# services (each test gets its own database from #[sqlx::test]), and the SAM template lint.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_services
ensure_aws_emulator
ensure_venv
ensure_node_deps   # the end-to-end auth test runs the Zitadel stand-in
# #[sqlx::test] creates one database per test from this server and drops it afterwards.
ensure_database kassa_test
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kassa_test

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "the release link of kassa places the functions of infra/layout/kassa.order first (lld)"
python3 -B infra/layout/test_link.py
say "cargo test (Valkey at $VALKEY_URL)"
cargo test --workspace --locked
say "schemathesis against the running management API"
infra/scripts/schemathesis.sh
say "make package (sam build of every function for release, each within 10 MB), and every recorded Lambda event through cargo lambda watch (runtime emulator) and cargo lambda invoke against those bootstraps"
infra/scripts/replay.sh
say "admin UI: vue-tsc, Vitest, API client check, Playwright + axe in Chromium"
cargo build -q -p kassa-cli --bin kassa
infra/scripts/admin.sh test
say "Mollie simulator contract test (Mollie's Python client against infra/mollie-sim)"
"$VENV/bin/python" infra/mollie-sim/contract_test.py
say "cfn-lint and sam validate --lint"
"$VENV/bin/cfn-lint" template.yaml
SAM_CLI_TELEMETRY=0 "$VENV/bin/sam" validate --lint --region eu-west-1 --template-file template.yaml
say "docker-compose.yml: schema, interpolation and references (no Docker engine needed)"
"$VENV/bin/python" infra/scripts/compose_check.py --env-file infra/.env.example infra/docker-compose.yml
say "all checks passed"
