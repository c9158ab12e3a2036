"""Errors that are the operator's to fix: a full disk, a quota, a file-size limit, a read-only or
unwritable folder. One classification for every write the project makes (the warehouse, staging,
exports, the extraction libraries' temporary files), at the bottom of the house: anything may use it.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import duckdb

from wirehouse.settings import settings


class StorageError(RuntimeError):
    """A write the system refused for a cause the operator fixes: the disk is full, a quota or the
    file-size limit is reached, the folder is read-only or not writable. The message is one line
    naming the path, the cause and the remedy; the CLI prints it and exits 2 (see `storage_error`)."""


# The errors of a write that are the operator's to fix, and how each is said.
STORAGE_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large",   # the file-size limit (ulimit -f) or the filesystem's: a full disk, for us
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# DuckDB's wording: `Could not write file "/x/w.duckdb.wal": No space left on device`, the quotes
# escaped when the message is JSON (`{"exception_message": "... file \\"/x\\" ...", "errno": "28"}`).
_DUCKDB_PATH = re.compile(r'(?:file|directory) \\?"([^"\\]+)')
_DUCKDB_ERRNO = re.compile(r'"errno"\s*:\s*"?(\d+)')
# Where DuckDB reports a failed write: the write itself, a commit, a spill, the database it then invalidates.
_DUCKDB_IO_ERRORS = (duckdb.IOException, duckdb.TransactionException, duckdb.OutOfMemoryException, duckdb.FatalException)


def storage_error(exc: BaseException, path: str | Path | None = None, fallback: str | Path | None = None,
                  option: str = "--db") -> StorageError | None:
    """The `StorageError` an exception stands for when a write failed for want of room or permission,
    else None.

    An `OSError` is judged by its errno; a DuckDB I/O error by the errno its message carries, else by
    the system's wording of those errnos in its first line (DuckDB raises no OSError). Explicit causes
    (``raise ... from``) are looked through.

    Args:
        exc: what was raised.
        path: the path to name (else the exception's own: its filename, or the file DuckDB quotes).
        fallback: the path to name when neither gives one.
        option: what the operator changes to write elsewhere (``--db``, ``--out``); a path under
            ``$WIREHOUSE_STAGING`` names that instead.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageError):
            return current
        code, named = _storage_cause(current)
        if code is not None:
            return StorageError(_storage_message(code, path or named or fallback, option))
        current = current.__cause__
    return None


def _storage_cause(exc: BaseException) -> tuple[int | None, str | None]:
    if isinstance(exc, OSError):
        return (exc.errno, exc.filename) if exc.errno in STORAGE_ERRNOS else (None, None)
    if isinstance(exc, _DUCKDB_IO_ERRORS):
        line = (str(exc).splitlines() or [""])[0]
        quoted = _DUCKDB_PATH.search(line)
        named = quoted.group(1) if quoted else None
        given = _DUCKDB_ERRNO.search(line)
        if given:
            code = int(given.group(1))
            return (code, named) if code in STORAGE_ERRNOS else (None, None)
        lower = line.lower()
        for code in STORAGE_ERRNOS:
            if os.strerror(code).lower() in lower:
                return code, named
    return None, None


def _storage_message(code: int, path: str | Path | None, option: str) -> str:
    staging = settings().staging
    if path and staging:
        root, named = os.path.realpath(staging), os.path.realpath(str(path))
        if named == root or named.startswith(root.rstrip(os.sep) + os.sep):
            option = "WIREHOUSE_STAGING"
    where = f" writing {path}" if path else " writing"
    if option.startswith("-"):
        move, other = f"move {option}", f"choose another {option}"
    else:   # an environment variable
        move = other = f"point {option} elsewhere"
    if code == errno.EFBIG:
        remedy = f"free space, raise the file-size limit (ulimit -f) or {move}"
    elif code in _NO_ROOM:
        remedy = f"free space or {move}"
    else:
        remedy = f"make it writable or {other}"
    return f"{STORAGE_ERRNOS[code]}{where}: {remedy}"
