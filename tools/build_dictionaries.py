"""Derive compact tables in tasks/data/petrarch2/ from the PETRARCH2/Phoenix coding dictionaries.

The source files (github.com/openeventdata/petrarch2, petrarch2/data/dictionaries/, commit 676801c;
MIT, Open Event Data Alliance) are read as their format description (dictionaries.rst, kept beside
them) and PETRARCH2's reader define them; every line not tabled is counted by reason and reported.

Tables (TSV, header row, UTF-8, deterministic order; the big ones gzipped with mtime 0):
- verbs.tsv: block, lemma (the verb word, or the +-marked word of a multi-word verb), before/after
  (the other words of a multi-word verb), code (the verb's own, else the block's; --- = no event),
  paired (the code after ':', TABARI's paired event), forms (the inflected forms, given or derived),
  line (in CAMEO.2.0.txt).
- verb_patterns.tsv.gz: block, before (pattern words before '*'), after (after it), code, paired,
  line (in CAMEO.2.0.txt). Words keep the file's structure: (PREP NOUN) phrases, {MODIFIER HEAD}
  noun phrases, &SYNSET references, the + (target) and $ (source) markers.
- synsets.tsv: synset, phrase, form (given, or the plural derived as the rst says).
- actor_names.tsv.gz: name (normalised: see normalise_name), actor (the record's id: its primary
  name, with #2, #3 ... on a repeat).
- actor_codes.tsv.gz: actor, code, start, end (ISO dates, inclusive; empty = open), in file order.
- agents.tsv: phrase (normalised), code (without the ~), placement (after: ~GOV, the agent code
  follows the actor's; before: NGO~), form (given, plural, substitution).
- discards.tsv: phrase (upper case), scope (sentence, or story for a leading +), whole_word (1 when
  the entry ends with _, else a stem).

Usage: python tools/build_dictionaries.py [OUT_DIR] [--source DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import re
import sys
from collections import Counter
from pathlib import Path

from wirehouse.tasks.dictionaries import normalise_name, plural

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tasks" / "data" / "petrarch2"
SOURCE_DIR = ROOT.parent / "shared" / "dictionaries" / "petrarch2"
# PETRARCH's actorfile_list order: a name defined again in a later file replaces the earlier one.
ACTOR_FILES = ("Phoenix.Countries.actors.txt", "Phoenix.International.actors.txt", "Phoenix.MilNonState.actors.txt")
_CODE = re.compile(r"^(?:---|\d{2,4})?$")


def verb_forms(stem: str) -> list[str]:
    """Regular forms of a verb (S/ES/IES, ED/D, ING), as PETRARCH2's reader derives them."""
    if stem.endswith(("S", "X", "Z", "CH", "SH")):
        third = stem + "ES"
    elif stem.endswith("Y") and len(stem) > 1 and stem[-2] not in "AEIOU":
        third = stem[:-1] + "IES"
    else:
        third = stem + "S"
    past = stem + "D" if stem.endswith("E") else stem + "ED"
    ing = stem[:-1] + "ING" if stem.endswith("E") and len(stem) > 2 and stem[-2] not in "AEIOU" else stem + "ING"
    return [third, past, ing]


def _strip_comment(line: str) -> str:
    # '#' anywhere starts a comment (PETRARCH's reader); ';' is TABARI's, still found on verb lines
    return line.split("#", 1)[0].split(";", 1)[0].rstrip()


def _split_code(code: str) -> tuple[str, str] | None:
    code, _, paired = code.strip().partition(":")
    code, paired = code.strip(), paired.strip()
    if not (_CODE.match(code) and _CODE.match(paired)) or not (code or paired):
        return None
    return code or "---", paired


def _balanced(text: str) -> bool:
    depth = {"(": 0, "{": 0}
    for ch in text:
        if ch in "({":
            depth[ch] += 1
        elif ch in ")}":
            key = "(" if ch == ")" else "{"
            depth[key] -= 1
            if depth[key] < 0:
                return False
    return not any(depth.values())


