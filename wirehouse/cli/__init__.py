"""The `wirehouse` command: the parser, the dispatch to one module per command group, and the
Prefect server a run uses.

Command groups: `wirehouse.cli.run` (ingest, demo, reprocess, quarantine, serve), `wirehouse.cli.read`
(query, status, search, export, report, migrate), `wirehouse.cli.annotate`, `wirehouse.cli.trial` (try).

Exit codes (a contract): 0 the run completed (some URLs or sources may have failed: each failing
source is named; see fetch_log), 1 the run failed as a whole (every source's entry points failed,
so no page was found: one line more per source), 2 usage or configuration error (a full disk or a
folder that cannot be written counts: the operator's to fix; `serve` with no Prefect server).
Errors are one line, no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time

from wirehouse.warehouse.sandbox import QUERY_TIMEOUT
from wirehouse import stopping
from wirehouse.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, Stopped, is_warehouse_error, storage_error
from wirehouse.cli.run import run_ingest
from wirehouse.settings import PREFECT_ENVIRONMENT, QUERY_MEMORY_LIMIT, Settings, SettingsError, settings

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CliError", "Stopped", "main", "run_ingest"]

DEMO_PORT = 8765
COMMAND_STARTED = time.monotonic()   # reset by `main`: a command's seconds count from here


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit")
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

    p = sub.add_parser(
        "try", help="try a URL or a source before adding it: discover, fetch, extract, validate, annotate; print what would land",
        description=(
            "Runs discovery, fetch and the whole transform on a few pages and prints what would land and what "
            "would be refused, and why. Nothing is written: the warehouse is never opened."
        ),
    )
    p.add_argument("url", nargs="?", help="an article, a feed, a sitemap or a listing page (what it is is detected)")
    p.add_argument("--source", metavar="NAME", help="a source of the sources file, as it stands")
    p.add_argument("--sources", default=now.sources_file, help=f"sources TOML file, with --source (default {now.sources_file})")
    p.add_argument("--pages", type=int, default=5, metavar="N", help="candidate pages tried (default 5)")
    p.add_argument("--as", dest="kind", choices=("article", "feed", "sitemap", "listing"),
                   help="what the URL is, when detection gets it wrong")
    p.add_argument("--allow-private-network", action="store_true",
                   help="let the URL reach loopback/private addresses (as allow_private_network in sources.toml)")
    p.add_argument("--host-delay", type=float, metavar="SECONDS", help="seconds between requests to the host (default 1)")
    p.add_argument("--contact-url", help="contact URL sent in the User-Agent")
    p.add_argument("-v", "--verbose", action="store_true", help="show the stages' log lines")

    p = sub.add_parser("demo", help="serve the bundled sample site on loopback and ingest it")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--port", type=int, default=DEMO_PORT, help=f"sample site port (default {DEMO_PORT})")
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run logs")

    p = sub.add_parser("query", help="run read-only SQL (or a saved query's name) against the warehouse")
    p.add_argument("sql", nargs="?", help="SQL text, or the name of a saved query (see --list)")
    p.add_argument("--list", action="store_true",
                   help="list the saved queries (warehouse/queries/): what each answers, its parameters and their defaults")
    p.add_argument("--file", metavar="FILE", help="read the SQL from a file (e.g. warehouse/queries/who_met_whom.sql)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a value for $NAME in the query (saved queries declare defaults in a '-- params:' line)")
    p.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default: aligned columns, at most --max-rows shown), csv or json (every row)")
    p.add_argument("--max-rows", type=int, default=100, metavar="N", help="rows shown in table format (default 100)")
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
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many hits, best first (default 20)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")

    p = sub.add_parser("export", help="write every table as Parquet (or CSV) files, partitioned by date")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (missing or empty)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="file format (default parquet)")
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
    q.add_argument("--table", choices=("articles", "entities", "mentions", "events"), help="only this table's rows (default all)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default: aligned columns, at most --max-rows shown), csv or json (every row)")
    q.add_argument("--max-rows", type=int, default=100, metavar="N", help="rows shown in table format (default 100)")
    q = qsub.add_parser("replay", help="validate quarantined rows again from their stored raw pages; load what passes")
    q.add_argument("--db", default=now.db_path, help=f"DuckDB warehouse file (default {now.db_path})")
    q.add_argument("--table", choices=("articles", "entities", "mentions", "events"),
                   help="only the pages behind this table's rows (default all)")

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
    p.add_argument("-v", "--verbose", action="store_true", help="show Prefect's run logs")
    return parser


def _version() -> str:
    """The installed package's version (its metadata, as pip and uv see it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wirehouse")
    except PackageNotFoundError:   # run from a source tree that was never installed
        return "unknown (not installed)"


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


