"""Tests for tasks/fetch.py and its parts (guard, robots, decoding) against real HTTP servers on loopback
(no traffic leaves 127.0.0.0/8)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import random
import socket
import threading
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from prefect.cache_policies import NO_CACHE
from requests.adapters import BaseAdapter

from wirehouse.tasks import decoding
from wirehouse.tasks import fetch as fetch_mod
from wirehouse.tasks import guard as guard_mod
from wirehouse.tasks import transport
from wirehouse.tasks.fetch import (
    FetchOptions,
    FetchRequest,
    FetchResult,
    Fetcher,
    fetch_batch,
    fetch_task,
)
from wirehouse.tasks.fetch_errors import Fatal
from wirehouse.tasks.guard import non_public_reason
from wirehouse.loopback import Exchange, LoopbackServer, Route, reply

CP1252_TEXT = "It’s “quoted” – café"
CP1252_PAGE = (
    '<html><head><meta charset="windows-1252"><title>t</title></head>'
    f"<body><p>{CP1252_TEXT}</p></body></html>"
).encode("cp1252")
OK_PAGE = "<!doctype html><html><head><title>Ok</title></head><body><p>Grüße ✓</p></body></html>".encode()
PROSE = "Officials met in Vilnius on Monday to discuss the border agreement and the new security talks. " * 4
# A CMS bug's stray NULs in an otherwise ordinary article.
NUL_PAGE = (f"<!doctype html><html><head><title>Nul</title></head><body><article><h1>Nul</h1><p>{PROSE}</p>"
            f"<p>Before\x00after the stray byte. {PROSE}</p><p>{PROSE}\x00\x00</p></article></body></html>").encode()
RU_SENTENCE = "Министры иностранных дел встретились в Вильнюсе в понедельник, чтобы обсудить соглашение о границе."
RU_PAGE = ('<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Переговоры</title></head><body><article>'
           + f"<p>{RU_SENTENCE} Переговоры продолжались несколько часов, стороны договорились о консультациях.</p>" * 4
           + "</article></body></html>").encode("cp1251")
BINARIES = {
    "/png-as-html": b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(5_000),
    "/zip-as-html": b"PK\x03\x04" + random.Random(2).randbytes(5_000),
    "/jpeg-as-html": b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(5_000),
    "/elf-as-html": b"\x7fELF\x02\x01\x01" + bytes(9) + random.Random(4).randbytes(5_000),   # no magic we know
}
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
    b"<item><link>http://127.0.0.1/a</link></item></channel></rss>"
)
SITEMAP = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://x/</loc></url></urlset>'
SIX_MB = 6_000_000
GZIP_BOMB = gzip.compress(b"<html>" + b"a" * SIX_MB, compresslevel=9)
BIG_SITEMAP = (b'<?xml version="1.0"?><urlset>'
               + b"".join(b"<url><loc>http://x/%07d</loc></url>" % i for i in range(200_000)) + b"</urlset>")  # 7 MB
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


def _drip(ex: Exchange) -> None:
    ex.begin(200, "text/html", length=200)
    for _ in range(200):
        ex.wfile.write(b"x")
        ex.wfile.flush()
        time.sleep(0.02)


def _six_mb(with_length: bool) -> Route:
    def stream(ex: Exchange) -> None:
        ex.begin(200, "text/html", length=SIX_MB if with_length else None)
        for _ in range(SIX_MB // 65536 + 1):
            ex.wfile.write(b"x" * 65536)
    return stream


def _slow(ex: Exchange) -> None:
    time.sleep(0.3)
    ex.send(200, OK_PAGE)


def _cond(ex: Exchange) -> None:
    if ex.headers.get("If-None-Match") == '"v1"':
        ex.send(304, b"", None, {"ETag": '"v1"'})
    else:
        ex.send(200, OK_PAGE, headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED})


def _after(failures: int, status: int, body: bytes, headers: dict[str, str] | None = None) -> Route:
    """``status`` for the first ``failures`` requests to a target, then the page."""
    return lambda ex: ex.send(status, body, headers=headers) if ex.count <= failures else ex.send(200, OK_PAGE)


def fetch_routes(robots_status: int = 200, robots_body: bytes = b"User-agent: *\nDisallow: /private/\n") -> dict[str, Route]:
    ok = reply(200, OK_PAGE)
    return {
        "/robots.txt": reply(robots_status, robots_body, "text/plain"),
        **dict.fromkeys(("/ok", "/private/secret", "/chain/0", "/loop/ok"), ok),
        "/slow": _slow,
        "/cp1252": reply(200, CP1252_PAGE, "text/html"),
        "/latin1": reply(200, "<p>It’s</p>".encode("cp1252"), "text/html; charset=ISO-8859-1"),
        "/notype": reply(200, OK_PAGE, None),
        "/notype-bin": reply(200, b"\x00\x01binary\xff", None),
        "/cond": _cond,
        "/429": _after(1, 429, b"slow down", {"Retry-After": "1"}),
        "/503": _after(2, 503, b"busy"),
        "/500": reply(500, b"broken"),
        "/404": reply(404, b"nope"),
        "/chain/*": lambda ex: ex.redirect(f"/chain/{int(ex.route_path.rsplit('/', 1)[1]) - 1}"),
        "/loop/a": lambda ex: ex.redirect("/loop/b"),
        "/loop/b": lambda ex: ex.redirect(f"http://{ex.headers['Host']}/loop/a", 301),
        "/redirect-to": lambda ex: ex.redirect(ex.query["u"][0]),
        "/ftp": lambda ex: ex.redirect("ftp://example.com/file"),
        "/gzip-bomb": reply(200, GZIP_BOMB, headers={"Content-Encoding": "gzip"}),
        "/gzip-small": reply(200, gzip.compress(OK_PAGE), headers={"Content-Encoding": "gzip"}),
        "/big": _six_mb(with_length=True),
        "/big-nolength": _six_mb(with_length=False),
        "/pdf": reply(200, b"%PDF-1.4 fake", "application/pdf"),
        "/pdf-as-html": reply(200, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "text/html; charset=utf-8"),
        # the only declaration, <meta charset="utf-8">, is wrong
        "/cp1251-as-utf8": reply(200, RU_PAGE, "text/html"),
        "/nul-html": reply(200, NUL_PAGE, "text/html; charset=utf-8"),
        **{path: reply(200, body, "text/html") for path, body in BINARIES.items()},
        "/random-as-html": reply(200, random.Random(5).randbytes(20_000), "text/html"),
        "/utf16-as-html": reply(200, "<html><body><p>Grüße</p></body></html>".encode("utf-16"), "text/html; charset=utf-16"),
        "/big-sitemap.xml": reply(200, BIG_SITEMAP, "application/xml"),
        "/drip": _drip,
        "/feed.xml": reply(200, RSS, "application/rss+xml"),
        "/sitemap.xml.gz": reply(200, gzip.compress(SITEMAP), "application/x-gzip"),
    }


@pytest.fixture(scope="module")
def servers(loopback):
    def make(host: str = "127.0.0.1", **robots: object) -> LoopbackServer:
        return loopback(fetch_routes(**robots), host=host)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="module")
def server(servers):
    return servers()


class FakeSleep:
    """Records waits instead of waiting; optionally advances a fake clock."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FAST = FetchOptions(host_delay=0, backoff_base=0.001, backoff_max=0.01, retries=3)


