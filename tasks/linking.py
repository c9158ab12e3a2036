"""Entity linking: each span the rule layer keeps becomes an `Entity`: a country (ISO 3166
alpha-3), a GeoNames place with coordinates, an organisation (with its IGO code), or a person
with the office, sector and country or IGO the text names with them."""

from __future__ import annotations

from dataclasses import asdict

from wirehouse.tasks.nlp_rules import fix_entities
from wirehouse.tasks.nlp_types import TITLE_HEADS, TITLE_SECTORS, TITLE_WORDS, DocIndex, Entity, Mention, entity_id, entity_name


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
    spans = fix_entities(doc, gaz)
    document_countries = set()
    place_names = []
    for span in spans:
        code = gaz.country(span.text) or gaz.demonym(span.text)
        if code:
            if gaz.region(span.text) is None:   # "Georgia" may be the US state: evidence for neither
                document_countries.add(code)
        elif span.label_ in {"GPE", "LOC", "FAC"}:
            place_names.append(entity_name(span.text))
    # Where the document is: the countries it names and the countries and regions its places could lie in.
    context = gaz.context(place_names, document_countries)
    persons = _person_names(spans)
    sentence_bounds = [(s.start, s.end, s.start_char, s.end_char) for s in index.sents]
    mentions = []
    linked: dict[str, Entity] = {}
    sentence = 0
    for span in spans:
        while sentence + 1 < len(sentence_bounds) and sentence_bounds[sentence + 1][0] <= span.start:
            sentence += 1
        entity = _link(span, gaz, context, persons, index)
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


def _link(span, gaz, context, persons: dict[str, str], index: DocIndex | None = None) -> Entity | None:
    text = entity_name(span.text)
    if not text or not any(ch.isalpha() for ch in text):
        return None
    label = span.label_
    if label in {"GPE", "LOC", "NORP", "FAC"}:
        iso3 = gaz.country(text) or (gaz.demonym(text) if label in {"NORP", "GPE"} else None)
        if iso3 is None and "-" in text and label == "NORP":
            iso3 = gaz.demonym(text.split("-")[0])   # "Russian-Uzbek drills": the first named
        namesake = gaz.namesake_of_country(text, iso3, context) if iso3 and label in {"GPE", "LOC"} else None
        if namesake is not None:
            return _place_entity(namesake, label)
        if iso3:
            country = gaz.countries.get(iso3)
            name = country.name if country else text
            return Entity(
                entity_id=entity_id(iso3, "country"), name=name, type="GPE", country_code=iso3,
                geonames_id=country.geonames_id if country else None,
            )
        if label in {"GPE", "LOC", "FAC"}:
            place = gaz.place(text, context=context)
            if place is not None:
                return _place_entity(place, label)
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


def _place_entity(place, label: str) -> Entity:
    # A region GeoNames ids are not known for is keyed by its country, admin-1 code and name.
    key = str(place.geonames_id) if place.geonames_id is not None else f"{place.country_code}.{place.admin1}.{place.name}"
    return Entity(
        entity_id=entity_id(key, "geonames" if place.geonames_id is not None else "region"), name=place.name,
        type=label if label != "FAC" else "GPE", country_code=place.country_code, geonames_id=place.geonames_id,
        latitude=place.latitude, longitude=place.longitude,
    )


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
    heads = [t for t in doc[start:end] if t.lower_ in TITLE_HEADS]
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
