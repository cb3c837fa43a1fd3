# Kassa. Two commands set everything up on a fresh machine: `make dev` and `make test`.
.DEFAULT_GOAL := help
.PHONY: help dev test watch replay token bench layout mails sizes checkout-demo admin admin-dev admin-test admin-budget admin-api package deploy compose-check

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

dev: ## Install what is missing, start the services, migrate, seed the demo shop and run Kassa on :8080
	@infra/scripts/dev.sh

test: ## fmt, clippy -D warnings, every test against real services, schemathesis, make package + Lambda replays, cfn-lint + sam validate
	@infra/scripts/test.sh

watch: ## Run every function under `cargo lambda watch` (port 9100, WATCH_PORT to change)
	@infra/scripts/watch.sh

replay: ## make package, then every events/ payload through cargo lambda watch + invoke (make test runs it)
	@infra/scripts/replay.sh

token: ## Print an access token for a demo user as the last line: make -s token USER=editor@demo
	@infra/scripts/token.sh "$(USER)"

checkout-demo: ## With make dev running: a shopper's cart → checkout → Mollie simulator, step by step (PAY=paid pays too)
	@python3 infra/scripts/checkout_demo.py $(if $(PAY),--pay $(PAY))

admin: ## Build the admin UI and serve it on http://127.0.0.1:3000 (API: make dev's on :8080)
	@infra/scripts/admin.sh build && infra/scripts/admin.sh serve

admin-dev: ## The admin UI's Nuxt dev server (hot reload) on http://127.0.0.1:3000
	@infra/scripts/admin.sh dev

admin-test: ## The admin's type check, unit tests, API client check and Playwright + axe e2e tests
	@cargo build -q -p kassa-cli --bin kassa && infra/scripts/admin.sh test

admin-budget: ## Print the gzip KB of JavaScript the admin's products screen loads first (budget 300)
	@cargo build -q -p kassa-cli --bin kassa && infra/scripts/admin.sh budget

admin-api: ## Regenerate the admin's typed API client (commit it with every API change)
	@cargo build -q -p kassa-cli --bin kassa && infra/scripts/admin.sh api

mails: ## List the emails the local SMTP sink of make dev received
	@.venv/bin/python infra/smtp-sink/sink.py list --dir $${KASSA_STATE_DIR:-.kassa}/mail

bench: ## Benchmark storefront reads (10,000 products, wrk), cold starts, relay and workflow latency; prints a table
	@infra/scripts/bench.sh

layout: ## Profile kassa serve under callgrind and write infra/layout/kassa.order, the function order of its release link
	@infra/scripts/layout.sh

sizes: ## Build every function alone (as cargo lambda does) and print its stripped release size (slow)
	@infra/scripts/sizes.sh

package: ## sam build of every function (cargo-lambda, offline after a cargo fetch) and each one's size; ARCH=arm64|x86_64
	@infra/scripts/package.sh

deploy: ## sam deploy of what make package built (guided the first time; README, Deploy)
	@infra/scripts/deploy.sh

compose-check: ## Check infra/docker-compose.yml as docker compose config would (schema, interpolation, references)
	@infra/scripts/compose-check.sh
