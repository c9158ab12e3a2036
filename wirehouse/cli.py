"""The `wirehouse` command: ingest, demo, query, serve, annotate.

Exit codes (a contract): 0 the run completed (some URLs may have failed: see fetch_log),
1 the run failed as a whole, 2 usage or configuration error (a full disk or a folder that cannot be
written counts: the operator's to fix). Errors are one line, no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
import time
from pathlib import Path

from wirehouse import stopping
from wirehouse.settings import PREFECT_ENVIRONMENT, QUERY_MEMORY_LIMIT, Settings, SettingsError, settings

DEMO_PORT = 8765
QUERY_TIMEOUT = 60.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_QUERIES = ("articles_by_source", "top_entities", "events_by_type", "recent_events", "fetch_outcomes")


class CliError(Exception):
    """A one-line error with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Stopped(CliError):
    """The run was stopped by a signal: one line, exit 128 + the signal's number."""


def _quiet_prefect(verbose: bool) -> None:
    # Set before prefect is imported: settings are read at import.
    for name, value in PREFECT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
    from wirehouse.logs import CONSOLE_ENV, prefect_environment

    prefect_environment()
    os.environ.setdefault(CONSOLE_ENV, "1" if verbose else "0")


def _parser(now: Settings) -> argparse.ArgumentParser:
    """The command line; defaults from ``now`` (the settings: defaults changed by the environment)."""
    parser = argparse.ArgumentParser(prog="wirehouse", description="News-intelligence ETL into DuckDB, run by Prefect.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="run the ingest flow once")
    p.add_argument("--sources", default=now.sources_file, help=f"sources TOML file (default {now.sources_file})")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--contact-url", help="contact URL sent in the User-Agent")
    p.add_argument("--summary-json", metavar="FILE", help="also write the run summary (counts, stage seconds) as JSON")
    p.add_argument(
        "--runner", choices=("threads", "dask"), default="threads",
        help="threads: CPU stages in worker processes here (default); dask: on a Dask cluster",
    )
    p.add_argument("--dask-address", metavar="URL", help="with --runner dask: a running scheduler (default: a local cluster)")
    p.add_argument("--dask-workers", type=int, metavar="N", help="with --runner dask and no address: local workers (default: CPUs)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run logs")

    p = sub.add_parser("demo", help="serve the bundled sample site on loopback and ingest it")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--port", type=int, default=DEMO_PORT, help=f"sample site port (default {DEMO_PORT})")
    p.add_argument("-v", "--verbose", action="store_true")

    p = sub.add_parser("query", help="run read-only SQL (or a saved query's name) against the warehouse")
    p.add_argument("sql", nargs="?", help="SQL text, or the name of a saved query in warehouse/queries/")
    p.add_argument("--file", metavar="FILE", help="read the SQL from a file (e.g. warehouse/queries/who_met_whom.sql)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a value for $NAME in the query (saved queries declare defaults in a '-- params:' line)")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--max-rows", type=int, default=100)
    p.add_argument("--timeout", type=float, default=QUERY_TIMEOUT, metavar="SECONDS",
                   help=f"stop the query after this long (default {QUERY_TIMEOUT:g} s)")
    p.add_argument("--memory-limit", metavar="SIZE", help=f"DuckDB memory cap for the query (default {QUERY_MEMORY_LIMIT})")

    p = sub.add_parser("migrate", help="bring a warehouse an older wirehouse wrote to the current schema")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")

    p = sub.add_parser("status", help="last runs, table sizes, warehouse size, sources with problems")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")

    p = sub.add_parser("search", help="full-text search over articles, best first")
    p.add_argument("words", help="what to look for (free text)")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("export", help="write every table as Parquet (or CSV) files, partitioned by date")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (missing or empty)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--partition", choices=("day", "month", "year"), default="month", help="date partition width (default month)")
    p.add_argument("--overwrite", action="store_true", help="replace what DIR holds")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")

    p = sub.add_parser("reprocess", help="redo articles an older extractor or annotator made, from stored raw pages (no refetch)")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--limit", type=int, metavar="N", help="at most N articles, oldest first")

    p = sub.add_parser("quarantine", help="list quarantined rows, or replay them after a fix")
    qsub = p.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    q = qsub.add_parser("list", help="quarantined rows with their failed checks, newest first")
    q.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    q.add_argument("--table", choices=("articles", "entities", "mentions", "events"))
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--max-rows", type=int, default=100)
    q = qsub.add_parser("replay", help="validate quarantined rows again from their stored raw pages; load what passes")
    q.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    q.add_argument("--table", choices=("articles", "entities", "mentions", "events"))

    p = sub.add_parser("report", help="write one self-contained HTML report with charts and a map")
    p.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file (default report.html)")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")

    p = sub.add_parser(
        "annotate",
        help="JSON lines in ({id, text, published_at?}) -> entities and events out, one line per input",
        description=(
            "Reads JSON lines {\"id\", \"text\", \"published_at\"?} on stdin and writes one JSON line per input: "
            "{\"id\", \"entities\": [...], \"events\": [...]} (see README). A bad line gets an {\"id\", \"error\"} "
            "line in its place and a message on stderr; the exit code is then 1."
        ),
    )
    p.add_argument("--batch-size", type=int, default=64, help="lines annotated per nlp.pipe pass (default 64)")

    p = sub.add_parser("serve", help="serve the ingest deployment on a cron schedule (needs a Prefect server)")
    p.add_argument("--sources", default=now.sources_file, help=f"sources TOML file (default {now.sources_file})")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--cron", default=now.cron, help=f"schedule (default '{now.cron}', WIREHOUSE_CRON)")
    p.add_argument("--start-server", action="store_true", help="start `prefect server start` first if none answers")
    p.add_argument("--port", type=int, default=4200, help="Prefect server port (with --start-server)")
    p.add_argument("-v", "--verbose", action="store_true")
    return parser


