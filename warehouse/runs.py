"""The run ledger: the ``runs`` table. A run is started (the warehouse migrated, a killed run's row
marked interrupted, ends an earlier run could not write written), then completed, failed or
interrupted; an end the warehouse cannot take now (a reader holds it) is noted beside the staging
for the next run to write. Also what a finished run found, for its artifacts.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from wirehouse.warehouse import duckdb_adapter, staging

logger = logging.getLogger(__name__)


def start_run(db_path: str | Path, run_id: str, flow_run_id: str | None, sources_file: str) -> datetime:
    """Record a run as started (and migrate the warehouse: a bad file fails the run before any fetch).

    The caller holds the writer lock, so a run still marked running was killed: it becomes
    ``interrupted`` (its finished batches stay loaded; the next run fetches the rest).

    Returns:
        The run's ``started_at`` as recorded: its seconds (`run_seconds`) count from here.
    """
    started_at = datetime.now(timezone.utc)
    con = duckdb_adapter.connect(db_path)
    try:
        duckdb_adapter.migrate(con)
        for path, noted in staging.noted_run_states(db_path):   # ends an earlier run could not write
            _write_end(con, noted["run_id"], noted["status"], noted.get("summary"),
                       datetime.fromtimestamp(noted.get("finished_at") or 0, timezone.utc))
            path.unlink(missing_ok=True)
        con.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' AND run_id <> ?",
            [datetime.now(timezone.utc), run_id],
        )
        con.execute(
            "INSERT INTO runs (run_id, flow_run_id, started_at, status, sources_file) VALUES (?, ?, ?, 'running', ?)"
            " ON CONFLICT (run_id) DO NOTHING",
            [run_id, flow_run_id, started_at, sources_file],
        )
    finally:
        con.close()
    return started_at


def run_seconds(started_at: datetime, finished_at: datetime) -> float:
    """A run's seconds: the one figure the terminal summary, the ingest-summary artifact and
    `wirehouse status` show (``summary["seconds"]``; ``runs.finished_at - runs.started_at``)."""
    return round((finished_at - started_at).total_seconds(), 1)


def finish_run(db_path: str | Path, run_id: str, summary: dict, status: str = "completed",
               finished_at: datetime | None = None) -> dict[str, int]:
    """Mark a streaming run ended (``completed``, or ``failed`` when every source's entry points
    failed) with its summary. (The search index is the read side's: the flow rebuilds it after
    this, `warehouse.analyst.rebuild_search_index`.)

    Returns:
        The table sizes after the run (none when a reader held the warehouse past the wait: the
        end is then noted for the next run to write).
    """
    try:
        con = duckdb_adapter.connect(db_path)
    except duckdb_adapter.WarehouseBusy as exc:
        staging.note_run_state(db_path, run_id, status, summary)
        logger.warning("%s; the run's end is written by the next run", exc)
        return {}
    try:
        complete_run(con, run_id, summary, status, finished_at)
        return table_counts(con)
    finally:
        con.close()


def complete_run(con, run_id: str, summary: dict, status: str = "completed", finished_at: datetime | None = None) -> None:
    """On an open connection (inside the caller's transaction, if any): the run ended (completed,
    or failed as a whole) with its summary, and its extraction health measured."""
    con.execute(
        "UPDATE runs SET summary = ?, finished_at = ?, status = ? WHERE run_id = ?",
        [json.dumps(summary, default=str), finished_at or datetime.now(timezone.utc), status, run_id],
    )
    con.execute(duckdb_adapter.internal_sql("measure_source_health"), {"run_id": run_id})


def mark_interrupted(db_path: str | Path, run_id: str) -> None:
    """Mark a running run interrupted (a stop), never over a finished run."""
    _end_run(db_path, run_id, "interrupted", None, wait=3)


def fail_run(db_path: str | Path, run_id: str, error: str) -> None:
    """Mark a run failed with its error."""
    _end_run(db_path, run_id, "failed", {"error": error}, wait=5)


def _end_run(db_path: str | Path, run_id: str, status: str, summary: dict | None, wait: float) -> None:
    """Write a run's end into ``runs``; when the warehouse is busy (a reader) or broken, leave it
    noted beside the staging for the next run to write. Never raises: it reports another failure."""
    try:
        con = duckdb_adapter.connect(db_path, wait=wait, stoppable=False)
    except Exception as exc:  # noqa: BLE001 - reporting must not raise
        try:
            staging.note_run_state(db_path, run_id, status, summary)
            logger.warning("run %s: the warehouse is busy; its end (%s) is written by the next run (%s)", run_id, status, exc)
        except OSError as note_error:
            logger.warning("run %s: could not record its end (%s): %s", run_id, status, note_error)
        return
    try:
        _write_end(con, run_id, status, summary, datetime.now(timezone.utc))
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not mark run %s %s: %s", run_id, status, exc)
    finally:
        con.close()


def _write_end(con, run_id: str, status: str, summary: dict | None, finished_at: datetime) -> None:
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, summary = coalesce(?, summary) WHERE run_id = ? AND status = 'running'",
        [status, finished_at, None if summary is None else json.dumps(summary, default=str), run_id],
    )


def table_counts(con) -> dict[str, int]:
    """Rows per warehouse table (for the run's summary)."""
    return {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "entities", "mentions", "events", "pages", "fetch_log", "quarantine")
    }


def run_findings(db_path: str | Path, run_id: str) -> dict[str, pd.DataFrame]:
    """What a finished run found, for its Prefect artifacts.

    Returns:
        ``health`` (extraction health per source against its earlier runs: the analysts' saved query
        `queries/source_health.sql`), ``entities`` and ``events`` (the top ones in the articles the run
        added or changed), and ``fetch_seconds`` (per source: the seconds its fetches took, retries and
        waits included); these three are `internal/run_*.sql`.
    """
    try:
        con = duckdb_adapter.connect(db_path, read_only=True)
    except duckdb_adapter.WarehouseBusy as exc:   # a reader that outlasts the wait costs the artifacts, not the run
        logger.warning("%s; the run's findings are not published", exc)
        return {}
    try:
        queries = {"health": duckdb_adapter.read_query("source_health"),
                   "entities": duckdb_adapter.internal_sql("run_top_entities"),
                   "events": duckdb_adapter.internal_sql("run_top_events"),
                   "fetch_seconds": duckdb_adapter.internal_sql("run_fetch_seconds")}
        return {name: con.execute(sql, {"run_id": run_id}).fetchdf() for name, sql in queries.items()}
    finally:
        con.close()

