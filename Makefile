# Front door for developers: `make demo` runs the plugin end to end on a local sandbox, `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SANDBOX ?= .sandbox

.PHONY: setup system-packages demo test test-fast lint pytest clean

setup: system-packages $(VENV)/.ansible-deploy-requirements

# Debian packages and the `dokku` system user the tests need; skipped when not root (install them yourself then).
system-packages:
	@if [ "$$(id -u)" = 0 ]; then scripts/install-system-packages; else echo "not root: skipping Debian packages"; fi

$(VENV)/.ansible-deploy-requirements: requirements.txt requirements-dev.txt constraints.txt
	scripts/ensure-venv --dev

demo: setup
	$(BIN)/python scripts/sandbox demo $(SANDBOX)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache  # the layers in pyproject.toml: no module imports one above it, so no cycle
	$(BIN)/yamllint -s .
	PATH=$(CURDIR)/$(BIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections:$(CURDIR)/$(VENV)/collections $(BIN)/ansible-lint -q playbooks roles
	$(BIN)/shellcheck commands subcommands/* $$(scripts/list-shell-files)

# Tests are independent (each has its own sandbox and servers), so they run on one worker per core;
# the slowest 30 are listed at the end.
pytest: setup
	$(BIN)/pytest -n auto --dist worksteal --durations=30

test: lint pytest

# The inner loop: lint and the unit tests (no server, no sandbox).
test-fast: lint
	$(BIN)/pytest tests/unit

clean:
	rm -rf $(VENV) $(SANDBOX) .pytest_cache .mypy_cache .ruff_cache
