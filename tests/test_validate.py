"""The validate stage (tasks/validate.py) and its pandera contracts (schemas/models.py): rows that keep
the contract pass unchanged, every other row is split off to quarantine with the checks it failed, all
at once (lazy validation), and nothing is coerced into shape.

(test_warehouse.py has the article cases of blank titles, short texts and date flags, and quarantine
rows loading; test_annotate.py validates the annotator's real output.)"""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from wirehouse.schemas import SCHEMAS
from wirehouse.schemas.models import MAX_TITLE_CHARS
from wirehouse.tasks.validate import QUARANTINE_COLUMNS, validate_frame

AID = "0123456789abcdef"


def article(n: int = 0, **overrides) -> dict:
    row = {
        "article_id": f"{n:016x}", "url": f"https://ex.org/{n}", "canonical_url": f"https://ex.org/{n}",
        "source": "ex", "title": f"Title {n}", "author": None,
        "published_at": pd.Timestamp("2026-01-02"), "published_ts": pd.Timestamp("2026-01-02T08:00:00Z"),
        "published_at_plausible": True, "language": "en", "text": "Officials met. " * 20, "word_count": 40,
        "text_hash": "a" * 64, "content_hash": f"{n:064x}", "extractor": "trafilatura", "extractor_version": "2.3.1",
    }
    return row | overrides


def articles(*rows: dict) -> pd.DataFrame:
    """Rows in the dtypes the extract stage gives them (the contract does not coerce)."""
    frame = pd.DataFrame(list(rows))
    frame["published_at"] = frame["published_at"].astype("datetime64[us]")
    frame["published_ts"] = pd.to_datetime(frame["published_ts"], utc=True).astype("datetime64[us, UTC]")
    frame["published_at_plausible"] = frame["published_at_plausible"].astype("boolean")
    return frame


def event(n: int = 0, **overrides) -> dict:
    row = {
        "event_id": f"{n:016x}", "article_id": AID, "sentence_index": 0, "sentence": "Russia met Turkey.",
        "trigger": "met", "trigger_start": 7, "event_date": pd.Timestamp("2026-01-02"), "date_precision": "day",
        "cameo_code": "040", "cameo_root": "04", "plover_type": "CONSULT", "quad_class": 1, "goldstein": 1.0,
        "confidence": 0.9, "actor1_country_code": "RUS", "actor2_country_code": "TUR", "location_country_code": None,
        "coder_version": "1", "actor1_text": "Russia", "actor2_text": "Turkey", "actor2_implied": False,
    }
    return row | overrides


def mention(**overrides) -> dict:
    return {"article_id": AID, "entity_id": "b" * 16, "text": "Kabul", "start_char": 10, "end_char": 15,
            "label": "GPE", "sentence_start": 0, "sentence_end": 40} | overrides


def entity(n: int = 0, **overrides) -> dict:
    return {"entity_id": f"{n:016x}", "name": "Kabul", "type": "GPE", "country_code": "AFG", "geonames_id": 1138958,
            "latitude": 34.5, "longitude": 69.2, "igo_code": None, "sector": None, "role": None} | overrides


