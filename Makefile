# newsmill: `make run` ingests the bundled samples, `make test` runs the suite.
# Both create .venv and install the pinned set (requirements.lock) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs only the core; the tests also run the Dask, Ray, S3 and spaCy paths.
CORE_STAMP := $(VENV)/.core-stamp
STAMP := $(VENV)/.test-stamp
# mypy reads the installed layout (newsmill.flows, …) through links to the top-level folders
MYPY_SRC := $(VENV)/mypy-src/newsmill
# A project-local Prefect home: migrated once; then each run starts its temporary API, or
# reports to the server `make server` left running for this home.
export PREFECT_HOME ?= $(CURDIR)/.prefect-home
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: run server server-stop test test-fast lint format docs lock clean

$(CORE_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e .
	touch $(CORE_STAMP)

$(STAMP): $(CORE_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,dask,ray,s3,spacy]'
	touch $(STAMP)

$(MYPY_SRC):
	mkdir -p $@
	for d in flows tasks schemas; do ln -sfn ../../../$$d $@/$$d; done

run: $(CORE_STAMP)
	$(BIN)/newsmill run data/samples --lake data/lake --catalog data/newsmill.duckdb

# A Prefect server for the project's home, in the background: runs with no PREFECT_API_URL
# report to it (and show in its UI on http://127.0.0.1:4200) instead of each starting a
# temporary API; `make server-stop` stops it.
server: $(CORE_STAMP)
	$(BIN)/prefect server start --background

server-stop: $(CORE_STAMP)
	$(BIN)/prefect server stop

test: $(STAMP) $(MYPY_SRC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# 3 test workers on 2 cores: end-to-end tests spend part of their time waiting on
	# subprocesses and servers; the longest run in two lanes that start first
	# (tests/conftest.py). Measured on 2 cores, CPU-bound, the spread being the machine's
	# pace over the day: 612-616 tests (2026-12-06, later) 2:31-3:03, typically ~2:45
	# (270-295 s of CPU machine-wide); 611 tests (earlier) -n 3 2:50-3:24 (310-366 s), -n 4
	# 3:01-3:36 (347-415 s: a 4th worker's imports and contention). -n 6 and --dist
	# worksteal were slower.
	# bytecode for the project's own modules, which an environment with
	# PYTHONDONTWRITEBYTECODE=1 never caches: every process of the suite that imports
	# newsmill (CLI runs, forkservers, flow-run and cluster workers: dozens) would compile
	# it again, ~0.1 s of CPU each
	$(BIN)/python -m compileall -q flows tasks schemas tests > /dev/null
	$(BIN)/pytest -q -n 3 --dist load

# Unit and in-process tests only (no CLI runs, servers, clusters, builds): under a minute.
test-fast: $(STAMP)
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist load -m "not e2e"

lint: $(STAMP) $(MYPY_SRC)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

docs: $(STAMP)
	$(BIN)/python -m newsmill.schemas.docs > docs/tables.md
	$(BIN)/python -m newsmill.schemas.docs --format json > docs/tables.json
	$(BIN)/python -m newsmill.schemas.docs --format dbt > docs/sources.yml
	$(BIN)/python -m newsmill.flows.settings > docs/settings.md

# Re-pin after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^newsmill' > requirements.lock

clean:
	rm -rf data/lake .prefect-home
