"""Event coding on the dependency parse: who did what to whom, when and where (CAMEO and PLOVER).

The public face of the event coder. For each sentence, the triggers found and recoded for mood
(tasks/event_triggers.py) get their actors from the parse (tasks/event_actors.py), conjoined
actors making one event per dyad, GDELT style, and their place and date
(tasks/event_where_when.py); the events become warehouse rows (`event_rows`, `EVENT_COLUMNS`)
or JSON (`Event.as_json`).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import date

from wirehouse.tasks import cameo, dictionaries
from wirehouse.tasks.event_actors import (
    AGENT_SECTORS, STATE_GROUP_NOUNS, TITLE_NOUNS, Actor, as_country, country_actor, fill_countries, know_actors,
    resolve_actors, roles, subjects,
)
from wirehouse.tasks.event_sentence import Sentence
from wirehouse.tasks.event_triggers import sentence_triggers
from wirehouse.tasks.event_where_when import Location, Undatable, event_date, event_location
from wirehouse.tasks.nlp_model import ANNOTATOR_VERSION
from wirehouse.tasks.nlp_types import DocIndex, Mention, entity_id

EVENT_COLUMNS = [
    "event_id", "article_id", "sentence_index", "sentence", "trigger", "trigger_start", "event_date",
    "date_precision", "date_text", "cameo_code", "cameo_root", "plover_type", "quad_class", "goldstein",
    "confidence", "actor1_entity_id", "actor1_text", "actor1_name", "actor1_country_code", "actor1_igo_code",
    "actor2_entity_id", "actor2_text", "actor2_name", "actor2_country_code", "actor2_igo_code", "actor2_implied",
    "location_entity_id", "location_name", "location_country_code", "location_geonames_id", "coder_version",
]
MAX_DYADS_PER_TRIGGER = 6
# Roots where conjoined actors with no other target act on each other ("X and Y agreed to extend
# the truce", "X and Y held talks"): intent to cooperate, consult, cooperate, fight.
MUTUAL_ROOTS = frozenset({"03", "04", "05", "06", "19"})
RECIPROCAL = frozenset({"030", "036", "040", "046", "057", "060", "061", "062", "190"})   # "X and Y met": both directions


@dataclass
class Event:
    cameo_code: str
    trigger: str
    trigger_start: int
    sentence: str
    sentence_index: int
    actor1: Actor | None
    actor2: Actor | None
    event_date: date | None
    date_precision: str | None
    date_text: str | None
    location: Location | None
    confidence: float

    @property
    def plover_type(self) -> str | None:
        return cameo.plover_type(self.cameo_code)

    def as_json(self) -> dict:
        return {
            "cameo_code": self.cameo_code,
            "cameo_root": cameo.root(self.cameo_code),
            "plover_type": self.plover_type,
            "quad_class": cameo.quad_class(self.cameo_code),
            "goldstein": cameo.goldstein(self.cameo_code),
            "confidence": self.confidence,
            "actor1": self.actor1.as_json() if self.actor1 else None,
            "actor2": self.actor2.as_json() if self.actor2 else None,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "date_precision": self.date_precision,
            "location": self.location.as_json() if self.location else None,
            "trigger": self.trigger,
            "sentence": self.sentence,
        }


def code_events(doc, mentions: list[Mention], published: date | None, index: DocIndex | None = None) -> list[Event]:
    """Code the events of one parsed document.

    Args:
        doc: a spaCy Doc with the parse.
        mentions: the linked entity mentions of the doc (tasks.linking.link_mentions).
        published: the publication date that anchors relative dates, or None.
        index: the doc's `DocIndex`, if already built.

    Returns:
        Events in text order, one per trigger and dyad.
    """
    by_token: dict[int, Mention] = {}
    for mention in mentions:
        for i in range(mention.token_start, mention.token_end):
            by_token[i] = mention
    index = index or DocIndex(doc)
    know_actors(mentions, published)   # persons and organisations by name and date (PETRARCH2 actors)
    entity_ids = frozenset(m.entity.entity_id for m in mentions)
    events: list[Event] = []
    if dictionaries.is_story_discard(doc.text):
        return events   # a sports or entertainment story (PETRARCH2's story-wide discards): not coded
    discards = dictionaries.is_discard(doc.text)   # one search per text; per sentence only if it holds one
    for i, sent in enumerate(index.sents):
        if discards and dictionaries.is_discard(sent.text):
            continue   # a sentence about sport, film, an accident: no political event
        date_ents = [e for e in index.sentence_entities(i) if e.label_ == "DATE"]
        s = Sentence(doc, sent, i, by_token, published, date_ents, entity_ids)
        for code, trigger_tokens, anchor, demand_target in sentence_triggers(s):
            events.extend(_sentence_events(s, code, trigger_tokens, anchor, demand_target))
    return events


def _sentence_events(s: Sentence, code: str, trigger_tokens, anchor, demand_target=None) -> list[Event]:
    """The events of one coded trigger: its actors paired into dyads, each with the place and date."""
    actor1_tokens, actor2_tokens = roles(s, anchor, trigger_tokens, code)
    if demand_target is not None:   # "X said Y must ...": Y is the target
        actor2_tokens = subjects(demand_target)
    actors1 = resolve_actors(s, actor1_tokens)
    actors2 = [a for a in resolve_actors(s, actor2_tokens)]
    fill_countries(s, actors1, actors2)
    location = event_location(s, anchor, trigger_tokens, actors1 + actors2)
    if code == "042" and not actors2 and location is not None:
        # "a delegation visited Ashgabat": the host is the country of the place
        actors2 = [Actor(location.name, location.name, location.country_code, None, location.entity_id,
                         is_city=location.entity_id != entity_id(location.country_code or "", "country"))]
    for a in list(actors2):
        if location is not None and a.entity_id == location.entity_id and code != "042":
            actors2.remove(a)
    if location is None and cameo.root(code) in {"18", "19", "20"}:
        # "shelled Kharkiv": the city struck is where it happened (and its country the target)
        city = next((a for a in actors2 if a.is_city), None)
        if city is not None:
            location = Location(city.name, city.country_code, city.geonames_id, city.entity_id)
    # A city is no actor: its country is ("visited Ashgabat", "Moscow is in talks")
    actors1 = _unique([as_country(s, a) for a in actors1])
    actors2 = _unique([as_country(s, a) for a in actors2])
    if not actors1 and not actors2:
        return []
    if not actors1 and len(actors2) == 2 and all(a.compound for a in actors2):
        actors1, actors2 = actors2, []   # "the Israeli-Lebanese ceasefire was signed": by its two sides
    if not actors2 and len(actors1) == 2 and all(a.compound for a in actors1) and not (
        code in RECIPROCAL or cameo.root(code) in MUTUAL_ROOTS
    ):
        # "US-Japan sanctions": the first side acts on the second (reciprocal codes go both ways below)
        actors1, actors2 = actors1[:1], actors1[1:]
    named_target = any(t.pos_ == "PROPN" or t.lemma_.lower() in AGENT_SECTORS or t.lower_ in TITLE_NOUNS for t in actor2_tokens)
    if not actors2 and not named_target and len(actors1) >= 2 and (code in RECIPROCAL or cameo.root(code) in MUTUAL_ROOTS):
        pairs = list(itertools.permutations(actors1, 2))
    else:
        pairs = list(itertools.product(actors1 or [None], actors2 or [None]))
    # one entity on both sides is no dyad (nor one side of "Chinese-Vietnamese" paired with itself);
    # a city's country on the other side is one ("Ukrainian forces shelled Kharkiv")
    same = lambda a, b: a and b and not (a.from_place or b.from_place) and (  # noqa: E731
        a.entity_id == b.entity_id if a.entity_id is not None else a.compound and b.compound and a.text == b.text
    )
    kept = [(a, b) for a, b in pairs if not same(a, b)]
    if not kept and actors1:   # "X reneged on his commitment": no one else is named
        kept = [(a, None) for a in actors1]
    # A target phrase that names no state ("its Balkan neighbours", "the former Soviet republics"),
    # or someone of no known country ("the chief of the group's office"), is a target all the same:
    # none is implied then.
    # A statement (01) is addressed to no one: none is implied either.
    if any(b is None for _, b in kept) and cameo.root(code) != "01" and not any(
        t.lemma_.lower() in STATE_GROUP_NOUNS | TITLE_NOUNS or t.lemma_.lower() in AGENT_SECTORS
        or any(_no_country_actor(s.by_token.get(x.i)) for x in t.subtree) for t in actor2_tokens
    ):
        kept = [(a, b if b is not None else _implied_target(s, location, a)) for a, b in kept]
    pairs = kept
    # An event needs a political actor, as PETRARCH and GDELT code them: a country, an IGO or a
    # sector ("police", "the government"). "Apple released the iPad" and "Locksley had heard of
    # them" are no events; on real pages this halves the false events.
    pairs = [(a, b) for a, b in pairs if _political(a) or (_political(b) and not b.implied)]
    if not pairs:
        return []
    when = event_date(s, anchor, trigger_tokens)
    # A date named but beyond the calendar ("3,300 years ago"): no date, not the publication's.
    undated = isinstance(when, Undatable)
    trigger_tokens = list({t.i: t for t in trigger_tokens}.values())
    trigger_text = " ".join(t.text for t in sorted(trigger_tokens, key=lambda t: t.i))
    events = []
    for actor1, actor2 in pairs[:MAX_DYADS_PER_TRIGGER]:
        confidence = 0.4 + 0.2 * bool(actor1 and actor1.code()) + 0.2 * bool(actor2 and actor2.code() and not actor2.implied) + 0.1 * bool(when and not undated and when.text) + 0.1 * bool(location)
        events.append(
            Event(
                cameo_code=code,
                trigger=trigger_text,
                trigger_start=min(t.idx for t in trigger_tokens),
                sentence=s.text,
                sentence_index=s.index,
                actor1=actor1,
                actor2=actor2,
                event_date=None if undated else when.date if when else s.published,
                date_precision=None if undated else when.precision if when else None,
                date_text=when.text if when else None,
                location=location,
                confidence=round(min(confidence, 1.0), 2),
            )
        )
    return events


def _political(actor: Actor | None) -> bool:
    return actor is not None and bool(actor.code() or actor.sector)


def _no_country_actor(mention: Mention | None) -> bool:
    """A party named in a target phrase that resolved to no one state: a region ("Central Asia"),
    a regional word ("Balkan"), a person or group ("the chief of the Taliban's office")."""
    if mention is None or mention.label not in {"GPE", "LOC", "NORP", "PERSON", "ORG"}:
        return False
    return mention.label in {"PERSON", "ORG"} or not (mention.entity.country_code or mention.entity.igo_code)


def _implied_target(s: Sentence, location: Location | None, actor1: Actor | None) -> Actor | None:
    """No target named: the country where it happened ("opened an embassy in Tehran", "protested in
    Kirkuk"), else the actor's own ("workers stopped work"), as the gold standards code domestic
    events. Marked implied: not named in the text."""
    if location is not None and location.country_code:
        code = location.country_code
    elif actor1 is not None and actor1.country_code and not actor1.igo_code:
        code = actor1.country_code
    else:
        return None
    return country_actor(s, code, None, implied=True)


def _unique(actors: list[Actor]) -> list[Actor]:
    """Actors without repeats (two cities of one country are one country)."""
    seen, out = set(), []
    for a in actors:
        key = (a.entity_id or a.text, a.country_code) if not a.from_place else ("country", a.country_code)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def _actor_key(actor) -> str:
    # An actor with no entity (a city of a country the article never names) is told apart by what it is.
    if actor is None:
        return ""
    return actor.entity_id or f"{actor.country_code or ''}:{actor.igo_code or ''}:{actor.name or ''}"


def event_id(article_id: str, event: Event) -> str:
    key = "|".join(
        str(x) for x in (
            article_id, event.sentence_index, event.trigger_start, event.cameo_code,
            _actor_key(event.actor1), _actor_key(event.actor2),
        )
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def event_rows(article_id: str, events: list[Event]) -> list[dict]:
    """Warehouse rows for one article's events; an event coded twice (conjoined objects that are no
    actors: "paying for barracks, training areas and schools") is one row, the first."""
    rows = []
    seen: set[str] = set()
    for e in events:
        key = event_id(article_id, e)
        if key in seen:
            continue
        seen.add(key)
        a1, a2, loc = e.actor1, e.actor2, e.location
        rows.append(
            {
                "event_id": key, "article_id": article_id, "sentence_index": e.sentence_index,
                "sentence": e.sentence, "trigger": e.trigger, "trigger_start": e.trigger_start,
                "event_date": e.event_date, "date_precision": e.date_precision, "date_text": e.date_text,
                "cameo_code": e.cameo_code, "cameo_root": cameo.root(e.cameo_code), "plover_type": e.plover_type,
                "quad_class": cameo.quad_class(e.cameo_code), "goldstein": cameo.goldstein(e.cameo_code),
                "confidence": e.confidence,
                "actor1_entity_id": a1.entity_id if a1 else None, "actor1_text": a1.text if a1 else None,
                "actor1_name": a1.name if a1 else None, "actor1_country_code": a1.country_code if a1 else None,
                "actor1_igo_code": a1.igo_code if a1 else None,
                "actor2_entity_id": a2.entity_id if a2 else None, "actor2_text": a2.text if a2 else None,
                "actor2_name": a2.name if a2 else None, "actor2_country_code": a2.country_code if a2 else None,
                "actor2_igo_code": a2.igo_code if a2 else None, "actor2_implied": bool(a2 and a2.implied),
                "location_entity_id": loc.entity_id if loc else None, "location_name": loc.name if loc else None,
                "location_country_code": loc.country_code if loc else None,
                "location_geonames_id": loc.geonames_id if loc else None,
                "coder_version": ANNOTATOR_VERSION,
            }
        )
    return rows
