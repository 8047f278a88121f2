# The README's verbs. Every target sets up what it needs by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

PYTHON_MIN := 3.11
NODE_MIN := 20
NODE_RECOMMENDED := 22

# jsii prints a screen-wide banner on every synth under a Node.js it no longer supports (20 is end of life, 22
# nears it); the node check below warns once instead, so the banner does not bury the synth's own errors.
# END_OF_LIFE takes the major versions it silences; DEPRECATED covers only versions not yet at their end.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

# "yes" when version $(1) is PYTHON_MIN or newer.
python_ok = $(if $(1),$(shell printf '%s\n' $(PYTHON_MIN) $(1) | sort -V -C && echo yes))
python_version = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)

# Before anything is built: a .venv whose python no longer runs (its base interpreter removed or upgraded, the
# folder moved) or is too old is rebuilt, not reused; and the Python that would build it must be recent enough,
# or make stops with one line saying so. Not for help, clean and browser, which need no Python.
ifneq ($(filter-out help clean browser,$(or $(MAKECMDGOALS),help)),)
ifneq ($(call python_ok,$(call python_version,$(BIN)/python)),yes)
ifneq ($(wildcard $(VENV)),)
$(info $(VENV) does not run or is older than Python $(PYTHON_MIN): rebuilding it with $(PYTHON))
$(shell rm -f $(PY_STAMP))
endif
PYTHON_FOUND := $(call python_version,$(PYTHON))
ifeq ($(PYTHON_FOUND),)
$(error $(PYTHON) does not run: install Python $(PYTHON_MIN) or newer, or name one with make PYTHON=python3.12 ...)
endif
ifneq ($(call python_ok,$(PYTHON_FOUND)),yes)
$(error $(PYTHON) is Python $(PYTHON_FOUND); this project needs Python $(PYTHON_MIN) or newer: install it, or name one with make PYTHON=python3.12 ...)
endif
endif
endif

.PHONY: help setup node-check test lint typecheck pytest test-unit test-integration test-local test-infra demo bench soak \
	browser preview synth deploy destroy clean lock test-notification check-slack config-table

help:
	@echo "make demo      run the notifier end to end on a local sandbox (no AWS account needed; ARGS=--help)"
	@echo "make test      lint, type-check and run the whole test suite (every tier below)"
	@echo "make test-unit | test-integration | test-local | test-infra   one tier of tests/"
	@echo "make bench     poller benchmark against the local emulator"
	@echo "make browser   install Chromium (Debian, as root) for the test that opens the demo's HTML page headless"
	@echo "make soak      2,000 jobs over a simulated week with faults everywhere, then checks (ARGS=...)"
	@echo "make preview   read-only: what each destination of notifier.config.json would get about your real jobs (ARGS=...)"
	@echo "make synth     synthesize the CloudFormation template (offline)"
	@echo "make lock      re-resolve requirements/runtime.txt for Lambda into requirements/runtime-lock.txt"
	@echo "make deploy    npx cdk deploy (needs AWS credentials)"
	@echo "make destroy   npx cdk destroy"
	@echo "make test-notification   publish a test notice through the deployed topic (ARGS=--stack NAME ...)"
	@echo "make check-slack         check the deployed Slack secret against Slack (ARGS=--stack NAME ...)"

# Reinstalled only when a requirements file changes.
$(PY_STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	$(BIN)/python -c 'import sys' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@

# Reinstalled only when the lock file changes.
$(NODE_STAMP): package.json package-lock.json | node-check
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The CDK CLI needs Node.js 20 or newer; 20 is end of life, so 22 or newer is what to install.
node-check:
	@v=$$(node -p process.versions.node 2>/dev/null) || { echo "error: node not found: install Node.js $(NODE_RECOMMENDED) or newer (https://nodejs.org), with npm" >&2; exit 1; }; \
	major=$${v%%.*}; \
	if [ "$$major" -lt $(NODE_MIN) ]; then echo "error: Node.js $$v is too old for the CDK CLI: install Node.js $(NODE_RECOMMENDED) or newer" >&2; exit 1; fi; \
	if [ "$$major" -lt $(NODE_RECOMMENDED) ]; then echo "warning: Node.js $$v is end of life; it works for now, but install Node.js $(NODE_RECOMMENDED) or newer" >&2; fi

setup: $(PY_STAMP) $(NODE_STAMP)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

pytest: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

# One tier each: unit (no server), integration (the functions on moto, the emulator, the stand-in),
# local (the emulator, the stand-in, the sandbox and the preview themselves), infra (the synthesized stack).
test-unit: $(PY_STAMP)
	$(BIN)/python -m pytest tests/unit

test-integration: $(PY_STAMP)
	$(BIN)/python -m pytest -n 2 tests/integration

test-local: $(PY_STAMP)
	$(BIN)/python -m pytest -n 2 tests/local

test-infra: setup
	$(BIN)/python -m pytest -n 2 tests/infra

# Chromium from Debian's packages, for the test that opens the demo's HTML preview in a headless browser; without it
# that test is skipped and says why. Not part of `make test`: a download of a few minutes that needs root and the
# package index. CI (.ci/run) runs it first and goes on without a browser if it fails.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium is installed: $$(chromium --version 2>/dev/null)"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi

# Options through ARGS, e.g. make demo ARGS="--slack-mode webhook --verbose --html demo-preview.html".
demo: $(PY_STAMP)
	$(BIN)/python -m local.sandbox $(ARGS)

bench: $(PY_STAMP)
	$(BIN)/python -m bench.poller_bench
	$(BIN)/python -m bench.fast_path_bench
	$(BIN)/python -m bench.slack_bench
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.cold_start

# The Lambda asset's whole dependency set, with hashes, resolved for arm64 / Python 3.13 (needs the package index).
# The asset is compiled to bytecode by a Python 3.13 found on this machine; NOTIFIER_BYTECODE_PYTHON names another.
lock: $(PY_STAMP)
	$(BIN)/python -m infra.lock

# The long soak; a short one runs in `make test` (tests/soak).
soak: $(PY_STAMP)
	$(BIN)/python -m local.soak $(ARGS)

synth: setup
	npx cdk synth --quiet
	@$(BIN)/python -m tools.templates cdk.out

deploy: setup
	npx cdk deploy

destroy: setup
	npx cdk destroy

# The README's configuration tables, from notifier/core/settings.py (a test fails when they differ).
config-table: $(PY_STAMP)
	$(BIN)/python -m infra.config_docs

clean:
	rm -rf $(VENV) node_modules cdk.out build .mypy_cache .ruff_cache .hypothesis

# Read-only: what the notifier would publish for your account's batch jobs (your credentials and region), and what
# each destination of notifier.config.json would be sent and what its filter drops.
preview: $(PY_STAMP)
	$(BIN)/python -m local.preview $(ARGS)

# After a deploy, with your AWS credentials (AWS CLI profile or environment): does a notification arrive?
test-notification: $(PY_STAMP)
	$(BIN)/python -m tools.test_notification $(ARGS)

check-slack: $(PY_STAMP)
	$(BIN)/python -m tools.check_slack $(ARGS)
