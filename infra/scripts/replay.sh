#!/usr/bin/env bash
# make replay (make test runs it): make package — `sam build` of every function for release
# (cargo lambda, zig linking for Lambda's glibc, the Lambda profile, each within the 10 MB
# budget) — then every recorded event in events/ through cargo lambda's runtime emulator and
# `cargo lambda invoke`, against those bootstraps on a fresh database: the binaries make
# deploy ships, in the Lambda runtime loop they run in the cloud (lambda_replay.py).
# SAM_BUILD_MODE=debug replays sam's debug build instead (quicker; no size check).
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_platform_services
db=kassa_replay
psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)"
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $db"
export DATABASE_OWNER_URL=postgres://postgres@127.0.0.1:5432/$db
export DATABASE_URL=postgres://kassa_service@127.0.0.1:5432/$db
# What the template sets inside Lambda and make dev defaults: keys made for this run only.
CUSTOMER_TOKEN_KEYS=replay=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
PAYMENT_KEY_ENCRYPTION_KEYS=replay=$(python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')
export CUSTOMER_TOKEN_KEYS PAYMENT_KEY_ENCRYPTION_KEYS MEDIA_BASE_URL=$AWS_ENDPOINT_URL/kassa-media/
# The bootstraps run here, so they are built for this machine's architecture, and into a
# directory of their own: make deploy ships $STATE_DIR/sam-build, which make package may have
# built for another one (ARCH=arm64 on an x86_64 machine).
case $(uname -m) in aarch64 | arm64) arch=arm64 ;; *) arch=x86_64 ;; esac
build_dir=$STATE_DIR/sam-build-replay-${SAM_BUILD_MODE:-release}
ARCH=$arch KASSA_BUILD_DIR=$build_dir infra/scripts/package.sh
STAFF_TOKEN=$(infra/scripts/token.sh owner@demo | tail -n 1)
export STAFF_TOKEN
logs=$STATE_DIR/replay
mkdir -p "$logs"
say "every events/ payload through cargo lambda watch --only-lambda-apis and cargo lambda invoke"
"$VENV/bin/python" infra/scripts/lambda_replay.py "$VENV/bin/cargo-lambda" "$build_dir" \
  "${REPLAY_PORT:-9102}" "$logs"
