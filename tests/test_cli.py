"""The `wirehouse` console script: exit codes and one-line errors, run as a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wirehouse.warehouse import duckdb_adapter

WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")


def run(*args, cwd=None):
    return subprocess.run([WIREHOUSE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def assert_one_line_error(out, code, fragment):
    assert out.returncode == code, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirehouse: error:") and fragment in lines[0], out.stderr


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[[sources]]\nname = "a"\nurls = ["https://x.org/"]\ncolour = "red"\n', "source 'a': unknown key 'colour'"),
        ('[[sources]]\nurls = ["https://x.org/"]\n', "missing required key 'name'"),
        ('[[sources]]\nname = "b"\nfeeds = ["file:///etc/passwd"]\n', "source 'b': key 'feeds': not an http(s) URL"),
    ],
)
def test_ingest_bad_sources_exit_2(tmp_path, toml, fragment):
    sources = tmp_path / "s.toml"
    sources.write_text(toml)
    out = run("ingest", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb"))
    assert_one_line_error(out, 2, fragment)
    assert not (tmp_path / "w.duckdb").exists()


def test_ingest_missing_sources_file(tmp_path):
    assert_one_line_error(run("ingest", "--sources", str(tmp_path / "none.toml")), 2, "not found")


def test_usage_error_exit_2():
    out = run("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb_adapter.connect(path)
    duckdb_adapter.migrate(con)
    con.execute("INSERT INTO entities (entity_id, name, type) VALUES ('aaaaaaaaaaaaaaaa', 'NATO', 'ORG')")
    con.close()
    return path


def test_query_prints_table(db):
    out = run("query", "--db", str(db), "SELECT name, type FROM entities")
    assert out.returncode == 0, out.stderr
    assert "NATO" in out.stdout and "(1 row)" in out.stdout


def test_query_saved_by_name_and_csv(db):
    out = run("query", "--db", str(db), "--format", "csv", "articles_by_source")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("source,articles,")


def test_query_list_shows_the_saved_queries_with_description_and_parameters(tmp_path):
    out = run("query", "--list", "--db", str(tmp_path / "none.duckdb"))   # no warehouse needed
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "who_met_whom" in lines and "top_entities" in lines
    who = lines["who_met_whom"]
    assert "start=1900-01-01 end=2100-12-31" in who and "Who met whom in a period: consultations (CAMEO 04" in who
    assert "actor=Russia" in lines["actor_timeline"] and "table_name=''" in lines["quarantine_list"]
    assert "Articles per source per publication day." in lines["articles_per_source_day"]
    for internal in ("release_quarantine", "mark_duplicates", "measure_source_health", "replay_targets",
                     "replay_remaining", "reprocess_targets", "status_runs", "status_sources", "run_top_entities",
                     "run_top_events", "run_fetch_seconds", "search_bm25"):
        assert internal not in out.stdout


def test_query_list_as_json_is_what_the_sql_files_declare():
    import json

    out = run("query", "--list", "--format", "json")
    assert out.returncode == 0, out.stderr
    listed = {q["name"]: q for q in json.loads(out.stdout)}
    assert sorted(listed) == sorted(p.stem for p in duckdb_adapter.QUERIES_DIR.glob("*.sql"))
    assert listed["events_over_time"]["params"] == {"start": "1900-01-01", "end": "2100-12-31"}
    assert listed["top_entities"]["params"] == {}
    assert listed["dyads"]["description"].endswith("(-10 conflict .. +10 cooperation).")   # two comment lines, one line


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("top_entitis", "did you mean top_entities"),
     ("run_top_entities", "did you mean top_entities"),   # the code's own SQL is no saved query
     ("release_quarantine", "did you mean quarantine_list"),
     ("status_runs", "`wirehouse query --list` shows them all")],
)
def test_an_unknown_query_name_is_one_line_with_the_closest_names(db, name, suggestion):
    out = run("query", "--db", str(db), name)
    assert_one_line_error(out, 2, f"no saved query named {name!r}")
    assert suggestion in out.stderr and "Parser Error" not in out.stderr


def test_literal_sql_still_runs_even_as_one_word(db):
    out = run("query", "--db", str(db), "SHOW")
    assert out.returncode == 0, out.stderr
    assert "entities" in out.stdout


def test_query_list_takes_nothing_else(db):
    assert_one_line_error(run("query", "--list", "top_entities"), 2, "--list takes no SQL")


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    out = run("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"wirehouse {version('wirehouse')}"


def test_every_option_of_every_command_has_help_text():
    import argparse

    from wirehouse.cli import _parser
    from wirehouse.settings import settings

    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                for name, subparser in action.choices.items():
                    if name not in helped:
                        missing.append(f"{path} {name} (the command)")
                    walk(subparser, f"{path} {name}")
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(_parser(settings()), "wirehouse")
    assert not missing, f"options without help text: {missing}"


def test_query_refuses_writes(db):
    out = run("query", "--db", str(db), "DELETE FROM entities")
    assert_one_line_error(out, 2, "read-only")
    con = duckdb_adapter.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM entities").fetchone()[0] == 1
    con.close()


@pytest.mark.slow   # CLI subprocesses: over 2 s
def test_query_bad_sql_and_missing_db(db, tmp_path):
    assert_one_line_error(run("query", "--db", str(db), "SELEC nonsense"), 2, "query failed")
    assert_one_line_error(run("query", "--db", str(tmp_path / "nope.duckdb"), "SELECT 1"), 2, "no such warehouse file")


def test_serve_without_server_is_a_usage_error(tmp_path):
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-b-c"]\n')
    out = subprocess.run(
        [WIREHOUSE, "serve", "--sources", str(sources)], capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},
    )
    assert_one_line_error(out, 2, "Prefect server")


@pytest.mark.slow   # CLI subprocess with spaCy
def test_annotate_json_lines_contract():
    import json

    lines = [
        json.dumps({"id": "a", "text": "In July, a Taliban delegation visited Ashgabat.", "published_at": "2021-08-13"}),
        "not json at all",
        json.dumps({"id": 7, "text": "NATO condemned Russia on Monday."}),
        json.dumps({"id": "no-text"}),
        json.dumps({"id": "bad-date", "text": "x", "published_at": "yesterday"}),
    ]
    out = subprocess.run(
        [WIREHOUSE, "annotate", "--batch-size", "2"], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 3   # one line per bad input
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r.get("id") for r in results] == ["a", None, 7, "no-text", "bad-date"]   # one output per input, in order
    first = results[0]
    ashgabat = next(e for e in first["entities"] if e["text"] == "Ashgabat")
    assert {k: ashgabat[k] for k in ("start", "end", "type", "name", "country_code", "geonames_id")} == {
        "start": 38, "end": 46, "type": "GPE", "name": "Ashgabat", "country_code": "TKM", "geonames_id": 162183,
    }
    (visit,) = first["events"]
    assert (visit["cameo_code"], visit["plover_type"], visit["event_date"], visit["date_precision"]) == ("042", "CONSULT", "2021-07-01", "month")
    assert visit["actor1"]["name"] == "Taliban" and visit["location"]["geonames_id"] == 162183
    assert set(visit) >= {"cameo_code", "plover_type", "actor1", "actor2", "event_date", "date_precision", "location", "trigger", "sentence"}
    assert results[2]["events"][0]["event_date"] is None   # no publication date, no anchor for "Monday"
    assert "error" in results[1] and "error" in results[3] and "error" in results[4]


GOOD_TEXT = "Russia completed joint military exercises with Tajikistan last week."


def _good(i: int) -> bytes:
    import json

    return json.dumps({"id": f"good{i}", "text": GOOD_TEXT, "published_at": "2021-08-13"}).encode()


@pytest.mark.slow   # CLI subprocess with spaCy
def test_annotate_keeps_its_contract_on_lines_that_used_to_crash_it():
    """Each of these ended the whole run with a traceback and no output: now each bad line gets its
    error line in place, and every good line around it is annotated, in order."""
    import json

    bad = [
        (b'{"id": "deep", "text": "x", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None, "nested too deeply"),
        (b'{"id": "latin1", "text": "caf\xe9 in Paris"}', None, "not UTF-8 (byte 0xe9"),
        (b'{"id": "surrogate", "text": "Russia \\ud800 met Ukraine."}', "surrogate", "lone surrogate"),
        (b'{"id": "big", "text": "Russia met Ukraine.", "n": ' + b"9" * 5000 + b"}", "big", "more than 4300 digits"),
    ]
    # Valid lines whose dates fall off the calendar: annotated, the event undated (they raised before).
    edge = [
        json.dumps({"id": "year1", "text": GOOD_TEXT, "published_at": "0001-01-07"}).encode(),
        json.dumps({"id": "year9999", "text": "Russia will hold military exercises with Tajikistan next year.", "published_at": "9999-12-31"}).encode(),
    ]
    lines = [_good(0)]
    for i, line in enumerate([b for b, _, _ in bad] + edge, start=1):
        lines += [line, _good(i)]
    out = subprocess.run([WIREHOUSE, "annotate", "--batch-size", "4"], input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
    stderr = out.stderr.decode()
    assert out.returncode == 1 and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == len(bad)
    results = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert len(results) == len(lines)   # one output line per input line, in order
    for i in range(len(bad) + len(edge) + 1):
        good = results[2 * i]
        assert good["id"] == f"good{i}" and [(e["cameo_code"], e["event_date"]) for e in good["events"]] == [("062", "2021-08-02")]
    for i, (_, expected_id, fragment) in enumerate(bad):
        error = results[2 * i + 1]
        assert (error["id"], error["line"]) == (expected_id, 2 * i + 2) and fragment in error["error"], error
    year1, year9999 = results[2 * len(bad) + 1], results[2 * len(bad) + 3]
    assert year1["id"] == "year1" and [e["event_date"] for e in year1["events"]] == [None]   # "last week" before year 1
    assert year9999["id"] == "year9999" and [e["event_date"] for e in year9999["events"]] == [None]   # year 10000


@pytest.mark.slow   # spaCy: over 4 s
def test_annotate_isolates_a_record_that_fails_inside_a_batch(monkeypatch):
    """A failure while the model annotates a batch costs only the record at fault its output."""
    import io
    import json
    import types

    from wirehouse.tasks import annotate
    from wirehouse import cli

    real = annotate.link_mentions

    def link_mentions(doc, *rest):
        if "BOOM" in doc.text:
            raise RuntimeError("simulated failure\nsecond line")
        return real(doc, *rest)

    monkeypatch.setattr(annotate, "link_mentions", link_mentions)
    boom = json.dumps({"id": "boom", "text": "BOOM. " + GOOD_TEXT}).encode()
    lines = [_good(0), _good(1), boom, b"not json", _good(2), _good(3)]
    stdout = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"\n".join(lines) + b"\n")))
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=stdout))
    assert cli.main(["annotate", "--batch-size", "8"]) == 1
    results = [json.loads(line) for line in stdout.getvalue().decode("utf-8").splitlines()]
    assert [r["id"] for r in results] == ["good0", "good1", "boom", None, "good2", "good3"]
    assert results[2]["error"] == "line 3: annotation failed (RuntimeError: simulated failure)"
    assert all(r["events"] for r in results if r["id"] and r["id"].startswith("good"))


def test_annotate_empty_input_is_fine():
    out = subprocess.run([WIREHOUSE, "annotate"], input="", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == ""


def test_a_local_prefect_server_is_used_when_one_answers(monkeypatch, loopback):
    from wirehouse import cli

    monkeypatch.setattr(cli, "_temporary_server", None)   # so teardown restores None, not what the test set
    server = loopback({"/api/health": lambda exchange: exchange.send(200, b"true", ctype="application/json")})
    try:
        url = server.url("/api")
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        monkeypatch.setenv("WIREHOUSE_LOCAL_SERVER_URL", url)
        cli._use_local_server()
        assert os.environ["PREFECT_API_URL"] == url
        monkeypatch.delenv("PREFECT_API_URL")
        monkeypatch.setenv("WIREHOUSE_LOCAL_SERVER", "0")   # opted out: a temporary server of our own
        monkeypatch.setattr("wirehouse.server.start_temporary", lambda: started.append(1) or "temporary")
        started = []
        cli._use_local_server()
        assert started == [1] and cli._temporary_server == "temporary"
    finally:
        monkeypatch.setattr(cli, "_temporary_server", None)
        server.stop()
    monkeypatch.delenv("WIREHOUSE_LOCAL_SERVER")
    monkeypatch.setenv("WIREHOUSE_LOCAL_SERVER_URL", url)   # nothing answers there any more
    cli._use_local_server()
    assert started == [1, 1]
    monkeypatch.setattr(cli, "_temporary_server", None)


@pytest.mark.slow   # a real Prefect server process
def test_temporary_server_starts_answers_and_stops(monkeypatch):
    """The CLI's own temporary Prefect API: a real server process on a free loopback port."""
    from wirehouse import server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    temporary = server.start_temporary()
    try:
        assert os.environ["PREFECT_API_URL"] == temporary.api_url and temporary.api_url.startswith("http://127.0.0.1:")
        temporary.wait_ready(timeout=120)
        assert server.healthy(temporary.api_url)
    finally:
        temporary.stop()
    assert temporary.process.poll() is not None and not server.healthy(temporary.api_url, timeout=0.5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"runner": "dask", "dask_workers": 0}, "--dask-workers must be at least 1"),
        ({"runner": "threads", "dask_address": "tcp://127.0.0.1:8786"}, "needs --runner dask"),
        ({"runner": "dask", "dask_address": "http://scheduler"}, "expected tcp://HOST:PORT"),
        ({"runner": "dask", "dask_address": "tcp://127.0.0.1:1"}, "cannot reach the Dask scheduler at 127.0.0.1:1"),
    ],
)
def test_dask_options_are_checked_before_the_run(tmp_path, kwargs, message):
    from wirehouse import cli

    sources = tmp_path / "sources.toml"
    sources.write_text('[[sources]]\nname = "x"\nurls = ["https://example.org/a-long-article-slug"]\n', encoding="utf-8")
    with pytest.raises(cli.CliError, match=message) as caught:
        cli.run_ingest(str(sources), str(tmp_path / "w.duckdb"), **kwargs)
    assert caught.value.code == cli.EXIT_USAGE
    assert not (tmp_path / "w.duckdb").exists()   # nothing written


