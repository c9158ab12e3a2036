"""The DuckDB adapter: connect (waiting out other processes), the per-run writer lock, migrate,
set-based idempotent upserts, and the read-only opener.

Where the SQL lives: the schema is in the numbered migrations (``migrations/*.sql``), the analysts'
saved queries in ``queries/*.sql`` (`read_query`; what `wirehouse query NAME` runs) and the SQL the
code runs for itself (loads, run ledger, status, search, replay) in ``internal/*.sql`` (`internal_sql`);
this module orders and parameterizes them. The SQL it
runs inline is the adapter's own plumbing, not warehouse logic: the ``schema_migrations``
bookkeeping (create, read, record), the catalog look-ups that tell a wirehouse warehouse from a
foreign DuckDB file (``information_schema``, ``duckdb_databases()``), the transaction statements,
and the upsert's ``INSERT ... ON CONFLICT`` (or anti-join) statement, which is generated per table
from its key (`TABLE_KEYS`) and the frame's columns, so it cannot be a fixed .sql file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pandas as pd

from wirehouse import stopping
from wirehouse.errors import storage_error
from wirehouse.settings import QUERY_MEMORY_LIMIT, Settings, SettingsError, settings

logger = logging.getLogger(__name__)

WAREHOUSE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
QUERIES_DIR = WAREHOUSE_DIR / "queries"   # the analysts' saved queries (`wirehouse query NAME`, `--list`)
INTERNAL_DIR = WAREHOUSE_DIR / "internal"   # the code's own SQL: not a saved query, not listed
READ_WAIT_SECONDS = 30.0   # a read waits this long for a writer's moment with the file
_WAIT_NOTE_EVERY = 10.0   # seconds between "still waiting" log lines
_MIGRATION_NAME = re.compile(r"^(\d{3,})_([\w-]+)\.sql$")

# Natural keys of each table: upserts conflict on these.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "pages": ("content_hash",),
    "url_state": ("url",),
    "articles": ("article_id",),
    "entities": ("entity_id",),
    "mentions": ("article_id", "start_char", "end_char"),
    "events": ("event_id",),
    "fetch_log": ("run_id", "url", "kind"),
    "quarantine": ("table_name", "row_key"),
    "runs": ("run_id",),
}
# Keys `upsert` enforces with an anti-join instead of a PRIMARY KEY index (insert-only tables, where
# the index would triple the insert cost): rows whose key exists are skipped, never updated.
# (Migration 003 names this module by its old name, warehouse/loader.py: a migration's text is
# checksummed once applied, so it is left as it is.)
LOADER_KEYED_TABLES = frozenset({"mentions"})


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file."""


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or migrated."""


def check_writable(folder: str | Path, option: str = "--db") -> None:
    """Refuse a folder this process cannot write into (read-only, not ours, full), before any work:
    a probe file is written there and removed at once.

    Raises:
        StorageError: one line naming the folder and the cause.
        WarehouseError: another reason the probe failed.
    """
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".wirehouse-probe-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
    except OSError as exc:
        raise storage_error(exc, f"in {folder}", option=option) or WarehouseError(
            f"{folder}: cannot write there ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def list_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The numbered .sql migrations in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    return found


def read_query(name: str) -> str:
    """The text of an analyst's saved query in warehouse/queries/ (name without .sql)."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def internal_sql(name: str) -> str:
    """The text of the code's own SQL in warehouse/internal/ (name without .sql): statements that
    write, or need parameters or registered frames only the code supplies."""
    return (INTERNAL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "different configuration" in text


# For analysts' ad-hoc SQL: the warehouse file only. No other files read or written (COPY, EXPORT,
# read_csv, ATTACH), no spilling to a temporary folder either, no extensions installed or loaded,
# a memory cap, and the settings cannot be changed back.


def sandboxed(memory_limit: str = QUERY_MEMORY_LIMIT) -> dict:
    """DuckDB settings for a read-only analyst connection that writes nowhere."""
    return {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "temp_directory": "",   # a big sort fails with "out of memory" instead of writing <db>.tmp/
        "allow_persistent_secrets": False,
        "secret_directory": ".",   # not the home folder's path in duckdb_settings() (nothing is stored)
        "memory_limit": memory_limit,
        "lock_configuration": True,
    }


def reader_wait_seconds() -> float:
    """How long a write waits for other processes (notebooks, `wirehouse query`) to close the file:
    `Settings.reader_wait` (``WIREHOUSE_READER_WAIT``)."""
    try:
        return settings().reader_wait
    except SettingsError as exc:
        logger.warning("%s; waiting %.0f s", exc, Settings().reader_wait)
        return Settings().reader_wait


def connect(
    db_path: str | Path, read_only: bool = False, wait: float | None = None, config: dict | None = None,
    stoppable: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds it (with a log line every 10 s).

    Args:
        db_path: the DuckDB file.
        read_only: open read-only (the file must exist).
        wait: seconds to keep retrying on a lock conflict (default: `READ_WAIT_SECONDS` to read,
            `reader_wait_seconds` to write: a scheduled run outwaits a notebook).
        config: DuckDB settings for the connection (e.g. `sandboxed()`).
        stoppable: a stop request ends the wait (False: for recording the stop itself).

    Returns:
        An open connection.

    Raises:
        WarehouseBusy: the file stayed locked by another process (the message gives the real wait).
        WarehouseError: the file is missing (read-only) or not a DuckDB database.
        stopping.RunStopped: a stop was requested while waiting.
    """
    path = Path(db_path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no such warehouse file")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if wait is None:
        wait = READ_WAIT_SECONDS if read_only else reader_wait_seconds()
    started = time.monotonic()
    deadline = started + wait
    next_note = started + _WAIT_NOTE_EVERY
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                full = None if read_only else storage_error(exc, fallback=path)
                raise full or WarehouseError(f"{path}: cannot open warehouse: {str(exc).splitlines()[0]}") from None
            now = time.monotonic()
            if now >= deadline:
                raise WarehouseBusy(
                    f"{path}: the warehouse is in use by another process (waited {now - started:.1f} s); "
                    "try again when it finishes"
                ) from None
            if now >= next_note:
                logger.warning("%s: another process holds the warehouse (a reader?); waited %.0f s of %.0f s",
                               path, now - started, wait)
                next_note = now + _WAIT_NOTE_EVERY
            if stoppable:
                stopping.check()
                stopping.sleep(delay)
            else:
                time.sleep(delay)
            delay = min(delay * 2, 1.0)


def identity(db_path: str | Path) -> Path:
    """The one name of a warehouse file: its resolved path (symlinks followed, relative made absolute).

    Two spellings of one file (``./w.duckdb``, an absolute path, a symlink) give the same identity;
    the writer lock and the staging root are keyed on it.
    """
    return Path(os.path.realpath(db_path))


def _lock_files(db_path: str | Path) -> list[Path]:
    """The lock files of a warehouse: one beside its resolved path, and, once the file exists, one
    keyed on its device and inode (a hard link is a second path to the same inode)."""
    resolved = identity(db_path)
    files = [Path(str(resolved) + ".lock")]
    with contextlib.suppress(OSError):
        st = resolved.stat()
        files.append(Path(tempfile.gettempdir()) / "wirehouse-locks" / f"{st.st_dev}-{st.st_ino}.lock")
    return files


def lock_wait_seconds() -> float:
    """How long a run waits for the writer: `Settings.lock_wait` (``WIREHOUSE_LOCK_WAIT``)."""
    try:
        return settings().lock_wait
    except SettingsError as exc:
        logger.warning("%s; waiting %.0f s", exc, Settings().lock_wait)
        return Settings().lock_wait


@contextlib.contextmanager
def writer_lock(db_path: str | Path, wait: float | None = None,
                on_wait: Callable[[float, float], None] | None = None) -> Iterator[None]:
    """Hold the one-writer-per-warehouse lock for a whole run, whatever name the file is given.

    The lock is keyed on the file's identity (`identity`, plus device and inode): a symlink or a
    relative path to a file another run writes waits like the same path would. A second run waits
    up to ``wait`` seconds (default: `lock_wait_seconds`), then raises `WarehouseBusy`; while it
    waits, ``on_wait(seconds waited, seconds left)`` is told so at once and then about every second.
    """
    wait = lock_wait_seconds() if wait is None else wait
    started = time.monotonic()
    deadline = started + wait
    told = -1.0   # when on_wait was last told (monotonic)
    held: list = []
    try:
        for path in _lock_files(db_path):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a+")
            except OSError as exc:   # a read-only or full folder: one line, not a traceback
                full = storage_error(exc)
                if full is None:
                    raise
                raise full from None
            held.append(handle)
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WarehouseBusy(
                            f"{db_path}: another run is writing to this warehouse "
                            f"(waited {time.monotonic() - started:.1f} s)"
                        ) from None
                    stopping.check()   # a run stopped while it waits for the writer leaves at once
                    now = time.monotonic()
                    if on_wait is not None and now - told >= 1.0:
                        told = now
                        on_wait(now - started, max(deadline - now, 0.0))
                    stopping.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        yield
    finally:
        for handle in reversed(held):
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def migrate(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``; each in its own transaction.

    Returns:
        The versions applied now.

    Raises:
        WarehouseError: the database is not a wirehouse warehouse (nothing is written into it).
    """
    if stored_version(con) is None:
        path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
        raise WarehouseError(_foreign(path or "the database", con))
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0]: row[1] for row in con.execute("SELECT version, checksum FROM schema_migrations").fetchall()}
    known = list_migrations(directory)
    _refuse_newer_schema(max(applied, default=0), known, "the warehouse")
    done = []
    for migration in known:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                logger.warning("migration %03d_%s changed after it was applied", migration.version, migration.name)
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                [migration.version, migration.name, migration.checksum, datetime.now(timezone.utc)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        logger.info("applied migration %03d_%s", migration.version, migration.name)
        done.append(migration.version)
    return done


def _refuse_newer_schema(stored: int, known: list[Migration], where: str) -> None:
    newest = max((m.version for m in known), default=0)
    if stored > newest:
        raise WarehouseError(
            f"{where}: schema version {stored} is newer than this wirehouse knows ({newest}); "
            "use the newer wirehouse that wrote it"
        )


def check_file(db_path: str | Path) -> None:
    """Before a run: the warehouse file, if it exists, is an empty DuckDB database or a wirehouse
    warehouse with a schema this code knows; its folder exists and can be written (the lock file and
    the staging folder go there too). Nothing is written but a probe file, removed at once.

    Raises:
        StorageError: the folder or the file cannot be written (read-only, not ours, full).
        WarehouseError: with a one-line reason (a foreign DuckDB file is never written into).
    """
    path = Path(db_path)
    if path.is_dir():
        raise WarehouseError(f"{path}: is a directory, not a DuckDB file")
    if not path.parent.is_dir():
        raise WarehouseError(f"{path}: folder {path.parent} does not exist")
    check_writable(path.parent)
    if not path.exists():
        return
    try:
        open(path, "r+b").close()   # opened for writing, nothing written
    except OSError as exc:
        raise storage_error(exc, path) or WarehouseError(f"{path}: cannot open for writing ({exc.strerror or exc})") from None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if _is_lock_error(exc):
            return   # another run holds it; this run will wait for the writer lock
        raise WarehouseError(f"{path}: not a DuckDB warehouse ({str(exc).splitlines()[0]})") from None
    try:
        if stored_version(con, str(path)) is None and _user_tables(con):
            raise WarehouseError(_foreign(path, con))
    finally:
        con.close()


def _user_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
    ).fetchall()]


