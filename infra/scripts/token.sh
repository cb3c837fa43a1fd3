#!/usr/bin/env bash
# make -s token USER=editor@demo: an access token from the Zitadel stand-in that `make dev`
# runs, printed as the last line. It signs in through the real authorization code + PKCE flow.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ensure_node_deps
cd "$STANDIN_DIR"
exec node_modules/.bin/node token.mjs "${1:-}" "${ZITADEL_ISSUER:-http://127.0.0.1:$ZITADEL_STANDIN_PORT}"