def _newer_schema(path):
    con = duckdb_adapter.connect(path)
    duckdb_adapter.migrate(con)
    con.execute("INSERT INTO schema_migrations VALUES (999, 'from_the_future', 'x', now())")
    con.close()


@pytest.mark.slow   # 4 CLI subprocesses: about 2 s each
@pytest.mark.parametrize(
    "make_db, fragment",
    [
        (lambda tmp: tmp / "missing" / "w.duckdb", "does not exist"),
        (lambda tmp: (tmp / "w.duckdb").write_text("not a database") and tmp / "w.duckdb", "not a DuckDB warehouse"),
        (lambda tmp: _newer_schema(tmp / "w.duckdb") or tmp / "w.duckdb", "schema version 999 is newer"),
        (lambda tmp: (tmp / "a-folder").mkdir() or tmp / "a-folder", "is a directory"),
    ],
)
def test_bad_warehouse_file_is_refused_before_the_run(tmp_path, make_db, fragment):
    db = make_db(tmp_path)
    before = db.read_bytes() if db.is_file() else None
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-long-article-slug"]\n')
    out = run("ingest", "--sources", str(sources), "--db", str(db))
    assert_one_line_error(out, 2, fragment)
    assert not (tmp_path / "missing").exists()   # no folder created
    if before is not None:
        assert db.read_bytes() == before   # the file is untouched


