"""The contracts between the stages, the storage and the flows for a run's load: what a batch
carries (`RunBatch`), what its load reports (`LoadReport`), what earlier runs learnt of a URL
(`KnownUrl`), the summary's columns, and the one rule both the row shaping (`tasks.rows`) and the
load (`warehouse.load`) apply when an article arrives from two URLs (`prefer_canonical`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

SUMMARY_COLUMNS = ("discovered", "fetched", "new", "updated", "not_modified", "quarantined", "skipped", "errors")
STAGED_HASH = "_content_hash"   # staged mentions/events: the content hash of their article's copy


@dataclass
class RunBatch:
    """Everything one batch of a run writes."""

    run_id: str
    pages: pd.DataFrame
    articles: pd.DataFrame
    entities: pd.DataFrame
    mentions: pd.DataFrame
    events: pd.DataFrame
    fetch_log: pd.DataFrame
    url_state: pd.DataFrame
    quarantine: pd.DataFrame
    discovered: dict[str, int] = field(default_factory=dict)
    redo: bool = False   # reprocess/replay: the same page made again by newer code replaces what is stored

    def article_keys(self) -> tuple[set[str], set[str]]:
        """(article ids this batch loads, article ids it quarantines)."""
        valid = set(self.articles["article_id"]) if not self.articles.empty else set()
        held = self.quarantine
        quarantined = set(held.loc[held["table_name"] == "articles", "row_key"]) if not held.empty else set()
        return valid, quarantined


@dataclass
class LoadReport:
    """What landed, per source and in total."""

    per_source: dict[str, dict[str, int]]
    table_counts: dict[str, int]
    inserted: dict[str, int]

    def totals(self) -> dict[str, int]:
        return totals_of(self.per_source)


@dataclass(frozen=True)
class KnownUrl:
    """What earlier runs learnt about a page URL that became an article."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None
    article_id: str


def totals_of(per_source: dict[str, dict[str, int]]) -> dict[str, int]:
    """The run's totals: every summary column summed over the sources."""
    out = Counter()
    for row in per_source.values():
        out.update(row)
    return {k: out.get(k, 0) for k in SUMMARY_COLUMNS}


def prefer_canonical(articles: pd.DataFrame) -> pd.DataFrame:
    """One row per article_id: the copy fetched at its canonical URL, else the last one."""
    at_canonical = articles["url"] == articles["canonical_url"]
    articles = articles.assign(_at_canonical=at_canonical).sort_values("_at_canonical", kind="stable")
    return articles.drop_duplicates("article_id", keep="last").drop(columns="_at_canonical").reset_index(drop=True)
