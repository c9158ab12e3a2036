"""Compare the rows of two wirehouse warehouses, leaving out what legitimately differs between runs.

Usage: python bench/compare_warehouses.py A.duckdb B.duckdb [--show N] [--strict-schema]

Both files are ATTACHed read-only into an in-memory DuckDB. For every base table in both (from
information_schema), the columns both sides have, minus the run-dependent ones below, are compared
as multisets with EXCEPT ALL both ways. Prints per table: rows in A, rows in B, rows only in A, rows
only in B, and up to N example rows of each side's surplus (--show, default 3). Columns or tables
present on one side only (a newer migration set) are reported; they fail the comparison only with
--strict-schema. A common column whose type differs is compared as text.

Exit codes: 0 all compared rows identical, 1 some differ, 2 bad input (one line).
Needs only the duckdb package: nothing from the project is imported (modules are moving).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

# (table, column) -> why its value depends on the run, not on what was ingested. Left out of the
# comparison. From warehouse/migrations/*.sql; only what a second identical run would change.
EXCLUDED: dict[tuple[str, str], str] = {
    ("runs", "run_id"): "the Prefect flow run's id (a fresh UUID per run)",
    ("runs", "flow_run_id"): "the Prefect flow run's id (a fresh UUID per run)",
    ("runs", "started_at"): "wall-clock time the run started",
    ("runs", "finished_at"): "wall-clock time the run ended",
    ("runs", "sources_file"): "path of the sources file: a per-build file (`wirehouse demo`: a fresh temp folder)",
    ("pages", "fetched_at"): "wall-clock time of the fetch",
    ("url_state", "last_fetched_at"): "wall-clock time of the last fetch",
    ("articles", "first_seen_at"): "wall-clock time the article was first loaded",
    ("articles", "updated_at"): "wall-clock time the article was last loaded",
    ("articles", "run_id"): "the run that loaded it (a fresh UUID per run)",
    ("entities", "first_seen_at"): "wall-clock time the entity was first loaded (DEFAULT current_timestamp)",
    ("fetch_log", "run_id"): "the run (a fresh UUID per run)",
    ("fetch_log", "elapsed_ms"): "measured duration of the request",
    ("fetch_log", "fetched_at"): "wall-clock time of the fetch",
    ("quarantine", "run_id"): "the run that quarantined the row (a fresh UUID per run)",
    ("quarantine", "quarantined_at"): "wall-clock time of the quarantine",
    ("source_health", "run_id"): "the run measured (a fresh UUID per run)",
    ("source_health", "measured_at"): "wall-clock time of the measurement",
    ("schema_migrations", "applied_at"): "wall-clock time the migration ran (at the warehouse's creation)",
}

# (table, column) -> (SQL expression over the column, why): JSON columns compared without their
# run-dependent keys (a merge patch with null removes a key; the rest is still compared).
NORMALIZED: dict[tuple[str, str], tuple[str, str]] = {
    ("runs", "summary"): (
        """json_merge_patch("summary", '{"run_id": null, "stage_seconds": null}')""",
        "the run summary without its run_id and stage_seconds (timings); per_source and totals compared",
    ),
    ("quarantine", "row_json"): (
        """json_merge_patch("row_json", '{"run_id": null, "first_seen_at": null, "updated_at": null}')""",
        "the quarantined row without its run id and load times (article rows carry run_id, first_seen_at, updated_at); every other field compared",
    ),
}


class BadInput(Exception):
    """One line, exit 2."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attach(con: duckdb.DuckDBPyConnection, alias: str, path: str) -> None:
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        con.execute(f"ATTACH '{str(file).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
    except duckdb.Error as exc:
        raise BadInput(f"{path}: cannot open read-only as DuckDB: {str(exc).splitlines()[0]}") from None


def tables(con, alias: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name", [alias]).fetchall()]


def columns(con, alias: str, table: str) -> dict[str, str]:
    return dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [alias, table]).fetchall())


def count(con, sql: str) -> int:
    return con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]