@pytest.fixture
def sleep():
    return FakeSleep()


@pytest.fixture
def fetcher(sleep):
    with Fetcher(FAST, sleep=sleep) as f:
        yield f


def req(url: str, kind: str = "page", **kw: object) -> FetchRequest:
    return FetchRequest(url=url, source="test", kind=kind, allow_private=kw.pop("allow_private", True), **kw)  # type: ignore[arg-type]


def fake_resolver(mapping: dict[str, list[str]]):
    """A getaddrinfo stand-in: host -> addresses; unknown hosts fall through to the real resolver."""

    def resolve(host, port, family=0, type=0, *rest):
        if host not in mapping:
            return socket.getaddrinfo(host, port, family, type)
        out = []
        for addr in mapping[host]:
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            sockaddr = (addr, port, 0, 0) if fam == socket.AF_INET6 else (addr, port)
            out.append((fam, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    return resolve


class FakeAdapter(BaseAdapter):
    """Answers for a fake public host without any network traffic."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__()
        self.routes = routes
        self.seen: list[str] = []

    def send(self, request, **kwargs):
        self.seen.append(request.url)
        path = request.path_url
        status, headers, body = self.routes.get(path, (404, {}, b""))
        resp = requests.Response()
        resp.status_code = status
        resp.headers.update(headers)
        resp.raw = io.BytesIO(body)
        resp.url = request.url
        resp.request = request
        return resp

    def close(self) -> None:
        pass


# ---- basics ------------------------------------------------------------------------------------


def test_ok_html_utf8(server, fetcher):
    result = fetcher.fetch(req(server.url("/ok")))
    assert isinstance(result, FetchResult)
    assert result.outcome == "ok", result.error
    assert result.status == 200 and result.error is None
    assert result.content_type == "text/html"
    assert result.encoding == "utf-8"
    assert "Grüße ✓" in result.text
    assert result.body == OK_PAGE and result.bytes == len(OK_PAGE)
    assert result.attempts == 1 and result.redirects == []
    assert result.final_url == server.url("/ok")
    assert result.fetched_at.tzinfo is not None and result.fetched_at.utcoffset() == timedelta(0)
    assert result.elapsed >= 0
    ua = server.headers_of("/ok")["User-Agent"]
    assert ua.startswith("wirehouse/") and "https://github.com/wirehouse/wirehouse" in ua


def test_custom_user_agent_and_contact(server, sleep):
    opts = FetchOptions(host_delay=0, contact_url="https://example.org/bot", respect_robots=False)
    with Fetcher(opts, sleep=sleep) as f:
        assert f.fetch(req(server.url("/ok?ua=1"))).outcome == "ok"
    assert "(+https://example.org/bot)" in server.headers_of("/ok?ua=1")["User-Agent"]
    assert FetchOptions(user_agent="custom/1").agent() == "custom/1"


# ---- decoding ----------------------------------------------------------------------------------


def test_cp1252_declared_only_in_meta(server, fetcher):
    result = fetcher.fetch(req(server.url("/cp1252")))
    assert result.outcome == "ok", result.error
    assert result.encoding == "cp1252"
    assert CP1252_TEXT in result.text
    assert result.body == CP1252_PAGE


def test_latin1_header_decodes_as_windows_1252(server, fetcher):
    result = fetcher.fetch(req(server.url("/latin1")))
    assert result.outcome == "ok" and result.encoding == "cp1252"
    assert "It’s" in result.text


@pytest.mark.parametrize(
    ("data", "header", "expected"),
    [
        (b"<html>plain ascii</html>", "us-ascii", "cp1252"),
        (b"<html>x</html>", "utf-8", "utf-8"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?><rss>é</rss>'.encode("latin-1"), None, "cp1252"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>Привет</p>'.encode("koi8-r"), None, "koi8-r"),
        (b"\xef\xbb\xbf<p>x</p>", "iso-8859-1", "utf-8-sig"),
        ('<?xml version="1.0" encoding="iso-8859-5"?><rss>Привет</rss>'.encode("iso-8859-5"), None, "iso8859-5"),
        (b"<meta charset=bogus-charset><p>ok</p>", None, "utf-8"),
        ("<p>Ça été très déjà vu, naïve façade</p>".encode("cp1252") * 20, None, None),
    ],
)
def test_choose_encoding(data, header, expected):
    encoding, note = decoding.choose_encoding(data, header)
    assert note is None   # every declaration here fits its bytes
    if expected is None:  # detection: only require a decode that round-trips the accents
        assert "très déjà" in data.decode(encoding)
    else:
        assert encoding == expected


def test_a_stray_bad_byte_keeps_the_declared_utf8():
    data = ('<meta charset="utf-8"><p>' + "Grüße aus Köln, schöne Straße. " * 20 + "</p>").encode() + b"\x92 end"
    assert decoding.choose_encoding(data, None) == ("utf-8", None)


def test_a_later_declaration_that_fits_wins_over_one_that_does_not():
    data = '<meta charset="windows-1251"><p>Министры встретились в Вильнюсе</p>'.encode("cp1251")
    assert decoding.choose_encoding(data, "utf-8") == ("cp1251", "declared utf-8 does not decode; decoded as cp1251")


def test_cp1251_behind_a_utf8_meta_is_decoded_as_cp1251_and_says_so(server, fetcher):
    result = fetcher.fetch(req(server.url("/cp1251-as-utf8")))
    assert result.outcome == "ok", result.error
    assert result.encoding == "cp1251" and RU_SENTENCE in result.text
    assert result.note == "declared utf-8 does not decode; decoded as cp1251"
    assert result.body == RU_PAGE


def test_pages_stay_bytes_without_page_text_but_say_how_to_decode(server, sleep, monkeypatch):
    # The ingest flow decodes pages once, in the transform stage: the fetcher only chooses the codec.
    decoded = []
    monkeypatch.setattr(fetch_mod, "decode_body", lambda *a, **kw: decoded.append(kw["text"]) or decoding.decode_body(*a, **kw))
    with Fetcher(dataclasses.replace(FAST, page_text=False), sleep=sleep) as f:
        page, listing = f.fetch_many([req(server.url("/cp1251-as-utf8")), req(server.url("/cp1251-as-utf8"), kind="listing")])
    assert decoded == [False, True]
    assert page.outcome == "ok" and page.text is None and page.body == RU_PAGE
    assert (page.encoding, page.note) == ("cp1251", "declared utf-8 does not decode; decoded as cp1251")
    assert RU_SENTENCE in listing.text
    assert page.content_hash == hashlib.sha256(RU_PAGE).hexdigest() == listing.content_hash


def test_missing_content_type_is_sniffed(server, fetcher):
    assert fetcher.fetch(req(server.url("/notype"))).outcome == "ok"
    result = fetcher.fetch(req(server.url("/notype-bin")))
    assert result.outcome == "not_html" and result.body is None and result.text is None


def test_pdf_is_not_html(server, fetcher):
    for kind in ("page", "listing", "feed"):
        result = fetcher.fetch(req(server.url("/pdf"), kind=kind))
        assert result.outcome == "not_html", kind
        assert result.status == 200 and "application/pdf" in result.error
        assert result.content_type == "application/pdf"
        assert result.body is None


def test_feed_accepts_xml_but_page_does_not(server, fetcher):
    result = fetcher.fetch(req(server.url("/feed.xml"), kind="feed"))
    assert result.outcome == "ok", result.error
    assert result.content_type == "application/rss+xml" and "<channel>" in result.text
    assert fetcher.fetch(req(server.url("/feed.xml"), kind="page")).outcome == "not_html"
    assert fetcher.fetch(req(server.url("/ok"), kind="feed")).outcome == "ok"  # text/html allowed


def test_gzip_sitemap_is_decompressed(server, fetcher):
    result = fetcher.fetch(req(server.url("/sitemap.xml.gz"), kind="sitemap"))
    assert result.outcome == "ok", result.error
    assert result.body == SITEMAP and "<urlset" in result.text
    assert fetcher.fetch(req(server.url("/sitemap.xml.gz"), kind="page")).outcome == "not_html"
    assert fetcher.fetch(req(server.url("/sitemap.xml.gz"), kind="feed")).outcome == "not_html"


def test_gzip_sitemap_bomb_is_capped():
    assert decoding.gunzip_capped(gzip.compress(b"a" * 2_000_000), 1_000_000) == (b"a" * 1_000_000, True)
    assert decoding.gunzip_capped(gzip.compress(b"a" * 1_000_000), 1_000_000) == (b"a" * 1_000_000, False)
    with pytest.raises(Fatal) as info:   # the fetcher's outcome for it
        decoding.decode_body(gzip.compress(b"a" * 2_000_000), "application/x-gzip", None, "sitemap", 1_000_000)
    assert info.value.outcome == "too_large"


# ---- size and time caps ----------------------------------------------------------------------------


def test_content_encoding_gzip_small_ok(server, fetcher):
    result = fetcher.fetch(req(server.url("/gzip-small")))
    assert result.outcome == "ok" and result.body == OK_PAGE


def test_gzip_bomb_counts_decompressed_bytes(server, fetcher):
    assert len(GZIP_BOMB) < 100_000  # small on the wire
    tracemalloc.start()
    try:
        result = fetcher.fetch(req(server.url("/gzip-bomb")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < FAST.max_bytes + 1_000_000  # stopped at the cap, never held all 6 MB
    assert result.outcome == "too_large", result.error
    assert "decompressed" in result.error and result.body is None and result.attempts == 1


def test_content_length_too_large_refused_early(server, fetcher):
    started = time.monotonic()
    result = fetcher.fetch(req(server.url("/big")))
    assert result.outcome == "too_large" and "Content-Length" in result.error
    assert time.monotonic() - started < 2


def test_body_without_length_is_capped_while_streaming(server, fetcher):
    result = fetcher.fetch(req(server.url("/big-nolength")))
    assert result.outcome == "too_large" and "exceeds" in result.error


def test_small_max_bytes(server, sleep):
    with Fetcher(FetchOptions(host_delay=0, max_bytes=50), sleep=sleep) as f:
        result = f.fetch(req(server.url("/ok")))
    assert result.outcome == "too_large"


def test_slow_drip_hits_deadline(server, sleep):
    opts = FetchOptions(host_delay=0, deadline=0.3, retries=3)
    started = time.monotonic()
    with Fetcher(opts, sleep=sleep) as f:
        result = f.fetch(req(server.url("/drip")))
    assert result.outcome == "error" and "deadline" in result.error
    assert result.attempts == 1 and result.status == 200  # fatal: not retried
    assert time.monotonic() - started < 2  # the drip would take 4 s


# ---- conditional GET -------------------------------------------------------------------------------


def test_conditional_get(server, fetcher):
    first = fetcher.fetch(req(server.url("/cond")))
    assert first.outcome == "ok"
    assert first.etag == '"v1"' and first.last_modified == LAST_MODIFIED
    second = fetcher.fetch(req(server.url("/cond"), etag=first.etag, last_modified=first.last_modified))
    assert second.outcome == "not_modified" and second.status == 304
    assert second.body is None and second.text is None
    assert second.etag == '"v1"' and second.last_modified == LAST_MODIFIED
    sent = server.headers_of("/cond")
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == LAST_MODIFIED


# ---- retries -----------------------------------------------------------------------------------------


def test_429_honours_retry_after(server, fetcher, sleep):
    result = fetcher.fetch(req(server.url("/429")))
    assert result.outcome == "ok", result.error
    assert result.attempts == 2
    assert server.counts["/429"] == 2
    assert sleep.calls == [1.0]


def test_retry_after_is_capped(server, sleep):
    opts = FetchOptions(host_delay=0, retry_after_max=0.25)
    with Fetcher(opts, sleep=sleep) as f:
        assert f.fetch(req(server.url("/429?capped=1"))).outcome == "ok"
    assert sleep.calls == [0.25]


def test_retry_after_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    seconds = transport.parse_retry_after(format_datetime(when, usegmt=True))
    assert 25 <= seconds <= 31
    assert transport.parse_retry_after("7") == 7.0
    assert transport.parse_retry_after("garbage") is None
    assert transport.parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=timezone.utc), usegmt=True)) == 0.0


def test_503_twice_then_ok_with_jittered_backoff(server, sleep):
    opts = FetchOptions(host_delay=0, backoff_base=0.5, backoff_max=30)
    with Fetcher(opts, sleep=sleep) as f:
        result = f.fetch(req(server.url("/503")))
    assert result.outcome == "ok" and result.attempts == 3
    assert server.counts["/503"] == 3
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5 and 0 <= sleep.calls[1] <= 1.0


def test_backoff_is_capped_and_jittered(sleep):
    f = Fetcher(FetchOptions(backoff_base=1, backoff_max=3), sleep=sleep)
    values = [f._backoff(10, None) for _ in range(200)]
    assert all(0 <= v <= 3 for v in values) and len(set(values)) > 100
    assert f._backoff(1, 500) == 120.0  # Retry-After capped at retry_after_max
    f.close()


def test_500_exhausts_retries(server, sleep):
    with Fetcher(FetchOptions(host_delay=0, backoff_base=0.001, retries=2), sleep=sleep) as f:
        result = f.fetch(req(server.url("/500")))
    assert result.outcome == "error" and result.status == 500
    assert result.attempts == 3 and server.counts["/500"] == 3
    assert "HTTP 500" in result.error and "3 attempts" in result.error
    assert len(sleep.calls) == 2


def test_404_is_fatal(server, fetcher, sleep):
    result = fetcher.fetch(req(server.url("/404")))
    assert result.outcome == "error" and result.status == 404
    assert result.attempts == 1 and server.counts["/404"] == 1 and sleep.calls == []
    assert "\n" not in result.error


def test_connection_refused_is_retried(sleep):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Fetcher(FetchOptions(host_delay=0, retries=2, backoff_base=0.001, respect_robots=False), sleep=sleep) as f:
        result = f.fetch(req(f"http://127.0.0.1:{port}/x"))
    assert result.outcome == "error" and result.status is None
    assert result.attempts == 3 and "ConnectionError" in result.error and "\n" not in result.error


def test_host_down_is_an_error_not_a_robots_refusal(sleep):
    # robots.txt is asked first; no answer at all means the host is down: an error, tried again next run.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Fetcher(FetchOptions(host_delay=0, retries=2, backoff_base=0.001), sleep=sleep) as f:
        result = f.fetch(req(f"http://127.0.0.1:{port}/x"))
        again = f.fetch(req(f"http://127.0.0.1:{port}/y"))
    assert result.outcome == "error" and result.error.startswith("host unreachable: robots.txt: ConnectionError")
    assert result.error.endswith("after 3 attempts") and len(sleep.calls) == 2
    assert again.outcome == "error" and len(sleep.calls) == 2  # the host's answer is cached for the run


# ---- redirects ---------------------------------------------------------------------------------------


def test_redirect_chain_of_three(server, fetcher):
    result = fetcher.fetch(req(server.url("/chain/3")))
    assert result.outcome == "ok", result.error
    assert result.redirects == [server.url("/chain/2"), server.url("/chain/1"), server.url("/chain/0")]
    assert result.final_url == server.url("/chain/0") and result.url == server.url("/chain/3")


def test_redirect_chain_of_five_is_allowed(server, fetcher):
    assert fetcher.fetch(req(server.url("/chain/5"))).outcome == "ok"


def test_too_many_redirects(servers, fetcher):
    srv = servers()
    result = fetcher.fetch(req(srv.url("/chain/7")))
    assert result.outcome == "error" and "too many redirects" in result.error
    assert result.status == 302 and len(result.redirects) == 5
    assert result.final_url == srv.url("/chain/2")
    assert srv.targets("/chain/") == [f"/chain/{n}" for n in (7, 6, 5, 4, 3, 2)]  # stopped after 5 hops


def test_redirect_loop(server, fetcher):
    result = fetcher.fetch(req(server.url("/loop/a")))
    assert result.outcome == "error" and "redirect loop" in result.error
    assert result.redirects == [server.url("/loop/b")]


def test_redirect_to_ftp(server, fetcher):
    result = fetcher.fetch(req(server.url("/ftp")))
    assert result.outcome == "error" and "ftp://" in result.error and result.status == 302


# ---- robots.txt ------------------------------------------------------------------------------------


def test_robots_disallow_and_cache(servers, sleep):
    srv = servers()
    with Fetcher(FAST, sleep=sleep) as f:
        blocked = f.fetch(req(srv.url("/private/secret")))
        allowed = f.fetch(req(srv.url("/ok")))
        again = f.fetch(req(srv.url("/private/secret")))
    assert blocked.outcome == "robots" and "robots.txt" in blocked.error
    assert again.outcome == "robots" and allowed.outcome == "ok"
    assert srv.targets("/private/") == []  # no request made
    assert srv.counts["/robots.txt"] == 1  # cached per origin
    assert srv.headers_of("/robots.txt")["User-Agent"].startswith("wirehouse/")


def test_robots_ignored_when_disabled(server, sleep):
    with Fetcher(FetchOptions(host_delay=0, respect_robots=False), sleep=sleep) as f:
        assert f.fetch(req(server.url("/private/secret"))).outcome == "ok"


def test_robots_404_allows_all(servers, fetcher):
    srv = servers(robots_status=404)
    assert fetcher.fetch(req(srv.url("/private/secret"))).outcome == "ok"


def test_robots_5xx_disallows_all(servers, fetcher):
    srv = servers(robots_status=503)
    result = fetcher.fetch(req(srv.url("/ok")))
    assert result.outcome == "robots" and "unavailable" in result.error
    assert srv.targets("/ok") == []
    assert srv.counts["/robots.txt"] == 4  # robots fetch retried like any request, then cached
    assert fetcher.fetch(req(srv.url("/ok"))).outcome == "robots"
    assert srv.counts["/robots.txt"] == 4


def test_crawl_delay_raises_host_delay(servers):
    srv = servers(robots_body=b"User-agent: *\nCrawl-delay: 2\n")
    clock = FakeClock()
    sleep = FakeSleep(clock)
    with Fetcher(FetchOptions(host_delay=0.5), sleep=sleep, clock=clock) as f:
        assert f.fetch(req(srv.url("/ok"))).outcome == "ok"
        assert f.fetch(req(srv.url("/ok"))).outcome == "ok"
    # robots at t0, page 0.5 s later (Crawl-delay not known yet), then 2 s between pages
    assert sleep.calls == [0.5, 2.0]


# ---- politeness: per-host delay -------------------------------------------------------------------


def test_host_delay_between_request_starts(server):
    clock = FakeClock()
    sleep = FakeSleep(clock)
    with Fetcher(FetchOptions(host_delay=1.5, respect_robots=False), sleep=sleep, clock=clock) as f:
        results = f.fetch_many([req(server.url(f"/ok?d={i}")) for i in range(3)])
    assert [r.outcome for r in results] == ["ok"] * 3
    assert sleep.calls == [1.5, 1.5]


def test_host_delay_only_waits_the_remainder(server):
    clock = FakeClock()
    sleep = FakeSleep(clock)
    with Fetcher(FetchOptions(host_delay=1.0, respect_robots=False), sleep=sleep, clock=clock) as f:
        f.fetch(req(server.url("/ok?r=1")))
        clock.now += 0.75  # time spent elsewhere counts towards the delay
        f.fetch(req(server.url("/ok?r=2")))
        clock.now += 5
        f.fetch(req(server.url("/ok?r=3")))
    assert sleep.calls == [pytest.approx(0.25)]


@pytest.mark.parametrize(
    ("path", "what"),
    [("/pdf-as-html", "a PDF"), ("/random-as-html", "binary data"), ("/png-as-html", "a PNG image"),
     ("/zip-as-html", "a ZIP archive"), ("/jpeg-as-html", "a JPEG image"), ("/elf-as-html", "binary data")],
)
def test_binary_served_as_html_is_not_html(server, fetcher, path, what):
    result = fetcher.fetch(req(server.url(path)))
    assert result.outcome == "not_html" and what in result.error and "text/html" in result.error
    assert result.body is None


def test_a_few_stray_nuls_do_not_make_a_page_binary(server, fetcher):
    from wirehouse.tasks.extract import extract_article

    result = fetcher.fetch(req(server.url("/nul-html")))
    assert result.outcome == "ok", result.error
    assert result.body == NUL_PAGE   # stored as fetched
    article = extract_article(result.text, result.url)
    assert article is not None and "Beforeafter the stray byte." in article["text"]
    assert "\x00" not in article["text"] and "\ufffd" not in article["text"]


def test_declared_utf16_page_is_not_mistaken_for_binary(server, fetcher):
    result = fetcher.fetch(req(server.url("/utf16-as-html")))
    assert result.outcome == "ok" and "Grüße" in result.text


def test_sitemaps_get_the_protocol_cap_not_the_page_cap(server, fetcher):
    assert len(BIG_SITEMAP) > FAST.max_bytes
    assert fetcher.fetch(req(server.url("/big-sitemap.xml"), kind="sitemap")).outcome == "ok"
    assert fetcher.fetch(req(server.url("/big-sitemap.xml"), kind="feed")).outcome == "too_large"


# ---- address guard ---------------------------------------------------------------------------------


def test_loopback_blocked_without_allow_private(servers, sleep):
    srv = servers()
    with Fetcher(FAST, sleep=sleep) as f:
        result = f.fetch(req(srv.url("/ok"), allow_private=False))
    assert result.outcome == "blocked" and "loopback" in result.error
    assert result.status is None and result.attempts == 1
    assert srv.targets() == []  # not even robots.txt


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud-metadata"),
        ("169.254.1.1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_non_public_reason(address, reason):
    assert non_public_reason(address) == reason


@pytest.mark.parametrize("addresses", [["10.0.0.1"], ["192.168.0.7"], ["::ffff:127.0.0.1"], ["93.184.216.34", "10.0.0.1"]])
def test_guard_blocks_any_private_address_without_sending(addresses, sleep):
    adapter = FakeAdapter({"/a": (200, {"Content-Type": "text/html"}, OK_PAGE)})
    session = requests.Session()
    session.mount("http://public.test", adapter)
    with Fetcher(FAST, session=session, sleep=sleep, resolver=fake_resolver({"public.test": addresses})) as f:
        result = f.fetch(req("http://public.test/a", allow_private=False))
    assert result.outcome == "blocked", result.error
    assert addresses[-1] in result.error
    assert adapter.seen == []
    # allow_private lets loopback and private addresses through (the fake adapter answers; still no real traffic)
    with Fetcher(FAST, session=session, sleep=sleep, resolver=fake_resolver({"public.test": addresses})) as f:
        assert f.fetch(req("http://public.test/a", allow_private=True)).outcome == "ok"


METADATA_AND_LINK_LOCAL = ["169.254.169.254", "169.254.170.2", "169.254.7.7", "fe80::1", "fd00:ec2::254",
                           "100.100.100.200", "192.0.0.192", "::ffff:169.254.169.254"]


@pytest.mark.parametrize("address", METADATA_AND_LINK_LOCAL)
def test_link_local_and_metadata_refused_even_with_allow_private(address, sleep):
    adapter = FakeAdapter({"/a": (200, {"Content-Type": "text/html"}, OK_PAGE)})
    session = requests.Session()
    session.mount("http://public.test", adapter)
    resolver = fake_resolver({"public.test": ["10.0.0.1", address]})
    with Fetcher(FAST, session=session, sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req("http://public.test/a", allow_private=True))
    assert result.outcome == "blocked", result.error
    assert address in result.error and "even with allow_private_network" in result.error
    assert adapter.seen == []   # not even robots.txt


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/",
                                    "http://metadata.test/computeMetadata/v1/", "http://[fe80::1]:8080/"])
def test_redirect_from_an_opted_in_site_to_metadata_is_refused(servers, sleep, target):
    from urllib.parse import quote

    srv = servers()
    resolver = fake_resolver({"metadata.test": ["169.254.169.254"]})
    with Fetcher(FAST, sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req(srv.url("/redirect-to?u=" + quote(target, safe="")), allow_private=True))
    assert result.outcome == "blocked" and "allow_private_network" in result.error, result.error
    assert result.redirects == [fetch_mod.normalize_url(target)]


def test_peer_check_refuses_metadata_even_with_allow_private(servers, sleep, monkeypatch):
    # The resolver said loopback (allowed), but the connection landed on the metadata service.
    srv = servers()
    monkeypatch.setattr(guard_mod, "peer_address", lambda resp: "169.254.169.254")
    with Fetcher(FetchOptions(host_delay=0, respect_robots=False), sleep=sleep) as f:
        result = f.fetch(req(srv.url("/ok"), allow_private=True))
    assert result.outcome == "blocked" and "connected to cloud-metadata address 169.254.169.254" in result.error
    assert result.body is None


def test_guard_allows_public_address(sleep):
    adapter = FakeAdapter({"/a": (200, {"Content-Type": "text/html"}, OK_PAGE)})
    session = requests.Session()
    session.mount("http://public.test", adapter)
    resolver = fake_resolver({"public.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})
    with Fetcher(FAST, session=session, sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req("http://public.test/a", allow_private=False))
    assert result.outcome == "ok", result.error
    assert adapter.seen == ["http://public.test/robots.txt", "http://public.test/a"]


@pytest.mark.parametrize(
    "host",
    ["2130706433", "017700000001", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.1", "localhost",
     "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:7f00:1]"],
)
def test_loopback_in_any_spelling_is_blocked_with_the_real_resolver(servers, sleep, host):
    # Decimal, octal and hex literals, short forms, names and IPv4-mapped IPv6 all reach 127.0.0.1.
    srv = servers()
    port = srv.port
    with Fetcher(FAST, sleep=sleep) as f:
        result = f.fetch(req(f"http://{host}:{port}/ok", allow_private=False))
    assert result.outcome == "blocked" and "loopback" in result.error, result.error
    assert srv.targets() == []


@pytest.mark.parametrize("target", ["http://2130706433:{port}/ok", "http://[::ffff:127.0.0.1]:{port}/ok", "http://0x7f.1:{port}/ok"])
def test_redirect_to_a_literal_loopback_spelling_is_blocked(servers, sleep, target):
    srv = servers()
    adapter = FakeAdapter({"/go": (301, {"Location": target.format(port=srv.port)}, b"")})
    session = requests.Session()
    session.mount("http://public.test", adapter)
    with Fetcher(FAST, session=session, sleep=sleep, resolver=fake_resolver({"public.test": ["93.184.216.34"]})) as f:
        result = f.fetch(req("http://public.test/go", allow_private=False))
    assert result.outcome == "blocked" and "loopback" in result.error, result.error
    assert srv.targets() == []


def test_redirect_from_public_host_to_loopback_is_blocked(servers, sleep):
    srv = servers()
    adapter = FakeAdapter({"/go": (302, {"Location": srv.url("/ok")}, b"")})
    session = requests.Session()
    session.mount("http://public.test", adapter)
    resolver = fake_resolver({"public.test": ["93.184.216.34"]})
    with Fetcher(FAST, session=session, sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req("http://public.test/go", allow_private=False))
    assert result.outcome == "blocked" and "loopback" in result.error, result.error
    assert result.final_url == srv.url("/ok") and result.redirects == [srv.url("/ok")]
    assert "http://public.test/go" in adapter.seen
    assert srv.targets() == []


def test_dns_rebinding_peer_check(servers, sleep):
    # The resolver claims a public address, but the connection lands on loopback.
    srv = servers()
    resolver = fake_resolver({"127.0.0.1": ["93.184.216.34"]})
    with Fetcher(FetchOptions(host_delay=0, respect_robots=False), sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req(srv.url("/ok"), allow_private=False))
    assert result.outcome == "blocked" and "connected to loopback" in result.error
    assert result.body is None


def test_dns_failure_is_an_error(sleep):
    def resolver(*args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with Fetcher(FAST, sleep=sleep, resolver=resolver) as f:
        result = f.fetch(req("http://nowhere.invalid/", allow_private=False))
    assert result.outcome == "error" and "DNS" in result.error and result.attempts == 1


# ---- invalid input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [("ftp://example.com/file", "unsupported scheme"), ("file:///etc/passwd", "unsupported scheme"),
     ("javascript:alert(1)", "unsupported scheme"), ("not a url", "invalid URL"), ("http://", "invalid URL"),
     ("http://ex ample.com/", "invalid URL")],
)
def test_non_http_urls_are_refused_unsent(url, reason, fetcher):
    result = fetcher.fetch(req(url))
    assert result.outcome == "invalid_url" and result.error and result.attempts == 0
    assert result.note == reason   # fetch_log's reason
    assert result.url == url and result.source == "test"


def test_unknown_kind_is_an_error(server, fetcher):
    assert fetcher.fetch(req(server.url("/ok"), kind="video")).outcome == "error"


# ---- batches -----------------------------------------------------------------------------------------


def test_fetch_many_order_and_host_grouping(servers, sleep):
    a = servers()
    b = servers(host="127.0.0.2")
    urls = [a.url("/slow?n=1"), b.url("/slow?n=1"), "ftp://bad/", a.url("/404"), b.url("/slow?n=2"),
            a.url("/slow?n=2"), b.url("/pdf"), a.url("/slow?n=3")]
    before = {t.name for t in threading.enumerate()}
    started = time.monotonic()
    with Fetcher(FetchOptions(host_delay=0, workers=4), sleep=sleep) as f:
        results = f.fetch_many([req(u) for u in urls])
    elapsed = time.monotonic() - started
    assert [r.url for r in results] == urls
    assert [r.outcome for r in results] == ["ok", "ok", "invalid_url", "error", "ok", "ok", "not_html", "ok"]
    for srv in (a, b):  # one host is sequential: each request starts after the slow one answered
        slow = [r.time for r in srv.requests if r.target.startswith("/slow")]
        assert all(later - earlier >= 0.29 for earlier, later in zip(slow, slow[1:])), slow
    assert elapsed < 1.6  # hosts ran in parallel: 3 x 0.3 s each, not 5 x 0.3 s in a row
    assert a.targets("/slow") == ["/slow?n=1", "/slow?n=2", "/slow?n=3"]  # in input order per host
    leftover = {t.name for t in threading.enumerate()} - before
    assert not [n for n in leftover if n.startswith("wirehouse-fetch")]


def test_fetch_many_empty_and_single_worker(server, sleep):
    with Fetcher(FetchOptions(host_delay=0, workers=1), sleep=sleep) as f:
        assert f.fetch_many([]) == []
        results = f.fetch_many([req(server.url("/ok?w=1")), req(server.url("/404"))])
    assert [r.outcome for r in results] == ["ok", "error"]


def test_fetch_batch_and_task(server):
    opts = FetchOptions(host_delay=0)
    results = fetch_batch([req(server.url("/ok?b=1")), req(server.url("/pdf"))], opts)
    assert [r.outcome for r in results] == ["ok", "not_html"]
    assert fetch_task.name == "fetch" and fetch_task.retries == 0
    assert fetch_task.cache_policy is NO_CACHE
    results = fetch_task.fn([req(server.url("/ok?b=2"))], opts)
    assert results[0].outcome == "ok"


def test_fetch_never_raises_on_internal_error(server, fetcher, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(fetch_mod, "decode_body", boom)
    result = fetcher.fetch(req(server.url("/ok")))
    assert result.outcome == "error" and "boom" in result.error and "\n" not in result.error


def test_set_host_delay_raises_delay_for_that_host_only():
    slept = []
    clock = [0.0]
    fetcher = Fetcher(FetchOptions(host_delay=0.0), sleep=slept.append, clock=lambda: clock[0])
    fetcher.set_host_delay("slow.example", 2.0)
    fetcher._wait_for_host("slow.example")
    fetcher._wait_for_host("slow.example")
    fetcher._wait_for_host("fast.example")
    fetcher._wait_for_host("fast.example")
    assert slept == [2.0]


def test_logs_never_show_url_credentials_or_tokens(caplog, sleep):
    """A failing fetch is retried and logged; the URL's userinfo and token never reach the logs."""
    import logging

    import dataclasses

    options = dataclasses.replace(FAST, respect_robots=False, retries=1)
    with caplog.at_level(logging.DEBUG, logger="wirehouse.tasks.fetch"), Fetcher(options, sleep=sleep) as f:
        result = f.fetch(req("http://alice:s3cret@127.0.0.1:9/brief?token=T0KEN&id=1"))
    assert result.outcome == "error" and result.attempts == 2
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "retrying http://127.0.0.1:9/brief?id=1&token=***" in text   # logged, redacted
    for secret in ("alice", "s3cret", "T0KEN"):
        assert secret not in text
