"""The commands that run flows: ingest, demo, reprocess, quarantine (list and replay) and serve."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from wirehouse import stopping
from wirehouse.cli.common import (
    EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, Stopped, cannot_write, check_output_file, read_errors, table,
)

DEMO_QUERIES = ("articles_by_source", "top_entities", "events_by_type", "recent_events", "fetch_outcomes")


# ---------------------------------------------------------------- ingest


def run_ingest(sources: str, db: str, contact_url: str | None = None, runner: str = "threads",
               dask_address: str | None = None, dask_workers: int | None = None, progress: bool = True) -> dict:
    """Check the inputs, run the flow once in-process, return its summary (raises CliError)."""
    from wirehouse.config import ConfigError, load_sources

    try:
        load_sources(sources)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    from wirehouse.warehouse.duckdb_adapter import WarehouseError, check_file

    try:
        check_file(db)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None

    _wait_for_writer(db)
    if dask_workers is not None and dask_workers < 1:
        raise CliError("--dask-workers must be at least 1", EXIT_USAGE)
    if dask_address:
        if runner != "dask":
            raise CliError("--dask-address needs --runner dask", EXIT_USAGE)
        _check_scheduler(dask_address)
    from wirehouse.flows.artifacts import progress_listeners
    from wirehouse.flows.ingest import ingest, task_runner
    from wirehouse.cli import wait_for_prefect
    from wirehouse.logs import quiet_storage_failures
    from wirehouse.progress import terminal_progress

    quiet_storage_failures()   # Prefect's logging is set up by now
    wait_for_prefect()
    flow = ingest if runner == "threads" else ingest.with_options(task_runner=task_runner(runner, dask_address, dask_workers))
    with terminal_progress() if progress else contextlib.nullcontext() as listener:
        if listener:
            progress_listeners.append(listener)
        try:
            state = flow(sources_file=sources, db_path=db, contact_url=contact_url, return_state=True)
        finally:
            if listener:
                progress_listeners.remove(listener)
    if stopping.requested() or state.is_cancelled():
        raise Stopped(stopping.summary(), stopping.exit_code())
    if not state.is_completed():
        full = _operator_cause(state)
        if full is not None:
            raise CliError(full, EXIT_USAGE)
        summary = _failed_summary(state)
        if summary is not None:   # every source failed: the summary, then one line per source
            from wirehouse.flows.outcome import failure_lines

            _print_summary(summary)
            raise CliError("\n".join([f"ingest run failed: {_state_message(state)}", *failure_lines(summary)]), EXIT_FAILED)
        raise CliError(f"ingest run failed: {_state_message(state)}", EXIT_FAILED)
    return state.result()


def _wait_for_writer(db: str, stream=None) -> None:
    """Wait for a run that writes the warehouse now, before Prefect and the pipeline are started
    and imported (seconds a busy run would spend before it even asks for the lock): the message
    then gives the seconds this command really waited (the flow still takes the lock itself).

    While it waits, it says so: on a terminal one line, redrawn every second with the seconds
    left; elsewhere (a log) one line when the wait begins."""
    import sys

    from wirehouse.warehouse.duckdb_adapter import WarehouseBusy, writer_lock

    stream = stream or sys.stderr
    tty = stream.isatty()
    waited: list[float] = []

    def say(seconds: float, left: float) -> None:
        first = not waited
        waited[:] = [seconds]
        text = f"wirehouse: another run is writing to {db}: waiting for it, {left:.0f} s left"
        if tty:
            print(f"\r\x1b[K{text}", end="", file=stream, flush=True)
        elif first:
            print(text, file=stream, flush=True)

    started = time.monotonic()
    try:
        with writer_lock(db, on_wait=say):
            pass
    except WarehouseBusy as exc:
        if waited and tty:
            print("\r\x1b[K", end="", file=stream, flush=True)   # the error line takes its place
        raise CliError(str(exc), EXIT_FAILED) from None
    except BaseException:
        if waited and tty:
            print(file=stream, flush=True)
        raise
    if waited and tty:
        print(f"\r\x1b[Kwirehouse: the other run is done: starting (waited {time.monotonic() - started:.0f} s)", file=stream, flush=True)


def _failed_summary(state) -> dict | None:
    """The summary a run that failed as a whole (every source failed) returns as its state's data."""
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - no result: not ours to read
        return None
    from wirehouse.flows.outcome import EverySourceFailed

    return result.summary if isinstance(result, EverySourceFailed) else None


