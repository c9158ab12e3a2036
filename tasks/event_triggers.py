"""The event coder's triggers and mood.

A trigger (a verb, or a nominalisation under a light verb: "held talks", "completed joint
military exercises", "is in talks with") is looked up in the CAMEO lexicon
(tasks/data/cameo_triggers.tsv). Mood then recodes it: "will/promised/offered to" + cooperation
is an intent (03x), "threatened to" or "will" + force a threat (13x), "demanded/urged ... to" a
demand (10x), negated or refused cooperation a rejection (12x).
"""

from __future__ import annotations

from typing import Iterator

from wirehouse.tasks import cameo, dictionaries
from wirehouse.tasks.event_actors import np_actors
from wirehouse.tasks.event_sentence import DEMAND_GOVERNORS, FUTURE_AUX, Sentence

LIGHT_VERBS = frozenset(
    {
        "hold", "have", "conduct", "stage", "carry", "launch", "begin", "start", "continue", "complete",
        "finish", "conclude", "organize", "organise", "make", "take", "pay", "issue", "lodge", "impose",
        "open", "mount", "announce", "resume", "end", "undertake", "perform", "call", "give", "deliver",
        "provide", "offer", "sign", "reach", "join", "attend", "be", "reiterate", "repeat", "renew", "voice",
        "express", "put", "file", "approve",
    }
)
# Verbs that stop what their object names: stopping cooperation reduces relations (CAMEO 16).
# "end" is not one: "ended a two-day visit" completes it.
HALT_VERBS = frozenset({"suspend", "halt", "freeze", "sever", "cut", "cancel", "scrap", "stop", "downgrade", "terminate", "break", "call"})
HALT_PARTICLES = {"break": "off", "call": "off", "cut": "off"}
RELATION_NOUNS = frozenset({"relation", "relations", "tie", "ties", "contact", "contacts"})
# The code of a stopped cooperative event, by its code or root: intent or agreement (03, 057) and
# material cooperation (06) -> reduce relations (160), talks (04) -> halt negotiations (164),
# mediation (045) -> halt mediation (165), diplomatic cooperation (05) -> 161, aid (07) -> 162.
HALTED_CODES = {"045": "165", "03": "160", "04": "164", "05": "161", "057": "160", "06": "160", "07": "162"}
HAPPEN_VERBS = frozenset({"take", "happen", "occur", "begin", "start", "end", "conclude", "continue", "follow", "kill", "wound"})
INTENT_GOVERNORS = frozenset(
    {"promise", "pledge", "vow", "offer", "agree", "commit", "prepare", "plan", "intend", "expect", "hope", "want", "seek", "aim", "ready", "prepared", "committed", "willing"}
)
THREAT_GOVERNORS = frozenset({"threaten", "warn", "swear"})
REJECT_GOVERNORS = frozenset({"refuse", "reject", "decline", "fail", "oppose"})
CCOMP_GOVERNORS = frozenset({"demand", "insist", "threaten", "warn", "promise", "pledge", "vow", "agree"})   # "... that Y do"
GOVERNORS = INTENT_GOVERNORS | THREAT_GOVERNORS | DEMAND_GOVERNORS | REJECT_GOVERNORS
SAY_VERBS = frozenset({"say", "announce", "state", "declare", "tell", "add", "report", "insist", "reiterate", "stress", "conclude"})
DEMAND_AUX = frozenset({"must", "should"})
JOINT_WORDS = frozenset({"joint", "together", "combined", "bilateral", "trilateral"})
MOVEMENT_VERBS = frozenset({"arrive", "deploy", "send", "dispatch", "enter"})
# The verb's dependents whose words a dictionary pattern is matched on (its object, particle,
# prepositional objects, complement): the parse, not the next dozen words, says what goes with it.
PATTERN_DEPS = frozenset({"dobj", "prep", "prt", "xcomp", "attr", "dative", "oprd", "nsubjpass"})
CLAUSE_DEPS = frozenset({"relcl", "acl", "advcl", "ccomp", "parataxis"})
OBJECT_DEPS = frozenset({"dobj", "attr", "dative", "nsubjpass", "oprd", "xcomp"})


