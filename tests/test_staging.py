"""The storage's staging (warehouse/staging.py): chunks written as Parquet by the workers and read back
whole by the one writer, staging folders of dead runs cleared, and batches set aside for the next run.

(test_warehouse.py has the live-versus-dead cleanup under several names of one file and a chunk lost
or cut after staging; test_load.py the refused run ids and the canonical-copy merge.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wirehouse.warehouse import staging
from wirehouse.warehouse.staging import StagingError


def pages(*hashes: str) -> pd.DataFrame:
    return pd.DataFrame({"content_hash": list(hashes), "bytes": [len(h) for h in hashes]})


def typed_articles() -> pd.DataFrame:
    """The column types staged articles carry: nullable ints and booleans, naive and UTC timestamps, lists."""
    return pd.DataFrame({
        "article_id": ["a" * 16, "b" * 16],
        "published_at": pd.to_datetime(["2026-01-02", None]).astype("datetime64[us]"),
        "published_ts": pd.to_datetime(["2026-01-02T08:00:00Z", None], utc=True).astype("datetime64[us, UTC]"),
        "published_at_plausible": pd.array([True, None], dtype="boolean"),
        "annotated_chars": pd.array([120, None], dtype="Int64"),
        "text": ["Grüße aus Vilnius", "x"],
        "tags": [["a", "b"], []],
    })


@pytest.fixture
def run(tmp_path) -> Path:
    return staging.run_dir(tmp_path / "w.duckdb", "run-1")


# ---- where staging lives ------------------------------------------------------------------------


def test_staging_sits_beside_the_warehouse_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("WIREHOUSE_STAGING", raising=False)
    assert staging.staging_root(tmp_path / "w.duckdb") == Path(str(tmp_path / "w.duckdb") + ".staging")
    folder = staging.run_dir(tmp_path / "w.duckdb", "run-1")
    assert folder == tmp_path / "w.duckdb.staging" / "run-1" and folder.is_dir()
    assert staging.run_dir(tmp_path / "w.duckdb", "run-1") == folder   # again: the same folder, no error


def test_a_shared_staging_root_keeps_warehouses_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("WIREHOUSE_STAGING", str(tmp_path / "shared"))
    one, two = staging.staging_root(tmp_path / "a.duckdb"), staging.staging_root(tmp_path / "b.duckdb")
    assert one.parent == two.parent == tmp_path / "shared" and one != two
    staging.run_dir(tmp_path / "b.duckdb", "dead")
    assert staging.clear_stale(tmp_path / "a.duckdb") == 0          # cleaning one never touches the other's
    assert (two / "dead").is_dir()


# ---- chunks: write, read back, refuse what is incomplete -------------------------------------------


def test_a_chunk_round_trips_its_tables_and_types(run):
    articles = typed_articles()
    folder = Path(staging.write_chunk(run, {"articles": articles, "pages": pages("c1", "c2")}))
    assert folder.parent == run and folder.name.startswith("chunk-")
    back = staging.read_chunks([str(folder)])
    assert set(back) == {"articles", "pages"}
    pd.testing.assert_frame_equal(back["pages"], pages("c1", "c2"))
    got = back["articles"]
    assert list(got.dtypes.astype(str)) == list(articles.dtypes.astype(str))
    assert got["published_ts"].iloc[0] == articles["published_ts"].iloc[0] and got["published_ts"].isna().iloc[1]
    assert got["published_at_plausible"].isna().iloc[1] and got["annotated_chars"].isna().iloc[1]
    assert got["text"].tolist() == ["Grüße aus Vilnius", "x"] and [list(t) for t in got["tags"]] == [["a", "b"], []]


def test_the_manifest_is_written_last_and_counts_only_the_tables_with_rows(run):
    folder = Path(staging.write_chunk(run, {"pages": pages("c1", "c2", "c3"), "articles": typed_articles().iloc[:0],
                                            "events": None}))
    assert json.loads((folder / staging.MANIFEST).read_text()) == {"tables": {"pages": 3}}
    assert sorted(p.name for p in folder.iterdir()) == [staging.MANIFEST, "pages.parquet"]   # no .part left
    assert set(staging.read_chunks([str(folder)])) == {"pages"}


def test_several_chunks_read_back_in_chunk_order(run):
    first, second, third = (staging.write_chunk(run, {"pages": pages(*hashes)})
                            for hashes in (("a", "b"), ("c",), ("d", "e")))
    assert staging.read_chunks([third, first, second])["pages"]["content_hash"].tolist() == ["d", "e", "a", "b", "c"]
    assert list(staging.read_chunks([third, first])["pages"].index) == [0, 1, 2, 3]


def test_a_chunk_with_nothing_to_stage_reads_back_as_no_tables(run):
    folder = staging.write_chunk(run, {"pages": pages()})
    assert json.loads((Path(folder) / staging.MANIFEST).read_text()) == {"tables": {}}
    assert staging.read_chunks([folder]) == {}
    assert staging.read_chunks([]) == {}


def test_only_warehouse_tables_are_staged(run):
    with pytest.raises(ValueError, match="not a staged table: runs"):
        staging.write_chunk(run, {"runs": pd.DataFrame({"run_id": ["x"]})})


def test_a_chunk_without_its_manifest_is_missing_not_empty(run):
    """Files written but no manifest: a worker died before it finished the chunk."""
    folder = Path(staging.write_chunk(run, {"pages": pages("a")}))
    (folder / staging.MANIFEST).unlink()
    with pytest.raises(StagingError, match="missing or has no manifest"):
        staging.read_chunks([str(folder)])
    (folder / staging.MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(StagingError, match="missing or has no manifest"):
        staging.read_chunks([str(folder)])


def test_a_table_with_fewer_rows_than_staged_is_refused(run):
    good = staging.write_chunk(run, {"pages": pages("a")})
    short = Path(staging.write_chunk(run, {"pages": pages("b", "c", "d")}))
    pq.write_table(pa.Table.from_pandas(pages("b"), preserve_index=False), short / "pages.parquet")
    with pytest.raises(StagingError, match=r"pages.parquet has 1 rows, 3 were staged"):
        staging.read_chunks([good, str(short)])


def test_a_truncated_parquet_file_is_unreadable_not_short(run):
    folder = Path(staging.write_chunk(run, {"pages": pages("a", "b")}))
    data = (folder / "pages.parquet").read_bytes()
    (folder / "pages.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(StagingError, match="pages.parquet is unreadable"):
        staging.read_chunks([str(folder)])


def test_remove_takes_one_folder_or_many_and_ignores_the_gone(run):
    a, b, c = (staging.write_chunk(run, {"pages": pages("x")}) for _ in range(3))
    staging.remove(a)
    staging.remove([Path(b), c, str(run / "chunk-never-was")])
    assert not any(Path(f).exists() for f in (a, b, c)) and run.is_dir()


# ---- stale folders of dead runs --------------------------------------------------------------------


def test_clear_stale_without_a_staging_root_removes_nothing(tmp_path):
    assert staging.clear_stale(tmp_path / "w.duckdb") == 0
    assert list(tmp_path.iterdir()) == []


def test_clear_stale_keeps_the_callers_run_the_pending_batches_and_plain_files(tmp_path):
    db = tmp_path / "w.duckdb"
    for name in ("mine", "dead-1", "dead-2"):
        staging.write_chunk(staging.run_dir(db, name), {"pages": pages("a")})
    staging.keep_pending(db, "busy", [staging.write_chunk(staging.run_dir(db, "busy"), {"pages": pages("p")})], {}, {})
    (staging.staging_root(db) / "notes.txt").write_text("left by a person")
    assert staging.clear_stale(db, keep="mine") == 3     # dead-1, dead-2 and the emptied "busy"
    assert sorted(p.name for p in staging.staging_root(db).iterdir()) == ["mine", "notes.txt", staging.PENDING]
    assert len(staging.pending_batches(db)) == 1


@pytest.mark.slow   # a second Python importing the storage: about 4 s
def test_a_folder_held_by_another_live_process_is_left_alone(tmp_path):
    """The other run's lock is held by another process (as in production), not this one."""
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from wirehouse.warehouse import staging
        with staging.hold_run_dir({str(db)!r}, "other") as folder:
            print(staging.write_chunk(folder, {{}}), flush=True)
            sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        chunk = holder.stdout.readline().strip()
        assert chunk, "the holder did not start"
        assert staging.clear_stale(db) == 0 and Path(chunk).is_dir()
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert not (staging.staging_root(db) / "other").exists()   # removed by its run at the end
    assert staging.clear_stale(db) == 0


