"""The event coder's actors: who did it and to whom, from the parse.

The subject (or the "by" agent of a passive) is actor 1; objects and with/to/against/between
phrases give actor 2; "Hungarian officials", "Russia's envoy" and "troops from Tajikistan" resolve
to the entity inside the noun phrase; generic agents ("rebels") and titled people take the
sentence's country.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from wirehouse.tasks import cameo, dictionaries
from wirehouse.tasks import gazetteer as gazetteer_module
from wirehouse.tasks.event_sentence import (
    CLAUSE_DEPS, DEMAND_GOVERNORS, LOCATIVE_PREPS, PLACE_LABELS, TOPIC_OBJECT_VERBS, Sentence,
)
from wirehouse.tasks.nlp_types import TITLE_WORDS, Mention, entity_id, entity_name

TARGET_PREPS = frozenset({"with", "to", "against", "toward", "towards", "on", "into", "upon", "over", "at", "from", "for"})
PRONOUNS = frozenset({"it", "they", "he", "she", "we", "its", "their", "his", "her"})
NP_DEPS = frozenset({"compound", "amod", "poss", "nmod", "appos", "prep", "pobj", "conj", "cc"})
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
# Nouns for a group of states: "Western countries", "the former Soviet republics", "its Central Asian
# allies" name no one state, so the nationality or possessor in front is not the actor.
STATE_GROUP_NOUNS = frozenset({
    "country", "state", "nation", "republic", "power", "neighbour", "neighbor", "ally", "partner", "member",
    "capital", "government", "regime", "economy", "democracy",
})
COMPOUND_DASHES = ("-", "–", "—")   # "Russian-Uzbek drills", "US–Japan talks"
# PETRARCH sectors in the coder's words (TITLE_SECTORS' "GOV/MIL"); other CAMEO sectors keep their
# first three letters ("GOVDEV" -> GOV, "REBMUS" -> REB, "ELI", "MED" as written).
PETRARCH_SECTORS = {"GOVMIL": "GOV/MIL", "MILGOV": "GOV/MIL", "GOVLEG": "LEG", "GOVJUD": "JUD"}
# Non-state organisations the gazetteer keeps as sectors, with no country and no IGO code.
ORGANISATION_SECTORS = {"NGO": "NGO", "IMG": "REB", "MNC": "BUS"}
# CAMEO regions: "IGOCAS" is some Central Asian body, not the one the gazetteer happens to share it with
CAMEO_REGIONS = frozenset({
    "AFR", "ASA", "BLK", "CAF", "CAS", "CAU", "CFR", "CRB", "EAF", "EEU", "EIN", "EUR", "LAM", "MEA",
    "MDS", "NAF", "NAM", "PGS", "SAF", "SAM", "SAS", "SCN", "SEA", "WAF", "WST",
})


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
    compound: bool = False        # one side of "Russian-Uzbek": the other side is the partner
    from_place: bool = False      # the country of a city named as actor ("visited Ashgabat")
    geonames_id: int | None = None
    implied: bool = False         # not named: the country where it happened, or the actor's own

    def code(self) -> str | None:
        """The actor's code for dyads: ISO alpha-3, or 'IGO' for an intergovernmental body."""
        if self.igo_code:
            return "IGO"
        return self.country_code

    def as_json(self) -> dict:
        return {
            "text": self.text, "name": self.name, "country_code": self.country_code, "igo_code": self.igo_code,
            "sector": self.sector, "implied": self.implied,
        }


def petrarch_sector(code: str | None) -> str | None:
    """A PETRARCH agent or actor sector ("GOVMIL", "COP", "GOVDEV") in the coder's sectors."""
    if not code:
        return None
    return PETRARCH_SECTORS.get(code[:6]) or code[:3]


@lru_cache(maxsize=1)
def _igo_codes() -> dict[str, str]:
    """PETRARCH IGO code -> the gazetteer's IGO code ("IGOWSTNAT" -> "NATO"), from the names both know."""
    table: dict[str, str] = {}
    for name, org in gazetteer_module.load().organizations.items():
        code = dictionaries.actor_code(name) if org.igo_code else None
        if code and code.startswith("IGO") and len(code) > 3 and not (len(code) == 6 and code[3:] in CAMEO_REGIONS):
            table.setdefault(code, org.igo_code)
    return table


def igo_code(code: str) -> str:
    """The project's IGO code for a PETRARCH one: the gazetteer's for the same body, else that of
    the nearest body above it ("IGOUNOKID", UNICEF, is a UN body: UNO), else the code after IGO."""
    table = _igo_codes()
    for size in range(len(code), 5, -3):
        if code[:size] in table:
            return table[code[:size]]
    return code[3:13] if len(code) > 4 else "IGO"