def sentence_triggers(s: Sentence) -> Iterator[tuple[str, list, object, object]]:
    """The sentence's coded triggers, in text order, mood applied.

    Returns:
        (CAMEO code, trigger tokens, anchor token, demand target) per trigger; the demand target
        is the verb whose subject is the one a speaker says must act ("Sudan must return"), else None.
    """
    claimed: set[int] = set()   # tokens already used as a trigger (a governed verb, a light verb's noun)
    for token in s.sent:
        if token.i in claimed:
            continue
        demand = _must_demand(s, token)
        if demand is not None:
            claimed.update(demand[3])
            yield demand[0], demand[1], demand[2], token
            continue
        if token.pos_ in {"VERB", "AUX"} and _hypothetical(token):
            continue   # "... if attacked", "unless Baghdad accepts": nothing happened
        if token.pos_ in {"VERB", "AUX"} and _governs_trigger(s, token):
            continue   # "threatened to launch an offensive": coded once, at "launch"
        found = _verb_trigger(s, token) if token.pos_ in {"VERB", "AUX"} else None
        if found is None and token.pos_ in {"VERB", "AUX"} and token.lemma_.lower() in LIGHT_VERBS:
            found = _light_verb_trigger(s, token)
        if found is None and token.pos_ in {"NOUN", "PROPN"}:
            found = _noun_trigger(s, token)
        if found is None:
            continue
        code, trigger_tokens, anchor, used = found
        claimed.update(used)
        coded = _mood(code, anchor, trigger_tokens)
        if coded is None:
            continue
        code, trigger_tokens, anchor, claimed_more, target = coded
        claimed.update(claimed_more)
        yield code, trigger_tokens, anchor, target


def _must_demand(s: Sentence, token):
    """ "Russia said that Sudan must return ...": a demand by the speaker of the one who must act."""
    if token.pos_ not in {"VERB", "AUX"} or token.dep_ != "ccomp" or token.head.lemma_.lower() not in SAY_VERBS | {"conclude"}:
        return None
    if not any(c.dep_ == "aux" and c.lower_ in DEMAND_AUX for c in token.children):
        return None
    coded = _verb_coding(s, token)
    root = cameo.root(coded[0]) if coded else None
    code = cameo.DEMAND_BY_ROOT.get(root, "100") if root and int(root) <= 8 else "100"
    return code, [token.head, token], token.head, {token.i, token.head.i}


def _governs_trigger(s: Sentence, token) -> bool:
    lemma = token.lemma_.lower()
    if lemma not in GOVERNORS:
        return False
    own = _verb_coding(s, token)
    if own is not None and own[2]:
        return False   # a pattern of its own ("threatened sanctions") is more specific
    for child in token.children:
        # "demanded that French troops leave": coded once, at "leave", as the demand (see _mood)
        governed = child.dep_ == "xcomp" or (child.dep_ == "ccomp" and lemma in CCOMP_GOVERNORS) or (
            child.dep_ == "advcl" and any(g.dep_ == "aux" and g.lower_ == "to" for g in child.children)   # see _mood
        )
        if governed and child.pos_ in {"VERB", "AUX"}:
            if _verb_coding(s, child) is not None or (
                child.lemma_.lower() in LIGHT_VERBS and _light_verb_trigger(s, child) is not None
            ):
                return True
    return False


def _match(s: Sentence, token, noun: bool) -> cameo.Trigger | None:
    """The lexicon entry the token triggers: the most specific whose particle and object the parse shows."""
    lexicon = cameo.triggers()
    lemma = token.lemma_.lower()
    entries = lexicon.get((noun, lemma))
    if not entries:
        for candidate in _lemma_candidates(token.lower_, noun):   # the lemmatizer's slips: "staged" -> "stag"
            entries = lexicon.get((noun, candidate))
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
            before = [t.lemma_.lower() for t in s.doc[max(token.i - len(words) + 1, 0) : token.i + 1]]
            if before != words:
                continue
        if entry.particle and entry.particle not in particles and entry.particle.split()[0] not in particles:
            continue
        if entry.object and entry.object not in objects:
            continue
        return entry
    return None


