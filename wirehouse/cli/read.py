"""The read commands: query, status, search, export, report, and migrate (the one write a reader may
need first). The reading itself is the storage's (`warehouse.sandbox`, `warehouse.analyst`); here
are the options, what is printed, and the exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

from wirehouse.cli.common import (
    EXIT_OK, EXIT_USAGE, CliError, cannot_write, cell, read_errors, render, storage_error, table,
)


def print_query(db: str, sql: str, fmt: str, max_rows: int, params: dict[str, str] | None = None,
                timeout: float | None = None, memory_limit: str | None = None) -> None:
    """Run read-only SQL in the sandbox and stream its rows to stdout (the timeout covers the writing)."""
    from wirehouse.warehouse.sandbox import QUERY_TIMEOUT, run_query

    with run_query(db, sql, params, QUERY_TIMEOUT if timeout is None else timeout, memory_limit) as rows:
        _print_rows(rows, fmt, max_rows)


def _print_rows(rows, fmt: str, max_rows: int) -> None:
    from wirehouse.warehouse.sandbox import COUNT_CAP

    if rows is None:
        print("(statement returned no rows)")
        return
    if fmt == "table":
        shown, total, capped = rows.head(max_rows)
        print(table(rows.columns, [[cell(v) for v in row] for row in shown]))
        if capped:
            print(f"(over {COUNT_CAP:,} rows, {max_rows} shown; --format csv writes them all)")
        elif total > max_rows:
            print(f"({total} rows, {max_rows} shown)")
        else:
            print(f"({total} row{'s' if total != 1 else ''})")
        return
    out = sys.stdout
    if fmt == "json":
        out.write("[")
    for number, frame in enumerate(rows.frames()):
        if fmt == "csv":
            out.write(frame.to_csv(index=False, header=number == 0))
        elif not frame.empty:
            records = frame.to_json(orient="records", date_format="iso", force_ascii=False)
            out.write(("" if number == 0 else ",") + records[1:-1])
    if fmt == "json":
        out.write("]\n")
    out.flush()


def _query_text(args) -> str:
    from wirehouse.warehouse.sandbox import resolve_sql

    if bool(args.sql) == bool(args.file):
        raise CliError("give the SQL (or a saved query's name) or --file FILE, not both or neither", EXIT_USAGE)
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror if isinstance(exc, OSError) else exc}", EXIT_USAGE) from None
    return resolve_sql(args.sql)


def _param_text(name: str, default: str | None) -> str:
    """A parameter as --param takes it, with its default: ``start=1900-01-01``, ``table_name=''``; a
    bare ``name`` has none (a value must be given)."""
    if default is None:
        return name
    return f"{name}={default or chr(39) * 2}"


def print_saved_queries(fmt: str) -> None:
    """The analysts' saved queries: name, parameters with their defaults, the one-line description."""
    from wirehouse.warehouse.sandbox import saved_queries

    found = saved_queries()
    if fmt == "json":
        import json

        print(json.dumps([{"name": q.name, "params": q.params, "description": q.description} for q in found],
                         ensure_ascii=False))
    elif fmt == "csv":
        import csv

        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["query", "parameters", "description"])
        out.writerows([q.name, " ".join(_param_text(*p) for p in q.params.items()), q.description] for q in found)
    else:
        print(table(["query", "parameters (default)", "what it answers"],
                    [[q.name, " ".join(_param_text(*p) for p in q.params.items()), q.description] for q in found]))
        print(f"({len(found)} saved queries, in warehouse/queries/; for example `wirehouse query top_actors --param limit=5`)")


@read_errors()
def cmd_query(args) -> int:
    from wirehouse.warehouse.sandbox import check_readable, query_params

    if args.list:
        if args.sql or args.file or args.param:
            raise CliError("--list takes no SQL, query name, --file or --param", EXIT_USAGE)
        print_saved_queries(args.format)
        return EXIT_OK
    sql = _query_text(args)
    check_readable(args.db)
    print_query(args.db, sql, args.format, args.max_rows, query_params(sql, args.param), args.timeout, args.memory_limit)
    return EXIT_OK


def cmd_migrate(args) -> int:
    from wirehouse.warehouse.duckdb_adapter import WarehouseError, migrate_file

    try:
        before, applied = migrate_file(args.db)
    except WarehouseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if applied:
        print(f"{args.db}: schema version {before} -> {applied[-1]} (applied {', '.join(f'{v:03d}' for v in applied)})")
    else:
        print(f"{args.db}: schema is current (version {before})")
    return EXIT_OK


@read_errors()
def cmd_status(args) -> int:
    from wirehouse.warehouse.analyst import status
    from wirehouse.warehouse.sandbox import reading

    with reading(args.db):
        found = status(args.db)
    print(f"warehouse {args.db}: {found.size_bytes / 1e6:.1f} MB")
    print("  ".join(f"{name} {count:,}" for name, count in found.counts.items()))
    print("\nlast runs")
    print(render(found.runs) if not found.runs.empty else "(no runs yet)")
    print("\nsources: in warehouse = the articles it holds; run ... errors = this run, the source's latest"
          " (its summary's counts)")
    shown = found.sources.drop(columns="problem").rename(columns={"in_warehouse": "in warehouse"})
    print(render(shown) if not found.sources.empty else "(no fetches yet)")
    problems = found.problems
    print()
    if problems.empty:
        print("no source has problems")
    else:   # in full: the URL and error of a failed feed, sitemap or listing
        for row in problems.itertuples(index=False):
            print(f"problem: {row.source}: {row.problem}")
    return EXIT_OK


@read_errors()
def cmd_search(args) -> int:
    from wirehouse.warehouse.analyst import search
    from wirehouse.warehouse.sandbox import reading

    try:
        with reading(args.db):
            found = search(args.db, args.words, args.limit)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    print(f"search: {found.method}", file=sys.stderr)
    print(render(found.hits, args.format, args.limit) if not found.hits.empty or args.format != "table" else "no match")
    return EXIT_OK


@read_errors()
def cmd_export(args) -> int:
    from wirehouse.warehouse.analyst import export
    from wirehouse.warehouse.sandbox import ReadError, reading

    try:
        with reading(args.db):
            report = export(args.db, args.out, args.format, args.partition, args.overwrite)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ReadError:
        raise
    except Exception as exc:   # a full disk fails DuckDB's COPY as well as Python's writes
        if not isinstance(exc, OSError) and storage_error(exc) is None:
            raise
        raise cannot_write(exc, args.out, "--out") from None
    rows = [[t, f"{v['rows']:,}", v["files"], v["partitioned_by"] or ""] for t, v in report.tables.items()]
    print(table(["table", "rows", "files", "partitioned by"], rows))
    print(f"written to {report.out}")
    return EXIT_OK


@read_errors()
def cmd_report(args) -> int:
    from wirehouse.warehouse.sandbox import reading
    from wirehouse.report import write_report

    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise CliError(f"{out}: give a file in an existing folder", EXIT_USAGE)
    try:
        with reading(args.db):
            written = write_report(args.db, out)
    except OSError as exc:
        raise cannot_write(exc, out, "--out") from None
    print(f"report written to {written} ({written.stat().st_size / 1e6:.1f} MB, self-contained)")
    return EXIT_OK
