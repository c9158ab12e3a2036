"""Annotation stage: spaCy NER and parse, a gazetteer rule layer around NER, entity linking and events.

The public face of the NLP stage: one `nlp.pipe` pass per batch of texts, whose docs go through

* the pipeline (tasks/nlp_model.py): the pinned small English model, with an EntityRuler before
  NER for the multi-word names of IGOs, armed groups and institutions;
* the rule layer after NER (tasks/nlp_rules.py): the gazetteer's exact names merged with the
  model's spans, titles cut off person names, types fixed from name heads and context, one type
  per name in a document;
* linking (tasks/linking.py): ISO 3166 alpha-3, GeoNames id and coordinates, IGO code, a
  person's office;
* the event coder (tasks/events.py), which reads the same parse.

Out come the warehouse's entity, mention and event rows (`annotate_batch`, `annotation_rows`)
and the `wirehouse annotate` JSON records (`annotate_records`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Iterable, Iterator

import pandas as pd

from wirehouse import stopping
from wirehouse.tasks import gazetteer as gazetteer_module
from wirehouse.tasks.events import EVENT_COLUMNS, Event, code_events, event_rows
from wirehouse.tasks.linking import link_mentions
from wirehouse.tasks.nlp_model import NER_LANGUAGES, load_pipeline
from wirehouse.tasks.nlp_types import DocIndex, Mention

MAX_TEXT_CHARS = 200_000                  # a longer text is annotated up to here (recorded: annotated_chars)
BATCH_SIZE = 4                            # docs per nlp.pipe batch: 32 peaks 270 MB higher per process, no faster (measured)

ENTITY_COLUMNS = [
    "entity_id", "name", "type", "country_code", "geonames_id", "latitude", "longitude",
    "igo_code", "sector", "role",
]
MENTION_COLUMNS = [
    "article_id", "entity_id", "text", "start_char", "end_char", "label", "sentence",
    "sentence_start", "sentence_end",
]


@dataclass
class Annotation:
    """What the stage found in one text."""

    mentions: list[Mention] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    text_chars: int = 0                             # the text's length
    annotated_chars: int = 0                        # how much of it was annotated: at most MAX_TEXT_CHARS

    @property
    def truncated(self) -> bool:
        """Whether the text was cut at MAX_TEXT_CHARS (what follows has no entities or events)."""
        return self.annotated_chars < self.text_chars


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

    nlp = load_pipeline()
    gaz = gazetteer_module.load()
    lengths: deque[int] = deque()   # the whole texts' lengths, in the order nlp.pipe takes them

    def cut(texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            lengths.append(len(text))
            yield text[:MAX_TEXT_CHARS]

    docs = nlp.pipe(cut(texts), batch_size=BATCH_SIZE, n_process=n_process)
    for doc, when in zip(docs, published):
        stopping.check()   # between docs (nlp.pipe takes BATCH_SIZE at a time): a stopped run leaves here
        index = DocIndex(doc)
        mentions = link_mentions(doc, gaz, index)
        yield Annotation(
            mentions=mentions, events=code_events(doc, mentions, when, index),
            text_chars=lengths.popleft(), annotated_chars=len(doc.text),
        )

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
