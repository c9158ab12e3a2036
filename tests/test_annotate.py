"""The annotation stage: NER with the gazetteer rule layers, linking, person names and roles."""

import pandas as pd
import pytest

from wirehouse.schemas import EntitySchema, EventSchema, MentionSchema
from wirehouse.tasks.annotate import annotate_docs, annotate_records, annotation_rows
from wirehouse.tasks.nlp_types import entity_id, entity_name

# Written for these tests in the manner of a think-tank brief (not a benchmark text).
BRIEF = (
    "Russia completed joint military exercises with troops from Tajikistan and Uzbekistan on August 10 as the "
    "Taliban advanced in northern Afghanistan. Russian Defense Minister Sergei Shoigu said the CSTO stands ready. "
    "On August 11, Mullah Abdul Ghani Baradar had separate meetings with Turkmen Deputy Foreign Minister Vepa "
    "Hajiev and Uzbek officials in Qatar. The spokesman in Doha said that Baradar and Hajiev discussed border issues. "
    "In July, a Taliban delegation visited Ashgabat. NATO and the UN are watching Kabul."
)


def _annotate(text=BRIEF, published="2021-08-13"):
    return annotate_records([{"id": "x", "text": text, "published_at": published}])[0]


def _by_text(result):
    found = {}
    for e in result["entities"]:
        found.setdefault(e["text"], e)
    return found


def test_countries_demonyms_places_are_linked():
    found = _by_text(_annotate())
    assert (found["Russia"]["type"], found["Russia"]["country_code"], found["Russia"]["geonames_id"]) == ("GPE", "RUS", 2017370)
    assert (found["Turkmen"]["type"], found["Turkmen"]["name"], found["Turkmen"]["country_code"]) == ("NORP", "Turkmenistan", "TKM")
    ashgabat = found["Ashgabat"]   # the bare model calls it a person
    assert (ashgabat["type"], ashgabat["geonames_id"], ashgabat["country_code"]) == ("GPE", 162183, "TKM")
    assert abs(ashgabat["latitude"] - 37.95) < 0.01 and abs(ashgabat["longitude"] - 58.38) < 0.01
    assert (found["Doha"]["geonames_id"], found["Doha"]["country_code"]) == (290030, "QAT")
    assert (found["Kabul"]["geonames_id"], found["Kabul"]["country_code"]) == (1138958, "AFG")
    assert found["Tajikistan"]["type"] == "GPE"   # the model says NORP


def test_people_merge_and_keep_their_office():
    result = _annotate()
    found = _by_text(result)
    full, bare = found["Mullah Abdul Ghani Baradar"], found["Baradar"]
    assert bare["type"] == "PERSON" and bare["entity_id"] == full["entity_id"] and bare["name"] == full["name"]
    assert found["Hajiev"]["entity_id"] == found["Vepa Hajiev"]["entity_id"]
    assert found["Hajiev"]["country_code"] == "TKM"   # inherited from "Turkmen Deputy Foreign Minister Vepa Hajiev"
    shoigu = found["Sergei Shoigu"]
    assert (shoigu["role"], shoigu["country_code"], shoigu["sector"]) == ("Defense Minister", "RUS", "GOV/MIL")
    assert not any(e["text"] == "Defense" for e in result["entities"])   # a title fragment is not an organisation


def test_organisations_carry_country_or_igo_codes():
    found = _by_text(_annotate())
    assert (found["Taliban"]["country_code"], found["Taliban"]["sector"]) == ("AFG", "REB")
    assert found["NATO"]["igo_code"] == "NATO"
    assert found["CSTO"]["igo_code"] == "CSTO"
    assert found["UN"]["igo_code"] == "UNO" and found["UN"]["name"] == "United Nations"


def test_offsets_line_up():
    result = _annotate()
    for e in result["entities"]:
        assert BRIEF[e["start"] : e["end"]] == e["text"]


def test_rows_validate_and_skip_other_languages():
    articles = pd.DataFrame(
        {
            "article_id": ["0123456789abcdef", "1123456789abcdef"],
            "text": [BRIEF, "Ein Text auf Deutsch über Berlin und Moskau."],
            "language": ["en", "de"],
            "published_at": [pd.Timestamp("2021-08-13"), pd.NaT],
        }
    )
    entities, mentions, events = annotation_rows(articles)
    assert set(mentions["article_id"]) == {"0123456789abcdef"}
    assert entities["entity_id"].is_unique
    for m in mentions.itertuples():
        assert BRIEF[m.start_char : m.end_char] == m.text
        assert m.sentence_start <= m.start_char < m.end_char <= m.sentence_end
    EntitySchema.validate(entities, lazy=True)
    MentionSchema.validate(mentions, lazy=True)
    EventSchema.validate(events, lazy=True)
    assert len(events) >= 5 and events["event_id"].is_unique


def _mentions(text):
    annotation = next(iter(annotate_docs([text], [None])))
    return [(m.text, m.label) for m in annotation.mentions]


