"""What a person would check, automated: the Prefect UI shows an ingest run's summary artifact.

`make e2e` (not part of `make test`; skipped when Chromium is not installed): starts `prefect server
start` on loopback with its own database, serves the deployments with `wirehouse serve`, runs the
`ingest` deployment on the bundled sample site, then opens the flow run's page in headless Chromium
(Playwright driving the system's Chromium), clicks the Artifacts tab, finds the `ingest-summary`
artifact (and the others) and keeps a screenshot in `e2e/screenshots/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SCREENSHOTS = ROOT / "e2e" / "screenshots"
CHROMIUM_ARGS = [  # a closed network: no background connections, no first-run work
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(url: str, body: dict | None = None, method: str = "GET"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def run_ingest_deployment(base: str, parameters: dict | None = None) -> tuple[dict, dict]:
    """One run of the served `ingest` deployment to its end: (the flow run, its final state)."""
    deployment = wait_for(lambda: api(f"{base}/api/deployments/name/ingest/ingest"), 90, "the ingest deployment")
    # a busy server answers 503 now and then (SQLite locked under load): asked again
    run = wait_for(lambda: api(f"{base}/api/deployments/{deployment['id']}/create_flow_run",
                               {"parameters": parameters} if parameters else {}), 60, "a new flow run")
    state = wait_for(lambda: (s := api(f"{base}/api/flow_runs/{run['id']}")["state"])["type"] in
                     ("COMPLETED", "FAILED", "CRASHED") and s, 240, "the ingest run")
    return run, state


@contextlib.contextmanager
def run_page(base: str, run: dict):
    """The flow run's page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/runs/flow-run/{run['id']}", wait_until="networkidle")
            yield page
        finally:
            browser.close()


@pytest.fixture
def stack(tmp_path):
    from wirehouse.samplesite import SampleSite

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": f"{base}/api",
           "PREFECT_UI_API_URL": f"{base}/api", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_RUNNER_POLL_FREQUENCY": "2", "WIREHOUSE_WORKERS": "0"}
    processes = [subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    site = SampleSite(port=0)
    site.start()
    try:
        wait_for(lambda: api(f"{base}/api/health"), 90, "the Prefect server")
        sources = tmp_path / "sources.toml"
        sources.write_text(site.render_sources(), encoding="utf-8")
        processes.append(subprocess.Popen(
            [str(BIN / "wirehouse"), "serve", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb")],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield base
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        site.stop()


def test_flow_run_page_shows_the_summary_artifact(stack, tmp_path):
    run, state = run_ingest_deployment(stack)
    assert state["type"] == "COMPLETED", state
    with run_page(stack, run) as page:
        page.get_by_text("Artifacts", exact=True).first.click()   # the tab, as a person would
        page.get_by_text("ingest-summary").first.wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "flow-run-artifacts.png"), full_page=True)
        for key in ("ingest-health", "ingest-top-entities", "ingest-top-events"):
            assert page.get_by_text(key).count() > 0, key
    assert (SCREENSHOTS / "flow-run-artifacts.png").stat().st_size > 10_000


def test_flow_run_page_names_a_failing_source(stack, tmp_path):
    """A source whose feed cannot be fetched: the run completes (the sample site's sources work), and its
    page in the UI names the failing source with its URL and error (the run's log and state message)."""
    from wirehouse.samplesite import SampleSite

    base = stack
    dead = f"http://127.0.0.1:{free_port()}/feed.xml"   # nothing listens there: connection refused
    site = SampleSite(port=0)
    site.start()
    try:
        sources = tmp_path / "with-a-dead-source.toml"
        sources.write_text(site.render_sources() + f'\n[[sources]]\nname = "dead-feed"\nfeeds = ["{dead}"]\n'
                           "allow_private_network = true\nhost_delay = 0.0\n", encoding="utf-8")
        run, state = run_ingest_deployment(base, {"sources_file": str(sources), "db_path": str(tmp_path / "dead.duckdb")})
    finally:
        site.stop()
    assert state["type"] == "COMPLETED", state
    assert "dead-feed" in (state.get("message") or ""), state
    with run_page(base, run) as page:
        page.get_by_text("dead-feed", exact=False).first.wait_for(timeout=30_000)   # in the run's logs
        page.screenshot(path=str(SCREENSHOTS / "flow-run-failing-source.png"), full_page=True)
