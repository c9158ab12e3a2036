"""The row shaping (`tasks.rows`) and the load's transactional, idempotent write (`warehouse.load`)
on a real DuckDB file."""

import hashlib
from datetime import datetime, timezone

import pandas as pd
import pytest

from wirehouse.schemas.batches import RunBatch
from wirehouse.tasks.fetch import FetchRequest, FetchResult
from wirehouse.tasks.rows import article_rows, fetch_log_rows, raw_page_row, text_hash, url_state_rows
from wirehouse.tasks.validate import empty_quarantine
from wirehouse.warehouse import duckdb_adapter
from wirehouse.warehouse.load import load_batch
from wirehouse.warehouse.runs import start_run
from wirehouse.urls import article_id

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
BODY = "<html><body><p>{}</p></body></html>"


def page_rows(results: list[FetchResult]) -> pd.DataFrame:
    """Raw pages (one per content hash) for the fetched pages, as the transform stage stages them."""
    rows = {r.content_hash: raw_page_row(vars(r)) for r in results if r.outcome == "ok" and r.body is not None and r.kind == "page"}
    return pd.DataFrame(list(rows.values())).astype({"bytes": "int64"})


def result(url, outcome="ok", kind="page", body=None, status=200, etag=None):
    raw = body.encode() if body is not None else None
    return FetchResult(
        url=url, final_url=url, source="s", kind=kind, outcome=outcome, status=status, error=None if outcome == "ok" else "x",
        content_type="text/html", encoding="utf-8", body=raw, text=body, etag=etag, last_modified=None,
        bytes=len(raw or b""), elapsed=0.01, fetched_at=NOW, attempts=1,
    )


def extracted(url, body, canonical=None, is_article=True, text="The minister met his counterpart. " * 20):
    return {
        "url": url, "final_url": url, "source": "s", "canonical_url": canonical or url, "is_article": is_article,
        "extract_error": None, "title": "T", "text": text, "published_at": None, "language": "en",
        "content_hash": hashlib.sha256(body.encode()).hexdigest(), "extractor": "trafilatura", "extractor_version": "2.3.1",
    }


def test_canonical_pair_becomes_one_row_from_the_canonical_url():
    a, b = BODY.format("a"), BODY.format("b")
    rows = article_rows(
        [extracted("https://x.org/print/s", b, canonical="https://x.org/2026/s"), extracted("https://x.org/2026/s", a)],
        "run", NOW,
    )
    assert len(rows) == 1 and rows.loc[0, "url"] == "https://x.org/2026/s"


def test_text_hash_ignores_case_punctuation_and_short_lines():
    story = "The ministers met in Vilnius on Monday to discuss air defence.\nThey agreed to meet again in May next year."
    assert text_hash(story) == text_hash("5 May 2026 — Anna Nowak\n" + story.upper().replace(".", "!"))
    assert text_hash(story) != text_hash(story.replace("Monday", "Tuesday"))


def test_every_fetch_gets_one_disposition():
    ok, stub = BODY.format("ok"), BODY.format("stub")
    results = [
        result("https://x.org/feed", kind="feed", body="<rss/>"),
        result("https://x.org/a", body=ok),
        result("https://x.org/stub", body=stub),
        result("https://x.org/q", body=BODY.format("q")),
        result("https://x.org/gone", outcome="error", status=404),
        result("https://x.org/private/p", outcome="robots", status=None),
        result("https://x.org/same", outcome="not_modified", status=304),
    ]
    ex = [extracted("https://x.org/a", ok), extracted("https://x.org/stub", stub, is_article=False), extracted("https://x.org/q", BODY.format("q"))]
    frame = fetch_log_rows(
        "run", results, ex,
        valid_ids={article_id("https://x.org/a")},
        quarantined_ids={article_id("https://x.org/q")},
    )
    got = dict(zip(frame["url"], zip(frame["disposition"], frame["reason"].fillna(""))))
    assert got == {
        "https://x.org/feed": ("discovery", ""),
        "https://x.org/a": ("article", ""),
        "https://x.org/stub": ("skipped", "not an article"),
        "https://x.org/q": ("quarantined", ""),
        "https://x.org/gone": ("error", ""),
        "https://x.org/private/p": ("skipped", "robots"),
        "https://x.org/same": ("not_modified", ""),
    }


