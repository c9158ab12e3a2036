"""The `ingest` flow: sources -> discover -> fetch -> transform (extract, validate, annotate) -> load, in batches.

What this module does itself, besides calling the stages (batched tasks from `tasks/` and `flows/`;
no per-URL tasks) and the storage: it maps the sources file's [fetch] table and the CLI's options to
the fetch settings, plans the batches and fetches batch k+1 while batch k transforms (the batch loop
itself is `flows.batches`, shared with reprocess), decides which fetched pages need the transform
stage (a 200 with the bytes already loaded does not), adds each batch's crawl rows, times the stages
(``stage_seconds``), and records the run's start and end (completed, failed or interrupted).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from prefect import flow, get_run_logger, unmapped
from prefect.context import get_run_context
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from wirehouse.flows import faults, memory, outcome, workers
from wirehouse.flows.artifacts import RunProgress, publish
from wirehouse.flows.batches import InFlight, StageClock, run_batches
from wirehouse.flows.load import finish, load_task
from wirehouse.flows.transform import transform_task
from wirehouse.schemas.batches import SUMMARY_COLUMNS, KnownUrl, RunBatch, totals_of
from wirehouse.tasks.discover import discover_task
from wirehouse.tasks.fetch import FetchOptions, FetchRequest, Fetcher, fetch_task
from wirehouse.tasks.rows import fetch_log_rows, url_state_rows
from wirehouse.warehouse import staging
from wirehouse.warehouse.duckdb_adapter import WarehouseBusy, WarehouseError, writer_lock
from wirehouse.warehouse.load import load_pending, read_url_state
from wirehouse.warehouse.runs import fail_run, mark_interrupted, run_findings, run_seconds, start_run
from wirehouse import logs, stopping
from wirehouse.config import ConfigError, SourcesConfig, load_sources
from wirehouse.errors import storage_error
from wirehouse.settings import DEFAULT_DB, TRANSFORM_CHUNK, Settings, SettingsError, settings
from wirehouse.urls import url_host

TASK_WORKERS = 4


def fetch_options(config: SourcesConfig, contact_url: str | None = None) -> FetchOptions:
    """The run's fetch settings: the sources file's [fetch] table (already checked and typed by
    `wirehouse.config`), then the CLI's contact URL."""
    kwargs = dict(config.fetch)
    if contact_url:
        kwargs["contact_url"] = contact_url
    # The floor for hosts no source names; each source's own hosts get its delay (see `_fetcher`).
    kwargs["host_delay"] = min(s.host_delay for s in config.sources)
    kwargs["page_text"] = False   # pages are decoded in the transform stage
    return FetchOptions(**kwargs)