DEPLOYMENT_CONCURRENCY = 1   # as prefect.yaml's concurrency_limit
_temporary_server = None   # this run's own temporary Prefect server, when no server was at hand


def _use_local_server() -> None:
    """Run on the local Prefect server when one answers (the run shows in its UI, and the start of a
    temporary server is saved); else start a temporary one now, so it boots while the pipeline is
    imported. Must run before prefect's import."""
    global _temporary_server
    if os.environ.get("PREFECT_API_URL"):
        return
    from wirehouse.server import healthy, start_temporary

    now = settings()
    api_url = now.local_server_url
    if now.use_local_server and healthy(api_url, timeout=0.5):
        os.environ["PREFECT_API_URL"] = api_url
        return
    try:
        _temporary_server = start_temporary()
    except (OSError, RuntimeError) as exc:   # Prefect then starts its own at the first flow call
        print(f"wirehouse: note: cannot start a temporary Prefect server early: {exc}", file=sys.stderr)


def _wait_for_prefect() -> None:
    if _temporary_server is not None:
        try:
            _temporary_server.wait_ready()
        except RuntimeError as exc:
            raise CliError(str(exc), EXIT_FAILED) from None


def main(argv: list[str] | None = None) -> int:
    import faulthandler
    import signal

    # `kill -USR1 <pid>` prints where every thread of a run is, for a run that seems stuck.
    with contextlib.suppress(ValueError, AttributeError, RuntimeError):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        now = settings()
    except SettingsError as exc:
        print(f"wirehouse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = _parser(now).parse_args(argv)
    _quiet_prefect(getattr(args, "verbose", False))
    runs = args.command in {"ingest", "demo"}
    with stopping.handle_signals() if runs else contextlib.nullcontext():
        if runs:
            stopping.arm_hard_exit(_last_words)
            _use_local_server()
        code = _dispatch(args)
    if runs and stopping.requested():
        # Threads still in a download or a chunk are abandoned, not waited for at exit.
        _say_stopped()
        _flush()
        os._exit(stopping.exit_code())
    return code


def _dispatch(args) -> int:
    try:
        handler = {
            "ingest": cmd_ingest, "demo": cmd_demo, "query": cmd_query, "serve": cmd_serve, "annotate": cmd_annotate,
            "status": cmd_status, "search": cmd_search, "export": cmd_export, "report": cmd_report,
            "reprocess": cmd_reprocess, "quarantine": cmd_quarantine, "migrate": cmd_migrate,
        }[args.command]
        return handler(args)
    except Stopped as exc:
        _say_stopped(str(exc))
        return exc.code
    except CliError as exc:
        print(f"wirehouse: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("wirehouse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # `wirehouse status | head`: the reader left; not an error worth a traceback
        with contextlib.suppress(OSError):   # nor is the flush at exit into the same closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if stopping.requested() and args.command in {"ingest", "demo"}:
            _say_stopped()   # whatever a stopped run raised on its way out, the stop is the news
            return stopping.exit_code()
        full = _storage_error(exc)
        if full is not None:   # a full disk, a read-only folder: the operator's to fix
            print(f"wirehouse: error: {full}", file=sys.stderr)
            return EXIT_USAGE
        if not _is_warehouse_error(exc):
            raise
        print(f"wirehouse: error: {exc}", file=sys.stderr)   # busy, or unreadable: one line, not a traceback
        return EXIT_FAILED
    finally:
        _stop_prefect()


_said = threading.Lock()


def _say_stopped(message: str | None = None) -> None:
    """The one line a stopped run prints (once, whoever gets there first)."""
    if _said.acquire(blocking=False):
        with contextlib.suppress(OSError, ValueError):
            print(f"wirehouse: {message or stopping.summary()}", file=sys.stderr)


def _stop_prefect() -> None:
    global _temporary_server
    server, _temporary_server = _temporary_server, None
    if server is not None:
        if stopping.requested():
            server.stop(timeout=1.0)
        else:
            _drain_prefect()
            server.stop()


def _last_words() -> None:
    """The watchdog ends a run that did not unwind in time: say so, stop the temporary server."""
    _say_stopped()
    _stop_prefect()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _is_warehouse_error(exc: BaseException) -> bool:
    """A `WarehouseBusy` or `WarehouseError` (only possible once the DuckDB adapter was imported: the
    CLI does not import DuckDB for commands that never open the warehouse)."""
    adapter = sys.modules.get("warehouse.duckdb_adapter")
    return adapter is not None and isinstance(exc, (adapter.WarehouseBusy, adapter.WarehouseError))


def _storage_error(exc: BaseException, fallback: str | None = None, option: str = "--db"):
    """`wirehouse.errors.storage_error`: the operator's cause of a failed write, or None."""
    from wirehouse.errors import storage_error

    return storage_error(exc, fallback=fallback, option=option)


def _cannot_write(exc: BaseException, path, option: str) -> CliError:
    """A failed write of an output file or folder: exit 2 when the cause is the operator's (full disk,
    read-only folder), else 1."""
    full = _storage_error(exc, fallback=str(path), option=option)
    if full is not None:
        return CliError(str(full), EXIT_USAGE)
    return CliError(f"cannot write {path}: {getattr(exc, 'strerror', None) or str(exc).splitlines()[0]}", EXIT_FAILED)


def _check_output_file(path: str, option: str) -> None:
    """Before a run: the folder of an output file exists and can be written."""
    from warehouse.duckdb_adapter import WarehouseError, check_writable

    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise CliError(f"{option} {target}: give a file in an existing folder", EXIT_USAGE)
    try:
        check_writable(target.parent, option)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _drain_prefect(timeout: float = 10.0) -> None:
    """Send Prefect's queued logs and events while our temporary server still answers: drained at
    interpreter exit instead, against a stopped server, they were retried for over a minute."""
    if "prefect" not in sys.modules:
        return
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=timeout)
        EventsWorker.drain_all(timeout=timeout)
    except Exception as exc:   # best effort: a failure here must not hide the command's own result
        print(f"wirehouse: note: could not flush Prefect's logs: {exc}", file=sys.stderr)


# ---------------------------------------------------------------- ingest


def run_ingest(sources: str, db: str, contact_url: str | None = None, runner: str = "threads",
               dask_address: str | None = None, dask_workers: int | None = None, progress: bool = True) -> dict:
    """Check the inputs, run the flow once in-process, return its summary (raises CliError)."""
    from wirehouse.config import ConfigError, load_sources

    try:
        load_sources(sources)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    from warehouse.duckdb_adapter import WarehouseError, check_file

    try:
        check_file(db)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None

    if dask_workers is not None and dask_workers < 1:
        raise CliError("--dask-workers must be at least 1", EXIT_USAGE)
    if dask_address:
        if runner != "dask":
            raise CliError("--dask-address needs --runner dask", EXIT_USAGE)
        _check_scheduler(dask_address)
    from flows.ingest import ingest, task_runner
    from flows.artifacts import progress_listeners
    from wirehouse.logs import quiet_storage_failures
    from wirehouse.progress import terminal_progress

    quiet_storage_failures()   # Prefect's logging is set up by now
    _wait_for_prefect()
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
        raise CliError(f"ingest run failed: {_state_message(state)}", EXIT_FAILED)
    return state.result()


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
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {str(result).splitlines()[0] if str(result) else ''}"
    return (state.message or state.name or "unknown").splitlines()[0]


def cmd_ingest(args) -> int:
    if args.summary_json:   # before the run, not after it
        _check_output_file(args.summary_json, "--summary-json")
    started = time.perf_counter()
    summary = run_ingest(args.sources, args.db, args.contact_url, args.runner, args.dask_address, args.dask_workers)
    seconds = time.perf_counter() - started
    _print_summary(summary, seconds)
    if args.summary_json:
        import json

        try:
            Path(args.summary_json).write_text(json.dumps({**summary, "wall_seconds": round(seconds, 3)}, indent=1), encoding="utf-8")
        except OSError as exc:
            raise _cannot_write(exc, args.summary_json, "--summary-json") from None
    return EXIT_OK


def _print_summary(summary: dict, seconds: float) -> None:
    from schemas.batches import SUMMARY_COLUMNS

    rows = [[name] + [counts.get(k, 0) for k in SUMMARY_COLUMNS] for name, counts in sorted(summary["per_source"].items())]
    rows.append(["TOTAL"] + [summary["totals"][k] for k in SUMMARY_COLUMNS])
    print(f"run {summary['run_id']} completed in {seconds:.1f} s")
    print(_table(["source", *SUMMARY_COLUMNS], rows))
    tables = summary.get("tables") or {}
    if tables:
        print("warehouse rows: " + ", ".join(f"{k} {v}" for k, v in tables.items()))
    stages = summary.get("stage_seconds") or {}
    if stages:
        print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))


