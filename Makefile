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
	$(BIN)/ruff check stream tests deploy/grafana bench soak
	$(BIN)/ruff format --check stream tests deploy/grafana bench soak
	$(BIN)/mypy stream bench soak
	$(BIN)/mypy --strict deploy/grafana/generate.py

fmt: $(STAMP) ## Format the code
	$(BIN)/ruff format stream tests deploy/grafana bench soak
	$(BIN)/ruff check --fix stream tests deploy/grafana bench soak

# promtool and prometheus (the rule tests and the Prometheus end-to-end test) come from the
# Debian package `prometheus`; amtool (the Alertmanager config check) from
# `prometheus-alertmanager`; headless Chromium (the wall page's browser tests,
# tests/helpers/chromium.py) from `chromium`. They are installed only when promtool or
# amtool, or chromium, is missing (one apt-get run for all), so a second run is a no-op. The
# packages' own attempts to start prometheus/alertmanager services are irrelevant here: the
# tests start their own prometheus on 127.0.0.1 and only run amtool (without systemd, or
# with a policy-rc.d that denies starts, no service is started; on a systemd host,
# `systemctl disable --now prometheus prometheus-alertmanager`).
deps: ## Install promtool, prometheus, amtool and chromium (Debian packages) if missing
	@pkgs=; \
	if command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; then \
		echo "promtool found: $$(command -v promtool)"; \
		echo "amtool found: $$(command -v amtool)"; \
	else \
		pkgs="prometheus prometheus-alertmanager"; \
	fi; \
	if chromium=$$(command -v chromium || command -v chromium-browser); then \
		echo "chromium found: $$chromium"; \
	else \
		pkgs="$${pkgs:+$$pkgs }chromium"; \
	fi; \
	if [ -n "$$pkgs" ]; then \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
		else echo "promtool, amtool or chromium missing and not root without sudo: install the Debian packages $$pkgs" >&2; exit 1; fi; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			$$pkgs; \
	fi

# Two test processes (pytest-xdist); --dist loadfile keeps each file's tests, and its
# module-scoped fixtures (a worker, a Prometheus), in one process.
test: deps lint ## Install promtool/amtool/chromium if missing, lint, then every test (unit, contract, end-to-end)
	$(BIN)/pytest -n 2 --dist loadfile

demo: $(STAMP) ## Embedded broker + worker + simulator; prints the URLs
	$(BIN)/supportpulse demo

# The JSON files are committed (Grafana provisions them as they are); the staleness test in
# tests/deploy/test_grafana_dashboards.py fails until they are regenerated after a change.
dashboards: $(STAMP) ## Regenerate the Grafana dashboards from deploy/grafana/generate.py
	$(BIN)/python deploy/grafana/generate.py

# Figures of the performance goals, measured side by side on one embedded broker (about 15
# minutes at the defaults; bench/README.md explains each figure). BENCH_EVENTS=1000000 also
# runs the measured 1M replay. py-spy (the profile phase) is installed into the venv when
# missing; without it that phase reports a failure and the others still run.
bench: $(STAMP) ## Throughput, freshness, memory, scale-out and a profile (bench/README.md)
	@test -x $(BIN)/py-spy || $(BIN)/pip install --quiet py-spy || \
		echo "py-spy could not be installed: the profile phase will fail" >&2
	$(BIN)/python -m bench.run

# Sustained simulator load against one worker (30 minutes by default), sampling RSS, lag and
# tracked tickets every 10 s; prints RSS at start/middle/end, the largest lag and the
# tracked-ticket curve (README "Reliability"). SOAK_MINUTES, SOAK_RATE (tickets/min),
# SOAK_MODE=replay (days of event time in minutes: SOAK_DAYS), SOAK_INTERVAL_S.
soak: $(STAMP) ## Long soak: RSS, lag and tracked tickets under sustained load (SOAK_MINUTES)
	$(BIN)/python -m soak.run

.PHONY: help venv deps lint fmt test demo dashboards bench soak