def _operator_cause(state) -> str | None:
    """The message of a run that failed on a full disk or a read-only folder (the flow returns the
    `StorageError` as its state's data), else None."""
    from wirehouse.errors import StorageError

    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - no result: not ours to read
        return None
    return str(result) if isinstance(result, StorageError) else None


def _check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Fail before the run when the Dask scheduler does not answer (the run would fail at its first chunk)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        host = None
    if parts.scheme not in ("tcp", "tls") or not host:
        raise CliError(f"--dask-address {address!r}: expected tcp://HOST:PORT", EXIT_USAGE)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise CliError(f"cannot reach the Dask scheduler at {host}:{port}: {exc.strerror or exc}", EXIT_USAGE) from None


def _state_message(state) -> str:
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never re-raised
        result = exc
    from wirehouse.flows.outcome import EverySourceFailed

    if isinstance(result, BaseException) and not isinstance(result, EverySourceFailed):
        return f"{type(result).__name__}: {str(result).splitlines()[0] if str(result) else ''}"
    return (state.message or state.name or "unknown").splitlines()[0]


def cmd_ingest(args) -> int:
    if args.summary_json:   # before the run, not after it
        check_output_file(args.summary_json, "--summary-json")
    summary = run_ingest(args.sources, args.db, args.contact_url, args.runner, args.dask_address, args.dask_workers)
    seconds = command_seconds()
    _print_summary(summary, seconds)
    if args.summary_json:
        import json

        try:
            Path(args.summary_json).write_text(json.dumps({**summary, "wall_seconds": round(seconds, 3)}, indent=1), encoding="utf-8")
        except OSError as exc:
            raise cannot_write(exc, args.summary_json, "--summary-json") from None
    return EXIT_OK


def command_seconds() -> float:
    """Seconds since this command started (`wirehouse.cli.main`)."""
    from wirehouse import cli

    return time.monotonic() - cli.COMMAND_STARTED


def _print_summary(summary: dict, command: float | None = None) -> None:
    """The run's summary: its seconds (the ledger's figure, as `status` and the summary artifact
    show them; ``command``: the whole command's, Prefect's start-up included), counts per source,
    and each failing source with its first error."""
    from wirehouse.flows.outcome import every_source_failed, failure_lines
    from wirehouse.schemas.batches import SUMMARY_COLUMNS

    rows = [[name] + [counts.get(k, 0) for k in SUMMARY_COLUMNS] for name, counts in sorted(summary["per_source"].items())]
    rows.append(["TOTAL"] + [summary["totals"][k] for k in SUMMARY_COLUMNS])
    ended = "failed" if every_source_failed(summary) else "completed"
    whole = f" (the command: {command:.1f} s, starting Prefect included)" if command is not None else ""
    print(f"run {summary['run_id']} {ended} in {summary['seconds']:.1f} s{whole}")
    print(table(["source", *SUMMARY_COLUMNS], rows))
    for line in failure_lines(summary):
        print(f"source failed: {line}")
    capped = summary.get("sitemap_capped") or {}
    if capped:
        print("sitemap cap: " + ", ".join(f"{name} {n} older URLs left out" for name, n in sorted(capped.items())))
    tables = summary.get("tables") or {}
    if tables:
        print("warehouse rows: " + ", ".join(f"{k} {v}" for k, v in tables.items()))
    stages = summary.get("stage_seconds") or {}
    if stages:
        print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))


# ---------------------------------------------------------------- demo


@read_errors()
def cmd_demo(args) -> int:
    import tempfile

    from wirehouse.warehouse.sandbox import query_params, resolve_sql
    from wirehouse.cli.read import print_query
    from wirehouse.samplesite import SampleSite

    try:
        site = SampleSite(port=args.port)
        site.start()
    except OSError as exc:
        raise CliError(f"cannot serve the sample site on port {args.port}: {exc.strerror or exc}; try --port", EXIT_USAGE) from None
    try:
        print("sample site: " + ", ".join(f"{k} {v}" for k, v in site.base_urls.items()))
        with tempfile.TemporaryDirectory(prefix="wirehouse-demo-") as tmp:
            sources = Path(tmp) / "sources.toml"
            sources.write_text(site.render_sources(), encoding="utf-8")
            summary = run_ingest(str(sources), args.db)
    finally:
        site.stop()
    _print_summary(summary, command_seconds())
    for name in DEMO_QUERIES:
        print()
        print(f"-- warehouse/queries/{name}.sql")
        sql = resolve_sql(name)
        print_query(args.db, sql, "table", 20, query_params(sql, []))
    return EXIT_OK


