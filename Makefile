# The README's commands: `make run`, `make test`, `make lint`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
CACHE ?= $(HOME)/.cache/mozaiks

# uv installs exactly uv.lock (one lock for everything Python: this venv, CI, both images).
include hack/versions.env
UV_HOME := $(CACHE)/tools/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test test-fast lint lock setup bins browser node-deps images bench clean

# uv itself, pinned by hash, in a venv of its own under the cache (once per version).
$(UV): hack/uv-requirements.txt
	rm -rf $(UV_HOME)
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install -q --no-cache-dir --require-hashes -r hack/uv-requirements.txt
	touch $@

# --locked: fail (never re-resolve) when pyproject.toml and uv.lock disagree.
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON)
	touch $@

setup: $(STAMP)

# Re-resolve uv.lock from pyproject.toml (exclude-newer there fixes the day) and re-pin uv.
lock: $(UV)
	$(UV) lock --python $(PYTHON)
	{ sed -n '1,2p' hack/uv-requirements.txt; echo 'uv==$(UV_VERSION)' \
	  | $(UV) pip compile - --quiet --no-header --generate-hashes --python-platform linux \
	    --python-version 3.11 --exclude-newer "$$(sed -n 's/^exclude-newer = "\(.*\)"/\1/p' pyproject.toml)"; \
	} >hack/uv-requirements.txt.new
	mv hack/uv-requirements.txt.new hack/uv-requirements.txt

# Real components for the tests (kube-apiserver, etcd, FerretDB, helm, ...), cached by version.
bins:
	hack/build-bins >/dev/null

# Debian's Chromium for the browser tests (no browser download from elsewhere).
browser:
	hack/install-chromium

run: $(STAMP)
	$(BIN)/mozaiks runtime --dev --host $(HOST) --port $(PORT)

# The published AG-UI client (JavaScript) the AG-UI tests drive, exactly as its lock says.
NODE_DEPS := tests/agui_client/node_modules/.installed
$(NODE_DEPS): tests/agui_client/package.json tests/agui_client/package-lock.json
	npm ci --prefix tests/agui_client --no-audit --no-fund --loglevel=error
	touch $@

node-deps: $(NODE_DEPS)

# Both images, built with buildah from the Dockerfiles (buildah's layer cache; hack/README.md).
images: $(STAMP)
	hack/install-container-tools
	hack/build-images >/dev/null

test: $(STAMP) bins browser node-deps images
	$(UV) lock --check --python $(PYTHON)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider

# The fast tier: pure unit tests, no processes.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check runtime operator cli tests bench
	$(BIN)/ruff format --check runtime operator cli tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m bench.ws_throughput

clean:
	rm -rf $(VENV) var test-output tests/agui_client/node_modules