def test_dictionary_names_are_persons_and_organisations():
    # a coded office holder without a title: one person, not a place and a person
    assert _mentions("Prawit Wongsuwan told reporters the army would stay in barracks.") == [("Prawit Wongsuwan", "PERSON")]
    assert ("Dominique de Villepin", "PERSON") in _mentions("Dominique de Villepin said France would veto the resolution.")
    # a coded armed group the model takes for a person
    assert _mentions("Jemaah Islamiah claimed the attack, officials said.") == [("Jemaah Islamiah", "ORG")]
    # names are capitalised: the same words in lower case are no name
    assert _mentions("He said the red eagles flew over the hills near the lake.") == []
    assert _mentions("Red Eagles fighters blocked the road.") == [("Red Eagles", "ORG")]


def test_a_coded_surname_alone_is_a_person():
    assert _mentions("Lavrov said the talks would resume next week.") == [("Lavrov", "PERSON")]


def test_a_name_that_starts_with_a_given_name_is_a_person():
    assert ("Gustavo Marenco", "PERSON") in _mentions("The company was founded by Gustavo Marenco in Lima.")


def test_entity_names_leave_out_places_and_titles():
    from wirehouse.tasks.dictionaries import entity_names, given_names, single_names

    kinds = {name: label for label, name in entity_names()}
    assert kinds["VLADIMIR PUTIN"] == "PERSON" and kinds["BOKO HARAM"] == "ORG" and kinds["AMNESTY INTERNATIONAL"] == "ORG"
    assert "PITTSBURGH" not in kinds and "PRESIDENT ELECT BARACK OBAMA" not in kinds
    assert "JOHN" in given_names() and "ISLAMIC" not in given_names() and "AL" not in given_names()
    # a militant group dated from its founding is no person; a one-word person needs a full name
    assert kinds["ISLAMIC STATE OF IRAQ AND THE LEVANT"] == "ORG"
    assert single_names()["PUTIN"] == "PERSON" and single_names()["ECOWAS"] == "ORG" and "HASSAN" not in single_names()


def test_names_and_ids():
    assert entity_name("the  United Nations") == "United Nations"
    assert entity_name("Russia’s") == "Russia"
    assert entity_id("NATO", "ORG") == entity_id("nato", "ORG") != entity_id("NATO", "GPE")


def test_empty_input():
    entities, mentions, events = annotation_rows(pd.DataFrame({"article_id": [], "text": [], "language": []}))
    assert entities.empty and mentions.empty and events.empty


def test_a_bare_surname_joins_the_one_full_name_in_the_batch():
    articles = pd.DataFrame(
        {
            "article_id": ["a" * 16, "b" * 16, "c" * 16],
            "text": [
                "Mullah Abdul Ghani Baradar met Russian officials in Doha on Monday.",
                "Baradar visited Ashgabat in July and met Turkmen officials.",
                "John Smith and Anna Smith spoke in London. On Tuesday, Smith flew to Paris.",   # two Smiths: left alone
            ],
            "language": ["en"] * 3,
            "published_at": [pd.Timestamp("2021-08-13")] * 3,
        }
    )
    entities, mentions, events = annotation_rows(articles)
    names = dict(zip(entities["entity_id"], entities["name"]))
    assert names[mentions.loc[mentions["text"] == "Baradar", "entity_id"].iloc[0]] == "Mullah Abdul Ghani Baradar"
    assert (entities["name"] == "Baradar").sum() == 0
    assert set(events["actor1_entity_id"].dropna()) <= set(entities["entity_id"])
    assert "Smith" in set(entities["name"])


def _python_calls(text: str) -> int:
    """Function calls (ours and spaCy's, which is built with profiling hooks) to annotate one text."""
    import cProfile
    import pstats
    from datetime import date

    profile = cProfile.Profile()
    profile.enable()
    list(annotate_docs([text], [date(2024, 5, 15)]))
    profile.disable()
    return sum(stat[1] for stat in pstats.Stats(profile).stats.values())


@pytest.mark.slow   # spaCy over 280 sentences, three times, profiled
def test_annotation_work_grows_linearly_with_the_text():
    # Every sentence carries an event, a date and two titled people: a per-event or per-person
    # read of doc.ents (a pass over the whole doc) made the work quadratic (ratio 3.6 here).
    unit = "On Monday, Russian Defense Minister Sergei Shoigu met Chinese Foreign Minister Wang Yi in Beijing. "
    list(annotate_docs([unit], [None]))   # the pipeline loads outside the count
    small, medium, large = (_python_calls(unit * n) for n in (40, 80, 160))
    assert (large - medium) / (medium - small) < 2.2


def test_text_past_the_limit_is_not_annotated_and_says_so(monkeypatch):
    from wirehouse.tasks import annotate

    monkeypatch.setattr(annotate, "MAX_TEXT_CHARS", 40)
    text = "NATO met officials in Kabul on Monday. Russia condemned Ukraine on Tuesday."
    (long,) = annotate_records([{"id": "long", "text": text}])
    assert (long["annotated_chars"], long["truncated"]) == (40, True)
    assert {e["text"] for e in long["entities"]} == {"NATO", "Kabul"}   # Russia and Ukraine lie past the cut
    (short,) = annotate_records([{"id": "short", "text": text[:40]}])
    assert (short["annotated_chars"], short["truncated"]) == (40, False)
