"""One DataFrameModel per warehouse table. Validation is lazy: every failing row is reported."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

HEX16 = r"^[0-9a-f]{16}$"
HEX64 = r"^[0-9a-f]{64}$"
HTTP_URL = r"^https?://[^\s/]+(/\S*)?$"
MIN_ARTICLE_CHARS = 200          # below this a page is a stub, not an article
MAX_TITLE_CHARS = 500
# Publication dates before this are CMS placeholders or an archive's original dates, not web news.
EARLIEST_PLAUSIBLE_DATE = date(1995, 1, 1)

OUTCOMES = ["ok", "not_modified", "error", "blocked", "robots", "too_large", "not_html", "invalid_url"]
DISPOSITIONS = ["article", "not_modified", "quarantined", "skipped", "error", "discovery"]
FETCH_KINDS = ["page", "feed", "sitemap", "listing"]
ENTITY_TYPES = [
    "PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART", "LANGUAGE",
]
DATE_PRECISIONS = ["day", "week", "month", "year"]
PLOVER_TYPES = [   # PLOVER 2 event types
    "AGREE", "ACCUSE", "AID", "ASSAULT", "COERCE", "CONCEDE", "CONSULT", "COOPERATE", "MOBILIZE",
    "PROTEST", "REJECT", "REQUEST", "RETREAT", "SANCTION", "SUPPORT", "THREATEN",
]
# CAMEO's 20 root codes and their names: the one list; the `cameo_roots` view (004_views.sql) is checked
# against it by tests/test_warehouse.py, the event coder names roots from it.
CAMEO_ROOTS = {
    "01": "Make public statement", "02": "Appeal", "03": "Express intent to cooperate", "04": "Consult",
    "05": "Engage in diplomatic cooperation", "06": "Engage in material cooperation", "07": "Provide aid",
    "08": "Yield", "09": "Investigate", "10": "Demand", "11": "Disapprove", "12": "Reject", "13": "Threaten",
    "14": "Protest", "15": "Exhibit force posture", "16": "Reduce relations", "17": "Coerce", "18": "Assault",
    "19": "Fight", "20": "Use unconventional mass violence",
}
ALPHA3 = r"^[A-Z]{3}$"


class _RowContract(pa.DataFrameModel):
    class Config:
        strict = False  # extra working columns may ride along; the upsert picks table columns
        coerce = False


def latest_plausible_date() -> date:
    """Tomorrow in UTC: a page's local calendar day runs up to a day ahead of UTC."""
    return datetime.now(timezone.utc).date() + timedelta(days=1)


def plausible_date(day: date) -> bool:
    """Whether a publication date is believable: from `EARLIEST_PLAUSIBLE_DATE` to `latest_plausible_date`.

    Args:
        day: the page's date.

    Returns:
        False for a 1800 or 2099 date; such a date is kept and flagged (``published_at_plausible``),
        never dropped.
    """
    return EARLIEST_PLAUSIBLE_DATE <= day <= latest_plausible_date()


class ArticleSchema(_RowContract):
    article_id: Series[str] = pa.Field(str_matches=HEX16, unique=True)
    url: Series[str] = pa.Field(str_matches=HTTP_URL)
    canonical_url: Series[str] = pa.Field(str_matches=HTTP_URL)
    source: Series[str] = pa.Field(str_length={"min_value": 1})
    title: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": MAX_TITLE_CHARS})
    author: Series[str] = pa.Field(nullable=True)
    published_at: Series[pd.Timestamp] = pa.Field(nullable=True)   # the page's local calendar day
    published_ts: Series[Annotated[pd.DatetimeTZDtype, "us", "UTC"]] = pa.Field(nullable=True)   # the instant, when given
    published_at_plausible: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    language: Series[str] = pa.Field(nullable=True, str_matches=r"^[a-z]{2,3}$")
    text: Series[str] = pa.Field(str_length={"min_value": MIN_ARTICLE_CHARS})
    word_count: Series[int] = pa.Field(ge=1)
    text_hash: Series[str] = pa.Field(str_matches=HEX64)
    content_hash: Series[str] = pa.Field(str_matches=HEX64)
    extractor: Series[str] = pa.Field(str_length={"min_value": 1})
    extractor_version: Series[str] = pa.Field(str_length={"min_value": 1})
    # Characters the annotator read (text past tasks.annotate.MAX_TEXT_CHARS is not); NA: not annotated.
    annotated_chars: Optional[Series[pd.Int64Dtype]] = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check(name="annotated_chars_within_text")
    def _annotated_within_text(cls, df: pd.DataFrame) -> pd.Series:
        if "annotated_chars" not in df:
            return pd.Series(True, index=df.index)
        return df["annotated_chars"].isna() | (df["annotated_chars"] <= df["text"].str.len())

    @pa.dataframe_check(name="published_at_flagged")
    def _published_flagged(cls, df: pd.DataFrame) -> pd.Series:
        """Every date carries its plausibility flag (an implausible date is kept and flagged, not lost)."""
        return df["published_at_plausible"].isna() == df["published_at"].isna()

    @pa.check("title", name="title_not_blank")
    def _title_not_blank(cls, series: pd.Series) -> pd.Series:
        return series.str.strip().str.len() > 0


class PageSchema(_RowContract):
    content_hash: Series[str] = pa.Field(str_matches=HEX64, unique=True)
    url: Series[str] = pa.Field(str_matches=HTTP_URL)
    final_url: Series[str] = pa.Field(str_matches=HTTP_URL)
    bytes: Series[int] = pa.Field(ge=0)