def test_alias_copy_never_replaces_the_canonical_row(tmp_path):
    db = tmp_path / "w.duckdb"
    canonical, alias = BODY.format("canonical"), BODY.format("print view")
    for run_id, url, body in (("r1", "https://x.org/2026/s", canonical), ("r2", "https://x.org/print/s", alias)):
        results = [result(url, body=body)]
        ex = [extracted(url, body, canonical="https://x.org/2026/s")]
        articles = article_rows(ex, run_id, NOW)
        start_run(db, run_id, None, "x")
        report = load_batch(db, RunBatch(
            run_id=run_id, pages=page_rows(results), articles=articles, entities=pd.DataFrame(), mentions=pd.DataFrame(),
            events=pd.DataFrame(), fetch_log=fetch_log_rows(run_id, results, ex, set(articles["article_id"]), set()),
            url_state=pd.DataFrame(), quarantine=empty_quarantine(),
        ))
    assert report.totals()["updated"] == 0
    con = duckdb_adapter.connect(db, read_only=True)
    assert con.execute("SELECT url FROM articles").fetchall() == [("https://x.org/2026/s",)]
    con.close()


def test_validators_survive_a_304_without_them():
    request = FetchRequest("https://x.org/a", "s", etag='"v1"', last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    frame = url_state_rows([request], [result("https://x.org/a", outcome="not_modified", status=304)], [], set())
    assert frame.loc[0, "etag"] == '"v1"' and frame.loc[0, "last_modified"].startswith("Mon")


def _batch(run_id, bodies):
    results = [result(f"https://x.org/{i}", body=b, etag=f'"{i}"') for i, b in enumerate(bodies)]
    ex = [extracted(r.url, b) | {"text": f"Story {i}: " + "The minister met his counterpart. " * 20} for i, (r, b) in enumerate(zip(results, bodies))]
    articles = article_rows(ex, run_id, NOW)
    valid = set(articles["article_id"])
    mentions = pd.DataFrame(
        {"article_id": articles["article_id"], "entity_id": "e" * 16, "text": "Story", "start_char": 0, "end_char": 5, "label": "ORG", "sentence": 0}
    )
    entities = pd.DataFrame({"entity_id": ["e" * 16], "name": ["Story"], "type": ["ORG"], "country_code": [None], "geonames_id": [None]})
    requests = [FetchRequest(r.url, "s") for r in results]
    return RunBatch(
        run_id=run_id, pages=page_rows(results), articles=articles, entities=entities, mentions=mentions, events=pd.DataFrame(),
        fetch_log=fetch_log_rows(run_id, results, ex, valid, set()), url_state=url_state_rows(requests, results, ex, valid),
        quarantine=empty_quarantine(), discovered={"s": len(bodies)},
    )


@pytest.mark.slow   # over 2 s
def test_load_twice_adds_nothing_and_updates_changed(tmp_path):
    db = tmp_path / "w.duckdb"
    bodies = [BODY.format(i) for i in range(3)]
    start_run(db, "r1", None, "x")
    first = load_batch(db, _batch("r1", bodies))
    assert first.totals()["new"] == 3 and first.table_counts["articles"] == 3 and first.table_counts["mentions"] == 3
    start_run(db, "r2", None, "x")
    second = load_batch(db, _batch("r2", bodies))
    assert second.totals()["new"] == 0 and second.totals()["updated"] == 0
    assert {k: v for k, v in second.table_counts.items() if k != "fetch_log"} == {
        k: v for k, v in first.table_counts.items() if k != "fetch_log"
    }
    start_run(db, "r3", None, "x")
    third = load_batch(db, _batch("r3", [BODY.format("changed")] + bodies[1:]))
    assert third.totals()["updated"] == 1 and third.table_counts["articles"] == 3 and third.table_counts["mentions"] == 3
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        assert con.execute("SELECT status FROM runs WHERE run_id = 'r3'").fetchone()[0] == "completed"
        raw = con.execute("SELECT raw_gz FROM pages LIMIT 1").fetchone()[0]
    finally:
        con.close()
    import gzip

    assert gzip.decompress(raw).startswith(b"<html>")


def _annotated_batch(run_id, texts):
    from wirehouse.tasks.annotate import annotation_rows

    bodies = [BODY.format(t) for t in texts]
    results = [result(f"https://x.org/{i}", body=b) for i, b in enumerate(bodies)]
    ex = [extracted(r.url, b, text=t) | {"published_at": "2021-08-13"} for r, b, t in zip(results, bodies, texts)]
    articles = article_rows(ex, run_id, NOW)
    entities, mentions, events = annotation_rows(articles)
    valid = set(articles["article_id"])
    requests = [FetchRequest(r.url, "s") for r in results]
    return RunBatch(
        run_id=run_id, pages=page_rows(results), articles=articles, entities=entities, mentions=mentions, events=events,
        fetch_log=fetch_log_rows(run_id, results, ex, valid, set()), url_state=url_state_rows(requests, results, ex, valid),
        quarantine=empty_quarantine(), discovered={"s": len(bodies)},
    )


@pytest.mark.slow   # about 6 s
def test_events_and_linked_entities_load_idempotently(tmp_path):
    db = tmp_path / "w.duckdb"
    padding = " Analysts in Brussels expect more meetings of this kind before the end of the year."
    texts = [
        "On August 11, Mullah Abdul Ghani Baradar met the Russian envoy Zamir Kabulov in Doha. Baradar said talks would go on." + padding,
        "In July, a Taliban delegation visited Ashgabat. Turkmenistan shares a border with Afghanistan." + padding,
    ]
    counts = []
    for run_id, batch_texts in (("r1", texts), ("r2", texts), ("r3", [texts[0].replace("August 11", "August 12"), texts[1]])):
        start_run(db, run_id, None, "x")
        report = load_batch(db, _annotated_batch(run_id, batch_texts))
        counts.append({t: report.table_counts[t] for t in ("articles", "entities", "mentions", "events")})
    assert counts[0]["events"] >= 2 and counts[0]["mentions"] >= 8
    assert counts[1] == counts[0]                      # a rerun doubles nothing
    assert counts[2] == counts[0]                      # a changed article's events are replaced, not added to
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) - count(DISTINCT event_id) FROM events").fetchone()[0] == 0
        dates = {r[0] for r in con.execute("SELECT strftime(event_date, '%Y-%m-%d') FROM events WHERE cameo_code LIKE '04%' AND trigger = 'met'").fetchall()}
        assert dates == {"2021-08-12"}
        ashgabat = con.execute("SELECT geonames_id, country_code, latitude FROM entities WHERE name = 'Ashgabat'").fetchone()
        assert ashgabat[:2] == (162183, "TKM") and ashgabat[2] is not None
    finally:
        con.close()


