# Two commands on a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STRIPE_PORT ?= 8420
STRIPE_WEBHOOK_SECRET ?= whsec_local
SMTP_PORT ?= 8025
# Where make run keeps the local Stripe's log and pid (the README test points it elsewhere).
RUN_DIR ?= instance
export FLASK_APP := wsgi

.PHONY: run cluster cluster-down test bench bench-instructions fuzz soak openapi-snapshot lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes; dev extras include the test tools and localstripe.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# make run's email (D25) goes to a local SMTP catcher that keeps each message as a file under
# MAIL_DIR; links in it point at this server, and the pages load the local Stripe's Stripe.js.
MAIL_DIR ?= $(RUN_DIR)/mail
run: export SMTP_URL ?= smtp://$(HOST):$(SMTP_PORT)
run: export PUBLIC_URL ?= http://$(HOST):$(PORT)
run: export STRIPE_JS_URL ?= http://$(HOST):$(STRIPE_PORT)/js.stripe.com/v3/
run: $(VENV)/.installed
	@mkdir -p instance $(RUN_DIR) $(MAIL_DIR)
	$(BIN)/licensing db upgrade
	$(BIN)/licensing demo-data --licenses 200 --if-empty
	@$(BIN)/python scripts/local_stripe.py --port $(STRIPE_PORT) --from-scratch \
	  --webhook-url http://$(HOST):$(PORT)/v1/stripe/webhook --webhook-secret $(STRIPE_WEBHOOK_SECRET) \
	  >$(RUN_DIR)/localstripe.log 2>&1 & echo $$! > $(RUN_DIR)/localstripe.pid
	@$(BIN)/python scripts/mail_catcher.py --host $(HOST) --port $(SMTP_PORT) --directory $(MAIL_DIR) \
	  >$(RUN_DIR)/mail_catcher.log 2>&1 & echo $$! > $(RUN_DIR)/mail_catcher.pid
	@KEY=$$($(BIN)/licensing api-keys create --name "admin-$$(date +%Y%m%d%H%M%S)" --scopes admin | tail -n 1); \
	  echo; \
	  echo "  Licensing is starting at http://$(HOST):$(PORT)  (OpenAPI: /v1/openapi.json)"; \
	  echo "  Admin API key (shown once):  $$KEY"; \
	  echo "  Try: curl -H \"Authorization: Bearer $$KEY\" http://$(HOST):$(PORT)/v1/editions"; \
	  echo "  Local Stripe: http://$(HOST):$(STRIPE_PORT) (STRIPE_API_BASE), fresh at every start"; \
	  echo "  Mail: SMTP catcher on $(HOST):$(SMTP_PORT); each message is a file in $(MAIL_DIR)/*.eml"; \
	  echo "  Worker (expiry, notices, emails, purge on their intervals): log in $(RUN_DIR)/worker.log"; \
	  echo "  Operator commands: .venv/bin/licensing --help"; \
	  echo
	@STRIPE_API_BASE=http://$(HOST):$(STRIPE_PORT) STRIPE_WEBHOOK_SECRET=$(STRIPE_WEBHOOK_SECRET) \
	  $(BIN)/licensing worker >$(RUN_DIR)/worker.log 2>&1 & echo $$! > $(RUN_DIR)/worker.pid
	@mkdir -p $(RUN_DIR)/prometheus
	@STRIPE_API_BASE=http://$(HOST):$(STRIPE_PORT) STRIPE_WEBHOOK_SECRET=$(STRIPE_WEBHOOK_SECRET) \
	  PROMETHEUS_MULTIPROC_DIR=$(RUN_DIR)/prometheus \
	  $(BIN)/gunicorn -c python:licensing.gunicorn_config --bind $(HOST):$(PORT) \
	  --workers 2 --threads 4 --access-logfile - wsgi:app; \
	  status=$$?; kill $$(cat $(RUN_DIR)/worker.pid) $$(cat $(RUN_DIR)/localstripe.pid) \
	    $$(cat $(RUN_DIR)/mail_catcher.pid) 2>/dev/null; \
	  exit $$status

# The production topology on this machine (docs/deploy.md): PostgreSQL primary and streaming
# replica, Redis, two gunicorn nodes behind nginx, two workers, the local Stripe, each on a
# free loopback port in a temporary folder; `make cluster-down` stops it and removes the folder.
cluster: $(VENV)/.installed
	@command -v nginx >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx)
	@mkdir -p $(RUN_DIR)
	$(BIN)/python -m scripts.cluster up --state $(RUN_DIR)/cluster.json

cluster-down: $(VENV)/.installed
	$(BIN)/python -m scripts.cluster down --state $(RUN_DIR)/cluster.json

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Measurements, not tests: PostgreSQL at TEST_DATABASE_URL (default: the local one); wrk
# from Debian's packages drives the load (installed here when missing). It prints issue 20's
# goal table (PERFORMANCE.md); COMPARE=<rev> also serves that revision, built in a temporary
# git worktree, under the same load in the same run.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	COMPARE=$(COMPARE) $(BIN)/python tests/benchmarks/bench_goals.py

# Instructions per request of /healthz and each hot path, counted by valgrind's callgrind in
# one process (PERFORMANCE.md): a figure the machine's load does not move, for changes too
# small to tell from make bench's noise. valgrind from Debian's packages, installed when missing.
bench-instructions: $(VENV)/.installed
	@command -v valgrind >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq valgrind)
	$(BIN)/python tests/benchmarks/bench_instructions.py

# Long fuzzing with every schemathesis check (RELIABILITY.md): FUZZ_EXAMPLES generated requests
# per operation (the suite's run: 5), FUZZ_SCENARIOS stateful walks of FUZZ_STEPS steps along
# the document's links, on SQLite and on PostgreSQL when TEST_DATABASE_URL is set. It prints
# the totals (requests, server errors, check failures) and fails under FUZZ_MIN_REQUESTS.
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} FUZZ_SCENARIOS=$${FUZZ_SCENARIOS:-250} \
	  FUZZ_STEPS=$${FUZZ_STEPS:-25} FUZZ_MIN_REQUESTS=$${FUZZ_MIN_REQUESTS:-50000} \
	  $(BIN)/pytest tests/fuzz

# 30 minutes of steady mixed load on gunicorn over PostgreSQL: errors, p99 and worker RSS per
# minute (SOAK_MINUTES, SOAK_RATE to change). Not part of make test.
soak: $(VENV)/.installed
	$(BIN)/python tests/benchmarks/soak.py

# The contract's snapshot (tests/snapshots/openapi.json), rewritten on purpose after a change.
openapi-snapshot: $(VENV)/.installed
	UPDATE_OPENAPI_SNAPSHOT=1 $(BIN)/pytest -q tests/api/test_openapi_snapshot.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .hypothesis test-artifacts