def _dictionary_key(token) -> str | None:
    """The verb's lemma in the PETRARCH2 verb dictionary (the lemmatizer's slips tried too)."""
    key = dictionaries.verb_key(token.lemma_.lower())
    if key is None:
        key = next(filter(None, map(dictionaries.verb_key, _lemma_candidates(token.lower_, False))), None)
    return key


def _verb_coding(s: Sentence, token):
    """(code, trigger tokens, specific) for a verb, or None: the dictionaries first, matched on the parse.

    A verb the dictionary knows is coded by the longest pattern of its block whose words occur in
    the verb's dependents (object, particle, prepositional objects, complement; its subject for the
    words before '*'), else by its own code; a verb it does not know by the hand lexicon.
    `specific` says a pattern (not a bare verb) gave the code.
    """
    cache = s.__dict__.setdefault("_verb_codings", {})
    if token.i not in cache:
        cache[token.i] = _code_verb(s, token)
    return cache[token.i]


def _code_verb(s: Sentence, token):
    key = _dictionary_key(token) if token.pos_ in {"VERB", "AUX"} else None
    if key is None:
        entry = _match(s, token, noun=False)
        return (entry.code, _hand_tokens(token, entry), entry.object is not None) if entry else None
    governor = token.lemma_.lower() in GOVERNORS   # "threatened to impose ...": the governed verb is coded, mood on top
    after, in_prep = [], {}
    for c in token.children:
        if c.dep_ not in PATTERN_DEPS or (governor and c.dep_ == "xcomp"):
            continue
        if c.dep_ == "prep" and any(g.ent_type_ in {"DATE", "TIME"} for g in c.children):
            continue   # "on Monday" is when, not what
        words = _phrase(c)
        after.extend(words)
        if c.dep_ == "prep":
            in_prep.update((t.i, c.i) for t in words if t is not c)
    after.sort(key=lambda t: t.i)
    position = {t.i: n for n, t in enumerate(after)}
    prepositional = {position[i]: position[prep] for i, prep in in_prep.items()}
    match = dictionaries.match_words(key, [t.lower_ for t in after], prepositional=prepositional)
    if match.code == "010" and match.pattern is None:
        return None   # "said", "told": the report of another event (or of nothing), not one of its own
    if match.code is None:
        # the dictionary has nothing here ("signed a deal": no pattern, SIGN alone is no event):
        # the hand lexicon's patterns for what it lacks
        entry = _match(s, token, noun=False)
        return (entry.code, _hand_tokens(token, entry), entry.object is not None) if entry else None
    matched = {after[i].i for i in match.positions}
    tokens = [token]
    for c in token.children:
        if c.dep_ in {"prt", "prep"} and (c.i in matched or any(g.i in matched for g in c.children)):
            tokens.append(c)   # "asked for": the particle carries the partner ("spoke with X")
            tokens.extend(g for g in c.children if g.dep_ == "pobj" and g.i in matched)
        elif c.dep_ in OBJECT_DEPS and (c.i in matched or c.pos_ == "NOUN" and _match(s, c, noun=True)):
            # "expelled two Russian diplomats": whose diplomats is the target; "repelled a Russian
            # attack": the event noun acted on is this event's, not one of its own
            tokens.append(c)
    return match.code, tokens, match.pattern is not None


def _phrase(token) -> list:
    """The token's phrase without the clauses inside it: "a resolution that aims to tighten
    sanctions" is a resolution; "efforts to improve" are efforts (their words are another verb's)."""
    out, stack = [], [token]
    while stack:
        t = stack.pop()
        out.append(t)
        stack.extend(c for c in t.children if c.dep_ not in CLAUSE_DEPS or t is token and token.dep_ == "xcomp")
    return out


