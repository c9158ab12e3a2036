"""The four Prefect deployments, declared once.

`wirehouse serve` serves them (`serve_all`), and `prefect.yaml` (work pools: `prefect deploy --all`)
is generated from them: `.venv/bin/python tools/prefect_yaml.py` writes it, and a test checks that the
committed file is what it would write. Names, entrypoints, descriptions, tags, the concurrency limit and
the ingest schedule live here; the defaults of the paths and the cron come from `wirehouse.settings`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import threading
from dataclasses import dataclass, field
from importlib.metadata import version

from wirehouse.logs import LOGGING_ENVIRONMENT
from wirehouse.settings import DEFAULT_CRON, DEFAULT_DB, DEFAULT_SOURCES, PREFECT_ENVIRONMENT

logger = logging.getLogger(__name__)

TAGS = ("wirehouse",)
CONCURRENCY = 1   # DuckDB has one writer: runs of a deployment never overlap, across every runner serving it
WORK_POOL = "wirehouse-process"
TIMEZONE = "UTC"


@dataclass(frozen=True)
class Deployment:
    """One deployment of one flow.

    Attributes:
        name: the deployment's name (its full name is ``<flow name>/<name>``).
        entrypoint: ``path/to/module.py:flow``, as Prefect takes it; `serve` loads the flow from it too.
        description: shown in the Prefect UI.
        paths: the path parameters it binds, in order: ``sources_file`` and/or ``db_path`` (the
            settings' defaults in prefect.yaml; what `wirehouse serve` was given, resolved, when served).
        pool_defaults: further parameter defaults for the work-pool deployments only (served
            deployments leave them to whoever starts a run).
        scheduled: runs on the cron schedule (`Settings.cron`, `wirehouse serve --cron`).
        note: a comment written above it in prefect.yaml.
    """

    name: str
    entrypoint: str
    description: str
    paths: tuple[str, ...] = ("db_path",)
    pool_defaults: dict[str, str] = field(default_factory=dict)
    scheduled: bool = False
    note: str = ""


DEPLOYMENTS = (
    Deployment(
        "ingest", "flows/ingest.py:ingest",
        "Discover, fetch, extract, validate and load every source into DuckDB.",
        paths=("sources_file", "db_path"), scheduled=True,
    ),
    Deployment(
        "reprocess", "flows/maintenance.py:reprocess_flow",
        "Redo, from stored raw pages, the articles an older extractor or annotator made (no refetch).",
        note="Maintenance, run from the UI with parameters (no schedule). The writers wait for a running ingest.",
    ),
    Deployment(
        "replay-quarantine", "flows/maintenance.py:replay_flow",
        "Validate quarantined rows again from their stored raw pages; load what passes now.",
    ),
    Deployment(
        "export", "flows/maintenance.py:export_flow",
        "Write every table as Parquet (or CSV) files, partitioned by date.",
        pool_defaults={"out_dir": "export"},
    ),
)


def parameters(deployment: Deployment, db_path: str, sources_file: str) -> dict[str, str]:
    """The path parameters ``deployment`` binds, with the values given.

    Args:
        deployment: one of `DEPLOYMENTS`.
        db_path: the warehouse file.
        sources_file: the sources TOML file.

    Returns:
        Parameter name -> value, in the deployment's order.
    """
    given = {"sources_file": sources_file, "db_path": db_path}
    return {name: given[name] for name in deployment.paths}


def load_flow(deployment: Deployment):
    """The flow object behind ``deployment.entrypoint`` (imports the flow's module, and so Prefect)."""
    path, name = deployment.entrypoint.split(":")
    # flows/ingest.py is installed as wirehouse.flows.ingest (the one namespace, pyproject package-dir)
    return getattr(importlib.import_module("wirehouse." + path.removesuffix(".py").replace("/", ".")), name)


def serve_all(db_path: str, sources_file: str, cron: str, on_start=None, on_run=None) -> None:
    """Serve every deployment in this process until it is stopped (`prefect.serve`).

    Args:
        db_path: the warehouse file every deployment binds.
        sources_file: the sources file the ingest deployment binds.
        cron: the ingest schedule.
        on_start: called with the deployments' full names ("flow/deployment") once the flows are
            loaded, before serving starts.
        on_run: called with a line as each run of them starts and ends (`RunWatch`), from a thread
            that asks the API every `WATCH_SECONDS`.
    """
    flows = [(d, load_flow(d)) for d in DEPLOYMENTS]
    names = [f"{f.name}/{d.name}" for d, f in flows]
    if on_start is not None:
        on_start(names)
    stop = threading.Event()
    if on_run is not None:
        threading.Thread(target=watch_runs, args=(names, on_run, stop), name="wirehouse-run-watch", daemon=True).start()
    try:
        _serve(flows, db_path, sources_file, cron)
    finally:
        stop.set()


WATCH_SECONDS = 2.0


class RunWatch:
    """Which runs of the served deployments started or ended since the last look, as lines for the
    serve process's output: ``<time> <flow>/<deployment> run <name>: started`` and ``... run
    <name>: <state> after <seconds> s: <headline>`` (the headline: the first line of the run's
    final state message, for an ingest its one-line result)."""

    def __init__(self) -> None:
        self.started: set = set()
        self.ended: set = set()

    def lines(self, runs, names: dict) -> list[str]:
        """Lines for what ``runs`` (Prefect flow runs, any order) show that was not told yet.

        Args:
            runs: flow runs of the served deployments.
            names: deployment id -> "flow/deployment".
        """
        out = []
        for run in sorted(runs, key=lambda r: (r.start_time is None, r.start_time or 0)):
            state = run.state
            if state is None or run.id in self.ended:
                continue
            name = f"{names.get(run.deployment_id, 'a deployment')} run {run.name}"
            final = state.is_final()
            if run.id not in self.started and (state.is_running() or (final and run.start_time is not None)):
                self.started.add(run.id)
                out.append(f"{_clock(run.start_time)} {name}: started")
            if final:
                self.ended.add(run.id)
                seconds = _seconds(run)
                after = f" after {seconds:.1f} s" if seconds is not None else ""
                headline = (state.message or "").strip().splitlines()
                out.append(f"{_clock(run.end_time)} {name}: {state.name}{after}" + (f": {headline[0]}" if headline else ""))
        return out


def _clock(when) -> str:
    from datetime import datetime

    moment = when.astimezone() if when is not None else datetime.now().astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _seconds(run) -> float | None:
    if run.start_time is not None and run.end_time is not None:
        return (run.end_time - run.start_time).total_seconds()
    total = getattr(run, "total_run_time", None)
    return total.total_seconds() if total else None


def watch_runs(names: list[str], say, stop: threading.Event, every: float = WATCH_SECONDS) -> None:
    """Until ``stop`` is set: every ``every`` seconds, the served deployments' runs that started
    since this began, and ``say`` each line `RunWatch` makes of them. The API down: try again later."""
    from datetime import datetime, timezone

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    since = datetime.now(timezone.utc)
    watch = RunWatch()
    ids: dict = {}
    while not stop.wait(every):
        try:
            with get_client(sync_client=True) as client:
                for name in names:
                    if name not in ids.values():
                        with contextlib.suppress(Exception):   # not registered yet
                            ids[client.read_deployment_by_name(name).id] = name
                if not ids:
                    continue
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)),
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(ids))),
                    sort=FlowRunSort.START_TIME_DESC, limit=50,
                )
            for line in watch.lines(runs, ids):
                say(line)
        except Exception as exc:  # noqa: BLE001 - the server away for a while: look again later
            logger.debug("run watch: %s", exc)