def entities(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["geonames_id"] = frame["geonames_id"].astype("Int64")
    return frame


def fetch_log(url: str = "https://ex.org/a", **overrides) -> dict:
    return {"run_id": "r", "url": url, "source": "ex", "kind": "page", "outcome": "ok", "disposition": "article",
            "bytes": 10, "elapsed_ms": 1.5, "attempts": 1} | overrides


def page(n: int = 0, **overrides) -> dict:
    return {"content_hash": f"{n:064x}", "url": "https://ex.org/a", "final_url": "https://ex.org/a", "bytes": 10} | overrides


def reasons(result) -> dict[str, list[str]]:
    """row key -> the failed checks of its quarantine row(s), one list per row."""
    found: dict[str, list[str]] = {}
    for key, checks in zip(result.quarantine["row_key"], result.quarantine["failed_checks"]):
        found.setdefault(key, []).append(checks)
    return found


# ---- good rows pass -------------------------------------------------------------------------------

GOOD = {
    "articles": (lambda: articles(article(0), article(1, author="A. Writer", published_at=pd.NaT,
                                                        published_ts=pd.NaT, published_at_plausible=None,
                                                        language=None)), "article_id"),
    "events": (lambda: pd.DataFrame([event(0), event(1, actor2_text=None, plover_type=None, event_date=pd.NaT,
                                                      date_precision=None, cameo_code="1411", cameo_root="14")]),
               "event_id"),
    "mentions": (lambda: pd.DataFrame([mention(), mention(start_char=0, end_char=5, sentence_start=0)]), "entity_id"),
    "entities": (lambda: entities(entity(0), entity(1, type="ORG", country_code=None, geonames_id=None, latitude=None,
                                                    longitude=None, igo_code="NATO", sector="IGO")), "entity_id"),
    "fetch_log": (lambda: pd.DataFrame([fetch_log(), fetch_log(outcome="invalid_url", disposition="skipped",
                                                               bytes=0, elapsed_ms=0.0, attempts=0)]), "url"),
    "pages": (lambda: pd.DataFrame([page(0), page(1, bytes=0)]), "content_hash"),
}


@pytest.mark.parametrize("table", sorted(GOOD))
def test_rows_that_keep_the_contract_pass_unchanged(table):
    make, key = GOOD[table]
    frame = make()
    result = validate_frame(frame, table, key, "run-1")
    pd.testing.assert_frame_equal(result.valid, frame)
    assert result.quarantine.empty and result.failed_keys == set()
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS


def test_every_table_has_a_contract_and_every_good_sample_keeps_it():
    assert set(GOOD) | {"quarantine"} == set(SCHEMAS)


def test_an_empty_frame_is_valid_and_quarantines_nothing():
    result = validate_frame(pd.DataFrame(), "articles", "article_id", "r")
    assert result.valid.empty and result.quarantine.empty and result.failed_keys == set()
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS


def test_extra_working_columns_ride_along():
    frame = articles(article(0, staged_hash="x"))
    result = validate_frame(frame, "articles", "article_id", "r")
    assert result.quarantine.empty and result.valid.loc[0, "staged_hash"] == "x"


# ---- bad rows are split off with their reasons -------------------------------------------------------


def test_bad_rows_are_split_off_and_good_ones_kept_in_order_with_a_fresh_index():
    frame = articles(article(0), article(1, url="ftp://ex.org/1"), article(2), article(3, word_count=0), article(4))
    frame.index = [50, 40, 30, 20, 10]     # a caller's index: the failures are still the right rows
    result = validate_frame(frame, "articles", "article_id", "r")
    assert list(result.valid["article_id"]) == [f"{n:016x}" for n in (0, 2, 4)]
    assert list(result.valid.index) == [0, 1, 2]
    assert list(result.quarantine["row_key"]) == [f"{n:016x}" for n in (1, 3)]
    assert list(result.quarantine["url"]) == ["ftp://ex.org/1", "https://ex.org/3"]
    assert list(result.quarantine["content_hash"]) == [f"{n:064x}" for n in (1, 3)]


def test_lazy_every_failure_of_a_row_is_named_once():
    bad = article(0, url="ftp://x", title=None, language="EN", word_count=0, text_hash="short")
    result = validate_frame(articles(bad), "articles", "article_id", "r")
    ((checks,),) = reasons(result).values()
    assert checks.split("; ") == [
        "url: str_matches('^https?://[^\\s/]+(/\\S*)?$')",
        "title: not_nullable",
        "language: str_matches('^[a-z]{2,3}$')",
        "word_count: greater_than_or_equal_to(1)",
        "text_hash: str_matches('^[0-9a-f]{64}$')",
    ]


@pytest.mark.parametrize(("overrides", "check"), [
    ({"article_id": "NOT-HEX"}, "article_id: str_matches('^[0-9a-f]{16}$')"),
    ({"canonical_url": "https://ex .org/a"}, "canonical_url: str_matches('^https?://[^\\s/]+(/\\S*)?$')"),
    ({"source": ""}, "source: str_length(1, None)"),
    ({"title": "x" * (MAX_TITLE_CHARS + 1)}, f"title: str_length(1, {MAX_TITLE_CHARS})"),
    ({"title": " \t "}, "title: title_not_blank"),
    ({"extractor_version": ""}, "extractor_version: str_length(1, None)"),
    ({"content_hash": "c" * 63}, "content_hash: str_matches('^[0-9a-f]{64}$')"),
    ({"published_at_plausible": None}, "frame: published_at_flagged"),                 # a date without its flag
    ({"published_at": pd.NaT, "published_ts": pd.NaT}, "frame: published_at_flagged"),  # a flag without a date
])
def test_each_kind_of_bad_article_is_quarantined_with_its_reason(overrides, check):
    result = validate_frame(articles(article(0), article(1, **overrides)), "articles", "article_id", "r")
    assert reasons(result) == {overrides.get("article_id", f"{1:016x}"): [check]}
    assert list(result.valid["article_id"]) == [f"{0:016x}"]


def test_a_row_check_is_named_once_not_once_per_column():
    """pandera reports a failed dataframe check against every column; the quarantine says it once, so
    no reason names a column it is not about (source health counts reasons that mention 'title')."""
    frame = articles(article(0), article(1))
    frame["annotated_chars"] = pd.array([10, 10_000], dtype="Int64")   # read more characters than the text has
    result = validate_frame(frame, "articles", "article_id", "r")
    assert reasons(result) == {f"{1:016x}": ["frame: annotated_chars_within_text"]}


def test_annotated_chars_is_optional_and_may_be_missing_per_row():
    frame = articles(article(0), article(1))
    frame["annotated_chars"] = pd.array([None, 5], dtype="Int64")
    assert validate_frame(frame, "articles", "article_id", "r").quarantine.empty


def test_duplicate_keys_quarantine_every_copy():
    result = validate_frame(articles(article(0), article(0), article(1)), "articles", "article_id", "r")
    assert reasons(result) == {f"{0:016x}": ["article_id: field_uniqueness"] * 2}
    assert list(result.valid["article_id"]) == [f"{1:016x}"]


@pytest.mark.parametrize(("rows", "expected"), [
    ([event(1, cameo_code="051")], ["frame: code_matches_root"]),
    ([event(1, actor1_text=None, actor2_text=None)], ["frame: has_an_actor"]),
    ([event(1, actor2_implied=True)], ["frame: implied_target_is_a_country"]),   # named, yet implied
    ([event(1, actor2_text=None, actor2_country_code=None, actor2_implied=True)], ["frame: implied_target_is_a_country"]),
    ([event(1, goldstein=10.5)], ["goldstein: less_than_or_equal_to(10)"]),
    ([event(1, confidence=-0.1)], ["confidence: greater_than_or_equal_to(0)"]),
    ([event(1, quad_class=5)], ["quad_class: isin([1, 2, 3, 4])"]),
    ([event(1, date_precision="decade")], ["date_precision: isin(['day', 'week', 'month', 'year'])"]),
    ([event(1, plover_type="PARTY")], None),
    ([event(1, cameo_root="21", cameo_code="210")], "cameo_root"),
    ([event(1, location_country_code="ru")], ["location_country_code: str_matches('^[A-Z]{3}$')"]),
])
def test_each_kind_of_bad_event_is_quarantined_with_its_reason(rows, expected):
    result = validate_frame(pd.DataFrame([event(0), *rows]), "events", "event_id", "r")
    (checks,) = reasons(result)[f"{1:016x}"]
    if expected is None:    # a PLOVER type outside the list: its isin check, whatever pandera spells the list
        assert checks.startswith("plover_type: isin(") and "PARTY" not in checks
    elif expected == "cameo_root":   # a root outside CAMEO's 20 (schemas.models.CAMEO_ROOTS)
        assert checks.startswith("cameo_root: isin(['01', '02'") and "'20'])" in checks and "'21'" not in checks
    else:
        assert checks.split("; ") == expected
    assert list(result.valid["event_id"]) == [f"{0:016x}"]
    assert result.quarantine["url"].isna().all()   # events have no url column: the quarantine row says so


@pytest.mark.parametrize(("overrides", "check"), [
    ({"text": "Kab"}, "frame: text_matches_span_length"),
    ({"start_char": 45, "end_char": 50}, "frame: mention_inside_sentence"),
    ({"start_char": 15, "end_char": 15, "text": ""}, "frame: span_is_ordered; text: str_length(1, None)"),
    ({"label": "DATE"}, None),
])
def test_each_kind_of_bad_mention_is_quarantined_with_its_reason(overrides, check):
    result = validate_frame(pd.DataFrame([mention(entity_id="a" * 16), mention(**overrides)]), "mentions", "entity_id", "r")
    (checks,) = reasons(result)["b" * 16]
    if check is None:
        assert checks.startswith("label: isin(") and "DATE" not in checks
    else:
        assert checks == check
    assert list(result.valid["entity_id"]) == ["a" * 16]


def test_bad_entities_fetch_log_rows_and_pages_are_quarantined_with_their_reasons():
    result = validate_frame(entities(entity(0), entity(1, type="THING", country_code="af", latitude=91.0)),
                            "entities", "entity_id", "r")
    (checks,) = reasons(result)[f"{1:016x}"]
    assert [c.split(":")[0] for c in checks.split("; ")] == ["type", "country_code", "latitude"]
    assert result.quarantine.loc[0, "url"] is None and result.quarantine.loc[0, "content_hash"] is None

    result = validate_frame(pd.DataFrame([fetch_log(), fetch_log("https://ex.org/b", kind="video", bytes=-1)]),
                            "fetch_log", "url", "r")
    (checks,) = reasons(result)["https://ex.org/b"]
    assert [c.split(":")[0] for c in checks.split("; ")] == ["kind", "bytes"]

    result = validate_frame(pd.DataFrame([page(0), page(0), page(1, final_url="not a url")]), "pages", "content_hash", "r")
    assert reasons(result) == {f"{0:064x}": ["content_hash: field_uniqueness"] * 2,
                               f"{1:064x}": ["final_url: str_matches('^https?://[^\\s/]+(/\\S*)?$')"]}
    assert result.valid.empty


# ---- frame-level failures: no coercion, nothing dropped silently ----------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "str"])
def test_nothing_is_coerced_a_wrong_dtype_fails_every_row(dtype):
    """word_count as 40.0 or "40" is not made an int: the whole frame goes to quarantine, row by row."""
    frame = articles(article(0), article(1))
    frame["word_count"] = frame["word_count"].astype(dtype)
    result = validate_frame(frame, "articles", "article_id", "r")
    assert result.valid.empty
    assert result.failed_keys == {f"{0:016x}", f"{1:016x}"}
    assert all(checks.split("; ")[0] == "word_count: dtype('int64')" for checks in result.quarantine["failed_checks"])


def test_a_missing_column_fails_every_row_and_names_the_column():
    frame = articles(article(0), article(1)).drop(columns=["text"])
    result = validate_frame(frame, "articles", "article_id", "r")
    assert result.valid.empty
    assert reasons(result) == {f"{n:016x}": ["text: column_in_dataframe"] for n in (0, 1)}


def test_a_row_check_over_a_missing_column_fails_every_row():
    frame = pd.DataFrame([event(0), event(1)]).drop(columns=["actor1_text", "actor2_text"])
    result = validate_frame(frame, "events", "event_id", "r")
    both = "frame: has_an_actor; frame: implied_target_is_a_country"
    assert result.valid.empty and reasons(result) == {f"{n:016x}": [both] for n in (0, 1)}


# ---- what a quarantine row keeps -----------------------------------------------------------------------


def test_a_quarantine_row_keeps_the_run_the_time_and_the_row_as_json(caplog):
    long_text = "é" * 2500 + "short"   # too long is fine; the title is the fault
    frame = articles(article(0, title="", text=long_text, word_count=1))
    with caplog.at_level(logging.WARNING, logger="wirehouse.tasks.validate"):
        result = validate_frame(frame, "articles", "article_id", "run-7")
    row = result.quarantine.iloc[0]
    assert (row["table_name"], row["run_id"]) == ("articles", "run-7")
    assert row["quarantined_at"].tzinfo is not None
    kept = json.loads(row["row_json"])
    assert kept["text"] == "é" * 2000 + "…"           # large text cut; the raw page keeps the whole
    assert kept["published_at"] == "2026-01-02T00:00:00" and kept["published_ts"] == "2026-01-02T08:00:00+00:00"
    assert kept["author"] is None and kept["published_at_plausible"] is True and kept["word_count"] == 1
    assert "é" in row["row_json"]                       # readable, not \u-escaped
    assert [r.getMessage() for r in caplog.records] == [
        f"quarantined articles row {0:016x}: title: str_length(1, 500); title: title_not_blank"]


def test_missing_values_in_row_json_are_null():
    frame = articles(article(0, title="", published_at=pd.NaT, published_ts=pd.NaT, published_at_plausible=None))
    kept = json.loads(validate_frame(frame, "articles", "article_id", "r").quarantine.iloc[0]["row_json"])
    assert kept["published_at"] is None and kept["published_ts"] is None and kept["published_at_plausible"] is None


def test_quarantine_rows_keep_their_own_contract():
    bad = validate_frame(articles(article(0, title="")), "articles", "article_id", "r").quarantine
    assert validate_frame(bad, "quarantine", "row_key", "r").quarantine.empty