def _foreign(path: str | Path, con: duckdb.DuckDBPyConnection) -> str:
    tables = _user_tables(con)
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    held = f"it holds {shown}" if tables else "it is empty"
    return f"{path}: not a wirehouse warehouse ({held}, and no wirehouse schema); give another --db"


def stored_version(con: duckdb.DuckDBPyConnection, where: str = "the warehouse") -> int | None:
    """The newest wirehouse migration applied to a database: None when it is not a wirehouse
    warehouse (no ``schema_migrations``, or one that records other migrations), 0 when empty.

    Raises:
        WarehouseError: the warehouse was written by a newer wirehouse.
    """
    if not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'schema_migrations'"
    ).fetchone()[0]:
        return None if _user_tables(con) else 0
    try:
        applied = dict(con.execute("SELECT version, name FROM schema_migrations").fetchall())
    except duckdb.Error:
        return None   # a table of that name with other columns: somebody else's
    known = {m.version: m.name for m in list_migrations()}
    if any(known.get(v, name) != name for v, name in applied.items()):
        return None
    version = max(applied, default=0)
    _refuse_newer_schema(version, list_migrations(), where)
    return version


def latest_version() -> int:
    """The schema version this code writes."""
    return max((m.version for m in list_migrations()), default=0)


def open_reader(db_path: str | Path, config: dict | None = None, wait: float = 10.0) -> tuple[duckdb.DuckDBPyConnection, int]:
    """Open a wirehouse warehouse read-only, as it is: never created, migrated or written.

    Args:
        db_path: the warehouse file.
        config: DuckDB settings (e.g. `sandboxed`).
        wait: seconds to wait while a writer holds the file.

    Returns:
        (connection, stored schema version): an older warehouse is read as it is.

    Raises:
        WarehouseError: missing, not DuckDB, not a wirehouse warehouse, or written by a newer wirehouse.
        WarehouseBusy: a writer held it for longer than ``wait``.
    """
    path = Path(db_path)
    if path.is_dir():
        raise WarehouseError(f"{path}: is a directory, not a DuckDB file")
    con = connect(path, read_only=True, wait=wait, config=config)
    try:
        version = stored_version(con, str(path))
        if not version:
            raise WarehouseError(_foreign(path, con))
    except BaseException:
        con.close()
        raise
    return con, version