@pytest.mark.slow   # 7 CLI subprocesses: up to 3 s each
@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT * FROM entities) TO '{out}'",
        "EXPORT DATABASE '{out}'",
        "ATTACH '{out}' AS other",
        "SELECT * FROM read_csv('/etc/passwd')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
    ],
)
def test_query_cannot_reach_files_extensions_or_settings(db, tmp_path, sql):
    out_path = tmp_path / "out"
    out = run("query", "--db", str(db), sql.format(out=out_path))
    assert_one_line_error(out, 2, "queries may only read the warehouse")
    assert not out_path.exists()


@pytest.mark.slow   # CLI subprocess: over 2 s
def test_query_stops_at_its_timeout_with_one_line(db):
    out = run("query", "--db", str(db), "--timeout", "1", "SELECT count(*) FROM range(1000000) a, range(1000000) b")
    assert_one_line_error(out, 1, "query stopped after 1 s")


@pytest.mark.slow   # CLI subprocess: over 4 s
def test_query_memory_is_capped_and_nothing_spills_to_disk(db, tmp_path):
    out = run("query", "--db", str(db), "--memory-limit", "64MB", "SELECT range::VARCHAR AS s FROM range(20000000) ORDER BY random()")
    assert_one_line_error(out, 1, "memory limit of 64MB")
    assert sorted(p.name for p in db.parent.iterdir()) == ["w.duckdb"]   # no <db>.tmp/, no WAL
    assert_one_line_error(run("query", "--db", str(db), "--memory-limit", "lots", "SELECT 1"), 2, "--memory-limit")


