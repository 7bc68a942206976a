# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= data/demo
DEMO_CUSTOMERS ?= 20000
# the simulated log's last day (2024-01-01 + 730 days, 2024 a leap year): `--as-of` must not be after it
DEMO_AS_OF ?= 2025-12-30
DEMO_PORT ?= 8000
MLFLOW_PORT ?= 5000

export MLFLOW_DISABLE_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint docs clean mlflow-ui browser java screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/retain generate --customers $(DEMO_CUSTOMERS) --out $(DEMO_DIR)
	$(BIN)/retain validate $(DEMO_DIR)
	$(BIN)/retain features --data $(DEMO_DIR) --as-of $(DEMO_AS_OF)
	$(BIN)/retain train --data $(DEMO_DIR) --as-of $(DEMO_AS_OF)
	$(BIN)/retain score --data $(DEMO_DIR) --as-of $(DEMO_AS_OF)
	@if [ -t 0 ] && [ -t 1 ]; then \
	  key=$$($(BIN)/retain api-key --role admin --name "demo admin" 2>/dev/null); \
	  echo; echo "Demo API key (admin): $$key"; \
	  echo "Console: http://127.0.0.1:$(DEMO_PORT)/app/   (sign in with the key above)"; \
	  echo "Try:  curl -s -H 'X-API-Key: $$key' 'http://127.0.0.1:$(DEMO_PORT)/v1/at-risk?limit=5'"; \
	  echo "      curl -s -H 'X-API-Key: $$key' http://127.0.0.1:$(DEMO_PORT)/v1/customers/C0000001"; \
	  echo "Docs: http://127.0.0.1:$(DEMO_PORT)/docs   (Ctrl-C stops the server)"; echo; \
	  $(BIN)/retain serve --data $(DEMO_DIR) --host 127.0.0.1 --port $(DEMO_PORT); \
	else \
	  echo "No terminal: skipping the serving step (run: $(BIN)/retain serve --data $(DEMO_DIR))"; \
	fi

# --dist loadgroup: the Spark tests (one xdist group) share one worker, so a run starts one Spark session
test: lint browser java
	$(BIN)/python -m pytest -n 2 -m "not spark"
	$(BIN)/python -m pytest -p no:xdist -m spark  # one process: one Spark session, started first (tests/conftest.py)

# Debian's Chromium for the browser tests (tests/console; Playwright comes with the dev extra): installed with
# apt-get once per machine, nothing downloaded while tests run; a no-op when /usr/bin/chromium is there.
browser:
	./.ci/install-browser

# Java 17 for the Spark tests (tests/spark; pyspark comes with the spark extra): apt-get once per machine, a
# no-op when java is there.
java:
	./.ci/install-java

# docs/screenshots/{login,work-list,customer,overview}.png of the console over `make demo`'s data and registry
screenshots: $(STAMP) browser
	RETAIN_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/console/test_screenshots.py -p no:cacheprovider -rs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy retain features models training batch serving benchmarks

# The MLflow UI (runs, metrics, plots, registered models) over the local store: http://127.0.0.1:$(MLFLOW_PORT)
mlflow-ui: $(STAMP)
	mkdir -p mlruns
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db \
		--host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

docs: $(STAMP)
	$(BIN)/retain catalogue > docs/feature_catalogue.md

clean:
	rm -rf $(VENV) data/demo mlruns .pytest_cache
