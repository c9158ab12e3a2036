"""The one batch loop of every run that writes: each batch's pages through transform -> stage -> load,
a batch per transaction. An ingest run and a reprocess or replay run drive it; what differs is
handed in: how a batch is submitted to the transform stage, how it loads (the Prefect load task, or
the storage's `load_batch` from inside a maintenance task), the crawl rows an ingest adds, whether
batch k transforms while batch k-1 loads, and whether the run has checkpoints (stop checks and the
crash tests' fault points) between its stages.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from wirehouse.flows import faults, memory
from wirehouse.flows.load import Busy
from wirehouse.schemas.batches import LoadReport, RunBatch
from wirehouse.warehouse import staging
from wirehouse.warehouse.duckdb_adapter import WarehouseBusy
from wirehouse.warehouse.load import staged_batch
from wirehouse import stopping


class StageClock:
    """Wall seconds per stage of a run (a stage named twice adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 3)
        self._last = now


@dataclass
class InFlight:
    """A batch submitted to the transform stage."""

    chunks: list                  # futures, or finished `TransformedChunk`s
    pages: int                    # the pages the batch stands for (what the progress counts)
    discovered: dict[str, int] = field(default_factory=dict)   # candidates per source (an ingest's first batch)
    crawl: Any = None             # the flow's own facts for its crawl rows (an ingest: the fetches)
    chunk_pages: list[int] = field(default_factory=list)   # pages per chunk (what the progress counts per chunk)
    index: int = -1               # the batch's place in the run (set by `run_batches`)


def run_batches(
    items: Iterable,
    submit: Callable[[int, Any], InFlight],
    load: Callable[[RunBatch], LoadReport | Busy | None],
    *,
    db_path: str,
    run_id: str,
    redo: bool = False,
    crawl_rows: Callable[[RunBatch, InFlight, list], None] | None = None,
    overlap: bool = False,
    checkpoints: bool = False,
    clock: StageClock | None = None,
    progress=None,
) -> dict[str, Counter]:
    """Drive batches through transform -> stage -> load; each batch loads whole, in one transaction.

    Args:
        items: the batches, in order (what ``submit`` takes).
        submit: (index, item) -> the batch submitted to the transform stage.
        load: writes a batch's rows: a `LoadReport`; `Busy` when a reader outlasted the wait (the
            batch is then kept staged for the next run and `WarehouseBusy` raised); None when a stop
            came while it waited.
        db_path: the warehouse file.
        run_id: the run.
        redo: the rows are made again by newer code and replace the stored ones (reprocess, replay).
        crawl_rows: adds the batch's fetch_log and url_state rows (an ingest), from the rows it loads
            and the transform stage's facts.
        overlap: batch k is submitted before batch k-1 loads (an ingest: its ``submit`` also fetches).
        checkpoints: the fault points ``staged`` and ``loaded`` and the stop checks around the load
            (an ingest run, which a signal stops at its next checkpoint).
        clock: laps ``transform`` (waiting for the chunks) and ``load`` per batch.
        progress: told of each transformed chunk (`RunProgress.transformed`, as the run waits for
            it) and of each loaded batch's pages (`RunProgress.loaded`).

    Returns:
        Counts per source, summed over the batches.
    """
    clock = clock or StageClock()
    totals: dict[str, Counter] = defaultdict(Counter)

    def load_one(batch: InFlight) -> None:
        report = _load_staged(batch, load, db_path, run_id, redo, crawl_rows, checkpoints, clock, progress)
        for name, counts in report.per_source.items():
            totals[name].update(counts)
        if progress is not None:
            progress.loaded(batch.pages)

    waiting: InFlight | None = None
    for index, item in enumerate(items):
        submitted = submit(index, item)
        submitted.index = index
        if not overlap:
            load_one(submitted)
            continue
        # A pipeline: batch k transforms while batch k-1 loads.
        if waiting is not None:
            load_one(waiting)
        waiting = submitted
    if waiting is not None:
        load_one(waiting)
    return totals


def _load_staged(batch: InFlight, load, db_path: str, run_id: str, redo: bool, crawl_rows, checkpoints: bool,
                 clock: StageClock, progress=None) -> LoadReport:
    """Wait for a batch's chunks, read them back as one batch and load it in one transaction."""
    transformed = []
    for number, chunk in enumerate(batch.chunks):
        transformed.append(stopping.wait_for(chunk) if hasattr(chunk, "result") else chunk)
        if progress is not None and transformed[-1] is not None and number < len(batch.chunk_pages):
            progress.transformed(batch.index, number, batch.chunk_pages[number])
    if any(chunk is None for chunk in transformed):
        stopping.check()   # a chunk a stop abandoned: the batch is not loaded
    folders = [chunk.staged for chunk in transformed]
    if checkpoints:
        faults.point("staged", chunks=folders)
        stopping.check()   # the last point where a stop leaves the batch out; past it the batch loads whole
    clock.lap("transform")
    rows = staged_batch(run_id, folders, discovered=batch.discovered)   # a missing chunk raises: nothing loads
    rows.redo = redo
    if crawl_rows is not None:
        crawl_rows(rows, batch, transformed)
    report = load(rows)
    if checkpoints:
        stopping.check()   # None: stopped while waiting for the file
    if isinstance(report, Busy):
        # A reader outlasted the wait: the batch waits, staged and whole, for the next run.
        kept = staging.keep_pending(db_path, run_id, folders, {"fetch_log": rows.fetch_log, "url_state": rows.url_state},
                                    {"discovered": rows.discovered})
        raise WarehouseBusy(f"{report.message}; {batch.pages} fetched pages stay staged in {kept} "
                            "and load with the next run")
    if checkpoints:
        faults.point("loaded")
    staging.remove(folders)
    memory.release_freed()   # resident memory stays at one batch's worth, however long the run
    clock.lap("load")
    return report