def test_query_settings_show_no_folder_but_the_warehouse(db):
    out = run("query", "--db", str(db), "--format", "csv", "SELECT name, value FROM duckdb_settings() WHERE value LIKE '%/%'")
    assert out.returncode == 0, out.stderr
    paths = {line.split(",", 1)[0] for line in out.stdout.splitlines()[1:] if "/" in line.split(",", 1)[1]}
    assert paths <= {"allowed_paths", "duckdb_api", "TimeZone"}, out.stdout   # the file's own names only


def test_query_rows_stream_a_reader_can_leave_early(db):
    """A billion rows as CSV: the first lines arrive at once, and closing the pipe ends the query."""
    proc = subprocess.Popen([WIREHOUSE, "query", "--db", str(db), "--format", "csv", "--timeout", "100",
                             "SELECT range AS n FROM range(1000000000)"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = [proc.stdout.readline() for _ in range(4)]
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert head == [b"n\n", b"0\n", b"1\n", b"2\n"]
    assert proc.returncode == 0 and b"Traceback" not in err and b"Exception ignored" not in err, err


@pytest.mark.slow   # CLI subprocess: over 5 s
def test_query_table_counts_rows_it_does_not_hold(db):
    out = run("query", "--db", str(db), "--max-rows", "3", "SELECT range AS n FROM range(5000)")
    assert out.returncode == 0 and "(5000 rows, 3 shown)" in out.stdout
    out = run("query", "--db", str(db), "--max-rows", "3", "SELECT range AS n FROM range(3000000)")
    assert out.returncode == 0 and "(over 1,000,000 rows, 3 shown" in out.stdout, out.stdout


def test_the_query_sandbox_is_plain_python(db, tmp_path):
    """`warehouse.sandbox`, called as the CLI calls it: rows in chunks, one-line errors that say whose fault."""
    from wirehouse.warehouse.sandbox import ReadError, check_readable, query_params, run_query

    assert check_readable(db) == duckdb_adapter.latest_version()
    sql = "-- params: kind=ORG\nSELECT name FROM entities WHERE type = $kind"
    with run_query(db, sql, query_params(sql, [])) as rows:
        assert rows.columns == ["name"] and rows.head(5) == ([("NATO",)], 1, False)
    with run_query(db, "SELECT range AS n FROM range(100000)") as rows:
        assert [len(frame) for frame in rows.frames(vectors=16)] == [16 * 2048, 16 * 2048, 16 * 2048, 1696]
    with pytest.raises(ReadError, match="writes are refused") as refused:
        with run_query(db, "DELETE FROM entities"):
            pass
    with pytest.raises(ReadError, match="stopped after 0.5 s") as stopped:
        with run_query(db, "SELECT count(*) FROM range(1000000) a, range(1000000) b", timeout=0.5) as rows:
            rows.head(1)
    assert refused.value.usage and not stopped.value.usage
    with pytest.raises(ReadError, match="no such warehouse file"):
        check_readable(tmp_path / "none.duckdb")
    with pytest.raises(ReadError, match=r"has no parameter \$x"):
        query_params(sql, ["x=1"])


@pytest.mark.slow   # CLI subprocess: over 3 s
def test_query_ctrl_c_is_one_line(db):
    import signal
    import time

    proc = subprocess.Popen([WIREHOUSE, "query", "--db", str(db), "SELECT count(*) FROM range(1000000) a, range(1000000) b"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)   # past start-up, into the query
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "wirehouse: interrupted", err


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise():
    import io

    from wirehouse.progress import terminal_progress

    # (pages done, total, batches loaded, batches, pages loaded): a chunk of batch 1, then batch 1
    # loaded while a chunk of batch 2 is already transformed, then batch 2.
    steps = [(0, 10, 0, 2, 0), (3, 10, 0, 2, 0), (8, 10, 1, 2, 5), (10, 10, 2, 2, 10)]
    screen = io.StringIO()
    with terminal_progress(screen, force_terminal=True) as tell:
        for step in steps:
            tell(*step)
    drawn = screen.getvalue()
    assert "\x1b[" in drawn and "10/10" in drawn and "batch 2/2" in drawn and "10 loaded" in drawn
    log = io.StringIO()
    with terminal_progress(log) as tell:   # StringIO is no TTY
        for step in steps:
            tell(*step)
    assert log.getvalue().splitlines() == [
        "wirehouse: 3/10 pages transformed (0 loaded)",
        "wirehouse: 5/10 pages loaded (batch 1/2)", "wirehouse: 10/10 pages loaded (batch 2/2)"]


# Writes that fail even for root, with no privilege needed: sysfs lets nobody create a file (EACCES)
# or a folder (EPERM) in /sys, and a container mounts it read-only (EROFS): a read-only folder.
UNWRITABLE = Path("/sys")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["ingest", "--db", "/sys/w.duckdb"], "writing in /sys: make it writable or choose another --db"),
        (["ingest", "--db", "{tmp}/new.duckdb", "--summary-json", "/sys/summary.json"],
         "writing in /sys: make it writable or choose another --summary-json"),
        (["migrate", "--db", "/sys/w.duckdb"], "writing in /sys: make it writable or choose another --db"),
        (["export", "--db", "{db}", "--out", "/sys/wirehouse-export"],
         "writing /sys/wirehouse-export: make it writable or choose another --out"),
        (["report", "--db", "{db}", "--out", "/sys/report.html"], "writing /sys/report.html: make it writable or choose another --out"),
    ],
)
def test_a_folder_that_cannot_be_written_is_one_line_and_exit_2(db, tmp_path, args, fragment):
    with pytest.raises(OSError):   # the premise: root cannot write there either
        (UNWRITABLE / "probe").write_bytes(b"")
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-long-article-slug"]\n')
    args = [a.format(tmp=tmp_path, db=db) for a in args]
    if args[0] == "ingest":
        args += ["--sources", str(sources)]
    out = run(*args)
    assert_one_line_error(out, 2, fragment)
    assert not (tmp_path / "new.duckdb").exists()   # refused before the run: nothing written


