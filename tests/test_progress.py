"""What a run shows while it works: progress per transform chunk (the terminal and the Prefect
artifact), the command's first line before anything heavy is imported, the wait for the writer
lock with the seconds left, and `wirehouse serve`'s line per run start and end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from wirehouse.warehouse import duckdb_adapter

WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")
HEAVY = ("prefect", "duckdb", "pandas", "pyarrow", "spacy", "trafilatura", "rich", "httpx")

# Runs `wirehouse ingest` in this interpreter with a stderr that says it is a terminal, notes what
# was imported when the first line was written, and ends the process when prefect is first imported.
FIRST_LINE = r"""
import importlib.abc, json, os, sys
report, argv = sys.argv[1], sys.argv[2:]
HEAVY = %r

class Screen:
    def __init__(self, real):
        self.real, self.first = real, None
    def isatty(self):
        return True
    def write(self, text):
        if self.first is None and text.strip():
            self.first = {"text": text.strip(), "loaded": [m for m in HEAVY if m in sys.modules]}
        return self.real.write(text)
    def __getattr__(self, name):
        return getattr(self.real, name)

screen = sys.stderr = Screen(sys.stderr)

class AtPrefect(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "prefect":
            with open(report, "w") as out:
                json.dump({"first": screen.first, "loaded": [m for m in HEAVY if m in sys.modules]}, out)
            os._exit(0)
        return None

sys.meta_path.insert(0, AtPrefect())
from wirehouse.cli import main
sys.exit(main(argv))
""" % (HEAVY,)


def test_the_first_line_is_printed_before_anything_heavy_is_imported(tmp_path):
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://example.org/a-b-c"]\n', encoding="utf-8")
    report = tmp_path / "report.json"
    env = dict(os.environ, PREFECT_API_URL="http://127.0.0.1:9/api")   # no server is started
    out = subprocess.run([sys.executable, "-c", FIRST_LINE, str(report), "ingest", "--sources", str(sources),
                          "--db", str(tmp_path / "w.duckdb")], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and report.exists(), out.stderr   # it reached prefect's import
    seen = json.loads(report.read_text())
    first = seen["first"]
    assert first is not None, "nothing was written before prefect was imported"
    assert first["text"].startswith(f"wirehouse: starting an ingest run of {sources} into "), first
    assert first["loaded"] == [], f"imported before the first line: {first['loaded']}"
    assert "duckdb" in seen["loaded"]   # the heavy imports came after it (the warehouse is checked first)


def test_no_first_line_in_a_log(tmp_path):
    """Not a terminal: an error stays the one line it was."""
    out = subprocess.run([WIREHOUSE, "ingest", "--sources", str(tmp_path / "missing.toml"), "--db", str(tmp_path / "w.duckdb")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr


# ---- the writer lock ------------------------------------------------------------------------------

HOLD = """
import sys, time
from wirehouse.warehouse import duckdb_adapter
with duckdb_adapter.writer_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def held_lock(tmp_path):
    """The warehouse's writer lock, held by another process until the test ends."""
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield db
    finally:
        holder.stdin.close()
        holder.wait(10)


class _Tty:
    """A stream that says it is a terminal, and keeps what it was sent."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_waiting_for_the_writer_says_so_with_the_seconds_left(held_lock, monkeypatch):
    from wirehouse.cli import CliError
    from wirehouse.cli.run import _wait_for_writer

    monkeypatch.setenv("WIREHOUSE_LOCK_WAIT", "2.5")
    screen = _Tty()
    with pytest.raises(CliError) as failed:
        _wait_for_writer(str(held_lock), screen)
    assert "another run is writing to this warehouse (waited 2." in str(failed.value)
    # The line is redrawn in place each second, the seconds left counting down, then cleared for the error.
    drawn = [part.removeprefix("\x1b[K") for part in screen.text.split("\r") if part.strip("\x1b[K")]
    prefix = f"wirehouse: another run is writing to {held_lock}: waiting for it, "
    assert drawn and all(d.startswith(prefix) and d.endswith(" s left") for d in drawn), screen.text
    left = [int(d.removeprefix(prefix).removesuffix(" s left")) for d in drawn]
    assert len(left) >= 2 and left == sorted(left, reverse=True) and left[0] in (2, 3), left
    assert screen.text.endswith("\r\x1b[K")


def test_the_wait_ends_with_the_seconds_waited_when_the_writer_lets_go(tmp_path):
    from wirehouse.cli.run import _wait_for_writer

    db = tmp_path / "w.duckdb"
    release = threading.Event()

    def writer():
        with duckdb_adapter.writer_lock(db):
            held.set()
            release.wait(10)

    held = threading.Event()
    threading.Thread(target=writer, daemon=True).start()
    held.wait(10)
    threading.Timer(1.5, release.set).start()
    screen = _Tty()
    _wait_for_writer(str(db), screen)
    assert "waiting for it, " in screen.text
    assert screen.text.endswith("wirehouse: the other run is done: starting (waited 2 s)\n") or \
        screen.text.endswith("wirehouse: the other run is done: starting (waited 1 s)\n"), screen.text


def test_a_log_gets_one_waiting_line(held_lock):
    env = dict(os.environ, WIREHOUSE_LOCAL_SERVER="0", WIREHOUSE_LOCK_WAIT="2")
    env.pop("PREFECT_API_URL", None)
    sources = held_lock.parent / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://example.org/a-b-c"]\n', encoding="utf-8")
    out = subprocess.run([WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(held_lock)],
                         capture_output=True, text=True, env=env, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 2, out.stderr
    assert lines[0] == f"wirehouse: another run is writing to {held_lock}: waiting for it, 2 s left"
    assert lines[1].startswith("wirehouse: error: ") and "(waited 2." in lines[1]


# ---- progress per chunk ---------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "2"], ids=["in-process", "worker-processes"])
def test_progress_moves_per_transform_chunk(prefect_harness, sample_sources, tmp_path, monkeypatch, workers):
    """One batch of the sample site's pages (over 25 new pages: two chunks and more): the terminal's
    listener and the progress artifact move at each chunk, not only when the batch loads."""
    from wirehouse.flows import artifacts
    from wirehouse.flows.ingest import ingest

    monkeypatch.setenv("WIREHOUSE_WORKERS", workers)
    monkeypatch.setenv("WIREHOUSE_POOL_MIN_ITEMS", "1")
    told, shares = [], []
    real_update = artifacts.update_progress_artifact

    def update(artifact_id, progress, description=None):
        shares.append(progress)
        return real_update(artifact_id, progress=progress, description=description)

    monkeypatch.setattr(artifacts, "update_progress_artifact", update)
    listener = lambda *step: told.append(step)  # noqa: E731
    artifacts.progress_listeners.append(listener)
    try:
        state = ingest(sources_file=str(sample_sources), db_path=str(tmp_path / "w.duckdb"), return_state=True)
    finally:
        artifacts.progress_listeners.remove(listener)
    assert state.is_completed(), state.message
    total = told[-1][1]
    assert total > 25 and told[-1] == (total, total, 1, 1, total), told
    before_load = [done for done, _, batches_done, _, _ in told if batches_done == 0 and 0 < done < total]
    assert before_load and before_load[0] == 25, told   # the first chunk, while the batch is under way
    assert before_load == sorted(before_load)
    assert any(0 < share < 100 for share in shares) and shares[-1] == 100.0, shares


def test_run_progress_counts_each_chunk_once_and_a_loaded_batch_whole(monkeypatch):
    from wirehouse.flows import artifacts

    shares = []
    monkeypatch.setattr(artifacts, "create_progress_artifact", lambda **kw: "id")
    monkeypatch.setattr(artifacts, "update_progress_artifact", lambda _id, progress, description: shares.append(progress))
    progress = artifacts.RunProgress(pages=60, batches=2)   # batches of 40 and 20 pages
    progress.transformed(0, 0, 25)
    progress.transformed(0, 0, 25)   # told twice (in-process, then at the load): counted once
    progress.transformed(1, 0, 10)   # batch 2 transforms while batch 1 waits to load
    assert progress.done == 35
    progress.loaded(40)               # batch 1: its 40 pages, those not transformed (unchanged) too
    assert (progress.done, progress.loaded_pages) == (50, 40)
    progress.transformed(0, 1, 15)   # late news of a loaded batch changes nothing
    progress.loaded(20)
    assert progress.done == 60 and shares == [41.7, 58.3, 83.3, 100.0]


# ---- serve's lines --------------------------------------------------------------------------------


def _run(state_type: str, message: str = "", minutes: float = 0.0, seconds: float = 12.5):
    from prefect.client.schemas.objects import State, StateType

    start = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)
    final = state_type in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")
    return SimpleNamespace(
        id=f"run-{minutes}", name=f"brave-run-{int(minutes)}", deployment_id="d1", start_time=start,
        end_time=start + timedelta(seconds=seconds) if final else None,
        state=State(type=StateType(state_type), name=state_type.title(), message=message),
    )


def test_serve_says_when_each_run_starts_and_ends_with_its_headline():
    from wirehouse.deployments import RunWatch, _clock

    watch, names = RunWatch(), {"d1": "ingest/ingest"}
    running = _run("RUNNING")
    assert watch.lines([running], names) == [f"{_clock(running.start_time)} ingest/ingest run brave-run-0: started"]
    assert watch.lines([running], names) == []   # told once
    done = _run("COMPLETED", "50 discovered, 50 fetched, 50 new, 0 updated\nsource failed: x")
    assert watch.lines([done], names) == [
        f"{_clock(done.end_time)} ingest/ingest run brave-run-0: Completed after 12.5 s: 50 discovered, 50 fetched, 50 new, 0 updated"]
    assert watch.lines([done], names) == []
    # A run that started and ended between two looks gets both lines; a cancelled one its stop line.
    quick = _run("CANCELLED", "stopped by SIGTERM; run x marked interrupted", minutes=30, seconds=3)
    assert watch.lines([quick], names) == [
        f"{_clock(quick.start_time)} ingest/ingest run brave-run-30: started",
        f"{_clock(quick.end_time)} ingest/ingest run brave-run-30: Cancelled after 3.0 s: stopped by SIGTERM; run x marked interrupted"]
