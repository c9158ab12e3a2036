"""Load throughput: set-based upserts into a real DuckDB file, from DataFrames and from staged Parquet.

Usage: python bench/load.py [--rows N] [--tmp DIR]

Generates N mention rows (and N/10 entity rows, N/20 event-like article rows) shaped like the
warehouse's, then times, on a fresh warehouse file:
  1. the first load (every row new) with `warehouse.duckdb_adapter.upsert`, one transaction;
  2. the same load again (every row a conflict: nothing changes);
  3. the staged path: the rows written as Parquet chunks, read back with `warehouse.staging` and upserted;
  4. for scale, row-at-a-time `executemany` on a small sample (what set-based loading avoids).
Prints rows/s for each (target: >= 500k rows/s set-based).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

from wirehouse.warehouse import duckdb_adapter, staging  # noqa: E402

LABELS = np.array(["PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"])


def mention_rows(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    articles = n // 20 + 1
    article = rng.integers(0, articles, n)
    start = np.arange(n, dtype="int64") * 7 % 50_000
    return pd.DataFrame(
        {
            "article_id": [f"{a:016x}" for a in article],
            "entity_id": [f"e{e:015x}" for e in rng.integers(0, n // 10 + 1, n)],
            "text": "Kabulov",
            "start_char": start,
            "end_char": start + 7,
            "label": LABELS[rng.integers(0, len(LABELS), n)],
            "sentence": (start // 120).astype("int64"),
            "sentence_start": (start // 120 * 120).astype("int64"),
            "sentence_end": (start // 120 * 120 + 119).astype("int64"),
        }
    ).drop_duplicates(["article_id", "start_char", "end_char"])


def entity_rows(n: int) -> pd.DataFrame:
    ids = np.arange(n)
    return pd.DataFrame(
        {
            "entity_id": [f"e{e:015x}" for e in ids],
            "name": [f"Name {e}" for e in ids],
            "type": LABELS[ids % len(LABELS)],
            "country_code": np.where(ids % 3 == 0, "RUS", None),
            "geonames_id": pd.array([int(i) if i % 5 == 0 else None for i in ids], dtype="Int64"),
        }
    )


def timed(label: str, rows: int, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<48} {rows:>9,} rows  {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s")
    return rows / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="mention rows (default 1,000,000)")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the warehouse file (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.rows < 1000:
        print("error: --rows must be at least 1000", file=sys.stderr)
        return 2
    mentions = mention_rows(args.rows)
    entities = entity_rows(args.rows // 10)
    with tempfile.TemporaryDirectory(prefix="wh-load-", dir=args.tmp) as tmp:
        db = Path(tmp) / "w.duckdb"
        con = duckdb_adapter.connect(db)
        duckdb_adapter.migrate(con)
        print(f"set-based upserts into {db.name} (DuckDB, one transaction each):")

        def load(frame_m, frame_e):
            with duckdb_adapter.transaction(con):
                duckdb_adapter.upsert(con, "mentions", frame_m)
                duckdb_adapter.upsert(con, "entities", frame_e, update=("country_code", "geonames_id"), fill_only=True)

        rows = len(mentions) + len(entities)
        first = timed("first load (all rows new)", rows, lambda: load(mentions, entities))
        again = timed("same rows again (all conflicts, nothing changes)", rows, lambda: load(mentions, entities))
        count = con.execute("SELECT count(*) FROM mentions").fetchone()[0]
        assert count == len(mentions), (count, len(mentions))   # nothing doubled

        run = staging.run_dir(db, "bench")
        chunk = 50_000
        folders = [
            staging.write_chunk(run, {"mentions": mentions.iloc[i : i + chunk]}) for i in range(0, len(mentions), chunk)
        ]
        con.execute("DELETE FROM mentions")

        def staged():
            frames = staging.read_chunks(folders)
            with duckdb_adapter.transaction(con):
                duckdb_adapter.upsert(con, "mentions", frames["mentions"])

        staged_rate = timed(f"staged Parquet ({len(folders)} chunks) -> read -> upsert", len(mentions), staged)
        staging.remove(run)

        sample = mentions.iloc[:5000]
        con.execute("DELETE FROM mentions")
        columns = list(sample.columns)
        sql = f"INSERT INTO mentions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        rowwise = timed("row at a time (executemany), for scale", len(sample),
                        lambda: con.executemany(sql, sample.itertuples(index=False, name=None)))
        con.close()
    print(f"set-based first load / executemany: {first / rowwise:,.0f}x; target >= 500,000 rows/s: "
          f"{'met' if min(first, again, staged_rate) >= 500_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
