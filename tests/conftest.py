"""Shared fixtures: one Prefect test harness and one sample-site server per test session, and loopback
HTTP servers answering from a test's own routing table."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

# The code is tested as installed (wirehouse.tasks, wirehouse.flows, ...). `python -m pytest` puts the
# checkout's root on sys.path, which would also make its folders importable under their bare names
# (`tasks`, `flows`) and hide an import that fails for every user: take it off.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

# Before anything imports prefect: quiet, offline, no input hashing.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_TASKS_DEFAULT_NO_CACHE", "true")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Each test process gets its own Prefect home: the CLI runs' temporary servers otherwise share one
# SQLite database (~/.prefect/prefect.db) across the xdist workers and wait on each other's locks.
_PREFECT_HOME = tempfile.mkdtemp(prefix="wirehouse-test-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
from wirehouse.logs import prefect_environment  # noqa: E402  (imports no prefect)

prefect_environment()

import pytest  # noqa: E402


def pytest_collection_modifyitems(items):
    """A test that needs the Prefect harness (directly, or through a flow-run fixture such as
    sample_warehouse) is slow whatever its own body does: `make test-fast` must not start it."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for the session (about 9 s to start: request it, don't autouse it)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def loopback():
    """Starts loopback HTTP servers: ``loopback(routes, host=...)`` -> a serving `LoopbackServer`
    (wirehouse/loopback.py), stopped when the module's tests are done."""
    from wirehouse.loopback import LoopbackServer

    started: list[LoopbackServer] = []

    def start(routes, **kwargs) -> LoopbackServer:
        started.append(LoopbackServer(routes, **kwargs).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sample_site():
    """The bundled sample news site, served on loopback for the whole session."""
    from wirehouse.samplesite import SampleSite

    site = SampleSite(port=0)
    site.start()
    yield site
    site.stop()


@pytest.fixture(scope="session")
def sample_sources(sample_site, tmp_path_factory):
    """A sources file pointing at the running sample site."""
    path = tmp_path_factory.mktemp("sources") / "sources.toml"
    path.write_text(sample_site.render_sources(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_warehouse(prefect_harness, sample_sources, tmp_path_factory):
    """A warehouse loaded from the sample site by one real flow run; tests only read it (copy it to write)."""
    from wirehouse.flows.ingest import ingest

    db = tmp_path_factory.mktemp("sample-warehouse") / "wirehouse.duckdb"
    state = ingest(sources_file=str(sample_sources), db_path=str(db), return_state=True)
    assert state.is_completed(), state.message
    return db