# ---- verbs ---------------------------------------------------------------------------
def read_verbs(path: Path, skipped: Counter) -> tuple[list[dict], list[dict], list[dict]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    synsets: dict[str, list[tuple[str, str]]] = {}
    syn_rows, verb_rows, pattern_rows = [], [], []
    label = None          # the synset being read
    block = block_code = None
    patterns: dict[tuple[str, str, str], dict] = {}
    for number, raw in enumerate(lines, 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        line = _strip_comment(raw) if not raw.startswith("---") else raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("<!"):
            skipped["verbs: XML comment line"] += 1
            continue
        if line.startswith("&"):
            label = line.split()[0][1:]
            synsets[label.rstrip("_")] = []
            continue
        if line.startswith("+") and label is not None and block is None:
            phrase = line[1:].strip()
            name = label.rstrip("_")
            no_plural = label.endswith("_") or phrase.endswith("_")
            words = phrase.rstrip("_").replace("_", " ").split()
            if not words:
                skipped["verbs: empty synset phrase"] += 1
                continue
            synsets[name].append((" ".join(words), "given"))
            if not no_plural:
                synsets[name].append((" ".join(words[:-1] + [plural(words[-1])]), "plural"))
            continue
        if line.startswith("~"):
            skipped["verbs: verb transformation (~ line), not tabled"] += 1
            continue
        if line.startswith("---"):
            label = None
            match = re.match(r"^---\s+(\S+)\s+\[([^\]]*)\]", line)   # "[110]---  ---" occurs too
            if not match or _split_code(match.group(2)) is None:
                skipped["verbs: block header not '--- NAME [CODE] ---'"] += 1
                block = None
                continue
            block, block_code = match.group(1), _split_code(match.group(2))
            continue
        if line.startswith("-"):
            if block is None:
                skipped["verbs: pattern outside a verb block"] += 1
                continue
            row = _pattern(line, block, number, synsets, skipped)
            if row is None:
                continue
            key = (block, row["before"], row["after"])
            if key in patterns:
                skipped["verbs: repeated pattern (the later code kept, as PETRARCH's trie does)"] += 1
            patterns[key] = row
            continue
        if block is None:
            skipped["verbs: verb line outside a verb block"] += 1
            continue
        row = _verb(line, block, block_code, skipped)
        if row is not None:
            verb_rows.append({**row, "line": number})
    for name in sorted(synsets):
        seen = set()
        for phrase, form in synsets[name]:
            if (phrase, form) not in seen:
                seen.add((phrase, form))
                syn_rows.append({"synset": "&" + name, "phrase": phrase, "form": form})
    pattern_rows = sorted(patterns.values(), key=lambda r: (r["block"], r["line"]))
    verb_rows.sort(key=lambda r: (r["lemma"], r["line"]))
    return verb_rows, pattern_rows, syn_rows


def _verb(line: str, block: str, block_code, skipped: Counter) -> dict | None:
    code = block_code
    text = line.strip()
    match = re.search(r"\[([^\]]*)\]\s*$", text)
    if match:
        code = _split_code(match.group(1))
        if code is None:
            skipped["verbs: verb with an unreadable [code]"] += 1
            return None
        text = text[: match.start()].strip()
    forms_given = None
    if "{" in text:
        if "}" not in text:
            skipped["verbs: verb with an unclosed {forms}"] += 1
            return None
        forms_given = text[text.index("{") + 1 : text.index("}")].split()
        text = text[: text.index("{")].strip()
    if not text or " " in text:
        skipped["verbs: verb line not one word or one _-joined phrase"] += 1
        return None
    before = after = ""
    lemma = text
    if "_" in text:
        if "+" not in text:
            skipped["verbs: multi-word verb without the + on its verb"] += 1
            return None
        head, _, tail = text.partition("+")
        words = tail.split("_")
        lemma, after = words[0], " ".join(w for w in words[1:] if w)
        before = " ".join(w for w in head.split("_") if w)
    lemma = lemma.lstrip("+")
    if not re.match(r"^[A-Z][A-Z'\-]*$", lemma):
        skipped["verbs: verb not a word"] += 1
        return None
    if forms_given is not None:   # all forms given: the +-word of each
        forms = [re.split(r"_", f.split("+", 1)[-1])[0] if "+" in f else f for f in forms_given]
    else:
        forms = verb_forms(lemma)
    return {
        "block": block, "lemma": lemma, "before": before, "after": after, "code": code[0], "paired": code[1],
        "forms": " ".join(dict.fromkeys(f for f in forms if f)),
    }


def _pattern(line: str, block: str, number: int, synsets: dict, skipped: Counter) -> dict | None:
    body = line[1:].strip()
    match = re.search(r"\[([^\]]*)\]\s*$", body)
    if not match:
        skipped["verbs: pattern without a [code]"] += 1
        return None
    code = _split_code(match.group(1))
    if code is None:
        skipped["verbs: pattern code not CAMEO digits (e.g. [080!])"] += 1
        return None
    body = body[: match.start()].strip()
    if body.count("*") != 1:
        skipped["verbs: pattern without exactly one * (the verb)"] += 1
        return None
    if not _balanced(body):
        skipped["verbs: pattern with unbalanced ( ) or { }"] += 1
        return None
    before, _, after = body.partition("*")
    # rst: the 'X_ ' construction is an open match, a trailing _ nothing
    before, after = (" ".join(p.replace("_ ", " ").rstrip("_").split()) for p in (before, after))
    for ref in re.findall(r"&[A-Z0-9_]+", before + " " + after):
        if ref[1:].rstrip("_") not in synsets:
            skipped["verbs: pattern with an undefined synset (ignored, as the rst says)"] += 1
            return None
    before, after = (re.sub(r"&([A-Z0-9_]+)", lambda m: "&" + m.group(1).rstrip("_"), p) for p in (before, after))
    return {"block": block, "before": before, "after": after, "code": code[0], "paired": code[1], "line": number}


# ---- actors --------------------------------------------------------------------------
def _date(text: str) -> str | None:
    """YYYYMMDD, or YYMMDD with 00-30 as 20YY (PETRARCH's rule); None when not a valid date."""
    if not text.isdigit() or len(text) not in (6, 8):
        return None
    if len(text) == 6:
        year = int(text[:2])
        text = str(2000 + year if year <= 30 else 1900 + year) + text[2:]
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat()
    except ValueError:
        return None


def _restriction(body: str, skipped: Counter) -> tuple[str, str, str] | None:
    parts = body.split()
    if not parts or not re.match(r"^[A-Z0-9]{3,}$", parts[0]):
        skipped["actors: restriction without a code"] += 1
        return None
    code = parts[0]
    if len(parts) == 1:
        return code, "", ""
    span = "".join(parts[1:])
    if span.startswith("<"):
        end = _date(span[1:])
        start = ""
    elif span.startswith(">"):
        start, end = _date(span[1:]), ""
    elif "-" in span:
        a, _, b = span.partition("-")
        start, end = _date(a), _date(b)
    else:
        skipped["actors: restriction date not <D, >D or D-D"] += 1
        return None
    if start is None or end is None:
        skipped["actors: restriction with an invalid date"] += 1
        return None
    return code, start, end


def read_actors(folder: Path, skipped: Counter) -> tuple[list[dict], list[dict]]:
    names: dict[str, str] = {}         # normalised name -> actor id; a later record replaces
    codes: dict[str, list] = {}
    ids: Counter = Counter()
    for filename in ACTOR_FILES:
        record_names: list[str] = []
        record_codes: list[tuple] = []

        def flush():
            if not record_names:
                return
            if not record_codes:
                skipped["actors: record without any code (names not tabled)"] += 1
                return
            primary = record_names[0]
            ids[primary] += 1
            actor = primary if ids[primary] == 1 else f"{primary}#{ids[primary]}"
            codes[actor] = list(record_codes)
            for name in record_names:
                if name in names:
                    skipped["actors: name defined again (the later record kept, as PETRARCH's trie does)"] += 1
                names[name] = actor

        for raw in (folder / filename).read_text(encoding="utf-8").splitlines():
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            line = _strip_comment(raw)
            if not line.strip():
                continue
            brackets = re.findall(r"\[([^\]]*)\]", line)
            text = re.sub(r"\[[^\]]*\]", " ", line).strip()
            if "[" in text or "]" in text:
                skipped["actors: unbalanced [ ]"] += 1
                continue
            if not text:        # a restriction line (tab-indented, or not)
                if not record_names:
                    skipped["actors: restriction before any name"] += 1
                    continue
            elif text.startswith("+"):
                if not record_names:
                    skipped["actors: variant (+) before any name"] += 1
                    continue
                name = normalise_name(text[1:])
                if not name:
                    skipped["actors: name empty once normalised"] += 1
                    continue
                record_names.append(name)
            else:
                if raw[0] in " \t" and not brackets:
                    skipped["actors: indented line that is no restriction"] += 1
                    continue
                flush()
                record_names, record_codes = [], []
                name = normalise_name(text)
                if not name:
                    skipped["actors: name empty once normalised"] += 1
                    continue
                record_names.append(name)
            for body in brackets:
                parsed = _restriction(body, skipped)
                if parsed is not None:
                    record_codes.append(parsed)
        flush()
    name_rows = [{"name": n, "actor": a} for n, a in sorted(names.items())]
    used = set(names.values())
    code_rows = [
        {"actor": a, "code": c, "start": s, "end": e}
        for a in sorted(codes) if a in used for c, s, e in codes[a]
    ]
    return name_rows, code_rows


# ---- agents and discards -----------------------------------------------------------------
def read_agents(path: Path, skipped: Counter) -> list[dict]:
    markers: dict[str, list[str]] = {}
    rows: dict[str, dict] = {}

    def store(phrase: str, code: str, placement: str, form: str):
        name = normalise_name(phrase)
        if not name:
            skipped["agents: phrase empty once normalised"] += 1
            return
        if name in rows and rows[name]["code"] != code:
            skipped["agents: phrase defined again with another code (the later kept)"] += 1
        rows[name] = {"phrase": name, "code": code, "placement": placement, "form": form}

    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.startswith("<!"):
            continue
        line = _strip_comment(raw)
        if not line.strip():
            continue
        marker = re.match(r"^\s*!([A-Z]+)!\s*=\s*(.+)$", line)
        if marker:
            markers[marker.group(1)] = [w.strip() for w in marker.group(2).split(",") if w.strip()]
            continue
        match = re.search(r"\[([^\]]*)\]", line)
        if not match:
            skipped["agents: line without an [agent code]"] += 1
            continue
        raw_code = match.group(1).strip()
        if re.match(r"^~[A-Z0-9]+$", raw_code):
            code, placement = raw_code[1:], "after"
        elif re.match(r"^[A-Z0-9]+~$", raw_code):
            code, placement = raw_code[:-1], "before"
        else:
            skipped["agents: code without ~ before or after"] += 1
            continue
        phrase = line[: match.start()].strip()
        if "!" in phrase:
            found = re.search(r"!([A-Z]+)!", phrase)
            if not found or found.group(1) not in markers:
                skipped["agents: undefined substitution marker"] += 1
                continue
            for word in markers[found.group(1)]:   # no plurals on substitutions (rst)
                store(phrase[: found.start()] + word + phrase[found.end():], code, placement, "substitution")
            continue
        if "{" in phrase:
            if "}" not in phrase:
                skipped["agents: unclosed {plural}"] += 1
                continue
            given = phrase[phrase.index("{") + 1 : phrase.index("}")].strip()
            phrase = phrase[: phrase.index("{")].strip()
            store(phrase, code, placement, "given")
            if given:
                store(given, code, placement, "plural")
            continue
        store(phrase, code, placement, "given")
        words = [w for w in re.split(r"[_ ]+", phrase) if w]
        if words:   # the regular plural of the last word (rst)
            store(" ".join(words[:-1] + [plural(words[-1])]), code, placement, "plural")
    return sorted(rows.values(), key=lambda r: r["phrase"])


def read_discards(path: Path, skipped: Counter) -> list[dict]:
    rows = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.startswith("<!"):
            continue
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        scope = "story" if text.startswith("+") else "sentence"
        text = text.lstrip("+").strip()
        whole = text.endswith("_")
        phrase = " ".join(text.rstrip("_").replace("_", " ").upper().split())
        if not phrase:
            skipped["discards: empty entry"] += 1
            continue
        if phrase in rows:
            skipped["discards: repeated entry"] += 1
        rows[phrase] = {"phrase": phrase, "scope": scope, "whole_word": int(whole)}
    return sorted(rows.values(), key=lambda r: r["phrase"])


def _write(path: Path, rows: list[dict], fields: list[str]) -> None:
    # mtime=0 keeps the gzip output byte-identical between builds
    raw = gzip.GzipFile(path, "wb", mtime=0) if path.suffix == ".gz" else open(path, "wb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.DictWriter(text, fieldnames=fields, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writeheader()
        writer.writerows(rows)


def build(source: Path, out: Path) -> tuple[dict[str, int], Counter]:
    skipped: Counter = Counter()
    verbs, patterns, synsets = read_verbs(source / "CAMEO.2.0.txt", skipped)
    names, codes = read_actors(source, skipped)
    agents = read_agents(source / "Phoenix.agents.txt", skipped)
    discards = read_discards(source / "Phoenix.discards.txt", skipped)
    tables = {
        "verbs.tsv": (verbs, ["lemma", "block", "before", "after", "code", "paired", "forms", "line"]),
        "verb_patterns.tsv.gz": (patterns, ["block", "before", "after", "code", "paired", "line"]),
        "synsets.tsv": (synsets, ["synset", "phrase", "form"]),
        "actor_names.tsv.gz": (names, ["name", "actor"]),
        "actor_codes.tsv.gz": (codes, ["actor", "code", "start", "end"]),
        "agents.tsv": (agents, ["phrase", "code", "placement", "form"]),
        "discards.tsv": (discards, ["phrase", "scope", "whole_word"]),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, (rows, fields) in tables.items():
        _write(out / name, rows, fields)
    return {name: len(rows) for name, (rows, _) in tables.items()}, skipped


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT_DIR)
    parser.add_argument("--source", type=Path, default=SOURCE_DIR)
    args = parser.parse_args(argv[1:])
    if not (args.source / "CAMEO.2.0.txt").is_file():
        print(f"error: {args.source}/CAMEO.2.0.txt not found (pass --source DIR)", file=sys.stderr)
        return 2
    counts, skipped = build(args.source, args.out)
    for name, n in counts.items():
        print(f"{name}: {n} rows")
    print(f"skipped lines: {sum(skipped.values())}")
    for reason, n in sorted(skipped.items()):
        print(f"  {n:6d}  {reason}")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
