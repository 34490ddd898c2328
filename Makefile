# Two commands matter: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# the product is the installed package (src/dealerfunnel); demo and test support live in tools/
export PYTHONPATH := $(CURDIR)/tools
export DEALERFUNNEL_HOME := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo run roles docs airflow test test-fast lint format compose-check bench stop-warehouse clean lock

help:
	@echo "make demo   - install, generate a synthetic dealer group, run every DAG through Airflow"
	@echo "make run    - install, run the DAGs over \$$LANDING_DIR (no generated data)"
	@echo "make test   - install, run the whole test suite"
	@echo "make roles  - create the warehouse roles; READER=r DEALERS=SH001,SH002 maps a dealer reader,"
	@echo "              HQ=r an HQ reader; PASSWORD_ENV=VAR creates that login with the password in \$$VAR"
	@echo "make docs   - serve the report pages, dbt docs and GX Data Docs on one local address (PORT=8765)"
	@echo "make airflow - the Airflow UI, scheduler, dag-processor and triggerer locally (AIRFLOW_PORT=8080)"
	@echo "make lint   - ruff + sqlfluff"
	@echo "make bench  - benchmarks into BENCHMARKS.md; the #13 scale run:"
	@echo "              make bench ARGS=\"--leads 1000000 --dealers 200 --years 3\""
	@echo "make stop-warehouse - stop the embedded PostgreSQL"

# The virtual environment is refreshed whenever the lock or the package metadata changes:
# every pinned dependency from the lock, then the package itself in editable mode.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -q -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

lock:
	$(BIN)/uv pip compile requirements.in -o requirements.lock --python-version 3.11 \
	  --no-emit-package dealerfunnel

demo: $(STAMP)
	$(BIN)/python -m dealerfunnel_demo

run: $(STAMP)
	$(BIN)/python -m dealerfunnel.cli run

roles: $(STAMP)
	$(BIN)/python -m dealerfunnel.cli roles $(if $(READER),--reader $(READER) --dealers $(DEALERS)) \
	  $(if $(HQ),--hq $(HQ)) $(if $(PASSWORD_ENV),--password-env $(PASSWORD_ENV))

test: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	$(BIN)/python -m dealerfunnel.reports.serve --port $(or $(PORT),8765)

airflow: $(STAMP)
	$(BIN)/python -m dealerfunnel.cli airflow --port $(or $(AIRFLOW_PORT),8080)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests --disable-progress-bar

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project/models --disable-progress-bar

compose-check:
	docker-compose -f docker-compose.yml config -q

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

stop-warehouse: $(STAMP)
	$(BIN)/python -m dealerfunnel.cli stop-warehouse

clean: stop-warehouse
	rm -rf var dbt_project/target dbt_project/logs