@flow(
    name="ingest",
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_WORKERS),
    log_prints=False,
    validate_parameters=True,
)
def ingest(
    sources_file: str = "sources.toml",
    db_path: str = DEFAULT_DB,
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
    logs.set_levels()
    try:
        config = load_sources(sources_file)
    except ConfigError as exc:
        return Failed(message=str(exc))
    run_id = str(flow_run.get_id() or uuid.uuid4())
    # SIGINT, SIGTERM, SIGHUP (and a Prefect cancellation, which is a SIGTERM) stop the run at its
    # next checkpoint; the run row says `interrupted` at once.
    with stopping.handle_signals(), stopping.run_scope():
        # A run the CLI's watchdog ends (it did not unwind in time) still shows Cancelled in Prefect.
        # (The id is read here: the run context does not reach the watchdog's thread.)
        this_run = flow_run.get_id()
        forget_state = stopping.before_hard_exit(lambda: _cancel_in_prefect(this_run))
        try:
            with writer_lock(db_path):
                stopping.check()
                started_at = start_run(db_path, run_id, flow_run.get_id(), str(sources_file))
                forget = stopping.on_stop(lambda: _interrupted(db_path, run_id))
                try:
                    summary = _run(config, db_path, run_id, fetch_options(config, contact_url), log, started_at)
                except stopping.RunStopped:
                    _interrupted(db_path, run_id)
                    raise stopping.RunStopped(stopping.summary()) from None
                except Exception as exc:
                    if stopping.requested():
                        # Whatever a stopped run raised on its way out (an abandoned chunk, a killed
                        # worker), the stop is what happened: Cancelled, not Failed with a traceback.
                        _interrupted(db_path, run_id)
                        raise stopping.RunStopped(stopping.summary()) from None
                    if isinstance(exc, staging.StagingError):   # loud, but known: one line, not a traceback
                        fail_run(db_path, run_id, str(exc))
                        return Failed(message=f"{exc}; that batch was not loaded, the next run fetches it again")
                    fail_run(db_path, run_id, str(storage_error(exc, fallback=db_path) or f"{type(exc).__name__}: {exc}"))
                    raise
                finally:
                    forget()
        except stopping.RunStopped as exc:
            log.info("%s", exc)   # the CLI prints its one line; the run's logs keep this one
            return Cancelled(message=str(exc))
        except Exception as exc:
            # A full disk or a read-only folder is the operator's to fix: one line, and the
            # `StorageError` as the state's data tells the CLI so (exit 2).
            full = storage_error(exc, fallback=db_path)
            if full is not None:
                return Failed(message=str(full), data=full)
            if isinstance(exc, (WarehouseBusy, WarehouseError)):
                return Failed(message=str(exc))
            raise
        finally:
            if not stopping.requested():   # stopped: kept until the engine has reported Cancelled itself
                forget_state()
    message = outcome.run_message(summary, _headline(summary))
    if outcome.every_source_failed(summary):
        # Nothing could be fetched: the run failed as a whole (Prefect state Failed, CLI exit 1),
        # its summary (with each source's first error) rides in the state's data.
        return Failed(message=message, data=outcome.EverySourceFailed(message, summary))
    return Completed(message=message, data=summary)


_marking = threading.Lock()   # the stop's watchdog and the unwinding run both mark it: one at a time


def _interrupted(db_path: str, run_id: str) -> None:
    with _marking:   # together, their two UPDATEs of the row conflict; in turn, the second does nothing
        mark_interrupted(db_path, run_id)
    stopping.note(f"run {run_id} marked interrupted")


def _cancel_in_prefect(flow_run_id) -> None:
    """Set the flow run Cancelled in the Prefect API (the watchdog is about to end this process)."""
    if flow_run_id is None:
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Cancelled(message=stopping.summary()), force=True)


