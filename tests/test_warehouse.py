import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from wirehouse.tasks.validate import validate_frame
from wirehouse.warehouse import duckdb_adapter, staging


@pytest.fixture
def con(tmp_path):
    connection = duckdb_adapter.connect(tmp_path / "w.duckdb")
    duckdb_adapter.migrate(connection)
    yield connection
    connection.close()


def test_migrations_recorded_once(tmp_path):
    path = tmp_path / "w.duckdb"
    c = duckdb_adapter.connect(path)
    assert duckdb_adapter.migrate(c) == [m.version for m in duckdb_adapter.list_migrations()]
    assert duckdb_adapter.migrate(c) == []
    tables = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"articles", "entities", "mentions", "events", "fetch_log", "quarantine", "schema_migrations", "pages"} <= tables
    assert c.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(duckdb_adapter.list_migrations())


def test_the_cameo_roots_view_agrees_with_the_one_vocabulary(con):
    # The view is SQL in a migration (immutable once applied); the contracts' list is the one source.
    from wirehouse.schemas.models import CAMEO_ROOTS
    assert dict(con.execute("SELECT cameo_root, root_name FROM cameo_roots").fetchall()) == CAMEO_ROOTS


def test_upsert_dedupes_in_batch_and_is_idempotent(con):
    frame = pd.DataFrame({"url": ["a", "b", "b"], "source": ["s", "s", "s"], "etag": ["1", "2", "3"]})
    assert duckdb_adapter.upsert(con, "url_state", frame, update=("etag",), changed_when="etag") == (2, 0)
    assert duckdb_adapter.upsert(con, "url_state", frame, update=("etag",), changed_when="etag") == (0, 0)
    # last in-batch duplicate wins (DuckDB alone would keep the first)
    assert con.execute("SELECT etag FROM url_state WHERE url = 'b'").fetchone()[0] == "3"
    frame.loc[0, "etag"] = "9"
    assert duckdb_adapter.upsert(con, "url_state", frame, update=("etag",), changed_when="etag") == (0, 1)
    assert con.execute("SELECT count(*) FROM url_state").fetchone()[0] == 2


def test_anti_join_keyed_mentions_never_double(con):
    """Mentions have no PRIMARY KEY index (insert cost); the upsert's anti-join keeps the key unique."""
    frame = pd.DataFrame(
        {"article_id": ["a", "a", "a", "b"], "entity_id": ["e1", "e2", "e2", "e1"], "text": "X",
         "start_char": [0, 10, 10, 0], "end_char": [5, 15, 15, 5], "label": "ORG"}
    )
    assert duckdb_adapter.upsert(con, "mentions", frame) == (3, 0)
    assert duckdb_adapter.upsert(con, "mentions", frame) == (0, 0)
    more = pd.concat([frame, frame.assign(article_id="c")], ignore_index=True)
    assert duckdb_adapter.upsert(con, "mentions", more) == (2, 0)
    rows = con.execute("SELECT count(*), count(DISTINCT (article_id, start_char, end_char)) FROM mentions").fetchone()
    assert rows == (5, 5)
    with pytest.raises(ValueError):
        duckdb_adapter.upsert(con, "mentions", frame, update=("label",))


def test_transaction_rolls_back(con):
    frame = pd.DataFrame({"url": ["a"], "source": ["s"]})
    with pytest.raises(RuntimeError):
        with duckdb_adapter.transaction(con):
            duckdb_adapter.upsert(con, "url_state", frame)
            raise RuntimeError("boom")
    assert con.execute("SELECT count(*) FROM url_state").fetchone()[0] == 0


