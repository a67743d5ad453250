# The two commands that matter: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PROCTOR_MODEL_DIR ?= $(abspath ../shared/models)
export PROCTOR_MEDIA_DIR ?= $(abspath ../shared/media)

.PHONY: venv demo test test-slow test-browser screenshots lint fmt services bench soak clean

$(STAMP): pyproject.toml requirements/no-deps.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[agent,dev]'
	$(BIN)/pip install -q --no-deps -r requirements/no-deps.txt
	$(BIN)/python -m scripts.check_install
	touch $(STAMP)

venv: $(STAMP)

## Run the whole product end to end on the embedded default (SQLite + a Redis the demo starts).
demo: $(STAMP)
	$(BIN)/python -m scripts.demo

## The whole suite against PostgreSQL and Redis (started here if they are down).
# Tests use their own Redis database number so they never see a running deployment's queues.
test: export REDIS_URL ?= redis://127.0.0.1:6379/15
test: $(STAMP) services lint
	bash scripts/system_deps.sh
	$(BIN)/python -m pytest -m "not browser and not slow"

## The long fault scenarios (docs/reliability.md): a host lost mid-exam, a worker back after the
## finalize bound, Redis restarted while streaming. CI runs them after `make test`.
test-slow: export REDIS_URL ?= redis://127.0.0.1:6379/15
test-slow: $(STAMP) services
	bash scripts/system_deps.sh
	$(BIN)/python -m pytest -m "slow and not browser"

services:
	bash scripts/services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks: JSON in bench/results/, tables in docs/benchmarks.md.
bench: $(STAMP) services
	bash scripts/system_deps.sh requirements/apt-bench.txt
	$(BIN)/python -m bench.run

## 50 simulated candidates (pre-encoded senders) for 10 minutes against one node; figures in
## bench/results/soak.json and docs/benchmarks.md. Not part of `make test`; exits 1 if it fails.
soak: $(STAMP) services
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) var

## The capture agent alone, as candidates get it (docs/agent.md): a venv with only its own
## distribution (packaging/agent) and PyInstaller, and from it a one-file executable.
AGENT_DIR := var/agent
AGENT_VENV := $(AGENT_DIR)/venv
AGENT_BINARY := $(AGENT_DIR)/dist/autoproctor-agent
AGENT_SOURCES := $(wildcard agent/*.py protocol/*.py) protocol/protocol.json \
	$(wildcard packaging/agent/*)
.PHONY: agent-binary agent-smoke

$(AGENT_VENV)/.installed:
	test -x $(AGENT_VENV)/bin/python || $(PY) -m venv $(AGENT_VENV)
	$(AGENT_VENV)/bin/pip install -q --upgrade pip
	$(AGENT_VENV)/bin/pip install -q 'pyinstaller>=6.10,<7'
	touch $@

$(AGENT_BINARY): $(AGENT_VENV)/.installed $(AGENT_SOURCES)
	$(AGENT_VENV)/bin/pip install -q --force-reinstall --no-deps ./packaging/agent
	$(AGENT_VENV)/bin/pip install -q ./packaging/agent
	$(AGENT_VENV)/bin/pyinstaller --noconfirm --log-level ERROR --distpath $(AGENT_DIR)/dist \
		--workpath $(AGENT_DIR)/build packaging/agent/autoproctor-agent.spec
	@ls -l $@

## The one-file agent: var/agent/dist/autoproctor-agent (Linux x86-64 here; build on each OS).
agent-binary: $(AGENT_BINARY)

## CI: the agent installed alone in a fresh venv, and the binary, each streaming to the real
## stack; figures (size, install time, start-up) in var/agent/figures.json.
agent-smoke: export REDIS_URL ?= redis://127.0.0.1:6379/15
agent-smoke: $(STAMP) services $(AGENT_BINARY)
	AUTOPROCTOR_AGENT_SMOKE=1 AUTOPROCTOR_AGENT_BINARY=$(abspath $(AGENT_BINARY)) \
		$(BIN)/python -m pytest -p no:cacheprovider tests/e2e/test_agent_dist.py
	@cat $(AGENT_DIR)/figures.json

## The browser SDK in real headless Chromium (Debian's chromium, in a network namespace, as root)
## against the real stack and a real coturn: tests/browser, about 5 minutes. Not part of
## `make test` (its budget); CI runs it after `make test` (.ci/run).
test-browser: export REDIS_URL ?= redis://127.0.0.1:6379/15
test-browser: $(STAMP) services
	bash scripts/system_deps.sh
	$(BIN)/python -m pytest -m browser tests/browser

## Re-take the screenshots in docs/img (review desk, report) from the browser tests.
screenshots: export REDIS_URL ?= redis://127.0.0.1:6379/15
screenshots: $(STAMP) services
	bash scripts/system_deps.sh
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser tests/browser/test_review_desk.py \
		tests/browser/test_reports.py
