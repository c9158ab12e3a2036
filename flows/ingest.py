"""The `ingest` flow: sources -> discover -> fetch -> transform (extract, validate, annotate) -> load, in batches.

Composition only: every step is a batched task from `tasks/`; no per-URL tasks.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone

from prefect import flow, get_run_logger, unmapped
from prefect.context import get_run_context
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from tasks import workers
from tasks.discover import discover_task
from tasks.fetch import FetchOptions, FetchRequest, Fetcher, fetch_task
from tasks.load import (
    SUMMARY_COLUMNS,
    KnownUrl,
    LoadReport,
    content_hash,
    fail_run,
    fetch_log_rows,
    finish_run,
    load_task,
    read_url_state,
    staged_batch,
    start_run,
    url_state_rows,
)
from tasks.transform import transform_task
from warehouse import staging
from warehouse.loader import DEFAULT_DB, WarehouseBusy, WarehouseError, writer_lock
from wirehouse.config import ConfigError, SourcesConfig, load_sources
from wirehouse.urls import url_host

STREAM_BATCH = 200     # pages fetched, transformed and loaded together: memory stays flat however big the run
TRANSFORM_CHUNK = 25   # pages per transform task; fixed, so rows never depend on the number of workers
TASK_WORKERS = 4


def fetch_options(config: SourcesConfig, contact_url: str | None = None) -> FetchOptions:
    """The run's fetch settings: the sources file's [fetch] table, then the CLI's contact URL."""
    settings = dict(config.fetch)
    kwargs = {}
    if contact_url or settings.get("contact_url"):
        kwargs["contact_url"] = contact_url or settings["contact_url"]
    if settings.get("user_agent"):
        kwargs["user_agent"] = settings["user_agent"]
    if settings.get("timeout"):
        kwargs["read_timeout"] = float(settings["timeout"])
    if settings.get("max_bytes"):
        kwargs["max_bytes"] = int(settings["max_bytes"])
    # The floor for hosts no source names; each source's own hosts get its delay (see `_fetcher`).
    kwargs["host_delay"] = min(s.host_delay for s in config.sources)
    return FetchOptions(**kwargs)


@flow(
    name="ingest",
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_WORKERS),
    log_prints=False,
    validate_parameters=True,
)
def ingest(
    sources_file: str = "sources.toml",
    db_path: str = str(DEFAULT_DB),
    contact_url: str | None = None,
):
    """One run: discover and fetch every source, extract, validate and load into DuckDB.

    Args:
        sources_file: the sources TOML file.
        db_path: the DuckDB warehouse file.
        contact_url: the contact URL in the User-Agent (overrides the sources file).

    Returns:
        The run summary (per source and totals) as the flow result.
    """
    log = get_run_logger()
    try:
        config = load_sources(sources_file)
    except ConfigError as exc:
        return Failed(message=str(exc))
    run_id = str(flow_run.get_id() or uuid.uuid4())
    try:
        with writer_lock(db_path):
            start_run(db_path, run_id, flow_run.get_id(), str(sources_file))
            try:
                summary = _run(config, db_path, run_id, fetch_options(config, contact_url), log)
            except Exception as exc:
                fail_run(db_path, run_id, f"{type(exc).__name__}: {exc}")
                raise
    except (WarehouseBusy, WarehouseError) as exc:
        return Failed(message=str(exc))
    return Completed(message=_headline(summary), data=summary)


def _run(config: SourcesConfig, db_path: str, run_id: str, options: FetchOptions, log) -> dict:
    now = datetime.now(timezone.utc)
    clock = _StageClock()
    staging.clear_stale(db_path, keep=run_id)
    run_folder = str(staging.run_dir(db_path, run_id))
    fetcher = _fetcher(config, options)
    totals: dict[str, Counter] = defaultdict(Counter)
    try:
        discovery = discover_task(config, fetcher)
        log.info("discovered %d candidate URLs from %d sources", len(discovery.candidates), len(config.sources))
        known = read_url_state(db_path, [c.url for c in discovery.candidates])
        requests = [_request(c, known.get(c.url)) for c in discovery.candidates]
        batches = [requests[i : i + STREAM_BATCH] for i in range(0, len(requests), STREAM_BATCH)] or [[]]
        clock.lap("discover")
        with workers.pool_scope() as ensure_pool:
            # URLs never seen before need extraction: start the workers now, while the first batch is fetched.
            if ensure_pool(sum(1 for r in requests if r.url not in known)):
                log.info("extraction and annotation in worker processes")
            pending = fetch_task.submit(batches[0], options, fetcher=fetcher)
            for index, batch in enumerate(batches):
                results = pending.result()
                if index + 1 < len(batches):   # the next batch downloads while this one is processed
                    pending = fetch_task.submit(batches[index + 1], options, fetcher=fetcher)
                clock.lap("fetch")
                first = index == 0
                report = _process_batch(
                    batch, results, known, db_path, run_id, now, run_folder, clock, ensure_pool,
                    discovery_fetches=discovery.fetches if first else [],
                    discovered=discovery.per_source if first else {},
                )
                for name, counts in report.per_source.items():
                    totals[name].update(counts)
                log.info("batch %d/%d loaded", index + 1, len(batches))
    finally:
        fetcher.close()
        staging.remove(run_folder)
    per_source = {name: {k: counts.get(k, 0) for k in SUMMARY_COLUMNS} for name, counts in totals.items()}
    summary = {"run_id": run_id, "per_source": per_source, "totals": _totals(per_source), "stage_seconds": clock.seconds}
    summary["tables"] = finish_run(db_path, run_id, summary)
    clock.lap("load")
    summary["stage_seconds"] = clock.seconds
    _publish_summary(summary)
    log.info(_headline(summary))
    return summary


