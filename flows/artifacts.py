"""What an ingest run shows in the Prefect UI besides its tasks and logs: a progress artifact that
moves after every transform chunk (25 pages) and every loaded batch, and, when it finishes, its
summary, extraction health and top findings."""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from wirehouse.flows.outcome import failure_lines
from wirehouse.schemas.batches import SUMMARY_COLUMNS

# Callables (pages done, pages total, batches loaded, batches total, pages loaded) told of a run's
# progress in this process, beside the progress artifact: the CLI draws its progress bar with one.
# Pages done: those of the loaded batches, and those of the batches under way whose chunk is transformed.
progress_listeners: list = []


class RunProgress:
    """The run's progress artifact: the share of pages done, moved after every transformed chunk
    and every loaded batch."""

    def __init__(self, pages: int, batches: int) -> None:
        self.pages, self.batches, self.loaded_pages, self.batches_done = pages, batches, 0, 0
        self._chunks: dict[int, dict[int, int]] = {}   # batch under way -> its transformed chunks -> pages
        self.id = create_progress_artifact(progress=0.0, key="ingest-progress", description=self._text())
        self._tell()

    @property
    def done(self) -> int:
        return self.loaded_pages + sum(sum(chunks.values()) for chunks in self._chunks.values())

    def transformed(self, batch: int, chunk: int, pages: int) -> None:
        """Chunk ``chunk`` of batch ``batch`` is transformed (told once or more: counted once)."""
        if batch < self.batches_done or chunk in self._chunks.get(batch, {}):
            return
        self._chunks.setdefault(batch, {})[chunk] = pages
        self._moved()

    def loaded(self, pages: int) -> None:
        """The next batch is loaded: all its ``pages`` are done (those it did not transform too)."""
        self._chunks.pop(self.batches_done, None)
        self.loaded_pages += pages
        self.batches_done += 1
        self._moved()

    def _moved(self) -> None:
        share = 100.0 if self.pages == 0 else round(100.0 * min(self.done, self.pages) / self.pages, 1)
        update_progress_artifact(self.id, progress=share, description=self._text())
        self._tell()

    def _tell(self) -> None:
        for listener in list(progress_listeners):
            listener(self.done, self.pages, self.batches_done, self.batches, self.loaded_pages)

    def _text(self) -> str:
        return (f"{self.done} of {self.pages} pages done, {self.loaded_pages} loaded "
                f"({self.batches_done} of {self.batches} batches loaded)")


def publish(summary: dict, findings: dict, headline: str) -> None:
    """Publish a finished run's artifacts: summary, extraction health, top entities and top events.

    Args:
        summary: the run summary (per_source, totals, stage_seconds, run_id).
        findings: `warehouse.runs.run_findings` of the run.
        headline: the run's one-line result.
    """
    seconds = dict(zip(findings["fetch_seconds"]["source"], findings["fetch_seconds"]["seconds"]))
    rows = [
        {"source": name, **{k: counts.get(k, 0) for k in SUMMARY_COLUMNS}, "seconds": seconds.get(name, 0.0)}
        for name, counts in sorted(summary["per_source"].items())
    ]
    rows.append({"source": "TOTAL", **summary["totals"], "seconds": summary["seconds"]})
    failing = failure_lines(summary)
    create_table_artifact(key="ingest-summary", table=rows,
                          description=f"Run {summary['run_id']}: {headline}. Seconds: each source's fetches; TOTAL: the run."
                          + (" Failed sources: " + "; ".join(failing) + "." if failing else ""))
    health = findings["health"]
    flagged = [f"{r.source} ({r.layout_change_likely})" for r in health.itertuples() if isinstance(r.layout_change_likely, str)]
    create_table_artifact(
        key="ingest-health", table=_records(health),
        description=("Extraction health per source: shares of empty pages, missing titles and missing dates, "
                     "against the source's 5 runs before. "
                     + (f"Layout change likely: {', '.join(flagged)}." if flagged else "No source changed markedly.")),
    )
    create_table_artifact(key="ingest-top-entities", table=_records(findings["entities"]),
                          description="The entities most mentioned in the articles this run added or changed.")
    create_table_artifact(key="ingest-top-events", table=_records(findings["events"]),
                          description="Events in the articles this run added or changed: dated, with both actors, most confident first.")


def _records(frame) -> list[dict]:
    """A frame as JSON-safe rows (numbers as numbers, dates as text, missing values as None)."""
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _json_value(value):
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):   # lists and arrays
        return str(value)
    if hasattr(value, "item"):        # numpy scalars
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else str(value)