def _table(header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------- demo


def cmd_demo(args) -> int:
    import tempfile

    from wirehouse.samplesite import SampleSite

    started = time.perf_counter()
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
    _print_summary(summary, time.perf_counter() - started)
    for name in DEMO_QUERIES:
        print()
        print(f"-- warehouse/queries/{name}.sql")
        sql = _resolve_sql(name)
        _run_query(args.db, sql, "table", 20, query_params(sql, []))
    return EXIT_OK


# ---------------------------------------------------------------- annotate


class _BadNumber(ValueError):
    """A JSON number that cannot be written back as JSON: NaN, Infinity, 1e999."""


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _BadNumber(f"a number out of range ({text[:20]})")
    return value


def _no_constant(name: str):
    raise _BadNumber(f"{name} is not a JSON number")


def _json_object(line: str):
    import json

    return json.loads(line, parse_float=_finite_float, parse_constant=_no_constant)


def _annotate_record(line_number: int, raw: bytes | str) -> tuple[dict | None, str | None]:
    """One input line as (record, None), or (the line's JSON object if any, a one-line reason).

    Every fault of the line itself is a reason here, never an exception: bytes that are not
    UTF-8, nesting too deep for the parser, numbers Python will not read, lone surrogates.
    """
    import json
    from datetime import date

    where = f"line {line_number}"
    if isinstance(raw, bytes):
        if line_number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]   # a UTF-8 byte order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"{where}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    else:
        line = raw
    try:
        record = _json_object(line)
    except json.JSONDecodeError as exc:
        return None, f"{where}: not JSON ({exc.msg})"
    except RecursionError:
        return None, f"{where}: JSON nested too deeply"
    except _BadNumber as exc:
        return None, f"{where}: {exc}"
    except ValueError:   # an integer longer than Python reads (sys.get_int_max_str_digits)
        limit = sys.get_int_max_str_digits()
        try:   # the id, if the rest of the line holds it
            record = json.loads(line, parse_int=lambda s: int(s) if len(s) <= limit else None,
                                parse_float=_finite_float, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            record = None
        return record if isinstance(record, dict) else None, f"{where}: a number has more than {limit} digits"
    if not isinstance(record, dict):
        return None, f"{where}: expected a JSON object"
    if "id" not in record:
        return record, f"{where}: missing \"id\""
    if not isinstance(record.get("text"), str):
        return record, f"{where}: \"text\" must be a string"
    try:
        record["text"].encode("utf-8")
    except UnicodeEncodeError as exc:   # "\ud800" alone decodes to no character
        return record, f"{where}: \"text\" is not valid Unicode (a lone surrogate at character {exc.start})"
    published = record.get("published_at")
    if published is not None:
        try:
            date.fromisoformat(str(published)[:10])
        except ValueError:
            return record, f"{where}: \"published_at\" is not an ISO date: {str(published)[:40]!r}"
    return record, None


def _json_line(obj: dict) -> bytes:
    """One output line as UTF-8; an id holding a lone surrogate is written escaped (still JSON)."""
    import json

    try:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, ensure_ascii=True) + "\n").encode("ascii")


