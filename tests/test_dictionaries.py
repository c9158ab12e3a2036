"""The PETRARCH2/Phoenix dictionaries as data: the derived tables and their face (tasks/dictionaries.py)."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from wirehouse.tasks import cameo, dictionaries

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "dictionaries" / "petrarch2"
TABLES = (
    "verbs.tsv", "verb_patterns.tsv.gz", "synsets.tsv", "actor_names.tsv.gz", "actor_codes.tsv.gz",
    "agents.tsv", "discards.tsv",
)


def test_named_actors_take_the_code_valid_on_the_date():
    assert dictionaries.actor("Putin", "2021-06-01") == ("RUS", "GOV")
    assert dictionaries.actor("Vladimir Putin", dt.date(2021, 6, 1)) == ("RUS", "GOV")
    assert dictionaries.actor("Russian President Vladimir V. Putin", "2021-06-01") == ("RUS", "GOV")   # a listed variant
    # before he became prime minister (1999-08-09) the file codes him an elite: [RUSELI 700101-990809]
    assert dictionaries.actor("VLADIMIR_PUTIN_", "1995-03-01") == ("RUS", "ELI")
    assert dictionaries.actor("Putin") == ("RUS", "ELI")   # no date: the undated fallback [RUSELI]
    assert dictionaries.actor("Nobody Inparticular", "2021-06-01") is None


def test_countries_and_organisations():
    assert dictionaries.actor("Afghanistan") == ("AFG", None)
    assert dictionaries.actor("NATO") == ("IGOWSTNAT", None)
    assert dictionaries.actor("North Atlantic Treaty Organization") == ("IGOWSTNAT", None)
    assert dictionaries.actor("the United Nations").country_or_igo.startswith("IGO")
    assert dictionaries.actor_code("Taliban") == "AFGREB"
    assert dictionaries.split_code("USAGOVLEG") == ("USA", "GOV")


def test_agents():
    assert dictionaries.agent("police") == "COP"
    assert dictionaries.agent("policemen") == "COP"          # a !PERSON! substitution
    assert dictionaries.agent("Afghan police") == "COP"      # the longest known ending
    assert dictionaries.agent("rebels") == "REB"             # a derived plural
    assert dictionaries.agent("teapot") is None


@pytest.mark.parametrize(
    "verb, roots",
    [("meet", {"04"}), ("visit", {"04"}), ("accuse", {"11"}), ("attack", {"19"}), ("sign", {"05", "06"})],
)
def test_verb_candidates_hold_the_cameo_roots(verb, roots):
    found = {cameo.root(code) for code, _ in dictionaries.verb_candidates(verb)}
    assert roots <= found


def test_verb_candidates_know_listed_forms_and_nothing_else():
    assert dictionaries.verb_candidates("met") == dictionaries.verb_candidates("meet")
    assert dictionaries.verb_candidates("frobnicate") == []


def test_a_pattern_beats_the_blocks_default_when_its_words_follow():
    # ASK [020]; - * (FOR {FINANCIAL AID}) [0231]
    assert dictionaries.match_verb("ask", "for financial aid from the bank".split()) == "0231"
    assert dictionaries.match_verb("ask", "the minister a question".split()) == "020"
    # SIGN [---] (no event alone); - * {PEACE &TREATY} [057]: the synset holds AGREEMENT
    assert dictionaries.match_verb("sign", "a peace agreement on Tuesday".split()) == "057"
    assert dictionaries.match_verb("sign", "the guest book".split()) is None
    # ACCUSE [112]; - * (OF &CRIME) [173]: plurals and surface words match too
    assert dictionaries.match_verb("accuse", "the officers of crimes".split()) == "173"


def test_words_before_the_verb_only_count_when_given():
    # ACCELERATE [---]; - &MILITARY * [154]
    assert dictionaries.match_verb("rush", [], ["the", "troops"]) == "154"
    assert dictionaries.match_verb("rush", []) is None


def test_discards():
    assert dictionaries.is_discard("The striker scored twice in the Asian Cup semi-final.")
    assert dictionaries.is_discard("BASEBALLS were handed out.")                   # an entry is a stem
    assert not dictionaries.is_discard("The two ministers signed a border treaty.")
    assert not dictionaries.is_discard("Troops shelled the town of Xbaseball.")    # not inside a word
    # bare years and time phrases are chronology, not topics: left out by rule
    assert not dictionaries.is_discard("The treaty was signed in 1979, forty years ago.")
    assert dictionaries._is_time_entry("APRIL 1942") and not dictionaries._is_time_entry("2014 COMPETITION")


def test_words_matched_on_a_parse_give_the_pattern_and_its_positions():
    match = dictionaries.match_words("ask", ["germany", "for", "financial", "aid"])
    assert (match.code, match.positions) == ("0231", (1, 2, 3))
    assert dictionaries.match_words("ask", ["about", "the", "delay"]).code == "020"
    assert dictionaries.match_words("sign", ["the", "guest", "book"]).code is None
    assert dictionaries.verb_key("met") == "meet" and dictionaries.verb_key("frobnicate") is None


def test_load_reads_every_table():
    dictionaries.load()
    names, codes = dictionaries._actors()
    assert len(names) > 30_000 and len(codes) > 10_000
    assert len(dictionaries._patterns()) > 300 and len(dictionaries._agents()) > 4_000


@pytest.mark.slow   # derives the tables again: about 2 s
@pytest.mark.skipif(not (SOURCE / "CAMEO.2.0.txt").is_file(), reason=f"the PETRARCH2 dictionaries are not at {SOURCE}")
def test_committed_tables_are_what_the_build_script_derives(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_dictionaries.py"), str(tmp_path), "--source", str(SOURCE)],
        check=True, capture_output=True,
    )
    committed = ROOT / "tasks" / "data" / "petrarch2"
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), f"{name} is stale: run make dictionaries"


def test_a_bare_pattern_word_does_not_match_inside_a_prepositional_phrase():
    # APPREHEND * AREA [192] names the object ("sealed off the area"): not "arrested ... in the area"
    words = ["dozens", "of", "people", "in", "the", "area"]
    assert dictionaries.match_words("arrest", words).code == "192"
    assert dictionaries.match_words("arrest", words, prepositional={4: 3, 5: 3}).code == "173"
    # RETREAT * FROM + [0874] writes its preposition: it matches there
    assert dictionaries.match_words("withdraw", ["from", "the", "town"], prepositional={1: 0, 2: 0}).code == "0874"


def test_an_undated_text_still_knows_a_dated_actors_country():
    # MOODY AWORI has dated entries only (KENGOV in given years): with no date, his country alone;
    # with a date inside a span, the dated code.
    assert dictionaries.actor_code("Moody Awori") == "KEN"
    assert dictionaries.actor_code("Moody Awori", "2004-06-01") == "KENGOV"
    assert dictionaries.actor("Moody Awori") == ("KEN", None)