def _run(config: SourcesConfig, db_path: str, run_id: str, options: FetchOptions, log, started_at: datetime) -> dict:
    now = datetime.now(timezone.utc)
    clock = StageClock()
    memory.use_system_allocator_for_arrow()
    staging.clear_stale(db_path, keep=run_id)
    carried = load_pending(db_path)
    fetcher = _fetcher(config, options)
    with contextlib.closing(fetcher), staging.hold_run_dir(db_path, run_id) as folder:
        run_folder = str(folder)
        # Sitemaps give their cap to the URLs not yet made articles of (`tasks.discover`).
        discovery = discover_task(config, fetcher, known=lambda urls: read_url_state(db_path, urls).keys())
        log.info("discovered %d candidate URLs from %d sources", len(discovery.candidates), len(config.sources))
        failed_sources = outcome.entry_point_failures(discovery.fetches)
        for name, failures in sorted(failed_sources.items()):
            log.info("source failed: %s", outcome.failure_line(name, failures))
        for name, left_out in discovery.capped.items():
            log.info("%s: %d sitemap URLs left out by the cap (the oldest)", name, left_out)
        known = read_url_state(db_path, [c.url for c in discovery.candidates])
        requests = [_request(c, known.get(c.url)) for c in discovery.candidates]
        size = _batch_pages()
        batches = [requests[i : i + size] for i in range(0, len(requests), size)] or [[]]
        clock.lap("discover")
        progress = RunProgress(len(requests), len(batches))
        # On a Dask cluster the cluster's workers run the CPU stages; else this machine's processes may.
        with workers.pool_scope(enabled=not _on_cluster()) as ensure_pool:
            # URLs never seen before need extraction: start the workers now, while the first batch is fetched.
            if ensure_pool(sum(1 for r in requests if r.url not in known)):
                log.info("extraction and annotation in worker processes")
            fetching = _fetch_ahead(batches[0], options, fetcher)

            def submit(index: int, batch: list[FetchRequest]) -> InFlight:
                """Wait for batch k's pages, start fetching batch k+1, and submit batch k to the transform stage."""
                nonlocal fetching
                results = stopping.wait_for(fetching)
                faults.point("fetched")
                stopping.check()
                if index + 1 < len(batches):
                    fetching = _fetch_ahead(batches[index + 1], options, fetcher)
                clock.lap("fetch")
                first = index == 0
                submitted = _transform_batch(
                    batch, results, known, run_id, now, run_folder, ensure_pool,
                    discovery_fetches=discovery.fetches if first else [],
                    discovered=discovery.per_source if first else {},
                    on_chunk=lambda number, pages: progress.transformed(index, number, pages),
                )
                log.info("batch %d/%d fetched", index + 1, len(batches))
                return submitted

            # A pipeline: batch k+1 downloads and batch k transforms while batch k-1 loads.
            totals = run_batches(
                batches, submit, lambda rows: load_task(db_path, rows, finish=False, in_transaction=_loading_point),
                db_path=db_path, run_id=run_id, crawl_rows=_crawl_rows, overlap=True, checkpoints=True,
                clock=clock, progress=progress,
            )
    per_source = {name: {k: counts.get(k, 0) for k in SUMMARY_COLUMNS} for name, counts in totals.items()}
    summary = {"run_id": run_id, "per_source": per_source, "totals": totals_of(per_source), "stage_seconds": clock.seconds,
               "failed_sources": failed_sources}
    if carried:
        summary["carried_over"] = carried
    if discovery.capped:   # source -> sitemap URLs the cap left out (the oldest): the next runs take them
        summary["sitemap_capped"] = dict(discovery.capped)
    # The run's seconds: one figure, from the ledger's start to its end, for the terminal, the
    # summary artifact and `wirehouse status` alike.
    finished_at = datetime.now(timezone.utc)
    summary["seconds"] = run_seconds(started_at, finished_at)
    status = "failed" if outcome.every_source_failed(summary) else "completed"
    summary["tables"] = finish(db_path, run_id, summary, status, finished_at)
    clock.lap("load")
    summary["stage_seconds"] = clock.seconds
    findings = run_findings(db_path, run_id)
    if findings:
        publish(summary, findings, _headline(summary))
    outcome.emit_source_events(summary, findings.get("health"), flow_run.get_id())
    log.info(_headline(summary))
    return summary


def _batch_pages() -> int:
    try:
        return settings().batch_pages
    except SettingsError as exc:
        fallback = Settings().batch_pages
        get_run_logger().warning("%s; using %d", exc, fallback)
        return fallback


def _request(candidate, known: KnownUrl | None) -> FetchRequest:
    return FetchRequest(
        url=candidate.url,
        source=candidate.source,
        kind="page",
        allow_private=candidate.allow_private,
        etag=known.etag if known else None,
        last_modified=known.last_modified if known else None,
    )


@dataclass
class _Fetches:
    """What an ingest batch's crawl rows are made from."""

    requests: list[FetchRequest]
    results: list
    unchanged: dict[str, str]
    known: dict[str, KnownUrl]
    discovery_fetches: list