def test_a_held_folder_is_removed_when_its_run_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with staging.hold_run_dir(tmp_path / "w.duckdb", "r") as folder:
            staging.write_chunk(folder, {"pages": pages("a")})
            raise RuntimeError("boom")
    assert not folder.exists()


# ---- what waits for the next run: pending batches and run states ------------------------------------------------


def test_a_pending_batch_keeps_its_chunks_crawl_rows_and_facts(tmp_path):
    db = tmp_path / "w.duckdb"
    run = staging.run_dir(db, "r1")
    chunks = [staging.write_chunk(run, {"pages": pages("a", "b")}), staging.write_chunk(run, {"pages": pages("c")})]
    fetch_log = pd.DataFrame({"url": ["https://ex.org/a"], "attempts": [1]})
    kept = staging.keep_pending(db, "r1", chunks, {"fetch_log": fetch_log, "url_state": pd.DataFrame(), "x": None},
                                {"batch": 3, "pages": 3})
    assert not any(Path(c).exists() for c in chunks)         # moved, not copied
    assert staging.pending_batches(db) == [kept]
    folders, crawl, meta = staging.read_pending(kept)
    assert meta == {"batch": 3, "pages": 3, "run_id": "r1", "chunks": 2}
    assert set(crawl) == {"fetch_log"}
    pd.testing.assert_frame_equal(crawl["fetch_log"], fetch_log)
    assert staging.read_chunks(folders)["pages"]["content_hash"].tolist() == ["a", "b", "c"]