# ---------------------------------------------------------------- reprocess, quarantine


def _redo(db: str, work):
    """Run a reprocess or replay under the writer lock (these write: an older schema is migrated)."""
    from wirehouse.warehouse.duckdb_adapter import writer_lock
    from wirehouse.warehouse.sandbox import check_readable

    check_readable(db)
    with writer_lock(db):
        return work()


def _print_redo(report) -> None:
    rows = [[name, c.get("updated", 0) + c.get("new", 0), c.get("unchanged", 0), c.get("quarantined", 0)]
            for name, c in sorted(report.per_source.items())]
    if rows:
        print(table(["source", "redone", "unchanged", "quarantined"], rows))
    print(f"{report.kind}: {report.pages} raw pages went through the stages again"
          + (f"; {report.missing_raw} had no stored raw page" if report.missing_raw else "") + f" (run {report.run_id})")


@read_errors()
def cmd_reprocess(args) -> int:
    from wirehouse.flows.reprocess import reprocess

    report = _redo(args.db, lambda: reprocess(args.db, args.limit))
    if report.pages == 0 and report.missing_raw == 0:
        print("nothing to reprocess: every article was made by the current extractor and annotator")
    else:
        _print_redo(report)
    return EXIT_OK


@read_errors()
def cmd_quarantine(args) -> int:
    if args.quarantine_command == "list":
        from wirehouse.warehouse.sandbox import check_readable, resolve_sql
        from wirehouse.cli.read import print_query

        check_readable(args.db)
        print_query(args.db, resolve_sql("quarantine_list"), args.format, args.max_rows, {"table_name": args.table or ""})
        return EXIT_OK
    from wirehouse.flows.reprocess import replay_quarantine

    report = _redo(args.db, lambda: replay_quarantine(args.db, args.table))
    if report.pages == 0 and report.missing_raw == 0:
        print("nothing to replay: no quarantined row has a stored raw page" + (f" in {args.table}" if args.table else ""))
        return EXIT_OK
    _print_redo(report)
    print(f"released from quarantine: {report.released} rows")
    for check, count in sorted(report.still_quarantined.items()):
        print(f"still quarantined: {count} rows: {check}")
    return EXIT_OK


# ---------------------------------------------------------------- serve


def cmd_serve(args) -> int:
    from wirehouse.config import ConfigError, load_sources
    from wirehouse.server import ensure_server, healthy

    try:
        load_sources(args.sources)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if args.start_server:
        try:
            server = ensure_server(args.port)
        except RuntimeError as exc:
            raise CliError(str(exc), EXIT_FAILED) from None
    elif not os.environ.get("PREFECT_API_URL"):
        raise CliError("schedules need a Prefect server: run `make serve`, or set PREFECT_API_URL", EXIT_USAGE)
    else:
        server = None
        _check_api(os.environ["PREFECT_API_URL"])
    try:
        from wirehouse.deployments import serve_all

        def say(names: list[str]) -> None:
            ui = os.environ.get("PREFECT_UI_URL") or os.environ["PREFECT_API_URL"].removesuffix("/api")
            print(f"serving deployments {names[0]} (cron '{args.cron}'), {', '.join(names[1:-1])} and {names[-1]}; UI: {ui}")

        try:
            serve_all(str(Path(args.db).resolve()), str(Path(args.sources).resolve()), args.cron, on_start=say,
                      on_run=lambda line: print(line, flush=True))
        except Exception as exc:   # the server went away (or never answered): one line, not a traceback
            api_url = os.environ.get("PREFECT_API_URL", "")
            if _unreachable(exc) and not healthy(api_url):
                raise CliError(_no_server(api_url), EXIT_USAGE) from None
            raise
    finally:
        if server is not None:
            server.stop()
    return EXIT_OK


def _no_server(api_url: str) -> str:
    return f"no Prefect server at {api_url}: start one with make serve or prefect server start"


def _check_api(api_url: str) -> None:
    """`serve` needs its server before it says it serves: one line and exit 2 when none answers."""
    from wirehouse.server import healthy

    if not healthy(api_url, timeout=5.0):
        raise CliError(_no_server(api_url), EXIT_USAGE)


def _unreachable(exc: BaseException) -> bool:
    """A connection failure to the API, however deep Prefect wrapped it."""
    import httpx

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
