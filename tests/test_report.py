"""`wirehouse report`: one self-contained HTML file with the four charts, from the sample warehouse."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from helpers import value
from wirehouse.warehouse import duckdb_adapter
from wirehouse.cli import main
from wirehouse.report import (
    MAP_LABELS, NETWORK_EDGES, PLOTLY_BUNDLES, QUAD_CLASSES, ROOT_COLOURS, TRACE_TYPES, WORLD_TOPOJSON, events_figure,
    ReportData, hue, map_figure, natural_earth, network_figure, plotly_bundle, read_report_data, render, spring_layout, world_outlines,
)
from wirehouse.schemas.models import CAMEO_ROOTS
from wirehouse.tasks.cameo import quad_class

EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
LIBRARY = re.compile(r'<script id="plotly-js">.*?</script>', re.S)
MAX_BYTES = 1_500_000
# hue windows (degrees) of the four quad-class families: blues, greens, oranges, crimsons
FAMILY_HUES = {1: (195, 225), 2: (110, 160), 3: (15, 40), 4: (340, 360)}


def test_report_is_self_contained_with_every_chart(capsys, sample_warehouse, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(sample_warehouse), "--out", str(out)]) == 0
    assert "self-contained" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert page.count("Plotly.newPlot") == 4
    assert page.count('<script id="plotly-js">') == 1 and page.count("Copyright 2012-") == 1   # the library, once
    charts = LIBRARY.sub("", page)
    assert "PlotlyGeoAssets" not in charts and '"scattergeo"' not in charts   # the map is projected here: nothing to fetch
    for heading in ("Events over time by CAMEO root", "Most active actors", "Dyad network", "Where events happen"):
        assert heading in page
    data = read_report_data(sample_warehouse)
    assert data.top_actors.iloc[0]["actor"] in page
    assert json.dumps(data.locations.iloc[0]["location"])[1:-1] in page
    assert data.totals["events"] == value(sample_warehouse, "SELECT count(*) FROM events")


def test_an_empty_warehouse_gives_a_report_without_charts(capsys, tmp_path):
    db = tmp_path / "empty.duckdb"
    con = duckdb_adapter.connect(db)
    duckdb_adapter.migrate(con)
    con.close()
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("Nothing to show yet.") == 4 and "Plotly.newPlot" not in page


def test_report_needs_a_file_in_an_existing_folder(capsys, sample_warehouse, tmp_path):
    assert main(["report", "--db", str(sample_warehouse), "--out", str(tmp_path)]) == 2
    assert main(["report", "--db", str(sample_warehouse), "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_spring_layout_is_deterministic_and_finite():
    edges = [("a", "b", 3), ("b", "c", 1), ("d", "e", 2), ("a", "c", 1)]
    first, second = spring_layout(edges), spring_layout(edges)
    assert first == second and set(first) == set("abcde")
    assert all(math.isfinite(v) and abs(v) < 10 for xy in first.values() for v in xy)
    # linked nodes end up closer than unlinked ones, on average
    dist = lambda p, q: math.dist(first[p], first[q])  # noqa: E731
    assert dist("a", "b") < (dist("a", "d") + dist("b", "e") + dist("c", "d")) / 3


def test_bundled_map_outlines_have_what_plotly_draws():
    objects = json.loads(WORLD_TOPOJSON.read_text(encoding="utf-8"))["objects"]
    assert {"land", "countries", "coastlines", "ocean"} <= set(objects)


@pytest.fixture(scope="module")
def sample_page(sample_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--db", str(sample_warehouse), "--out", str(out)]) == 0
    return out.read_bytes().decode("utf-8")


def test_nothing_but_the_inlined_library_names_a_network_address(sample_page):
    library = LIBRARY.findall(sample_page)
    assert len(library) == 1
    rest = LIBRARY.sub("", sample_page)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", rest, re.I), re.search(r"https?://\S+", rest)
    assert "<script src" not in sample_page and "<link" not in sample_page


def test_the_charts_need_only_the_basic_bundles_traces(sample_warehouse):
    data = read_report_data(sample_warehouse)
    figures = [events_figure(data.events_by_day), network_figure(data.dyads), map_figure(data.locations)]
    assert {trace.type for figure in figures for trace in figure.data} <= TRACE_TYPES == {"bar", "scatter"}
    assert all(not figure.layout.geo.to_plotly_json() for figure in figures)


def test_the_page_without_its_library_stays_small(sample_page):
    """What the report adds to plotly.js (charts, map outlines, styles): measured 0.25 MB."""
    rest = len(LIBRARY.sub("", sample_page).encode("utf-8"))
    assert rest < 400_000, rest


def test_report_file_is_under_one_and_a_half_megabytes(sample_page):
    assert len(sample_page.encode("utf-8")) < MAX_BYTES


def test_the_vendored_basic_bundle_is_the_plotly_js_the_plotly_package_expects():
    """tools/vendor_plotly.py fetched it for the installed plotly's plotly.js version: a plotly upgrade
    without a new bundle fails here, not in a reader's browser."""
    import re

    small, full = PLOTLY_BUNDLES
    version = lambda path: re.search(r"plotly\.js.*?v(\d+\.\d+\.\d+)", path.read_text(encoding="utf-8")[:300]).group(1)  # noqa: E731
    assert small.exists() and (small.parent / "plotly-basic.LICENSE").exists()
    assert version(small) == version(full)