def test_pending_batches_come_oldest_first_and_half_written_ones_are_not_there(tmp_path):
    db = tmp_path / "w.duckdb"
    made = [staging.keep_pending(db, f"r{n}", [], {}, {}) for n in range(3)]
    root = staging.staging_root(db) / staging.PENDING
    (root / ".123-r9.part").mkdir()                 # a batch being written when its run died
    (root / "456-r8").mkdir()                       # no batch.json: not a batch
    assert staging.pending_batches(db) == made
    older = root / f"{int(made[0].name.split('-')[0]) - 1}-r0"
    made[0].rename(older)
    made[1].rename(root / f"{int(made[1].name.split('-')[0]) - 10**12}-r1")   # renamed older than all
    assert [p.name.split("-", 1)[1] for p in staging.pending_batches(db)] == ["r1", "r0", "r2"]


def test_an_unreadable_pending_batch_is_an_error_and_can_be_set_aside(tmp_path):
    db = tmp_path / "w.duckdb"
    broken = staging.keep_pending(db, "r1", [], {"fetch_log": pd.DataFrame({"url": ["u"]})}, {})
    (broken / "crawl-fetch_log.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(StagingError, match="crawl-fetch_log.parquet is unreadable"):
        staging.read_pending(broken)
    (broken / "batch.json").write_text("{", encoding="utf-8")
    with pytest.raises(StagingError, match="is unreadable"):
        staging.read_pending(broken)
    aside = staging.set_aside(broken)
    assert aside.name.endswith(".unloadable") and aside.is_dir() and not broken.exists()
    assert staging.pending_batches(db) == []        # no longer blocks the runs after it


def test_a_run_state_noted_for_the_next_run_reads_back(tmp_path):
    db = tmp_path / "w.duckdb"
    assert staging.noted_run_states(db) == []
    path = staging.note_run_state(db, "r1", "completed", {"totals": {"new": 2}})
    staging.note_run_state(db, "r2", "failed", None)
    (path.parent / "r3.json").write_text("{", encoding="utf-8")       # unreadable: left in place, skipped
    found = staging.noted_run_states(db)
    assert [p.name for p, _ in found] == ["r1.json", "r2.json"]
    first = found[0][1]
    assert (first["run_id"], first["status"], first["summary"]) == ("r1", "completed", {"totals": {"new": 2}})
    assert isinstance(first["finished_at"], float) and found[1][1]["summary"] is None
    assert (path.parent / "r3.json").exists() and not list(path.parent.glob(".*.part"))
    assert staging.clear_stale(db) == 0              # run states wait under pending: never cleared as stale
