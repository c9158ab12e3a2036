"""Fetch stage: polite, bounded, SSRF-guarded HTTP fetching of news pages, feeds and sitemaps.

The core is plain Python (`Fetcher`, `fetch_batch`); `fetch_task` is a thin Prefect wrapper.

Every `FetchRequest` yields exactly one `FetchResult`; network, HTTP and content problems become
an ``outcome`` (see `OUTCOMES`) with a one-line ``error`` instead of an exception.

Errors are sorted Meltano-SDK style into *retriable* (connection errors, timeouts, the
per-response deadline, 429 and 500/502/503/504) which are retried with exponential backoff and
full jitter (honouring ``Retry-After``), and *fatal* (everything else) which end the fetch at once.

Decisions worth knowing:

* robots.txt: 2xx is parsed, 4xx means "no robots.txt" (allow all), 5xx or unreachable means
  disallow all for this Fetcher's lifetime (conservative; outcome ``robots``, error says the
  robots.txt is unavailable). The answer is cached per scheme+host+port.
  ``Crawl-delay`` raises the host delay, capped at `MAX_CRAWL_DELAY`.
* Threads: one `requests.Session` is shared by all worker threads. Each host is fetched by one
  thread at a time; urllib3's pool manager is thread-safe and the session's configuration is
  never mutated after construction. ``trust_env`` is off so environment proxies and .netrc
  cannot route around the address guard.
* Address guard: the host is resolved with the injected resolver and refused if any address is
  not public. A source's ``allow_private_network`` lifts that for loopback and private addresses,
  never for link-local and cloud-metadata ones (`always_refused_reason`). Known limit: DNS rebinding between our check and urllib3's own resolution. It is
  mitigated (not prevented) by checking the connected peer's address once headers arrive: the
  request has then been sent, but no body is read and the outcome is ``blocked``.
* The deadline is checked between reads, so it can overshoot by at most one read timeout.
  Exceeding it is fatal, not retried: a server that slow is slow again, and every retry would
  hold the host's worker for another full deadline. (Connect/read timeouts are retried.)
* Undeclared, non-UTF-8 text whose detected charset is a Latin code page is decoded as
  windows-1252 (the browsers' default); detection cannot tell those apart on short texts.
  A declared charset that fails on over 10% of the non-ASCII bytes gives way to a later
  declaration or to detection, and the result's ``note`` says so (a stray bad byte does not).
* Bodies served as HTML are binary by their magic bytes or by a share of control bytes, not by
  any NUL: CMS bugs leave stray NULs in real pages (extraction strips them).
* URLs that are no http(s) URL are refused unsent (outcome ``invalid_url``, ``note`` the reason).
* Results of refusals and errors carry the request's own validators (etag, last_modified),
  so the next run can still make a conditional GET.
"""

from __future__ import annotations

import codecs
import contextvars
import email.utils
import ipaddress
import logging
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import requests
import urllib3.exceptions
import urllib3.response
from prefect import task
from prefect.cache_policies import NO_CACHE
from requests.adapters import HTTPAdapter

from wirehouse import stopping
from wirehouse.urls import InvalidURL, normalize_url, redact_url, url_host

logger = logging.getLogger(__name__)

OUTCOMES = ("ok", "not_modified", "error", "blocked", "robots", "too_large", "not_html", "invalid_url")
KINDS = ("page", "feed", "sitemap", "listing")

try:
    from importlib.metadata import PackageNotFoundError, version as _dist_version

    VERSION = _dist_version("wirehouse")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.1.0"

ROBOTS_AGENT = "wirehouse"  # token matched against robots.txt User-agent lines
CHUNK_SIZE = 64 * 1024
SNIFF_BYTES = 4096  # where <meta charset> and the XML declaration must appear
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads at most 500 KiB of robots.txt
MAX_CRAWL_DELAY = 30.0  # a huge Crawl-delay would stall a worker for the whole run
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
XML_TYPES = frozenset(
    {
        "application/rss+xml", "application/atom+xml", "application/xml", "text/xml",
        "application/rdf+xml", "text/plain", "text/html", "application/xhtml+xml",
    }
)
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "listing": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.1",
}

