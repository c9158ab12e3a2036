"""Every setting of a run in one typed object: the defaults, and the environment variables that change them.

The bottom of the house: anything may import it, it imports nothing of the project. Read it with
`settings()` where a value is used (the environment is read at that moment, so a test or an operator
may change a variable between runs); a malformed value is a one-line `SettingsError`.

| variable | setting | default |
|---|---|---|
| ``WIREHOUSE_DB`` | `Settings.db_path` | ``warehouse/wirehouse.duckdb`` |
| ``WIREHOUSE_SOURCES`` | `Settings.sources_file` | ``sources.toml`` |
| ``WIREHOUSE_CRON`` | `Settings.cron` | ``*/30 * * * *`` |
| ``WIREHOUSE_BATCH_PAGES`` | `Settings.batch_pages` | 200 |
| ``WIREHOUSE_WORKERS`` | `Settings.workers` | the CPU count (0 or 1: in-process) |
| ``WIREHOUSE_POOL_MIN_ITEMS`` | `Settings.pool_min_items` | 100 |
| ``WIREHOUSE_LOCK_WAIT`` | `Settings.lock_wait` | 30 s |
| ``WIREHOUSE_READER_WAIT`` | `Settings.reader_wait` | 300 s |
| ``WIREHOUSE_STAGING`` | `Settings.staging` | beside the warehouse |
| ``WIREHOUSE_LOCAL_SERVER`` | `Settings.use_local_server` | 1 |
| ``WIREHOUSE_LOCAL_SERVER_URL`` | `Settings.local_server_url` | ``http://127.0.0.1:4200/api`` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Callable

DEFAULT_DB = "warehouse/wirehouse.duckdb"
DEFAULT_SOURCES = "sources.toml"
DEFAULT_CRON = "*/30 * * * *"
LOCAL_API_URL = "http://127.0.0.1:4200/api"   # where `make serve` puts its server
QUERY_MEMORY_LIMIT = "1GB"   # DuckDB's memory cap for an analyst's query (`wirehouse query --memory-limit`)
TRANSFORM_CHUNK = 25   # pages per transform task; fixed, so rows never depend on the number of workers

# The Prefect settings every process of a run needs (the CLI, `make`, served runs, prefect.yaml).
PREFECT_ENVIRONMENT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",   # offline: telemetry errors and "database is locked"
    "DO_NOT_TRACK": "1",
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",      # hashing DataFrame inputs is slow, connections fail
}


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take (one line)."""


def _cpus() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """What a run uses; see the module's table for the variable behind each field."""

    db_path: str = DEFAULT_DB
    sources_file: str = DEFAULT_SOURCES
    cron: str = DEFAULT_CRON
    batch_pages: int = 200            # fetched, transformed and loaded together: memory stays flat
    workers: int = field(default_factory=_cpus)
    pool_min_items: int = 100         # fewer new pages than this: no worker processes (their start costs ~2 s)
    lock_wait: float = 30.0           # a second run waits this long for the writer
    reader_wait: float = 300.0        # a write waits this long for readers to close the file
    staging: str | None = None        # a shared staging root (workers on several hosts)
    use_local_server: bool = True     # run on the local Prefect server when one answers
    local_server_url: str = LOCAL_API_URL


# field -> (variable, parser)
_ENV: dict[str, tuple[str, Callable[[str], object]]] = {
    "db_path": ("WIREHOUSE_DB", str),
    "sources_file": ("WIREHOUSE_SOURCES", str),
    "cron": ("WIREHOUSE_CRON", str),
    "batch_pages": ("WIREHOUSE_BATCH_PAGES", lambda v: _positive(int(v))),
    "workers": ("WIREHOUSE_WORKERS", lambda v: _at_least_zero(int(v))),
    "pool_min_items": ("WIREHOUSE_POOL_MIN_ITEMS", lambda v: _at_least_zero(int(v))),
    "lock_wait": ("WIREHOUSE_LOCK_WAIT", lambda v: _at_least_zero(float(v))),
    "reader_wait": ("WIREHOUSE_READER_WAIT", lambda v: _at_least_zero(float(v))),
    "staging": ("WIREHOUSE_STAGING", lambda v: v or None),
    "use_local_server": ("WIREHOUSE_LOCAL_SERVER", lambda v: v.strip() != "0"),
    "local_server_url": ("WIREHOUSE_LOCAL_SERVER_URL", str),
}


def _positive(value):
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _at_least_zero(value):
    if value < 0:
        raise ValueError("must not be negative")
    return value


def settings(environ: dict[str, str] | None = None) -> Settings:
    """The settings now: the defaults, changed by the environment.

    Raises:
        SettingsError: a variable that is set but malformed, named with its value.
    """
    environ = os.environ if environ is None else environ
    values = {}
    for name, (variable, parse) in _ENV.items():
        raw = environ.get(variable)
        if raw is None or raw == "" and name != "staging":
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            reason = str(exc) if "must" in str(exc) else "not a number"
            raise SettingsError(f"{variable}={raw!r}: {reason}") from None
    return Settings(**values)


def variables() -> dict[str, str]:
    """Setting name -> its environment variable (for the README and the CLI's help)."""
    assert set(_ENV) == {f.name for f in fields(Settings)}, "every setting has a variable"
    return {name: variable for name, (variable, _) in _ENV.items()}
