"""The rule layer after spaCy's NER: the gazetteer's names merged with the model's spans, titles cut
off person names, noise and title fragments dropped, types fixed from name heads ("... Association")
and context ("X is a village"), missed names added, one type per name in a document.

spaCy is imported where a span is made: importing the stage does not load it.
"""

from __future__ import annotations

from collections import Counter

from wirehouse.schemas.models import ENTITY_TYPES
from wirehouse.tasks.dictionaries import given_names, single_names
from wirehouse.tasks.nlp_model import phrase_matcher
from wirehouse.tasks.nlp_types import TITLE_WORDS

KEPT_LABELS = frozenset(ENTITY_TYPES)   # the model's labels the warehouse holds; the others are dropped
# A model PERSON (ORG) whose name is a GeoNames place this big is the place: a higher bar for
# people, whose surnames are often town names too.
MIN_RELABEL_POPULATION = {"PERSON": 1_000_000, "ORG": 100_000, "FAC": 100_000}


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
    found = [(doc.vocab.strings[match_id], start, end) for match_id, start, end in phrase_matcher()(doc)]
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


_NOT_PERSON_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "WORK_OF_ART"})
_NAME_LABELS = _NOT_PERSON_LABELS | {"PERSON", "NORP"}


def _gazetteer_place(gaz, text: str, demonyms: bool = True) -> bool:
    """Whether the gazetteer knows the name as a country (or its people's word), a town or a region."""
    return bool(gaz.country(text) or (demonyms and gaz.demonym(text)) or gaz.town(text) or gaz.region(text))


def _single_name_label(token) -> str | None:
    """The type of a one-word coded name (tasks/dictionaries.single_names). Only the model's own
    spans take it: many of these words are common ones too ("Falcon" names an armed group); and an
    organisation's word counts only as an acronym ("ECOWAS", not "Amal")."""
    label = single_names().get(token.text.upper())
    if label == "ORG" and not (token.is_upper and len(token.text) >= 3):
        return None
    return label


def _starts_with_given_name(doc, start: int, end: int, gaz) -> bool:
    """A short capitalised name whose first word is a given name of the coded people
    (tasks/dictionaries.given_names) and which the gazetteer does not know as a place or body."""
    if not 2 <= end - start <= 3:
        return False
    first = doc[start]
    words = [t for t in doc[start:end] if t.is_alpha]
    if len(words) != end - start or not all(t.is_title for t in words):
        return False
    if first.text.upper() not in given_names() or gaz.country(first.text) or gaz.demonym(first.text):
        return False
    text = doc[start:end].text
    return not (gaz.organization(text) or _gazetteer_place(gaz, text, demonyms=False))


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


def fix_entities(doc, gaz) -> list:
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
                place = gaz.town(text)
                if place is not None and place.population >= MIN_RELABEL_POPULATION[label] and not _has_person_context(doc, start):
                    label = "GPE"
        if end - start == 1 and label in _NAME_LABELS and not _gazetteer_place(gaz, text):
            label = _single_name_label(doc[start]) or label   # "Erdogan" is a person, "ECOWAS" a body
        if label in _NOT_PERSON_LABELS and _starts_with_given_name(doc, start, end, gaz):
            label = "PERSON"   # "Jenny Seaton", "Nikita Mikhalkov": the model took them for a firm or a place
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
        elif _starts_with_given_name(doc, i, j, gaz):
            label = "PERSON"
        elif gaz.country(text):
            label = "GPE"
        elif text[:1].isupper():
            place = gaz.town(text)
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
    from spacy.tokens import Span

    surnames = {}
    for span in spans:
        if span.label_ == "PERSON" and len(span) >= 2:
            surnames.setdefault(span[-1].text, span.text)
    result = []
    for span in spans:
        if span.label_ in {"ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "WORK_OF_ART"} and len(span) == 1 and span.text in surnames:
            if not (gaz.organization(span.text) or _gazetteer_place(gaz, span.text)):
                span = Span(doc, span.start, span.end, label="PERSON")
        elif (
            span.label_ == "PERSON" and len(span) == 1 and span.text not in surnames
            and (gaz.town(span.text) or gaz.region(span.text)) is not None and not _has_person_context(doc, span.start)
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