def _with_file_size_limit(limit: int, *args: str) -> subprocess.CompletedProcess:
    """The CLI with a file-size limit: a write past it fails with EFBIG, as one on a full disk fails
    with ENOSPC (set in a wrapper that then execs the CLI; Python ignores SIGXFSZ, so the write
    fails instead of killing the process)."""
    wrapper = "import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2); os.execv(sys.argv[2], sys.argv[2:])"
    return subprocess.run([sys.executable, "-c", wrapper, str(limit), WIREHOUSE, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow   # CLI subprocesses: over 2 s each
@pytest.mark.parametrize("command, name", [("export", "export"), ("report", "report.html")])
def test_a_full_disk_while_writing_output_is_one_line_and_exit_2(db, tmp_path, command, name):
    target = tmp_path / name
    out = _with_file_size_limit(512, command, "--db", str(db), "--out", str(target))
    assert_one_line_error(out, 2, f"file too large writing {target}")   # DuckDB's COPY for export, Python's write for report
    assert out.stderr.rstrip().endswith("free space, raise the file-size limit (ulimit -f) or move --out")
    again = run(command, "--db", str(db), "--out", str(target), *(["--overwrite"] if command == "export" else []))
    assert again.returncode == 0, again.stderr   # with room again it works


def test_serve_with_no_server_at_its_api_url_is_one_line_and_exit_2(tmp_path):
    """PREFECT_API_URL names a closed loopback port: `serve` says so before it claims to serve."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-b-c"]\n')
    api = f"http://127.0.0.1:{port}/api"
    out = subprocess.run([WIREHOUSE, "serve", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb")],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, PREFECT_API_URL=api))
    assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr == f"wirehouse: error: no Prefect server at {api}: start one with make serve or prefect server start\n"
