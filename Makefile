# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= data/demo
DEMO_CUSTOMERS ?= 20000
DEMO_AS_OF ?= 2025-12-31

export MLFLOW_DISABLE_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/retain generate --customers $(DEMO_CUSTOMERS) --out $(DEMO_DIR)
	$(BIN)/retain validate $(DEMO_DIR)
	$(BIN)/retain features --data $(DEMO_DIR) --as-of $(DEMO_AS_OF)
	$(BIN)/retain train --data $(DEMO_DIR) --as-of $(DEMO_AS_OF)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy retain features training serving

clean:
	rm -rf $(VENV) data/demo mlruns .pytest_cache
