"""Parquet staging: workers write a chunk's rows as files; the one writer merges them into DuckDB.

DuckDB allows one writer process per file, so the CPU stages (in worker processes, or on Dask
workers on other machines) never open the warehouse: each chunk's validated rows land in
``<staging>/<run_id>/<chunk>/<table>.parquet`` and the load reads them back per batch.
The staging root is a folder beside the warehouse by default (``WIREHOUSE_STAGING`` overrides it;
for workers on several hosts it must be storage they all see).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from wirehouse.warehouse.duckdb_adapter import identity
from wirehouse.settings import settings

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
STAGED_TABLES = ("pages", "articles", "entities", "mentions", "events", "quarantine")
MANIFEST = "manifest.json"   # written last in a chunk: the tables and row counts the load must find
ALIVE = ".alive"             # flocked by the run that owns a staging folder, for as long as it runs


class StagingError(RuntimeError):
    """A staged chunk is missing or incomplete: its pages must not be marked loaded."""


def staging_root(db_path: str | Path) -> Path:
    """Where a warehouse's runs stage their chunks: under ``$WIREHOUSE_STAGING``, or
    ``<db>.staging``; keyed on the warehouse's identity (as the writer lock is), so every name
    of one file finds the same folder."""
    resolved = identity(db_path)
    configured = settings().staging
    if not configured:
        return Path(str(resolved) + ".staging")
    # A shared root holds several warehouses' runs apart: cleaning one never touches another's.
    return Path(configured) / hashlib.sha256(str(resolved).encode()).hexdigest()[:12]


def run_dir(db_path: str | Path, run_id: str) -> Path:
    """The staging folder of one run (created).

    Raises:
        ValueError: ``run_id`` is not a plain name (no separators, no ``..``): no folder is made
            outside the staging root.
    """
    if not _SAFE_NAME.fullmatch(run_id or ""):
        raise ValueError(f"not a safe run id for a staging folder: {run_id!r}")
    path = staging_root(db_path) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def hold_run_dir(db_path: str | Path, run_id: str) -> Iterator[Path]:
    """A run's staging folder, marked alive (a lock on its ``.alive`` file) while the run lasts and
    removed at the end: `clear_stale` never deletes a folder whose run still lives."""
    path = run_dir(db_path, run_id)
    handle = open(path / ALIVE, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield path
    finally:
        remove(path)
        handle.close()


def _alive(folder: Path) -> bool:
    try:
        handle = open(folder / ALIVE, "r")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def write_chunk(run_folder: str | Path, frames: dict[str, pd.DataFrame]) -> str:
    """Write one chunk's frames as Parquet files in a new folder under ``run_folder``.

    Files are written under a temporary name and renamed, so a reader never sees half a file.

    Returns:
        The chunk folder (a string: it crosses process boundaries).
    """
    folder = Path(run_folder) / f"chunk-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    counts = {}
    try:
        for table, frame in frames.items():
            if table not in STAGED_TABLES:
                raise ValueError(f"not a staged table: {table}")
            if frame is None or frame.empty:
                continue
            partial = folder / f".{table}.parquet.part"
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial, compression="zstd")
            partial.rename(folder / f"{table}.parquet")
            counts[table] = len(frame)
        partial = folder / f".{MANIFEST}.part"
        partial.write_text(json.dumps({"tables": counts}), encoding="utf-8")
        partial.rename(folder / MANIFEST)
    except OSError as exc:   # a full disk: pyarrow's error and a failed write() name no file; say which
        if exc.filename is None:
            exc.filename = str(folder)
        raise
    return str(folder)


def read_chunks(folders: list[str]) -> dict[str, pd.DataFrame]:
    """The staged rows of several chunks, per table, in chunk order (empty tables are absent).

    Raises:
        StagingError: a chunk folder, its manifest or one of its files is missing or short: a batch
            is loaded whole or not at all.
    """
    parts: dict[str, list[pd.DataFrame]] = {table: [] for table in STAGED_TABLES}
    for folder in map(Path, folders):
        try:
            expected = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["tables"]
        except (OSError, ValueError, KeyError) as exc:
            raise StagingError(f"staged chunk {folder} is missing or has no manifest ({_reason(exc)})") from None
        for table, rows in expected.items():
            try:
                frame = pq.read_table(folder / f"{table}.parquet").to_pandas()
            except (OSError, pa.ArrowException) as exc:
                raise StagingError(f"staged chunk {folder}: {table}.parquet is unreadable ({_reason(exc)})") from None
            if len(frame) != rows:
                raise StagingError(f"staged chunk {folder}: {table}.parquet has {len(frame)} rows, {rows} were staged")
            parts[table].append(frame)
    return {table: pd.concat(found, ignore_index=True) if len(found) > 1 else found[0]
            for table, found in parts.items() if found}


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def remove(folders: list[str] | str | Path) -> None:
    """Delete staged chunks once loaded (best effort: a leftover is cleaned by `clear_stale`)."""
    for folder in [folders] if isinstance(folders, (str, Path)) else folders:
        shutil.rmtree(folder, ignore_errors=True)


def clear_stale(db_path: str | Path, keep: str | None = None) -> int:
    """Remove staging folders left by runs that died (the caller holds the writer lock).

    A dead run's unloaded chunks are not needed: their URLs have no new crawl state, so the
    next run fetches and processes them again.

    Returns:
        The number of folders removed.
    """
    root = staging_root(db_path)
    if not root.is_dir():
        return 0
    removed = 0
    for child in root.iterdir():
        if not child.is_dir() or child.name in (keep, PENDING):
            continue
        if _alive(child):   # a run that still lives (under another name for the file, say): never touched
            logger.warning("staging folder %s belongs to a run that is still alive; left alone", child)
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("removed %d staging folders of interrupted runs", removed)
    return removed


# ---------------------------------------------------------------- what waits for the next run

PENDING = "pending"   # under the staging root: batches and run states the warehouse was too busy to take
UNLOADABLE = ".unloadable"   # a pending batch set aside: kept for a look, never tried again


def keep_pending(db_path: str | Path, run_id: str, folders: list[str], crawl: dict[str, pd.DataFrame], meta: dict) -> Path:
    """Set aside a staged batch the warehouse could not take (a reader held it too long): its chunks
    and crawl rows wait, whole, for the next run to load them first.

    Returns:
        The pending batch's folder.
    """
    root = staging_root(db_path) / PENDING
    root.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{run_id}"
    partial = root / f".{name}.part"
    partial.mkdir()
    for index, folder in enumerate(folders):
        shutil.move(folder, partial / f"chunk-{index:04d}")
    for table, frame in crawl.items():
        if frame is not None and not frame.empty:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial / f"crawl-{table}.parquet")
    (partial / "batch.json").write_text(json.dumps({**meta, "run_id": run_id, "chunks": len(folders)}, default=str),
                                        encoding="utf-8")
    partial.rename(root / name)   # complete, or not there at all
    return root / name


def pending_batches(db_path: str | Path) -> list[Path]:
    """Batches set aside by earlier runs, oldest first."""
    root = staging_root(db_path) / PENDING
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir()
                   if p.is_dir() and (p / "batch.json").is_file() and not p.name.endswith(UNLOADABLE)),
                  key=lambda p: int(p.name.split("-", 1)[0]) if p.name.split("-", 1)[0].isdigit() else 0)


def read_pending(folder: Path) -> tuple[list[str], dict[str, pd.DataFrame], dict]:
    """(chunk folders, crawl frames by table, the batch's facts) of a pending batch.

    Raises:
        StagingError: the batch is incomplete.
    """
    try:
        meta = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StagingError(f"pending batch {folder} is unreadable ({_reason(exc)})") from None
    chunks = [str(folder / f"chunk-{i:04d}") for i in range(int(meta.get("chunks", 0)))]
    crawl = {}
    for path in folder.glob("crawl-*.parquet"):
        try:
            crawl[path.stem.removeprefix("crawl-")] = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise StagingError(f"pending batch {folder}: {path.name} is unreadable ({_reason(exc)})") from None
    return chunks, crawl, meta


def set_aside(folder: Path) -> Path:
    """Rename a pending batch that cannot be loaded, so it no longer blocks runs (kept for a look)."""
    target = folder.with_name(folder.name + UNLOADABLE)
    folder.rename(target)
    return target


def note_run_state(db_path: str | Path, run_id: str, status: str, summary: dict | None) -> Path:
    """Record a run's end for the next run to write into ``runs`` (the warehouse was busy now)."""
    root = staging_root(db_path) / PENDING / "runs"
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{run_id}.json.part"
    partial.write_text(json.dumps({"run_id": run_id, "status": status, "summary": summary,
                                   "finished_at": time.time()}, default=str), encoding="utf-8")
    partial.rename(root / f"{run_id}.json")
    return root / f"{run_id}.json"


def noted_run_states(db_path: str | Path) -> list[tuple[Path, dict]]:
    """The run ends `note_run_state` recorded, with their files (delete each once written)."""
    root = staging_root(db_path) / PENDING / "runs"
    found = []
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            logger.warning("unreadable run state %s left in place", path)
    return found