def _verb_trigger(s: Sentence, token):
    if token.lower_ == "according" and any(c.lower_ == "to" for c in token.children):
        return None   # "according to officials": who said it, not an accord (ACCORD 060)
    if token.lemma_.lower() in HALT_VERBS:
        halted = _halted(s, token)
        coded = _verb_coding(s, token) if halted is not None else None
        if halted is not None and (coded is None or cameo.root(coded[0]) != "16"):
            return halted   # the dictionary's own 16x ("cut aid": 1621) is more specific
    if token.lemma_.lower() in MOVEMENT_VERBS and any(
        t.lemma_.lower().startswith("peacekeep") for c in token.children if c.dep_ in {"nsubj", "dobj", "nsubjpass"} for t in c.subtree
    ):
        return "074", [token], token, {token.i}   # peacekeepers arrive or are sent: CAMEO 074
    coded = _verb_coding(s, token)
    if coded is None:
        return None   # a light verb's noun is tried next ("held talks"); another's codes itself ("followed drills")
    code, tokens, specific = coded
    if not specific and any(c.dep_ in {"nsubj", "nsubjpass"} and _match(s, c, noun=True) for c in token.children):
        return None   # "threats escalated", "clashes erupted": the noun is the event, the verb its course
    if not specific and cameo.root(code) in {"01", "04"}:
        # "went on strike": a verb of saying or going says less than its event noun ("hosted talks"
        # stays 043; "blamed for the shelling" and "called for a ceasefire" keep their verb's code)
        nominal = _nominal_object(s, token)
        if nominal is not None and cameo.root(nominal[0]) != cameo.root(code):
            return nominal
    return code, tokens, token, {t.i for t in tokens}


def _halted(s: Sentence, token):
    """ "suspended cooperation with France", "broke off relations", "talks were halted": cooperation
    stopped is a reduction of relations (16x), not the cooperation; None when the object is no
    cooperative event."""
    lemma = token.lemma_.lower()
    particle = HALT_PARTICLES.get(lemma)
    if particle and not any(c.dep_ == "prt" and c.lower_ == particle for c in token.children):
        return None   # "broke the record", "called the minister"
    for child in token.children:
        if child.dep_ not in {"dobj", "nsubjpass"}:
            continue
        if child.lemma_.lower() in RELATION_NOUNS:
            return "161", [token, child], token, {token.i, child.i}
        entry = _match(s, child, noun=True)
        code = entry and (HALTED_CODES.get(entry.code) or HALTED_CODES.get(cameo.root(entry.code)))
        if code:
            return code, [token, child], token, {token.i, child.i}
    return None


def _hand_tokens(token, entry: cameo.Trigger) -> list:
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
    return tokens


def _nominal_object(s: Sentence, token):
    """An event noun as the verb's object or prepositional object, coded as under a light verb."""
    for child in token.children:
        nouns = [child] if child.dep_ in {"dobj", "attr", "oprd"} else [
            g for g in child.children if g.dep_ == "pobj"
        ] if child.dep_ == "prep" and not any(g.ent_type_ in {"DATE", "TIME"} for g in child.children) else []
        found = _event_noun(s, token, child, nouns)
        if found is not None:
            return found
    return None


def _event_noun(s: Sentence, verb, child, nouns):
    """The first of the nouns in the hand lexicon, coded as the verb's event (verb, child and noun its trigger)."""
    for noun in nouns:
        entry = _match(s, noun, noun=True)
        if entry is not None:
            tokens = [verb, child, noun] if child is not noun else [verb, noun]
            return _noun_code(s, entry, noun), tokens, verb, {t.i for t in tokens}
    return None


def _light_verb_trigger(s: Sentence, token):
    for child in token.children:
        targets = [child]
        if child.dep_ == "prep":   # "is in talks with", "took part in drills"
            if child.lower_ not in {"in", "into", "under"}:   # "is in talks", "put under investigation"
                continue
            targets = [g for g in child.children if g.dep_ == "pobj"]
        elif child.dep_ not in {"dobj", "attr", "nsubjpass", "oprd"}:
            continue
        targets = targets + [g for t in targets for p in t.children if p.dep_ == "prep" and p.lower_ == "of" for g in p.children if g.dep_ == "pobj"]
        found = _event_noun(s, token, child, targets)
        if found is not None:
            return found
    return None


