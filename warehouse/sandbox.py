"""The read side's door: opening the warehouse to read it as it is, and the query sandbox.

`wirehouse query` runs an analyst's SQL here: on the warehouse file alone, read-only, with a
timeout, a memory cap and no spilling to disk (`warehouse.duckdb_adapter.sandboxed`); rows come out in
chunks, never all held at once. The read commands (status, search, export, report) check the file
with `check_readable` first and read inside `reading`, so an older schema is named in one line.

Errors are `ReadError`: one line, ``usage`` true when the operator's input is at fault (bad SQL, a
write, a bad limit, a missing or foreign file), false when the query hit its timeout or memory cap.
Nothing here prints or exits: the command line does (`wirehouse.cli`).
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from wirehouse.settings import QUERY_MEMORY_LIMIT

QUERY_TIMEOUT = 60.0   # seconds (`wirehouse query --timeout`)
COUNT_CAP = 1_000_000   # rows counted past the shown ones in table format (streamed, never held)
CHUNK_VECTORS = 16   # 16 x 2048 rows per chunk written: streamed, yet not row by row
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.I)
_PARAMS_LINE = re.compile(r"^--\s*params:(.*)$", re.M)
_PARAM_USE = re.compile(r"\$([A-Za-z_]\w*)")


class ReadError(Exception):
    """A read refused or stopped, in one line.

    Attributes:
        usage: True when the operator's input is at fault (exit 2 on the command line), False when
            the query reached a limit (timeout, memory: exit 1).
    """

    def __init__(self, message: str, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


# ---------------------------------------------------------------- opening to read


def check_readable(db_path: str | Path) -> int:
    """Refuse a missing, foreign or newer warehouse file before any work. Nothing is written: an
    older wirehouse warehouse is read as it is.

    Args:
        db_path: the warehouse file.

    Returns:
        The warehouse's schema version.

    Raises:
        ReadError: no such file, not a wirehouse warehouse, or one a newer wirehouse wrote.
        WarehouseBusy: a writer held the file too long.
    """
    from wirehouse.warehouse.duckdb_adapter import WarehouseError, open_reader

    if not Path(db_path).exists():
        raise ReadError(f"{db_path}: no such warehouse file (run `wirehouse ingest` or `make demo` first)")
    try:
        con, version = open_reader(db_path)
    except WarehouseError as exc:
        raise ReadError(str(exc)) from None
    con.close()
    return version


@contextlib.contextmanager
def reading(db_path: str | Path) -> Iterator[int]:
    """A read's scope: the file is checked first (`check_readable`), and a read that needs what an
    older schema lacks becomes one `ReadError` saying to migrate.

    Args:
        db_path: the warehouse file.

    Yields:
        The warehouse's schema version.
    """
    import duckdb

    version = check_readable(db_path)
    try:
        yield version
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        from wirehouse.warehouse.duckdb_adapter import outdated_hint

        if version >= _latest_version():
            raise
        raise ReadError(f"{str(exc).splitlines()[0]}; {outdated_hint(db_path, version)}") from None


def _latest_version() -> int:
    from wirehouse.warehouse.duckdb_adapter import latest_version

    return latest_version()


# ---------------------------------------------------------------- query text and parameters


@dataclass(frozen=True)
class SavedQuery:
    """An analyst's saved query (``warehouse/queries/NAME.sql``), as `wirehouse query --list` shows it.

    Attributes:
        name: the file's name without .sql: what `wirehouse query NAME` takes.
        description: the file's leading comment, as one line (the ``-- params:`` line left out).
        params: each ``$name`` the SQL uses, in the order the ``-- params:`` line declares them, with
            its default there ('' when declared empty; None when not declared: a value must be given).
        sql: the text.
    """

    name: str
    description: str
    params: dict[str, str | None]
    sql: str


def saved_queries() -> list[SavedQuery]:
    """The analysts' saved queries, by name (the code's own SQL in ``warehouse/internal/`` is not one)."""
    from wirehouse.warehouse.duckdb_adapter import QUERIES_DIR

    return [_saved(path.stem, path.read_text(encoding="utf-8")) for path in sorted(QUERIES_DIR.glob("*.sql"))]


def _saved(name: str, sql: str) -> SavedQuery:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        if not _PARAMS_LINE.match(line):
            lines.append(line[2:].strip())
    used, defaults = _declared(sql)
    order = [n for n in defaults if n in used] + sorted(used - set(defaults))
    return SavedQuery(name, " ".join(" ".join(lines).split()), {n: defaults.get(n) for n in order}, sql)


def _declared(sql: str) -> tuple[set[str], dict[str, str]]:
    """The ``$name`` parameters ``sql`` uses (outside comments and string literals), and the defaults
    its ``-- params: a=1 b=x`` lines declare, in their order."""
    used = set(_PARAM_USE.findall(re.sub(r"--[^\n]*|'(?:[^']|'')*'", "", sql)))
    defaults: dict[str, str] = {}
    for line in _PARAMS_LINE.findall(sql):
        for pair in line.split():
            name, _, value = pair.partition("=")
            defaults[name] = value
    return used, defaults


def resolve_sql(text: str) -> str:
    """A saved query's SQL when ``text`` is a name (an identifier), else ``text`` itself (SQL).

    A bare identifier that names no saved query is SQL only when DuckDB parses it (``SHOW``,
    ``DESCRIBE``); else it is a mistyped name, refused in one line with the closest names.

    Args:
        text: SQL, or the name of a saved query in warehouse/queries/ (without .sql).

    Returns:
        The SQL to run.

    Raises:
        ReadError: an identifier that is neither a saved query's name nor a statement.
    """
    name = text.strip()
    if not name.isidentifier():
        return text
    known = {query.name: query for query in saved_queries()}
    if name in known:
        return known[name].sql
    import duckdb

    try:
        duckdb.extract_statements(name)
    except duckdb.Error:
        raise ReadError(unknown_query(name, list(known))) from None
    return text


def unknown_query(name: str, known: list[str]) -> str:
    """The one line for a name that is no saved query: the closest names, and where the list is."""
    import difflib

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"no saved query named {name!r}{hint} (`wirehouse query --list` shows them all)"


def query_params(sql: str, given: list[str]) -> dict[str, str]:
    """The named parameters a query uses: its ``-- params: a=1 b=x`` defaults, then NAME=VALUE pairs.

    Args:
        sql: the query.
        given: "NAME=VALUE" strings (as ``--param`` takes them), later ones win.

    Returns:
        A value for every ``$name`` the query uses, and only those.

    Raises:
        ReadError: a malformed pair, a parameter the query does not use, or one with no value.
    """
    used, values = _declared(sql)
    for pair in given:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ReadError(f"--param takes NAME=VALUE, got {pair!r}")
        if name not in used:
            raise ReadError(f"the query has no parameter ${name} (it uses: {', '.join(sorted(used)) or 'none'})")
        values[name] = value
    missing = sorted(used - set(values))
    if missing:
        raise ReadError(f"the query needs a value for ${missing[0]}: add --param {missing[0]}=...")
    return {name: values[name] for name in used}


# ---------------------------------------------------------------- the sandbox


@dataclass
class Rows:
    """A running query's result, read in chunks (each read counts against the query's timeout)."""

    columns: list[str]
    _result: object

    def head(self, n: int, count_cap: int = COUNT_CAP) -> tuple[list[tuple], int, bool]:
        """The first ``n`` rows, and how many there are in all, counted without holding them.

        Returns:
            (rows, total, capped): ``capped`` is true when counting stopped at ``n + count_cap`` rows.
        """
        rows = self._result.fetchmany(n + 1)
        total = len(rows)
        if total > n:
            while total < n + count_cap:
                more = self._result.fetchmany(10_000)
                if not more:
                    break
                total += len(more)
            else:
                return rows[:n], total, True
        return rows[:n], total, False

    def frames(self, vectors: int = CHUNK_VECTORS) -> Iterator:
        """The rows as pandas DataFrames of up to ``vectors`` x 2048 rows; the first may be empty
        (so a writer still learns the columns), no later one is."""
        first = True
        while True:
            frame = self._result.fetch_df_chunk(vectors)
            if frame.empty and not first:
                return
            yield frame
            first = False
            if frame.empty:
                return


@contextlib.contextmanager
def run_query(db_path: str | Path, sql: str, params: dict[str, str] | None = None,
              timeout: float = QUERY_TIMEOUT, memory_limit: str | None = None) -> Iterator[Rows | None]:
    """Run read-only SQL in the sandbox; read its rows inside the ``with`` block.

    The query is interrupted after ``timeout`` seconds (reading its rows included) or at Ctrl-C in
    the main thread; DuckDB's memory is capped at ``memory_limit`` and nothing spills to disk.

    Args:
        db_path: the warehouse file (checked already: `check_readable`).
        sql: one statement.
        params: values of its ``$name`` parameters (`query_params`).
        timeout: seconds, positive.
        memory_limit: a DuckDB size such as "512MB" (default `QUERY_MEMORY_LIMIT`).

    Yields:
        `Rows`, or None for a statement that returns no rows.

    Raises:
        ReadError: a bad limit, a refused or failing statement (usage), or a limit reached (not usage).
        KeyboardInterrupt: Ctrl-C stopped the query.
        WarehouseBusy, WarehouseError: the file could not be opened.
    """
    import duckdb

    from wirehouse.warehouse.duckdb_adapter import open_reader, outdated_hint, sandboxed

    memory_limit = memory_limit or QUERY_MEMORY_LIMIT
    if not _MEMORY.match(memory_limit):
        raise ReadError(f"--memory-limit takes a size like 512MB or 2GB, got {memory_limit!r}")
    if timeout <= 0:
        raise ReadError("--timeout must be positive")
    con, version = open_reader(db_path, config=sandboxed(memory_limit), wait=10)
    why: list[str] = []

    def stop(reason: str) -> None:
        why.append(reason)
        con.interrupt()

    timer = threading.Timer(timeout, stop, ["timeout"])
    timer.daemon = True
    timer.start()
    try:
        with _on_sigint(lambda: stop("interrupted")):
            result = con.execute(sql, params) if params else con.execute(sql)
            if result.description is None:
                yield None
            else:
                yield Rows([d[0] for d in result.description], result)
    except duckdb.Error as exc:
        if why:
            if why[0] == "interrupted":
                raise KeyboardInterrupt from None
            raise ReadError(f"query stopped after {timeout:g} s (its --timeout)", usage=False) from None
        message = str(exc).splitlines()[0]
        lower = message.lower()
        if "read-only" in lower or "read only" in lower:
            raise ReadError(f"the warehouse is opened read-only; writes are refused ({message})") from None
        if any(k in lower for k in ("permission error", "external access", "configuration has been locked")):
            raise ReadError(f"queries may only read the warehouse: no files, extensions or settings ({message})") from None
        if "out of memory" in lower:
            raise ReadError(f"query needs more than its memory limit of {memory_limit} (--memory-limit): {message}",
                            usage=False) from None
        hint = ""
        if isinstance(exc, (duckdb.CatalogException, duckdb.BinderException)) and version < _latest_version():
            hint = "; " + outdated_hint(db_path, version)
        raise ReadError(f"query failed: {message}{hint}") from None
    finally:
        timer.cancel()
        timer.join()   # a live timer thread at exit would keep the connection (and DuckDB) alive
        con.close()


@contextlib.contextmanager
def _on_sigint(action):
    """Ctrl-C calls ``action`` (interrupting DuckDB) instead of raising inside a fetch."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: action())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