# WHATWG maps these labels to windows-1252; real pages labelled latin-1 use cp1252 punctuation.
_CP1252_ALIASES = frozenset(
    {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso_8859-1", "l1", "ascii", "us-ascii",
     "iso-ir-100", "cp819", "ibm819", "csisolatin1", "x-cp1252", "windows-1252", "cp1252"}
)
_LATIN_GUESSES = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin-1", "mac-roman", "mac-latin2", "mac-iceland",
     "cp437", "cp850", "cp858"} | {f"iso8859-{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)}
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.I)
_HTML_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|title|meta|script|div|p)[\s>/]", re.I | re.S)
_XML_SNIFF = re.compile(rb"^\s*<(\?xml|rss|feed|rdf:rdf|urlset|sitemapindex)[\s>]", re.I)
_BINARY_MAGIC = (
    (b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP archive"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"\x1f\x8b", "gzip data"), (b"RIFF", "a RIFF file"), (b"ID3", "an MP3 file"),
)
# Binary sniffing: the share of C0 control bytes in the first BINARY_SAMPLE bytes. Text never holds
# them but for a stray NUL or two (CMS bugs); random or compressed bytes hold ~9%. TAB, LF, FF, CR
# and ESC/SO/SI (ISO-2022 encodings switch with them) are text.
BINARY_SAMPLE = 64 * 1024
MAX_CONTROL_SHARE = 0.02
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {0x09, 0x0A, 0x0C, 0x0D, 0x0E, 0x0F, 0x1B}))
MAX_UNDECODABLE_SHARE = 0.1  # of the non-ASCII bytes; a page in another charset fails on nearly all
_ASCII_BYTES = bytes(range(128))
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what errors="surrogateescape" makes of a byte that does not decode
_URL_IN_TEXT = re.compile(r"https?://[^\s'\")<>]+")
# Cloud instance metadata services (credentials): AWS/GCP/Azure/OpenStack, AWS ECS tasks, AWS over
# IPv6, Alibaba Cloud, Oracle Cloud. Refused even for sources with allow_private_network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class FetchOptions:
    """How politely, patiently and how much to fetch."""

    contact_url: str = "https://github.com/wirehouse/wirehouse"
    user_agent: str | None = None  # default "wirehouse/<version> (+<contact_url>)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0  # total seconds per response, body included
    max_bytes: int = 5_000_000  # cap on the decompressed body of a page, feed or listing
    max_sitemap_bytes: int = 50_000_000  # the sitemap protocol's own limit, decompressed
    max_redirects: int = 5
    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    host_delay: float = 1.0  # seconds between request starts to the same host
    respect_robots: bool = True
    workers: int = 4  # hosts fetched in parallel; one host is always sequential
    page_text: bool = True  # decode page bodies here; the ingest flow decodes in its transform workers

    def agent(self) -> str:
        return self.user_agent or f"wirehouse/{VERSION} (+{self.contact_url})"


@dataclass
class FetchRequest:
    """One URL to fetch; ``kind`` decides which content types are acceptable."""

    url: str  # normalized
    source: str
    kind: str = "page"  # "page" | "feed" | "sitemap" | "listing"
    allow_private: bool = False
    etag: str | None = None  # validators from the previous run, for a conditional GET
    last_modified: str | None = None


@dataclass
class FetchResult:
    """What happened to one `FetchRequest`; ``body``/``text`` are set only when outcome is ok."""

    url: str
    final_url: str
    source: str
    kind: str
    outcome: str
    status: int | None
    error: str | None
    content_type: str | None
    encoding: str | None
    body: bytes | None
    text: str | None
    etag: str | None
    last_modified: str | None
    bytes: int
    elapsed: float
    fetched_at: datetime
    attempts: int
    redirects: list[str] = field(default_factory=list)
    # fetch_log's reason: what discovery made of a feed, sitemap or listing; why a URL was not
    # fetched (invalid_url); how a page was decoded when its declared charset was wrong.
    note: str | None = None


class _Fatal(Exception):
    """Stop now with this outcome; retrying would not help."""

    def __init__(self, outcome: str, error: str, status: int | None = None, content_type: str | None = None) -> None:
        super().__init__(error)
        self.outcome, self.error, self.status, self.content_type = outcome, error, status, content_type
        self.final_url: str | None = None  # where it stopped, set by the redirect loop
        self.redirects: list[str] = []


@dataclass(frozen=True)
class _HostDown:
    """robots.txt got no HTTP answer at all: the host is down or unreachable."""

    error: str


