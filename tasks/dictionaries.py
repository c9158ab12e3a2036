"""The PETRARCH2/Phoenix coding dictionaries as data: verbs and their patterns, actors, agents, discards.

The tables in tasks/data/petrarch2/ are derived by `make dictionaries` (tools/build_dictionaries.py)
from the open PETRARCH2 dictionaries (MIT, Open Event Data Alliance; LICENSE beside the tables).
Each table is read on first use and kept (one process, a few MB).

What is simplified, against PETRARCH2 (which matches patterns on a constituency parse):
- A pattern is matched on plain word sequences: its words after '*' must occur in order among the
  first `window` tokens after the verb, gaps allowed; its words before '*' likewise, nearest the verb
  last, among the tokens before it. The parse roles PETRARCH checks (the object's head, the
  preposition's own object, {MODIFIER HEAD} inside one noun phrase) are read as word order only.
- Words match case-insensitively and up to a regular plural ("sanction" matches SANCTIONS), so
  lemmas and surface words both work.
- The + (target) and $ (source) markers, and ^ and %, match nothing: they say where actors go.
- The longest match wins (the most words matched); between equally long ones, the first in the
  file. No pattern matching: the verb's own code (null `---` = no event).
- A code pair [042:043] is TABARI's paired event: `code` is the event from source to target,
  `paired` the one back; a pattern with only a paired code ([:173]) yields that event (reversed).
- A verb listed in two blocks gets both blocks' patterns (PETRARCH keeps the later block only).
- Verb transformations (`~` lines) and the combination of verbs ("will help") are not tabled.
- `match_words` takes the words to match from the caller: the event coder gives it the verb's
  dependents in the parse (tasks/event_triggers.py), so the parse roles come back that way.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from wirehouse.tasks.nlp_types import TITLE_SECTORS, TITLE_WORDS

DATA_DIR = Path(__file__).resolve().parent / "data" / "petrarch2"
WINDOW = 12   # tokens after (or before) the verb a pattern's words may lie in
# CAMEO actor codes that start with one of these name an organisation, not a country
ORGANISATION_PREFIXES = ("IGO", "NGO", "IMG", "MNC")
_MARKERS = frozenset("+$^%")


def normalise_name(text: str) -> str:
    """The one key of actor and agent names, used by the build and the lookups alike.

    Args:
        text: a name as written ("Vladimir Putin", "U.N.", "VLADIMIR_V._PUTIN_").

    Returns:
        Upper case, accents folded, a possessive 's dropped, underscores and hyphens as spaces,
        other punctuation removed ("U.N." -> "UN", "Ki-moon" -> "KI MOON"), spaces collapsed.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()
    text = re.sub(r"['’]S\b", "", text)
    text = re.sub(r"[_\-]", " ", text)
    text = re.sub(r"[^A-Z0-9 ]", "", text)
    return " ".join(text.split())


def plural(word: str) -> str:
    """The regular plural dictionaries.rst gives (S; Y -> IES; SS -> ES), a vowel before Y kept.

    Args:
        word: an upper-case noun.

    Returns:
        Its regular plural.
    """
    if word.endswith("Y") and len(word) > 1 and word[-2] not in "AEIOU":
        return word[:-1] + "IES"
    if word.endswith(("SS", "X", "Z", "CH", "SH")):
        return word + "ES"
    return word + "S"


