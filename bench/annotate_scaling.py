"""How annotation time grows with text length: seconds for one text of 50k, 100k and 200k characters.

Usage: python bench/annotate_scaling.py ../shared/benchmarks/zyte-article-extraction [--sizes 50000 100000 200000]
       python bench/annotate_scaling.py --text ../shared/seed/000_a202164bcd26b001.txt

The text is the corpus's English ground-truth article bodies joined in id order (or, with --text,
one file repeated: a dense brief has more events and people per character), cut at each size, so
a longer text holds the shorter ones as its start. Each size is annotated once (NER, rule
layers, linking and event coding, with a publication date so dates resolve), after a warm-up,
`--repeat` times (the fastest run counts). CPU seconds of this process are printed beside wall
seconds: on a shared machine they move less. Linear cost shows as seconds per 10k characters
staying flat from size to size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path



def english_corpus(folder: Path) -> str:
    """The English ground-truth bodies of the corpus, joined in id order."""
    from wirehouse.tasks.extract import _language

    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [truth[key]["articleBody"] for key in sorted(truth)]
    return "\n\n".join(b for b in bodies if b and _language(b, None) == "en")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--text", type=Path, help="repeat this UTF-8 text file instead of the corpus")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest counts (default 1)")
    args = parser.parse_args(argv)
    if args.text is not None:
        if not args.text.is_file():
            print(f"error: {args.text} not found", file=sys.stderr)
            return 2
        unit = args.text.read_text(encoding="utf-8").strip() + "\n\n"
        corpus = unit * (max(args.sizes) // len(unit) + 1)
    elif args.folder is None or not (args.folder / "ground-truth.json").is_file():
        print(f"error: {args.folder}/ground-truth.json not found (or give --text FILE)", file=sys.stderr)
        return 2
    else:
        corpus = english_corpus(args.folder)
    from wirehouse.tasks.annotate import MAX_TEXT_CHARS, annotate_docs
    from wirehouse.tasks.nlp_model import load_pipeline

    sizes = [n for n in args.sizes if n <= len(corpus)]
    if len(sizes) < len(args.sizes):
        print(f"note: the corpus holds {len(corpus)} English characters; larger sizes skipped", file=sys.stderr)
    if any(n > MAX_TEXT_CHARS for n in sizes):
        print(f"note: texts are annotated up to MAX_TEXT_CHARS = {MAX_TEXT_CHARS}", file=sys.stderr)
    published = date(2021, 8, 13)
    load_pipeline()
    list(annotate_docs([corpus[:5_000]], [published]))   # warm-up
    rows = []
    for n in sizes:
        wall = cpu = float("inf")
        for _ in range(max(args.repeat, 1)):
            started, started_cpu = time.perf_counter(), time.process_time()
            (annotation,) = list(annotate_docs([corpus[:n]], [published]))
            wall = min(wall, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - started_cpu)
        rows.append((n, wall, cpu, len(annotation.mentions), len(annotation.events)))
    base_n, base_s, base_cpu = rows[0][:3]
    print(
        f"{'chars':>8} {'seconds':>8} {'cpu s':>7} {'cpu s/10k chars':>16} {'x cpu':>6} {'x chars':>8}"
        f" {'mentions':>9} {'events':>7}"
    )
    for n, seconds, cpu, mentions, events in rows:
        print(
            f"{n:>8} {seconds:>8.2f} {cpu:>7.2f} {cpu / n * 10_000:>16.3f} {cpu / base_cpu:>6.2f} {n / base_n:>8.1f}"
            f" {mentions:>9} {events:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