def _annotated(records: list[tuple[int, dict]]):
    """(line, output, None) or (line, None, reason) per record, in order, each as soon as it is done.

    The records go through the model together; if that raises, the ones not yet done are annotated
    one by one, so only the record at fault gets an error and no other is lost.
    """
    from tasks.annotate import annotate_records, iter_annotated_records

    done = 0
    try:
        for output in iter_annotated_records([record for _, record in records]):
            yield records[done][0], output, None
            done += 1
        return
    except Exception:   # noqa: BLE001 - which record failed is found below, one by one
        pass
    for number, record in records[done:]:
        try:
            (output,) = annotate_records([record])
        except Exception as exc:   # noqa: BLE001 - the contract: an error line, never a lost batch
            reason = (str(exc).splitlines() or [""])[0][:200]
            yield number, None, f"line {number}: annotation failed ({type(exc).__name__}: {reason})"
        else:
            yield number, output, None


def cmd_annotate(args) -> int:
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1", EXIT_USAGE)
    failures = 0
    pending: list[tuple[int, dict | None, dict | None]] = []   # in input order: (line, record to annotate, error line)
    source = getattr(sys.stdin, "buffer", sys.stdin)   # bytes: a line that is not UTF-8 is one bad line
    sink = getattr(sys.stdout, "buffer", None)

    def write(obj: dict) -> None:
        line = _json_line(obj)
        if sink is not None:
            sink.write(line)
            sink.flush()
        else:
            sys.stdout.write(line.decode("utf-8"))
            sys.stdout.flush()

    def fail(number: int, record: dict | None, error: str) -> None:
        nonlocal failures
        failures += 1
        print(f"wirehouse annotate: {error}", file=sys.stderr)
        write({"id": (record or {}).get("id"), "line": number, "error": error})

    def flush() -> None:
        results = _annotated([(number, record) for number, record, error in pending if error is None])
        for number, record, error in pending:
            if error is not None:
                fail(number, record, error)
                continue
            _, output, reason = next(results)
            if reason is None:
                write(output)
            else:
                fail(number, record, reason)
        pending.clear()

    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        record, error = _annotate_record(number, raw)
        pending.append((number, record, error))
        if len(pending) >= args.batch_size:
            flush()
    flush()
    return EXIT_FAILED if failures else EXIT_OK