def test_entity_rows_keep_what_is_known_and_fill_what_was_not(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb_adapter.connect(db)
    try:
        duckdb_adapter.migrate(con)
        row = {"entity_id": "a" * 16, "name": "Vepa Hajiev", "type": "PERSON", "country_code": None, "role": None}
        duckdb_adapter.upsert(con, "entities", pd.DataFrame([row]), update=("country_code", "role"), fill_only=True)
        duckdb_adapter.upsert(con, "entities", pd.DataFrame([row | {"country_code": "TKM", "role": "Deputy Foreign Minister"}]), update=("country_code", "role"), fill_only=True)
        duckdb_adapter.upsert(con, "entities", pd.DataFrame([row | {"country_code": "UZB"}]), update=("country_code", "role"), fill_only=True)
        assert con.execute("SELECT country_code, role FROM entities").fetchall() == [("TKM", "Deputy Foreign Minister")]
    finally:
        con.close()


def test_staged_chunks_keep_the_canonical_copy_and_only_its_mentions(tmp_path):
    """An article reached from an alias URL in one chunk and its canonical URL in another: the load
    keeps the canonical copy and only that copy's mentions; entities merge their known values."""
    from wirehouse.schemas.batches import STAGED_HASH
    from wirehouse.warehouse.load import staged_batch
    from wirehouse.warehouse import staging

    canonical, alias = "https://x.org/2026/s", "https://x.org/print/s"
    a_body, c_body = BODY.format("print"), BODY.format("canonical")
    alias_rows = article_rows([extracted(alias, a_body, canonical=canonical)], "r", NOW)
    canonical_rows = article_rows([extracted(canonical, c_body)], "r", NOW)
    aid = alias_rows.loc[0, "article_id"]
    assert aid == canonical_rows.loc[0, "article_id"]

    def mentions(start, digest):
        return pd.DataFrame({"article_id": [aid], "entity_id": ["e" * 16], "text": ["Kabul"], "start_char": [start],
                             "end_char": [start + 5], "label": ["GPE"], "sentence": [0], STAGED_HASH: [digest]})

    run = staging.run_dir(tmp_path / "w.duckdb", "r")
    first = staging.write_chunk(run, {
        "articles": alias_rows, "mentions": mentions(3, alias_rows.loc[0, "content_hash"]),
        "entities": pd.DataFrame({"entity_id": ["e" * 16], "name": ["Kabul"], "type": ["GPE"], "country_code": [None]}),
    })
    second = staging.write_chunk(run, {
        "articles": canonical_rows, "mentions": mentions(40, canonical_rows.loc[0, "content_hash"]),
        "entities": pd.DataFrame({"entity_id": ["e" * 16], "name": ["Kabul"], "type": ["GPE"], "country_code": ["AFG"]}),
    })
    for order in ([first, second], [second, first]):
        batch = staged_batch("r", order, fetch_log=pd.DataFrame(), url_state=pd.DataFrame())
        assert list(batch.articles["url"]) == [canonical]
        assert list(batch.mentions["start_char"]) == [40] and STAGED_HASH not in batch.mentions
        assert list(batch.entities["country_code"]) == ["AFG"]
    staging.remove(run)
    assert not run.exists()


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "", ".", "..", "/abs", "run\\x", "a" * 200])
def test_staging_refuses_run_ids_that_are_not_plain_names(tmp_path, run_id):
    from wirehouse.warehouse import staging

    with pytest.raises(ValueError, match="not a safe run id"):
        staging.run_dir(tmp_path / "w.duckdb", run_id)
    assert list(tmp_path.iterdir()) == []


