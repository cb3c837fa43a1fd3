#!/usr/bin/env bash
# make deploy: sam deploy of what `make package` built (README, "Deploy"). The first run is
# guided and saves the answers to samconfig.toml; later runs reuse them.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_venv
export PATH=$VENV/bin:$PATH SAM_CLI_TELEMETRY=0
build_dir=${KASSA_BUILD_DIR:-$STATE_DIR/sam-build}
[ -f "$build_dir/template.yaml" ] || die "nothing built in $build_dir: run make package first"
if [ -f samconfig.toml ]; then
  sam deploy --template-file "$build_dir/template.yaml" --capabilities CAPABILITY_IAM --resolve-s3 "$@"
else
  say "first deploy: sam deploy --guided (answers saved to samconfig.toml)"
  sam deploy --guided --template-file "$build_dir/template.yaml" --capabilities CAPABILITY_IAM --resolve-s3 "$@"
fi
