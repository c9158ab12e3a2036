"""The Python calls the README's "From Python" section shows, run as written there."""

from pathlib import Path

import pytest


@pytest.mark.slow   # one real ingest of the sample site: about 20 s
def test_the_readme_python_calls(prefect_harness, sample_sources, tmp_path):
    from wirehouse.cli import run_ingest
    from wirehouse.tasks.annotate import annotate_records
    from wirehouse.tasks.extract import extract_text
    from wirehouse.warehouse.duckdb_adapter import open_reader

    db = tmp_path / "wirehouse.duckdb"
    summary = run_ingest(str(sample_sources), str(db), progress=False)
    assert summary["totals"]["new"] > 0 and summary["seconds"] > 0

    con, schema_version = open_reader(db, wait=10)
    events = con.execute("SELECT * FROM event_details WHERE event_date >= DATE '2021-08-01'").df()
    stored = con.execute("SELECT count(*) FROM events WHERE event_date >= DATE '2021-08-01'").fetchone()[0]
    con.close()
    assert schema_version >= 9 and len(events) == stored > 0

    page = next(Path(__file__).resolve().parents[1].glob("samples/site/meridian/20*/**/*.html"))
    text = extract_text(page.read_text(encoding="utf-8").replace("{{BASE:meridian}}", "http://127.0.0.1"))
    (annotated,) = annotate_records([{"id": 1, "text": text, "published_at": "2021-08-20"}])
    assert text and annotated["entities"]