def shorten(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", metavar="A.duckdb")
    parser.add_argument("b", metavar="B.duckdb")
    parser.add_argument("--show", type=int, default=3, metavar="N", help="example rows of each side's surplus (default 3)")
    parser.add_argument("--strict-schema", action="store_true", help="columns or tables on one side only fail the comparison")
    args = parser.parse_args(argv)
    con = duckdb.connect()
    try:
        attach(con, "a", args.a)
        attach(con, "b", args.b)
    except BadInput as exc:
        print(f"compare_warehouses: error: {exc}", file=sys.stderr)
        return 2
    in_a, in_b = tables(con, "a"), tables(con, "b")
    if not in_a or not in_b:
        print(f"compare_warehouses: error: {args.a if not in_a else args.b}: no tables", file=sys.stderr)
        return 2
    print(f"A: {args.a}\nB: {args.b}")
    differ = schema_differs = False
    notes: list[str] = []
    for table in sorted(set(in_a) - set(in_b)):
        notes.append(f"table {table}: only in A ({count(con, f'SELECT 1 FROM a.{q(table)}')} rows)")
    for table in sorted(set(in_b) - set(in_a)):
        notes.append(f"table {table}: only in B ({count(con, f'SELECT 1 FROM b.{q(table)}')} rows)")
    schema_differs |= bool(notes)
    rows = []
    examples: list[str] = []
    for table in [t for t in in_a if t in in_b]:
        cols_a, cols_b = columns(con, "a", table), columns(con, "b", table)
        for side, mine, other in (("A", cols_a, cols_b), ("B", cols_b, cols_a)):
            only = [c for c in mine if c not in other]
            if only:
                schema_differs = True
                notes.append(f"{table}: columns only in {side}: {', '.join(only)}")
        exprs = []
        for col in [c for c in cols_a if c in cols_b and (table, c) not in EXCLUDED]:
            expr = NORMALIZED.get((table, col), (q(col), ""))[0]
            if cols_a[col] != cols_b[col]:
                notes.append(f"{table}.{col}: type {cols_a[col]} in A, {cols_b[col]} in B: compared as text")
                expr = f"CAST({expr} AS VARCHAR)"
            exprs.append(f"{expr} AS {q(col)}")
        select = ", ".join(exprs) or "1 AS none"
        only_a = f"SELECT {select} FROM a.{q(table)} EXCEPT ALL SELECT {select} FROM b.{q(table)}"
        only_b = f"SELECT {select} FROM b.{q(table)} EXCEPT ALL SELECT {select} FROM a.{q(table)}"
        n_a, n_b = count(con, f"SELECT 1 FROM a.{q(table)}"), count(con, f"SELECT 1 FROM b.{q(table)}")
        d_a, d_b = count(con, only_a), count(con, only_b)
        rows.append((table, n_a, n_b, d_a, d_b))
        if d_a or d_b:
            differ = True
            for side, sql, n in (("A", only_a, d_a), ("B", only_b, d_b)):
                if n and args.show > 0:
                    cur = con.execute(f"{sql} LIMIT {args.show}")
                    names = [d[0] for d in cur.description]
                    for row in cur.fetchall():
                        examples.append(f"  {table} only in {side}: " + ", ".join(f"{k}={shorten(v)}" for k, v in zip(names, row)))
    width = max(len(r[0]) for r in rows) if rows else 5
    print(f"{'table':<{width}}  {'rows A':>8}  {'rows B':>8}  {'only A':>8}  {'only B':>8}")
    for table, n_a, n_b, d_a, d_b in rows:
        flag = "" if not (d_a or d_b) else "  DIFFERS"
        print(f"{table:<{width}}  {n_a:>8}  {n_b:>8}  {d_a:>8}  {d_b:>8}{flag}")
    for note in notes:
        print(f"note: {note}")
    if examples:
        print("examples (excluded columns left out):")
        print("\n".join(examples))
    verdict = differ or (args.strict_schema and schema_differs)
    print("result: " + ("rows differ" if differ else "schemas differ" if verdict else "identical")
          + f" (excluded: {len(EXCLUDED)} run-dependent columns, {len(NORMALIZED)} JSON columns without run keys)")
    return 1 if verdict else 0


if __name__ == "__main__":
    sys.exit(main())
