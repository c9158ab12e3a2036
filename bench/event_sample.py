"""Events on real pages, for judging by hand: N events drawn at random from a folder of pages.

Usage: python bench/event_sample.py ../shared/benchmarks/zyte-article-extraction [--n 40] [--seed 14]

The pages' text comes through the project's extractor, then the annotation stage codes it (no
publication dates: the corpus gives none). Prints how many events were coded and how many targets
are implied, then one line per drawn event: code, PLOVER type, trigger, actor 1 -> actor 2 (country
or IGO; * implied) and the sentence. There is no gold: a person reads each line and says whether the
event happened as coded (the README's "events on real pages" row is such a reading).
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    pages = sorted((args.folder / "html").glob("*.html*"))
    if not pages:
        print(f"error: no pages in {args.folder}/html", file=sys.stderr)
        return 2
    from wirehouse.tasks.annotate import annotate_records
    from wirehouse.tasks.extract import extract_text

    texts = []
    for page in pages:
        raw = page.read_bytes()
        html = (gzip.decompress(raw) if page.suffix == ".gz" else raw).decode("utf-8", "replace")
        text = extract_text(html)
        if text:
            texts.append(text)
    events = [e for r in annotate_records([{"id": i, "text": t} for i, t in enumerate(texts)]) for e in r["events"]]
    implied = sum(1 for e in events if e["actor2"] and e["actor2"]["implied"])
    print(f"{len(texts)} pages, {len(events)} events, {implied} with an implied target")

    def side(actor) -> str | None:
        if not actor:
            return None
        return f'{actor["text"]}={actor["country_code"] or actor["igo_code"]}{"*" if actor.get("implied") else ""}'

    for e in random.Random(args.seed).sample(events, min(args.n, len(events))):
        print(f'- [{e["cameo_code"]} {e["plover_type"]}] "{e["trigger"]}" {side(e["actor1"])} -> {side(e["actor2"])}'
              f' | {" ".join(e["sentence"].split())[:230]}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
