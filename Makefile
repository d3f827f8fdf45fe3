# Two commands matter: `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint install dev clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)
dev: $(DEVSTAMP)

run: $(STAMP)
	$(BIN)/ocpi serve --demo

test: $(DEVSTAMP)
	./tools/ensure-chromium.sh
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) ocpi.db ocpi.db-wal ocpi.db-shm

# Speed against a bare FastAPI ceiling, on SQLite and PostgreSQL (see docs/benchmarks.md)
bench: $(DEVSTAMP)
	$(BIN)/python benchmarks/bench.py
