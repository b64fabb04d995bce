# The README's commands: `make run`, `make test`, `make lint`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test test-fast lint setup bins browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: $(STAMP)

# Real components for the tests (kube-apiserver, etcd, FerretDB, helm, ...), cached by version.
bins:
	hack/build-bins >/dev/null

# Debian's Chromium for the browser tests (no browser download from elsewhere).
browser:
	hack/install-chromium

run: $(STAMP)
	$(BIN)/mozaiks runtime --dev --host $(HOST) --port $(PORT)

test: $(STAMP) bins browser
	$(BIN)/pytest -q -p no:cacheprovider

# The fast tier: pure unit tests, no processes.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check runtime operator tests bench
	$(BIN)/ruff format --check runtime operator tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.ws_throughput

clean:
	rm -rf $(VENV) var test-output
