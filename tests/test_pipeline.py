"""End to end: the real ingest flow (Prefect test harness) on the sample site served on loopback,
into a real DuckDB file, checked against samples/expected.json; then a rerun that must add nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import rows as query_db
from wirehouse.tasks import gazetteer
from wirehouse.warehouse import duckdb_adapter

# Every test reads real ingest flow runs of the sample site (the session's `runs`).
pytestmark = pytest.mark.slow

EXPECTED = json.loads((Path(__file__).resolve().parents[1] / "samples" / "expected.json").read_text(encoding="utf-8"))
TABLES = ("articles", "entities", "mentions", "events", "pages", "quarantine")
GOLD = [a for a in EXPECTED["articles"] if "gold" in a]


@pytest.fixture(scope="session")
def runs(prefect_harness, sample_site, sample_sources, tmp_path_factory):
    from wirehouse.flows.ingest import ingest

    db = str(tmp_path_factory.mktemp("wh") / "wirehouse.duckdb")
    first = ingest(sources_file=str(sample_sources), db_path=db, return_state=True)
    con = duckdb_adapter.connect(db, read_only=True)
    counts_after_first = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    con.close()
    second = ingest(sources_file=str(sample_sources), db_path=db, return_state=True)
    return {"db": db, "first": first, "second": second, "counts_after_first": counts_after_first, "bases": sample_site.base_urls}


def url(runs, publisher, path):
    return runs["bases"][publisher] + path


def query(runs, sql, params=None):
    return query_db(runs["db"], sql, params)


def test_runs_complete(runs):
    assert runs["first"].is_completed(), runs["first"].message
    assert runs["second"].is_completed(), runs["second"].message
    assert runs["first"].result()["totals"]["new"] == len(EXPECTED["articles"])


def test_every_article_exactly_once_with_title_and_date(runs):
    rows = query(runs, "SELECT canonical_url, title, published_at, text, source FROM articles")
    by_url = {r[0]: r for r in rows}
    assert len(rows) == len(EXPECTED["articles"])
    for article in EXPECTED["articles"]:
        row = by_url.get(url(runs, article["publisher"], article["path"]))
        assert row is not None, article["path"]
        assert row[1] == article["title"]
        assert (row[2].isoformat() if row[2] else None) == article["published"], article["path"]
        assert row[4] == article["publisher"]
        for snippet in article["body_snippets"]:
            assert snippet in row[3], (article["path"], snippet)


def test_no_boilerplate_in_text(runs):
    for (text,) in query(runs, "SELECT text FROM articles"):
        for phrase in EXPECTED["boilerplate"]:
            assert phrase not in text


def test_cp1252_page_decoded(runs):
    trap = EXPECTED["traps"]["cp1252"]
    (text,) = query(runs, "SELECT text FROM articles WHERE url = ?", [url(runs, trap["publisher"], trap["path"])])[0]
    assert "â€" not in text and "\ufffd" not in text
    article = next(a for a in EXPECTED["articles"] if a["path"] == trap["path"])
    assert article["body_snippets"][0] in text


def test_republished_story_points_at_original(runs):
    trap = EXPECTED["traps"]["republished"]
    copy = query(runs, "SELECT canonical_url, duplicate_of FROM articles WHERE url = ?", [url(runs, trap["publisher"], trap["path"])])
    original = query(runs, "SELECT article_id FROM articles WHERE url = ?", [url(runs, trap["original"]["publisher"], trap["original"]["path"])])
    # the cross-site canonical is ignored: the copy keeps its own URL, and is marked a duplicate
    assert copy[0][0] == url(runs, trap["publisher"], trap["path"])
    assert copy[0][1] == original[0][0]


def test_traps_end_as_expected_in_fetch_log(runs):
    run_id = runs["first"].result()["run_id"]
    log = {
        (r[0], r[1]): (r[2], r[3], r[4])
        for r in query(runs, "SELECT url, kind, outcome, disposition, reason FROM fetch_log WHERE run_id = ?", [run_id])
    }
    t = EXPECTED["traps"]
    assert log[(url(runs, "horizon-brief", t["dead_link"]["path"]), "page")][:2] == ("error", "error")
    assert log[(url(runs, "horizon-brief", t["robots"]["path"]), "page")] == ("robots", "skipped", "robots")
    assert log[(url(runs, "meridian", t["too_large"]["path"]), "page")] == ("too_large", "skipped", "too_large")
    assert log[(url(runs, "meridian", t["non_article"]["path"]), "page")] == ("ok", "skipped", "not an article")
    assert log[(url(runs, "meridian", t["canonical_pair"]["duplicate"]), "page")][1] == "article"
    # every page URL has exactly one row and one disposition; tracking duplicates were never fetched
    page_urls = [k[0] for k in log if k[1] == "page"]
    assert len(page_urls) == len(set(page_urls))
    assert not any("utm_" in u or "fbclid" in u for u in page_urls)


def test_rerun_adds_nothing(runs):
    after = {t: query(runs, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert after == runs["counts_after_first"]
    totals = runs["second"].result()["totals"]
    assert totals["new"] == 0 and totals["updated"] == 0
    assert totals["not_modified"] >= len(EXPECTED["articles"])
    statuses = [r[0] for r in query(runs, "SELECT status FROM runs ORDER BY started_at")]
    assert statuses == ["completed", "completed"]
    # A 304 keeps what the URL is known as, so the next run asks conditionally again.
    assert query(runs, "SELECT count(*) FROM url_state WHERE last_outcome = 'not_modified' AND article_id IS NULL")[0][0] == 0


def test_unchanged_200_is_not_processed_again(runs, sample_site, sample_sources, tmp_path):
    """A server that ignores conditional requests answers 200 with the same bytes: the content hash
    says so, and nothing is extracted, annotated or written again."""
    import shutil

    from wirehouse.flows.ingest import ingest

    db = str(tmp_path / "copy.duckdb")
    shutil.copy(runs["db"], db)
    sample_site.conditional = False
    try:
        state = ingest(sources_file=str(sample_sources), db_path=db, return_state=True)
    finally:
        sample_site.conditional = True
    summary = state.result()
    assert summary["totals"]["new"] == 0 and summary["totals"]["updated"] == 0
    assert {t: query_db(db, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES} == runs["counts_after_first"]
    dispositions = dict(query_db(db, (
        "SELECT coalesce(reason, disposition), count(*) FROM fetch_log"
        " WHERE run_id = ? AND kind = 'page' AND status = 200 AND disposition IN ('article', 'not_modified')"
        " GROUP BY ALL"), [summary["run_id"]]))
    assert set(dispositions) == {"same content"}   # no page became an "article" row again
    assert dispositions["same content"] >= len(EXPECTED["articles"])
    assert query_db(db, "SELECT count(*) FROM articles WHERE run_id = ?", [summary["run_id"]])[0][0] == 0


def test_entities_found(runs):
    (mentions,) = query(runs, "SELECT count(*) FROM mentions")[0]
    assert mentions > 5 * len(EXPECTED["articles"])
    gpes = {r[0] for r in query(runs, "SELECT name FROM entities WHERE type = 'GPE'")}
    assert {"Russia", "China"} & gpes


def test_events_coded(runs):
    (events,) = query(runs, "SELECT count(*) FROM events")[0]
    assert events >= len(EXPECTED["articles"])
    (doubled,) = query(runs, "SELECT count(*) - count(DISTINCT event_id) FROM events")[0]
    assert doubled == 0
    (orphans,) = query(runs, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = e.article_id)")[0]
    assert orphans == 0


def _gold_article_id(runs, article):
    rows = query(runs, "SELECT article_id, text FROM articles WHERE url = ?", [url(runs, article["publisher"], article["path"])])
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("article", GOLD, ids=lambda a: a["path"])
def test_gold_entities(runs, article):
    article_id, text = _gold_article_id(runs, article)
    rows = query(
        runs,
        "SELECT m.text, m.label, m.start_char, m.end_char, m.sentence_start, m.sentence_end, e.name, e.country_code, "
        "e.geonames_id, e.igo_code, e.role, e.sector, e.latitude FROM mentions m JOIN entities e USING (entity_id) "
        "WHERE m.article_id = ?",
        [article_id],
    )
    found = [
        dict(zip(("text", "type", "start", "end", "s_start", "s_end", "name", "country_code", "geonames_id", "igo_code", "role", "sector", "latitude"), r))
        for r in rows
    ]
    for m in found:
        assert text[m["start"] : m["end"]] == m["text"]
        assert m["s_start"] <= m["start"] and m["end"] <= m["s_end"]
    for expected in article["gold"]["entities"]:
        matches = [m for m in found if m["text"] == expected["text"]]
        assert matches, f"no mention {expected['text']!r}"
        for m in matches:
            for key, value in expected.items():
                assert m[key] == value, (expected["text"], key, m[key], value)
            if m["geonames_id"] is not None and gazetteer.load().country(m["name"]) is None:
                assert m["latitude"] is not None   # places below countries carry coordinates


@pytest.mark.parametrize("article", GOLD, ids=lambda a: a["path"])
def test_gold_events_exactly(runs, article):
    article_id, _ = _gold_article_id(runs, article)
    rows = query(
        runs,
        "SELECT cameo_code, actor1_name, actor1_country_code, actor2_name, actor2_country_code, "
        "strftime(event_date, '%Y-%m-%d'), date_precision, location_name, plover_type, quad_class, goldstein, "
        "cameo_root, sentence, trigger FROM events WHERE article_id = ?",
        [article_id],
    )
    got = sorted(
        (r[0], (r[1], r[2]) if r[1] else None, (r[3], r[4]) if r[3] else None, r[5], r[6], r[7]) for r in rows
    )
    want = sorted(
        (
            e["cameo_code"], tuple(e["actor1"]) if e["actor1"] else None, tuple(e["actor2"]) if e["actor2"] else None,
            e["event_date"], e["date_precision"], e["location"],
        )
        for e in article["gold"]["events"]
    )
    assert got == want
    for r in rows:
        assert r[11] == r[0][:2] and r[8] and r[9] in (1, 2, 3, 4) and -10 <= r[10] <= 10
        assert r[13] and r[12]


def test_worker_processes_load_the_same_rows(runs, sample_sources, tmp_path, monkeypatch):
    """The same run with extraction and annotation in two worker processes, streamed in small
    batches (each fetched, transformed and loaded on its own): identical rows."""
    from wirehouse.flows import ingest as ingest_module
    from wirehouse.flows.ingest import ingest

    monkeypatch.setenv("WIREHOUSE_BATCH_PAGES", "10")
    monkeypatch.setattr(ingest_module, "TRANSFORM_CHUNK", 4)
    monkeypatch.setenv("WIREHOUSE_WORKERS", "2")
    monkeypatch.setenv("WIREHOUSE_POOL_MIN_ITEMS", "1")
    db = str(tmp_path / "pooled.duckdb")
    state = ingest(sources_file=str(sample_sources), db_path=db, return_state=True)
    assert state.is_completed()
    counts = {t: query_db(db, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert counts == runs["counts_after_first"]
    for sql in ("SELECT event_id FROM events", "SELECT entity_id FROM entities", "SELECT article_id, content_hash, duplicate_of FROM articles"):
        assert set(query_db(db, sql)) == set(query(runs, sql))
    assert query_db(db, "SELECT count(*) FROM fetch_log WHERE kind = 'page'")[0][0] > 3 * 10   # several batches
    assert not any(Path(db + ".staging").glob("*/*")), "staged chunks are removed once loaded"


def test_dask_runner_loads_the_same_rows(runs, sample_sources, tmp_path):
    """`--runner dask`: the transform chunks run on a Dask LocalCluster (two worker processes);
    the single writer loads their staged Parquet. Same rows as the default runner."""
    from wirehouse.flows.ingest import ingest, task_runner

    db = str(tmp_path / "dask.duckdb")
    flow = ingest.with_options(task_runner=task_runner("dask", n_workers=2))
    state = flow(sources_file=str(sample_sources), db_path=db, return_state=True)
    assert state.is_completed(), state.message
    counts = {t: query_db(db, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert counts == runs["counts_after_first"]
    for sql in ("SELECT event_id FROM events", "SELECT entity_id, country_code, role FROM entities", "SELECT article_id, content_hash FROM articles"):
        assert set(query_db(db, sql)) == set(query(runs, sql))


@pytest.mark.parametrize("which", ["first", "second"])
def test_accounting_adds_up(runs, which):
    """fetched = articles + not modified + quarantined + skipped + errors, per run, from the summary
    and from fetch_log alike; new + updated never exceed the article dispositions."""
    summary = runs[which].result()
    totals = summary["totals"]
    by_disposition = dict(query(runs, (
        "SELECT disposition, count(*) FROM fetch_log WHERE run_id = ? AND kind = 'page' GROUP BY ALL"), [summary["run_id"]]))
    assert totals["fetched"] == sum(by_disposition.values())
    for column, disposition in (("not_modified", "not_modified"), ("quarantined", "quarantined"), ("skipped", "skipped")):
        assert totals[column] == by_disposition.get(disposition, 0)
    page_errors = by_disposition.get("error", 0)
    articles = by_disposition.get("article", 0)
    assert totals["fetched"] == articles + totals["not_modified"] + totals["quarantined"] + totals["skipped"] + page_errors
    assert totals["new"] + totals["updated"] <= articles


def test_run_publishes_summary_health_top_findings_and_progress(runs):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read(flow_run_id):
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
            return {a.key: a for a in found}

    artifacts = asyncio.run(read(runs["first"].state_details.flow_run_id))
    assert {"ingest-summary", "ingest-health", "ingest-top-entities", "ingest-top-events", "ingest-progress"} <= set(artifacts)
    summary = json.loads(artifacts["ingest-summary"].data) if isinstance(artifacts["ingest-summary"].data, str) else artifacts["ingest-summary"].data
    by_source = {row["source"]: row for row in summary}
    assert by_source["TOTAL"]["new"] == len(EXPECTED["articles"]) and by_source["meridian"]["seconds"] > 0
    health = artifacts["ingest-health"].data
    health = json.loads(health) if isinstance(health, str) else health
    assert {row["source"] for row in health} == {"meridian", "baltic-desk", "horizon-brief"}
    assert all(0 <= row["empty_share"] <= 1 and row["layout_change_likely"] is None for row in health)
    entities = artifacts["ingest-top-entities"].data
    entities = json.loads(entities) if isinstance(entities, str) else entities
    assert entities[0]["name"] == "Russia"
    assert artifacts["ingest-progress"].data == 100.0


def test_stage_logs_reach_the_run_logs_and_chatty_libraries_do_not(runs):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read(flow_run_id):
        async with get_client() as client:
            return await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))

    logs = asyncio.run(read(runs["first"].state_details.flow_run_id))
    by_logger = {}
    for record in logs:
        by_logger.setdefault(record.name, []).append(record)
    assert any("candidate URLs" in r.message for r in by_logger.get("wirehouse.tasks.discover", [])), sorted(by_logger)
    # the fetcher logs from its own threads (one per host); they carry the run's context
    assert by_logger.get("wirehouse.tasks.fetch"), sorted(by_logger)
    assert not any(r.name.startswith(("trafilatura", "htmldate", "urllib3")) and r.level < 30 for r in logs)
