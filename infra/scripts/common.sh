# Shared by `make dev`, `make test`, `make watch` and .ci/run (sourced, not run): installs
# what is missing and makes sure the services answer. Every step is idempotent.
# Works on Debian 12 (bookworm) and similar Debian/Ubuntu machines.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR=${KASSA_STATE_DIR:-$ROOT/.kassa}
VENV=${KASSA_VENV:-$ROOT/.venv}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# Valkey for Kassa when the server on 6379 is not Valkey (e.g. Redis on this machine).
KASSA_VALKEY_PORT=${KASSA_VALKEY_PORT:-6380}
STANDIN_DIR=$ROOT/infra/zitadel-standin
ZITADEL_STANDIN_PORT=${ZITADEL_STANDIN_PORT:-9011}
PYTHON_TOOLS=(cfn-lint==1.58.0 aws-sam-cli==1.170.0 cargo-lambda==1.9.2 schemathesis==4.32.5 openapi-spec-validator==0.9.0 'moto[server]==5.2.5' aiosmtpd==1.4.6 mollie-api-python==4.0.0)

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port what seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do
    port_open "$1" && return 0
    sleep 0.25
  done
  die "$2 does not answer on 127.0.0.1:$1"
}

apt_updated=
apt_install() { # [-t release] package...
  local release=() missing=() p
  if [ "$1" = -t ]; then release=(-t "$2"); shift 2; fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "please install: ${missing[*]}"
  say "installing ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${release[@]}" "${missing[@]}" >/dev/null
}

ensure_system_packages() {
  # mold: the linker .cargo/config.toml uses; it links several times faster than ld. lld: the
  # release link of `kassa`, which orders its functions (infra/layout/link.py).
  apt_install mold lld
  # Valkey 8: bookworm has it only in backports; newer releases have it in main.
  if ! command -v valkey-server >/dev/null; then
    if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
      if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' |
          as_root tee /etc/apt/sources.list.d/kassa-backports.list >/dev/null
        apt_updated=
      fi
      apt_install -t bookworm-backports valkey-server
    else
      apt_install valkey-server
    fi
  fi
}

ensure_postgres() {
  port_open 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  say "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port 5432 PostgreSQL 30
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null; then apt_install rabbitmq-server; fi
  say "starting RabbitMQ"
  as_root rabbitmq-server -detached
  wait_for_port 5672 RabbitMQ 90
}

# Exports VALKEY_URL: the Valkey on 6379 if that is one, otherwise Kassa's own Valkey 8 on
# KASSA_VALKEY_PORT (started here, keeping nothing on disk).
ensure_valkey() {
  if [ -n "${VALKEY_URL:-}" ]; then return 0; fi
  if valkey-cli -p 6379 info server 2>/dev/null | grep -q '^valkey_version:'; then
    export VALKEY_URL=redis://127.0.0.1:6379
    return 0
  fi
  if ! valkey-cli -p "$KASSA_VALKEY_PORT" info server 2>/dev/null | grep -q '^valkey_version:'; then
    port_open "$KASSA_VALKEY_PORT" && die "port $KASSA_VALKEY_PORT is taken by something that is not Valkey; set KASSA_VALKEY_PORT"
    say "starting Valkey on 127.0.0.1:$KASSA_VALKEY_PORT"
    mkdir -p "$STATE_DIR/valkey"
    valkey-server --bind 127.0.0.1 --port "$KASSA_VALKEY_PORT" --save '' --appendonly no \
      --daemonize yes --dir "$STATE_DIR/valkey" --logfile "$STATE_DIR/valkey/valkey.log"
    wait_for_port "$KASSA_VALKEY_PORT" Valkey 10
  fi
  export VALKEY_URL=redis://127.0.0.1:$KASSA_VALKEY_PORT
}

# The Python tools (cfn-lint, sam, cargo-lambda), pinned, in a project virtualenv.
ensure_venv() {
  local missing=() tool frozen
  frozen=$("$VENV/bin/pip" freeze 2>/dev/null || true)
  for tool in "${PYTHON_TOOLS[@]}"; do
    grep -qxF "${tool/\[*\]/}" <<<"$frozen" || missing+=("$tool")  # pip freeze drops [extras]
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  say "installing ${missing[*]} into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
}

# A benchmark's database (make bench, make layout), exported as DATABASE_URL (the service role)
# and DATABASE_OWNER_URL: `kassa` creates and migrates it and seeds the demo shops and a shop
# `bench` of the given number of products.
seed_bench_database() { # kassa-binary database products
  export DATABASE_OWNER_URL=postgres://postgres@127.0.0.1:5432/$2
  export DATABASE_URL=postgres://kassa_service@127.0.0.1:5432/$2
  say "seeding the bench shop ($3 products) in $2"
  "$1" migrate >/dev/null
  "$1" seed-demo >/dev/null
  "$1" seed-bench --products "$3"
}

ensure_database() { # name
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$1'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -d postgres -qc "create database \"$1\""
}

# What every command needs running: Postgres, RabbitMQ and Valkey (VALKEY_URL exported).
ensure_services() {
  ensure_system_packages
  ensure_postgres
  ensure_rabbitmq
  ensure_valkey
}