def outdated_hint(db_path: str | Path, version: int) -> str:
    """One line for a read that needs tables or columns an older warehouse lacks."""
    return (f"the warehouse has schema version {version}, this wirehouse knows {latest_version()}: "
            f"run `wirehouse migrate --db {db_path}` (or any ingest) first")


def migrate_file(db_path: str | Path, wait: float | None = None) -> tuple[int, list[int]]:
    """Bring a warehouse file to the current schema, under the writer lock (`wirehouse migrate`).

    Returns:
        (the version it had, the versions applied now).

    Raises:
        WarehouseError: not a wirehouse warehouse (a foreign file is never written into).
    """
    check_file(db_path)
    with writer_lock(db_path, wait):
        con = connect(db_path)
        try:
            before = stored_version(con, str(db_path)) or 0
            return before, migrate(con)
        finally:
            con.close()


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    update: tuple[str, ...] | None = None,
    changed_when: str | None = None,
    fill_only: bool = False,
) -> tuple[int, int]:
    """Insert a DataFrame set-based; rows whose key exists are updated (or ignored).

    In-batch duplicates are dropped first (last one wins): DuckDB's ON CONFLICT would
    silently keep the first.

    Args:
        con: an open connection (the caller owns the transaction).
        table: the target table; its key comes from `TABLE_KEYS`.
        frame: rows to load; columns are matched by name, missing ones load as NULL.
        update: the columns to overwrite on conflict; None or () means keep the stored row.
        changed_when: a column whose difference (stored vs incoming) makes an update worth doing.
        fill_only: update only stored NULLs (COALESCE): what is known stays, what was unknown is filled.

    Returns:
        (inserted, updated) row counts.
    """
    if frame is None or frame.empty:
        return 0, 0
    keys = TABLE_KEYS[table]
    frame = frame.drop_duplicates(subset=list(keys), keep="last")
    columns = [c for c in table_columns(con, table) if c in frame.columns]
    view = f"_incoming_{table}"
    con.register(view, frame[columns])
    try:
        key_match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM i.{k}" for k in keys)
        existing = con.execute(f"SELECT count(*) FROM {view} i JOIN {table} t ON {key_match}").fetchone()[0]
        column_list = ", ".join(columns)
        sql = f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {view} "
        if table in LOADER_KEYED_TABLES:
            if update:
                raise ValueError(f"{table} rows are never updated in place")
            sql = (
                f"INSERT INTO {table} ({column_list}) SELECT {', '.join(f'i.{c}' for c in columns)} FROM {view} i"
                f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {key_match})"
            )
        elif update:
            if fill_only:
                sets = ", ".join(f"{c} = COALESCE({table}.{c}, excluded.{c})" for c in update)
            else:
                sets = ", ".join(f"{c} = excluded.{c}" for c in update)
            sql += f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
            if changed_when:
                sql += f" WHERE {table}.{changed_when} IS DISTINCT FROM excluded.{changed_when}"
        else:
            sql += f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        affected = con.execute(sql).fetchone()[0]
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction must report its own error
            con.unregister(view)
    inserted = len(frame) - existing
    return inserted, max(affected - inserted, 0)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a failed load leaves the warehouse as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
