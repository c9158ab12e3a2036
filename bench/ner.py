"""Named entities against wikigold: the project's annotation stage vs the bare spaCy model, one run.

Usage: python bench/ner.py ../shared/benchmarks/wikigold [--limit N]

Both sides see the same sentences (CoNLL tokens joined by spaces). spaCy labels map onto the
four wikigold types: PERSON -> PER; ORG -> ORG; GPE, LOC, FAC -> LOC; NORP, EVENT, WORK_OF_ART,
PRODUCT, LAW, LANGUAGE -> MISC; numeric types are not entities. Strict: same span and type.
Overlap: same type and overlapping characters, each gold span matched at most once.
Every figure is printed for the whole set and for its two halves (bench/halves.py, keyed by the
document's text): rules are tuned on the tuning half; the check half tells fit from knowledge.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from halves import HALVES, split   # bench/ is the script's folder, so on sys.path

LABEL_MAP = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC", "EVENT": "MISC",
    "WORK_OF_ART": "MISC", "PRODUCT": "MISC", "LAW": "MISC", "LANGUAGE": "MISC",
}


def read_conll(path: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Sentences as (text, gold spans (start, end, type)); IOB1 and IOB2 tags both read."""
    return _parse_lines(path.read_text(encoding="utf-8").splitlines())


def _parse_lines(lines: list[str]) -> list[tuple[str, list[tuple[int, int, str]]]]:
    sentences, tokens, tags = [], [], []

    def flush():
        if not tokens:
            return
        text, spans, offset, current = "", [], 0, None
        for token, tag in zip(tokens, tags):
            start = offset
            text += ("" if not text else " ") + token
            start = len(text) - len(token)
            offset = len(text)
            kind = tag[2:] if tag != "O" else None
            begins = tag.startswith("B-") or (current is None) or (current and current[2] != kind)
            if kind is None:
                current = None
                continue
            if begins or current is None:
                current = [start, offset, kind]
                spans.append(current)
            else:
                current[1] = offset
        sentences.append((text, [tuple(s) for s in spans]))
        tokens.clear()
        tags.clear()

    for line in lines:
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            flush()
            continue
        tokens.append(parts[0])
        tags.append(parts[-1])
    flush()
    return sentences


def documents(path: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Whole documents (the -DOCSTART- sections), sentences joined by newlines: the project
    annotates articles, not loose sentences, and both systems get the same text."""
    docs, text, spans = [], "", []
    lines = path.read_text(encoding="utf-8").splitlines()
    bounds = [i for i, line in enumerate(lines) if line.startswith("-DOCSTART-")] + [len(lines)]
    if bounds[0] != 0:
        bounds.insert(0, -1)
    for a, b in zip(bounds, bounds[1:]):
        sentences = _parse_lines(lines[a + 1 : b])
        text, spans = "", []
        for sentence, sentence_spans in sentences:
            offset = len(text) + (1 if text else 0)
            text = text + ("\n" if text else "") + sentence
            spans.extend((start + offset, end + offset, kind) for start, end, kind in sentence_spans)
        if text:
            docs.append((text, spans))
    return docs


def score(gold: list[list[tuple]], predicted: list[list[tuple]]) -> dict:
    strict = overlap = n_gold = n_pred = 0
    for g_spans, p_spans in zip(gold, predicted):
        n_gold += len(g_spans)
        n_pred += len(p_spans)
        strict += len(set(g_spans) & set(p_spans))
        used = set()
        for p in p_spans:
            for i, g in enumerate(g_spans):
                if i not in used and g[2] == p[2] and p[0] < g[1] and g[0] < p[1]:
                    used.add(i)
                    overlap += 1
                    break

    def f1(hits):
        precision = hits / n_pred if n_pred else 0.0
        recall = hits / n_gold if n_gold else 0.0
        return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)

    return {"strict": f1(strict), "overlap": f1(overlap)}


def bare_spans(texts: list[str]) -> list[list[tuple]]:
    import spacy

    from wirehouse.tasks.nlp_model import SPACY_MODEL

    nlp = spacy.load(SPACY_MODEL)
    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        out.append([(e.start_char, e.end_char, LABEL_MAP[e.label_]) for e in doc.ents if e.label_ in LABEL_MAP])
    return out


def project_spans(texts: list[str]) -> list[list[tuple]]:
    from wirehouse.tasks.annotate import annotate_docs

    out = []
    for annotation in annotate_docs(texts, [None] * len(texts)):
        out.append([(m.start, m.end, LABEL_MAP[m.label]) for m in annotation.mentions if m.label in LABEL_MAP])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    path = args.folder / "wikigold.conll.txt"
    if not path.is_file():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    sentences = documents(path)
    if args.limit:
        sentences = sentences[: args.limit]
    n_sentences = len(read_conll(path))
    texts = [t for t, _ in sentences]
    gold = [s for _, s in sentences]
    runs = []
    for name, run in (("bare en_core_web_sm", bare_spans), ("wirehouse annotate", project_spans)):
        started = time.perf_counter()
        predicted = run(texts)
        runs.append((name, predicted, time.perf_counter() - started))
    # the halves: (text, gold, one prediction list per system) split by the document's text
    items = [(text, spans, [predicted[i] for _, predicted, _ in runs]) for i, (text, spans) in enumerate(sentences)]
    parts = {"whole": items, **dict(zip(HALVES, split(items, key=lambda item: item[0])))}
    print(f"wikigold: {n_sentences} sentences in {len(sentences)} documents, {sum(len(g) for g in gold)} gold entities")
    print(f"{'half':6} {'docs':>4} {'system':22} {'strict P/R/F1':>22} {'overlap P/R/F1':>22} {'seconds':>8}")
    for half, part in parts.items():
        part_gold = [g for _, g, _ in part]
        results = []
        for k, (name, _, seconds) in enumerate(runs):
            result = score(part_gold, [p[k] for _, _, p in part])
            results.append(result)
            s, o = result["strict"], result["overlap"]
            shown = f"{seconds:8.1f}" if half == "whole" else ""
            print(f"{half:6} {len(part):4d} {name:22} {s[0]:6.3f} {s[1]:6.3f} {s[2]:6.3f}   {o[0]:6.3f} {o[1]:6.3f} {o[2]:6.3f} {shown}")
        delta_strict = results[1]["strict"][2] - results[0]["strict"][2]
        delta_overlap = results[1]["overlap"][2] - results[0]["overlap"][2]
        print(f"{half:6} project - bare: strict F1 {delta_strict:+.3f}, overlap F1 {delta_overlap:+.3f} (target +0.08 overlap)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
