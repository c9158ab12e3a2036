"""Faults on the wire, end to end: a real ingest flow run against fault-injecting HTTP servers on
loopback, then a second run once the flaky server has recovered.

Every fault the reliability issue lists is served at once: transient 500/503/429 (with Retry-After),
404 and 410, a redirect loop and a long chain, a server that never answers, one that drips a byte a
second, 50 MB bodies (with and without Content-Length), a 1 GB gzip bomb, a body shorter than its
Content-Length, a PDF and random bytes served as text/html, a windows-1252 page declared only in
<meta>, a cp1251 page declaring utf-8, stray NULs in a page, an article inside 50,000 nested divs,
dates with an offset and in 2099 and 1800, a feed with javascript:, file: and space-in-host links, a
feed that is not XML, XML bombs and external entities in a feed and sitemaps, a sitemap of 100,000
URLs, robots.txt disallowing everything, and a host that is down.

The promise checked: the run ends in bounded time, every good page is loaded (the windows-1252 and
cp1251 ones decoded right, dates kept), every other URL has a fetch_log row saying what happened,
nothing oversized is stored, and transient failures are retried within the run or picked up by the
next one.
"""

from __future__ import annotations

import gzip
import json
import random
import socket

import pytest

from helpers import rows
from wirehouse.loopback import Exchange, Route, reply

# Two real ingest flow runs against the fault servers (about 80 s).
pytestmark = pytest.mark.slow


MAX_BYTES = 5_000_000          # the run's page cap (the default)
FIFTY_MB = 50_000_000
WORDS = ("ministers", "delegation", "border", "talks", "agreement", "security", "ceasefire", "exercise",
         "officials", "parliament", "summit", "sanctions", "frontier", "capital", "envoy", "navy")
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 1 else str(i - 1).encode())) * 10) for i in range(1, 10))
    + b"]>\n"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
# One good link (already in the source's urls) and three no fetcher can follow: each still gets a fetch_log row.
ODD_LINKS_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd links</title>'
    b"<item><link>/good/1</link></item><item><link>javascript:alert(1)</link></item>"
    b"<item><link>file:///etc/passwd</link></item><item><link>http://ex ample.com/</link></item></channel></rss>"
)


def article(n: int | str, title: str, charset: str = "utf-8", extra: str = "", published: str | None = None,
            nesting: int = 0) -> str:
    """A plain news article page: title, date, three paragraphs of prose (inside ``nesting`` divs)."""
    rng = random.Random(str(n))
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(45)).capitalize() + f" in report {n}.</p>" for _ in range(3)
    )
    published = published or f"2026-10-0{rng.randint(1, 9)}T08:00:00+00:00"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="{charset}"><title>{title}</title>'
        f'<meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><nav><a href='/'>Home</a></nav>{'<div>' * nesting}<article><h1>{title}</h1>"
        f"<p>{extra}Officials met in Vilnius on Monday to discuss report {n}.</p>{paragraphs}</article>"
        f"{'</div>' * nesting}</body></html>"
    )


CP1252_SENTENCE = "The minister’s “café diplomacy” – as critics call it – continued."
CP1252_PAGE = article("cp1252", "Windows page", charset="windows-1252", extra=CP1252_SENTENCE + " ").encode("cp1252")


# A Russian article in windows-1251 whose only declaration, <meta charset="utf-8">, is wrong.
RU_SENTENCE = "Министры иностранных дел встретились в Вильнюсе в понедельник, чтобы обсудить соглашение о границе."
RU_PAGE = (
    '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Переговоры в Вильнюсе</title></head><body>'
    "<article><h1>Переговоры в Вильнюсе</h1>"
    + f"<p>{RU_SENTENCE} Переговоры продолжались несколько часов, и стороны договорились продолжить консультации.</p>" * 4
    + "</article></body></html>"
).encode("cp1251")
NUL_SENTENCE = "A CMS bug left stray bytes in this report."
# Dates as pages state them: with an offset, far in the future, long before the web.
DATED = {"/dated/offset": "2021-08-13T23:30:00-05:00", "/dated/2099": "2099-05-01T10:00:00+00:00",
         "/dated/1800": "1800-05-01T10:00:00+00:00"}


