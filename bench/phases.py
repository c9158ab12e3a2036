"""Where the transform stage's time goes: each phase timed on its own, in one process.

Usage: python bench/phases.py CORPUS_DIR

CORPUS_DIR holds HTML pages (*.html or *.html.gz), directly or in an html/ folder, for example
../shared/benchmarks/zyte-article-extraction. Prints seconds for: plain trafilatura.extract, our
extraction, article rows and validation, the bare spaCy model (all components, and without the
parser or the attribute ruler and lemmatizer, to show what each costs), our annotation with rules,
linking and event coding, the validation of its rows, and gzip of the raw pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from e2e import load_pages  # noqa: E402 - the corpus reader the end-to-end bench uses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    bodies = load_pages(args.corpus, copies=1)
    if not bodies:
        print(f"error: no HTML pages in {args.corpus}", file=sys.stderr)
        return 2

    import spacy
    import trafilatura

    from wirehouse.tasks.annotate import BATCH_SIZE, annotate_batch
    from wirehouse.tasks.nlp_model import SPACY_MODEL, load_pipeline
    from wirehouse.tasks.extract import extract_batch
    from wirehouse.tasks.fetch import content_hash
    from wirehouse.tasks.rows import article_rows, raw_page_row
    from wirehouse.tasks.validate import validate_frame

    load_pipeline()
    bare = spacy.load(SPACY_MODEL)
    pages = []
    for path, body in bodies.items():
        url = f"http://bench.invalid{path}"
        pages.append({"url": url, "final_url": url, "source": "bench", "html": body.decode("utf-8", "replace"),
                      "body": body, "content_hash": content_hash(body)})
    now = datetime.now(timezone.utc)
    print(f"{len(pages)} pages from {args.corpus}")

    def timed(label, fn):
        started = time.perf_counter()
        result = fn()
        print(f"  {label:<44} {time.perf_counter() - started:7.2f} s", flush=True)
        return result

    timed("plain trafilatura.extract", lambda: [trafilatura.extract(p["html"]) for p in pages])
    extracted = timed("our extraction (extract_batch)", lambda: extract_batch(pages))
    articles = timed("article rows", lambda: article_rows(extracted, "bench", now))
    valid = timed("validate articles", lambda: validate_frame(articles, "articles", "article_id", "bench")).valid
    texts = list(valid["text"])
    timed(f"bare spaCy, all components (batch {BATCH_SIZE})", lambda: list(bare.pipe(texts, batch_size=BATCH_SIZE)))
    with bare.select_pipes(disable=["parser"]):
        timed("bare spaCy without the parser", lambda: list(bare.pipe(texts, batch_size=BATCH_SIZE)))
    with bare.select_pipes(disable=["attribute_ruler", "lemmatizer"]):
        timed("bare spaCy without attribute ruler, lemmatizer", lambda: list(bare.pipe(texts, batch_size=BATCH_SIZE)))
    rows = timed("our annotation (model + rules + events)", lambda: annotate_batch(valid))
    mentions = rows.mentions.assign(_key=rows.mentions["article_id"] + ":" + rows.mentions["start_char"].astype(str))
    timed("validate entities, mentions, events", lambda: (
        validate_frame(rows.entities, "entities", "entity_id", "bench"),
        validate_frame(mentions, "mentions", "_key", "bench"),
        validate_frame(rows.events, "events", "event_id", "bench"),
    ))
    timed("gzip of raw pages", lambda: [raw_page_row(p) for p in pages])
    return 0


if __name__ == "__main__":
    sys.exit(main())
