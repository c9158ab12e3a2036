"""The report as a person sees it: `wirehouse demo` builds the sample warehouse, `wirehouse report`
writes the page, and headless Chromium opens it from disk with every network request refused (the
page must need none), checks what the eye would (the four charts drawn, the quad-class legend, no
range slider, the Goldstein colour bar, named network nodes and map places) and keeps a full-page
screenshot in `e2e/screenshots/report.png`.

`make e2e`; skipped, like test_ui.py, when Chromium is not installed (Debian: apt-get install chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SCREENSHOTS = ROOT / "e2e" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SVG_TEXTS = "Array.from(document.querySelectorAll('.js-plotly-plot svg text')).map(t => t.textContent)"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install chromium)")


@pytest.fixture
def report(tmp_path) -> Path:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "WIREHOUSE_WORKERS": "0"}
    db, out = tmp_path / "w.duckdb", tmp_path / "report.html"
    subprocess.run([str(BIN / "wirehouse"), "demo", "--db", str(db)], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    subprocess.run([str(BIN / "wirehouse"), "report", "--db", str(db), "--out", str(out)], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    return out


def test_report_page_draws_every_chart_offline(report):
    from playwright.sync_api import sync_playwright

    from wirehouse.report import MAP_LABELS, read_report_data, short_label

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    errors: list[str] = []

    def only_files(route):
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", only_files)
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8", timeout=30_000)
            texts = set(page.evaluate(SVG_TEXTS))
            assert {"verbal cooperation", "material cooperation", "verbal conflict", "material conflict"} & texts, texts
            assert "all dates" in texts and page.locator(".rangeslider-container").count() == 0
            assert any(text.startswith("mean Goldstein") for text in texts), texts
            page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
        finally:
            browser.close()
    data = read_report_data(report.parent / "w.duckdb")
    busiest = data.locations.sort_values(["events", "location"], ascending=[False, True])["location"].head(MAP_LABELS)
    assert set(busiest) <= texts, set(busiest) - texts               # the map names the busiest places
    strongest = {short_label(actor) for pair in data.dyads.head(3)[["actor_a", "actor_b"]].to_numpy() for actor in pair}
    assert strongest <= texts, strongest - texts                     # the network names its nodes
    assert not refused, refused
    assert not errors, errors
    assert (SCREENSHOTS / "report.png").stat().st_size > 50_000