def _noun_trigger(s: Sentence, token):
    # A nominalisation as subject of "take place"/"began", or standing alone with an actor
    # inside its phrase ("Russian-Uzbek drills held near ...", "talks between X and Y").
    entry = _match(s, token, noun=True)
    if entry is None:
        return None
    head = token.head
    if token.dep_ in {"nsubj", "nsubjpass"} and head.lemma_.lower() in HAPPEN_VERBS:
        # "a roadside bomb killed three soldiers": the verb's object is who it struck
        tokens = [token, head] if any(c.dep_ == "dobj" for c in head.children) else [token]
        return _noun_code(s, entry, token), tokens, token, {t.i for t in tokens}
    if token.dep_ in {"dobj", "pobj", "attr", "nsubjpass"} and head.lemma_.lower() in LIGHT_VERBS:
        return None   # the light verb codes it, with the verb's subject as actor ("talks were held": once)
    if any(np_actors(s, token, include_self=False)):
        return _noun_code(s, entry, token), [token], token, {token.i}
    return None


def _noun_code(s: Sentence, entry: cameo.Trigger, noun) -> str:
    if entry.code in {"062", "150"}:   # exercises and drills: together with others = cooperation
        modifiers = {c.lower_ for c in noun.children} | {c.lower_ for c in noun.head.children}
        joint = bool(modifiers & JOINT_WORDS) or any(c.dep_ == "prep" and c.lower_ == "with" for c in noun.children)
        joint = joint or len(np_actors(s, noun, include_self=False)) >= 2   # "Russian-Uzbek drills"
        return "062" if joint else "150"
    return entry.code


# ---- mood -------------------------------------------------------------------------------
def _mood(code: str, anchor, trigger_tokens):
    """Recode for intent, threat, demand and rejection; returns None when negated conflict."""
    root = cameo.root(code)
    claimed: set[int] = set()
    children = list(anchor.children)
    negated = any(c.dep_ == "neg" for c in children)
    auxes = {c.lower_ for c in children if c.dep_ in {"aux", "auxpass"}}
    governor = anchor.head if anchor.dep_ in {"xcomp", "ccomp"} and anchor.head is not anchor else None
    if anchor.dep_ == "advcl" and anchor.head.lemma_.lower() in GOVERNORS and any(c.dep_ == "aux" and c.lower_ == "to" for c in children):
        governor = anchor.head   # "have sworn to fight", parsed as a purpose clause: still governed
    gov_lemma = governor.lemma_.lower() if governor is not None else ""
    if anchor.dep_ == "ccomp" and gov_lemma not in CCOMP_GOVERNORS:
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
        # "demanded that French troops leave": the one who must act is the target
        target = anchor if gov_lemma in DEMAND_GOVERNORS | {"demand"} and anchor.dep_ == "ccomp" and any(
            c.dep_ in {"nsubj", "nsubjpass"} for c in anchor.children) else None
        anchor = governor
        return (code, trigger_tokens, anchor, claimed, target) if code else None
    if negated:
        code = _rejection(root)
        return (code, trigger_tokens, anchor, claimed, None) if code else None
    if auxes & FUTURE_AUX:
        if int(root) <= 8 and root not in {"01", "03"}:
            code = cameo.INTENT_BY_ROOT.get(root, "030")
        elif int(root) >= 16 or root in {"12", "14"}:
            code = cameo.threat_code(code)
    return code, trigger_tokens, anchor, claimed, None


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


def _rejection(root: str) -> str | None:
    """Negated or refused cooperation is a rejection (12x); negated conflict is no event."""
    return cameo.REJECT_BY_ROOT.get(root, "120") if int(root) <= 8 else None