def test_source_health_flags_a_likely_layout_change(tmp_path):
    from wirehouse.warehouse.runs import run_findings

    db = tmp_path / "w.duckdb"
    con = duckdb_adapter.connect(db)
    duckdb_adapter.migrate(con)
    rows = []
    for n in range(6):   # five earlier runs, then the current one
        at = f"2026-11-{10 + n:02d} 00:00:00+00"
        rows += [(f"r{n}", "steady", at, 10, 1, 0, 1),
                 (f"r{n}", "changed", at, 10, 8 if n == 5 else 1, 0, 6 if n == 5 else 0),
                 (f"r{n}", "small", at, 3 if n == 5 else 10, 3 if n == 5 else 0, 0, 0)]
    con.executemany("INSERT INTO source_health VALUES (?, ?, CAST(? AS TIMESTAMPTZ), ?, ?, ?, ?)", rows)
    con.close()
    health = run_findings(db, "r5")["health"].set_index("source")
    assert health.loc["changed", "layout_change_likely"] == "empty pages, missing dates"
    assert health.loc["changed", "empty_share"] == 0.8 and health.loc["changed", "empty_before"] == 0.1
    assert health["layout_change_likely"].drop("changed").isna().all()   # steady; too few pages to judge
    first = run_findings(db, "r0")["health"]
    assert first["layout_change_likely"].isna().all() and first["empty_before"].isna().all()


