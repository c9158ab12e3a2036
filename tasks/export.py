"""Export stage: every warehouse table to Parquet or CSV files (core: `warehouse.analyst.export`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from warehouse.analyst import ExportReport, export


@task(name="export", cache_policy=NO_CACHE)
def export_task(db_path: str, out_dir: str, fmt: str = "parquet", partition: str = "month",
                overwrite: bool = False) -> ExportReport:
    """Prefect task: `warehouse.analyst.export`."""
    return export(db_path, out_dir, fmt, partition, overwrite)
