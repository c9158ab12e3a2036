"""Validate stage: check frames against their pandera contracts; failing rows go to quarantine, never vanish."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
import pandera.errors as pa_errors

from wirehouse.schemas import SCHEMAS

logger = logging.getLogger(__name__)

QUARANTINE_COLUMNS = [
    "table_name", "row_key", "url", "failed_checks", "content_hash", "row_json", "run_id", "quarantined_at",
]
# Large text columns are cut in the quarantine copy; the raw page pointer keeps the whole.
_ROW_JSON_TEXT_LIMIT = 2000


@dataclass
class Validated:
    """The rows that passed and the quarantine rows for those that did not."""

    valid: pd.DataFrame
    quarantine: pd.DataFrame
    failed_keys: set[str]


def validate_frame(frame: pd.DataFrame, table: str, key_column: str, run_id: str) -> Validated:
    """Validate ``frame`` against the model of ``table``, lazily (all failures at once).

    Args:
        frame: the rows to check.
        table: a key of `schemas.SCHEMAS`.
        key_column: the column that names a row in quarantine (e.g. article_id).
        run_id: the ingest run, recorded on quarantine rows.

    Returns:
        `Validated`: the valid rows (index reset), quarantine rows, and the keys that failed.
    """
    if frame.empty:
        return Validated(frame, empty_quarantine(), set())
    frame = frame.reset_index(drop=True)
    try:
        SCHEMAS[table].validate(frame, lazy=True)
        return Validated(frame, empty_quarantine(), set())
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases
    failed: dict[int, list[str]] = {}
    row_checks = _row_checks(table)
    for _, case in cases.iterrows():
        index = case.get("index")
        check = f"{_where(case, row_checks)}: {case.get('check')}"
        if index is None or pd.isna(index):
            # A column-level failure (missing column, wrong dtype) fails every row.
            for i in range(len(frame)):
                failed.setdefault(i, []).append(check)
        else:
            failed.setdefault(int(index), []).append(check)
    bad = frame.loc[sorted(failed)]
    now = datetime.now(timezone.utc)
    quarantine = pd.DataFrame(
        {
            "table_name": table,
            "row_key": bad[key_column].astype(str).values,
            "url": bad["url"].values if "url" in bad else None,
            "failed_checks": ["; ".join(dict.fromkeys(failed[i])) for i in bad.index],
            "content_hash": bad["content_hash"].values if "content_hash" in bad else None,
            "row_json": [_row_json(row) for _, row in bad.iterrows()],
            "run_id": run_id,
            "quarantined_at": now,
        }
    )
    for row in quarantine.itertuples():
        logger.warning("quarantined %s row %s: %s", table, row.row_key, row.failed_checks)
    valid = frame.drop(index=list(failed)).reset_index(drop=True)
    return Validated(valid, quarantine, set(quarantine["row_key"]))


@functools.cache
def _row_checks(table: str) -> frozenset[str]:
    """The names of a contract's checks across columns (pandera's dataframe checks)."""
    return frozenset(check.name for check in SCHEMAS[table].to_schema().checks)


def _where(case: pd.Series, row_checks: frozenset[str]) -> str:
    """What a failure case is about, as the quarantine names it."""
    if case.get("check") in row_checks:
        # pandera repeats a failed row check once per column ("title: span_is_ordered", ...): one
        # "frame:" entry, so a reason never names a column it is not about (source health greps them).
        return "frame"
    if case.get("check") == "column_in_dataframe":
        return str(case.get("failure_case"))   # the missing column (pandera's column is the schema's name)
    return case.get("column") or "frame"


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS})


def _row_json(row: pd.Series) -> str:
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and len(value) > _ROW_JSON_TEXT_LIMIT:
            value = value[:_ROW_JSON_TEXT_LIMIT] + "…"
        out[key] = value
    return json.dumps(out, default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> object:
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