def test_the_smallest_bundle_there_is_inlined(monkeypatch, tmp_path):
    small, full = tmp_path / "plotly-basic.min.js", tmp_path / "plotly.min.js"
    full.write_text("/* full */ window.Plotly = {};", encoding="utf-8")
    monkeypatch.setattr("wirehouse.report.PLOTLY_BUNDLES", (small, full))
    assert plotly_bundle() == full
    small.write_text("/* basic */ window.Plotly = {}; '</script>';", encoding="utf-8")
    assert plotly_bundle() == small
    page = render(ReportData({}, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame()), "t")
    assert "/* basic */" in page and "/* full */" not in page and "'<\\/script>'" in page


def test_root_colours_are_four_hue_families_by_quad_class():
    assert set(ROOT_COLOURS) == set(CAMEO_ROOTS)
    for code, colour in ROOT_COLOURS.items():
        low, high = FAMILY_HUES[quad_class(code)]
        assert low <= hue(colour) <= high or (high == 360 and hue(colour) < 5), (code, colour, hue(colour))
    for quad in QUAD_CLASSES:   # distinct shades within a family
        family = [ROOT_COLOURS[c] for c in CAMEO_ROOTS if quad_class(c) == quad]
        assert len(set(family)) == len(family)


def test_events_chart_groups_roots_by_quad_class_without_a_range_slider(sample_warehouse):
    data = read_report_data(sample_warehouse)
    figure = events_figure(data.events_by_day)
    groups = set()
    for trace in figure.data:
        root = trace.name[:2]
        assert trace.marker.color == ROOT_COLOURS[root]
        assert trace.legendgroup == f"quad{quad_class(root)}"
        assert trace.legendgrouptitle.text == QUAD_CLASSES[quad_class(root)]
        groups.add(trace.legendgroup)
    assert len(groups) >= 3        # the sample has cooperation and conflict, verbal and material
    assert not figure.layout.xaxis.rangeslider.visible
    assert "all dates" in [b.label for b in figure.layout.xaxis.rangeselector.buttons]


def dyads(n: int) -> pd.DataFrame:
    return pd.DataFrame({"actor_a": [f"Actor {i} of a long-named organisation" for i in range(n)],
                         "actor_b": [f"B{i % 7}" for i in range(n)], "events": [n - i for i in range(n)],
                         "avg_goldstein": [(-10 + i) % 20 - 10.0 for i in range(n)], "usual_kind": ["Consult"] * n})


def test_network_draws_the_strongest_dyads_every_node_named_with_a_goldstein_scale():
    frame = dyads(60)
    figure = network_figure(frame)
    lines = [t for t in figure.data if t.mode == "lines"]
    nodes = next(t for t in figure.data if t.name == "actors")
    middles = next(t for t in figure.data if t.name == "dyads")
    assert len(lines) == NETWORK_EDGES == len(middles.x)
    drawn = {a for t in middles.customdata for a in t[:2]}
    assert drawn == {a for a in frame.head(NETWORK_EDGES)[["actor_a", "actor_b"]].to_numpy().ravel()}   # the top ones
    assert len(nodes.text) == len(drawn) <= 2 * NETWORK_EDGES
    assert all(label for label in nodes.text) and max(len(label) for label in nodes.text) <= 24
    assert sorted(nodes.hovertext) == sorted(drawn)                      # full names on hover
    assert middles.marker.colorbar.title.text.startswith("mean Goldstein")
    assert (middles.marker.cmin, middles.marker.cmax) == (-10, 10)


def test_network_from_the_sample_names_every_node(sample_warehouse):
    data = read_report_data(sample_warehouse)
    nodes = next(t for t in network_figure(data.dyads).data if t.name == "actors")
    assert 2 <= len(nodes.text) <= 2 * NETWORK_EDGES and all(nodes.text)


def test_map_names_the_busiest_places(sample_warehouse):
    data = read_report_data(sample_warehouse)
    places = next(t for t in map_figure(data.locations).data if t.name == "places")
    named = [label for label in places.text if label]
    busiest = data.locations.sort_values(["events", "location"], ascending=[False, True])["location"]
    assert named == list(busiest.head(MAP_LABELS)) and len(named) == min(MAP_LABELS, len(data.locations))
    assert len(places.x) == len(data.locations)


def test_map_projection_and_outlines():
    assert natural_earth(0, 0) == (0, 0)
    x, y = natural_earth(180, 0)
    assert 2.73 < x < 2.74 and y == 0
    assert natural_earth(-20, 40) == (-natural_earth(20, 40)[0], natural_earth(20, 40)[1])
    for xs, ys in world_outlines():
        points = [(a, b) for a, b in zip(xs, ys) if a is not None]
        assert points and all(abs(a) <= 2.74 and abs(b) <= 1.43 for a, b in points)
        # no segment jumps across the map (the antimeridian is cut, not crossed)
        assert all(abs(xs[i] - xs[i - 1]) < 1 for i in range(1, len(xs)) if xs[i] is not None and xs[i - 1] is not None
                   and abs(ys[i]) < 1.4)
