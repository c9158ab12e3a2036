"""Throughput of the annotation stage (NER + rule layers + linking + event coding), articles per second.

Usage: python bench/annotation.py ../shared/benchmarks/zyte-article-extraction [--processes 1 2]

Article texts come from the corpus pages through the project's extractor (not timed); then the
same texts are annotated once per process count, side by side in one run, after a warm-up.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path



def load_texts(folder: Path, limit: int) -> list[str]:
    from wirehouse.tasks.extract import extract_text

    pages = sorted((folder / "html").glob("*.html*"))[: limit or None]
    texts = []
    for page in pages:
        raw = page.read_bytes()
        html = (gzip.decompress(raw) if page.suffix == ".gz" else raw).decode("utf-8", errors="replace")
        text = extract_text(html)
        if text:
            texts.append(text)
    return texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.folder / "html").is_dir():
        print(f"error: {args.folder}/html not found", file=sys.stderr)
        return 2
    from wirehouse.tasks.annotate import annotate_docs
    from wirehouse.tasks.nlp_model import load_pipeline

    texts = load_texts(args.folder, args.limit)
    words = sum(len(t.split()) for t in texts)
    started = time.perf_counter()
    load_pipeline()
    print(f"{len(texts)} articles, {words} words; pipeline load {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs")
    list(annotate_docs(texts[:5], [None] * 5))   # warm-up
    for n in args.processes:
        started = time.perf_counter()
        results = list(annotate_docs(texts, [None] * len(texts), n_process=n))
        seconds = time.perf_counter() - started
        mentions = sum(len(r.mentions) for r in results)
        events = sum(len(r.events) for r in results)
        print(
            f"  n_process={n}: {seconds:6.1f} s  {len(texts) / seconds:6.1f} articles/s  {words / seconds:8.0f} words/s"
            f"  ({mentions} mentions, {events} events)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