@pytest.mark.slow   # a Python subprocess
def test_second_process_gets_clear_busy_error(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = duckdb_adapter.connect(path)
    duckdb_adapter.migrate(holder)
    code = textwrap.dedent(
        f"""
        import sys
        from wirehouse.warehouse import duckdb_adapter
        try:
            duckdb_adapter.connect({str(path)!r}, read_only=True, wait=0.5)
        except duckdb_adapter.WarehouseBusy as exc:
            print("BUSY", exc); sys.exit(3)
        """
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert out.returncode == 3, out.stderr
    assert "in use by another process" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.slow   # Python subprocesses
def test_writer_lock_excludes_second_run(tmp_path):
    path = tmp_path / "w.duckdb"
    code = textwrap.dedent(
        f"""
        import sys
        from wirehouse.warehouse import duckdb_adapter
        try:
            with duckdb_adapter.writer_lock({str(path)!r}, wait=0.3):
                pass
        except duckdb_adapter.WarehouseBusy as exc:
            print(exc); sys.exit(3)
        """
    )
    with duckdb_adapter.writer_lock(path):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3 and "another run is writing" in out.stdout
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert after.returncode == 0, after.stdout + after.stderr


def _article(**overrides):
    row = {
        "article_id": "0123456789abcdef",
        "url": "https://ex.org/a",
        "canonical_url": "https://ex.org/a",
        "source": "ex",
        "title": "A title",
        "author": None,
        "published_at": pd.Timestamp("2026-01-02"),
        "published_ts": pd.NaT,
        "published_at_plausible": True,
        "language": "en",
        "text": "word " * 100,
        "word_count": 100,
        "text_hash": "a" * 64,
        "content_hash": "c" * 64,
        "extractor": "trafilatura",
        "extractor_version": "2.3.1",
    }
    row.update(overrides)
    return row


def _articles(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["published_at"] = frame["published_at"].astype("datetime64[us]")
    frame["published_ts"] = pd.to_datetime(frame["published_ts"], utc=True).astype("datetime64[us, UTC]")
    frame["published_at_plausible"] = frame["published_at_plausible"].astype("boolean")
    return frame


def test_validate_splits_rows_and_names_checks():
    frame = _articles(
        _article(),
        _article(article_id="1123456789abcdef", title="  ", content_hash="d" * 64),
        _article(article_id="2123456789abcdef", text="too short", published_at=pd.Timestamp("2999-01-01"),
                 published_at_plausible=False),
        _article(article_id="3123456789abcdef", published_at_plausible=None),   # a date without its flag
    )
    result = validate_frame(frame, "articles", "article_id", "run-1")
    assert list(result.valid["article_id"]) == ["0123456789abcdef"]
    assert result.failed_keys == {"1123456789abcdef", "2123456789abcdef", "3123456789abcdef"}
    checks = dict(zip(result.quarantine["row_key"], result.quarantine["failed_checks"]))
    assert "title_not_blank" in checks["1123456789abcdef"]
    assert checks["2123456789abcdef"] == "text: str_length(200, None)"   # the 2999 date is no failure
    assert "published_at_flagged" in checks["3123456789abcdef"]
    assert set(result.quarantine["content_hash"]) == {"d" * 64, "c" * 64}
    assert (result.quarantine["run_id"] == "run-1").all()


def test_implausible_dates_pass_validation_flagged():
    frame = _articles(
        _article(published_at=pd.Timestamp("2099-05-01"), published_at_plausible=False),
        _article(article_id="1123456789abcdef", published_at=pd.Timestamp("1800-05-01"), published_at_plausible=False),
        _article(article_id="2123456789abcdef", published_at=pd.NaT, published_at_plausible=None),
    )
    result = validate_frame(frame, "articles", "article_id", "run-1")
    assert len(result.valid) == 3 and result.quarantine.empty


def test_quarantine_rows_load(con):
    frame = pd.DataFrame([_article(title="")])
    result = validate_frame(frame, "articles", "article_id", "run-1")
    assert duckdb_adapter.upsert(con, "quarantine", result.quarantine, update=("failed_checks",))[0] == 1
    assert duckdb_adapter.upsert(con, "quarantine", result.quarantine, update=("failed_checks",))[0] == 0
    row = con.execute("SELECT table_name, row_key, url, row_json->>'title' FROM quarantine").fetchone()
    assert row == ("articles", "0123456789abcdef", "https://ex.org/a", "")


@pytest.mark.slow   # the run ledger and migrations: about 7 s
def test_newer_schema_is_refused_and_killed_runs_become_interrupted(tmp_path):
    from wirehouse.warehouse.runs import start_run

    db = tmp_path / "w.duckdb"
    start_run(db, "killed", None, "s.toml")     # never finished: its process was killed
    start_run(db, "next", None, "s.toml")
    con = duckdb_adapter.connect(db)
    assert dict(con.execute("SELECT run_id, status FROM runs").fetchall()) == {"killed": "interrupted", "next": "running"}
    con.execute("INSERT INTO schema_migrations VALUES (999, 'from_the_future', 'x', now())")
    with pytest.raises(duckdb_adapter.WarehouseError, match="schema version 999"):
        duckdb_adapter.migrate(con)
    con.close()
    with pytest.raises(duckdb_adapter.WarehouseError, match="newer than this wirehouse knows"):
        duckdb_adapter.check_file(db)


def _try_lock(name: str, cwd) -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""
        import sys
        from wirehouse.warehouse import duckdb_adapter
        try:
            with duckdb_adapter.writer_lock({name!r}, wait=0.3):
                pass
        except duckdb_adapter.WarehouseBusy as exc:
            print(exc); sys.exit(3)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.slow   # 12 Python subprocesses
def test_one_writer_per_file_whatever_its_name(tmp_path):
    """A symlink, a relative path and a hard link name the same file: each waits for the writer."""
    path = tmp_path / "w.duckdb"
    con = duckdb_adapter.connect(path)
    duckdb_adapter.migrate(con)
    con.close()
    (tmp_path / "link.duckdb").symlink_to(path)
    (tmp_path / "other").mkdir()
    os.link(path, tmp_path / "other" / "hard.duckdb")
    names = ["w.duckdb", "./w.duckdb", "link.duckdb", "other/../w.duckdb", str(path), "other/hard.duckdb"]
    with duckdb_adapter.writer_lock(path):
        for name in names:
            out = _try_lock(name, tmp_path)
            assert out.returncode == 3 and "another run is writing" in out.stdout, (name, out.stdout, out.stderr)
    with duckdb_adapter.writer_lock(tmp_path / "link.duckdb"):   # and the other way round
        assert _try_lock(str(path), tmp_path).returncode == 3
    for name in names:
        assert _try_lock(name, tmp_path).returncode == 0, name
    assert staging.staging_root(tmp_path / "link.duckdb") == staging.staging_root(path)


def test_stale_cleanup_never_deletes_a_live_runs_chunks(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    (tmp_path / "link.duckdb").symlink_to(path)
    for env in (None, str(tmp_path / "shared-staging")):
        if env:
            monkeypatch.setenv("WIREHOUSE_STAGING", env)
        with staging.hold_run_dir(tmp_path / "link.duckdb", "live") as live:
            chunk = staging.write_chunk(live, {"pages": pd.DataFrame({"content_hash": ["a"], "bytes": [1]})})
            dead = staging.run_dir(path, "dead")   # a folder left by a killed run: nobody holds it
            (dead / "chunk-x").mkdir()
            assert staging.clear_stale(path, keep="mine") == 1
            assert Path(chunk).is_dir() and not dead.exists()
            assert staging.read_chunks([chunk])["pages"]["content_hash"].tolist() == ["a"]
        assert not live.exists()


def test_a_missing_or_short_chunk_is_an_error_not_an_empty_batch(tmp_path):
    run = staging.run_dir(tmp_path / "w.duckdb", "r")
    frames = {"pages": pd.DataFrame({"content_hash": ["a", "b"], "bytes": [1, 2]})}
    whole, lost, cut = (staging.write_chunk(run, frames) for _ in range(3))
    import shutil

    shutil.rmtree(lost)
    (Path(cut) / "pages.parquet").unlink()
    assert len(staging.read_chunks([whole])["pages"]) == 2
    with pytest.raises(staging.StagingError, match="missing or has no manifest"):
        staging.read_chunks([whole, lost])
    with pytest.raises(staging.StagingError, match="pages.parquet is unreadable"):
        staging.read_chunks([whole, cut])


def test_the_code_loads_its_own_sql_from_internal_and_saved_queries_from_queries():
    # Every name the code hands to internal_sql / read_query is a file in that folder, and no name
    # is in both: an internal statement is never offered to `wirehouse query`.
    import re

    root = Path(__file__).resolve().parent.parent
    calls = re.compile(r"\b(internal_sql|read_query)\(\s*\"(\w+)\"")
    used: dict[str, set[str]] = {"internal_sql": set(), "read_query": set()}
    for folder in ("flows", "tasks", "warehouse", "wirehouse"):
        for path in (root / folder).rglob("*.py"):
            for kind, name in calls.findall(path.read_text(encoding="utf-8")):
                used[kind].add(name)
    listed = {
        "internal_sql": {p.stem for p in duckdb_adapter.INTERNAL_DIR.glob("*.sql")},
        "read_query": {p.stem for p in duckdb_adapter.QUERIES_DIR.glob("*.sql")},
    }
    assert {"mark_duplicates", "search_bm25", "status_runs"} <= used["internal_sql"]
    assert {"events_over_time", "source_health"} <= used["read_query"]
    for kind in used:
        assert used[kind] <= listed[kind], (kind, used[kind] - listed[kind])
    assert not listed["internal_sql"] & listed["read_query"]