def _request(candidate, known: KnownUrl | None) -> FetchRequest:
    return FetchRequest(
        url=candidate.url,
        source=candidate.source,
        kind="page",
        allow_private=candidate.allow_private,
        etag=known.etag if known else None,
        last_modified=known.last_modified if known else None,
    )


def _process_batch(
    requests, results, known, db_path: str, run_id: str, now, run_folder: str, clock, ensure_pool,
    discovery_fetches, discovered,
) -> LoadReport:
    """Transform one fetched batch in chunks and load it in one transaction."""
    # A 200 whose bytes are the ones already loaded is not extracted or annotated again.
    unchanged = {
        r.url: known[r.url].article_id
        for r in results
        if r.outcome == "ok" and r.url in known and content_hash(r.body) == known[r.url].content_hash
    }
    pages = [
        {
            "url": r.url, "final_url": r.final_url, "source": r.source, "html": r.text, "body": r.body,
            "content_hash": content_hash(r.body), "content_type": r.content_type, "encoding": r.encoding,
            "fetched_at": r.fetched_at,
        }
        for r in results
        if r.outcome == "ok" and r.text is not None and r.url not in unchanged
    ]
    ensure_pool(len(pages))
    chunks = [pages[i : i + TRANSFORM_CHUNK] for i in range(0, len(pages), TRANSFORM_CHUNK)]
    if chunks and _parallel():
        futures = transform_task.map(chunks, run_id=unmapped(run_id), now=unmapped(now), run_folder=unmapped(run_folder))
        transformed = [future.result() for future in futures]
    else:   # in-process, one chunk at a time: the spaCy pipeline is shared
        transformed = [transform_task(chunk, run_id, now, run_folder) for chunk in chunks]
    clock.lap("transform")

    facts = [page for chunk in transformed for page in chunk.pages]
    valid_ids = set().union(*(chunk.valid_ids for chunk in transformed))
    quarantined_ids = set().union(*(chunk.quarantined_ids for chunk in transformed))
    folders = [chunk.staged for chunk in transformed]
    batch = staged_batch(
        run_id,
        folders,
        fetch_log=fetch_log_rows(run_id, list(discovery_fetches) + results, facts, valid_ids, quarantined_ids, unchanged),
        url_state=url_state_rows(requests, results, facts, valid_ids, known),
        discovered=discovered,
    )
    report = load_task(db_path, batch, finish=False)
    staging.remove(folders)
    clock.lap("load")
    return report


def _parallel() -> bool:
    """Chunks go to the task runner side by side when something can run them in parallel: the
    run's worker processes, or a Dask cluster."""
    if workers.active():
        return True
    runner = getattr(get_run_context(), "task_runner", None)
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


def _totals(per_source: dict[str, dict[str, int]]) -> dict[str, int]:
    out = Counter()
    for counts in per_source.values():
        out.update(counts)
    return {k: out.get(k, 0) for k in SUMMARY_COLUMNS}


class _StageClock:
    """Wall seconds per stage of a run (a stage named twice adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 3)
        self._last = now


def _fetcher(config: SourcesConfig, options: FetchOptions) -> Fetcher:
    """One fetcher for the run; each source's hosts get that source's delay (the politest wins on a shared host)."""
    fetcher = Fetcher(options)
    for source in config.sources:
        for url in (*source.feeds, *source.sitemaps, *source.pages, *source.urls):
            fetcher.set_host_delay(url_host(url), source.host_delay)
    return fetcher


def _headline(summary: dict) -> str:
    t = summary["totals"]
    return (
        f"{t['discovered']} discovered, {t['fetched']} fetched, {t['new']} new, {t['updated']} updated, "
        f"{t['not_modified']} not modified, {t['quarantined']} quarantined, {t['skipped']} skipped, {t['errors']} errors"
    )


def _publish_summary(summary: dict) -> None:
    rows = [{"source": name, **{k: counts.get(k, 0) for k in SUMMARY_COLUMNS}} for name, counts in sorted(summary["per_source"].items())]
    rows.append({"source": "TOTAL", **summary["totals"]})
    create_table_artifact(key="ingest-summary", table=rows, description=f"Run {summary['run_id']}: {_headline(summary)}")