def know_actors(mentions: list[Mention], published) -> None:
    """Persons and organisations the text gives no country, IGO or sector get them from the
    PETRARCH2 actor dictionary, as on the article's date (else the undated entry): "Erdogan" is
    TUR. What the text says (a title, the gazetteer's organisations) wins; the entity is shared by
    the article's mentions, so "Putin" after "Vladimir Putin" is the same actor."""
    gaz = gazetteer_module.load()
    texts: dict[int, tuple] = {}
    for mention in mentions:
        if mention.label == "NORP":
            _nationality_led(mention.entity, gaz)
        if mention.label in {"PERSON", "ORG"} and mention.entity.type in {"PERSON", "ORG"}:
            texts.setdefault(id(mention.entity), (mention.entity, []))[1].append(mention.text)
    for entity, surfaces in texts.values():
        if entity.igo_code or (entity.country_code and entity.sector):
            continue
        code = None
        for name in dict.fromkeys([entity.name, *(entity_name(t) for t in surfaces)]):
            if entity.type == "ORG" and " " not in name and dictionaries.agent(name):
                continue   # "the Senate" is any country's (the dictionary's SENATE is the US one)
            code = dictionaries.actor_code(name, published)
            if code:
                break
        if not code:
            _nationality_led(entity, gaz)
            if entity.type == "ORG" and entity.country_code and entity.sector is None:
                # "Philippine Senate", "Afghan Interior Ministry": the country word's, in the agent's sector
                entity.sector = petrarch_sector(dictionaries.agent(entity.name))
            continue
        if code.startswith("IGO"):
            if entity.country_code is None:
                entity.igo_code = igo_code(code)
                entity.sector = entity.sector or "IGO"
        elif code[:3] in ORGANISATION_SECTORS:
            entity.sector = entity.sector or ORGANISATION_SECTORS[code[:3]]
        elif code[:3] in gaz.countries:   # not a region ("AFR") nor a bare sector ("ELI" alone)
            if entity.country_code is None:
                entity.country_code = code[:3]
            if entity.sector is None and entity.country_code == code[:3]:
                entity.sector = petrarch_sector(code[3:])


def _nationality_led(entity, gaz) -> None:
    """ "Bosnian Serbs", "Sudanese People's Liberation Army": a name led by a nationality word, and
    known to no dictionary, is of that nationality's country."""
    words = entity.name.split()
    if entity.country_code is None and entity.igo_code is None and len(words) > 1 and gaz.demonym(words[0]):
        entity.country_code = gaz.demonym(words[0])


