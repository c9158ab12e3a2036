"""`wirehouse report`: one self-contained HTML file with the four charts, from the sample warehouse."""

from __future__ import annotations

import json
import math
import re

from helpers import value
from wirehouse.warehouse import duckdb_adapter
from wirehouse.cli import main
from wirehouse.report import WORLD_TOPOJSON, read_report_data, spring_layout

EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_report_is_self_contained_with_every_chart(capsys, sample_warehouse, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(sample_warehouse), "--out", str(out)]) == 0
    assert "self-contained" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert page.count("Plotly.newPlot") == 4
    assert page.count("plotly.js v") == 1          # the library is inlined once
    assert '"world_110m"' in page                   # map outlines ship with the page: no CDN fetch
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
