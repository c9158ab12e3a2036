"""Event coding on the dependency parse: who did what to whom, when and where (CAMEO and PLOVER).

For each sentence, a trigger (a verb, or a nominalisation under a light verb: "held talks",
"completed joint military exercises", "is in talks with") is looked up in the CAMEO lexicon
(tasks/data/cameo_triggers.tsv). Mood then recodes it: "will/promised/offered to" + cooperation
is an intent (03x), "threatened to" or "will" + force a threat (13x), "demanded/urged ... to" a
demand (10x), negated or refused cooperation a rejection (12x).

Actors come from the parse: the subject (or the "by" agent of a passive) is actor 1; objects and
with/to/against/between phrases give actor 2; "Hungarian officials", "Russia's envoy" and
"troops from Tajikistan" resolve to the entity inside the noun phrase; conjoined actors make one
event per dyad, GDELT style. Locations come from locative phrases (in/at/near a place), dates
from the DATE phrase attached to the trigger, resolved against the publication date.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import date

from tasks import cameo, dates
from tasks.annotate import ANNOTATOR_VERSION, TITLE_WORDS, DocIndex, Mention

EVENT_COLUMNS = [
    "event_id", "article_id", "sentence_index", "sentence", "trigger", "trigger_start", "event_date",
    "date_precision", "date_text", "cameo_code", "cameo_root", "plover_type", "quad_class", "goldstein",
    "confidence", "actor1_entity_id", "actor1_text", "actor1_name", "actor1_country_code", "actor1_igo_code",
    "actor2_entity_id", "actor2_text", "actor2_name", "actor2_country_code", "actor2_igo_code",
    "location_entity_id", "location_name", "location_country_code", "location_geonames_id", "coder_version",
]
MAX_DYADS_PER_TRIGGER = 6
LIGHT_VERBS = frozenset(
    {
        "hold", "have", "conduct", "stage", "carry", "launch", "begin", "start", "continue", "complete",
        "finish", "conclude", "organize", "organise", "make", "take", "pay", "issue", "lodge", "impose",
        "open", "mount", "announce", "resume", "end", "undertake", "perform", "call", "give", "deliver",
        "provide", "offer", "sign", "reach", "join", "attend", "be", "reiterate", "repeat", "renew", "voice",
        "express", "put", "file", "approve",
    }
)
HAPPEN_VERBS = frozenset({"take", "happen", "occur", "begin", "start", "end", "conclude", "continue", "follow", "kill", "wound"})
INTENT_GOVERNORS = frozenset(
    {"promise", "pledge", "vow", "offer", "agree", "commit", "prepare", "plan", "intend", "expect", "hope", "want", "seek", "aim", "ready", "prepared", "committed", "willing"}
)
THREAT_GOVERNORS = frozenset({"threaten", "warn", "swear"})
DEMAND_GOVERNORS = frozenset({"demand", "urge", "insist", "press", "ask", "call", "order", "tell", "instruct", "require"})
REJECT_GOVERNORS = frozenset({"refuse", "reject", "decline", "fail", "oppose"})
GOVERNORS = INTENT_GOVERNORS | THREAT_GOVERNORS | DEMAND_GOVERNORS | REJECT_GOVERNORS
SAY_VERBS = frozenset({"say", "announce", "state", "declare", "tell", "add", "report", "insist", "reiterate", "stress", "conclude"})
FUTURE_AUX = frozenset({"will", "would", "shall", "'ll", "wo"})
DEMAND_AUX = frozenset({"must", "should"})
TARGET_PREPS = frozenset({"with", "to", "against", "toward", "towards", "on", "into", "upon", "over", "at", "from", "for"})
LOCATIVE_PREPS = frozenset({"in", "at", "near", "inside", "outside"})
RECIPROCAL = frozenset({"030", "036", "040", "046", "057", "060", "061", "062", "190"})   # "X and Y met": both directions
PRONOUNS = frozenset({"it", "they", "he", "she", "we", "its", "their", "his", "her"})
JOINT_WORDS = frozenset({"joint", "together", "combined", "bilateral", "trilateral"})
NP_DEPS = frozenset({"compound", "amod", "poss", "nmod", "appos", "prep", "pobj", "conj", "cc"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Generic agents (after the CAMEO agents dictionary): their country comes from the sentence.
AGENT_SECTORS = {
    "government": "GOV", "administration": "GOV", "president": "GOV", "minister": "GOV", "ministry": "GOV",
    "cabinet": "GOV", "official": "GOV", "authority": "GOV", "regime": "GOV", "leader": "GOV",
    "diplomat": "GOV", "embassy": "GOV", "envoy": "GOV", "spokesman": "GOV", "spokeswoman": "GOV",
    "parliament": "LEG", "lawmaker": "LEG", "legislature": "LEG", "senate": "LEG", "court": "JUD",
    "judge": "JUD", "prosecutor": "JUD", "army": "MIL", "military": "MIL", "troop": "MIL", "soldier": "MIL",
    "force": "MIL", "navy": "MIL", "junta": "MIL", "warship": "MIL", "police": "COP", "policeman": "COP",
    "rebel": "REB", "guerrilla": "REB", "insurgent": "REB", "militant": "REB", "militia": "REB",
    "separatist": "REB", "opposition": "OPP", "party": "PTY", "protester": "CVL", "demonstrator": "CVL",
    "student": "EDU", "worker": "LAB", "farmer": "AGR", "landowner": "AGR", "refugee": "REF",
    "people": "CVL", "civilian": "CVL", "villager": "CVL", "resident": "CVL", "citizen": "CVL",
    "prisoner": "CVL", "fundamentalist": "REL", "activist": "CVL",
}
QUANTITY_NOUNS = frozenset({"dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "group", "number", "crowd", "band", "party", "team", "delegation"})
TOPIC_PREPS = frozenset({"on", "about", "over", "regarding"})
TITLE_NOUNS = frozenset({"envoy", "minister", "ambassador", "president", "spokesman", "spokeswoman", "adviser", "advisor", "secretary", "chief", "commander", "mediator", "representative"})
# Nouns for what is hit or held in a place: "fired at targets in Jericho" targets Jericho.
TARGET_PLACES = frozenset({"target", "position", "area", "village", "town", "city", "home", "camp", "base", "region", "territory"})
NON_ACTOR_TYPES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"})
MOVEMENT_VERBS = frozenset({"arrive", "deploy", "send", "dispatch", "enter"})
CLAUSE_DEPS = frozenset({"relcl", "acl", "advcl", "ccomp", "xcomp", "punct", "mark", "csubj", "parataxis"})
# Verbs whose direct object is the topic, not a party: "discussed bilateral relations".
TOPIC_OBJECT_VERBS = frozenset({"discuss", "negotiate", "sign", "ratify", "debate", "consider", "review", "examine", "study", "conclude", "reach", "investigate", "probe"})


@dataclass
class Actor:
    text: str
    name: str | None
    country_code: str | None
    igo_code: str | None
    entity_id: str | None
    sector: str | None = None
    needs_country: bool = False   # a generic agent ("rebels") or a titled person: country from context
    via_demonym: bool = False     # "Ugandan opposition": the country came from a nationality word
    is_city: bool = False         # "a curfew in Algiers": a place, often the actor's own

    def code(self) -> str | None:
        """The actor's code for dyads: ISO alpha-3, or 'IGO' for an intergovernmental body."""
        if self.igo_code:
            return "IGO"
        return self.country_code

    def as_json(self) -> dict:
        return {
            "text": self.text, "name": self.name, "country_code": self.country_code, "igo_code": self.igo_code,
            "sector": self.sector,
        }


