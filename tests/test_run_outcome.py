"""How a run ends and what it says about its sources (issue 15): a run in which every source failed
is Failed (CLI exit 1) with one line per source; a failing source is named with its URL and error
in the state message, the terminal summary, the summary artifact and `status`; Prefect events for a
failed source and a likely layout change; the run's seconds and error counts are one figure
everywhere; a busy warehouse reports the seconds the command really waited. Real flow runs on real
loopback servers into real DuckDB files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import rows as query_db
from wirehouse.loopback import reply
from wirehouse.warehouse import duckdb_adapter

pytestmark = pytest.mark.slow

WIREHOUSE = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "wirehouse")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def events(monkeypatch):
    """The Prefect events the run emits (recorded, then sent on to Prefect as usual)."""
    from wirehouse.flows import outcome

    seen: list[tuple[str, dict]] = []
    real = outcome.emit_event

    def record(event, **kwargs):
        seen.append((event, kwargs))
        return real(event, **kwargs)

    monkeypatch.setattr(outcome, "emit_event", record)
    return seen


def artifacts_of(state) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
            return {a.key: a for a in found}

    return asyncio.run(read())


def status_of(capsys, db) -> str:
    from wirehouse.cli import main

    capsys.readouterr()
    assert main(["status", "--db", str(db)]) == 0
    return capsys.readouterr().out


def table_rows(out: str, header_start: str) -> dict[str, dict[str, str]]:
    """The rows of the table in ``out`` whose header starts with ``header_start``, by first cell."""
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    header = re.split(r"\s{2,}", lines[top].strip())
    found = {}
    for line in lines[top + 2:]:
        if not line.strip() or line.startswith("("):
            break
        cells = re.split(r"\s{2,}", line.strip())
        found[cells[0]] = dict(zip(header, cells))
    return found


# ---- every source failed ---------------------------------------------------------------------------


def dead_sources(tmp_path, loopback) -> tuple[Path, dict[str, str]]:
    """Two sources whose only entry points fail: a feed on a closed port, a sitemap that is 404."""
    missing = loopback({"/robots.txt": reply(404, b"", "text/plain")})
    urls = {"closed": f"http://127.0.0.1:{closed_port()}/feed.xml", "missing": missing.url("/sitemap.xml")}
    path = tmp_path / "dead.toml"
    path.write_text(
        f'[fetch]\nretries = 0\n\n[[sources]]\nname = "closed"\nfeeds = ["{urls["closed"]}"]\nallow_private_network = true\n'
        f'host_delay = 0\n\n[[sources]]\nname = "missing"\nsitemaps = ["{urls["missing"]}"]\nallow_private_network = true\n'
        "host_delay = 0\n",
        encoding="utf-8",
    )
    return path, urls


def test_a_run_in_which_every_source_failed_is_failed_and_names_each(prefect_harness, loopback, tmp_path, events):
    from wirehouse.flows.ingest import ingest

    sources, urls = dead_sources(tmp_path, loopback)
    db = tmp_path / "w.duckdb"
    state = ingest(sources_file=str(sources), db_path=str(db), return_state=True)
    assert state.is_failed(), state
    lines = state.message.splitlines()
    assert lines[0].startswith("no source produced a page")
    assert len(lines) == 3
    assert lines[1].startswith(f"closed: feed {urls['closed']}: ") and "refused" in lines[1].lower()
    assert lines[2] == f"missing: sitemap {urls['missing']}: HTTP 404 Not Found"
    [(status, summary)] = query_db(db, "SELECT status, summary FROM runs")
    summary = json.loads(summary)
    assert status == "failed" and summary["totals"]["errors"] == 2 and set(summary["failed_sources"]) == {"closed", "missing"}
    failed = [(name, kw) for name, kw in events if name == "wirehouse.source.failed"]
    assert [kw["resource"]["prefect.resource.id"] for _, kw in failed] == ["wirehouse.source.closed", "wirehouse.source.missing"]
    assert failed[1][1]["payload"]["message"] == lines[2]
    assert failed[0][1]["related"][0]["prefect.resource.id"] == f"prefect.flow-run.{state.state_details.flow_run_id}"


def test_the_cli_exits_1_with_one_line_per_failing_source(loopback, tmp_path):
    sources, urls = dead_sources(tmp_path, loopback)
    out = subprocess.run([WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb")],
                         capture_output=True, text=True, env=cli_env(), timeout=300)
    assert out.returncode == 1, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("wirehouse: error: ")]
    assert len(errors) == 3 and "Traceback" not in out.stderr, out.stderr
    assert errors[0].startswith("wirehouse: error: ingest run failed: no source produced a page")
    assert errors[1].startswith(f"wirehouse: error: closed: feed {urls['closed']}: ")
    assert errors[2] == f"wirehouse: error: missing: sitemap {urls['missing']}: HTTP 404 Not Found"
    assert re.search(r"^run \S+ failed in [\d.]+ s$", out.stdout, re.M), out.stdout


# ---- some sources failed: named everywhere, one figure everywhere ------------------------------------


def test_a_failing_source_is_named_and_the_figures_agree_everywhere(prefect_harness, sample_warehouse, sample_site,
                                                                    tmp_path, events, capsys):
    from wirehouse.cli.run import _print_summary
    from wirehouse.flows.ingest import ingest

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, db)   # the sample pages are held: this run's are unchanged (304)
    dead = f"http://127.0.0.1:{closed_port()}/feed.xml"
    sources = tmp_path / "sources.toml"
    sources.write_text(sample_site.render_sources() + f'\n[[sources]]\nname = "dead"\nfeeds = ["{dead}"]\n'
                       "allow_private_network = true\nhost_delay = 0\n", encoding="utf-8")
    state = ingest(sources_file=str(sources), db_path=str(db), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    line = summary and f"dead: feed {dead}: {summary['failed_sources']['dead'][0]['error']}"
    assert state.message.splitlines()[0].endswith("; 1 source failed") and state.message.splitlines()[1:] == [line]

    # the terminal
    _print_summary(summary, 99.0)
    terminal = capsys.readouterr().out
    assert f"completed in {summary['seconds']:.1f} s (the command: 99.0 s" in terminal
    assert f"source failed: {line}" in terminal
    printed = table_rows(terminal, "source ")
    assert printed["TOTAL"]["errors"] == str(summary["totals"]["errors"]) and printed["dead"]["errors"] == "1"

    # the summary artifact
    artifact = artifacts_of(state)["ingest-summary"]
    rows = {r["source"]: r for r in (json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data)}
    assert rows["TOTAL"]["seconds"] == summary["seconds"] and rows["TOTAL"]["errors"] == summary["totals"]["errors"] and rows["dead"]["errors"] == 1
    assert line in artifact.description

    # status: the same seconds and errors, the articles held beside this run's counts, the failure in full
    out = status_of(capsys, db)
    run = table_rows(out, "run ")[summary["run_id"][:8]]
    assert float(run["seconds"]) == summary["seconds"] and run["errors"] == str(summary["totals"]["errors"]) and run["status"] == "completed"
    by_source = table_rows(out, "source ")
    held = dict(query_db(db, "SELECT source, count(*) FROM articles GROUP BY source"))
    for name, counts in summary["per_source"].items():
        assert by_source[name]["errors"] == str(counts["errors"])
        assert by_source[name]["new"] == str(counts["new"]) and by_source[name]["in warehouse"] == str(held.get(name, 0))
    assert by_source["meridian"]["new"] == "0" and int(by_source["meridian"]["in warehouse"]) > 0
    assert f"problem: {line}" in out
    assert [kw["resource"]["prefect.resource.name"] for name, kw in events if name == "wirehouse.source.failed"] == ["dead"]


# ---- a likely layout change --------------------------------------------------------------------------

ARTICLE = (
    "<html><head><title>{title}</title><meta property='article:published_time' content='2026-10-0{n}T10:00:00Z'>"
    "</head><body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1><p>By Staff Writer, October {n}, 2026</p>"
    "{paragraphs}</article><footer>Contact us</footer></body></html>"
)
SENTENCES = (
    "The regional council met on Tuesday to discuss the harbour expansion plan and its costs.",
    "Engineers presented three options for the breakwater, each with a different budget and timeline.",
    "Fishermen's associations asked that the works avoid the spawning season in the spring months.",
    "The mayor said a decision would follow a public consultation that opens next week.",
    "Opposition members questioned the traffic study and asked for an independent review of it.",
)


def article(n: int) -> bytes:
    paragraphs = "".join(f"<p>Story {n}. {s} {s}</p>" for s in SENTENCES)
    return ARTICLE.format(title=f"Harbour plan report number {n}", n=n, paragraphs=paragraphs).encode()


def test_a_likely_layout_change_emits_an_event(prefect_harness, loopback, tmp_path, events):
    from wirehouse.flows.ingest import ingest

    layout = {"changed": False}

    def page(exchange):
        n = int(exchange.path.rsplit("-", 1)[1])
        body = b"<html><head><title>Home</title></head><body><div id='app'></div></body></html>" if layout["changed"] else article(n)
        exchange.send(200, body)

    site = loopback({"/robots.txt": reply(404, b"", "text/plain"), "/news/harbour-plan-report-*": page})
    urls = ", ".join(f'"{site.url(f"/news/harbour-plan-report-{n}")}"' for n in range(1, 7))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "harbour"\nurls = [{urls}]\nallow_private_network = true\nhost_delay = 0\n',
                       encoding="utf-8")
    db = tmp_path / "w.duckdb"
    first = ingest(sources_file=str(sources), db_path=str(db), return_state=True)
    assert first.is_completed() and first.result()["totals"]["new"] == 6, first.message
    assert not [e for e in events if e[0] == "wirehouse.source.layout-change-likely"]
    layout["changed"] = True
    second = ingest(sources_file=str(sources), db_path=str(db), return_state=True)
    assert second.is_completed(), second.message
    flagged = [kw for name, kw in events if name == "wirehouse.source.layout-change-likely"]
    assert len(flagged) == 1 and flagged[0]["resource"]["prefect.resource.id"] == "wirehouse.source.harbour"
    assert "empty pages" in flagged[0]["payload"]["flags"] and flagged[0]["payload"]["run_id"] == second.result()["run_id"]


# ---- a busy warehouse ---------------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    import os

    env = dict(os.environ, WIREHOUSE_LOCAL_SERVER="0", WIREHOUSE_WORKERS="0")
    env.pop("PREFECT_API_URL", None)
    return {**env, **extra}


def test_the_lock_wait_message_gives_the_seconds_the_command_waited(tmp_path):
    """The command waits for the writer before it starts Prefect and imports the pipeline, so what it
    says it waited is what it took, less its own start. Checked without timing: a `prefect` that
    cannot be imported is on the path, and the command still ends with the lock message."""
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://example.org/a-b-c"]\n', encoding="utf-8")
    db = tmp_path / "w.duckdb"
    stub = tmp_path / "stub" / "prefect"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('raise ImportError("prefect imported before the lock wait")\n', encoding="utf-8")
    env = cli_env(WIREHOUSE_LOCK_WAIT="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stub.parent), env.get("PYTHONPATH")]))
    with duckdb_adapter.writer_lock(db):
        started = time.monotonic()
        out = subprocess.run([WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(db)],
                             capture_output=True, text=True, env=env, timeout=300)
        took = time.monotonic() - started
    # Two lines: it waits (a log: said once, with the seconds it will wait), then why it gave up.
    assert out.returncode == 1 and out.stderr.count("\n") == 2, out.stderr
    assert out.stderr.splitlines()[0] == f"wirehouse: another run is writing to {db}: waiting for it, 3 s left", out.stderr
    waited = float(re.search(r"another run is writing to this warehouse \(waited ([\d.]+) s\)", out.stderr).group(1))
    assert 3.0 <= waited < took, (waited, took)


def test_the_readme_automation_matches_the_events_a_run_emits():
    """automation.yaml (shown in the README) is a valid Prefect automation whose trigger expects both
    events and matches their resource, with a body that reads their payload."""
    import yaml
    from prefect.events.schemas.automations import AutomationCore
    from prefect.events.schemas.events import Resource

    from wirehouse.flows import outcome

    root = Path(__file__).resolve().parents[1]
    [data] = yaml.safe_load((root / "automation.yaml").read_text(encoding="utf-8"))["automations"]
    automation = AutomationCore.model_validate(data)
    assert automation.trigger.expect == {outcome.SOURCE_FAILED, outcome.LAYOUT_CHANGE}
    assert automation.trigger.match.matches(Resource.model_validate(outcome._resource("meridian")))
    assert "event.payload.message" in automation.actions[0].body
    assert "automation.yaml" in (root / "README.md").read_text(encoding="utf-8")
