"""Places below country level: namesakes chosen by what the rest of the text says, regions and small
towns linked with coordinates."""

import math

import pytest

from wirehouse.tasks import gazetteer
from wirehouse.tasks.annotate import annotate_records


@pytest.fixture(scope="module")
def gaz():
    return gazetteer.load()


def _places(text: str) -> dict[str, dict]:
    (record,) = annotate_records([{"id": "x", "text": text, "published_at": "2024-05-02"}])
    return {e["text"]: e for e in record["entities"]}


def _km(entity: dict, lat: float, lon: float) -> float:
    p1, p2 = math.radians(entity["latitude"]), math.radians(lat)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - entity["longitude"]) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def test_a_bare_name_is_the_capital_or_the_big_city(gaz):
    assert gaz.place("Paris").country_code == "FRA"
    assert gaz.place("Alexandria").country_code == "EGY"
    assert gaz.capital_of("Paris") == "FRA"


def test_paris_among_texas_towns_is_paris_texas():
    places = _places("The storm hit Paris on Tuesday. Farther west, Sherman and Denison in Texas lost power.")
    paris = places["Paris"]
    assert paris["country_code"] == "USA" and _km(paris, 33.66, -95.56) < 50
    assert _places("Police in Paris cleared the square near the Seine, officials said.")["Paris"]["country_code"] == "FRA"


def test_georgia_is_the_us_state_with_atlanta_and_the_country_with_tbilisi():
    us = _places("Voters in Georgia lined up for hours. In Atlanta and Savannah, polls stayed open late.")["Georgia"]
    assert us["country_code"] == "USA" and _km(us, 32.7, -83.4) < 161
    country = _places("Protesters filled the streets of Tbilisi as Georgia's parliament met in Kutaisi.")
    assert country["Georgia"]["country_code"] == "GEO"


def test_springfield_goes_where_the_other_towns_are():
    illinois = _places("The governor flew from Chicago to Springfield, then drove on to Decatur and Peoria.")
    assert _km(illinois["Springfield"], 39.80, -89.64) < 50
    missouri = _places("Springfield police joined officers from Joplin and Branson in southwest Missouri.")
    assert _km(missouri["Springfield"], 37.21, -93.29) < 50


def test_an_admin_region_and_an_abbreviation_resolve_with_coordinates(gaz):
    ontario = gaz.place("Ontario", context=gaz.context(["Toronto", "Ottawa"]))
    assert ontario.feature == "A.ADM1" and ontario.country_code == "CAN" and ontario.latitude is not None
    kentucky = gaz.place("Ky.")
    assert kentucky.name == "Kentucky" and kentucky.latitude is not None
    places = _places("The company will open a plant in Bavaria, near Munich, next year.")
    assert places["Bavaria"]["country_code"] == "DEU" and _km(places["Bavaria"], 48.9, 11.4) < 161


def test_a_town_of_a_few_thousand_people(gaz):
    cottonport = gaz.place("Cottonport", context=gaz.context(["Alexandria", "Marksville"]))
    assert cottonport is not None and 1_000 <= cottonport.population < 10_000
    assert (round(cottonport.latitude, 1), round(cottonport.longitude, 1)) == (31.0, -92.1)
    county = gaz.place("Rapides Parish")
    assert county.country_code == "USA" and county.admin1 == "LA" and county.latitude is not None


def test_rule_layer_still_only_trusts_big_towns(gaz):
    # 170,000 towns must not turn people into places: the relabelling rules see towns of 15,000+
    assert gaz.town("Cottonport") is None
    assert gaz.town("Ashgabat").country_code == "TKM"