# The Zitadel stand-in's npm packages (oidc-provider, and the Node 22 it runs on).
ensure_node_deps() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x "$STANDIN_DIR/node_modules/.bin/node" ] ||
    [ "$STANDIN_DIR/package-lock.json" -nt "$STANDIN_DIR/node_modules/.package-lock.json" ]; then
    say "installing the Zitadel stand-in's npm packages"
    (cd "$STANDIN_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# Starts the Zitadel stand-in on ZITADEL_STANDIN_PORT unless it already answers there, and
# points Kassa at it.
ensure_zitadel_standin() {
  ensure_node_deps
  if ! port_open "$ZITADEL_STANDIN_PORT"; then
    say "starting the Zitadel stand-in on http://127.0.0.1:$ZITADEL_STANDIN_PORT"
    mkdir -p "$STATE_DIR"
    (cd "$STANDIN_DIR" && PORT=$ZITADEL_STANDIN_PORT nohup node_modules/.bin/node server.mjs \
      >"$STATE_DIR/zitadel-standin.log" 2>&1 &)
    wait_for_port "$ZITADEL_STANDIN_PORT" "the Zitadel stand-in" 20
  fi
  export ZITADEL_ISSUER=http://127.0.0.1:$ZITADEL_STANDIN_PORT
}

# An AWS emulator for SQS (moto, from the virtualenv) on 127.0.0.1:4566, and the settings
# the AWS SDK needs to use it.
# The local SMTP sink (infra/smtp-sink, aiosmtpd) on SMTP_SINK_PORT: workflow emails land in
# $STATE_DIR/mail; `make mails` lists them. Exports SMTP_URL.
ensure_smtp_sink() {
  local port=${SMTP_SINK_PORT:-1025}
  ensure_venv
  if ! port_open "$port"; then
    say "starting the SMTP sink on 127.0.0.1:$port (mail kept in $STATE_DIR/mail)"
    mkdir -p "$STATE_DIR/mail"
    nohup "$VENV/bin/python" "$ROOT/infra/smtp-sink/sink.py" serve --port "$port" --dir "$STATE_DIR/mail" \
      >"$STATE_DIR/smtp-sink.log" 2>&1 &
    wait_for_port "$port" "the SMTP sink" 20
  fi
  export SMTP_URL=${SMTP_URL:-smtp://127.0.0.1:$port}
}

# The Mollie simulator (infra/mollie-sim, standard-library Python) on MOLLIE_SIM_PORT with a
# demo test key; payments live in its memory until it stops. Exports MOLLIE_API_URL and
# MOLLIE_SIM_KEY.
ensure_mollie_sim() {
  local port=${MOLLIE_SIM_PORT:-9012}
  export MOLLIE_SIM_KEY=${MOLLIE_SIM_KEY:-test_kassademo0000000000000000000000}
  if ! port_open "$port"; then
    say "starting the Mollie simulator on http://127.0.0.1:$port/v2"
    mkdir -p "$STATE_DIR"
    nohup python3 "$ROOT/infra/mollie-sim/sim.py" serve --port "$port" --key "$MOLLIE_SIM_KEY" \
      >"$STATE_DIR/mollie-sim.log" 2>&1 &
    wait_for_port "$port" "the Mollie simulator" 20
  fi
  # Register the key with whichever simulator answers (one left running keeps its payments).
  python3 -c 'import json, sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], json.dumps({"key": sys.argv[2]}).encode(), {"Content-Type": "application/json"}), timeout=5)' \
    "http://127.0.0.1:$port/_sim/keys" "$MOLLIE_SIM_KEY" 2>/dev/null || die "127.0.0.1:$port is not the Mollie simulator (set MOLLIE_SIM_PORT)"
  export MOLLIE_API_URL=${MOLLIE_API_URL:-http://127.0.0.1:$port/v2}
}

ensure_aws_emulator() {
  ensure_venv
  if ! port_open 4566; then
    say "starting the AWS emulator (moto) on 127.0.0.1:4566"
    mkdir -p "$STATE_DIR"
    # moto with DynamoDB calls one at a time: its conditional writes are not atomic otherwise
    # (infra/scripts/moto_server.py says why).
    nohup "$VENV/bin/python" "$ROOT/infra/scripts/moto_server.py" -H 127.0.0.1 -p 4566 >"$STATE_DIR/moto.log" 2>&1 &
    wait_for_port 4566 "the AWS emulator" 30
  fi
  export AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}
  export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
  export AWS_REGION=${AWS_REGION:-eu-west-1}
}

# Everything the running platform talks to (make dev, make replay): the services, the AWS
# emulator, the SMTP sink, the Mollie simulator and the Zitadel stand-in.
ensure_platform_services() {
  ensure_services
  ensure_aws_emulator
  ensure_smtp_sink
  ensure_mollie_sim
  ensure_zitadel_standin
}

# The release profile of Lambda's binaries (make package, make sizes): profile.release (fat
# LTO, one codegen unit, stripped) with panic = "abort" and opt-level = "s" (argon2 and blake2
# stay at 3; the AWS SDK, SMTP and page validation are at "z" in every release build:
# Cargo.toml). Measured 2026-11-30, each function built alone: storefront 11.3 → 6.6 MB,
# pages 17.8 → 11.0 MB; a warm storefront's CPU per invocation and its cold start did
# not change beyond the noise. Abort, not unwind: Lambda hands an instance one request at a
# time, so a panic fails only the request that panicked (Lambda starts a new instance), as a
# caught panic would have; `kassa serve`, which serves many at once, keeps unwinding.
lambda_release_profile() {
  export CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_OPT_LEVEL=s
}