# ---------------------------------------------------------------- query


def _resolve_sql(text: str) -> str:
    from warehouse.duckdb_adapter import QUERIES_DIR

    candidate = QUERIES_DIR / f"{text.strip()}.sql"
    if text.strip().isidentifier() and candidate.exists():
        return candidate.read_text(encoding="utf-8")
    return text


_PARAMS_LINE = re.compile(r"^--\s*params:(.*)$", re.M)
_PARAM_USE = re.compile(r"\$([A-Za-z_]\w*)")


def query_params(sql: str, given: list[str]) -> dict[str, str]:
    """The named parameters a query uses: its ``-- params: a=1 b=x`` defaults, then NAME=VALUE pairs.

    Raises:
        CliError: a malformed pair, a parameter the query does not use, or one with no value.
    """
    used = set(_PARAM_USE.findall(re.sub(r"--[^\n]*|'(?:[^']|'')*'", "", sql)))
    values: dict[str, str] = {}
    for line in _PARAMS_LINE.findall(sql):
        for pair in line.split():
            name, _, value = pair.partition("=")
            values[name] = value
    for pair in given:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise CliError(f"--param takes NAME=VALUE, got {pair!r}", EXIT_USAGE)
        if name not in used:
            raise CliError(f"the query has no parameter ${name} (it uses: {', '.join(sorted(used)) or 'none'})", EXIT_USAGE)
        values[name] = value
    missing = sorted(used - set(values))
    if missing:
        raise CliError(f"the query needs a value for ${missing[0]}: add --param {missing[0]}=...", EXIT_USAGE)
    return {name: values[name] for name in used}


