# supportpulse developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## Create the virtualenv from pyproject.toml

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check stream tests
	$(BIN)/ruff format --check stream tests
	$(BIN)/mypy

fmt: $(STAMP) ## Format the code
	$(BIN)/ruff format stream tests
	$(BIN)/ruff check --fix stream tests

# promtool and prometheus (the rule tests and the Prometheus end-to-end test) come from the
# Debian package `prometheus`. Installed only when promtool is missing, so a second run is a
# no-op. The package's own attempt to start a prometheus service is irrelevant here: the tests
# start their own prometheus on 127.0.0.1 (without systemd, or with a policy-rc.d that denies
# starts, no service is started; on a systemd host, `systemctl disable --now prometheus`).
deps: ## Install promtool and prometheus (Debian package `prometheus`) if promtool is missing
	@if command -v promtool >/dev/null 2>&1; then \
		echo "promtool found: $$(command -v promtool)"; \
	else \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
		else echo "promtool missing and not root without sudo: install the Debian package prometheus" >&2; exit 1; fi; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	fi

test: deps lint ## Install promtool if missing, lint, then every test (unit, contract, end-to-end)
	$(BIN)/pytest

demo: $(STAMP) ## Embedded broker + worker + simulator; prints the URLs
	$(BIN)/supportpulse demo

.PHONY: help venv deps lint fmt test demo