def test_refused_links_say_why_and_a_decoding_note_reaches_the_reason():
    page = BODY.format("cp1251")
    refused = result("javascript:alert(1)", outcome="invalid_url", status=None)
    refused.note = "unsupported scheme"
    decoded = result("https://x.org/ru", body=page)
    decoded.note = "declared utf-8 does not decode; decoded as cp1251"
    frame = fetch_log_rows("run", [refused, decoded], [extracted("https://x.org/ru", page)],
                           valid_ids={article_id("https://x.org/ru")}, quarantined_ids=set())
    got = dict(zip(frame["url"], zip(frame["disposition"], frame["reason"])))
    assert got == {"javascript:alert(1)": ("skipped", "unsupported scheme"),
                   "https://x.org/ru": ("article", "declared utf-8 does not decode; decoded as cp1251")}


@pytest.mark.slow   # about 3 s
def test_publication_instant_and_implausible_dates_load_kept_and_flagged(tmp_path):
    from datetime import date

    from wirehouse.tasks.validate import validate_frame

    stamps = {
        "offset": (date(2021, 8, 13), datetime(2021, 8, 14, 4, 30, tzinfo=timezone.utc)),
        "future": (date(2099, 5, 1), None),
        "past": (date(1800, 5, 1), None),
        "undated": (None, None),
    }
    ex = [extracted(f"https://x.org/{name}", BODY.format(name)) | {"published_at": day, "published_ts": instant}
          for name, (day, instant) in stamps.items()]
    checked = validate_frame(article_rows(ex, "r1", NOW), "articles", "article_id", "r1")
    assert checked.quarantine.empty and len(checked.valid) == 4   # nothing quarantined, nothing nulled
    db = tmp_path / "w.duckdb"
    start_run(db, "r1", None, "x")
    load_batch(db, RunBatch(run_id="r1", pages=pd.DataFrame(), articles=checked.valid, entities=pd.DataFrame(),
                            mentions=pd.DataFrame(), events=pd.DataFrame(), fetch_log=pd.DataFrame(),
                            url_state=pd.DataFrame(), quarantine=empty_quarantine()))
    con = duckdb_adapter.connect(db, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    got = {url.rsplit("/", 1)[1]: rest for url, *rest in con.execute(
        "SELECT url, published_at, published_ts, published_at_plausible FROM articles").fetchall()}
    con.close()
    assert got == {
        "offset": [date(2021, 8, 13), datetime(2021, 8, 14, 4, 30, tzinfo=timezone.utc), True],
        "future": [date(2099, 5, 1), None, False],
        "past": [date(1800, 5, 1), None, False],
        "undated": [None, None, None],
    }


def _migrated_before(tmp_path, version: int):
    """A warehouse at the schema before migration `version`: what an older wirehouse wrote."""
    import shutil

    older = tmp_path / "migrations"
    older.mkdir()
    for migration in duckdb_adapter.list_migrations():
        if migration.version < version:
            shutil.copy(migration.path, older)
    con = duckdb_adapter.connect(tmp_path / "w.duckdb")
    duckdb_adapter.migrate(con, older)
    return con


def test_migration_flags_the_dates_loaded_before_it(tmp_path):
    con = _migrated_before(tmp_path, 8)
    con.execute("INSERT INTO articles (article_id, url, canonical_url, source, title, published_at, text, word_count,"
                " text_hash, content_hash, extractor, extractor_version, first_seen_at, updated_at, run_id) VALUES"
                " ('a', 'u', 'u', 's', 't', DATE '2021-08-13', 'x', 1, 'h', 'c', 'e', 'v', now(), now(), 'r'),"
                " ('b', 'v', 'v', 's', 't', NULL, 'x', 1, 'h', 'c', 'e', 'v', now(), now(), 'r')")
    assert duckdb_adapter.migrate(con)[0] == 8
    assert con.execute("SELECT article_id, published_at_plausible, published_ts FROM articles ORDER BY 1").fetchall() == [
        ("a", True, None), ("b", None, None)]
    con.close()


@pytest.mark.slow   # the whole transform stage: about 20 s
def test_articles_record_how_much_of_their_text_was_annotated(tmp_path):
    """Text past MAX_TEXT_CHARS is not annotated: the article row says so (annotated_chars), through
    the real transform stage (extract, validate, annotate), staging and load."""
    from wirehouse.tasks.annotate import MAX_TEXT_CHARS
    from wirehouse.tasks.fetch import content_hash
    from wirehouse.warehouse.load import staged_batch
    from wirehouse.flows.transform import transform_pages
    from wirehouse.warehouse import staging

    def page(name, title, paragraph, copies):
        html = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        html += "".join(f"<p>Report {i}. {paragraph}</p>" for i in range(copies)) + "</article></body></html>"
        body = html.encode("utf-8")
        url = f"https://x.org/2026/{name}.html"
        return {"url": url, "final_url": url, "source": "s", "body": body, "encoding": "utf-8",
                "content_hash": content_hash(body), "content_type": "text/html", "fetched_at": NOW}

    english = "The foreign minister met his counterpart in Geneva on Monday to discuss the border talks. " * 5
    french = "Le ministre des affaires étrangères a rencontré son homologue à Genève lundi pour parler de la frontière. " * 3
    pages = [
        page("long", "Border talks go on", english, 250_000 // len(english) + 2),   # about 250,000 characters
        page("short", "Border talks resume", english, 2),
        page("french", "Les pourparlers reprennent", french, 2),
    ]
    db = tmp_path / "w.duckdb"
    chunk = transform_pages(pages, "r1", NOW, str(staging.run_dir(db, "r1")))
    start_run(db, "r1", None, "x")
    load_batch(db, staged_batch("r1", [chunk.staged], fetch_log=pd.DataFrame(), url_state=pd.DataFrame()))
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        rows = {
            url.rsplit("/", 1)[1]: (chars, length)
            for url, chars, length in con.execute("SELECT url, annotated_chars, length(text) FROM articles").fetchall()
        }
        last_mention = con.execute(
            "SELECT max(m.end_char) FROM mentions m JOIN articles a USING (article_id) WHERE a.url LIKE '%/long.html'"
        ).fetchone()[0]
    finally:
        con.close()
    chars, length = rows["long.html"]
    assert length >= 250_000 and chars == MAX_TEXT_CHARS   # flagged: annotated_chars < length(text)
    assert MAX_TEXT_CHARS - 1_000 < last_mention <= MAX_TEXT_CHARS   # annotated up to the cut, not past it
    chars, length = rows["short.html"]
    assert chars == length                                  # the whole text: not flagged
    assert rows["french.html"][0] is None                   # not annotated at all (no French model)


def test_finishing_a_run_rebuilds_the_search_index_after_the_ledger(tmp_path, monkeypatch):
    """The ledger (`warehouse.runs.finish_run`) never touches the read side; the flows' `finish` rebuilds
    the search index once the run's end is written, and not when it was only noted (a busy warehouse)."""
    from wirehouse.flows import load as flow_load

    db = tmp_path / "w.duckdb"
    calls = []
    monkeypatch.setattr(flow_load, "rebuild_search_index", lambda path: calls.append(path) or True)
    start_run(db, "r1", None, "x")
    tables = flow_load.finish(db, "r1", {"totals": {}})
    assert tables["articles"] == 0 and calls == [db]
    monkeypatch.setattr(flow_load, "finish_run", lambda *a: {})   # a reader held the file: the end is noted
    assert flow_load.finish(db, "r2", {}) == {} and calls == [db]


def test_migration_marks_the_targets_coded_before_it_as_named(tmp_path):
    con = _migrated_before(tmp_path, 9)
    con.execute("INSERT INTO events (event_id, article_id, sentence_index, sentence, trigger, trigger_start, cameo_code,"
                " cameo_root, quad_class, goldstein, confidence, coder_version, actor1_text)"
                " VALUES ('e', 'a', 0, 's', 't', 0, '040', '04', 1, 1.0, 0.5, 'wh-annotate-2', 'Russia')")
    assert duckdb_adapter.migrate(con) == [9]
    assert con.execute("SELECT actor2_implied FROM events").fetchall() == [(False,)]
    assert "actor2_implied" in {r[0] for r in con.execute("DESCRIBE event_details").fetchall()}
    con.close()
