"""Crashes: the ingest process is killed (SIGKILL, no cleanup) at several points of a run; the next
run opens the warehouse without repair and ends with exactly the rows of one clean run."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wirehouse.warehouse import duckdb_adapter

# Every test runs `wirehouse ingest` in subprocesses (killed, full disks, held files).
pytestmark = pytest.mark.slow

WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")
KILL_POINTS = ("fetched:2", "staged:1", "loading:2", "loaded:3")


def cli_env(**extra: str) -> dict[str, str]:
    """A CLI run with its own temporary Prefect server, in-process stages, batches of 10 pages."""
    env = dict(os.environ, WIREHOUSE_LOCAL_SERVER="0", WIREHOUSE_BATCH_PAGES="10", WIREHOUSE_WORKERS="0")
    env.pop("PREFECT_API_URL", None)
    env.pop("WIREHOUSE_FAULT_KILL_AT", None)
    return {**env, **extra}


def ingest(sources, db, kill_at=None):
    env = cli_env(WIREHOUSE_FAULT_KILL_AT=kill_at) if kill_at else cli_env()
    return subprocess.run(
        [WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(db)], capture_output=True, text=True, env=env, timeout=300,
    )


def state(db) -> dict:
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "articles": set(one("SELECT article_id, content_hash, duplicate_of, title FROM articles")),
            "article_rows": one("SELECT count(*) = count(DISTINCT article_id) FROM articles")[0][0],
            "entities": set(one("SELECT entity_id, country_code, role FROM entities")),
            "mentions": one("SELECT count(*), count(DISTINCT (article_id, start_char, end_char)) FROM mentions")[0],
            "events": sorted(one("SELECT event_id FROM events")),
            "pages": one("SELECT count(*) FROM pages")[0][0],
            "url_state": set(one("SELECT url, content_hash, article_id FROM url_state")),
        }
    finally:
        con.close()


@pytest.fixture(scope="session")
def clean(sample_sources, tmp_path_factory):
    db = tmp_path_factory.mktemp("clean") / "w.duckdb"
    out = ingest(sample_sources, db)
    assert out.returncode == 0, out.stderr
    return state(db)


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_run_then_rerun_equals_one_clean_run(clean, sample_sources, tmp_path, kill_at):
    db = tmp_path / "w.duckdb"
    killed = ingest(sample_sources, db, kill_at)
    assert killed.returncode == -9, (kill_at, killed.returncode, killed.stderr[-500:])
    if db.exists():   # the kill left the run half done: some batches in, none half in
        partial = state(db)
        assert len(partial["articles"]) < len(clean["articles"])
        assert (len(partial["articles"]) > 0) == kill_at.startswith(("loading", "loaded"))
        assert partial["articles"] <= clean["articles"] and set(partial["events"]) <= set(clean["events"])
    rerun = ingest(sample_sources, db)
    assert rerun.returncode == 0, rerun.stderr
    after = state(db)
    assert after["article_rows"] and after["mentions"][0] == after["mentions"][1]   # nothing doubled
    assert len(after["events"]) == len(set(after["events"]))
    assert after == clean
    con = duckdb_adapter.connect(db, read_only=True)
    statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
    con.close()
    assert statuses == ["interrupted", "completed"]
    assert not any(Path(str(db) + ".staging").glob("*/*")), "the killed run's staged chunks are cleaned up"


def test_a_second_run_waits_for_the_writer_or_says_why(clean, sample_sources, tmp_path):
    """Two real runs on one warehouse at once: the second waits for the first and then completes;
    when the writer holds on longer than it will wait, it exits with one clear line, no traceback."""
    import time

    db = tmp_path / "w.duckdb"
    env = cli_env()
    command = [WIREHOUSE, "ingest", "--sources", str(sample_sources), "--db", str(db)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not Path(str(db) + ".lock").exists() and time.monotonic() < deadline:   # the first holds the writer
        time.sleep(0.1)
    second = subprocess.run(command, capture_output=True, text=True, env=dict(env, WIREHOUSE_LOCK_WAIT="240"), timeout=300)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr + err
    assert state(db) == clean
    con = duckdb_adapter.connect(db, read_only=True)
    assert [r[0] for r in con.execute("SELECT status FROM runs").fetchall()] == ["completed", "completed"]
    con.close()

    with duckdb_adapter.writer_lock(db):   # a writer that does not let go in time
        busy = subprocess.run(command, capture_output=True, text=True, env=dict(env, WIREHOUSE_LOCK_WAIT="1"), timeout=300)
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    lines = busy.stderr.strip().splitlines()   # it says it waits (a log: one line), then why it gave up
    assert len(lines) == 2 and lines[0].endswith(": waiting for it, 1 s left"), busy.stderr
    assert "another run is writing to this warehouse (waited 1." in lines[1], busy.stderr
    assert state(db) == clean


def test_a_chunk_lost_between_staging_and_loading_fails_loudly_and_nothing_is_lost(clean, sample_sources, tmp_path):
    """A tmp cleaner or a storage hiccup deletes a staged chunk: the batch is not loaded, its pages
    are not marked loaded, and the next run brings every article in."""
    db = tmp_path / "w.duckdb"
    env = cli_env(WIREHOUSE_FAULT_AT="staged:2=lose-chunk")
    lost = subprocess.run([WIREHOUSE, "ingest", "--sources", str(sample_sources), "--db", str(db)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert lost.returncode == 1 and "Traceback" not in lost.stderr
    lines = [line for line in lost.stderr.strip().splitlines() if line.startswith("wirehouse: error:")]
    assert len(lines) == 1 and "staged chunk" in lines[0] and "missing" in lines[0], lost.stderr
    partial = state(db)
    assert 0 < len(partial["articles"]) < len(clean["articles"])   # batch 1 landed, batch 2 did not
    loaded = {a[0] for a in partial["articles"]}
    assert {s[2] for s in partial["url_state"] if s[2]} <= loaded, "a page of the lost batch was marked loaded"
    con = duckdb_adapter.connect(db, read_only=True)
    assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
    con.close()
    rerun = ingest(sample_sources, db)
    assert rerun.returncode == 0, rerun.stderr
    assert state(db) == clean


def test_a_reader_holding_the_file_costs_the_run_nothing(clean, sample_sources, tmp_path):
    """A notebook holds a read-only connection through a batch's load: the run waits, says how long
    it really waited, keeps that batch staged whole, and leaves no run `running`; the next run loads
    the kept batch first, and the warehouse ends as one clean run leaves it."""
    import duckdb

    db = tmp_path / "w.duckdb"
    env = cli_env(WIREHOUSE_FAULT_AT="staged:2=pause", WIREHOUSE_FAULT_DIR=str(tmp_path), WIREHOUSE_READER_WAIT="3")
    proc = subprocess.Popen([WIREHOUSE, "ingest", "--sources", str(sample_sources), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "staged.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else "never paused"
            time.sleep(0.1)
        reader = duckdb.connect(str(db), read_only=True)   # batch 1 is in; batch 2 is about to load
        (tmp_path / "staged.go").touch()
        _, err = proc.communicate(timeout=240)
        reader.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "Traceback" not in err, err
    errors = [line for line in err.strip().splitlines() if line.startswith("wirehouse: error:")]
    assert len(errors) == 1, err
    assert "in use by another process (waited 3." in errors[0] and "stay staged" in errors[0], errors[0]
    partial = state(db)
    assert 0 < len(partial["articles"]) < len(clean["articles"])
    rerun = ingest(sample_sources, db)
    assert rerun.returncode == 0, rerun.stderr
    assert state(db) == clean
    con = duckdb_adapter.connect(db, read_only=True)
    runs = con.execute("SELECT status, summary FROM runs ORDER BY started_at").fetchall()
    con.close()
    assert [r[0] for r in runs] == ["failed", "completed"], runs
    assert "stay staged" in runs[0][1] and "carried_over" in runs[1][1]
    assert not list((Path(str(db) + ".staging") / "pending").glob("*/*.parquet")), "the kept batch was loaded and removed"


PROGRESS = re.compile(r"wirehouse: \d+/\d+ pages (loaded \(batch \d+/\d+\)|transformed \(\d+ loaded\))")


def _limit_file_size(pid: int, limit: int) -> None:
    """From now on a write of that process past ``limit`` bytes fails with EFBIG, as a write to a full
    disk fails with ENOSPC (Python ignores SIGXFSZ, so the write fails instead of killing the run).
    Set on the running CLI, not at its start: the temporary Prefect server it started is spared."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, limit))