def _serve(flows, db_path: str, sources_file: str, cron: str) -> None:
    from prefect import serve

    serve(
        *(f.to_deployment(
            name=d.name,
            cron=cron if d.scheduled else None,
            parameters=parameters(d, db_path, sources_file),
            description=d.description,
            tags=list(TAGS),
            concurrency_limit=CONCURRENCY,
        ) for d, f in flows),
        print_starting_message=False,
    )


# ---------------------------------------------------------------- prefect.yaml


def pool_environment() -> dict[str, str]:
    """The environment a work-pool worker's flow runs get (what the CLI and the Makefile set).
    DO_NOT_TRACK is left out, as prefect.yaml always had it."""
    env = {k: v for k, v in PREFECT_ENVIRONMENT.items() if k != "DO_NOT_TRACK"}
    return {**env, **LOGGING_ENVIRONMENT}


def _scalar(value) -> str:
    """A YAML scalar: plain when it reads back as itself, else double-quoted (JSON's quoting is YAML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    import yaml

    text = str(value)
    try:
        plain = yaml.safe_load(f"k: {text}") == {"k": text} and not text.startswith(("{", "[", "*", "&", "!"))
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def prefect_yaml() -> str:
    """The text of prefect.yaml, from `DEPLOYMENTS` and the settings' defaults (never the environment's)."""
    lines = [
        "# Generated from wirehouse/deployments.py by `.venv/bin/python tools/prefect_yaml.py`: edit it, not this file.",
        "# Work-pool deployments: `prefect deploy --all` from the project root (with PREFECT_API_URL set).",
        "# For a single machine, `make serve` is simpler: it serves the same flows on the same schedule.",
        "name: wirehouse",
        f"prefect-version: {version('prefect')}",
        "",
        "build: null",
        "push: null",
        "",
        "# The process worker runs the flow from this checkout (start the worker in the project root).",
        "pull:",
        "  - prefect.deployments.steps.set_working_directory:",
        '      directory: "{{ $PWD }}"',
        "",
        "deployments:",
    ]
    for number, d in enumerate(DEPLOYMENTS):
        if number:
            lines.append("")
        if d.note:
            lines.append(f"  # {d.note}")
        lines += [
            f"  - name: {_scalar(d.name)}",
            f"    description: {_scalar(d.description)}",
            f"    entrypoint: {_scalar(d.entrypoint)}",
            f"    tags: [{', '.join(_scalar(t) for t in TAGS)}]",
            "    parameters:",
        ]
        values = {**parameters(d, DEFAULT_DB, DEFAULT_SOURCES), **d.pool_defaults}
        lines += [f"      {name}: {_scalar(value)}" for name, value in values.items()]
        if d.scheduled:
            lines += [
                "    schedules:",
                f"      - cron: {json.dumps(DEFAULT_CRON)}",
                f"        timezone: {TIMEZONE}",
                "        active: true",
            ]
        if number == 0:
            lines += [
                "    # DuckDB has one writer: never let two runs of a deployment overlap.",
                f"    concurrency_limit: {CONCURRENCY}",
                "    work_pool: &pool",
                f"      name: {WORK_POOL}",
                "      work_queue_name: default",
                "      job_variables:",
                "        env:",
            ]
            lines += [f"          {name}: {json.dumps(value)}" for name, value in pool_environment().items()]
        else:
            lines += [f"    concurrency_limit: {CONCURRENCY}", "    work_pool: *pool"]
    return "\n".join(lines) + "\n"