def roles(s: Sentence, anchor, trigger_tokens, code: str) -> tuple[list, list]:
    """The tokens that name actor 1 and actor 2 of a trigger coded `code`."""
    trigger_ids = {t.i for t in trigger_tokens}
    actor1 = subjects(anchor)
    passive = [c for c in anchor.children if c.dep_ == "nsubjpass"]
    actor2 = []
    if passive:
        actor1 = [g for c in anchor.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
        actor2 = passive
    noun_triggers = [t for t in trigger_tokens if t.pos_ in {"NOUN", "PROPN"}]
    for noun in noun_triggers:   # "a Taliban delegation's visit", "Russian-Uzbek drills"
        # the object of the trigger's verb ("rejected calls by Belarus", "hacked the computers of
        # Korean officers"): whose it is, is the target
        verb_object = noun.dep_ in {"dobj", "pobj"} and (noun.head.i in trigger_ids or noun.head.head.i in trigger_ids)
        inner = [c for c in noun.children if c.dep_ in {"compound", "amod", "poss", "nmod"} and c.i not in trigger_ids]
        inner += [g for c in inner for g in c.children if g.dep_ in {"amod", "compound"} and g.i in s.by_token]
        if inner and not actor1:
            actor1 = inner
        elif inner:   # "expelled two Russian diplomats": whose diplomats is the target
            actor2.extend(t for t in inner if t.i in s.by_token)
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
            elif prep.lower_ in {"by", "of"} and objects and verb_object:
                actor2.extend(objects)
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


def subjects(verb) -> list:
    """The subjects of a verb (or the "by" agents of a passive), looked for up its clause chain."""
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
        elif verb.dep_ == "relcl" and verb.head is not verb:
            return [verb.head]
        elif verb.dep_ == "acl" and verb.tag_ == "VBG" and verb.head.dep_ == "dobj" and verb.head.head is not verb.head:
            verb = verb.head.head   # "issued a statement condemning": whoever issued it condemns (not
            # "a proposal by X to reopen": an infinitive's doer is the noun's)
        elif verb.dep_ == "acl":
            return []
        else:
            break
    return []


def resolve_actors(s: Sentence, tokens) -> list[Actor]:
    """The actors the tokens (and their conjuncts) stand for: entities, else generic agents; no repeats."""
    actors: list[Actor] = []
    seen: set[str] = set()
    at: dict[int, Actor] = {}   # token index -> the actor it named first
    for token in tokens:
        for head in [token, *token.conjuncts]:
            found = np_actors(s, head, include_self=True)
            if found and head.i not in s.by_token:
                found = _with_agent_sector(s, head, found)
            if not found:
                agent = _agent(s, head)
                found = [agent] if agent else []
            for actor in found:
                key = actor.entity_id or actor.text
                if key not in seen:
                    seen.add(key)
                    actors.append(actor)
                    at.setdefault(head.i, actor)
    for i, first in at.items():   # "Israeli-Lebanese threats" parsed as two words: one compound, in order
        second = at.get(i + 2)
        if second is not None and s.doc[i + 1].text in COMPOUND_DASHES:
            first.compound = second.compound = True
            a, b = actors.index(first), actors.index(second)
            if a > b:
                actors[a], actors[b] = second, first
    return actors


def _with_agent_sector(s: Sentence, head, found: list[Actor]) -> list[Actor]:
    """ "Afghan police", "police in Kabul", "Hungarian officials": the country named in an agent's
    phrase is the actor's country, the agent its sector (a person or organisation keeps its own)."""
    sector = agent_sector(s, head)
    if sector is None or head.lower_ in PRONOUNS:
        return found
    return [
        replace(a, sector=sector) if a.sector is None and a.igo_code is None and a.country_code
        and (a.is_city or a.entity_id == entity_id(a.country_code, "country") or a.entity_id is None) else a
        for a in found
    ]


def _agent(s: Sentence, head) -> Actor | None:
    if head.lemma_.lower() in QUANTITY_NOUNS:   # "thousands of students", "a group of rebels"
        of = [g for c in head.children if c.dep_ == "prep" and c.lower_ == "of" for g in c.children if g.dep_ == "pobj"]
        if of:
            return _agent(s, of[0])
    if head.pos_ not in {"NOUN", "PROPN"} or head.ent_type_ in NON_ACTOR_TYPES - {"NORP"}:
        return None
    left = min((t.i for t in head.subtree if t.dep_ in {"amod", "compound", "det", "nummod"} and t.head == head), default=head.i)
    sector = agent_sector(s, head, left)
    if sector is None:
        return None
    return Actor(text=s.doc[left : head.i + 1].text, name=None, country_code=None, igo_code=None,
                 entity_id=None, sector=sector, needs_country=True)


def agent_sector(s: Sentence, head, left: int | None = None) -> str | None:
    """The sector of a generic agent noun: the coder's own list, else the PETRARCH agents
    dictionary on the phrase up to the head ("security forces", "army reservists")."""
    sector = AGENT_SECTORS.get(head.lemma_.lower())
    # the dictionary for groups of people only ("army reservists", "dissidents"): its singular
    # entries read things and places as agents ("publication" MED, "a village" CVL)
    if sector is not None or head.tag_ not in {"NNS", "NNPS"} or head.lemma_.lower() in TARGET_PLACES:
        return sector
    if left is None:
        left = min((t.i for t in head.subtree if t.dep_ in {"amod", "compound"} and t.head == head), default=head.i)
    words = [t.text for t in s.doc[left : head.i + 1] if t.i not in s.by_token]   # not "Afghan" of "Afghan police"
    return petrarch_sector(dictionaries.agent(" ".join(words))) if words else None


def fill_countries(s: Sentence, actors1: list[Actor], actors2: list[Actor]) -> None:
    """Give agents and titled people without a country the sentence's country (Petrarch's habit):
    the first country named that is not the other side's, else, for a target, the actor's own
    ("Sudan's government lifted the curfew imposed on its people")."""
    countries = s.countries()
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


def np_actors(s: Sentence, head, include_self: bool, _seen: frozenset = frozenset()) -> list[Actor]:
    """The entities a noun phrase stands for.

    The head's own entity; else, when the phrase lists people ("envoy X, minister Y and
    envoy Z"), each person; else the nearest entity inside the phrase and its conjuncts
    ("troops from Tajikistan and Uzbekistan", "Hungarian and Romanian officials").
    """
    if head.i in _seen:
        return []   # "their leaders said their ...": a pronoun whose antecedent holds it again
    _seen = _seen | {head.i}
    if include_self and head.lower_ in PRONOUNS:
        antecedent = _antecedent(head)
        return np_actors(s, antecedent, True, _seen) if antecedent is not None else []
    if include_self and head.i in s.by_token:
        if s.by_token[head.i].label == "NORP":
            # "Bosnian Croats", "Iraqi Kurds": the nationality before a people is where they are
            where = [c for c in head.children if c.dep_ in {"amod", "compound"} and c.i in s.by_token and c.i == head.i - 1]
            local = [a for c in where for a in _actors(s, s.by_token[c.i]) if a.country_code]
            if len(local) == 1:
                return local
        own = _actors(s, s.by_token[head.i])
        if own and not (head.conjuncts and _persons_in(s, head)):
            return _qualified(s, head, own)
    persons = _persons_in(s, head)
    if persons:
        after = head.right_edge.i + 1   # "... Zamir Kabulov, and Turkmen Deputy Foreign Minister Vepa Hajiev"
        if after < s.sent.end and s.doc[after].text in {",", "and"}:
            known = {p.entity_id for p in persons}
            persons += [p for p in _people_from(s, after) if p.entity_id not in known]
        return persons
    appositive = _appositive_people(s, head)
    if appositive:   # "Russia's special envoy on Afghanistan, Zamir Kabulov,"
        return appositive
    found: list[Actor] = []
    frontier = [c for c in head.children if c.dep_ in NP_DEPS]
    if head.tag_ in {"NNS", "NNPS"} and head.lemma_.lower() in STATE_GROUP_NOUNS:
        # "Western countries", "the former Soviet republics", "its Balkan neighbours", "the states in
        # the region": a group of states is none of them; an organisation still is ("NATO allies",
        # "the members of the EU")
        frontier = [
            c for c in frontier
            if (c.dep_ == "prep" and c.lower_ == "of") or (c.i in s.by_token and s.by_token[c.i].label == "ORG")
        ]
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
                antecedent = _antecedent(token)
                if antecedent is not None:
                    found.extend(a for a in np_actors(s, antecedent, True, _seen) if all(a.entity_id != f.entity_id for f in found))
                continue
            mention = s.by_token.get(token.i)
            if mention is not None:
                # conjuncts ("Tajikistan and Uzbekistan") and hyphen pairs ("Russian-Uzbek")
                joined = [c for c in token.children if c.dep_ in {"amod", "compound"} and c.i in s.by_token]
                dashed = {o.i for o in joined if abs(o.i - token.i) == 2 and s.doc[(o.i + token.i) // 2].text in COMPOUND_DASHES}
                others = [token, *token.conjuncts, *joined]
                if dashed:
                    others.sort(key=lambda t: t.i)   # "Israeli-Lebanese": the sides in the written order
                for other in others:
                    other_mention = s.by_token.get(other.i)
                    for actor in _actors(s, other_mention) if other_mention else []:
                        actor.compound = actor.compound or (bool(dashed) and (other.i in dashed or other is token))
                        if all(actor.entity_id != f.entity_id or actor.entity_id is None and actor.text != f.text for f in found):
                            found.append(actor)
                continue
            next_frontier.extend(c for c in token.children if c.dep_ in NP_DEPS)
        if found:
            break
        frontier = next_frontier
        depth += 1
    return found


def _qualified(s: Sentence, head, own: list[Actor]) -> list[Actor]:
    """ "The Ivory Coast's Supreme Court", "Kenyan Parliament": a body the dictionaries give no
    country is of the country that qualifies it, in the sector its name says (JUD, LEG ...)."""
    if any(a.code() for a in own):
        return own
    mention = s.by_token[head.i]
    countries = {
        a.country_code for c in head.children if c.dep_ in {"poss", "compound", "amod", "nmod"}
        and c.i in s.by_token and s.by_token[c.i] is not mention
        for a in _actors(s, s.by_token[c.i]) if a.country_code and not a.igo_code
    }
    if len(countries) != 1:
        return own
    (country,) = countries
    return [
        replace(a, country_code=country, sector=a.sector or petrarch_sector(dictionaries.agent(a.text)))
        if a.country_code is None and a.igo_code is None else a
        for a in own
    ]


def _appositive_people(s: Sentence, head) -> list[Actor]:
    """ "Russia's special envoy on Afghanistan, Zamir Kabulov, and Turkmen Deputy Foreign Minister
    Vepa Hajiev": the people a title phrase introduces, the rest of the list included."""
    if head.lemma_.lower() not in AGENT_SECTORS and head.lower_ not in TITLE_NOUNS:
        return []
    after = head.right_edge.i + 1
    if after < s.sent.end and s.doc[after].lower_ in {"on", "to", "for", "in"}:
        after += 1   # "envoy on Afghanistan, X": skip the envoy's brief
        while after < s.sent.end and s.doc[after].pos_ == "PROPN":
            after += 1
    if not (after + 1 < s.sent.end and s.doc[after].text == ","):
        return []
    return _people_from(s, after + 1)


def _people_from(s: Sentence, i: int) -> list[Actor]:
    """People listed from token i on: titles, nationalities, commas and 'and' between names."""
    people = []
    while i < s.sent.end:
        token = s.doc[i]
        mention = s.by_token.get(i)
        if mention is not None and mention.label == "PERSON" and mention.token_start == i:
            actor = _actor(mention)
            if actor is not None:
                people.append(actor)
            i = mention.token_end
        elif token.text in {",", "and", "the"} or token.lower_ in TITLE_WORDS or (mention is not None and mention.label in {"NORP", "GPE"}):
            i += 1
        else:
            break
    return people


def _persons_in(s: Sentence, head) -> list[Actor]:
    """Every person named in a noun phrase (its clauses and locative phrases left out)."""
    stack, persons, seen = [head], [], set()
    while stack:
        token = stack.pop()
        mention = s.by_token.get(token.i)
        if mention is not None and mention.label == "PERSON" and mention.entity.entity_id not in seen:
            seen.add(mention.entity.entity_id)
            persons.append((token.i, _actor(mention)))
        for child in token.children:
            if child.dep_ in CLAUSE_DEPS or (child.dep_ == "prep" and child.lower_ in LOCATIVE_PREPS):
                continue
            stack.append(child)
    return [actor for _, actor in sorted(persons, key=lambda p: p[0]) if actor is not None]


def _antecedent(pronoun):
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


def _actors(s: Sentence, mention: Mention) -> list[Actor]:
    """The actors a mention names: one, or both sides of a two-country compound."""
    if mention.label in {"NORP", "GPE"} and any(d in mention.text for d in COMPOUND_DASHES):
        sides = _compound_sides(s, mention.text)
        if len(sides) >= 2:
            return sides
    actor = _actor(mention)
    return [actor] if actor is not None else []


def _compound_sides(s: Sentence, text: str) -> list[Actor]:
    """ "Russian-Uzbek drills", "US-Japan talks": each side of the dash, when every side is a country."""
    gaz = gazetteer_module.load()
    parts = text.replace("–", "-").replace("—", "-").split("-")
    sides, codes = [], set()
    for part in parts:
        iso3 = gaz.country(part) or gaz.demonym(part)
        if iso3 is None or iso3 in codes:
            return []
        codes.add(iso3)
        sides.append(country_actor(s, iso3, part, via_demonym=gaz.country(part) is None, compound=True))
    return sides


def country_entity_id(s: Sentence, iso3: str) -> str | None:
    """The id of the country's entity when the article names it; else none (no row to point to)."""
    key = entity_id(iso3, "country")
    return key if key in s.entity_ids else None


def as_country(s: Sentence, actor: Actor) -> Actor:
    """A city named as an actor stands for its country: "visited Ashgabat" is a visit to
    Turkmenistan (the city is the event's place), "Moscow is in talks" is Russia in talks."""
    if not actor.is_city or not actor.country_code:
        return actor
    return country_actor(s, actor.country_code, actor.text, sector=actor.sector, from_place=True)


def country_actor(s: Sentence, iso3: str, text: str | None, **flags) -> Actor:
    """A country as an actor, named as the gazetteer names it, pointing at its entity when the
    article names it: a city's country, or a target implied (`flags` set the Actor's flags)."""
    country = gazetteer_module.load().countries.get(iso3)
    return Actor(text=text, name=country.name if country else iso3, country_code=iso3, igo_code=None,
                 entity_id=country_entity_id(s, iso3), **flags)


def _actor(mention: Mention) -> Actor | None:
    entity = mention.entity
    if mention.label in {"GPE", "LOC", "NORP"} and entity.country_code is None and entity.igo_code is None:
        return None   # a region ("Central Asia") or a regional adjective ("Western", "Balkan"): no state
    if mention.label in PLACE_LABELS | {"NORP", "ORG", "PERSON"}:
        titled = mention.label == "PERSON" and entity.role is not None
        return Actor(
            text=mention.text, name=entity.name, country_code=entity.country_code,
            igo_code=entity.igo_code, entity_id=entity.entity_id, sector=entity.sector,
            needs_country=titled and entity.country_code is None and entity.igo_code is None,
            via_demonym=mention.label == "NORP",
            is_city=entity.latitude is not None, geonames_id=entity.geonames_id,
        )
    return None
