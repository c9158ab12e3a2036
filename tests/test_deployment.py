"""The `ingest` deployment has a concurrency limit of 1: two runs started at once never overlap.
A run cancelled from the API (as from the UI) stops like a SIGTERM and shows Cancelled.

`wirehouse serve` runs for real against the session's Prefect API (one serve process for the
module); two runs of its deployment are triggered together on the sample site, and the second must
wait for a slot, then complete. Another run is cancelled half way, and the next one still completes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from helpers import assert_whole_batches, rows
from wirehouse.warehouse import duckdb_adapter

# A served deployment and runs of it under a Prefect server.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")


def test_prefect_yaml_is_the_one_declaration_and_the_settings():
    """prefect.yaml is generated from wirehouse/deployments.py (which `wirehouse serve` serves), and
    says what the settings and the Makefile say."""
    from wirehouse.deployments import DEPLOYMENTS, load_flow, prefect_yaml
    from wirehouse.logs import LOGGING_ENVIRONMENT
    from wirehouse.settings import PREFECT_ENVIRONMENT, Settings

    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert text == prefect_yaml(), "prefect.yaml is stale: run .venv/bin/python tools/prefect_yaml.py"
    spec = yaml.safe_load(text)   # and Prefect reads what the declaration says
    assert [d["name"] for d in spec["deployments"]] == [d.name for d in DEPLOYMENTS] == [
        "ingest", "reprocess", "replay-quarantine", "export"]
    assert all(d.get("concurrency_limit") == 1 for d in spec["deployments"])
    ingest = spec["deployments"][0]
    assert ingest["schedules"][0]["cron"] == Settings().cron
    assert ingest["parameters"] == {"sources_file": Settings().sources_file, "db_path": Settings().db_path}
    assert all(d["parameters"]["db_path"] == Settings().db_path for d in spec["deployments"])
    for d in spec["deployments"]:
        env = d["work_pool"]["job_variables"]["env"]
        assert env == {**{k: v for k, v in PREFECT_ENVIRONMENT.items() if k != "DO_NOT_TRACK"}, **LOGGING_ENVIRONMENT}
    for declared in DEPLOYMENTS:   # every entrypoint names a flow that exists, named as the deployment
        assert load_flow(declared).name == declared.name, declared.entrypoint
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert all(f"export {k} := {v}" in makefile for k, v in {**PREFECT_ENVIRONMENT, **LOGGING_ENVIRONMENT}.items())


async def _wait_for_deployment(client, name: str, serve: subprocess.Popen, timeout: float = 90):
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert serve.poll() is None, _exited(serve)
        try:
            return await client.read_deployment_by_name(name)
        except ObjectNotFound:
            await asyncio.sleep(0.5)
    raise AssertionError(f"deployment {name} never appeared")


async def _two_runs(serve: subprocess.Popen, out_dir: Path):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        deployment = await _wait_for_deployment(client, "ingest/ingest", serve)
        runs = [await client.create_flow_run_from_deployment(deployment.id) for _ in range(2)]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            runs = [await client.read_flow_run(r.id) for r in runs]
            if all(r.state.is_final() for r in runs):
                break
            assert serve.poll() is None, _exited(serve)
            await asyncio.sleep(1)
        histories = [[s.name for s in await client.read_flow_run_states(r.id)] for r in runs]
        served = {name: await _wait_for_deployment(client, name, serve)
                  for name in ("reprocess/reprocess", "replay-quarantine/replay-quarantine", "export/export")}
        # A maintenance deployment run from the API (as from the UI) with parameters.
        export_run = await client.create_flow_run_from_deployment(
            served["export/export"].id, parameters={"out_dir": str(out_dir), "partition": "year"})
        while time.monotonic() < deadline:
            export_run = await client.read_flow_run(export_run.id)
            if export_run.state.is_final():
                break
            await asyncio.sleep(1)
        return deployment, runs, histories, served, export_run


POLL_SECONDS = 1   # PREFECT_RUNNER_POLL_FREQUENCY of the serve process


@pytest.fixture(scope="module")
def serve(prefect_harness, sample_sources, tmp_path_factory):
    """`wirehouse serve` on the sample site (about 15 s to start: one for the module), and its warehouse."""
    from prefect.settings import PREFECT_API_URL

    folder = tmp_path_factory.mktemp("served")
    db = folder / "w.duckdb"
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_RUNNER_POLL_FREQUENCY=str(POLL_SECONDS),
               WIREHOUSE_WORKERS="0", WIREHOUSE_LOCAL_SERVER="0", WIREHOUSE_BATCH_PAGES="10")
    # Its output (every run's logs) goes to a file: a pipe nobody reads would fill and block it.
    with open(folder / "serve.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [WIREHOUSE, "serve", "--sources", str(sample_sources), "--db", str(db), "--cron", "0 0 1 1 *"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    proc.log_path = folder / "serve.log"
    try:
        yield proc, db
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _exited(serve: subprocess.Popen) -> str:
    return "wirehouse serve exited:\n" + serve.log_path.read_text(encoding="utf-8")[-3000:]


def test_two_runs_of_the_deployment_never_overlap(serve, tmp_path):
    serve, db = serve
    deployment, runs, histories, served, export_run = asyncio.run(_two_runs(serve, tmp_path / "export"))
    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"], histories
    # serve says when each run starts and ends, with its headline (it looks every 2 s)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        log = serve.log_path.read_text(encoding="utf-8")
        if all(f"ingest/ingest run {r.name}: Completed after " in log for r in runs):
            break
        time.sleep(0.5)
    for r in runs:
        assert re.search(rf"^\S+ \S+ ingest/ingest run {r.name}: started$", log, re.M), log[-3000:]
        assert re.search(rf"^\S+ \S+ ingest/ingest run {r.name}: Completed after [\d.]+ s: \d+ discovered, \d+ fetched, ", log, re.M), log[-3000:]
    first, second = sorted(runs, key=lambda r: r.start_time)
    assert first.end_time <= second.start_time, "the two runs overlapped"
    assert any("AwaitingConcurrencySlot" in h for h in histories), histories
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) = count(DISTINCT article_id) FROM articles").fetchone()[0]
        assert con.execute("SELECT list(status) FROM runs").fetchone()[0] == ["completed", "completed"]
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    assert all(d.parameters["db_path"] == str(db.resolve()) for d in served.values())
    assert {"limit", "lock_wait"} <= set(served["reprocess/reprocess"].parameter_openapi_schema["properties"])
    assert export_run.state.type.value == "COMPLETED", export_run.state.message
    assert all(p.name.startswith("year=") for p in (tmp_path / "export" / "articles").iterdir())
    exported = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path / 'export'}/articles/**/*.parquet')").fetchone()[0]
    assert exported == articles


async def _wait_final(client, run_id, serve: subprocess.Popen, timeout: float, poll: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = await client.read_flow_run(run_id)
        if run.state.is_final():
            return run
        assert serve.poll() is None, _exited(serve)
        await asyncio.sleep(poll)
    return await client.read_flow_run(run_id)


async def _cancel_half_way(serve: subprocess.Popen, sources: Path, db: Path, fresh_db: Path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
    from prefect.states import Cancelling

    async with get_client() as client:
        deployment = await _wait_for_deployment(client, "ingest/ingest", serve)
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"sources_file": str(sources), "db_path": str(db)})
        # Half way: Running, and its progress artifact (moved after every chunk and every loaded batch)
        # says a batch is loaded. The warehouse is not read while the run writes to it (DuckDB: one
        # process at a time).
        deadline = time.monotonic() + 120
        progress = 0.0
        while time.monotonic() < deadline and not progress:
            run = await client.read_flow_run(run.id)
            assert not run.state.is_final(), f"the run ended before it could be cancelled: {run.state}"
            if run.state.is_running():
                artifacts = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-progress"])),
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
                loaded = [int(re.search(r", (\d+) loaded", a.description or "").group(1)) for a in artifacts
                          if re.search(r", (\d+) loaded", a.description or "")]
                progress = max((float(a.data) for a in artifacts), default=0.0) if any(loaded) else 0.0
            await asyncio.sleep(0.5)
        assert 0 < progress < 100, f"no batch loaded in time: {run.state}, progress {progress}"
        # What the UI's Cancel button does (prefect-ui-library: setFlowRunState(id, {type: 'cancelling'}), forced).
        await client.set_flow_run_state(run.id, Cancelling(), force=True)
        cancelled_at = time.monotonic()
        run = await _wait_final(client, run.id, serve, timeout=60)
        seconds = time.monotonic() - cancelled_at
        # The serve process keeps serving: the next run of the deployment completes (and meanwhile
        # the runner finishes its side of the cancellation).
        after = await client.create_flow_run_from_deployment(deployment.id, parameters={"db_path": str(fresh_db)})
        after = await _wait_final(client, after.id, serve, timeout=120, poll=1)
        final = await client.read_flow_run(run.id)
        history = await client.read_flow_run_states(run.id)
        return run, seconds, final, history, after


def test_a_served_run_cancelled_from_the_api_stops_like_sigterm_and_shows_cancelled(serve, sample_site, tmp_path):
    serve, _ = serve
    sources = tmp_path / "slow.toml"   # a page a second per publisher: the run takes a while
    sources.write_text(sample_site.render_sources().replace("host_delay = 0.0", "host_delay = 1.0"), encoding="utf-8")
    db, fresh_db = tmp_path / "cancelled.duckdb", tmp_path / "after.duckdb"
    run, seconds, final, history, after = asyncio.run(_cancel_half_way(serve, sources, db, fresh_db))
    names = [s.name for s in history]
    assert run.state.is_cancelled() and final.state.is_cancelled(), (run.state, final.state, names)
    assert "Crashed" not in names and "Failed" not in names, names
    # The run stopped itself (the runner's SIGTERM, caught at a checkpoint), and marked its row.
    assert any(s.is_cancelled() and (s.message or "").startswith("stopped by SIGTERM; run ")
               and (s.message or "").endswith(" marked interrupted") for s in history), [(s.name, s.message) for s in history]
    # The runner hears of the Cancelling state at once by its event stream, else at its next poll
    # (POLL_SECONDS); it offers the run's process its cancel intent (up to 1 s for an ack: refused,
    # as the flow's own SIGTERM handler stands in for Prefect's), then sends SIGTERM. The run stops
    # within 5 s (a load under way finishes: 10 pages load in well under a second) and reports
    # Cancelled itself; the runner adds its own Cancelled once it sees the process gone. 10 s of
    # margin for a busy 2-core machine and the API round trips; still well below the runner's 30 s
    # kill grace, which a run that did not stop would take.
    assert seconds < POLL_SECONDS + 1 + 5 + 10, f"{seconds:.1f} s from the cancel to {run.state.name}"
    assert rows(db, "SELECT run_id, status, finished_at IS NOT NULL FROM runs") == [(str(run.id), "interrupted", True)]
    articles = assert_whole_batches(db)
    assert after.state.is_completed(), (after.state, after.state.message)
    con = duckdb_adapter.connect(fresh_db, read_only=True)
    try:
        everything = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    assert articles < everything, "the cancelled run was not stopped half way"
