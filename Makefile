# Rendezvous: `make demo` runs the whole system, `make test` runs the whole suite.
# Both do every set-up step themselves (virtual env, dependencies, Kafka jars).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install jars browser mlserver demo test lint format unit functional integration browser-tests bench faults clean

help:
	@echo "make demo    start Kafka, a worker, models and demo traffic (Ctrl-C stops all)"
	@echo "make test    set up everything, then lint and run the whole test suite"
	@echo "make lint    ruff (lint + format check) and mypy --strict on every package"
	@echo "make bench   latency and deadline-precision benchmarks on a throwaway broker"
	@echo "make faults  the full fault suite (crashes, outages, poison) and its table of results"
	@echo "make clean   remove the virtual env, caches and local data"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

jars: $(STAMP)
	$(BIN)/rendezvous kafka fetch

browser:
	bash scripts/ensure-chromium.sh

# A real MLServer in its own env (.cache/mlserver-venv) for the Open Inference Protocol tests.
mlserver: install
	bash scripts/ensure-mlserver.sh

# make demo DEMO_ARGS=--free-ports: broker, worker and console on free ports (printed).
DEMO_ARGS ?=
demo: install jars
	$(BIN)/rendezvous demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The integration tests start their own throwaway broker (tests/integration/conftest.py)
# and stop it at the end; nothing is left running.
test: install jars browser mlserver lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

functional: install
	$(BIN)/pytest tests/functional

integration: install jars mlserver
	$(BIN)/pytest tests/integration

browser-tests: install jars browser
	$(BIN)/pytest tests/browser

bench: install jars
	$(BIN)/python -m benchmarks.latency
	$(BIN)/python -m benchmarks.deadline
	$(BIN)/python -m benchmarks.models
	$(BIN)/python -m benchmarks.decoy

# The fault suite at full scale (the default pytest run has a short version of each case);
# it prints a table: requests sent / missing / conflicting / duplicates / late per case.
faults: install jars
	RENDEZVOUS_FAULTS_SCALE=full $(BIN)/pytest tests/faults -m faults

clean:
	rm -rf $(VENV) .cache .data .pytest_cache .mypy_cache .ruff_cache *.egg-info
