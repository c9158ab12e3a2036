"""The load as the flows drive it: the thin Prefect task over the storage's load transaction
(`warehouse.load.load_batch`), and finishing a run (the ledger's `finish_run`, then the read side's
search index rebuilt, so the index is fresh after every run that finishes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from wirehouse.schemas.batches import LoadReport, RunBatch
from wirehouse.warehouse.analyst import rebuild_search_index
from wirehouse.warehouse.duckdb_adapter import WarehouseBusy
from wirehouse.warehouse.load import load_batch
from wirehouse.warehouse.runs import finish_run
from wirehouse import stopping

logger = logging.getLogger(__name__)


@dataclass
class Busy:
    """A load that did not happen: another process held the warehouse past the wait."""

    message: str


@task(name="load", cache_policy=NO_CACHE)
def load_task(db_path: str, batch: RunBatch, summary_extra: dict | None = None,
              finish: bool = True, in_transaction: Callable[[], None] | None = None) -> LoadReport | Busy | None:
    """Prefect task: `load_batch`. No task retries: the connection already outwaits readers
    (`duckdb_adapter.reader_wait_seconds`).

    Returns:
        The report; `Busy` when a reader outlasted the wait (nothing written; the flow keeps the
        batch); None when a stop came while it waited (nothing written).
    """
    try:
        return load_batch(db_path, batch, summary_extra, finish, in_transaction)
    except stopping.RunStopped:
        return None
    except WarehouseBusy as exc:   # the flow's to handle: not a task failure with a traceback
        return Busy(str(exc))


def finish(db_path: str | Path, run_id: str, summary: dict, status: str = "completed",
           finished_at: datetime | None = None) -> dict[str, int]:
    """Mark a run ended (completed, or failed as a whole) with its summary, then rebuild the
    full-text search index.

    Returns:
        The table sizes after the run (none when a reader held the warehouse past the wait: the
        run's end is then noted for the next run to write, and the index waits for that run too).
    """
    tables = finish_run(db_path, run_id, summary, status, finished_at)
    if tables and rebuild_search_index(db_path):
        logger.info("full-text index rebuilt")
    return tables
