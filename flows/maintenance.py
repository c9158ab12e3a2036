"""The `reprocess`, `replay-quarantine` and `export` flows: runnable from the Prefect UI with parameters.

Each is one task (the reprocess loop in `flows.reprocess`, or the storage's export) plus its artifact. The two that write hold the
warehouse's writer lock, waiting for a running ingest to finish (up to ``lock_wait`` seconds).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from wirehouse.flows.reprocess import RedoReport, replay_task, reprocess_task
from wirehouse.warehouse.analyst import export
from wirehouse.warehouse.duckdb_adapter import writer_lock
from wirehouse import logs
from wirehouse.settings import DEFAULT_DB

export_task = task(name="export", cache_policy=NO_CACHE)(export)   # the storage's export, as a Prefect task

MAINTENANCE_LOCK_WAIT = 1800.0   # seconds a maintenance run waits for an ingest run to finish


@flow(name="reprocess", log_prints=False, validate_parameters=True)
def reprocess_flow(db_path: str = DEFAULT_DB, limit: int | None = None, lock_wait: float = MAINTENANCE_LOCK_WAIT) -> dict:
    """Redo, from the stored raw pages, the articles an older extractor or annotator made (no refetch).

    Args:
        db_path: the DuckDB warehouse file.
        limit: at most this many articles, oldest first (all when empty).
        lock_wait: seconds to wait for a running ingest to release the warehouse.
    """
    logs.set_levels()
    with writer_lock(db_path, wait=lock_wait):
        report = reprocess_task(db_path, limit)
    return _publish("reprocess", report)


@flow(name="replay-quarantine", log_prints=False, validate_parameters=True)
def replay_flow(db_path: str = DEFAULT_DB, table: str | None = None, lock_wait: float = MAINTENANCE_LOCK_WAIT) -> dict:
    """Validate quarantined rows again from their stored raw pages; load what passes now.

    Args:
        db_path: the DuckDB warehouse file.
        table: only rows quarantined from this table (articles, entities, mentions, events).
        lock_wait: seconds to wait for a running ingest to release the warehouse.
    """
    logs.set_levels()
    with writer_lock(db_path, wait=lock_wait):
        report = replay_task(db_path, table)
    summary = _publish("replay", report)
    return {**summary, "released": report.released, "still_quarantined": dict(report.still_quarantined)}


@flow(name="export", log_prints=False, validate_parameters=True)
def export_flow(out_dir: str, db_path: str = DEFAULT_DB, format: str = "parquet", partition: str = "month",  # noqa: A002
                overwrite: bool = False) -> dict:
    """Write every table as Parquet (or CSV) files under ``out_dir``, partitioned by date.

    Args:
        out_dir: the folder to write (missing or empty, unless ``overwrite``).
        db_path: the DuckDB warehouse file.
        format: parquet or csv.
        partition: day, month or year.
        overwrite: replace what ``out_dir`` holds.
    """
    logs.set_levels()
    report = export_task(db_path, out_dir, format, partition, overwrite)
    rows = [{"table": table, **facts} for table, facts in report.tables.items()]
    create_table_artifact(key="export-summary", table=rows, description=f"Exported to {report.out}")
    return {"out": str(report.out), "tables": report.tables}


def _publish(key: str, report: RedoReport) -> dict:
    rows = [{"source": name, **counts} for name, counts in sorted(report.per_source.items())]
    create_table_artifact(
        key=f"{key}-summary", table=rows or [{"source": "(none)"}],
        description=f"{report.kind}: {report.pages} raw pages redone, {report.missing_raw} without a stored raw page",
    )
    return {"run_id": report.run_id, "pages": report.pages, "missing_raw": report.missing_raw, "per_source": report.per_source}
