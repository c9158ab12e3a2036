"""Property: however pages arrive (order, batches, chunks, repeats, aliases, edits) and however often a
run is repeated, the warehouse holds each article once, and no mention or event twice.

The pages are real sample-site articles that went through the real transform stage once (spaCy
included); hypothesis then draws runs of batches of those staged chunks and loads them with the
load the flow uses (`staged_batch` + `load_batch`), checking the invariants after every batch.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wirehouse.tasks.fetch import content_hash
from wirehouse.warehouse.load import load_batch, staged_batch
from wirehouse.warehouse.runs import finish_run, start_run
from wirehouse.flows.transform import transform_pages
from wirehouse.warehouse import duckdb_adapter, staging
from wirehouse.samplesite import SITE_DIR

# Transforms the whole sample site (spaCy on every page), then many loads.
pytestmark = pytest.mark.slow

BASE = "http://news.test"
ARTICLES = (
    "2025/07/turkey-hosts-black-sea-demining-talks.html",
    "2026/03/arctic-council-resumes-working-groups.html",
    "2026/02/serbia-kosovo-border-incident-kfor.html",
    "2026/04/venezuela-guyana-essequibo-icj-hearing.html",
)
ALIAS = "print/turkey-hosts-black-sea-demining-talks.html"   # a print copy whose canonical is ARTICLES[0]
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def _page(path: str, edit: bool = False) -> dict:
    html = (SITE_DIR / "meridian" / path).read_text(encoding="utf-8").replace("{{BASE:meridian}}", BASE)
    if edit:  # a correction: the same article with a changed sentence
        html = html.replace("<p>", "<p>Updated: Russia and Ukraine met in Geneva on Monday. ", 1)
    body = html.encode("utf-8")
    return {"url": f"{BASE}/{path}", "final_url": f"{BASE}/{path}", "source": "meridian", "body": body, "encoding": "utf-8",
            "content_hash": content_hash(body), "content_type": "text/html", "fetched_at": NOW}


def _units() -> list[list[dict]]:
    """The chunks hypothesis picks from: single pages, an alias, an edit, and mixed chunks."""
    pages = [_page(p) for p in ARTICLES]
    alias, edited = _page(ALIAS), _page(ARTICLES[0], edit=True)
    return [[p] for p in pages] + [[alias], [edited], [alias, pages[0]], [pages[1], pages[2], pages[1]], [edited, alias]]


@pytest.fixture(scope="session")
def staged_units(tmp_path_factory):
    folder = staging.run_dir(tmp_path_factory.mktemp("units") / "w.duckdb", "units")
    units = [transform_pages(unit, "units", NOW, str(folder)) for unit in _units()]
    assert all(u.counts["articles"] for u in units), "every unit holds at least one article"
    return [u.staged for u in units]


def _invariants(db: Path) -> dict[str, int]:
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        assert one("SELECT count(*) = count(DISTINCT article_id) FROM articles")[0], "an article is doubled"
        assert one("SELECT count(*) = count(DISTINCT (article_id, start_char, end_char)) FROM mentions")[0], "a mention is doubled"
        assert one("SELECT count(*) = count(DISTINCT event_id) FROM events")[0], "an event is doubled"
        assert one("SELECT count(*) = count(DISTINCT entity_id) FROM entities")[0], "an entity is doubled"
        # Mentions belong to the stored copy of their article: the text at their offsets is theirs.
        stale = one(
            "SELECT count(*) FROM mentions m LEFT JOIN articles a USING (article_id)"
            " WHERE a.article_id IS NULL OR substr(a.text, m.start_char + 1, m.end_char - m.start_char) <> m.text"
        )[0]
        assert stale == 0, f"{stale} mentions point at another copy of their article"
        orphans = one("SELECT count(*) FROM events e LEFT JOIN articles a USING (article_id) WHERE a.article_id IS NULL")[0]
        assert orphans == 0, "an event outlived its article"
        return {t: one(f"SELECT count(*) FROM {t}")[0] for t in ("articles", "mentions", "events", "entities", "pages")}
    finally:
        con.close()


def _load_runs(db: Path, runs: list[list[list[int]]], units: list[str], first_run: int = 0) -> None:
    for number, batches in enumerate(runs, start=first_run):
        run_id = f"run-{number}"
        start_run(db, run_id, None, "sources.toml")
        for batch in batches:
            rows = staged_batch(run_id, [units[i] for i in batch], fetch_log=_empty(), url_state=_empty())
            # The transform stage stamps rows with the run that made them; these were staged once.
            rows.articles = rows.articles.assign(run_id=run_id)
            load_batch(db, rows, finish=False)
            _invariants(db)
        finish_run(db, run_id, {})


def _empty():
    import pandas as pd

    return pd.DataFrame()


CHUNKS = st.lists(st.integers(min_value=0, max_value=len(_units()) - 1), min_size=1, max_size=3)
RUNS = st.lists(st.lists(CHUNKS, min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(runs=RUNS)
def test_reruns_never_double_rows(staged_units, runs):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        _load_runs(db, runs, staged_units)
        after = _invariants(db)
        # Running the whole history again is a rerun of pages already stored: nothing is added.
        _load_runs(db, [[batch for batches in runs for batch in batches]], staged_units, first_run=len(runs))
        assert _invariants(db) == after