def wait_for_prefect() -> None:
    """Before a flow call: the temporary server started early answers (raises CliError)."""
    if _temporary_server is not None:
        try:
            _temporary_server.wait_ready()
        except RuntimeError as exc:
            raise CliError(str(exc), EXIT_FAILED) from None


def main(argv: list[str] | None = None) -> int:
    import faulthandler
    import signal

    global COMMAND_STARTED
    COMMAND_STARTED = time.monotonic()

    # `kill -USR1 <pid>` prints where every thread of a run is, for a run that seems stuck.
    with contextlib.suppress(ValueError, AttributeError, RuntimeError):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        now = settings()
    except SettingsError as exc:
        print(f"wirehouse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = _parser(now).parse_args(argv)
    runs = args.command in {"ingest", "demo"}
    if runs:
        _say_starting(args)   # before anything heavy is imported or started
    _quiet_prefect(getattr(args, "verbose", False))
    with stopping.handle_signals() if runs else contextlib.nullcontext():
        if runs:
            stopping.arm_hard_exit(_last_words)
            stopping.on_stop(_hush_prefect)
            _use_local_server()
        code = _dispatch(args)
    if runs and stopping.requested():
        # Threads still in a download or a chunk are abandoned, not waited for at exit.
        _say_stopped()
        _flush()
        os._exit(stopping.exit_code())
    return code


def _handler(command: str):
    """The function that runs ``command``, from its group's module."""
    from wirehouse.cli import annotate, read, run, trial

    return {
        "ingest": run.cmd_ingest, "demo": run.cmd_demo, "serve": run.cmd_serve, "reprocess": run.cmd_reprocess,
        "quarantine": run.cmd_quarantine, "query": read.cmd_query, "status": read.cmd_status,
        "search": read.cmd_search, "export": read.cmd_export, "report": read.cmd_report, "migrate": read.cmd_migrate,
        "annotate": annotate.cmd_annotate, "try": trial.cmd_try,
    }[command]


def _dispatch(args) -> int:
    try:
        return _handler(args.command)(args)
    except Stopped as exc:
        _say_stopped(str(exc))
        return exc.code
    except CliError as exc:
        for line in str(exc).splitlines() or [""]:   # one line, or one per failing source
            print(f"wirehouse: error: {line}", file=sys.stderr)
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
        full = storage_error(exc)
        if full is not None:   # a full disk, a read-only folder: the operator's to fix
            print(f"wirehouse: error: {full}", file=sys.stderr)
            return EXIT_USAGE
        if not is_warehouse_error(exc):
            raise
        print(f"wirehouse: error: {exc}", file=sys.stderr)   # busy, or unreadable: one line, not a traceback
        return EXIT_FAILED
    finally:
        _stop_prefect()


def _say_starting(args, stream=None) -> None:
    """The first line of a run on a terminal, printed before Prefect, DuckDB and the pipeline are
    imported and started (seconds on a busy machine): the command is under way. Not in logs (the
    run's own lines follow soon, and an error stays one line)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return
    what = "the demo: the sample site, then an ingest run" if args.command == "demo" else f"an ingest run of {args.sources}"
    print(f"wirehouse: starting {what} into {args.db} (loading Prefect and the pipeline first)", file=stream, flush=True)


def _hush_prefect() -> None:
    """At a stop: nothing more from Prefect on the terminal. Its console handlers are turned off (a
    task abandoned by the stop logs no error) and so is the API log worker's error output (once
    the temporary server is stopped, a queued log it still sends would print "--- Error logging to
    API ---" and the connection error): the one line the command prints is the news."""
    import logging

    logging.raiseExceptions = False   # what Prefect's log and event workers check before writing to stderr
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is not logging.FileHandler and isinstance(handler, logging.StreamHandler):
                handler.setLevel(logging.CRITICAL + 1)


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
        if stopping.requested():   # the run's state is reported; the command exits at once
            server.stop(timeout=0)
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


if __name__ == "__main__":
    sys.exit(main())
