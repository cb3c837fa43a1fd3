#!/usr/bin/env bash
# make dev: install what is missing, start the services, migrate, seed the demo tenant and
# run the whole platform in the foreground. Safe to re-run.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_platform_services
# Kassa serves as kassa_service (no superuser, no BYPASSRLS, owns nothing; `kassa migrate`
# creates it); only migrations run as the owner.
export DATABASE_OWNER_URL=${DATABASE_OWNER_URL:-postgres://postgres@127.0.0.1:5432/kassa}
export DATABASE_URL=${DATABASE_URL:-postgres://kassa_service@127.0.0.1:5432/kassa}
# Local webhook receivers (localhost, the LAN) are fine here; deployments keep the default, deny.
export WEBHOOK_PRIVATE_NETWORKS=${WEBHOOK_PRIVATE_NETWORKS:-allow}

say "building kassa"
cargo build -p kassa-cli
kassa=$TARGET_DIR/debug/kassa
"$kassa" migrate
# The demo shop takes payments with the simulator's key (unless staff saved their own).
DEMO_MOLLIE_KEY=$MOLLIE_SIM_KEY "$kassa" seed-demo

listen=${KASSA_LISTEN:-127.0.0.1:8080}
port=${listen##*:}
cat >&2 <<BANNER

  Kassa is starting on http://$listen
    health     http://$listen/health
    ready      http://$listen/ready
    storefront curl http://demo.localhost:$port/storefront/tenant
               curl -H 'X-Tenant-ID: demo' http://$listen/storefront/tenant
    admin      http://127.0.0.1:3000 (editor@demo, viewer@demo, manager@demo: roles in two shops)
    staff      TOKEN=\$(make -s token USER=editor@demo | tail -n 1)
               curl -H "Authorization: Bearer \$TOKEN" http://demo.localhost:$port/management/me
    orders     POST /management/orders places one; "On order placed" deducts stock, calculates
               taxes and emails the customer (SMTP sink $SMTP_URL: make mails lists them)
    shoppers   shopper@demo.shop (no group), wholesale@demo.shop, vip@demo.shop; password
               demo-shopper-pass: POST /storefront/customers/sign-in, then Authorization: Bearer
    checkout   make checkout-demo (another terminal): cart → line → address and shipping →
               checkout → the simulator's checkout URL to open and pick "paid" → the order's
               status placed → make mails shows the confirmation (PAY=paid does it all)
  Mollie simulator MOLLIE_API_URL=$MOLLIE_API_URL (key $MOLLIE_SIM_KEY; pick the outcome at each
    payment's _links.checkout.href; webhooks retried like Mollie; infra/mollie-sim/README.md)
  Zitadel stand-in $ZITADEL_ISSUER (users owner@demo, editor@demo, viewer@demo, manager@demo,
    owner@other, admin@platform; password Password1!) · Postgres $DATABASE_URL · Valkey $VALKEY_URL · RabbitMQ 127.0.0.1:5672
  Stop with Ctrl-C.

BANNER
# The admin UI, built (not a dev server), on http://127.0.0.1:3000 against this Kassa.
infra/scripts/admin.sh build
NUXT_PUBLIC_API_BASE=http://$listen infra/scripts/admin.sh serve >"$STATE_DIR/admin.log" 2>&1 &
admin_pid=$!
trap 'kill "$admin_pid" 2>/dev/null || true' EXIT
"$kassa" serve