class _Retriable(Exception):
    """Worth another try after a backoff (or the server's Retry-After)."""

    def __init__(self, error: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.retry_after = error, status, retry_after


@dataclass
class _Body:
    status: int
    final_url: str
    content_type: str | None  # media type only, lowercased
    charset: str | None  # from the Content-Type header
    data: bytes
    etag: str | None
    last_modified: str | None
    redirects: list[str]


class Fetcher:
    """Fetches URLs politely: robots.txt, per-host delay, retries, size/time caps, address guard.

    Args:
        options: settings shared by every fetch.
        session: a `requests.Session` to use (closed by `close` only if we created it).
        resolver: ``getaddrinfo``-compatible function used by the address guard.
        sleep: called for every wait (host delay, backoff), so tests need not wait.
        clock: monotonic clock for delays, deadlines and ``elapsed``.
    """

    def __init__(
        self,
        options: FetchOptions = FetchOptions(),
        session: requests.Session | None = None,
        resolver: Callable[..., list] = socket.getaddrinfo,
        sleep: Callable[[float], None] = stopping.sleep,   # a stop cuts every wait short
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self._own_session = session is None
        self.session = session if session is not None else _make_session(options)
        self._resolver = resolver
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()
        self._lock = threading.Lock()
        self._next_start: dict[str, float] = {}  # host -> earliest start of the next request
        self._host_delay: dict[str, float] = {}  # host -> delay raised by Crawl-delay
        self._robots: dict[str, RobotFileParser | str] = {}  # origin -> parser or failure text
        self._robots_locks: dict[str, threading.Lock] = {}

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (only of a session this Fetcher created)."""
        if self._own_session:
            self.session.close()

    # ---- public entry points -------------------------------------------------------------

    def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one URL.

        Args:
            request: what to fetch, with validators from the previous run.

        Returns:
            The result; never raises for network, HTTP or content problems.
        """
        started = self._clock()
        fetched_at = datetime.now(timezone.utc)
        attempts = 0
        url = request.url

        def result(outcome: str, error: str | None, status: int | None = None, body: _Body | None = None,
                   text: str | None = None, encoding: str | None = None, fatal: _Fatal | None = None) -> FetchResult:
            ok = outcome == "ok"
            final_url = body.final_url if body else (fatal.final_url if fatal and fatal.final_url else url)
            redirects = body.redirects if body else (fatal.redirects if fatal else [])
            content_type = body.content_type if body else (fatal.content_type if fatal else None)
            logger.debug("%s %s: %s%s", request.kind, redact_url(request.url), outcome, f" ({redact(error)})" if error else "")
            return FetchResult(
                url=request.url, final_url=final_url, source=request.source,
                kind=request.kind, outcome=outcome, status=body.status if body else status, error=error,
                content_type=content_type, encoding=encoding if ok else None,
                body=body.data if body and ok else None,
                text=text if ok and (request.kind != "page" or self.options.page_text) else None,
                etag=(body.etag if body else None) or request.etag,
                last_modified=(body.last_modified if body else None) or request.last_modified,
                bytes=len(body.data) if body else 0, elapsed=self._clock() - started,
                fetched_at=fetched_at, attempts=attempts, redirects=list(redirects),
            )

        try:
            if stopping.requested():   # a stopped run starts no more downloads
                return result("error", "not fetched: the run was stopped")
            if request.kind not in KINDS:
                return result("error", f"unknown kind {request.kind!r}")
            try:
                url = normalize_url(request.url)
            except InvalidURL as exc:  # never sent: a refusal, like robots, not a failure
                refused = result("invalid_url", _one_line(str(exc)))
                refused.note = exc.reason
                return refused
            retries = max(0, self.options.retries)
            while True:
                attempts += 1
                try:
                    body = self._attempt(request, url)
                except _Fatal as exc:
                    return result(exc.outcome, exc.error, exc.status, fatal=exc)
                except _Retriable as exc:
                    if attempts > retries:
                        suffix = f" after {attempts} attempts" if attempts > 1 else ""
                        return result("error", exc.error + suffix, exc.status)
                    delay = self._backoff(attempts, exc.retry_after)
                    logger.info("retrying %s in %.2fs (%s)", redact_url(url), delay, redact(exc.error))
                    self._sleep(delay)
                    continue
                if body.status == 304:
                    return result("not_modified", None, body=body)
                try:
                    data, text, encoding, note = _decode_body(body, request.kind, self._byte_cap(request.kind))
                except _Fatal as exc:
                    return result(exc.outcome, exc.error, body=body)
                body.data = data
                done = result("ok", None, body=body, text=text, encoding=encoding)
                if note:
                    logger.info("%s %s: %s", request.kind, redact_url(url), note)
                    done.note = note
                return done
        except Exception as exc:  # contract: one result per request, even on a bug
            logger.error("unexpected error fetching %s: %s", redact_url(url), redact(f"{type(exc).__name__}: {exc}"))
            logger.debug("traceback of the unexpected error", exc_info=True)
            return result("error", _one_line(f"internal error: {type(exc).__name__}: {exc}"))

    def fetch_many(self, requests: list[FetchRequest]) -> list[FetchResult]:
        """Fetch many URLs: hosts in parallel, each host sequentially with the host delay.

        Args:
            requests: what to fetch.

        Returns:
            One result per request, in input order.
        """
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(url_host(request.url) if isinstance(request.url, str) else "", []).append(index)
        results: list[FetchResult | None] = [None] * len(requests)

        def run(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = self.fetch(requests[index])

        if not groups:
            return []
        workers = max(1, min(self.options.workers, len(groups)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wirehouse-fetch") as pool:
            # Each thread runs in a copy of this context, so its log records reach the Prefect run's logs.
            for future in [pool.submit(contextvars.copy_context().run, run, indexes) for indexes in groups.values()]:
                future.result()
        return results  # type: ignore[return-value] - fetch() fills every slot

    # ---- one attempt: follow redirects, read the body ----------------------------------------

    def _byte_cap(self, kind: str) -> int:
        return self.options.max_sitemap_bytes if kind == "sitemap" else self.options.max_bytes

    def _attempt(self, request: FetchRequest, url: str) -> _Body:
        """One try: follow redirects by hand, checking every hop like the first URL."""
        hops: list[str] = []
        try:
            return self._follow(request, url, hops)
        except _Fatal as exc:
            exc.final_url, exc.redirects = (hops[-1] if hops else url), list(hops)  # where it stopped
            raise

    def _follow(self, request: FetchRequest, url: str, redirects: list[str]) -> _Body:
        seen = {url}
        current = url
        headers = {"Accept": ACCEPT[request.kind]}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        while True:
            self._guard(current, request.allow_private)
            if self.options.respect_robots:
                self._check_robots(current, request.allow_private)
            status, location, body = self._get(current, headers, request.allow_private, self._byte_cap(request.kind),
                                               read_body=lambda resp: _acceptable_early(resp, request.kind))
            if location is None:
                body.final_url = current
                body.redirects = list(redirects)
                return body
            if len(redirects) >= self.options.max_redirects:
                raise _Fatal("error", f"too many redirects (more than {self.options.max_redirects})", status)
            try:
                target = normalize_url(location, base=current)
            except InvalidURL:
                raise _Fatal("error", _one_line(f"redirect to a non-http(s) URL: {location}"), status) from None
            if target in seen:
                raise _Fatal("error", f"redirect loop at {target}", status)
            seen.add(target)
            redirects.append(target)
            current = target

    def _get(self, url: str, headers: dict[str, str], allow_private: bool, max_bytes: int,
             read_body: Callable[[requests.Response], None] | None = None) -> tuple[int, str | None, _Body]:
        """One HTTP GET; returns (status, redirect location or None, body)."""
        self._wait_for_host(url_host(url))
        opts = self.options
        started = self._clock()
        try:
            resp = self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                    timeout=(opts.connect_timeout, opts.read_timeout))
        except requests.exceptions.SSLError as exc:
            raise _Fatal("error", _one_line(f"TLS error: {exc}")) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise _Retriable(_one_line(f"{type(exc).__name__}: {_short_exc(exc)}")) from None
        except requests.exceptions.RequestException as exc:
            raise _Fatal("error", _one_line(f"{type(exc).__name__}: {exc}")) from None
        with resp:
            self._check_peer(resp, url, allow_private)
            status = resp.status_code
            if status in REDIRECT_STATUSES:
                location = resp.headers.get("Location")
                if not location:
                    raise _Fatal("error", f"HTTP {status} without a Location header", status)
                return status, location, _Body(status, url, None, None, b"", None, None, [])
            if status in RETRY_STATUSES:
                retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
                raise _Retriable(f"HTTP {status}", status, retry_after)
            if status == 304:
                return status, None, _Body(status, url, None, None, b"", resp.headers.get("ETag"),
                                           resp.headers.get("Last-Modified"), [])
            if not 200 <= status < 300:
                raise _Fatal("error", f"HTTP {status}" + (f" {resp.reason}" if resp.reason else ""), status)
            media_type, charset = _parse_content_type(resp.headers.get("Content-Type"))
            if read_body is not None:
                try:
                    read_body(resp)
                except _Fatal as exc:
                    exc.status = status
                    raise
            length = resp.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise _Fatal("too_large", f"Content-Length {int(length)} exceeds {max_bytes} bytes", status)
            data = self._read(resp, started, max_bytes, status)
            return status, None, _Body(status, url, media_type, charset, data, resp.headers.get("ETag"),
                                       resp.headers.get("Last-Modified"), [])

    def _read(self, resp: requests.Response, started: float, max_bytes: int, status: int) -> bytes:
        """Read the decompressed body in chunks, enforcing the size cap and the deadline."""
        raw = resp.raw
        # read1 returns as soon as some (decoded, bounded) data is available, so the deadline is
        # checked even while a server drips bytes; iter_content would block for a full chunk.
        read = None
        if isinstance(raw, urllib3.response.BaseHTTPResponse):
            read = lambda: raw.read1(CHUNK_SIZE, decode_content=True)  # noqa: E731
        chunks = resp.iter_content(CHUNK_SIZE) if read is None else iter(read, b"")
        parts: list[bytes] = []
        total = 0
        try:
            for chunk in chunks:
                total += len(chunk)
                if total > max_bytes:
                    raise _Fatal("too_large", f"body exceeds {max_bytes} bytes (decompressed)", status)
                parts.append(chunk)
                if stopping.requested():   # an in-flight download is abandoned, not finished
                    raise _Fatal("error", "download abandoned: the run was stopped", status)
                if self._clock() - started > self.options.deadline:
                    # Fatal on purpose: a server this slow is slow again, and each retry would hold
                    # the host's worker for another full deadline.
                    raise _Fatal("error", f"deadline of {self.options.deadline:g}s exceeded while reading the body", status)
        # read1 raises urllib3's exceptions, iter_content wraps them in requests' ones.
        except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError) as exc:
            raise _Fatal("error", _one_line(f"cannot decode the body: {_short_exc(exc)}"), status) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Retriable(_one_line(f"{type(exc).__name__} while reading the body: {_short_exc(exc)}"), status) from None
        return b"".join(parts)

    # ---- politeness ----------------------------------------------------------------------------

    def set_host_delay(self, host: str, seconds: float) -> None:
        """Raise the delay between requests to one host (a source's own politeness setting)."""
        with self._lock:
            self._host_delay[host.lower()] = max(self._host_delay.get(host.lower(), 0.0), seconds)

    def _wait_for_host(self, host: str) -> None:
        """Sleep until ``host_delay`` (or Crawl-delay) has passed since the last start to ``host``."""
        with self._lock:
            delay = max(self.options.host_delay, self._host_delay.get(host, 0.0))
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            # Reserve the slot under the lock so concurrent callers queue up instead of colliding.
            self._next_start[host] = start + delay
        if start > now:
            self._sleep(start - now)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        opts = self.options
        if retry_after is not None:
            return min(max(retry_after, 0.0), opts.retry_after_max)
        ceiling = min(opts.backoff_max, opts.backoff_base * (2 ** (attempt - 1)))
        return self._random.uniform(0.0, ceiling)  # full jitter

    def _check_robots(self, url: str, allow_private: bool) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one robots.txt fetch per origin, even with concurrent callers
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin, allow_private)
        rules = self._robots[origin]
        if isinstance(rules, _HostDown):
            raise _Fatal("error", rules.error)
        if isinstance(rules, str):
            raise _Fatal("robots", rules)
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise _Fatal("robots", f"disallowed by {origin}/robots.txt")

    def _load_robots(self, origin: str, allow_private: bool) -> RobotFileParser | str | _HostDown:
        """Fetch and parse robots.txt; a string means "unavailable, disallow everything", `_HostDown`
        that the host never answered (its pages are errors, tried again next run, not refusals)."""
        robots_url = origin + "/robots.txt"
        parser = RobotFileParser(robots_url)
        current, seen, attempts = robots_url, {robots_url}, 0
        while True:
            try:
                self._guard(current, allow_private)
                status, location, body = self._get(current, {"Accept": "text/plain,*/*;q=0.1"}, allow_private,
                                                   ROBOTS_MAX_BYTES)
            except _Retriable as exc:
                attempts += 1
                if attempts > max(0, self.options.retries):
                    if exc.status is None:
                        suffix = f" after {attempts} attempts" if attempts > 1 else ""
                        return _HostDown(_one_line(f"host unreachable: robots.txt: {exc.error}{suffix}"))
                    return _one_line(f"robots.txt unavailable ({exc.error})")
                self._sleep(self._backoff(attempts, exc.retry_after))
                continue
            except _Fatal as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    parser.allow_all = True  # no robots.txt: everything is allowed
                    return parser
                if exc.outcome == "too_large":  # Google's rule: use what fits; we allow all
                    parser.allow_all = True
                    return parser
                return _one_line(f"robots.txt unavailable ({exc.error})")
            if location is None:
                break
            try:
                current = normalize_url(location, base=current)
            except InvalidURL:
                return _one_line(f"robots.txt unavailable (redirect to {location})")
            if current in seen or len(seen) > self.options.max_redirects:
                return "robots.txt unavailable (redirect loop)"
            seen.add(current)
        if status == 304:
            parser.allow_all = True
            return parser
        parser.parse(body.data.decode("utf-8", errors="replace").splitlines())
        parser.modified()  # can_fetch refuses everything until last_checked is set
        delay = parser.crawl_delay(ROBOTS_AGENT)
        if delay:
            try:
                crawl_delay = min(float(delay), MAX_CRAWL_DELAY)
            except ValueError:
                crawl_delay = 0.0
            host = url_host(origin)
            with self._lock:
                self._host_delay[host] = max(self._host_delay.get(host, 0.0), crawl_delay)
        return parser

    # ---- address guard -------------------------------------------------------------------------

    def _guard(self, url: str, allow_private: bool) -> None:
        """Refuse (outcome blocked) when the host resolves to any non-public address; with
        ``allow_private``, still when it resolves to a link-local or cloud-metadata one."""
        host = url_host(url).strip("[]")
        port = urlsplit(url).port or (443 if url.startswith("https:") else 80)
        try:
            infos = self._resolver(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if allow_private:
                return  # as before the opt-in was checked here: the connection attempt reports it
            if exc.errno == socket.EAI_AGAIN:
                raise _Retriable(_one_line(f"DNS lookup for {host} failed temporarily: {exc}")) from None
            raise _Fatal("error", _one_line(f"DNS lookup for {host} failed: {exc}")) from None
        except (OSError, UnicodeError) as exc:
            if allow_private:
                return
            raise _Fatal("error", _one_line(f"DNS lookup for {host} failed: {exc}")) from None
        if not infos and not allow_private:
            raise _Fatal("error", f"DNS lookup for {host} returned no address")
        for info in infos:
            address = str(info[4][0])
            reason = _refusal(address, allow_private)
            if reason:
                raise _Fatal("blocked", f"{host} resolves to {reason}")

    def _check_peer(self, resp: requests.Response, url: str, allow_private: bool) -> None:
        """Mitigate DNS rebinding: the address we actually connected to must be allowed, too."""
        if self.session.proxies:
            return  # the peer is the proxy, not the site
        peer = _peer_address(resp)
        reason = _refusal(peer, allow_private) if peer else None
        if reason:
            raise _Fatal("blocked", f"{url_host(url)} connected to {reason}")


def non_public_reason(address: str) -> str | None:
    """Why an IP address must not be fetched (e.g. "private"), or None when it is public.

    Args:
        address: an IPv4 or IPv6 address, optionally with an IPv6 zone (``fe80::1%eth0``).

    Returns:
        A short adjective, or None for a globally routable unicast address.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unparseable"
    always = always_refused_reason(address)
    if always:
        return always
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            reason = non_public_reason(str(embedded))
            if reason:
                return reason
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10 shared address space
        return "non-global"
    return None


def always_refused_reason(address: str) -> str | None:
    """Why an address is refused even for a source with ``allow_private_network``: cloud metadata
    services (`METADATA_ADDRESSES`) and link-local addresses (169.254.0.0/16, fe80::/10), where
    credentials live and no news site does. The opt-in is for loopback and LAN sites.

    Args:
        address: an IPv4 or IPv6 address, optionally with an IPv6 zone.

    Returns:
        "cloud-metadata", "link-local", or None.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    forms = [ip]
    if isinstance(ip, ipaddress.IPv6Address):  # the same address wrapped: ::ffff:169.254.169.254, 6to4, Teredo
        forms += [a for a in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None) if a is not None]
    if any(form in METADATA_ADDRESSES for form in forms):
        return "cloud-metadata"
    if any(form.is_link_local for form in forms):
        return "link-local"
    return None


def _refusal(address: str, allow_private: bool) -> str | None:
    """The guard's one-line reason to refuse an address, or None to allow it."""
    if allow_private:
        reason = always_refused_reason(address)
        return f"{reason} address {address}, refused even with allow_private_network" if reason else None
    reason = non_public_reason(address)
    return f"{reason} address {address}" if reason else None


def fetch_batch(requests: list[FetchRequest], options: FetchOptions = FetchOptions(),
                fetcher: Fetcher | None = None) -> list[FetchResult]:
    """Fetch a batch with `Fetcher.fetch_many`.

    Args:
        requests: what to fetch.
        options: settings, used when ``fetcher`` is not given.
        fetcher: an existing Fetcher (keeps its robots cache and host timing); not closed here.

    Returns:
        One result per request, in input order.
    """
    if fetcher is not None:
        return fetcher.fetch_many(requests)
    with Fetcher(options) as own:
        return own.fetch_many(requests)


# ---- private helpers ---------------------------------------------------------------------------


def _make_session(options: FetchOptions) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # env proxies would bypass the address guard; .netrc would leak creds
    session.headers["User-Agent"] = options.agent()
    # Retries are ours; pool sized so each worker keeps its host's connection alive.
    adapter = HTTPAdapter(max_retries=0, pool_connections=max(10, options.workers * 2), pool_maxsize=2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _peer_address(resp: requests.Response) -> str | None:
    """The IP address the response came from, when the socket is still reachable.

    There is no public API for this: try urllib3's connection, then (when http.client already
    detached the socket from a "Connection: close" response) the response's own socket.
    """
    raw = resp.raw
    candidates = (
        lambda: raw._connection.sock,  # noqa: SLF001
        lambda: raw._fp.fp.raw._sock,  # noqa: SLF001
    )
    for get_sock in candidates:
        try:
            sock = get_sock()
            if sock is not None:
                return str(sock.getpeername()[0])
        except Exception:
            continue
    return None


def _acceptable_early(resp: requests.Response, kind: str) -> None:
    """Refuse unwanted content types before reading the body (missing type: decided later)."""
    media_type, _ = _parse_content_type(resp.headers.get("Content-Type"))
    if media_type and not _type_ok(media_type, kind, resp.url or ""):
        raise _Fatal("not_html", f"content type {media_type} is not acceptable for a {kind}", content_type=media_type)


def _type_ok(media_type: str, kind: str, url: str) -> bool:
    if kind in ("page", "listing"):
        return media_type in HTML_TYPES
    if media_type in XML_TYPES or media_type.endswith("+xml"):
        return True
    # gzip sitemaps are served under assorted binary types
    return kind == "sitemap" and media_type in GZIP_TYPES


def _decode_body(body: _Body, kind: str, max_bytes: int) -> tuple[bytes, str, str, str | None]:
    """Check the content type (sniffing when missing), un-gzip sitemaps and decode to text.

    Returns:
        (body, text, codec, note on a declared charset that was not used, or None).
    """
    data = body.data
    if body.content_type is None:
        head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf")
        looks_html = bool(_HTML_SNIFF.match(head))
        looks_xml = bool(_XML_SNIFF.match(head)) or head.startswith(b"\x1f\x8b")
        if not (looks_html if kind in ("page", "listing") else looks_html or looks_xml):
            raise _Fatal("not_html", f"no content type and the body does not look like {kind} markup")
    elif not _type_ok(body.content_type, kind, body.final_url):
        raise _Fatal("not_html", f"content type {body.content_type} is not acceptable for a {kind}")
    elif kind in ("page", "listing"):
        binary = _binary_signature(data, body.charset)
        if binary:
            raise _Fatal("not_html", f"the body is {binary}, though served as {body.content_type}")
    if kind == "sitemap" and data.startswith(b"\x1f\x8b"):
        data = _gunzip(data, max_bytes)
    elif body.content_type in GZIP_TYPES:
        raise _Fatal("not_html", f"content type {body.content_type} is not a gzip sitemap")
    encoding, note = _choose_encoding(data, body.charset)
    return data, data.decode(encoding, errors="replace"), encoding, note


def _binary_signature(data: bytes, charset: str | None) -> str | None:
    """What binary a body served as HTML really is (PDFs and images often are), or None for text."""
    head = data[:SNIFF_BYTES]
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            return name
    wide = (charset or "").lower().startswith(("utf-16", "utf-32")) or head.startswith(tuple(b for b, _ in _BOMS[1:]))
    if wide:  # every other byte of UTF-16 text is a NUL
        return None
    sample = data[:BINARY_SAMPLE]
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if control > MAX_CONTROL_SHARE * len(sample):
        return f"binary data ({control} control bytes in the first {len(sample)})"
    return None


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress a .gz sitemap without ever holding more than max_bytes + 1 of output."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise _Fatal("error", f"bad gzip sitemap: {exc}") from None
    if len(out) > max_bytes or decoder.unconsumed_tail:
        raise _Fatal("too_large", f"gzip sitemap exceeds {max_bytes} bytes (decompressed)")
    return out


def _choose_encoding(data: bytes, header_charset: str | None) -> tuple[str, str | None]:
    """BOM, then HTTP charset, XML declaration, <meta> charset, UTF-8 check, detection.

    A declared charset that does not decode the bytes (a cp1251 page behind ``<meta charset=utf-8>``)
    gives way to a later declaration or to detection, when that decodes them.

    Returns:
        (codec, note): the note says what was done when a declared charset was not used.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, None
    head = data[:SNIFF_BYTES]
    labels = (header_charset, _match(_XML_DECL, head), _match(_META_CHARSET, head))
    declared = [c for c in dict.fromkeys(_codec(label) for label in labels) if c]
    if not declared:
        return _detect(data), None
    if _decodes(data, declared[0]):
        return declared[0], None
    for encoding in [*declared[1:], _detect(data)]:
        if encoding != declared[0] and _decodes(data, encoding):
            return encoding, f"declared {declared[0]} does not decode; decoded as {encoding}"
    return declared[0], None


def _detect(data: bytes) -> str:
    """The codec of undeclared bytes: UTF-8 when they decode as such, else charset_normalizer's guess."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        encoding = _codec(best.encoding) if best is not None else None
    except Exception:  # detection is best effort
        encoding = None
    # Detection cannot tell the Latin code pages apart on short texts (French comes out as
    # cp1257); undeclared Latin pages are overwhelmingly windows-1252, the browsers' default.
    if encoding is None or encoding in _LATIN_GUESSES:
        return "cp1252"
    return encoding


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether a codec fits the bytes: at most MAX_UNDECODABLE_SHARE of the non-ASCII bytes fail
    (a stray bad byte in a UTF-8 page is not a wrong charset)."""
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        pass
    except LookupError:
        return False
    bad = len(_UNDECODABLE.findall(data.decode(encoding, errors="surrogateescape")))
    non_ascii = len(data) - len(data.translate(None, _ASCII_BYTES))
    return bad <= MAX_UNDECODABLE_SHARE * non_ascii


def _match(pattern: re.Pattern[bytes], head: bytes) -> str | None:
    match = pattern.search(head)
    return match.group(1).decode("ascii", errors="replace") if match else None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, with WHATWG's latin-1 → windows-1252 rule."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _CP1252_ALIASES:
        return "cp1252"
    if label.startswith("utf-16"):  # a text-declared UTF-16 is impossible (WHATWG: use UTF-8)
        return "utf-8"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    media_type, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return media_type.strip().lower() or None, charset


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def redact(text: str | None) -> str:
    """An error message fit for logs: any URL in it redacted (`redact_url`)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text or "")


def _short_exc(exc: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 exception chain."""
    reason = exc
    for _ in range(5):
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) else None)
        if not isinstance(inner, BaseException):
            break
        reason = inner
    return str(reason) or type(reason).__name__


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- Prefect ----------------------------------------------------------------------------------


@task(name="fetch", cache_policy=NO_CACHE, retries=0)
def fetch_task(requests: list[FetchRequest], options: FetchOptions = FetchOptions(),
               fetcher: Fetcher | None = None) -> list[FetchResult]:
    """Prefect task: fetch a batch (retries happen per request inside, not per task).

    Args:
        requests: what to fetch.
        options: fetch settings, used when ``fetcher`` is not given.
        fetcher: the run's Fetcher, so discovery and page fetches share robots answers and host timing.

    Returns:
        One result per request, in input order.
    """
    results = fetch_batch(requests, options, fetcher)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    logger.info("fetched %d URLs: %s", len(results), ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return results
