"""`wirehouse try` (flows/trial.py, wirehouse/cli/trial.py) and the sitemap order and cap
(tasks/discover.py), against real HTTP servers on loopback."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wirehouse.config import Source, SourcesConfig
from wirehouse.flows.trial import TrialError, try_source, try_url
from wirehouse.loopback import reply
from wirehouse.tasks.discover import discover, parse_sitemap
from wirehouse.tasks.fetch import FetchOptions, Fetcher

WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")
XML = "application/xml"
URLSET = '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'
NOT_AN_ARTICLE = b"<html><head><title>x</title></head><body><p>Short.</p></body></html>"


def url_entry(base: str, day: int | None) -> str:
    """One <url> of story-<day> (a page dated 2026-01-<day>; None: undated)."""
    lastmod = f"<lastmod>2026-01-{day:02d}T08:00:00+00:00</lastmod>" if day else ""
    return f"<url><loc>{base}/news/story-number-{day or 'undated'}</loc>{lastmod}</url>"


def story(base: str, day) -> str:
    return f"{base}/news/story-number-{day}"


# ---------------------------------------------------------------- parsing: newest first


def test_sitemap_pages_come_newest_first_then_the_undated_in_document_order():
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://ex.org/a-old-story</loc><lastmod>2024-03-01</lastmod></url>"
        "<url><loc>https://ex.org/b-undated-first</loc></url>"
        # a news sitemap's publication date is the page's date, whatever its lastmod says
        "<url><loc>https://ex.org/c-news-story</loc><lastmod>2020-01-01</lastmod><news:news>"
        "<news:publication_date>2026-05-02T10:00:00+02:00</news:publication_date></news:news></url>"
        "<url><loc>https://ex.org/d-new-story</loc><lastmod>2026-05-02T09:00:00Z</lastmod></url>"
        "<url><loc>https://ex.org/e-undated-second</loc><lastmod>not a date</lastmod></url>"
        "<url><loc>https://ex.org/f-month-only</loc><lastmod>2025-11</lastmod></url>"
        "</urlset>"
    ).encode()
    pages, _ = parse_sitemap(body)
    assert pages == [
        "https://ex.org/d-new-story",        # 09:00 UTC
        "https://ex.org/c-news-story",       # 08:00 UTC (10:00+02:00)
        "https://ex.org/f-month-only",
        "https://ex.org/a-old-story",
        "https://ex.org/b-undated-first",
        "https://ex.org/e-undated-second",
    ]


def test_child_sitemaps_come_newest_first():
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://ex.org/sitemap-2019.xml</loc><lastmod>2019-12-31</lastmod></sitemap>"
        b"<sitemap><loc>https://ex.org/sitemap-2026.xml</loc><lastmod>2026-06-30</lastmod></sitemap>"
        b"</sitemapindex>"
    )
    assert parse_sitemap(index) == ([], ["https://ex.org/sitemap-2026.xml", "https://ex.org/sitemap-2019.xml"])


# ---------------------------------------------------------------- discovery: the cap keeps the newest


@pytest.fixture(scope="module")
def big_site(loopback):
    """An index of two sitemaps in document order oldest first: January 1-15, then 16-28 and one undated URL."""
    docs: dict[str, bytes] = {}
    routes = {
        "/robots.txt": reply(200, b"User-agent: *\nAllow: /\n", "text/plain"),
        "/news/*": reply(200, NOT_AN_ARTICLE),
        **{f"/{name}": (lambda name: lambda exchange: exchange.send(200, docs[name], XML))(name)
           for name in ("sitemap_index.xml", "sitemap-old.xml", "sitemap-new.xml")},
    }
    server = loopback(routes, host="127.0.0.4")
    base = server.base
    docs["sitemap-old.xml"] = URLSET.format("".join(url_entry(base, d) for d in range(1, 16))).encode()
    docs["sitemap-new.xml"] = URLSET.format("".join(url_entry(base, d) for d in [*range(16, 29), None])).encode()
    docs["sitemap_index.xml"] = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap-old.xml</loc></sitemap><sitemap><loc>{base}/sitemap-new.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    return server


def discover_site(server, cap: int, known=None):
    source = Source(name="big", sitemaps=(server.url("/sitemap_index.xml"),), allow_private_network=True,
                    host_delay=0.0, max_pages=500)
    with Fetcher(FetchOptions(host_delay=0.0, retries=0)) as fetcher:
        return discover(SourcesConfig(sources=(source,)), fetcher, max_sitemap_urls=cap, known=known)


def test_the_sitemap_cap_keeps_the_newest_urls_and_says_how_many_it_left_out(big_site):
    found = discover_site(big_site, cap=10)
    assert [c.url for c in found.candidates] == [story(big_site.base, d) for d in range(28, 18, -1)]
    assert found.capped == {"big": 19}   # 28 dated + 1 undated - 10
    notes = {f.url.rsplit("/", 1)[-1]: f.note for f in found.fetches}
    assert notes["sitemap-old.xml"] == ("15 page URLs, 0 child sitemaps; 0 taken, 15 left out by the cap"
                                        " (10 per source and run, the newest taken)")
    assert notes["sitemap-new.xml"].startswith("14 page URLs, 0 child sitemaps; 10 taken, 4 left out by the cap")


def test_without_the_cap_every_url_is_taken_newest_first_and_the_undated_last(big_site):
    found = discover_site(big_site, cap=2000)
    assert [c.url for c in found.candidates] == [story(big_site.base, d) for d in [*range(28, 0, -1), "undated"]]
    assert found.capped == {}


def test_urls_already_known_do_not_take_the_caps_room(big_site):
    asked = []

    def known(urls):
        asked.extend(urls)
        return {story(big_site.base, d) for d in range(20, 29)}   # the nine newest were loaded before

    found = discover_site(big_site, cap=10, known=known)
    assert [c.url for c in found.candidates] == [story(big_site.base, d) for d in range(19, 9, -1)]
    assert found.capped == {"big": 19}
    assert len(asked) == 29
    note = next(f.note for f in found.fetches if f.url.endswith("/sitemap-new.xml"))
    assert "9 already known" in note


def test_known_urls_fill_the_room_the_new_ones_leave(big_site):
    found = discover_site(big_site, cap=30, known=lambda urls: {story(big_site.base, 28)})
    urls = [c.url for c in found.candidates]
    assert len(urls) == 29 and urls[-1] == story(big_site.base, 28)   # rechecked, after every new URL


# ---------------------------------------------------------------- try (in process: no page is an article, so no NLP model loads)


def test_try_on_a_sitemap_fetches_the_newest_pages_first(big_site):
    before = len(big_site.targets("/news/"))
    trial = try_url(big_site.url("/sitemap-new.xml"), pages=3, allow_private=True, host_delay=0.0)
    assert trial.kind == "sitemap" and trial.candidates == 14
    assert [p.url for p in trial.pages] == [story(big_site.base, d) for d in (28, 27, 26)]
    assert [p.category() for p in trial.pages] == ["not an article"] * 3
    assert big_site.targets("/news/")[before:] == [f"/news/story-number-{d}" for d in (28, 27, 26)]


@pytest.mark.parametrize("path, kind", [("/sitemap_index.xml", "sitemap"), ("/feed", "feed"), ("/latest/", "listing"),
                                        ("/news/story-number-3", "article")])
def test_try_tells_what_a_url_is(loopback, path, kind):
    routes = {
        "/robots.txt": reply(200, b"", "text/plain"),
        "/sitemap_index.xml": reply(200, URLSET.format("").encode(), "text/xml"),
        "/feed": reply(200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
                       "application/rss+xml"),
        "/latest/": reply(200, b'<html><body><main><a href="/news/story-number-3">s</a></main></body></html>'),
        "/news/story-number-3": reply(200, NOT_AN_ARTICLE),
    }
    server = loopback(routes, host="127.0.0.5")
    trial = try_url(server.url(path), pages=1, allow_private=True, host_delay=0.0)
    assert trial.kind == kind
    assert server.targets(path) == [path]   # fetched once: what told the kind is what discovery uses


def test_try_refuses_an_unknown_source_in_one_line(tmp_path):
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-b-c"]\n')
    with pytest.raises(TrialError, match=r"no source named 'b' \(sources: a\)"):
        try_source(str(sources), "b")


# ---------------------------------------------------------------- the command


def run(*args, cwd=None, env=None):
    return subprocess.run([WIREHOUSE, *args], capture_output=True, text=True, timeout=180, cwd=cwd,
                          env={**os.environ, **(env or {})})


def assert_one_line_error(out, fragment):
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirehouse: error:") and fragment in lines[0], out.stderr


def test_cli_unknown_source_exits_2_in_one_line(tmp_path):
    sources = tmp_path / "s.toml"
    sources.write_text('[[sources]]\nname = "a"\nurls = ["https://x.org/a-b-c"]\n')
    out = run("try", "--source", "nope", "--sources", str(sources))
    assert_one_line_error(out, "no source named 'nope' (sources: a)")
    assert out.stdout == ""


@pytest.mark.slow   # a fetch and its one retry
def test_cli_unreachable_url_exits_2_in_one_line():
    with socket.socket() as probe:   # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = run("try", f"http://127.0.0.1:{port}/news/a-b-c", "--allow-private-network", "--host-delay", "0")
    assert_one_line_error(out, f"cannot fetch http://127.0.0.1:{port}/news/a-b-c: error: host unreachable")


@pytest.mark.slow   # loads the NLP model in a new process (~10 s)
def test_cli_try_article_prints_title_and_entities_and_never_touches_the_warehouse(sample_site, tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"not touched")
    stamp = (db.stat().st_mtime_ns, hashlib.sha256(db.read_bytes()).hexdigest())
    work = tmp_path / "cwd"
    work.mkdir()
    url = sample_site.base_urls["horizon-brief"] + "/briefs/moscow-hedges-bets-on-kabul.html"
    out = run("try", url, "--allow-private-network", "--host-delay", "0", cwd=work, env={"WIREHOUSE_DB": str(db)})
    assert out.returncode == 0, out.stderr
    assert f"try {url} (article)" in out.stdout
    assert "title:    Moscow Hedges Its Bets on Kabul" in out.stdout
    entities = next(line for line in out.stdout.splitlines() if line.strip().startswith("entities:"))
    assert "Mullah Abdul Ghani Baradar (PERSON" in entities and "Russia (GPE, RUS)" in entities
    assert "would land: 1 articles" in out.stdout
    assert (db.stat().st_mtime_ns, hashlib.sha256(db.read_bytes()).hexdigest()) == stamp
    assert list(work.iterdir()) == []   # no warehouse/ under the default --db either


def test_ingest_prints_what_the_sitemap_cap_left_out(capsys):
    from wirehouse.cli.run import _print_summary
    from wirehouse.schemas.batches import SUMMARY_COLUMNS

    row = dict.fromkeys(SUMMARY_COLUMNS, 0)
    _print_summary({"run_id": "r", "per_source": {"big": row}, "totals": row, "seconds": 1.0, "sitemap_capped": {"big": 98000}}, 1.0)
    assert "sitemap cap: big 98000 older URLs left out" in capsys.readouterr().out


def test_try_says_why_a_page_was_quarantined(loopback):
    prose = " ".join(["The ministers met in the capital on Tuesday and agreed to resume the border talks."] * 12)
    untitled = f"<html><body><article><p>{prose}</p><p>{prose}</p></article></body></html>".encode()
    server = loopback({"/robots.txt": reply(200, b"", "text/plain"), "/news/untitled-story-page": reply(200, untitled)},
                      host="127.0.0.6")
    trial = try_url(server.url("/news/untitled-story-page"), allow_private=True, host_delay=0.0)
    [page] = trial.pages
    assert page.category() == "quarantined"
    assert "title" in page.reason and page.reason.startswith("failed checks:")
    assert trial.counts["articles"] == 0 and any(key.startswith("articles: ") for key in trial.refused_rows)
