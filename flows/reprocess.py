"""Reprocess and replay: make rows again from the stored raw pages, without fetching anything.

* `reprocess`: articles made by an older extractor (``extractor_version``) or annotator
  (``annotator_version``) are extracted, validated and annotated again by the current code.
* `replay_quarantine`: the pages behind quarantined rows go through the stages again (after a fix
  to an extractor or a contract); what passes now is loaded and leaves quarantine, what still fails
  stays there with its current reasons.

Both are recorded as runs (``reprocess-…`` and ``replay-…``; ``runs.sources_file`` says which) and go
through the same batch loop as an ingest run (`flows.batches`: transform, stage, load), each batch in
one transaction; here a batch is transformed whole before it loads, with no crawl rows and no stop
checkpoints or fault points.
"""

from __future__ import annotations

import gzip
import logging
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from wirehouse.flows import workers
from wirehouse.flows.batches import InFlight, run_batches
from wirehouse.flows.load import finish
from wirehouse.flows.transform import transform_pages
from wirehouse.schemas.batches import totals_of
from wirehouse.tasks.extract import EXTRACTOR_VERSION
from wirehouse.tasks.nlp_model import ANNOTATOR_VERSION
from wirehouse.warehouse import duckdb_adapter, staging
from wirehouse.warehouse.load import load_batch
from wirehouse.warehouse.runs import start_run

logger = logging.getLogger(__name__)

BATCH_PAGES = 200     # pages per load transaction, as in an ingest run
CHUNK_PAGES = 25      # pages per transform call


@dataclass
class RedoReport:
    """What a reprocess or replay did."""

    run_id: str
    kind: str
    pages: int = 0                 # raw pages that went through the stages again
    missing_raw: int = 0           # targets whose raw page is not stored (cannot be redone)
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    released: int = 0              # quarantined rows that pass now (replay)
    still_quarantined: Counter = field(default_factory=Counter)   # failed check -> rows (replay)

    @property
    def totals(self) -> dict[str, int]:
        return totals_of(self.per_source)


def reprocess(db_path: str | Path, limit: int | None = None) -> RedoReport:
    """Redo the articles an older extractor or annotator made, from their stored raw pages.

    Args:
        db_path: the warehouse file.
        limit: at most this many articles (oldest first); None for all.

    Returns:
        `RedoReport` (``per_source``: updated and quarantined counts).
    """
    rows = _targets(db_path, "reprocess_targets", {"extractor_version": EXTRACTOR_VERSION, "annotator_version": ANNOTATOR_VERSION})
    if limit is not None:
        rows = rows[:limit]
    return _redo(db_path, rows, "reprocess")


def replay_quarantine(db_path: str | Path, table: str | None = None) -> RedoReport:
    """Send the raw pages behind quarantined rows through the stages again and load what passes.

    Args:
        db_path: the warehouse file.
        table: only rows quarantined from this table (articles, entities, mentions, events).

    Returns:
        `RedoReport` with ``released`` and ``still_quarantined``.
    """
    rows = _targets(db_path, "replay_targets", {"table_name": table or ""})
    report = _redo(db_path, rows, "replay")
    if not rows:
        return report
    hashes = sorted({r[1] for r in rows})
    con = duckdb_adapter.connect(db_path)
    try:
        with duckdb_adapter.transaction(con):
            con.register("_replayed", pd.DataFrame({"content_hash": pd.Series(hashes, dtype="string")}))
            # A row leaves quarantine only when its key is now loaded; rows the replay quarantined again
            # carry its run id; a row the current code no longer makes at all stays, and is counted.
            released = con.execute(
                duckdb_adapter.internal_sql("release_quarantine"), {"run_id": report.run_id, "table_name": table or ""}
            ).fetchall()
            report.released = len(released)
            still = con.execute(
                duckdb_adapter.internal_sql("replay_remaining"), {"run_id": report.run_id, "table_name": table or ""}
            ).fetchall()
            con.unregister("_replayed")
        report.still_quarantined = Counter(dict(still))
    finally:
        con.close()
    return report


def _targets(db_path: str | Path, query: str, params: dict) -> list[tuple]:
    """The rows to redo, after bringing the warehouse to the current schema (the caller holds the writer lock)."""
    con = duckdb_adapter.connect(db_path)
    try:
        duckdb_adapter.migrate(con)
        return con.execute(duckdb_adapter.internal_sql(query), params).fetchall()
    finally:
        con.close()


def _redo(db_path: str | Path, rows: list[tuple], kind: str) -> RedoReport:
    """rows: (article_id or row key, content_hash, url, final_url, source, encoding, content_type, fetched_at, raw_gz).
    Nothing to redo: no run is recorded."""
    run_id = f"{kind}-{uuid.uuid4().hex[:12]}"
    report = RedoReport(run_id=run_id, kind=kind)
    if not rows:
        return report
    start_run(db_path, run_id, None, kind)
    targets, seen = [], set()   # one per raw page, still compressed: a batch is unpacked when its turn comes
    for _, digest, *page in rows:
        if digest in seen:
            continue
        seen.add(digest)
        if page[-1] is None:
            report.missing_raw += 1
        else:
            targets.append((digest, *page))
    report.pages = len(targets)
    now = datetime.now(timezone.utc)
    with staging.hold_run_dir(db_path, run_id) as folder:
        run_folder = str(folder)
        with workers.pool_scope(enabled=True) as ensure_pool, \
                ThreadPoolExecutor(max_workers=max(1, ensure_pool(len(targets)))) as feeders:

            def submit(_index: int, start: int) -> InFlight:
                """Unpack a batch of raw pages and transform it (the load waits for the whole batch)."""
                batch = [_page(*target) for target in targets[start:start + BATCH_PAGES]]
                chunks = [batch[i:i + CHUNK_PAGES] for i in range(0, len(batch), CHUNK_PAGES)]
                # one feeder thread per worker process keeps every worker busy; map keeps chunk order
                done = list(feeders.map(lambda chunk: workers.run(transform_pages, chunk, run_id, now, run_folder), chunks))
                return InFlight(done, len(batch))

            totals = run_batches(range(0, len(targets), BATCH_PAGES), submit,
                                 lambda rows: load_batch(db_path, rows, finish=False),
                                 db_path=str(db_path), run_id=run_id, redo=True)
    report.per_source = {name: dict(counts) for name, counts in totals.items()}
    finish(db_path, run_id, {"run_id": run_id, "kind": kind, "pages": report.pages, "missing_raw": report.missing_raw,
                                 "per_source": report.per_source, "totals": report.totals})
    logger.info("%s: %d pages redone, %d without a stored raw page", kind, report.pages, report.missing_raw)
    return report


def _page(digest, url, final_url, source, encoding, content_type, fetched_at, raw) -> dict:
    """A stored raw page as the transform stage takes a fetched one."""
    return {"url": url, "final_url": final_url or url, "source": source, "body": gzip.decompress(raw),
            "encoding": encoding, "content_hash": digest, "content_type": content_type, "fetched_at": fetched_at}


@task(name="reprocess", cache_policy=NO_CACHE)
def reprocess_task(db_path: str, limit: int | None = None) -> RedoReport:
    """Prefect task: `reprocess` (the caller holds the writer lock)."""
    return reprocess(db_path, limit)


@task(name="replay-quarantine", cache_policy=NO_CACHE)
def replay_task(db_path: str, table: str | None = None) -> RedoReport:
    """Prefect task: `replay_quarantine` (the caller holds the writer lock)."""
    return replay_quarantine(db_path, table)
