# The README's verbs. Every target sets up what it needs by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup test lint typecheck pytest demo bench preview synth deploy destroy clean lock

help:
	@echo "make demo      run the notifier end to end on a local sandbox (no AWS account needed)"
	@echo "make test      lint, type-check and run the whole test suite"
	@echo "make bench     poller benchmark against the local emulator"
	@echo "make preview   read-only: what the notifier would send about your real jobs (ARGS=...)"
	@echo "make synth     synthesize the CloudFormation template (offline)"
	@echo "make lock      re-resolve requirements/runtime.txt for Lambda into requirements/runtime-lock.txt"
	@echo "make deploy    npx cdk deploy (needs AWS credentials)"
	@echo "make destroy   npx cdk destroy"

# Reinstalled only when a requirements file changes.
$(PY_STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@

# Reinstalled only when the lock file changes.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

pytest: setup
	$(BIN)/python -m pytest -n 2

test: lint typecheck pytest

demo: $(PY_STAMP)
	$(BIN)/python -m local.sandbox

bench: $(PY_STAMP)
	$(BIN)/python -m bench.poller_bench

# The Lambda asset's whole dependency set, with hashes, resolved for arm64 / Python 3.13 (needs the package index).
# The asset is compiled to bytecode by a Python 3.13 found on this machine; NOTIFIER_BYTECODE_PYTHON names another.
lock: $(PY_STAMP)
	$(BIN)/python -m infra.lock

synth: setup
	npx cdk synth --quiet

deploy: setup
	npx cdk deploy

destroy: setup
	npx cdk destroy

clean:
	rm -rf $(VENV) node_modules cdk.out build .mypy_cache .ruff_cache .hypothesis

# Read-only: what the notifier would publish for your account's batch jobs (your credentials and region).
preview: $(PY_STAMP)
	$(BIN)/python -m local.preview $(ARGS)