def gzip_bomb(decompressed: int = 1 << 30) -> bytes:
    """About 1 MB on the wire, 1 GB decompressed: one gzip member of 1 MiB of zeros, repeated
    (a gzip stream may hold many members; decoders read them all)."""
    member = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    return gzip.compress(b"<html><body>") + member * (decompressed >> 20)


def sitemap_100k(base: str) -> bytes:
    urls = b"".join(b"<url><loc>%s/huge/%d</loc></url>" % (base.encode(), i) for i in range(100_000))
    return gzip.compress(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + urls + b"</urlset>")


class FaultSite:
    """What the fault routes share: whether the 500 server has recovered, and the big bodies (built once)."""

    def __init__(self) -> None:
        self.healthy = False            # /down-500 answers 500 until the test says the server recovered
        self.bomb = gzip_bomb()
        self.sitemap = b""              # the 100k sitemap, once the server's base URL is known


def _drip(ex: Exchange) -> None:
    ex.begin(200, "text/html", length=100)
    for _ in range(100):
        if ex.closing.wait(1.0):
            return
        ex.wfile.write(b"x")
        ex.wfile.flush()


def _fifty_mb(ex: Exchange) -> None:
    ex.begin(200, "text/html", length=FIFTY_MB if ex.route_path == "/big" else None)
    block = b"<p>" + b"x" * 65_533
    for _ in range(FIFTY_MB // len(block)):
        ex.wfile.write(block)


def _short(ex: Exchange) -> None:
    ex.begin(200, "text/html", length=5000)
    ex.wfile.write(article(ex.route_path, "Short")[:100].encode())  # then the connection closes


def _report(ex: Exchange) -> None:
    ex.send(200, article(ex.route_path, f"Report {ex.route_path}").encode())


def _article(title: str, **kwargs: str | int) -> Route:
    return lambda ex: ex.send(200, article(ex.route_path, title, **kwargs).encode())


def fault_routes(state: FaultSite, robots: bytes = b"User-agent: *\nAllow: /\n") -> dict[str, Route]:
    return {
        "/robots.txt": reply(200, robots, "text/plain"),
        "/good/*": _report,
        "/huge/*": _report,
        "/cp1252": reply(200, CP1252_PAGE, "text/html"),  # the charset is only in <meta>
        "/cp1251-as-utf8": reply(200, RU_PAGE, "text/html"),
        "/stray-nuls": lambda ex: ex.send(200, article(ex.route_path, "Stray NULs", extra=f"{NUL_SENTENCE}\x00 ").encode()
                                          .replace(b"report", b"report\x00", 2)),
        "/deep-nesting": _article("Deep nesting", nesting=50_000),
        **{path: _article(f"Dated {path}", published=published) for path, published in DATED.items()},
        "/flaky-503": lambda ex: ex.send(503, b"busy") if ex.count <= 2 else _article("Flaky 503")(ex),
        "/flaky-429": lambda ex: (ex.send(429, b"slow down", headers={"Retry-After": "1"}) if ex.count == 1
                                  else _article("Rate limited")(ex)),
        "/down-500": lambda ex: _article("Recovered")(ex) if state.healthy else ex.send(500, b"broken"),
        "/gone-404": reply(404, b"nope"),
        "/gone-410": reply(410, b"gone"),
        "/loop/a": lambda ex: ex.redirect("/loop/b"),
        "/loop/b": lambda ex: ex.redirect("/loop/a", 301),
        "/chain/*": lambda ex: ex.redirect(f"/chain/{int(ex.route_path.rsplit('/', 1)[1]) - 1}"),
        "/hang": lambda ex: ex.closing.wait(60),  # accepts, reads the request, never answers
        "/drip": _drip,
        "/big": _fifty_mb,
        "/big-stream": _fifty_mb,
        "/gzip-bomb": lambda ex: ex.send(200, state.bomb, headers={"Content-Encoding": "gzip"}),
        "/short": _short,
        "/pdf-as-html": reply(200, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 50),
        "/random-as-html": reply(200, random.Random(7).randbytes(50_000)),
        "/feed-odd-links.xml": reply(200, ODD_LINKS_FEED, "application/rss+xml"),
        "/feed-not-xml": reply(200, b'{"items": ["this is json, not a feed"', "application/rss+xml"),
        "/feed-bomb.xml": reply(200, BILLION_LAUGHS + b'<rss version="2.0"><channel><title>&lol9;</title></channel></rss>',
                                "application/rss+xml"),
        "/sitemap-xxe.xml": reply(200, XXE + b"<urlset><url><loc>http://127.0.0.1/&x;</loc></url></urlset>", "application/xml"),
        "/sitemap-bomb.xml": reply(200, BILLION_LAUGHS + b"<urlset><url><loc>&lol9;</loc></url></urlset>", "application/xml"),
        "/sitemap-100k.xml.gz": lambda ex: ex.send(200, state.sitemap, "application/x-gzip"),
    }


def closed_port(host: str) -> int:
    """A port on which nothing listens: the host is 'down' (connection refused)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# What each URL must come to in the first run: (kind, outcome, disposition, words in error or reason).
PAGE_FAULTS = {
    "/good/1": ("ok", "article", None),
    "/good/2": ("ok", "article", None),
    "/cp1252": ("ok", "article", None),
    "/cp1251-as-utf8": ("ok", "article", None),
    "/stray-nuls": ("ok", "article", None),
    "/deep-nesting": ("ok", "article", None),
    **{path: ("ok", "article", None) for path in DATED},
    "/flaky-503": ("ok", "article", None),
    "/flaky-429": ("ok", "article", None),
    "/down-500": ("error", "error", "HTTP 500 after 3 attempts"),
    "/gone-404": ("error", "error", "HTTP 404"),
    "/gone-410": ("error", "error", "HTTP 410"),
    "/loop/a": ("error", "error", "redirect loop"),
    "/chain/9": ("error", "error", "too many redirects"),
    "/big": ("too_large", "skipped", "Content-Length 50000000 exceeds"),
    "/big-stream": ("too_large", "skipped", "body exceeds 5000000 bytes"),
    "/gzip-bomb": ("too_large", "skipped", "body exceeds 5000000 bytes (decompressed)"),
    "/short": ("error", "error", "IncompleteRead"),
    "/pdf-as-html": ("not_html", "skipped", "the body is a PDF"),
    "/random-as-html": ("not_html", "skipped", "binary data"),
}
SLOW_FAULTS = {"/hang": ("error", "error", "Timeout"), "/drip": ("error", "error", "deadline of 4s exceeded")}
DISCOVERY_FAULTS = {
    ("feed", "/feed-not-xml"): "no entries: empty or not a feed",
    ("feed", "/feed-bomb.xml"): "refused: the XML declares entities",
    ("feed", "/feed-odd-links.xml"): "1 links; 3 links skipped (not http(s) URLs)",
    ("sitemap", "/sitemap-xxe.xml"): "refused: the XML declares entities",
    ("sitemap", "/sitemap-bomb.xml"): "refused: the XML declares entities",
    ("sitemap", "/sitemap-100k.xml.gz"): "100000 page URLs, 0 child sitemaps; 2000 taken",
}


FETCH_SETTINGS = """[fetch]
timeout = 2
connect_timeout = 2
deadline = 4
retries = 2
"""


def source_block(name: str, max_pages: int | None = None, **lists: list[str]) -> str:
    """One [[sources]] table on loopback: private addresses allowed, no politeness delay."""
    lines = ["[[sources]]", f"name = {json.dumps(name)}", "allow_private_network = true", "host_delay = 0"]
    lines += [f"{key} = {json.dumps(values)}" for key, values in lists.items()]
    lines += [f"max_pages = {max_pages}"] if max_pages else []
    return "\n".join(lines) + "\n"


def worst_fetch_seconds(options) -> float:
    """The longest one fetch may take under its options: robots.txt and then the page, each with
    every attempt at its connect timeout, read timeout and deadline, and every wait at its ceiling
    (a backoff, or the 1 s Retry-After the site sends)."""
    attempts = options.retries + 1
    per_attempt = options.connect_timeout + options.read_timeout + options.deadline
    waits = sum(max(min(options.backoff_max, options.backoff_base * 2 ** n), 1.0) for n in range(options.retries))
    return 2 * (attempts * per_attempt + waits)


@pytest.fixture(scope="module")
def site(loopback, tmp_path_factory):
    state = FaultSite()
    main = loopback(fault_routes(state), host="127.0.0.1", name="faults")
    state.sitemap = sitemap_100k(main.base)
    closed = loopback(fault_routes(state, robots=b"User-agent: *\nDisallow: /\n"), host="127.0.0.2", name="faults")
    slow = {path: loopback(fault_routes(state), host=host, name="faults")
            for path, host in (("/hang", "127.0.0.4"), ("/drip", "127.0.0.5"))}
    down = f"http://127.0.0.3:{closed_port('127.0.0.3')}/2026/01/down-host-story"
    urls = [main.url(p) for p in PAGE_FAULTS] + [s.url(p) for p, s in slow.items()]
    sources = tmp_path_factory.mktemp("faults") / "sources.toml"
    sources.write_text("\n".join([
        FETCH_SETTINGS,
        source_block("faults", urls=urls, feeds=[main.url("/feed-not-xml"), main.url("/feed-bomb.xml"),
                                                 main.url("/feed-odd-links.xml")],
                     sitemaps=[main.url("/sitemap-xxe.xml"), main.url("/sitemap-bomb.xml")]),
        source_block("huge", sitemaps=[main.url("/sitemap-100k.xml.gz")], max_pages=3),
        source_block("closed", urls=[closed.url("/good/closed-1")], feeds=[closed.url("/feed.xml")]),
        source_block("down", urls=[down]),
    ]), encoding="utf-8")
    return {"main": main, "closed": closed, "slow": slow, "down": down, "sources": sources, "state": state}


@pytest.fixture(scope="module")
def runs(prefect_harness, site, tmp_path_factory):
    from wirehouse.flows.ingest import ingest

    db = str(tmp_path_factory.mktemp("wh") / "faults.duckdb")
    first = ingest(sources_file=str(site["sources"]), db_path=db, return_state=True)
    site["state"].healthy = True   # the 500 server recovered before the next scheduled run
    second = ingest(sources_file=str(site["sources"]), db_path=db, return_state=True)
    return {"db": db, "first": first, "second": second}


def log_of(runs, run: str) -> dict[tuple[str, str], tuple]:
    run_id = str(runs[run].state_details.flow_run_id)
    found = rows(runs["db"], "SELECT kind, url, outcome, disposition, coalesce(error, reason, ''), attempts, elapsed_ms, bytes"
                 " FROM fetch_log WHERE run_id = ?", [run_id])
    return {(kind, url): tuple(rest) for kind, url, *rest in found}


def test_runs_complete_and_no_fetch_outlasts_its_limits(runs, site):
    from wirehouse.flows.ingest import fetch_options
    from wirehouse.config import load_sources

    assert runs["first"].is_completed(), runs["first"].message
    assert runs["second"].is_completed(), runs["second"].message
    # Bounded by construction, not by this machine's speed: the server that never answers and
    # the one that drips are cut off by the run's own timeouts, retries and deadline.
    bound_ms = 1000 * worst_fetch_seconds(fetch_options(load_sources(site["sources"])))
    slowest = rows(runs["db"], "SELECT url, elapsed_ms FROM fetch_log ORDER BY elapsed_ms DESC LIMIT 1")[0]
    assert slowest[1] <= bound_ms, (slowest, bound_ms)
    assert slowest[0] in {s.url(p) for p, s in site["slow"].items()}   # the waits were the slow servers' own


def test_every_url_has_a_fetch_log_row_saying_what_happened(runs, site):
    log = log_of(runs, "first")
    main, slow = site["main"], site["slow"]
    expected = {("page", main.url(p)): v for p, v in PAGE_FAULTS.items()}
    expected |= {("page", slow[p].url(p)): v for p, v in SLOW_FAULTS.items()}
    for (kind, url), (outcome, disposition, words) in expected.items():
        assert (kind, url) in log, f"no fetch_log row for {url}"
        got = log[(kind, url)]
        assert (got[0], got[1]) == (outcome, disposition), (url, got)
        if words:
            assert words in got[2], (url, got[2])
    for (kind, path), words in DISCOVERY_FAULTS.items():
        got = log[(kind, main.url(path))]
        assert got[:2] == ("ok", "discovery") and got[2].startswith(words), (path, got)
    closed = site["closed"]
    assert log[("page", closed.url("/good/closed-1"))][:2] == ("robots", "skipped")
    assert log[("feed", closed.url("/feed.xml"))][:2] == ("robots", "skipped")
    down = log[("page", site["down"])]
    assert down[:2] == ("error", "error") and down[2].startswith("host unreachable: robots.txt: ConnectionError")
    assert down[2].endswith("after 3 attempts")
    # The 100k sitemap fed 3 pages (max_pages), all loaded; nothing else was fetched.
    huge = [url for kind, url in log if "/huge/" in url]
    assert sorted(huge) == sorted(main.url(f"/huge/{i}") for i in range(3))
    assert all(log[("page", u)][1] == "article" for u in huge)
    odd = [url for kind, url in log if log[(kind, url)][0] == "invalid_url"]
    assert len(odd) == 3
    assert len(log) == len(expected) + len(DISCOVERY_FAULTS) + 2 + 1 + len(huge) + len(odd)


def test_links_no_fetcher_can_follow_are_logged_as_skipped_with_the_reason(runs):
    """javascript:, file: and a host with a space in a feed: never sent, each logged as skipped with
    why, and counted in the run summary's skipped."""
    run_id = str(runs["first"].state_details.flow_run_id)
    found = {url: rest for url, *rest in rows(runs["db"], (
        "SELECT url, outcome, disposition, reason, attempts FROM fetch_log"
        " WHERE run_id = ? AND kind = 'page' AND source = 'faults' AND outcome = 'invalid_url'"), [run_id])}
    assert found.pop("javascript:alert(1)") == ["invalid_url", "skipped", "unsupported scheme", 0]
    assert found.pop("http://ex ample.com/") == ["invalid_url", "skipped", "invalid URL", 0]
    ((link, rest),) = found.items()   # file:///etc/passwd, as feedparser spells it
    assert link.startswith("file:") and rest == ["invalid_url", "skipped", "unsupported scheme", 0]
    skipped = rows(runs["db"], "SELECT count(*) FROM fetch_log WHERE run_id = ? AND kind = 'page' AND source = 'faults'"
                   " AND disposition = 'skipped'", [run_id])[0][0]
    assert runs["first"].result()["per_source"]["faults"]["skipped"] == skipped


def test_transient_failures_are_retried_within_the_run(runs, site):
    log = log_of(runs, "first")
    main = site["main"]
    assert log[("page", main.url("/flaky-503"))][3] == 3                   # two 503s, then the page
    attempts, elapsed_ms = log[("page", main.url("/flaky-429"))][3:5]
    assert attempts == 2 and elapsed_ms >= 900                              # Retry-After: 1 was honoured
    assert log[("page", site["slow"]["/hang"].url("/hang"))][3] == 3        # timeouts are retried
    assert log[("page", site["slow"]["/drip"].url("/drip"))][3] == 1        # a deadline is not


def test_good_pages_are_loaded_and_windows_1252_decoded_right(runs, site):
    main = site["main"]
    loaded = {url for (url,) in rows(runs["db"], "SELECT url FROM articles")}
    good = [main.url(p) for p, (_, disposition, _) in PAGE_FAULTS.items() if disposition == "article"]
    # the 100,000-URL sitemap's cap of 3: the first run takes /huge/0-2, the second the next three
    # (known URLs do not take the cap's room: tasks/discover.py)
    assert set(good) | {main.url(f"/huge/{i}") for i in range(6)} | {main.url("/down-500")} == loaded
    (text,) = rows(runs["db"], "SELECT text FROM articles WHERE url = ?", [main.url("/cp1252")])[0]
    assert CP1252_SENTENCE in text and "\ufffd" not in text and "â€" not in text


def test_a_cp1251_page_behind_a_utf8_meta_loads_readable_and_says_how(runs, site):
    url = site["main"].url("/cp1251-as-utf8")
    text, language, encoding = rows(runs["db"], "SELECT a.text, a.language, p.encoding FROM articles a"
                                    " JOIN pages p USING (content_hash) WHERE a.url = ?", [url])[0]
    assert RU_SENTENCE in text and "\ufffd" not in text
    assert language == "ru" and encoding == "cp1251"
    reason = rows(runs["db"], "SELECT reason FROM fetch_log WHERE url = ? AND run_id = ?",
                  [url, str(runs["first"].state_details.flow_run_id)])[0][0]
    assert reason == "declared utf-8 does not decode; decoded as cp1251"


def test_stray_nuls_and_deep_nesting_no_longer_cost_the_article(runs, site):
    main = site["main"]
    (text,) = rows(runs["db"], "SELECT text FROM articles WHERE url = ?", [main.url("/stray-nuls")])[0]
    assert NUL_SENTENCE in text and "\x00" not in text and "\ufffd" not in text
    (text,) = rows(runs["db"], "SELECT text FROM articles WHERE url = ?", [main.url("/deep-nesting")])[0]
    assert "Officials met in Vilnius on Monday to discuss report /deep-nesting." in text


def test_publication_instant_beside_the_local_day_and_implausible_dates_kept_flagged(runs, site):
    from datetime import date, datetime

    got = {url: rest for url, *rest in rows(runs["db"], (
        "SELECT url, published_at, published_ts AT TIME ZONE 'UTC', published_at_plausible FROM articles"
        " WHERE url LIKE '%/dated/%'"))}
    main = site["main"]
    assert got == {
        main.url("/dated/offset"): [date(2021, 8, 13), datetime(2021, 8, 14, 4, 30), True],
        main.url("/dated/2099"): [date(2099, 5, 1), datetime(2099, 5, 1, 10, 0), False],
        main.url("/dated/1800"): [date(1800, 5, 1), datetime(1800, 5, 1, 10, 0), False],
    }
    # their events still get dates, read against the date the page gives
    for path, year in (("/dated/2099", 2099), ("/dated/1800", 1800)):
        events, dated = rows(runs["db"], "SELECT count(*), count(*) FILTER (year(e.event_date) = ?) FROM events e"
                             " JOIN articles a USING (article_id) WHERE a.url = ?", [year, main.url(path)])[0]
        assert events > 0 and dated == events, (path, events, dated)


def test_nothing_oversized_or_refused_is_stored(runs, site):
    stored = rows(runs["db"], "SELECT url, bytes FROM pages")
    assert max(size for _, size in stored) < MAX_BYTES
    refused = {site["main"].url(p) for p, (outcome, _, _) in PAGE_FAULTS.items() if outcome != "ok" and p != "/down-500"}
    assert not refused & {url for url, _ in stored}
    assert rows(runs["db"], "SELECT count(*) FROM pages")[0][0] == len({u for u, _ in stored})


def test_the_next_run_picks_up_what_failed(runs, site):
    main = site["main"]
    second = log_of(runs, "second")
    assert second[("page", main.url("/down-500"))][:2] == ("ok", "article")
    not_huge = lambda log: {key for key in log if "/huge/" not in key[1]}   # noqa: E731
    assert not_huge(log_of(runs, "first")) == not_huge(second), "every URL is tried again and logged again"
    # the sitemap's cap goes to URLs no run has taken yet, the newest first (undated: in document order)
    assert {url for kind, url in second if "/huge/" in url} == {main.url(f"/huge/{i}") for i in range(3, 6)}
    for path in ("/good/1", "/cp1252", "/flaky-503"):
        assert second[("page", main.url(path))][1:3] == ("not_modified", "same content")
    summary = runs["second"].result()["totals"]
    assert summary["new"] == 1 + 3 and summary["updated"] == 0
    assert rows(runs["db"], "SELECT count(*) = count(DISTINCT article_id) FROM articles")[0][0]