def _transform_batch(requests, results, known, run_id: str, now, run_folder: str, ensure_pool,
                     discovery_fetches, discovered, on_chunk=None) -> InFlight:
    """Submit a fetched batch's pages to the transform stage in chunks (in-process, the chunks are
    done here, one by one, and ``on_chunk(number, pages)`` is told of each)."""
    unchanged: dict[str, str] = {}
    pages = []
    for r in results:
        if r.outcome != "ok" or r.kind != "page" or r.body is None:
            continue
        digest = r.content_hash
        if r.url in known and digest == known[r.url].content_hash:
            # A 200 whose bytes are the ones already loaded is not extracted or annotated again.
            unchanged[r.url] = known[r.url].article_id
            continue
        pages.append({
            "url": r.url, "final_url": r.final_url, "source": r.source, "body": r.body, "encoding": r.encoding,
            "content_hash": digest, "content_type": r.content_type, "fetched_at": r.fetched_at,
        })
    ensure_pool(len(pages))
    chunks = [pages[i : i + TRANSFORM_CHUNK] for i in range(0, len(pages), TRANSFORM_CHUNK)]
    if chunks and _parallel():
        done = list(transform_task.map(chunks, run_id=unmapped(run_id), now=unmapped(now), run_folder=unmapped(run_folder)))
    else:   # in-process, one chunk at a time: the spaCy pipeline is shared
        done = []
        for number, chunk in enumerate(chunks):
            stopping.check()
            done.append(transform_task(chunk, run_id, now, run_folder))
            if on_chunk is not None and done[-1] is not None:
                on_chunk(number, len(chunk))
    return InFlight(done, len(requests), dict(discovered), _Fetches(requests, results, unchanged, known, list(discovery_fetches)),
                    chunk_pages=[len(chunk) for chunk in chunks])


def _crawl_rows(batch: RunBatch, submitted: InFlight, transformed: list) -> None:
    """The batch's fetch_log and url_state: dispositions and crawl state from the rows this load
    writes, not from what the workers said."""
    fetches: _Fetches = submitted.crawl
    facts = [page for chunk in transformed for page in chunk.pages]
    valid_ids, quarantined_ids = batch.article_keys()
    batch.fetch_log = fetch_log_rows(batch.run_id, fetches.discovery_fetches + fetches.results, facts, valid_ids,
                                     quarantined_ids, fetches.unchanged)
    batch.url_state = url_state_rows(fetches.requests, fetches.results, facts, valid_ids, fetches.known)


def _loading_point() -> None:
    faults.point("loading")


def _parallel() -> bool:
    """Chunks go to the task runner side by side when something can run them in parallel: the
    run's worker processes, or a Dask cluster."""
    return workers.active() or _on_cluster()


def _on_cluster() -> bool:
    runner = getattr(get_run_context(), "task_runner", None)
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


class _Fetched:
    def __init__(self, results: list) -> None:
        self._results = results

    def result(self) -> list:
        return self._results


def _fetch_ahead(batch: list[FetchRequest], options: FetchOptions, fetcher: Fetcher):
    """Start fetching a batch: in a thread beside the run, or here when the task runner is a Dask
    cluster (fetching stays on this machine, with the run's robots cache and host timing)."""
    if _on_cluster():
        return _Fetched(fetch_task(batch, options, fetcher=fetcher))
    return fetch_task.submit(batch, options, fetcher=fetcher)


def task_runner(runner: str = "threads", address: str | None = None, n_workers: int | None = None):
    """The task runner of a run.

    Args:
        runner: "threads": tasks in threads, the CPU stages in worker processes of this machine
            (`flows.workers`); "dask": the CPU stages on a Dask cluster.
        address: a running Dask scheduler (tcp://host:8786); none starts a LocalCluster here.
        n_workers: LocalCluster worker processes (default: the CPU count), one thread each.

    Returns:
        A Prefect task runner for ``ingest.with_options(task_runner=...)``.
    """
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=TASK_WORKERS)
    if runner != "dask":
        raise ValueError(f"unknown runner {runner!r} (threads or dask)")
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": n_workers or os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None,
        }
    )


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
