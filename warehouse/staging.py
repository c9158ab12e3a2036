"""Parquet staging: workers write a chunk's rows as files; the one writer merges them into DuckDB.

DuckDB allows one writer process per file, so the CPU stages (in worker processes, or on Dask
workers on other machines) never open the warehouse: each chunk's validated rows land in
``<staging>/<run_id>/<chunk>/<table>.parquet`` and the loader reads them back per batch.
The staging root is a folder beside the warehouse by default (``WIREHOUSE_STAGING`` overrides it;
for workers on several hosts it must be storage they all see).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

STAGING_ENV = "WIREHOUSE_STAGING"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
STAGED_TABLES = ("pages", "articles", "entities", "mentions", "events", "quarantine")


def staging_root(db_path: str | Path) -> Path:
    """Where a warehouse's runs stage their chunks: ``$WIREHOUSE_STAGING`` or ``<db>.staging``."""
    configured = os.environ.get(STAGING_ENV)
    if not configured:
        return Path(str(db_path) + ".staging")
    # A shared root holds several warehouses' runs apart: cleaning one never touches another's.
    warehouse = hashlib.sha256(str(Path(db_path).resolve()).encode()).hexdigest()[:12]
    return Path(configured) / warehouse


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


def write_chunk(run_folder: str | Path, frames: dict[str, pd.DataFrame]) -> str:
    """Write one chunk's frames as Parquet files in a new folder under ``run_folder``.

    Files are written under a temporary name and renamed, so a reader never sees half a file.

    Returns:
        The chunk folder (a string: it crosses process boundaries).
    """
    folder = Path(run_folder) / f"chunk-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    for table, frame in frames.items():
        if table not in STAGED_TABLES:
            raise ValueError(f"not a staged table: {table}")
        if frame is None or frame.empty:
            continue
        partial = folder / f".{table}.parquet.part"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial, compression="zstd")
        partial.rename(folder / f"{table}.parquet")
    return str(folder)


def read_chunks(folders: list[str]) -> dict[str, pd.DataFrame]:
    """The staged rows of several chunks, per table, in chunk order (empty tables are absent)."""
    out: dict[str, pd.DataFrame] = {}
    for table in STAGED_TABLES:
        parts = [pq.read_table(path).to_pandas() for path in (Path(f) / f"{table}.parquet" for f in folders) if path.exists()]
        parts = [p for p in parts if not p.empty]
        if parts:
            out[table] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return out


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
        if child.is_dir() and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d staging folders of interrupted runs", removed)
    return removed
