import pandas as pd

from schemas import EntitySchema, MentionSchema
from tasks.entities import entity_id, entity_name, extract_entities

TEXT = (
    "Russian Defense Minister Sergei Shoigu said on August 10 that Russian forces will hold drills near the "
    "Afghan border. On August 11, Mullah Abdul Ghani Baradar met Zamir Kabulov in Doha, Qatar. "
    "NATO and the United Nations issued statements."
)


def test_entities_and_mentions_line_up_with_text():
    articles = pd.DataFrame(
        {"article_id": ["0123456789abcdef", "1123456789abcdef"], "text": [TEXT, "Ein Text auf Deutsch über Berlin."], "language": ["en", "de"]}
    )
    rows = extract_entities(articles)
    names = set(zip(rows.entities["name"], rows.entities["type"]))
    assert ("Sergei Shoigu", "PERSON") in names
    assert ("Qatar", "GPE") in names
    assert not any(t in {"DATE", "CARDINAL"} for _, t in names)
    for m in rows.mentions.itertuples():
        assert TEXT[m.start_char : m.end_char] == m.text
    assert set(rows.mentions["article_id"]) == {"0123456789abcdef"}  # the German text is skipped
    assert rows.mentions["sentence"].max() >= 1
    EntitySchema.validate(rows.entities, lazy=True)
    MentionSchema.validate(rows.mentions, lazy=True)


def test_names_and_ids():
    assert entity_name("the  United Nations") == "United Nations"
    assert entity_name("Russia’s") == "Russia"
    assert entity_id("NATO", "ORG") == entity_id("nato", "ORG") != entity_id("NATO", "GPE")


def test_empty_input():
    rows = extract_entities(pd.DataFrame({"article_id": [], "text": [], "language": []}))
    assert rows.entities.empty and rows.mentions.empty