def _start(sources, db, **env: str) -> subprocess.Popen:
    command = [WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(db)]
    started = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(**env))
    watchdog = threading.Timer(300, started.kill)   # a run that hangs fails the test instead
    watchdog.daemon = True
    watchdog.start()
    return started


def _one_error_line(stderr: str) -> str:
    """The terminal shows progress lines and exactly one error line: no traceback, no Prefect log line."""
    assert "Traceback" not in stderr
    others = [line for line in stderr.splitlines() if not PROGRESS.fullmatch(line)]
    assert len(others) == 1 and others[0].startswith("wirehouse: error: "), stderr
    return others[0]


def _statuses(db) -> list[str]:
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
    finally:
        con.close()


def test_a_full_disk_mid_run_is_one_line_exit_2_and_the_rerun_loses_nothing(clean, sample_sources, tmp_path):
    """The disk fills while the batches load: batch 1 is in, then no write may pass 100 kB (the
    write-ahead log of the later batches outgrows it; the run writes some 300 kB more)."""
    db = tmp_path / "w.duckdb"
    run = _start(sample_sources, db)
    seen = []
    for line in run.stderr:
        seen.append(line)
        if line.startswith("wirehouse: 10/") and "loaded (batch 1/" in line:   # batch 1 loaded
            _limit_file_size(run.pid, 100_000)
            break
    _, rest = run.communicate(timeout=300)
    stderr = "".join(seen) + rest
    assert run.returncode == 2, stderr
    line = _one_error_line(stderr)
    assert line.startswith(f"wirehouse: error: file too large writing {db}"), line   # the .wal, or a staged chunk
    assert line.endswith(": free space, raise the file-size limit (ulimit -f) or move --db"), line
    partial = state(db)
    assert 0 < len(partial["articles"]) < len(clean["articles"])   # it failed mid-run; what was loaded stays
    assert _statuses(db) == ["failed"]

    rerun = ingest(sample_sources, db)
    assert rerun.returncode == 0, rerun.stderr
    assert state(db) == clean
    assert _statuses(db) == ["failed", "completed"]