def _query_text(args) -> str:
    if bool(args.sql) == bool(args.file):
        raise CliError("give the SQL (or a saved query's name) or --file FILE, not both or neither", EXIT_USAGE)
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror if isinstance(exc, OSError) else exc}", EXIT_USAGE) from None
    return _resolve_sql(args.sql)


_COUNT_CAP = 1_000_000   # rows counted past the shown ones in table format (streamed, never held)
_CHUNK_VECTORS = 16   # 16 x 2048 rows per chunk written: streamed, yet not row by row
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.I)


def _run_query(db: str, sql: str, fmt: str, max_rows: int, params: dict[str, str] | None = None,
               timeout: float = QUERY_TIMEOUT, memory_limit: str | None = None) -> None:
    """Run read-only SQL in the sandbox and stream its rows to stdout (never all held at once).

    The query is interrupted after ``timeout`` seconds or at Ctrl-C; DuckDB's memory is capped and
    nothing spills to disk.
    """
    import duckdb

    from warehouse.duckdb_adapter import open_reader, outdated_hint, sandboxed

    memory_limit = memory_limit or QUERY_MEMORY_LIMIT
    if not _MEMORY.match(memory_limit):
        raise CliError(f"--memory-limit takes a size like 512MB or 2GB, got {memory_limit!r}", EXIT_USAGE)
    if timeout <= 0:
        raise CliError("--timeout must be positive", EXIT_USAGE)
    con, version = open_reader(db, config=sandboxed(memory_limit), wait=10)   # busy, foreign: one line in main
    why: list[str] = []

    def stop(reason: str) -> None:
        why.append(reason)
        con.interrupt()

    timer = threading.Timer(timeout, stop, ["timeout"])
    timer.daemon = True
    timer.start()
    try:
        with _on_sigint(lambda: stop("interrupted")):
            result = con.execute(sql, params) if params else con.execute(sql)
            if result.description is None:
                print("(statement returned no rows)")
                return
            _stream(result, fmt, max_rows)
    except duckdb.Error as exc:
        if why:
            if why[0] == "interrupted":
                raise KeyboardInterrupt from None
            raise CliError(f"query stopped after {timeout:g} s (its --timeout)", EXIT_FAILED) from None
        message = str(exc).splitlines()[0]
        lower = message.lower()
        if "read-only" in lower or "read only" in lower:
            raise CliError(f"the warehouse is opened read-only; writes are refused ({message})", EXIT_USAGE) from None
        if any(k in lower for k in ("permission error", "external access", "configuration has been locked")):
            raise CliError(f"queries may only read the warehouse: no files, extensions or settings ({message})", EXIT_USAGE) from None
        if "out of memory" in lower:
            raise CliError(f"query needs more than its memory limit of {memory_limit} (--memory-limit): {message}", EXIT_FAILED) from None
        hint = ""
        if isinstance(exc, (duckdb.CatalogException, duckdb.BinderException)) and version < _latest_version():
            hint = "; " + outdated_hint(db, version)
        raise CliError(f"query failed: {message}{hint}", EXIT_USAGE) from None
    finally:
        timer.cancel()
        timer.join()   # a live timer thread at exit would keep the connection (and DuckDB) alive
        con.close()


def _latest_version() -> int:
    from warehouse.duckdb_adapter import latest_version

    return latest_version()


