"""`wirehouse reprocess` and `wirehouse quarantine list/replay`: rows made again from stored raw pages,
never refetched, on copies of the sample warehouse."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import rows as query
from wirehouse.tasks.extract import EXTRACTOR_VERSION
from wirehouse.warehouse import duckdb_adapter
from wirehouse.cli import main


@pytest.fixture
def db(sample_warehouse, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, copy)
    return copy


def write(db, *statements):
    con = duckdb_adapter.connect(db)
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def annotations(db, ids):
    placeholders = ", ".join("?" * len(ids))
    return (sorted(query(db, f"SELECT article_id, entity_id, start_char, end_char FROM mentions WHERE article_id IN ({placeholders})", ids)),
            sorted(query(db, f"SELECT event_id, cameo_code FROM events WHERE article_id IN ({placeholders})", ids)))


def test_reprocess_redoes_only_old_rows_from_raw_pages(capsys, db):
    old = [r[0] for r in query(db, "SELECT article_id FROM articles ORDER BY article_id LIMIT 5")]
    before = annotations(db, old)
    fetches = query(db, "SELECT count(*) FROM fetch_log")[0][0]
    ids = ", ".join(f"'{a}'" for a in old)
    # as if an older extractor had made them, and they had lost their annotations since
    write(db, f"UPDATE articles SET extractor_version = 'trafilatura-0.1', text = 'stale' WHERE article_id IN ({ids})",
          f"DELETE FROM mentions WHERE article_id IN ({ids})", f"DELETE FROM events WHERE article_id IN ({ids})")
    assert main(["reprocess", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "reprocess: 5 raw pages went through the stages again" in out
    assert annotations(db, old) == before
    assert query(db, f"SELECT DISTINCT extractor_version FROM articles WHERE article_id IN ({ids})") == [(EXTRACTOR_VERSION,)]
    assert query(db, f"SELECT count(*) FROM articles WHERE article_id IN ({ids}) AND text = 'stale'")[0][0] == 0
    assert query(db, "SELECT count(*) FROM fetch_log")[0][0] == fetches          # nothing was fetched
    assert query(db, "SELECT count(*) = count(DISTINCT article_id) FROM articles")[0][0]
    assert main(["reprocess", "--db", str(db)]) == 0
    assert "nothing to reprocess" in capsys.readouterr().out


def test_quarantine_list_and_replay_release_what_passes_now(capsys, db):
    (aid, digest, url) = query(db, "SELECT article_id, content_hash, url FROM articles ORDER BY article_id LIMIT 1")[0]
    mentions = query(db, "SELECT count(*) FROM mentions WHERE article_id = ?", [aid])[0][0]
    # The article failed a contract that has since been fixed: it sits in quarantine, not in articles.
    write(db, f"DELETE FROM mentions WHERE article_id = '{aid}'", f"DELETE FROM events WHERE article_id = '{aid}'",
          f"DELETE FROM articles WHERE article_id = '{aid}'",
          f"INSERT INTO quarantine VALUES ('articles', '{aid}', '{url}', 'title_not_blank', '{digest}', '{{}}', 'old-run', now())")
    # A second row whose page the current code no longer makes into that row: it must stay.
    write(db, f"INSERT INTO quarantine VALUES ('events', 'feedfacefeedface', '{url}', 'goldstein_in_range', '{digest}', '{{}}', 'old-run', now())")
    assert main(["quarantine", "list", "--db", str(db), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(r["table_name"], r["failed_checks"], r["raw_stored"]) for r in listed} == {
        ("articles", "title_not_blank", True), ("events", "goldstein_in_range", True)}
    assert main(["quarantine", "replay", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "released from quarantine: 1 rows" in out
    assert "still quarantined: 1 rows: not made again by the current code" in out
    assert query(db, "SELECT count(*) FROM articles WHERE article_id = ?", [aid])[0][0] == 1
    assert query(db, "SELECT count(*) FROM mentions WHERE article_id = ?", [aid])[0][0] == mentions
    assert query(db, "SELECT table_name, row_key FROM quarantine") == [("events", "feedfacefeedface")]
    assert main(["quarantine", "replay", "--db", str(db), "--table", "articles"]) == 0
    assert "nothing to replay" in capsys.readouterr().out


def test_reprocess_on_a_missing_warehouse_is_one_line(capsys, tmp_path):
    assert main(["reprocess", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no such warehouse file" in capsys.readouterr().err


def test_maintenance_flows_run_under_prefect(prefect_harness, db):
    from wirehouse.flows.maintenance import replay_flow, reprocess_flow

    write(db, "UPDATE articles SET annotator_version = 'wh-annotate-0' WHERE source = 'meridian'")
    redo = reprocess_flow(db_path=str(db), lock_wait=5)
    assert redo["pages"] == query(db, "SELECT count(DISTINCT content_hash) FROM articles WHERE source = 'meridian'")[0][0]
    assert redo["per_source"]["meridian"]["updated"] > 0
    replay = replay_flow(db_path=str(db), lock_wait=5)
    assert replay["pages"] == 0 and replay["released"] == 0