class EntitySchema(_RowContract):
    entity_id: Series[str] = pa.Field(str_matches=HEX16, unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 300})
    type: Series[str] = pa.Field(isin=ENTITY_TYPES)
    country_code: Series[str] = pa.Field(nullable=True, str_matches=ALPHA3)
    geonames_id: Series[pd.Int64Dtype()] = pa.Field(nullable=True, ge=1)  # type: ignore[valid-type]
    latitude: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    longitude: Series[float] = pa.Field(nullable=True, ge=-180, le=180)
    igo_code: Series[str] = pa.Field(nullable=True, str_matches=r"^[A-Z0-9]{2,10}$")
    sector: Series[str] = pa.Field(nullable=True)
    role: Series[str] = pa.Field(nullable=True, str_length={"max_value": 200})


class MentionSchema(_RowContract):
    article_id: Series[str] = pa.Field(str_matches=HEX16)
    entity_id: Series[str] = pa.Field(str_matches=HEX16)
    text: Series[str] = pa.Field(str_length={"min_value": 1})
    start_char: Series[int] = pa.Field(ge=0)
    end_char: Series[int] = pa.Field(ge=1)
    label: Series[str] = pa.Field(isin=ENTITY_TYPES)
    sentence_start: Series[int] = pa.Field(ge=0)
    sentence_end: Series[int] = pa.Field(ge=1)

    @pa.dataframe_check(name="span_is_ordered")
    def _span_ordered(cls, df: pd.DataFrame) -> pd.Series:
        return df["end_char"] > df["start_char"]

    @pa.dataframe_check(name="text_matches_span_length")
    def _span_length(cls, df: pd.DataFrame) -> pd.Series:
        return df["text"].str.len() == (df["end_char"] - df["start_char"])

    @pa.dataframe_check(name="mention_inside_sentence")
    def _inside_sentence(cls, df: pd.DataFrame) -> pd.Series:
        return (df["sentence_start"] <= df["start_char"]) & (df["end_char"] <= df["sentence_end"])


class EventSchema(_RowContract):
    event_id: Series[str] = pa.Field(str_matches=HEX16, unique=True)
    article_id: Series[str] = pa.Field(str_matches=HEX16)
    sentence_index: Series[int] = pa.Field(ge=0)
    sentence: Series[str] = pa.Field(str_length={"min_value": 1})
    trigger: Series[str] = pa.Field(str_length={"min_value": 1})
    trigger_start: Series[int] = pa.Field(ge=0)
    event_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    date_precision: Series[str] = pa.Field(nullable=True, isin=DATE_PRECISIONS)
    cameo_code: Series[str] = pa.Field(str_matches=r"^\d{3,4}$")
    cameo_root: Series[str] = pa.Field(isin=list(CAMEO_ROOTS))
    plover_type: Series[str] = pa.Field(nullable=True, isin=PLOVER_TYPES)
    quad_class: Series[int] = pa.Field(isin=[1, 2, 3, 4])
    goldstein: Series[float] = pa.Field(ge=-10, le=10)
    confidence: Series[float] = pa.Field(ge=0, le=1)
    actor1_country_code: Series[str] = pa.Field(nullable=True, str_matches=ALPHA3)
    actor2_country_code: Series[str] = pa.Field(nullable=True, str_matches=ALPHA3)
    actor2_implied: Series[bool]   # the target is not named: where it happened, or the actor's own country
    location_country_code: Series[str] = pa.Field(nullable=True, str_matches=ALPHA3)
    coder_version: Series[str] = pa.Field(str_length={"min_value": 1})

    @pa.dataframe_check(name="code_matches_root")
    def _code_root(cls, df: pd.DataFrame) -> pd.Series:
        return df["cameo_code"].str[:2] == df["cameo_root"]

    @pa.dataframe_check(name="has_an_actor")
    def _has_actor(cls, df: pd.DataFrame) -> pd.Series:
        return df["actor1_text"].notna() | df["actor2_text"].notna()

    @pa.dataframe_check(name="implied_target_is_a_country")
    def _implied_target(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["actor2_implied"] | (df["actor2_country_code"].notna() & df["actor2_text"].isna())


class FetchLogSchema(_RowContract):
    run_id: Series[str] = pa.Field(str_length={"min_value": 1})
    url: Series[str] = pa.Field(str_length={"min_value": 1})
    source: Series[str] = pa.Field(str_length={"min_value": 1})
    kind: Series[str] = pa.Field(isin=FETCH_KINDS)
    outcome: Series[str] = pa.Field(isin=OUTCOMES)
    disposition: Series[str] = pa.Field(isin=DISPOSITIONS)
    bytes: Series[int] = pa.Field(ge=0)
    elapsed_ms: Series[float] = pa.Field(ge=0)
    attempts: Series[int] = pa.Field(ge=0)


class QuarantineSchema(_RowContract):
    table_name: Series[str] = pa.Field(str_length={"min_value": 1})
    row_key: Series[str] = pa.Field(str_length={"min_value": 1})
    failed_checks: Series[str] = pa.Field(str_length={"min_value": 1})
    run_id: Series[str] = pa.Field(str_length={"min_value": 1})


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "articles": ArticleSchema,
    "pages": PageSchema,
    "entities": EntitySchema,
    "mentions": MentionSchema,
    "events": EventSchema,
    "fetch_log": FetchLogSchema,
    "quarantine": QuarantineSchema,
}