@contextlib.contextmanager
def _on_sigint(action):
    """Ctrl-C calls ``action`` (interrupting DuckDB) instead of raising inside a fetch."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: action())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stream(result, fmt: str, max_rows: int) -> None:
    """Write a DuckDB result to stdout chunk by chunk."""
    if fmt == "table":
        columns = [d[0] for d in result.description]
        rows = result.fetchmany(max_rows + 1)
        shown = rows[:max_rows]
        total, capped = len(rows), False
        if total > max_rows:
            while total < max_rows + _COUNT_CAP:
                more = result.fetchmany(10_000)
                if not more:
                    break
                total += len(more)
            else:
                capped = True
        print(_table(columns, [[_cell(v) for v in row] for row in shown]))
        if capped:
            print(f"(over {_COUNT_CAP:,} rows, {max_rows} shown; --format csv writes them all)")
        elif total > max_rows:
            print(f"({total} rows, {max_rows} shown)")
        else:
            print(f"({total} row{'s' if total != 1 else ''})")
        return
    out = sys.stdout
    first = True
    if fmt == "json":
        out.write("[")
    while True:
        frame = result.fetch_df_chunk(_CHUNK_VECTORS)
        if frame.empty and not first:
            break
        if fmt == "csv":
            out.write(frame.to_csv(index=False, header=first))
        elif not frame.empty:
            records = frame.to_json(orient="records", date_format="iso", force_ascii=False)
            out.write(("" if first else ",") + records[1:-1])
        first = False
        if frame.empty:
            break
    if fmt == "json":
        out.write("]\n")
    out.flush()


def _render(frame, fmt: str = "table", max_rows: int = 100) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", force_ascii=False)
    shown = frame.head(max_rows)
    out = _table(list(shown.columns), [[_cell(v) for v in row] for row in shown.itertuples(index=False)])
    if len(frame) > max_rows:
        out += f"\n({len(frame)} rows, {max_rows} shown)"
    else:
        out += f"\n({len(frame)} row{'s' if len(frame) != 1 else ''})"
    return out


def _cell(value) -> str:
    import pandas as pd

    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        value = value.date()  # a DATE column comes back from pandas as midnight timestamps
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def cmd_query(args) -> int:
    sql = _query_text(args)
    _open_for_reading(args.db)
    _run_query(args.db, sql, args.format, args.max_rows, query_params(sql, args.param), args.timeout, args.memory_limit)
    return EXIT_OK


# ---------------------------------------------------------------- status, search, export


def _open_for_reading(db: str) -> int:
    """Refuse a missing, foreign or newer warehouse file with one line before any work. Nothing is
    written: an older wirehouse warehouse is read as it is.

    Returns:
        The warehouse's schema version.
    """
    from warehouse.duckdb_adapter import WarehouseError, open_reader

    if not Path(db).exists():
        raise CliError(f"{db}: no such warehouse file (run `wirehouse ingest` or `make demo` first)", EXIT_USAGE)
    try:
        con, version = open_reader(db)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    con.close()
    return version


@contextlib.contextmanager
def _reading(db: str):
    """A read command's scope: the file is checked first, and a read that needs what an older
    schema lacks says to migrate, in one line."""
    version = _open_for_reading(db)
    import duckdb

    try:
        yield version
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        from warehouse.duckdb_adapter import outdated_hint

        if version >= _latest_version():
            raise
        raise CliError(f"{str(exc).splitlines()[0]}; {outdated_hint(db, version)}", EXIT_USAGE) from None


def cmd_migrate(args) -> int:
    from warehouse.duckdb_adapter import WarehouseError, migrate_file

    try:
        before, applied = migrate_file(args.db)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if applied:
        print(f"{args.db}: schema version {before} -> {applied[-1]} (applied {', '.join(f'{v:03d}' for v in applied)})")
    else:
        print(f"{args.db}: schema is current (version {before})")
    return EXIT_OK


def cmd_status(args) -> int:
    from warehouse.analyst import status

    with _reading(args.db):
        found = status(args.db)
    print(f"warehouse {args.db}: {found.size_bytes / 1e6:.1f} MB")
    print("  ".join(f"{table} {count:,}" for table, count in found.counts.items()))
    print("\nlast runs")
    print(_render(found.runs) if not found.runs.empty else "(no runs yet)")
    print("\nsources (latest run of each)")
    print(_render(found.sources) if not found.sources.empty else "(no fetches yet)")
    problems = found.problems
    print()
    if problems.empty:
        print("no source has problems")
    else:
        for row in problems.itertuples(index=False):
            print(f"problem: {row.source}: {row.problem}")
    return EXIT_OK


def cmd_search(args) -> int:
    from warehouse.analyst import search

    try:
        with _reading(args.db):
            found = search(args.db, args.words, args.limit)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    print(f"search: {found.method}", file=sys.stderr)
    print(_render(found.hits, args.format, args.limit) if not found.hits.empty or args.format != "table" else "no match")
    return EXIT_OK


def cmd_export(args) -> int:
    from warehouse.analyst import export

    try:
        with _reading(args.db):
            report = export(args.db, args.out, args.format, args.partition, args.overwrite)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except Exception as exc:   # a full disk fails DuckDB's COPY as well as Python's writes
        if not isinstance(exc, OSError) and _storage_error(exc) is None:
            raise
        raise _cannot_write(exc, args.out, "--out") from None
    rows = [[t, f"{v['rows']:,}", v["files"], v["partitioned_by"] or ""] for t, v in report.tables.items()]
    print(_table(["table", "rows", "files", "partitioned by"], rows))
    print(f"written to {report.out}")
    return EXIT_OK


def _redo(db: str, work):
    """Run a reprocess or replay under the writer lock (these write: an older schema is migrated)."""
    from warehouse.duckdb_adapter import writer_lock

    _open_for_reading(db)
    with writer_lock(db):
        return work()


def _print_redo(report) -> None:
    rows = [[name, c.get("updated", 0) + c.get("new", 0), c.get("unchanged", 0), c.get("quarantined", 0)]
            for name, c in sorted(report.per_source.items())]
    if rows:
        print(_table(["source", "redone", "unchanged", "quarantined"], rows))
    print(f"{report.kind}: {report.pages} raw pages went through the stages again"
          + (f"; {report.missing_raw} had no stored raw page" if report.missing_raw else "") + f" (run {report.run_id})")


def cmd_reprocess(args) -> int:
    from flows.reprocess import reprocess

    report = _redo(args.db, lambda: reprocess(args.db, args.limit))
    if report.pages == 0 and report.missing_raw == 0:
        print("nothing to reprocess: every article was made by the current extractor and annotator")
    else:
        _print_redo(report)
    return EXIT_OK


def cmd_quarantine(args) -> int:
    if args.quarantine_command == "list":
        _open_for_reading(args.db)
        sql = _resolve_sql("quarantine_list")
        _run_query(args.db, sql, args.format, args.max_rows, {"table_name": args.table or ""})
        return EXIT_OK
    from flows.reprocess import replay_quarantine

    report = _redo(args.db, lambda: replay_quarantine(args.db, args.table))
    if report.pages == 0 and report.missing_raw == 0:
        print("nothing to replay: no quarantined row has a stored raw page" + (f" in {args.table}" if args.table else ""))
        return EXIT_OK
    _print_redo(report)
    print(f"released from quarantine: {report.released} rows")
    for check, count in sorted(report.still_quarantined.items()):
        print(f"still quarantined: {count} rows: {check}")
    return EXIT_OK


def cmd_report(args) -> int:
    from wirehouse.report import write_report

    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise CliError(f"{out}: give a file in an existing folder", EXIT_USAGE)
    try:
        with _reading(args.db):
            written = write_report(args.db, out)
    except OSError as exc:
        raise _cannot_write(exc, out, "--out") from None
    print(f"report written to {written} ({written.stat().st_size / 1e6:.1f} MB, self-contained)")
    return EXIT_OK


# ---------------------------------------------------------------- serve


def cmd_serve(args) -> int:
    from wirehouse.config import ConfigError, load_sources
    from wirehouse.server import ensure_server

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
    try:
        from prefect import serve

        from flows.ingest import ingest
        from flows.maintenance import export_flow, replay_flow, reprocess_flow

        db = str(Path(args.db).resolve())
        ui = os.environ.get("PREFECT_UI_URL") or os.environ["PREFECT_API_URL"].removesuffix("/api")
        print(f"serving deployments ingest/ingest (cron '{args.cron}'), reprocess/reprocess, "
              f"replay-quarantine/replay-quarantine and export/export; UI: {ui}")
        serve(
            ingest.to_deployment(
                name="ingest",
                cron=args.cron,
                parameters={"sources_file": str(Path(args.sources).resolve()), "db_path": db},
                description="Discover, fetch, extract, validate and load every source into DuckDB.",
                tags=["wirehouse"],
                # DuckDB has one writer: runs of the deployment never overlap, across every runner serving it.
                concurrency_limit=DEPLOYMENT_CONCURRENCY,
            ),
            reprocess_flow.to_deployment(name="reprocess", parameters={"db_path": db}, tags=["wirehouse"],
                                         concurrency_limit=DEPLOYMENT_CONCURRENCY),
            replay_flow.to_deployment(name="replay-quarantine", parameters={"db_path": db}, tags=["wirehouse"],
                                      concurrency_limit=DEPLOYMENT_CONCURRENCY),
            export_flow.to_deployment(name="export", parameters={"db_path": db}, tags=["wirehouse"],
                                      concurrency_limit=DEPLOYMENT_CONCURRENCY),
            print_starting_message=False,
        )
    finally:
        if server is not None:
            server.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