def test_a_full_temporary_folder_fails_the_run_and_no_page_is_lost(clean, sample_sources, tmp_path):
    """The first extraction unpacks py3langid's 68 MB model into the temporary folder. When that
    fails for want of room it is no fault of the pages (each was an extraction error, and the run
    "completed", exit 0, with no article): the run fails in one line, and the rerun brings every article in."""
    db = tmp_path / "w.duckdb"
    run = _start(sample_sources, db)
    while not db.exists() and run.poll() is None:   # the run has started (its row is written), nothing extracted yet
        time.sleep(0.01)
    _limit_file_size(run.pid, 3_000_000)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 2, stderr
    line = _one_error_line(stderr)
    assert line.startswith("wirehouse: error: file too large writing a temporary file in "), line
    assert line.endswith("or point TMPDIR elsewhere"), line
    failed = state(db)
    assert not failed["articles"] and not failed["url_state"]   # nothing loaded: batch 1 failed as a whole
    assert _statuses(db) == ["failed"]

    rerun = ingest(sample_sources, db)
    assert rerun.returncode == 0, rerun.stderr
    assert state(db) == clean


def test_a_staging_folder_that_cannot_be_written_is_one_line_exit_2(sample_sources, tmp_path):
    """WIREHOUSE_STAGING names a folder nobody may write (in /sys, even root): the run, under way,
    fails at its first write there; one line names the folder and the setting, the run is marked failed."""
    db = tmp_path / "w.duckdb"
    staging = "/sys/wirehouse-staging"
    out = subprocess.run([WIREHOUSE, "ingest", "--sources", str(sample_sources), "--db", str(db)],
                         capture_output=True, text=True, env=cli_env(WIREHOUSE_STAGING=staging), timeout=300)
    assert out.returncode == 2, out.stderr
    line = _one_error_line(out.stderr)
    assert line.endswith(f" writing {staging}: make it writable or point WIREHOUSE_STAGING elsewhere"), line
    assert _statuses(db) == ["failed"]
    assert not state(db)["pages"]