def _key(word: str) -> str:
    """A word's match key: lower case, a regular plural ending dropped (on both sides of a match)."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


class Pattern(NamedTuple):
    block: str
    before: str           # the words before '*', as the file writes them
    after: str            # the words after '*'
    code: str             # "---": no event
    paired: str           # TABARI's paired event (actors reversed), or ""
    line: int             # in CAMEO.2.0.txt

    @property
    def event_code(self) -> str | None:
        """The event the pattern yields: its code, else its paired code; None for no event."""
        if self.code and self.code != "---":
            return self.code
        return self.paired or None


class _Compiled(NamedTuple):
    pattern: Pattern
    before: tuple         # units: each a tuple of alternative phrases, each a tuple of keys
    after: tuple
    size: int             # words a full match uses (a synset counts its shortest phrase)
    needs: tuple          # per unit after '*', the words one of its phrases starts with (a quick test)


class _Verb(NamedTuple):
    block: str
    before: tuple         # the other words of a multi-word verb, as keys
    after: tuple
    code: str
    paired: str


class ActorCode(NamedTuple):
    country_or_igo: str   # ISO-like country or region code, or the whole code of an organisation
    sector: str | None    # GOV, MIL, ELI, REB ... (None for a bare country or an organisation)


# ---- loading ---------------------------------------------------------------------------
def _rows(name: str):
    path = DATA_DIR / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")


@lru_cache(maxsize=1)
def _synsets() -> dict[str, tuple]:
    table: dict[str, list] = {}
    for row in _rows("synsets.tsv"):
        table.setdefault(row["synset"], []).append(tuple(_key(w) for w in row["phrase"].split()))
    return {name: tuple(dict.fromkeys(phrases)) for name, phrases in table.items()}


def _units(text: str) -> tuple:
    synsets = _synsets()
    units = []
    for token in re.sub(r"[(){}]", " ", text).split():
        if token in _MARKERS:
            continue
        if token.startswith("&"):
            units.append(synsets.get(token, ()))
        else:
            units.append(((_key(token),),))
    return tuple(units)


@lru_cache(maxsize=1)
def _verbs() -> tuple[dict[str, list[_Verb]], dict[str, str]]:
    verbs: dict[str, list[_Verb]] = {}
    forms: dict[str, str] = {}
    for row in _rows("verbs.tsv"):
        lemma = row["lemma"].lower()
        entry = _Verb(
            row["block"], tuple(_key(w) for w in row["before"].split()), tuple(_key(w) for w in row["after"].split()),
            row["code"], row["paired"],
        )
        verbs.setdefault(lemma, []).append(entry)
        for form in row["forms"].lower().split():
            forms.setdefault(form, lemma)
    return verbs, forms


@lru_cache(maxsize=1)
def _patterns() -> dict[str, list[_Compiled]]:
    table: dict[str, list[_Compiled]] = {}
    for row in _rows("verb_patterns.tsv.gz"):
        pattern = Pattern(row["block"], row["before"], row["after"], row["code"], row["paired"], int(row["line"]))
        before, after = _units(pattern.before), _units(pattern.after)
        size = sum(min((len(p) for p in unit), default=1) for unit in before + after)
        needs = tuple(frozenset(p[0] for p in unit if p) for unit in after)
        table.setdefault(pattern.block, []).append(_Compiled(pattern, before, after, size, needs))
    return table


@lru_cache(maxsize=1)
def _actors() -> tuple[dict[str, str], dict[str, tuple]]:
    names = {row["name"]: row["actor"] for row in _rows("actor_names.tsv.gz")}
    codes: dict[str, list] = {}
    for row in _rows("actor_codes.tsv.gz"):
        codes.setdefault(row["actor"], []).append((row["code"], row["start"], row["end"]))
    return names, {actor: tuple(entries) for actor, entries in codes.items()}


@lru_cache(maxsize=1)
def _agents() -> dict[str, str]:
    return {row["phrase"]: row["code"] for row in _rows("agents.tsv")}


# Words of a date or a span of time: an entry made only of these (and numbers) names no topic
_TIME_WORDS = frozenset(
    "AGO LATER EARLIER BEFORE AFTER DAY DAYS WEEK WEEKS MONTH MONTHS YEAR YEARS DECADE DECADES CENTURY CENTURIES "
    "JANUARY FEBRUARY MARCH APRIL MAY JUNE JULY AUGUST SEPTEMBER OCTOBER NOVEMBER DECEMBER".split()
)
_NUMBER_WORDS = frozenset(
    "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY "
    "HUNDRED THOUSAND A AN FEW SEVERAL MANY".split()
)


def _is_time_entry(phrase: str) -> bool:
    """A bare year or a time phrase ("1914", "YEARS AGO", "APRIL 1942"): chronology, not a topic.

    Such entries would cancel every sentence naming a past year or "two years ago"; topic entries
    with a number in them ("2014 COMPETITION", "DAY MATCHES") keep a topic word and stay.
    """
    return all(w.isdigit() or w in _TIME_WORDS or w in _NUMBER_WORDS for w in phrase.split())


def _discard_rows(scope: str | None = None) -> list[dict]:
    return [r for r in _rows("discards.tsv") if not _is_time_entry(r["phrase"]) and (scope is None or r["scope"] == scope)]


@lru_cache(maxsize=2)
def _discard_pattern(scope: str | None = None) -> re.Pattern:
    alternatives = []
    for row in sorted(_discard_rows(scope), key=lambda r: -len(r["phrase"])):
        phrase = r"\s+".join(re.escape(w) for w in row["phrase"].split())
        alternatives.append(phrase + (r"(?![A-Z0-9])" if row["whole_word"] == "1" else ""))
    # an entry starts at a word's start; without a closing _ it is a stem ("BASEBALL" in "BASEBALLS")
    return re.compile(r"(?<![A-Z0-9])(?:" + "|".join(alternatives) + ")")


def load() -> None:
    """Read every table now (they are otherwise read on first use)."""
    _verbs(), _patterns(), _actors(), _agents(), _discard_pattern()


# ---- verbs -----------------------------------------------------------------------------
def _entries(lemma: str) -> list[_Verb]:
    verbs, forms = _verbs()
    word = lemma.lower().strip()
    return verbs.get(word) or verbs.get(forms.get(word, ""), [])


def verb_candidates(lemma: str) -> list[tuple[str, Pattern | None]]:
    """Every event code the verb can yield: its own code, then each pattern of its block(s).

    Args:
        lemma: the verb's lemma ("meet"); an inflected form the file lists ("met") works too.

    Returns:
        (CAMEO code, pattern) pairs, the verb's own codes first (pattern None), then the patterns
        in file order; patterns and verbs that yield no event (code ---) are left out. Empty for a
        verb the dictionary does not know.
    """
    out: list[tuple[str, Pattern | None]] = []
    blocks: list[str] = []
    for entry in _entries(lemma):
        code = entry.code if entry.code != "---" else entry.paired or None
        if code and (code, None) not in out:
            out.append((code, None))
        if entry.block not in blocks:
            blocks.append(entry.block)
    patterns = _patterns()
    for block in blocks:
        out.extend((c.pattern.event_code, c.pattern) for c in patterns.get(block, ()) if c.pattern.event_code)
    return out


def _find(units: tuple, keys: list[str]) -> bool:
    """Do the units occur in order in keys (gaps allowed)? Earliest-ending match per unit."""
    return _find_positions(units, keys) is not None


def match_verb(lemma: str, tokens_after: list[str], tokens_before: list[str] | None = None,
               window: int = WINDOW) -> str | None:
    """The code of the longest pattern of the verb that the words around it match.

    Args:
        lemma: the verb's lemma (or a form the file lists).
        tokens_after: the words after the verb in the sentence (surface words or lemmas).
        tokens_before: the words before it; None leaves out the patterns with words before '*'.
        window: how many words after (and before) the verb a pattern's words may lie in.

    Returns:
        The CAMEO code of the longest matching pattern (see the module's notes); with none, the
        verb's own code (a multi-word verb's when its other words are next to it); None when the
        verb is unknown or its code is the null `---`.
    """
    after = list(tokens_after[:window])
    before = list(tokens_before[-window:]) if tokens_before is not None else None
    return match_words(lemma, after, before).code


# ---- actors, agents, discards ----------------------------------------------------------------
def _iso(on_date) -> str | None:
    if on_date is None or isinstance(on_date, str):
        return on_date[:10] if on_date else None
    if isinstance(on_date, dt.datetime):
        return on_date.date().isoformat()
    return on_date.isoformat()


def actor_code(name: str, on_date=None) -> str | None:
    """The full CAMEO actor code of a named actor on a date.

    Args:
        name: a person's, country's or organisation's name, in any case and punctuation.
        on_date: a date (datetime.date or ISO string); None takes the undated entry.

    Returns:
        The code of the first dated entry (file order) whose span holds the date, limits
        included; else the first undated one (the file's fallback); else, when every entry
        names the same country, that country alone (a minister's country outlasts the post,
        and an undated text still knows it; an organisation's office does not); None for an
        unknown name.
    """
    names, codes = _actors()
    key = normalise_name(name)
    actor = names.get(key) or (names.get(key[4:]) if key.startswith("THE ") else None)
    if actor is None:
        return None
    entries = codes.get(actor, ())
    day = _iso(on_date)
    if day is not None:
        for code, start, end in entries:
            if (start or end) and (not start or start <= day) and (not end or day <= end):
                return code
    undated = next((code for code, start, end in entries if not start and not end), None)
    if undated is not None or not entries:
        return undated
    sides = {split_code(code).country_or_igo for code, _, _ in entries}
    # an office in an organisation ("IGOUNO" from 2007) is held, not born to: no fallback for it
    return sides.pop() if len(sides) == 1 and not next(iter(sides)).startswith(ORGANISATION_PREFIXES) else None


def split_code(code: str) -> ActorCode:
    """A CAMEO actor code as (country or organisation, sector).

    Args:
        code: "RUSGOV", "AFG", "IGOWSTNAT".

    Returns:
        ("RUS", "GOV"), ("AFG", None); an organisation (IGO, NGO, IMG, MNC ...) keeps its whole
        code ("IGOWSTNAT", None): its first three letters are the dyad code.
    """
    if code.startswith(ORGANISATION_PREFIXES) or len(code) < 3:
        return ActorCode(code, None)
    return ActorCode(code[:3], code[3:6] or None)


def actor(name: str, on_date=None) -> ActorCode | None:
    """A named actor's country (or organisation) and sector on a date.

    Args:
        name: "Putin", "Vladimir Putin", "NATO", "the United Nations".
        on_date: a date (datetime.date or ISO string); None takes the undated entry.

    Returns:
        (country_or_igo, sector), e.g. ("RUS", "GOV"); None for an unknown name or no code.
    """
    code = actor_code(name, on_date)
    return split_code(code) if code else None


def agent(phrase: str) -> str | None:
    """The agent code of a generic agent ("police" -> "COP").

    Args:
        phrase: a noun phrase; when the whole is unknown, its longest known ending is taken
            ("Afghan police" -> POLICE), as the agent follows a country word in news text.

    Returns:
        The code without its ~ ("COP", "GOVFRM", "NGO"), or None.
    """
    agents = _agents()
    words = normalise_name(phrase).split()
    for i in range(len(words)):
        code = agents.get(" ".join(words[i:]))
        if code:
            return code
    return None


def is_discard(text: str) -> bool:
    """Does the text hold a discard phrase (sports, entertainment, chronologies: not to be coded)?

    Args:
        text: a sentence (or a story: the story-wide entries are checked too).

    Returns:
        True when a discard entry occurs starting at a word's start, case-insensitive; entries
        ending with _ in the file must end at a word's end, the others are stems. Note the file
        lists bare years (1914 ... 2013) and phrases like YEARS AGO: those are left out (see
        `_is_time_entry`), as they name a time, not a topic.
    """
    return _discard_pattern().search(text.upper()) is not None


def is_story_discard(text: str) -> bool:
    """Does the text hold a story-wide discard entry (the whole story is not coded)?"""
    return _discard_pattern("story").search(text.upper()) is not None


# ---- verbs on a parse ------------------------------------------------------------------------
def verb_key(word: str) -> str | None:
    """The dictionary's lemma for a verb lemma or listed form ("met" -> "meet"); None if unknown."""
    verbs, forms = _verbs()
    word = word.lower().strip()
    if word in verbs:
        return word
    return forms.get(word)


class VerbMatch(NamedTuple):
    code: str | None        # None: the dictionary codes no event here
    pattern: Pattern | None  # None: the verb's own (block default) code
    positions: tuple        # indices into `after` of the words the pattern matched


def _find_positions(units: tuple, keys: list[str]) -> tuple | None:
    """Like `_find`, with the positions of the matched words (None when the units do not occur)."""
    at, positions = 0, []
    for unit in units:
        best = None
        for phrase in unit:
            n = len(phrase)
            for i in range(at, len(keys) - n + 1):
                if tuple(keys[i : i + n]) == phrase:
                    if best is None or i + n < best[1]:
                        best = (i, i + n)
                    break
        if best is None:
            return None
        positions.extend(range(*best))
        at = best[1]
    return tuple(positions)


def match_words(lemma: str, after: list[str], before: list[str] | None = None,
                prepositional: dict | None = None) -> VerbMatch:
    """`match_verb` over words the caller chose (a parse's dependents), with what matched.

    Args:
        lemma: a dictionary lemma (`verb_key`).
        after: the words the patterns after '*' are matched on, in text order, no window.
        before: the words the patterns before '*' are matched on; None leaves those patterns out.
        prepositional: position in `after` of a word inside a prepositional phrase -> position of
            its preposition. Only a pattern that writes a preposition, "(FOR {FINANCIAL AID})" or
            "FROM +", may match words there; a bare "AREA" names the object ("sealed off the
            area"), not "arrested ... in the area".

    Returns:
        The longest matching pattern's code and positions; else the verb's own code (a
        multi-word verb's when its other words open `after`), pattern None.
    """
    entries = _entries(lemma)
    keys = [_key(t) for t in after]
    before_keys = [_key(t) for t in before] if before is not None else None
    best, best_positions = None, ()
    patterns = _patterns()
    present = set(keys)
    for block in dict.fromkeys(e.block for e in entries):
        for compiled in patterns.get(block, ()):
            if (best is not None and compiled.size <= best.size) or not (compiled.before or compiled.after):
                continue
            if any(present.isdisjoint(words) for words in compiled.needs):
                continue   # a unit none of whose words occur: no match (most patterns, cheaply)
            if compiled.before and (before_keys is None or not _find(compiled.before, before_keys)):
                continue
            positions = _find_positions(compiled.after, keys) if compiled.after else ()
            if positions is None or prepositional and "(" not in compiled.pattern.after and any(
                p in prepositional and prepositional[p] not in positions for p in positions
            ):
                continue
            best, best_positions = compiled, positions
    if best is not None:
        return VerbMatch(best.pattern.event_code, best.pattern, best_positions)
    for entry in sorted(entries, key=lambda e: not (e.before or e.after)):
        if entry.after and tuple(keys[: len(entry.after)]) != entry.after:
            continue
        if entry.before and (before_keys is None or tuple(before_keys[-len(entry.before):]) != entry.before):
            continue
        code = entry.code if entry.code != "---" else entry.paired or None
        if code:
            return VerbMatch(code, None, tuple(range(len(entry.after))))
    return VerbMatch(None, None, ())


# ---- names for the entity ruler -------------------------------------------------------------
# Sectors of CAMEO codes ("RUSGOV", "IRQREB", "USAELI"): a code chunk outside these is a territory
# ("GBRVGB" is the British Virgin Islands), and a name coded only by country is a place, which the
# gazetteer answers.
SECTORS = frozenset(
    "GOV MIL REB OPP PTY COP JUD SPY ELI LEG MED EDU BUS CRM CVL HLH HRI LAB REF ENV AGR UAF SEP INS RAD "
    "MOD REL IGO NGO IMG MNC".split()
)
# Words of an organisation's name: a coded name with one of these is no person.
ORGANISATION_WORDS = frozenset(
    "ACADEMY ACTION ADMINISTRATION AGENCY ALLIANCE ARMY ASSEMBLY ASSOCIATION AUTHORITY BANK BATTALION BATTALIONS "
    "BOARD BRIGADE BRIGADES BUREAU CENTER CENTRE CHAMBER CHURCH CLUB COALITION COLLEGE COMMAND COMMANDO COMMISSION "
    "COMMITTEE COMMUNITY COMPANY CONFERENCE CONGRESS CORP CORPORATION CORPS COUNCIL COURT DEPARTMENT DIVISION "
    "FEDERATION FORCE FORCES FOUNDATION FRONT FUND GOVERNMENT GROUP GUARD GUARDS HOUSE INC INSTITUTE INTERNATIONAL "
    "LEAGUE LTD MILITIA MINISTRY MISSION MOVEMENT NETWORK OFFICE ORGANISATION ORGANIZATION PARLIAMENT PARTNERS PARTY "
    "PROGRAM PROGRAMME REPUBLIC SERVICE SERVICES SOCIETY SYSTEMS TRIBUNAL TRUST UNION UNIVERSITY WATCH".split()
)
# Person names the tables hold with a title in front ("PRESIDENT ELECT BARACK OBAMA"): the ruler
# takes the name without its title from the model and the title layer, not these entries.
_TITLE_STARTS = frozenset(
    "PRESIDENT VICE SECRETARY FORMER MINISTER PRIME DEPUTY GENERAL GEN COLONEL SHEIKH SHEIKHS CHEIKH KING QUEEN "
    "PRINCE AMBASSADOR CHAIRMAN SENATOR GOVERNOR MAYOR LEADER CHIEF UNDER THE DR MR MRS MS CIA FBI".split()
)
_NAME_PARTICLES = frozenset("AL EL BIN IBN BEN ABU ABD ABDEL ABDUL DE DA DI DEL LA LE VAN VON DER DEN".split())
MIN_GIVEN_NAME_USES = 3   # a first word this many coded people share is a given name ("JOHN", "MUHAMMAD")


def _given_names(kinds: dict[str, str]) -> frozenset:
    """First words of many coded people's names and of few organisations' ("JOHN", "MUHAMMAD";
    not "ISLAMIC", which starts more groups than people), particles and titles aside."""
    people = Counter(name.split()[0] for name, kind in kinds.items() if kind == "PERSON" and " " in name)
    others = Counter(name.split()[0] for name, kind in kinds.items() if kind != "PERSON")
    return frozenset(
        w for w, n in people.items()
        if n >= MIN_GIVEN_NAME_USES and n > 2 * others[w] and len(w) > 2 and w.isalpha()
        and w.lower() not in TITLE_WORDS and w not in _NAME_PARTICLES
    )


@lru_cache(maxsize=1)
def given_names() -> frozenset:
    """Given names of the coded people (upper case): a capitalised name that starts with one
    is a person's ("Gustavo Marenco", "Nikita Mikhalkov"), whatever the model said."""
    return _given_names({name: kind for kind, name in entity_names()})


@lru_cache(maxsize=1)
def single_names() -> dict[str, str]:
    """One-word coded names and their type: the surname of a coded person's full name ("PUTIN"
    of VLADIMIR PUTIN) is a PERSON; an organisation's one word ("HAMAS", "ECOWAS") an ORG. A
    one-word person with no full name ("HASSAN") is left out: a given name as often as a surname."""
    names, _ = _actors()
    kinds = {name: label for label, name in entity_names()}
    out = {}
    for name, label in kinds.items():
        if " " in name:
            continue
        actor = names[name].split("#")[0]
        if label == "ORG" or (kinds.get(actor) == "PERSON" and " " in actor and actor.split()[-1] == name):
            out[name] = label
    return out


def _code_chunks(code: str) -> list[str]:
    return [code[i : i + 3] for i in range(0, len(code), 3)]


@lru_cache(maxsize=1)
def entity_names() -> tuple[tuple[str, str], ...]:
    """The coded actors' names as entity types for the NER's ruler: (label, NAME), PERSON or ORG.

    A person is a name with dated sector codes (office holders: "VLADIMIR PUTIN" RUSGOV from 1999),
    or an undated one whose first word is a given name of those; an organisation is an IGO, NGO,
    company or militant group, or a country's sector body ("WHITE HOUSE" USAGOV). Places (names
    coded by country alone), names with digits, and names written with a title are left out.
    """
    names, codes = _actors()
    kinds: dict[str, str] = {}
    for name, actor in names.items():
        entries = codes.get(actor, ())
        words = name.split()
        if not entries or any(ch.isdigit() for ch in name) or words[0] in _TITLE_STARTS:
            continue
        organisation = any(code.startswith(ORGANISATION_PREFIXES) for code, _, _ in entries)
        sectored = organisation or any(
            chunk in SECTORS for code, _, _ in entries for chunk in _code_chunks(code)[1:]
        )
        if not sectored:
            continue
        dated = any(start or end for _, start, end in entries)
        if any(w in ORGANISATION_WORDS for w in words):
            kinds[name] = "ORG"
        elif any(w.lower() in TITLE_SECTORS for w in words):
            continue   # an office, with or without its holder: "US TRADE REPRESENTATIVE", "AMERICAN PRESIDENT BUSH"
        elif dated and not any(code.startswith("IMG") for code, _, _ in entries):
            kinds[name] = "PERSON"   # an office holder; a militant group is dated from its founding
        else:
            kinds[name] = "ORG?"     # a group's leader or the group, settled below by the given names
    given_names = _given_names(kinds)
    out = []
    for name, kind in sorted(kinds.items()):
        if kind == "ORG?":
            kind = "PERSON" if " " in name and name.split()[0] in given_names else "ORG"
        out.append((kind, name))
    return tuple(out)
