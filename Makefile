# One entry point: `make run` sets up and starts the application,
# `make test` sets up and runs the whole test suite (every tier),
# `make test-fast` only its fast tier (the inner loop).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig.json
TEST_VAR ?= $(CURDIR)/var/test
# The fast tier: tests without a tier marker (tests/conftest.py enforces the markers).
FAST_TIER := not (browser or system or subprocess or slow)

.PHONY: setup run test test-fast lint pytest vitest browser bench clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

frontend/node_modules/.stamp: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend/dist/.vite/manifest.json: frontend/node_modules/.stamp $(FRONTEND_SRC)
	cd frontend && npm run build

setup: $(STAMP) frontend/dist/.vite/manifest.json
	$(PY) manage.py migrate --noinput

run: setup
	$(PY) manage.py lab

# Headless Chromium for the browser tests (Debian's package; never a download).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Chromium: run 'sudo apt-get install chromium'." >&2; exit 1; fi; }

lint: $(STAMP) frontend/node_modules/.stamp
	$(VENV)/bin/ruff check .
	cd frontend && npm run lint

vitest: frontend/node_modules/.stamp
	cd frontend && npm test

pytest: $(STAMP) frontend/dist/.vite/manifest.json browser
	rm -rf $(TEST_VAR) && mkdir -p $(TEST_VAR)
	LAB_VAR_DIR=$(TEST_VAR) $(PY) -m pytest $(PYTEST_ARGS)

test: lint vitest pytest

# Engine, web app and workers in this process: no browser, no server or CLI processes, nothing slow.
test-fast: $(STAMP) frontend/dist/.vite/manifest.json
	rm -rf $(TEST_VAR) && mkdir -p $(TEST_VAR)
	LAB_VAR_DIR=$(TEST_VAR) $(PY) -m pytest -m "$(FAST_TIER)" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.layers
	$(PY) -m benchmarks.trainer

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
