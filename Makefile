# Parley: `make dev` runs the whole system, `make test` runs the test suite. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install dev test test-fast faults lint typecheck mutation bench browser-deps screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Debian's Chromium drives the browser tests (Playwright's own browser download does not work offline).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (need root and the Debian mirror)"; exit 1; }; }

dev: install
	$(PY) -m scripts.dev

test: install browser-deps
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q tests/unit

# Fault injection (docs/fault-injection.md): SIGKILL the api, the worker, the Temporal dev server and PostgreSQL
# mid-send, mid-reservation, mid-transfer, mid-webhook and across continue-as-new; also two apis and two workers.
# Its own PostgreSQL cluster and Temporal server; `make test` leaves tests/faults out.
faults: install
	$(PY) -m pytest -q tests/faults

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy core domain storage workflows activities api workers channels

# Mutation testing of the routing core (domain/routing): prints the score; see [tool.mutmut] in pyproject.toml.
mutation: install
	rm -rf mutants
	$(VENV)/bin/mutmut run
	$(PY) -m scripts.mutation_score

# The README's screenshots (docs/screenshots), taken by the browser tests that show each view.
screenshots: install browser-deps
	PARLEY_SCREENSHOTS=update $(PY) -m pytest -q tests/browser

bench: install
	$(PY) -m bench

clean:
	rm -rf .data/test-logs .pytest_cache .mypy_cache .ruff_cache mutants
