"""Event coding against the PLOVER gold standard records (dev half).

Usage: python bench/events.py ../shared/benchmarks/plover-gsr-dev [--show-misses N] [--misses-from HALF]

Per sentence: type right when some coded event has the gold PLOVER type (older gold names mapped
to PLOVER 2: DEMAND -> REQUEST, DISAPPROVE and INVESTIGATE -> ACCUSE, FIGHT -> ASSAULT); dyad right
when such an event's actor1 code is among the gold source codes and its actor2 code among the gold
target codes (a sentence with no gold target accepts no actor2, or one of the other sources).
Every figure is printed for the whole set and for its two halves (bench/halves.py, keyed by the
sentence's text): rules are tuned on the tuning half; the check half tells fit from knowledge.
Also prints throughput of the annotation stage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from halves import HALVES, split   # bench/ is the script's folder, so on sys.path

OLD_NAMES = {"DEMAND": "REQUEST", "DISAPPROVE": "ACCUSE", "INVESTIGATE": "ACCUSE", "FIGHT": "ASSAULT"}


def _codes(actors) -> set[str]:
    if not isinstance(actors, list):
        return set()
    return {a.get("code") for a in actors if isinstance(a, dict) and a.get("code")}


def _actor_code(actor) -> str | None:
    if not actor:
        return None
    return "IGO" if actor.get("igo_code") else actor.get("country_code")


def score(records: list[dict], outputs: list[dict]) -> dict:
    type_hits = dyad_hits = 0
    per_type: Counter = Counter()
    per_type_hit: Counter = Counter()
    misses = []
    for record, output in zip(records, outputs):
        gold = OLD_NAMES.get(record["event"], record["event"])
        per_type[gold] += 1
        sources, targets = _codes(record.get("source")), _codes(record.get("target"))
        matching = [e for e in output["events"] if e["plover_type"] == gold]
        if matching:
            type_hits += 1
            per_type_hit[gold] += 1
        dyad = False
        for event in matching:
            a1, a2 = _actor_code(event["actor1"]), _actor_code(event["actor2"])
            if a1 in sources and (a2 in targets if targets else (a2 is None or a2 in sources)):
                dyad = True
        dyad_hits += dyad
        if not dyad:
            misses.append((record, output, gold))
    n = len(records)
    return {
        "sentences": n,
        "type_share": type_hits / n if n else 0.0,
        "dyad_share": dyad_hits / n if n else 0.0,
        "per_type": {t: f"{per_type_hit[t]}/{per_type[t]}" for t in sorted(per_type)},
        "misses": misses,
    }


def read_records(folder: Path) -> list[dict] | None:
    """The gold records in FOLDER/events.json; None (with the error on stderr) when it is missing."""
    path = folder / "events.json"
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show-misses", type=int, default=0)
    parser.add_argument("--misses-from", choices=("tuning", "check", "whole"), default="tuning",
                        help="whose misses --show-misses lists (tune on the tuning half only)")
    args = parser.parse_args(argv)
    records = read_records(args.folder)
    if records is None:
        return 2
    from wirehouse.tasks.annotate import annotate_records
    from wirehouse.tasks.nlp_model import load_pipeline

    started = time.perf_counter()
    load_pipeline()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    outputs = annotate_records([{"id": r["id"], "text": r["text"]} for r in records])
    seconds = time.perf_counter() - started
    events = sum(len(o["events"]) for o in outputs)
    print(f"PLOVER GSR dev: {len(records)} sentences, {events} events coded")
    results = {"whole": score(records, outputs)}
    for half, pairs in zip(HALVES, split(list(zip(records, outputs)), key=lambda pair: pair[0]["text"])):
        results[half] = score([r for r, _ in pairs], [o for _, o in pairs])
    print(f"  {'':8} {'n':>4} {'type':>6} {'dyad':>6}   (type: gold PLOVER type among coded events, target >= 0.75;"
          " dyad: actor1 in gold source, actor2 in gold target, target >= 0.50)")
    for name, result in results.items():
        print(f"  {name:8} {result['sentences']:4d} {result['type_share']:6.3f} {result['dyad_share']:6.3f}")
    for name, result in results.items():
        print(f"  per type ({name}): " + ", ".join(f"{t} {v}" for t, v in result["per_type"].items()))
    result = results[args.misses_from]
    print(f"  pipeline load {load_seconds:.1f} s; annotation {seconds:.2f} s = {len(records) / seconds:.0f} sentences/s")
    for record, output, gold in result["misses"][: args.show_misses]:
        coded = [
            (e["plover_type"], e["cameo_code"], e["trigger"], _actor_code(e["actor1"]), _actor_code(e["actor2"]))
            for e in output["events"]
        ]
        print(f"- {gold} src={sorted(_codes(record.get('source')))} tgt={sorted(_codes(record.get('target')))}: {record['text']}\n    coded: {coded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
