"""The `ingest` flow: sources -> discover -> fetch -> extract -> validate -> entities -> load.

Composition only: every step is a batched task from `tasks/`; no per-URL tasks.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from tasks import workers
from tasks.discover import discover_task
from tasks.annotate import annotate_task, merge_rows
from tasks.extract import extract_task
from tasks.fetch import FetchOptions, FetchRequest, Fetcher, fetch_task
from tasks.load import (
    RunBatch,
    SUMMARY_COLUMNS,
    article_rows,
    content_hash,
    fail_run,
    fetch_log_rows,
    load_task,
    page_rows,
    read_validators,
    start_run,
    url_state_rows,
)
from tasks.validate import empty_quarantine, validate_task
from warehouse.loader import DEFAULT_DB, WarehouseBusy, WarehouseError, writer_lock
from wirehouse.config import ConfigError, SourcesConfig, load_sources
from wirehouse.urls import url_host

EXTRACT_CHUNK = 50     # pages per extract task: visible progress, bounded memory
ANNOTATE_CHUNK = 100   # articles per annotate task (one nlp.pipe pass each)
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
    fetcher = _fetcher(config, options)
    try:
        discovery = discover_task(config, fetcher)
        log.info("discovered %d candidate URLs from %d sources", len(discovery.candidates), len(config.sources))

        validators = read_validators(db_path, [c.url for c in discovery.candidates])
        requests = [
            FetchRequest(
                url=c.url,
                source=c.source,
                kind="page",
                allow_private=c.allow_private,
                etag=validators.get(c.url, (None, None))[0],
                last_modified=validators.get(c.url, (None, None))[1],
            )
            for c in discovery.candidates
        ]
        results = fetch_task(requests, options, fetcher=fetcher)
    finally:
        fetcher.close()
    clock.lap("discover+fetch")

    pages = [
        {"url": r.url, "final_url": r.final_url, "source": r.source, "html": r.text, "content_hash": content_hash(r.body)}
        for r in results
        if r.outcome == "ok" and r.text is not None
    ]
    # A big run gets worker processes for the CPU stages; a rerun of unchanged pages starts none.
    with workers.pool_for(len(pages)) as n_workers:
        if n_workers:
            log.info("extraction and annotation in %d worker processes", n_workers)
        return _process(pages, results, requests, discovery, db_path, run_id, now, clock)


def _process(pages, results, requests, discovery, db_path: str, run_id: str, now, clock) -> dict:
    chunks = [pages[i : i + EXTRACT_CHUNK] for i in range(0, len(pages), EXTRACT_CHUNK)]
    extracted = [row for future in extract_task.map(chunks) for row in future.result()] if chunks else []
    clock.lap("extract")

    articles = article_rows(extracted, run_id, now)
    checked = validate_task(articles, "articles", "article_id", run_id)
    valid = checked.valid
    clock.lap("validate")
    if workers.active():   # chunks run side by side in the worker processes
        size = max(10, -(-len(valid) // (4 * (os.cpu_count() or 1))))
        chunks = [valid.iloc[i : i + size] for i in range(0, len(valid), size)]
        named = merge_rows([future.result() for future in annotate_task.map(chunks)])
    else:   # in-process, one chunk at a time: the spaCy pipeline is shared
        named = merge_rows([annotate_task(valid.iloc[i : i + ANNOTATE_CHUNK]) for i in range(0, len(valid), ANNOTATE_CHUNK)])
    clock.lap("annotate")
    checked_entities = validate_task(named.entities, "entities", "entity_id", run_id)
    mentions, events = named.mentions, named.events
    if checked_entities.failed_keys:
        failed = checked_entities.failed_keys
        mentions = mentions[~mentions["entity_id"].isin(failed)]
        for column in ("actor1_entity_id", "actor2_entity_id", "location_entity_id"):
            events = events[~events[column].isin(failed)]
    if not mentions.empty:
        mentions = mentions.assign(_key=mentions["article_id"] + ":" + mentions["start_char"].astype(str))
    checked_mentions = validate_task(mentions, "mentions", "_key", run_id)
    checked_events = validate_task(events, "events", "event_id", run_id)

    valid_ids = set(checked.valid["article_id"]) if not checked.valid.empty else set()
    quarantine = pd.concat(
        [
            q for q in (checked.quarantine, checked_entities.quarantine, checked_mentions.quarantine, checked_events.quarantine)
            if not q.empty
        ]
        or [empty_quarantine()],
        ignore_index=True,
    )
    batch = RunBatch(
        run_id=run_id,
        pages=page_rows(results),
        articles=checked.valid,
        entities=checked_entities.valid,
        mentions=checked_mentions.valid.drop(columns="_key", errors="ignore"),
        events=checked_events.valid,
        fetch_log=fetch_log_rows(run_id, discovery.fetches + results, extracted, valid_ids, checked.failed_keys),
        url_state=url_state_rows(requests, results, extracted, valid_ids),
        quarantine=quarantine,
        discovered=discovery.per_source,
    )
    clock.lap("validate")
    report = load_task(db_path, batch)
    clock.lap("load")
    summary = {
        "run_id": run_id, "per_source": report.per_source, "totals": report.totals(), "tables": report.table_counts,
        "stage_seconds": clock.seconds,
    }
    _publish_summary(summary)
    get_run_logger().info(_headline(summary))
    return summary


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
