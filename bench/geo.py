"""Geoparsing against LGL (local news with GeoNames gold): recall and accuracy within 161 km, per half.

Usage: python bench/geo.py ../shared/benchmarks/lgl-geo [--limit N]

Each article's text goes through the annotation stage (`annotate_docs`, publication date from
`dltime`). A gold toponym (one with a gaztag) is recalled when a geographic entity (type GPE or LOC,
or any entity with a country code or a GeoNames id) overlaps its span; of those overlapping, the one
with the longest overlap is judged. It is resolved when that entity's GeoNames id is the gold id, or
its coordinates lie within 161 km of the gold's, or the gold is a country (feature code PCL*) and the
entity has that country's code. "Below country level" is every gold toponym that is neither a
country nor a continent. Figures are printed for the tuning half and the check half
(`bench/halves.py`, keyed by the article's URL, else its title), and for both together.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from halves import split   # bench/ is on sys.path: the script's own folder

KM = 161.0


@dataclass
class Gold:
    start: int
    end: int
    phrase: str
    geonames_id: int
    fcode: str
    lat: float
    lon: float
    country_id: int | None

    @property
    def is_country(self) -> bool:
        return self.fcode.startswith("PCL")

    @property
    def below_country(self) -> bool:
        return not self.is_country and self.fcode != "CONT"


def read_lgl(path: Path) -> list[dict]:
    articles = []
    for node in ET.parse(path).getroot().iter("article"):
        golds = []
        for top in node.iter("toponym"):
            tag = top.find("gaztag")
            if tag is None or not tag.findtext("lat"):
                continue
            country = tag.find("country")
            golds.append(
                Gold(
                    start=int(top.findtext("start")), end=int(top.findtext("end")), phrase=top.findtext("phrase") or "",
                    geonames_id=int(tag.get("geonameid")), fcode=tag.findtext("fcode") or "",
                    lat=float(tag.findtext("lat")), lon=float(tag.findtext("lon")),
                    country_id=int(country.get("geonameid")) if country is not None and country.get("geonameid") else None,
                )
            )
        dltime = (node.findtext("dltime") or "")[:10]
        articles.append(
            {
                "url": node.findtext("url") or "", "title": node.findtext("title") or "", "text": node.findtext("text") or "",
                "published": date.fromisoformat(dltime) if dltime else None, "gold": golds,
            }
        )
    return articles


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def judge(gold: Gold, mentions, country_ids: dict[str, int]) -> tuple[bool, bool]:
    """(recalled, resolved) for one gold toponym against the article's mentions."""
    best, overlap = None, 0
    for m in mentions:
        e = m.entity
        if not (e.type in {"GPE", "LOC"} or e.country_code or e.geonames_id):
            continue
        size = min(m.end, gold.end) - max(m.start, gold.start)
        if size > overlap:
            best, overlap = e, size
    if best is None:
        return False, False
    if best.geonames_id == gold.geonames_id:
        return True, True
    if best.latitude is not None and best.longitude is not None and km(best.latitude, best.longitude, gold.lat, gold.lon) <= KM:
        return True, True
    if gold.is_country and best.country_code and country_ids.get(best.country_code) == gold.geonames_id:
        return True, True
    return True, False


def figures(articles: list[dict], results: dict[int, list], country_ids: dict[str, int]) -> dict[str, Counter]:
    counts = {"all": Counter(), "below": Counter()}
    for article in articles:
        for gold in article["gold"]:
            recalled, resolved = judge(gold, results[id(article)], country_ids)
            for scope in ("all", "below") if gold.below_country else ("all",):
                counts[scope]["gold"] += 1
                counts[scope]["recalled"] += recalled
                counts[scope]["resolved"] += resolved
    return counts


def line(name: str, c: Counter) -> str:
    gold, rec, res = c["gold"], c["recalled"], c["resolved"]
    return (
        f"  {name:<6} gold {gold:5d}  recall {rec / max(gold, 1):.3f}  within 161 km of recalled {res / max(rec, 1):.3f}"
        f"  end-to-end {res / max(gold, 1):.3f}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--misses", type=int, default=0, help="print up to N wrongly resolved toponyms of the tuning half")
    args = parser.parse_args(argv)
    from wirehouse.tasks import gazetteer
    from wirehouse.tasks.annotate import annotate_docs

    articles = read_lgl(args.folder / "lgl.xml")[: args.limit or None]
    country_ids = {c.iso3: c.geonames_id for c in gazetteer.load().countries.values() if c.geonames_id}
    started = time.perf_counter()
    annotations = annotate_docs([a["text"] for a in articles], [a["published"] for a in articles])
    results = {id(a): ann.mentions for a, ann in zip(articles, annotations)}
    print(f"{len(articles)} articles annotated in {time.perf_counter() - started:.1f} s")
    tuning, check = split(articles, key=lambda a: a["url"] or a["title"])
    for name, part in (("tuning", tuning), ("check", check), ("both", articles)):
        counts = figures(part, results, country_ids)
        print(f"{name} half: {len(part)} articles" if name != "both" else f"both halves: {len(part)} articles")
        print(line("all", counts["all"]))
        print(line("below", counts["below"]))
    shown = 0
    for article in tuning:
        for gold in article["gold"]:
            if shown >= args.misses:
                break
            recalled, resolved = judge(gold, results[id(article)], country_ids)
            if recalled and not resolved:
                got = [m.entity for m in results[id(article)] if m.start < gold.end and gold.start < m.end]
                e = got[0]
                print(f"  miss {gold.phrase!r} ({gold.fcode} {gold.lat:.2f},{gold.lon:.2f}) -> {e.name} {e.country_code} {e.latitude},{e.longitude}")
                shown += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
