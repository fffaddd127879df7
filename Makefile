# Two commands: `make run` (set up, migrate, start on the embedded default) and `make test`.
# `make seed` adds the demo shop, `make shell` opens a Python shell with the app loaded.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app shopify_app
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint arch format install install-dev worker scheduler migrate seed shell clean mutation screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	mkdir -p instance
	$(FLASK) db upgrade

## Set up, migrate and start the app with the periodic scheduler (SQLite, in-process queue,
## console SMS backend unless the environment says otherwise).
run: migrate
	$(FLASK) serve --host $(HOST) --port $(PORT)

## The demo shop for local development: contacts, a finished campaign and its report, an
## automation, an inbox conversation, an offline token (so /api needs no Shopify). Safe to run
## again; refused with APP_ENV=production.
seed: migrate
	$(FLASK) seed-demo

## A Python shell with the app and its database (`flask shell`), through the venv.
shell: install
	$(FLASK) shell

## Set up and run the test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set) on
## TEST_WORKERS pytest-xdist processes, each with its own database and Redis database
## (tests/conftest.py); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2
test: install-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The README's picture of the admin (docs/images/admin-home.png), taken by the browser tests.
screenshots: install-dev
	SCREENSHOTS=update $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_readme_screenshot.py

## Mutation testing of the five security primitives against their own tests (pyproject
## [tool.mutmut]); prints the score per module and the survivors. By hand, not in CI: it takes
## a long while on 2 cores. mutmut is installed here only, so `make test` never waits for it.
MUTMUT_VERSION := 3.8.1
MUTATION_JOBS ?= 2
mutation: install-dev
	$(BIN)/pip show mutmut 2>/dev/null | grep -qx "Version: $(MUTMUT_VERSION)" || $(BIN)/pip install --quiet mutmut==$(MUTMUT_VERSION)
	rm -rf mutants
	nice -n 10 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) > /dev/null
	$(BIN)/python bench/mutation_score.py

## Style, formatting, and the layers (import-linter's contracts in pyproject.toml).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## The house's shape in numbers: long files and functions, imports inside functions, cycles.
arch: install-dev
	$(BIN)/python -m tests.architecture

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(FLASK) worker

scheduler: install
	$(FLASK) scheduler

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants
