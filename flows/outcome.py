"""What a run's end says about its sources: which failed (a feed, sitemap or listing page that
could not be fetched or read) with the URL and first error of each, whether the run failed as a
whole (no source produced a page because its entry points failed), and the Prefect events an
automation can notify on ("wirehouse.source.failed", "wirehouse.source.layout-change-likely").

The rule for a failed entry point is the one `wirehouse status` applies to fetch_log
(`warehouse/queries/status_sources.sql`): not fetched (outcome other than ok / not_modified),
refused unparsed ("refused: ..."), or no entries at all ("no entries: empty or not a feed").
"""

from __future__ import annotations

import logging

import pandas as pd
from prefect.events import emit_event

from wirehouse.tasks.fetch import redact
from wirehouse.urls import redact_url

logger = logging.getLogger(__name__)

SOURCE_FAILED = "wirehouse.source.failed"
LAYOUT_CHANGE = "wirehouse.source.layout-change-likely"


def entry_point_failures(fetches) -> dict[str, list[dict[str, str]]]:
    """Per source, its entry points (feeds, sitemaps, listing pages) that failed, in fetch order.

    Args:
        fetches: the discovery's fetch results (`tasks.discover.Discovery.fetches`).

    Returns:
        {source: [{"kind", "url", "error"}, ...]} for the sources with at least one failure.
    """
    out: dict[str, list[dict[str, str]]] = {}
    for result in fetches:
        if result.kind == "page":
            continue
        note = result.note or ""
        failed = result.outcome not in ("ok", "not_modified") or note.startswith(("refused", "no entries"))
        if failed:
            error = redact(result.error or note or result.outcome)
            out.setdefault(result.source, []).append({"kind": result.kind, "url": redact_url(result.url), "error": error})
    return out


def failure_line(source: str, failures: list[dict[str, str]]) -> str:
    """One line for a failing source: its first failed entry point's URL and error."""
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return f"{source}: {first['kind']} {first['url']}: {first['error']}{more}"


def failure_lines(summary: dict) -> list[str]:
    """One line per failing source of a run summary (``summary["failed_sources"]``), by name."""
    return [failure_line(name, found) for name, found in sorted((summary.get("failed_sources") or {}).items())]



class EverySourceFailed(Exception):
    """A run in which no source produced a page: the Failed state's data. An exception, not the bare
    summary dict, so that whoever resolves the state (the CLI, or a served run's Prefect engine) gets
    an error it can raise; the summary rides along for the CLI's one line per source."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message.splitlines()[0] if message else "every source failed")
        self.summary = summary

def every_source_failed(summary: dict) -> bool:
    """True when no source produced any page because its entry points failed: nothing was
    discovered, and every source has a failed entry point."""
    failed = summary.get("failed_sources") or {}
    sources = set(summary.get("per_source") or {}) | set(failed)
    return bool(sources) and summary["totals"]["discovered"] == 0 and sources <= set(failed)


def run_message(summary: dict, headline: str) -> str:
    """The run's state message: its headline, then one line per failing source."""
    lines = failure_lines(summary)
    if every_source_failed(summary):
        head = f"no source produced a page: every source's feeds, sitemaps or listings failed ({headline})"
    elif lines:
        head = f"{headline}; {len(lines)} source{'s' if len(lines) != 1 else ''} failed"
    else:
        return headline
    return "\n".join([head, *lines])


def emit_source_events(summary: dict, health: pd.DataFrame | None, flow_run_id: str | None) -> list:
    """Emit a Prefect event per failed source and per source flagged "layout change likely".

    The source is the event's resource (``wirehouse.source.<name>``), the flow run a related one,
    so an automation can match either event, or one source.

    Returns:
        The events emitted (None for one Prefect did not take, e.g. with no API).
    """
    related = ([{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
               if flow_run_id else None)
    emitted = []
    for name, failures in sorted((summary.get("failed_sources") or {}).items()):
        emitted.append(emit_event(
            SOURCE_FAILED, resource=_resource(name), related=related,
            payload={"run_id": summary["run_id"], "message": failure_line(name, failures), "failures": failures},
        ))
    if health is not None and not health.empty:
        for row in health.to_dict(orient="records"):
            flag = row.get("layout_change_likely")
            if isinstance(flag, str) and flag:
                emitted.append(emit_event(
                    LAYOUT_CHANGE, resource=_resource(row["source"]), related=related,
                    payload={"run_id": summary["run_id"], "message": f"{row['source']}: layout change likely ({flag})",
                             "flags": flag, "pages": int(row["pages"])},
                ))
    return emitted


def _resource(source: str) -> dict[str, str]:
    return {"prefect.resource.id": f"wirehouse.source.{source}", "prefect.resource.name": source}
