# AmzInsight developer targets. `make` alone lists them.
VENV ?= .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help
.PHONY: help install dev up demo bench test test-unit test-fast lint format typecheck ci clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

install: $(PY) ## install the app, the workers and the sandbox into .venv (what `up` needs)
	$(VENV)/bin/pip install -e '.[server]' -e ./sandbox

dev: $(PY) ## install the app with test and lint tools
	$(VENV)/bin/pip install -e '.[dev]' -e ./sandbox

up: install ## start everything on the embedded defaults
	$(VENV)/bin/amzinsight up

demo: install ## the same, with the sandbox demo store
	$(VENV)/bin/amzinsight up --demo

bench: dev ## the three benchmarks: ingest, ads, pages (see bench/README.md)
	$(PY) -m bench.ingest
	$(PY) -m bench.ads
	$(PY) -m bench.pages

test: dev ## run every test (PostgreSQL and Redis on 127.0.0.1)
	$(PY) -m pytest

test-unit: ## the unit ring: no services, well under a minute
	$(PY) -m pytest tests/unit

test-fast: ## tests without the slow process and real-browser tests
	$(PY) -m pytest -m "not slow and not browser"

lint: ## ruff check, format check and the import contracts (the layers)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

format: ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: ## mypy --strict on amzinsight, app, workers and launcher
	$(VENV)/bin/mypy

ci: ## what CI runs, on this checkout
	.ci/run

clean: ## remove caches (keeps .venv and your data directory)
	rm -rf .pytest_cache .ruff_cache .mypy_cache .import_linter_cache build *.egg-info
