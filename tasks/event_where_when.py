"""The event coder's place and date: the place of a locative phrase (in/at/near a place) of the
event's clause, and the date of the DATE phrase attached to the trigger, resolved against the
publication date in the tense of its verb."""

from __future__ import annotations

from dataclasses import dataclass

from wirehouse.tasks import dates
from wirehouse.tasks.event_actors import Actor
from wirehouse.tasks.event_sentence import (
    CLAUSE_DEPS, FUTURE_AUX, LOCATIVE_PREPS, PLACE_LABELS, TOPIC_OBJECT_VERBS, Sentence,
)
from wirehouse.tasks.nlp_types import Mention


@dataclass
class Location:
    name: str
    country_code: str | None
    geonames_id: int | None
    entity_id: str | None

    def as_json(self) -> dict:
        return {"name": self.name, "country_code": self.country_code, "geonames_id": self.geonames_id}


@dataclass(frozen=True)
class Undatable:
    text: str   # the date phrase, kept as date_text


def event_location(s: Sentence, anchor, trigger_tokens, actors: list[Actor]) -> Location | None:
    """Where the event took place: a place named in a locative phrase of the trigger or its clause
    (the place visited, for a visit), not one of its actors."""
    actor_ids = {a.entity_id for a in actors}
    candidates = []
    scopes = [anchor, *trigger_tokens]
    if anchor.head is not anchor:
        scopes.append(anchor.head)
    for scope in scopes:
        for child in scope.children:
            if child.dep_ == "prep" and child.lower_ in LOCATIVE_PREPS:
                candidates.extend(g for g in child.children if g.dep_ == "pobj")
    if any(t.lemma_.lower() in {"visit", "arrive", "travel", "fly"} for t in trigger_tokens):
        candidates.extend(c for t in trigger_tokens for c in t.children if c.dep_ in {"dobj", "pobj"})
        candidates.extend(g for t in trigger_tokens for c in t.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj")
    # else a place named after in/at/near within the event's own clause, its topic left out
    # ("held talks with the chief of the office in Qatar", not "discussed ... missions in Afghanistan")
    candidates.extend(t for t in _clause(anchor) if t.dep_ == "pobj" and t.head.lower_ in LOCATIVE_PREPS)
    for token in candidates:
        mention = _place_in(s, token)
        if mention is not None and (mention.entity.entity_id not in actor_ids or any(t.lemma_.lower() == "visit" for t in trigger_tokens)):
            entity = mention.entity
            return Location(name=entity.name, country_code=entity.country_code, geonames_id=entity.geonames_id, entity_id=entity.entity_id)
    return None


def _clause(anchor) -> list:
    tokens, stack = [], [anchor]
    while stack:
        token = stack.pop()
        tokens.append(token)
        for child in token.children:
            if child.dep_ in CLAUSE_DEPS and child.dep_ != "punct":
                continue
            if child.dep_ == "dobj" and token.lemma_.lower() in TOPIC_OBJECT_VERBS:
                continue
            stack.append(child)
    return sorted(tokens, key=lambda t: t.i)


def _place_in(s: Sentence, token) -> Mention | None:
    mention = s.by_token.get(token.i)
    if mention is not None and mention.label in PLACE_LABELS:
        return mention
    for child in token.subtree:
        mention = s.by_token.get(child.i)
        if mention is not None and mention.label in PLACE_LABELS:
            return mention
    return None


def event_date(s: Sentence, anchor, trigger_tokens) -> dates.ResolvedDate | Undatable | None:
    """The date the event's own DATE phrase resolves to (else another phrase of the sentence);
    `Undatable` when the phrase attached to the trigger lies outside years 1..9999."""
    date_ents = s.date_ents
    if not date_ents:
        return None
    tense = _tense(anchor)
    scope = {anchor.i, *(t.i for t in trigger_tokens)}
    attached = []
    for ent in date_ents:
        token = ent.root
        steps = 0
        while token.head is not token and steps < 4:
            token = token.head
            steps += 1
            if token.i in scope:
                attached.append(ent)
                break
    deadlines = [e for e in date_ents if e.start > 0 and s.doc[e.start - 1].lower_ in {"by", "until", "before"}]
    undatable = None
    for ent in [e for e in attached if e not in deadlines] + [e for e in date_ents if e not in attached and e not in deadlines]:
        if undatable is not None and ent not in attached:
            break   # the event's own phrase is out of range: another phrase of the sentence is not its date
        own_tense = tense if ent in attached else _tense(_governing_verb(ent.root))
        resolved = dates.resolve(ent.text, s.published, own_tense)
        if resolved is not None:
            if own_tense == dates.PAST and s.published and resolved.date > s.published:
                continue
            return resolved
        if undatable is None and ent in attached and dates.out_of_range(ent.text, s.published, own_tense):
            undatable = Undatable(ent.text)
    return undatable


def _governing_verb(token):
    steps = 0
    while token.pos_ not in {"VERB", "AUX"} and token.head is not token and steps < 6:
        token = token.head
        steps += 1
    return token


def _tense(verb) -> str:
    auxes = {c.lower_ for c in verb.children if c.dep_ in {"aux", "auxpass"}}
    if auxes & FUTURE_AUX or verb.tag_ == "VB" and "to" in auxes:
        return dates.FUTURE
    if verb.tag_ in {"VBD", "VBN"} or auxes & {"had", "has", "have", "was", "were", "did"}:
        return dates.PAST
    return dates.UNKNOWN
