"""The analyst's side on a warehouse loaded from the sample site: saved queries and views, status,
search and export, through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
import duckdb
import pytest

from helpers import rows as read_rows
from helpers import value as scalar
from wirehouse.warehouse import duckdb_adapter
from wirehouse.warehouse.duckdb_adapter import QUERIES_DIR
from wirehouse.cli import main

ANALYST_QUERIES = ("events_over_time", "who_met_whom", "entity_cooccurrence", "actor_timeline",
                   "articles_per_source_day", "quarantine_by_reason")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(capsys, *argv: str) -> list[dict]:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


# ---- saved queries and views -------------------------------------------------------------------


@pytest.mark.parametrize("name", ANALYST_QUERIES)
def test_saved_queries_run_from_their_file(capsys, sample_warehouse, name):
    rows = as_json(capsys, "query", "--db", str(sample_warehouse), "--file", str(QUERIES_DIR / f"{name}.sql"))
    if name != "quarantine_by_reason":  # the sample site has nothing to quarantine
        assert rows, name


def test_every_saved_query_runs_by_name_with_its_defaults(capsys, sample_warehouse):
    # warehouse/queries/ holds only what an analyst can run as it is: the code's own SQL (writes,
    # frames it registers, parameters only it knows) lives in warehouse/internal/.
    from wirehouse.warehouse.sandbox import saved_queries

    names = [q.name for q in saved_queries()]
    assert "top_entities" in names and "mark_duplicates" not in names
    for name in names:
        code, out, err = run(capsys, "query", name, "--db", str(sample_warehouse), "--format", "json")
        assert code == 0, (name, err)
        json.loads(out)


def test_source_health_defaults_to_the_latest_run(capsys, sample_warehouse):
    from wirehouse.warehouse.runs import run_findings

    latest = as_json(capsys, "query", "source_health", "--db", str(sample_warehouse))
    run_id = scalar(sample_warehouse, "SELECT arg_max(run_id, measured_at) FROM source_health")
    measured = read_rows(sample_warehouse, "SELECT source FROM source_health WHERE run_id = ?", [run_id])
    assert latest and sorted(r["source"] for r in latest) == sorted(r[0] for r in measured)
    given = as_json(capsys, "query", "source_health", "--db", str(sample_warehouse), "--param", f"run_id={run_id}")
    assert given == latest
    assert len(run_findings(sample_warehouse, run_id)["health"]) == len(latest)


def test_views_join_events_to_names_places_and_articles(sample_warehouse):
    db = sample_warehouse
    assert scalar(db, "SELECT count(*) FROM event_details") == scalar(db, "SELECT count(*) FROM events")
    assert scalar(db, "SELECT count(*) FROM event_details WHERE root_name IS NULL OR title IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM event_details WHERE latitude IS NOT NULL AND location IS NOT NULL") > 0
    assert scalar(db, "SELECT count(*) FROM entity_mentions") == scalar(db, "SELECT count(*) FROM mentions")


def test_events_over_time_counts_every_dated_event(capsys, sample_warehouse):
    rows = as_json(capsys, "query", "--db", str(sample_warehouse), "--max-rows", "1000",
                   "--file", str(QUERIES_DIR / "events_over_time.sql"))
    assert sum(r["events"] for r in rows) == scalar(sample_warehouse, "SELECT count(*) FROM events WHERE date_precision IS NOT NULL")


def test_parameters_narrow_a_saved_query(capsys, sample_warehouse):
    db = str(sample_warehouse)
    timeline = as_json(capsys, "query", "actor_timeline", "--db", db, "--param", "actor=RUS")
    involving = scalar(sample_warehouse, "SELECT count(*) FROM events WHERE 'RUS' IN (actor1_country_code, actor2_country_code)")
    assert len(timeline) == involving > 0
    assert timeline == sorted(timeline, key=lambda r: r["event_date"])
    everything = as_json(capsys, "query", "who_met_whom", "--db", db)
    one_year = as_json(capsys, "query", "who_met_whom", "--db", db, "--param", "start=2026-01-01", "--param", "end=2026-12-31")
    assert 0 < len(one_year) < len(everything)
    assert all(r["first"] >= "2026-01-01" and r["last"] <= "2026-12-31" for r in one_year)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["actor_timeline", "--param", "country=RUS"], "has no parameter $country"),
        (["actor_timeline", "--param", "actor"], "--param takes NAME=VALUE"),
        (["SELECT $x"], "needs a value for $x"),
        (["--file", "/nonexistent/q.sql"], "cannot read /nonexistent/q.sql"),
        (["SELECT 1", "--file", "x.sql"], "not both or neither"),
    ],
)
def test_query_usage_errors_are_one_line(capsys, sample_warehouse, argv, message):
    code, out, err = run(capsys, "query", "--db", str(sample_warehouse), *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


# ---- status -----------------------------------------------------------------------------------------


def test_status_shows_runs_sizes_and_healthy_sources(capsys, sample_warehouse):
    code, out, _ = run(capsys, "status", "--db", str(sample_warehouse))
    assert code == 0
    assert "completed" in out and "no source has problems" in out
    assert f"articles {scalar(sample_warehouse, 'SELECT count(*) FROM articles'):,}" in out
    for source in ("meridian", "baltic-desk", "horizon-brief"):
        assert source in out


def test_status_names_a_source_whose_feed_failed(capsys, sample_warehouse, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)
    con = duckdb_adapter.connect(db)
    con.execute(
        "INSERT INTO fetch_log SELECT 'later', 'http://127.0.0.1:9/feed.xml', 'meridian', 'feed', 503, 'error', 'error',"
        " NULL, 'HTTP 503 after 4 attempts', NULL, NULL, NULL, 0, 1.0, 4, now() + INTERVAL 1 HOUR"
    )
    con.close()
    code, out, _ = run(capsys, "status", "--db", str(db))
    # in full, with its URL and error (the table cuts a cell at 60 characters; the problem lines do not)
    assert code == 0 and "problem: meridian: feed http://127.0.0.1:9/feed.xml: HTTP 503 after 4 attempts\n" in out
    assert "baltic-desk: " not in out.split("problem:", 1)[1]


def test_status_of_a_missing_warehouse_is_one_line(capsys, tmp_path):
    code, out, err = run(capsys, "status", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no such warehouse file" in err and err.count("\n") == 1


# ---- search -----------------------------------------------------------------------------------------


def test_search_ranks_the_matching_article_first_and_says_how(capsys, sample_warehouse):
    code, out, err = run(capsys, "search", "Baltic air policing drone incursions", "--db", str(sample_warehouse), "--format", "json")
    hits = json.loads(out)
    assert code == 0 and hits[0]["title"] == "Baltic Air Policing Rotation Begins Amid Drone Incursions"
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert "no full-text index" in err and "fts extension" in err   # this machine cannot load fts


def test_search_matches_words_not_substrings_and_is_case_blind(capsys, sample_warehouse):
    _, out, _ = run(capsys, "search", "KABUL", "--db", str(sample_warehouse), "--format", "json")
    hits = json.loads(out)
    expected = scalar(sample_warehouse, "SELECT count(*) FROM articles WHERE regexp_matches(lower(title || ' ' || text), '\\bkabul\\b')")
    assert len(hits) == expected > 0


def test_search_without_a_word_is_a_usage_error(capsys, sample_warehouse):
    code, _, err = run(capsys, "search", "?!", "--db", str(sample_warehouse))
    assert code == 2 and "at least one word" in err


# ---- export -----------------------------------------------------------------------------------------


def test_export_writes_every_table_partitioned_by_date(capsys, sample_warehouse, tmp_path):
    out = tmp_path / "export"
    code, printed, err = run(capsys, "export", "--db", str(sample_warehouse), "--out", str(out))
    assert code == 0, err
    con = duckdb.connect()
    assert scalar(sample_warehouse, "SELECT count(*) FROM source_health") > 0
    for table in ("articles", "entities", "mentions", "events", "pages", "fetch_log", "url_state", "runs", "source_health"):
        files = str(out / table / "**" / "*.parquet")
        exported = con.execute(f"SELECT count(*) FROM read_parquet('{files}', hive_partitioning = true)").fetchone()[0]
        assert exported == scalar(sample_warehouse, f"SELECT count(*) FROM {table}"), table
    months = {p.name for p in (out / "articles").iterdir()}
    stored = {f"month={m}" for (m,) in read_rows(
        sample_warehouse, "SELECT DISTINCT coalesce(strftime(published_at, '%Y-%m'), 'unknown') FROM articles")}
    assert months == stored and len(months) > 1
    wrong = con.execute(
        f"SELECT count(*) FROM read_parquet('{out}/events/**/*.parquet', hive_partitioning = true)"
        " WHERE month <> coalesce(strftime(event_date, '%Y-%m'), 'unknown')"
    ).fetchone()[0]
    assert wrong == 0


def test_export_refuses_a_non_empty_folder_unless_overwrite(capsys, sample_warehouse, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "export", "--db", str(sample_warehouse), "--out", str(out))
    assert code == 2 and "not empty" in err and (out / "keep.txt").exists()
    code, _, _ = run(capsys, "export", "--db", str(sample_warehouse), "--out", str(out), "--overwrite",
                     "--format", "csv", "--partition", "year")
    assert code == 0 and not (out / "keep.txt").exists()
    assert all(p.name.startswith("year=") for p in (out / "events").iterdir())
    assert next((out / "entities").glob("*.csv")).read_text(encoding="utf-8").startswith("entity_id,")


def _digest(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_warehouse_from_an_older_wirehouse_is_read_as_it_is(capsys, sample_warehouse, tmp_path):
    db = tmp_path / "old.duckdb"
    shutil.copy(sample_warehouse, db)
    con = duckdb_adapter.connect(db)
    for view in ("entity_mentions", "event_details", "cameo_roots"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE source_health")
    con.execute("ALTER TABLE articles DROP COLUMN annotator_version")
    con.execute("ALTER TABLE articles DROP COLUMN published_ts")
    con.execute("ALTER TABLE articles DROP COLUMN published_at_plausible")
    con.execute("ALTER TABLE articles DROP COLUMN annotated_chars")
    con.execute("ALTER TABLE events DROP COLUMN actor2_implied")
    con.execute("DELETE FROM schema_migrations WHERE version >= 4")   # as written before migrations 004-009
    con.close()
    latest = duckdb_adapter.latest_version()
    before = _digest(db)
    # What the old schema has is read; nothing is written.
    code, out, err = run(capsys, "query", "SELECT count(*) AS n FROM articles", "--db", str(db), "--format", "json")
    assert code == 0 and json.loads(out)[0]["n"] > 0, err
    code, out, err = run(capsys, "status", "--db", str(db))
    assert _digest(db) == before
    # What needs the newer schema says how to get it, in one line.
    code, out, err = run(capsys, "query", "who_met_whom", "--db", str(db), "--format", "json")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "schema version 3" in lines[0] and "wirehouse migrate --db" in lines[0], err
    code, _, err = run(capsys, "report", "--db", str(db), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "wirehouse migrate" in err
    assert _digest(db) == before
    code, out, err = run(capsys, "migrate", "--db", str(db))
    assert code == 0 and f"schema version 3 -> {latest}" in out, err
    code, out, err = run(capsys, "query", "who_met_whom", "--db", str(db), "--format", "json")
    assert code == 0 and json.loads(out), err
    # Articles annotated before migration 007 get the length the 200,000-character cut gave them.
    annotated = read_rows(db, "SELECT annotated_chars, length(text) FROM articles WHERE annotator_version IS NOT NULL")
    assert annotated and all(chars == min(length, 200_000) for chars, length in annotated)
    code, out, err = run(capsys, "migrate", "--db", str(db))
    assert code == 0 and f"schema is current (version {latest})" in out


def test_read_commands_refuse_a_foreign_duckdb_file_and_leave_it_byte_identical(capsys, tmp_path):
    db = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE articles (title VARCHAR, body VARCHAR)")
    con.execute("INSERT INTO articles VALUES ('a', 'b')")
    con.close()
    before = _digest(db)
    for argv in (("query", "DROP TABLE articles"), ("query", "SELECT * FROM articles"), ("status",),
                 ("search", "anything"), ("export", "--out", str(tmp_path / "out")),
                 ("report", "--out", str(tmp_path / "r.html")), ("quarantine", "list"), ("migrate",),
                 ("reprocess",)):
        code, out, err = run(capsys, *argv, "--db", str(db))
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "not a wirehouse warehouse" in lines[0], (argv, err)
    assert _digest(db) == before
    con = duckdb.connect(str(db), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()] == ["articles"]
    con.close()
