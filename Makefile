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

test: lint ## Lint, then every test (unit, contract, end-to-end through a real broker)
	$(BIN)/pytest

demo: $(STAMP) ## Embedded broker + worker + simulator; prints the URLs
	$(BIN)/supportpulse demo

.PHONY: help venv lint fmt test demo
