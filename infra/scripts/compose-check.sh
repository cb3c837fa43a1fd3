#!/usr/bin/env bash
# make compose-check: infra/docker-compose.yml checked without a Docker engine
# (infra/scripts/compose_check.py says what that covers).
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_venv
"$VENV/bin/python" infra/scripts/compose_check.py --env-file infra/.env.example infra/docker-compose.yml
