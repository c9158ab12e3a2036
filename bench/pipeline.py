"""Pipeline throughput on the bundled sample site, stage by stage, without Prefect's overhead;
then the same work as one real `ingest` flow run (which adds Prefect's temporary server and task runs).

    .venv/bin/python bench/pipeline.py [--repeat N]

Prints seconds per stage and articles per second. Figures vary with the machine: quote ratios
measured in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from wirehouse.flows.ingest import fetch_options  # noqa: E402
from wirehouse.tasks.discover import discover  # noqa: E402
from wirehouse.tasks.annotate import annotation_rows  # noqa: E402
from wirehouse.tasks.nlp_model import load_pipeline  # noqa: E402
from wirehouse.tasks.extract import extract_batch  # noqa: E402
from wirehouse.tasks.fetch import FetchRequest, Fetcher  # noqa: E402
from wirehouse.tasks.rows import article_rows  # noqa: E402
from wirehouse.tasks.validate import validate_frame  # noqa: E402
from wirehouse.config import parse_sources  # noqa: E402
from wirehouse.samplesite import SampleSite  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="stage timings: best of N")
    parser.add_argument("--no-flow", action="store_true", help="skip the full Prefect flow run")
    args = parser.parse_args()
    import tomllib

    with SampleSite(port=0) as site:
        config = parse_sources(tomllib.loads(site.render_sources()))
        t = time.perf_counter()
        load_pipeline()
        print(f"spaCy model load: {time.perf_counter() - t:.2f} s (once per process)")
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            timings = {}
            t = time.perf_counter()
            with Fetcher(fetch_options(config)) as fetcher:
                found = discover(config, fetcher)
                results = fetcher.fetch_many([FetchRequest(c.url, c.source, allow_private=True) for c in found.candidates])
            timings["discover+fetch"] = time.perf_counter() - t
            pages = [
                {"url": r.url, "source": r.source, "html": r.body.decode(r.encoding or "utf-8", errors="replace"), "content_hash": "0" * 64}
                for r in results if r.outcome == "ok" and r.body is not None
            ]
            t = time.perf_counter()
            extracted = extract_batch(pages)
            timings["extract"] = time.perf_counter() - t
            t = time.perf_counter()
            articles = validate_frame(article_rows(extracted, "bench", datetime.now(timezone.utc)), "articles", "article_id", "bench").valid
            timings["validate"] = time.perf_counter() - t
            t = time.perf_counter()
            entities, mentions, events = annotation_rows(articles)
            timings["annotate"] = time.perf_counter() - t
            for k, v in timings.items():
                best[k] = min(best.get(k, v), v)
        n = len(articles)
        print(f"{n} articles from {len(results)} page fetches; best of {args.repeat}:")
        for k, v in best.items():
            print(f"  {k:<16}{v:8.3f} s  {n / v:8.1f} articles/s")
        total = sum(best.values())
        print(f"  {'stages total':<16}{total:8.3f} s  {n / total:8.1f} articles/s ({len(mentions)} mentions, {len(events)} events)")
        if not args.no_flow:
            from wirehouse.flows.ingest import ingest

            with tempfile.TemporaryDirectory() as tmp:
                sources = Path(tmp) / "sources.toml"
                sources.write_text(site.render_sources())
                t = time.perf_counter()
                state = ingest(sources_file=str(sources), db_path=str(Path(tmp) / "w.duckdb"), return_state=True)
                first = time.perf_counter() - t
                t = time.perf_counter()
                ingest(sources_file=str(sources), db_path=str(Path(tmp) / "w.duckdb"), return_state=True)
                second = time.perf_counter() - t
            print(f"ingest flow, first run (incl. Prefect temporary server start): {first:.1f} s, {n / first:.1f} articles/s")
            print(f"ingest flow, rerun (all 304 Not Modified): {second:.1f} s; state {state.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