@dataclass
class Location:
    name: str
    country_code: str | None
    geonames_id: int | None
    entity_id: str | None

    def as_json(self) -> dict:
        return {"name": self.name, "country_code": self.country_code, "geonames_id": self.geonames_id}


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
        mentions: the linked entity mentions of the doc (tasks.annotate.link_mentions).
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
    events: list[Event] = []
    for i, sent in enumerate(index.sents):
        date_ents = [e for e in index.sentence_entities(i) if e.label_ == "DATE"]
        coder = _SentenceCoder(doc, sent, i, by_token, published, date_ents)
        events.extend(coder.code())
    return events


class _SentenceCoder:
    def __init__(self, doc, sent, index: int, by_token: dict[int, Mention], published: date | None, date_ents: list):
        self.doc = doc
        self.sent = sent
        self.index = index
        self.by_token = by_token
        self.published = published
        self.date_ents = date_ents   # the sentence's DATE entities, from the doc's DocIndex
        self.lexicon = cameo.triggers()
        self._text: str | None = None
        self._countries: list[str] | None = None

    @property
    def text(self) -> str:
        """The sentence's text, built once (each event of the sentence carries it)."""
        if self._text is None:
            self._text = self.sent.text.strip()
        return self._text

    # ---- triggers ---------------------------------------------------------------------------
    def code(self) -> list[Event]:
        events: list[Event] = []
        claimed: set[int] = set()   # tokens already used as a trigger (a governed verb, a light verb's noun)
        for token in self.sent:
            if token.i in claimed:
                continue
            demand = self._must_demand(token)
            if demand is not None:
                claimed.update(demand[3])
                events.extend(self._events(demand[0], demand[1], demand[2], token))
                continue
            if token.pos_ in {"VERB", "AUX"} and _hypothetical(token):
                continue   # "... if attacked", "unless Baghdad accepts": nothing happened
            if token.pos_ in {"VERB", "AUX"} and self._governs_trigger(token):
                continue   # "threatened to launch an offensive": coded once, at "launch"
            found = self._verb_trigger(token) if token.pos_ in {"VERB", "AUX"} else None
            if found is None and token.pos_ in {"VERB", "AUX"} and token.lemma_.lower() in LIGHT_VERBS:
                found = self._light_verb_trigger(token)
            if found is None and token.pos_ in {"NOUN", "PROPN"}:
                found = self._noun_trigger(token)
            if found is None:
                continue
            code, trigger_tokens, anchor, used = found
            claimed.update(used)
            coded = self._mood(code, anchor, trigger_tokens)
            if coded is None:
                continue
            code, trigger_tokens, anchor, claimed_more = coded
            claimed.update(claimed_more)
            events.extend(self._events(code, trigger_tokens, anchor))
        return events

    def _must_demand(self, token):
        """ "Russia said that Sudan must return ...": a demand by the speaker of the one who must act."""
        if token.pos_ not in {"VERB", "AUX"} or token.dep_ != "ccomp" or token.head.lemma_.lower() not in SAY_VERBS | {"conclude"}:
            return None
        if not any(c.dep_ == "aux" and c.lower_ in DEMAND_AUX for c in token.children):
            return None
        entry = self._match(token, noun=False)
        root = cameo.root(entry.code) if entry else None
        code = cameo.DEMAND_BY_ROOT.get(root, "100") if root and int(root) <= 8 else "100"
        return code, [token.head, token], token.head, {token.i, token.head.i}

    def _governs_trigger(self, token) -> bool:
        lemma = token.lemma_.lower()
        if lemma not in GOVERNORS:
            return False
        own = self._match(token, noun=False)
        if own is not None and own.object is not None:
            return False   # a pattern of its own ("urged ... to support") is more specific
        for child in token.children:
            if child.dep_ == "xcomp" and child.pos_ in {"VERB", "AUX"}:
                if self._match(child, noun=False) is not None or (
                    child.lemma_.lower() in LIGHT_VERBS and self._light_verb_trigger(child) is not None
                ):
                    return True
        return False

    def _match(self, token, noun: bool) -> cameo.Trigger | None:
        lemma = token.lemma_.lower()
        entries = self.lexicon.get((noun, lemma))
        if not entries:
            for candidate in _lemma_candidates(token.lower_, noun):   # the lemmatizer's slips: "staged" -> "stag"
                entries = self.lexicon.get((noun, candidate))
                if entries:
                    break
        if not entries:
            return None
        children = list(token.children)
        particles = {
            c.lower_ for c in children
            if c.dep_ in {"prt", "prep", "agent"} and not any(g.ent_type_ in {"DATE", "TIME"} for g in c.children)
        }
        objects = set()
        for c in children:
            if c.dep_ in {"dobj", "attr", "dative", "nsubjpass", "oprd"}:
                heads = [c, *c.conjuncts]   # "photographs and other military intelligence"
                heads += [g for h in list(heads) for p in h.children if p.dep_ == "prep" and p.lower_ == "of" for g in p.children if g.dep_ == "pobj"]
                for h in heads:
                    objects.add(h.lemma_.lower())
                    for g in h.children:
                        if g.dep_ in {"compound", "amod"}:
                            objects.add(f"{g.lemma_.lower()} {h.lemma_.lower()}")
                            objects.add(g.lemma_.lower())   # "a mediation effort" names a mediation
            if c.dep_ in {"prep", "prt"}:
                for g in c.children:
                    if g.dep_ == "pobj":
                        objects.add(g.lemma_.lower())
            if c.dep_ == "xcomp":
                objects.add(c.lemma_.lower())
            if c.dep_ in {"xcomp", "ccomp"}:
                # "allowed UN inspectors to return": the one allowed is the clause's subject
                objects.update(g.lemma_.lower() for g in c.children if g.dep_ in {"nsubj", "nsubjpass"})
        for entry in entries:
            if noun and " " in entry.lemma:
                words = entry.lemma.split()
                before = [t.lemma_.lower() for t in self.doc[max(token.i - len(words) + 1, 0) : token.i + 1]]
                if before != words:
                    continue
            if entry.particle and entry.particle not in particles and entry.particle.split()[0] not in particles:
                continue
            if entry.object and entry.object not in objects:
                continue
            return entry
        return None

    def _verb_trigger(self, token):
        entry = self._match(token, noun=False)
        if token.lemma_.lower() in MOVEMENT_VERBS and any(
            t.lemma_.lower().startswith("peacekeep") for c in token.children if c.dep_ in {"nsubj", "dobj", "nsubjpass"} for t in c.subtree
        ):
            return "074", [token], token, {token.i}   # peacekeepers arrive or are sent: CAMEO 074
        if entry is None:
            return None
        tokens = [token]
        words = set((entry.particle or "").split())
        objects = set((entry.object or "").split()[-1:])
        for child in token.children:
            if child.dep_ in {"prt", "prep"} and child.lower_ in words and not any(g.ent_type_ in {"DATE", "TIME"} for g in child.children):
                words = words - {child.lower_}   # the first "on" is the particle; a later one is a date's
                tokens.append(child)
            elif child.dep_ in {"dobj", "attr", "dative", "nsubjpass", "oprd", "xcomp"} and (
                child.lemma_.lower() in objects
                or any(g.dep_ in {"compound", "amod"} and g.lemma_.lower() in objects for g in child.children)
            ):
                tokens.append(child)   # "launched a mediation effort": the effort carries the parties
            elif child.dep_ == "prep":
                tokens.extend(g for g in child.children if g.dep_ == "pobj" and g.lemma_.lower() in objects)
        return entry.code, tokens, token, {t.i for t in tokens}

    def _light_verb_trigger(self, token):
        for child in token.children:
            targets = [child]
            if child.dep_ == "prep":   # "is in talks with", "took part in drills"
                if child.lower_ not in {"in", "into", "under"}:   # "is in talks", "put under investigation"
                    continue
                targets = [g for g in child.children if g.dep_ == "pobj"]
            elif child.dep_ not in {"dobj", "attr", "nsubjpass", "oprd"}:
                continue
            targets = targets + [g for t in targets for p in t.children if p.dep_ == "prep" and p.lower_ == "of" for g in p.children if g.dep_ == "pobj"]
            for noun in targets:
                entry = self._match(noun, noun=True)
                if entry is not None:
                    tokens = [token, child, noun] if child is not noun else [token, noun]
                    return self._noun_code(entry, noun), tokens, token, {t.i for t in tokens}
        return None

    def _noun_trigger(self, token):
        # A nominalisation as subject of "take place"/"began", or standing alone with an actor
        # inside its phrase ("Russian-Uzbek drills held near ...", "talks between X and Y").
        entry = self._match(token, noun=True)
        if entry is None:
            return None
        head = token.head
        if token.dep_ in {"nsubj", "nsubjpass"} and head.lemma_.lower() in HAPPEN_VERBS:
            return self._noun_code(entry, token), [token], token, {token.i}
        if token.dep_ in {"dobj", "pobj", "attr"} and head.lemma_.lower() in LIGHT_VERBS:
            return None   # the light verb codes it, with the verb's subject as actor
        if any(self._np_actors(token, include_self=False)):
            return self._noun_code(entry, token), [token], token, {token.i}
        return None

    def _noun_code(self, entry: cameo.Trigger, noun) -> str:
        if entry.code in {"062", "150"}:   # exercises and drills: together with others = cooperation
            modifiers = {c.lower_ for c in noun.children} | {c.lower_ for c in noun.head.children}
            joint = bool(modifiers & JOINT_WORDS) or any(c.dep_ == "prep" and c.lower_ == "with" for c in noun.children)
            joint = joint or len(self._np_actors(noun, include_self=False)) >= 2   # "Russian-Uzbek drills"
            return "062" if joint else "150"
        return entry.code

    # ---- mood -------------------------------------------------------------------------------
    def _mood(self, code: str, anchor, trigger_tokens):
        """Recode for intent, threat, demand and rejection; returns None when negated conflict."""
        root = cameo.root(code)
        claimed: set[int] = set()
        children = list(anchor.children)
        negated = any(c.dep_ == "neg" for c in children)
        auxes = {c.lower_ for c in children if c.dep_ in {"aux", "auxpass"}}
        governor = anchor.head if anchor.dep_ in {"xcomp", "ccomp"} and anchor.head is not anchor else None
        gov_lemma = governor.lemma_.lower() if governor is not None else ""
        if anchor.dep_ == "ccomp" and gov_lemma not in {"demand", "insist", "threaten", "warn", "promise", "pledge", "vow", "agree"}:
            governor, gov_lemma = None, ""   # "lifted the blockade, officials told AFP": reported, not governed
        if governor is not None and gov_lemma in GOVERNORS:
            trigger_tokens = [governor, *trigger_tokens]
            claimed.add(governor.i)
            gov_negated = any(c.dep_ == "neg" for c in governor.children)
            if gov_lemma in REJECT_GOVERNORS or gov_negated:
                code = _rejection(root)
            elif gov_lemma in THREAT_GOVERNORS:
                code = cameo.threat_code(code) if int(root) >= 9 else "130"
            elif gov_lemma in DEMAND_GOVERNORS:
                if gov_lemma == "order" and int(root) >= 14:
                    code = code   # an authority's order to repress or strike is the act itself
                else:
                    code = cameo.DEMAND_BY_ROOT.get(root, "100") if int(root) <= 8 else "100"
            elif int(root) <= 8:
                code = cameo.INTENT_BY_ROOT.get(root, "030")
            else:
                code = cameo.threat_code(code)
            anchor = governor
            return (code, trigger_tokens, anchor, claimed) if code else None
        if negated:
            code = _rejection(root)
            return (code, trigger_tokens, anchor, claimed) if code else None
        if auxes & FUTURE_AUX:
            if int(root) <= 8 and root not in {"01", "03"}:
                code = cameo.INTENT_BY_ROOT.get(root, "030")
            elif int(root) >= 16 or root in {"12", "14"}:
                code = cameo.threat_code(code)
        return code, trigger_tokens, anchor, claimed

    # ---- actors, place, date ----------------------------------------------------------------
    def _events(self, code: str, trigger_tokens, anchor, demand_target=None) -> list[Event]:
        actor1_tokens, actor2_tokens = self._roles(anchor, trigger_tokens, code)
        if demand_target is not None:   # "X said Y must ...": Y is the target
            actor2_tokens = self._subjects(demand_target)
        actors1 = self._resolve(actor1_tokens)
        actors2 = [a for a in self._resolve(actor2_tokens)]
        self._fill_countries(actors1, actors2)
        location = self._location(anchor, trigger_tokens, actors1 + actors2)
        if cameo.root(code) == "04" and code in {"042"} and not actors2 and location is not None:
            # "a delegation visited Ashgabat": the host is the country of the place
            actors2 = [Actor(location.name, location.name, location.country_code, None, location.entity_id)]
        for a in list(actors2):
            if location is not None and a.entity_id == location.entity_id and code != "042":
                actors2.remove(a)
        if not actors1 and not actors2:
            return []
        named_target = any(t.pos_ == "PROPN" or t.lemma_.lower() in AGENT_SECTORS or t.lower_ in TITLE_NOUNS for t in actor2_tokens)
        if not actors2 and not named_target and len(actors1) >= 2 and (code in RECIPROCAL or cameo.root(code) in {"04", "05", "06", "19"}):
            pairs = list(itertools.permutations(actors1, 2))
        else:
            pairs = list(itertools.product(actors1 or [None], actors2 or [None]))
        same = lambda a, b: a and b and a.entity_id is not None and a.entity_id == b.entity_id  # noqa: E731
        kept = [(a, b) for a, b in pairs if not same(a, b)]
        if not kept and actors1:   # "X reneged on his commitment": no one else is named
            kept = [(a, None) for a in actors1]
        pairs = kept
        if not pairs:
            return []
        when = self._date(anchor, trigger_tokens)
        # A date named but beyond the calendar ("3,300 years ago"): no date, not the publication's.
        undated = isinstance(when, _Undatable)
        trigger_tokens = list({t.i: t for t in trigger_tokens}.values())
        trigger_text = " ".join(t.text for t in sorted(trigger_tokens, key=lambda t: t.i))
        events = []
        for actor1, actor2 in pairs[:MAX_DYADS_PER_TRIGGER]:
            confidence = 0.4 + 0.2 * bool(actor1 and actor1.code()) + 0.2 * bool(actor2 and actor2.code()) + 0.1 * bool(when and not undated and when.text) + 0.1 * bool(location)
            events.append(
                Event(
                    cameo_code=code,
                    trigger=trigger_text,
                    trigger_start=min(t.idx for t in trigger_tokens),
                    sentence=self.text,
                    sentence_index=self.index,
                    actor1=actor1,
                    actor2=actor2,
                    event_date=None if undated else when.date if when else self.published,
                    date_precision=None if undated else when.precision if when else None,
                    date_text=when.text if when else None,
                    location=location,
                    confidence=round(min(confidence, 1.0), 2),
                )
            )
        return events

    def _subjects(self, verb) -> list:
        seen = set()
        while verb is not None and verb.i not in seen:
            seen.add(verb.i)
            subjects = [c for c in verb.children if c.dep_ in {"nsubj", "csubj"}]
            if subjects:
                return subjects
            agents = [g for c in verb.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
            if agents:
                return agents
            if verb.dep_ in {"xcomp", "conj", "advcl", "ccomp", "acomp"} and verb.head is not verb:
                verb = verb.head
            elif verb.dep_ in {"relcl", "acl"} and verb.head is not verb:
                return [verb.head] if verb.dep_ == "relcl" else []
            else:
                break
        return []

    def _roles(self, anchor, trigger_tokens, code: str) -> tuple[list, list]:
        trigger_ids = {t.i for t in trigger_tokens}
        actor1 = self._subjects(anchor)
        passive = [c for c in anchor.children if c.dep_ == "nsubjpass"]
        actor2 = []
        if passive:
            actor1 = [g for c in anchor.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
            actor2 = passive
        noun_triggers = [t for t in trigger_tokens if t.pos_ in {"NOUN", "PROPN"}]
        for noun in noun_triggers:   # "a Taliban delegation's visit", "Russian-Uzbek drills"
            inner = [c for c in noun.children if c.dep_ in {"compound", "amod", "poss", "nmod"} and c.i not in trigger_ids]
            inner += [g for c in inner for g in c.children if g.dep_ in {"amod", "compound"} and g.i in self.by_token]
            if inner and not actor1:
                actor1 = inner
            elif inner:   # "expelled two Russian diplomats": whose diplomats is the target
                actor2.extend(t for t in inner if t.i in self.by_token)
            for prep in (c for c in noun.children if c.dep_ == "prep"):
                objects = [g for g in prep.children if g.dep_ == "pobj"]
                if prep.lower_ == "between" and objects:
                    conj = [objects[0], *objects[0].conjuncts]
                    if actor1:
                        actor2.extend(conj)
                    else:
                        actor1, actor2 = conj[:1], conj[1:]
                elif prep.lower_ == "by" and objects and not actor1:
                    actor1 = objects
                elif prep.lower_ in TARGET_PREPS and prep.lower_ not in LOCATIVE_PREPS:
                    actor2.extend(objects)
        for token in trigger_tokens:
            if token.dep_ == "prep" and token.lower_ in TARGET_PREPS:   # "spoke with X": the particle's object
                actor2.extend(g for g in token.children if g.dep_ == "pobj" and g.i not in trigger_ids)
            for child in token.children:
                if child.i in trigger_ids:
                    continue
                if child.dep_ == "prep" and child.lower_ in TOPIC_PREPS and cameo.root(code) in {"04", "05"}:
                    continue   # "met X on Afghanistan": what was discussed, not who
                if child.dep_ in {"dative", "iobj", "dobj"} or (child.dep_ == "attr" and not noun_triggers):
                    if child.dep_ == "dobj" and token.lemma_.lower() in TOPIC_OBJECT_VERBS:
                        continue
                    actor2.append(child)
                elif child.dep_ == "prep" and child.lower_ in TARGET_PREPS and child.lower_ not in LOCATIVE_PREPS:
                    actor2.extend(g for g in child.children if g.dep_ == "pobj")
                elif child.dep_ == "prep" and child.lower_ == "between":
                    objects = [g for g in child.children if g.dep_ == "pobj"]
                    if objects:
                        actor2.extend([objects[0], *objects[0].conjuncts])
        actor2 = [t for t in actor2 if t.ent_type_ not in NON_ACTOR_TYPES or t.lemma_.lower() in QUANTITY_NOUNS]
        if not actor2:
            # "demanded that the US cancel ...", "its demand that Israel ease ...": the one asked is the target
            for token in trigger_tokens:
                for child in token.children:
                    if child.dep_ in {"ccomp", "acl"} and token.lemma_.lower() in DEMAND_GOVERNORS | {"demand", "call", "appeal", "request"}:
                        actor2.extend(c for c in child.children if c.dep_ in {"nsubj", "nsubjpass"})
        if not actor2:
            # "opened fire to disperse demonstrators": the purpose clause names the target
            for token in trigger_tokens:
                for child in token.children:
                    if child.dep_ in {"advcl", "xcomp"} and any(g.dep_ == "aux" and g.lower_ == "to" for g in child.children):
                        actor2.extend(g for g in child.children if g.dep_ == "dobj")
        for token in trigger_tokens:
            if token.dep_ == "xcomp":
                for child in token.children:
                    if child.dep_ in {"dobj", "dative"}:
                        actor2.append(child)
        return actor1, actor2

    def _resolve(self, tokens) -> list[Actor]:
        actors: list[Actor] = []
        seen: set[str] = set()
        for token in tokens:
            for head in [token, *token.conjuncts]:
                found = self._np_actors(head, include_self=True)
                if not found:
                    agent = self._agent(head)
                    found = [agent] if agent else []
                for actor in found:
                    key = actor.entity_id or actor.text
                    if key not in seen:
                        seen.add(key)
                        actors.append(actor)
        return actors

    def _agent(self, head) -> Actor | None:
        if head.lemma_.lower() in QUANTITY_NOUNS:   # "thousands of students", "a group of rebels"
            of = [g for c in head.children if c.dep_ == "prep" and c.lower_ == "of" for g in c.children if g.dep_ == "pobj"]
            if of:
                return self._agent(of[0])
        sector = AGENT_SECTORS.get(head.lemma_.lower())
        if sector is None or head.pos_ not in {"NOUN", "PROPN"} or head.ent_type_ in NON_ACTOR_TYPES - {"NORP"}:
            return None
        left = min((t.i for t in head.subtree if t.dep_ in {"amod", "compound", "det", "nummod"} and t.head == head), default=head.i)
        return Actor(text=self.doc[left : head.i + 1].text, name=None, country_code=None, igo_code=None,
                     entity_id=None, sector=sector, needs_country=True)

    def _fill_countries(self, actors1: list[Actor], actors2: list[Actor]) -> None:
        """Give agents and titled people without a country the sentence's country (Petrarch's habit):
        the first country named that is not the other side's, else, for a target, the actor's own
        ("Sudan's government lifted the curfew imposed on its people")."""
        countries = self._sentence_countries()
        if not countries:
            return
        # A target named by its country ("against Russia") is foreign to the actor; one named by a
        # nationality ("Ugandan opposition candidates") is as likely the actor's own people.
        codes2 = {a.country_code for a in actors2 if a.country_code and not (a.via_demonym or a.is_city)}
        for actor in actors1:
            if actor.needs_country and actor.country_code is None:
                actor.country_code = next((c for c in countries if c not in codes2), None)
        codes1 = {a.country_code for a in actors1 if a.country_code}
        for actor in actors2:
            if actor.needs_country and actor.country_code is None:
                actor.country_code = next((c for c in countries if c not in codes1), None) or next(iter(codes1), None)

    def _sentence_countries(self) -> list[str]:
        """The countries of the sentence's mentions in order of first mention; one pass per sentence."""
        if self._countries is None:
            self._countries = []
            for i in range(self.sent.start, self.sent.end):
                mention = self.by_token.get(i)
                code = mention.entity.country_code if mention is not None else None
                if code and code not in self._countries:
                    self._countries.append(code)
        return self._countries

    def _np_actors(self, head, include_self: bool) -> list[Actor]:
        """The entities a noun phrase stands for.

        The head's own entity; else, when the phrase lists people ("envoy X, minister Y and
        envoy Z"), each person; else the nearest entity inside the phrase and its conjuncts
        ("troops from Tajikistan and Uzbekistan", "Hungarian and Romanian officials").
        """
        if include_self and head.lower_ in PRONOUNS:
            antecedent = self._antecedent(head)
            return self._np_actors(antecedent, True) if antecedent is not None else []
        if include_self and head.i in self.by_token:
            actor = self._actor(self.by_token[head.i])
            if actor is not None and not (head.conjuncts and self._persons_in(head)):
                return [actor]
        persons = self._persons_in(head)
        if persons:
            after = head.right_edge.i + 1   # "... Zamir Kabulov, and Turkmen Deputy Foreign Minister Vepa Hajiev"
            if after < self.sent.end and self.doc[after].text in {",", "and"}:
                known = {p.entity_id for p in persons}
                persons += [p for p in self._people_from(after) if p.entity_id not in known]
            return persons
        appositive = self._appositive_people(head)
        if appositive:   # "Russia's special envoy on Afghanistan, Zamir Kabulov,"
            return appositive
        found: list[Actor] = []
        frontier = [c for c in head.children if c.dep_ in NP_DEPS]
        depth = 0
        while frontier and depth < 4:
            next_frontier = []
            for token in sorted(frontier, key=lambda t: abs(t.i - head.i)):
                allowed = {"of", "from", "for", "by", "with", "against"}
                if depth == 0:
                    allowed = allowed | {"between"}   # "talks between the government and the ELN"
                if depth == 0 or token.head.lemma_.lower() in TARGET_PLACES:
                    allowed = allowed | {"in"}   # "officials in Kabul", "targets in Jericho"
                if token.dep_ == "prep" and token.lower_ not in allowed:
                    continue
                if token.dep_ == "poss" and token.lower_ in PRONOUNS:   # "their forces": whose
                    antecedent = self._antecedent(token)
                    if antecedent is not None:
                        found.extend(a for a in self._np_actors(antecedent, True) if all(a.entity_id != f.entity_id for f in found))
                    continue
                mention = self.by_token.get(token.i)
                if mention is not None:
                    # conjuncts ("Tajikistan and Uzbekistan") and hyphen pairs ("Russian-Uzbek")
                    joined = [c for c in token.children if c.dep_ in {"amod", "compound"} and c.i in self.by_token]
                    for other in [token, *token.conjuncts, *joined]:
                        other_mention = self.by_token.get(other.i)
                        actor = self._actor(other_mention) if other_mention else None
                        if actor is not None and all(actor.entity_id != f.entity_id for f in found):
                            found.append(actor)
                    continue
                next_frontier.extend(c for c in token.children if c.dep_ in NP_DEPS)
            if found:
                break
            frontier = next_frontier
            depth += 1
        return found

    def _appositive_people(self, head) -> list[Actor]:
        """ "Russia's special envoy on Afghanistan, Zamir Kabulov, and Turkmen Deputy Foreign Minister
        Vepa Hajiev": the people a title phrase introduces, the rest of the list included."""
        if head.lemma_.lower() not in AGENT_SECTORS and head.lower_ not in TITLE_NOUNS:
            return []
        after = head.right_edge.i + 1
        if after < self.sent.end and self.doc[after].lower_ in {"on", "to", "for", "in"}:
            after += 1   # "envoy on Afghanistan, X": skip the envoy's brief
            while after < self.sent.end and self.doc[after].pos_ == "PROPN":
                after += 1
        if not (after + 1 < self.sent.end and self.doc[after].text == ","):
            return []
        return self._people_from(after + 1)

    def _people_from(self, i: int) -> list[Actor]:
        """People listed from token i on: titles, nationalities, commas and 'and' between names."""
        people = []
        while i < self.sent.end:
            token = self.doc[i]
            mention = self.by_token.get(i)
            if mention is not None and mention.label == "PERSON" and mention.token_start == i:
                actor = self._actor(mention)
                if actor is not None:
                    people.append(actor)
                i = mention.token_end
            elif token.text in {",", "and", "the"} or token.lower_ in TITLE_WORDS or (mention is not None and mention.label in {"NORP", "GPE"}):
                i += 1
            else:
                break
        return people

    def _persons_in(self, head) -> list[Actor]:
        """Every person named in a noun phrase (its clauses and locative phrases left out)."""
        stack, persons, seen = [head], [], set()
        while stack:
            token = stack.pop()
            mention = self.by_token.get(token.i)
            if mention is not None and mention.label == "PERSON" and mention.entity.entity_id not in seen:
                seen.add(mention.entity.entity_id)
                persons.append((token.i, self._actor(mention)))
            for child in token.children:
                if child.dep_ in CLAUSE_DEPS or (child.dep_ == "prep" and child.lower_ in LOCATIVE_PREPS):
                    continue
                stack.append(child)
        return [actor for _, actor in sorted(persons, key=lambda p: p[0]) if actor is not None]

    def _antecedent(self, pronoun):
        """'Hungary said it will support ...': the subject of the governing clause."""
        verb = pronoun.head
        seen = {pronoun.i}
        while verb is not None and verb.i not in seen:
            seen.add(verb.i)
            head = verb.head
            if head is verb:
                break
            for child in head.children:
                if child.dep_ in {"nsubj", "nsubjpass"} and child.i not in seen and child.lower_ not in PRONOUNS:
                    return child
            verb = head
        return None

    def _actor(self, mention: Mention) -> Actor | None:
        entity = mention.entity
        if mention.label in PLACE_LABELS | {"NORP", "ORG", "PERSON"}:
            titled = mention.label == "PERSON" and entity.role is not None
            return Actor(
                text=mention.text, name=entity.name, country_code=entity.country_code,
                igo_code=entity.igo_code, entity_id=entity.entity_id, sector=entity.sector,
                needs_country=titled and entity.country_code is None and entity.igo_code is None,
                via_demonym=mention.label == "NORP",
                is_city=entity.latitude is not None,
            )
        return None

    def _location(self, anchor, trigger_tokens, actors: list[Actor]) -> Location | None:
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
        candidates.extend(t for t in self._clause(anchor) if t.dep_ == "pobj" and t.head.lower_ in LOCATIVE_PREPS)
        for token in candidates:
            mention = self._place_in(token)
            if mention is not None and (mention.entity.entity_id not in actor_ids or any(t.lemma_.lower() == "visit" for t in trigger_tokens)):
                entity = mention.entity
                return Location(name=entity.name, country_code=entity.country_code, geonames_id=entity.geonames_id, entity_id=entity.entity_id)
        return None

    def _clause(self, anchor) -> list:
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

    def _place_in(self, token) -> Mention | None:
        mention = self.by_token.get(token.i)
        if mention is not None and mention.label in PLACE_LABELS:
            return mention
        for child in token.subtree:
            mention = self.by_token.get(child.i)
            if mention is not None and mention.label in PLACE_LABELS:
                return mention
        return None

    def _date(self, anchor, trigger_tokens) -> dates.ResolvedDate | _Undatable | None:
        """The date the event's own DATE phrase resolves to (else another phrase of the sentence);
        `_Undatable` when the phrase attached to the trigger lies outside years 1..9999."""
        date_ents = self.date_ents
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
        deadlines = [e for e in date_ents if e.start > 0 and self.doc[e.start - 1].lower_ in {"by", "until", "before"}]
        undatable = None
        for ent in [e for e in attached if e not in deadlines] + [e for e in date_ents if e not in attached and e not in deadlines]:
            if undatable is not None and ent not in attached:
                break   # the event's own phrase is out of range: another phrase of the sentence is not its date
            own_tense = tense if ent in attached else _tense(_governing_verb(ent.root))
            resolved = dates.resolve(ent.text, self.published, own_tense)
            if resolved is not None:
                if own_tense == dates.PAST and self.published and resolved.date > self.published:
                    continue
                return resolved
            if undatable is None and ent in attached and dates.out_of_range(ent.text, self.published, own_tense):
                undatable = _Undatable(ent.text)
        return undatable


@dataclass(frozen=True)
class _Undatable:
    text: str   # the date phrase, kept as date_text


def _hypothetical(verb) -> bool:
    return any(c.dep_ == "mark" and c.lower_ in {"if", "unless", "whether"} for c in verb.children)


def _lemma_candidates(word: str, noun: bool) -> list[str]:
    if noun:
        return [word, word[:-1]] if word.endswith("s") else [word]
    out = [word]
    for suffix, replacements in (("ied", ("y",)), ("ed", ("e", "")), ("ing", ("e", "")), ("es", ("e", "")), ("s", ("",))):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            out.extend(word[: -len(suffix)] + r for r in replacements)
            break
    return out


def _governing_verb(token):
    steps = 0
    while token.pos_ not in {"VERB", "AUX"} and token.head is not token and steps < 6:
        token = token.head
        steps += 1
    return token


def _rejection(root: str) -> str | None:
    """Negated or refused cooperation is a rejection (12x); negated conflict is no event."""
    return cameo.REJECT_BY_ROOT.get(root, "120") if int(root) <= 8 else None


def _tense(verb) -> str:
    auxes = {c.lower_ for c in verb.children if c.dep_ in {"aux", "auxpass"}}
    if auxes & FUTURE_AUX or verb.tag_ == "VB" and "to" in auxes:
        return dates.FUTURE
    if verb.tag_ in {"VBD", "VBN"} or auxes & {"had", "has", "have", "was", "were", "did"}:
        return dates.PAST
    return dates.UNKNOWN


def event_id(article_id: str, event: Event) -> str:
    key = "|".join(
        str(x) for x in (
            article_id, event.sentence_index, event.trigger_start, event.cameo_code,
            event.actor1.entity_id if event.actor1 else "", event.actor2.entity_id if event.actor2 else "",
        )
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def event_rows(article_id: str, events: list[Event]) -> list[dict]:
    """Warehouse rows for one article's events."""
    rows = []
    for e in events:
        a1, a2, loc = e.actor1, e.actor2, e.location
        rows.append(
            {
                "event_id": event_id(article_id, e), "article_id": article_id, "sentence_index": e.sentence_index,
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
                "actor2_igo_code": a2.igo_code if a2 else None,
                "location_entity_id": loc.entity_id if loc else None, "location_name": loc.name if loc else None,
                "location_country_code": loc.country_code if loc else None,
                "location_geonames_id": loc.geonames_id if loc else None,
                "coder_version": ANNOTATOR_VERSION,
            }
        )
    return rows
