"""Article body extraction on the Zyte benchmark, with the benchmark's own metric.

    .venv/bin/python bench/extraction.py ../shared/benchmarks/zyte-article-extraction [--variant NAME ...] [--limit N]

Prints precision, recall and F1 (word 4-gram shingles, averaged per page; see the folder's README) and
pages per second for our extract stage ("wirehouse", its default options) and for any other variants,
all measured side by side in one run on the same pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path


import trafilatura  # noqa: E402

from wirehouse.tasks.extract import DEFAULT_OPTIONS, ExtractOptions, extract_article, extract_text  # noqa: E402

_TOKEN = re.compile(r"\w+")
def _stage(html: str, url: str) -> str:
    """Exactly what the pipeline stores: the extract stage's article text (empty when it sees no article)."""
    article = extract_article(html, url, DEFAULT_OPTIONS)
    return article["text"] if article else ""


VARIANTS = {
    "wirehouse": _stage,
    "wirehouse-text-only": lambda html, url: extract_text(html, url, DEFAULT_OPTIONS),
    "trafilatura-default": lambda html, url: trafilatura.extract(html, url=url, include_comments=False) or "",
    "no-prune": lambda html, url: extract_text(html, url, ExtractOptions(prune_boilerplate=False)),
    "fast=False": lambda html, url: extract_text(html, url, ExtractOptions(fast=False)),
    "favor_precision": lambda html, url: extract_text(html, url, ExtractOptions(favor_precision=True)),
    "favor_recall": lambda html, url: extract_text(html, url, ExtractOptions(favor_recall=True)),
}


def shingles(text: str) -> Counter:
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < 4:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def score(truth: str, predicted: str) -> tuple[float | None, float | None]:
    """Per-page (precision, recall); None where the page has no predicted / no true shingles."""
    t, p = shingles(truth), shingles(predicted)
    tp = sum((t & p).values())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    precision = tp / (tp + fp) if (tp + fp) else None
    recall = tp / (tp + fn) if (tp + fn) else None
    return precision, recall


def evaluate(pages: list[tuple[str, str, str]], extractor) -> dict:
    precisions, recalls = [], []
    started = time.perf_counter()
    outputs = [extractor(html, url) for html, url, _ in pages]
    seconds = time.perf_counter() - started
    for (_, _, truth), predicted in zip(pages, outputs):
        p, r = score(truth, predicted)
        if p is not None:
            precisions.append(p)
        if r is not None:
            recalls.append(r)
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pages_per_s": len(pages) / seconds, "seconds": seconds}


def load(folder: Path, limit: int | None) -> list[tuple[str, str, str]]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth)[:limit]:
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", errors="replace")
        pages.append((html, truth[page_id]["url"], truth[page_id]["articleBody"]))
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the zyte-article-extraction benchmark folder")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="variants to run (default: all)")
    parser.add_argument("--limit", type=int, help="first N pages only")
    args = parser.parse_args()
    if not (args.folder / "ground-truth.json").exists():
        print(f"bench: error: {args.folder} has no ground-truth.json", file=sys.stderr)
        return 2
    pages = load(args.folder, args.limit)
    names = args.variant or list(VARIANTS)
    print(f"{len(pages)} pages, trafilatura {trafilatura.__version__}")
    print(f"{'variant':<22}{'precision':>10}{'recall':>10}{'F1':>8}{'pages/s':>10}")
    for name in names:
        r = evaluate(pages, VARIANTS[name])
        print(f"{name:<22}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>8.4f}{r['pages_per_s']:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
