"""The `ingest` deployment has a concurrency limit of 1: two runs started at once never overlap.

`wirehouse serve` runs for real against the session's Prefect API; two runs of its deployment are
triggered together on the sample site, and the second must wait for a slot, then complete.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml

from warehouse import loader

ROOT = Path(__file__).resolve().parents[1]
WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")


def test_prefect_yaml_deployments_have_a_concurrency_limit_of_one():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert [d["name"] for d in spec["deployments"]] == ["ingest", "reprocess", "replay-quarantine", "export"]
    assert all(d.get("concurrency_limit") == 1 for d in spec["deployments"])
    from wirehouse.logs import EXTRA_LOGGERS

    assert all(d["work_pool"]["job_variables"]["env"]["PREFECT_LOGGING_EXTRA_LOGGERS"] == EXTRA_LOGGERS for d in spec["deployments"])
    assert f"PREFECT_LOGGING_EXTRA_LOGGERS := {EXTRA_LOGGERS}" in (ROOT / "Makefile").read_text(encoding="utf-8")
    for d in spec["deployments"]:   # every entrypoint names a flow that exists
        path, name = d["entrypoint"].split(":")
        module = path.removesuffix(".py").replace("/", ".")
        assert hasattr(__import__(module, fromlist=[name]), name), d["entrypoint"]


async def _wait_for_deployment(client, name: str, serve: subprocess.Popen, timeout: float = 90):
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert serve.poll() is None, serve.stderr.read() if serve.stderr else "wirehouse serve exited"
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
            assert serve.poll() is None, "wirehouse serve exited"
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


def test_two_runs_of_the_deployment_never_overlap(prefect_harness, sample_sources, tmp_path):
    from prefect.settings import PREFECT_API_URL

    db = tmp_path / "w.duckdb"
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_RUNNER_POLL_FREQUENCY="1",
               WIREHOUSE_WORKERS="0", WIREHOUSE_LOCAL_SERVER="0")
    serve = subprocess.Popen(
        [WIREHOUSE, "serve", "--sources", str(sample_sources), "--db", str(db), "--cron", "0 0 1 1 *"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deployment, runs, histories, served, export_run = asyncio.run(_two_runs(serve, tmp_path / "export"))
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"], histories
    first, second = sorted(runs, key=lambda r: r.start_time)
    assert first.end_time <= second.start_time, "the two runs overlapped"
    assert any("AwaitingConcurrencySlot" in h for h in histories), histories
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1
    con = loader.connect(db, read_only=True)
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
