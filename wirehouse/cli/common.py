"""What every command group shares: exit codes, the one-line error, tables for the terminal, and
turning write failures and the storage's read errors into one line with its exit code."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A one-line error with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Stopped(CliError):
    """The run was stopped by a signal: one line, exit 128 + the signal's number."""


@contextlib.contextmanager
def read_errors():
    """The storage's `ReadError` as a `CliError`: exit 2 when the operator's input is at fault, else 1.
    Usable as a decorator (a fresh scope per call)."""
    from wirehouse.warehouse.sandbox import ReadError

    try:
        yield
    except ReadError as exc:
        raise CliError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILED) from None


def is_warehouse_error(exc: BaseException) -> bool:
    """A `WarehouseBusy` or `WarehouseError` (only possible once the DuckDB adapter was imported: the CLI
    does not import DuckDB for commands that never open the warehouse)."""
    adapter = sys.modules.get("wirehouse.warehouse.duckdb_adapter")
    return adapter is not None and isinstance(exc, (adapter.WarehouseBusy, adapter.WarehouseError))


def storage_error(exc: BaseException, fallback: str | None = None, option: str = "--db"):
    """`wirehouse.errors.storage_error`: the operator's cause of a failed write, or None."""
    from wirehouse.errors import storage_error as cause

    return cause(exc, fallback=fallback, option=option)


def cannot_write(exc: BaseException, path, option: str) -> CliError:
    """A failed write of an output file or folder: exit 2 when the cause is the operator's (full disk,
    read-only folder), else 1."""
    full = storage_error(exc, fallback=str(path), option=option)
    if full is not None:
        return CliError(str(full), EXIT_USAGE)
    return CliError(f"cannot write {path}: {getattr(exc, 'strerror', None) or str(exc).splitlines()[0]}", EXIT_FAILED)


def check_output_file(path: str, option: str) -> None:
    """Before a run: the folder of an output file exists and can be written."""
    from wirehouse.warehouse.duckdb_adapter import WarehouseError, check_writable

    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise CliError(f"{option} {target}: give a file in an existing folder", EXIT_USAGE)
    try:
        check_writable(target.parent, option)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def table(header: list[str], rows: list[list]) -> str:
    """Rows as aligned columns under a header and a rule."""
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(frame, fmt: str = "table", max_rows: int = 100) -> str:
    """A DataFrame as a table (at most ``max_rows`` shown, with the count), CSV or JSON."""
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", force_ascii=False)
    shown = frame.head(max_rows)
    out = table(list(shown.columns), [[cell(v) for v in row] for row in shown.itertuples(index=False)])
    if len(frame) > max_rows:
        out += f"\n({len(frame)} rows, {max_rows} shown)"
    else:
        out += f"\n({len(frame)} row{'s' if len(frame) != 1 else ''})"
    return out


def cell(value) -> str:
    """One value for a terminal table: one line, at most 60 characters."""
    import pandas as pd

    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        value = value.date()  # a DATE column comes back from pandas as midnight timestamps
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."
