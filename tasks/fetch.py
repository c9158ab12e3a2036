"""Fetch stage: polite, bounded, SSRF-guarded HTTP fetching of news pages, feeds and sitemaps.

The core is plain Python (`Fetcher`, `fetch_batch`); `fetch_task` is a thin Prefect wrapper. The
Fetcher is the HTTP client: retries, redirects, politeness and outcomes. Its parts: one HTTP
exchange (`tasks.transport`), the address guard (`tasks.guard`), robots.txt (`tasks.robots`) and
body decoding (`tasks.decoding`); their failures are `tasks.fetch_errors`.

Every `FetchRequest` yields exactly one `FetchResult`; network, HTTP and content problems become
an ``outcome`` (see `schemas.models.OUTCOMES`) with a one-line ``error`` instead of an exception.

Errors are sorted Meltano-SDK style into *retriable* (connection errors, timeouts, the
per-response deadline, 429 and 500/502/503/504) which are retried with exponential backoff and
full jitter (honouring ``Retry-After``), and *fatal* (everything else) which end the fetch at once.

Decisions worth knowing:

* Threads: one `requests.Session` is shared by all worker threads. Each host is fetched by one
  thread at a time; urllib3's pool manager is thread-safe and the session's configuration is
  never mutated after construction. ``trust_env`` is off so environment proxies and .netrc
  cannot route around the address guard.
* Every redirect hop is checked like the first URL: address guard, then robots.txt.
* The deadline is checked between reads, so it can overshoot by at most one read timeout.
  Exceeding it is fatal, not retried: a server that slow is slow again, and every retry would
  hold the host's worker for another full deadline. (Connect/read timeouts are retried.)
* Page bodies stay bytes when the flow asks for no text (``FetchOptions.page_text``): the codec
  and the decoding note are still chosen here, the text is decoded once, in the transform stage.
* Each body is hashed once (``FetchResult.content_hash``, the page's address in ``pages``).
* URLs that are no http(s) URL are refused unsent (outcome ``invalid_url``, ``note`` the reason).
* Results of refusals and errors carry the request's own validators (etag, last_modified),
  so the next run can still make a conditional GET.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
from prefect import task
from prefect.cache_policies import NO_CACHE

from wirehouse.schemas.models import FETCH_KINDS
from wirehouse.tasks import guard, transport
from wirehouse.tasks.decoding import MAX_SITEMAP_BYTES, check_type, decode_body
from wirehouse.tasks.fetch_errors import Fatal, Retriable, one_line
from wirehouse.tasks.robots import ROBOTS_ACCEPT, ROBOTS_MAX_BYTES, Robots
from wirehouse.tasks.transport import Body
from wirehouse import stopping
from wirehouse.urls import InvalidURL, normalize_url, redact_url, url_host

logger = logging.getLogger(__name__)

try:
    from importlib.metadata import PackageNotFoundError, version as _dist_version

    VERSION = _dist_version("wirehouse")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.1.0"

ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "listing": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.1",
}
_URL_IN_TEXT = re.compile(r"https?://[^\s'\")<>]+")


@dataclass(frozen=True)
class FetchOptions:
    """How politely, patiently and how much to fetch."""

    contact_url: str = "https://github.com/wirehouse/wirehouse"
    user_agent: str | None = None  # default "wirehouse/<version> (+<contact_url>)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0  # total seconds per response, body included
    max_bytes: int = 5_000_000  # cap on the decompressed body of a page, feed or listing
    max_sitemap_bytes: int = MAX_SITEMAP_BYTES  # the sitemap protocol's own limit, decompressed
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
    """What happened to one `FetchRequest`; ``body``/``text`` are set only when outcome is ok
    (``text`` not for pages when `FetchOptions.page_text` is off)."""

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
    content_hash: str | None = None  # sha256 of body (hex), filled from it: hashed once, here

    def __post_init__(self) -> None:
        if self.content_hash is None and self.body is not None:
            self.content_hash = content_hash(self.body)


def content_hash(body: bytes | None) -> str | None:
    """The address of a raw page in ``pages``: sha256 of its bytes."""
    return hashlib.sha256(body).hexdigest() if body is not None else None


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
        self.session = session if session is not None else transport.make_session(options.agent(), options.workers)
        self._resolver = resolver
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()
        self._lock = threading.Lock()
        self._next_start: dict[str, float] = {}  # host -> earliest start of the next request
        self._host_delay: dict[str, float] = {}  # host -> delay raised by Crawl-delay
        self._robots = Robots(self._robots_get, self._pause, self.set_host_delay, options.retries, options.max_redirects)

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

        def result(outcome: str, error: str | None, status: int | None = None, body: Body | None = None,
                   text: str | None = None, encoding: str | None = None, fatal: Fatal | None = None) -> FetchResult:
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
                text=text if ok else None,
                etag=(body.etag if body else None) or request.etag,
                last_modified=(body.last_modified if body else None) or request.last_modified,
                bytes=len(body.data) if body else 0, elapsed=self._clock() - started,
                fetched_at=fetched_at, attempts=attempts, redirects=list(redirects),
            )

        try:
            if stopping.requested():   # a stopped run starts no more downloads
                return result("error", "not fetched: the run was stopped")
            if request.kind not in FETCH_KINDS:
                return result("error", f"unknown kind {request.kind!r}")
            try:
                url = normalize_url(request.url)
            except InvalidURL as exc:  # never sent: a refusal, like robots, not a failure
                refused = result("invalid_url", one_line(str(exc)))
                refused.note = exc.reason
                return refused
            retries = max(0, self.options.retries)
            while True:
                attempts += 1
                try:
                    body = self._attempt(request, url)
                except Fatal as exc:
                    return result(exc.outcome, exc.error, exc.status, fatal=exc)
                except Retriable as exc:
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
                    data, text, encoding, note = decode_body(
                        body.data, body.content_type, body.charset, request.kind, self._byte_cap(request.kind),
                        text=request.kind != "page" or self.options.page_text)
                except Fatal as exc:
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
            return result("error", one_line(f"internal error: {type(exc).__name__}: {exc}"))

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

    def _attempt(self, request: FetchRequest, url: str) -> Body:
        """One try: follow redirects by hand, checking every hop like the first URL."""
        hops: list[str] = []
        try:
            return self._follow(request, url, hops)
        except Fatal as exc:
            exc.final_url, exc.redirects = (hops[-1] if hops else url), list(hops)  # where it stopped
            raise

    def _follow(self, request: FetchRequest, url: str, redirects: list[str]) -> Body:
        seen = {url}
        current = url
        headers = {"Accept": ACCEPT[request.kind]}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        while True:
            guard.check_host(current, request.allow_private, self._resolver)
            if self.options.respect_robots:
                self._robots.check(current, request.allow_private)
            status, location, body = self._get(current, headers, request.allow_private, self._byte_cap(request.kind),
                                               check=lambda resp: check_type(resp.headers.get("Content-Type"), request.kind))
            if location is None:
                body.final_url = current
                body.redirects = list(redirects)
                return body
            if len(redirects) >= self.options.max_redirects:
                raise Fatal("error", f"too many redirects (more than {self.options.max_redirects})", status)
            try:
                target = normalize_url(location, base=current)
            except InvalidURL:
                raise Fatal("error", one_line(f"redirect to a non-http(s) URL: {location}"), status) from None
            if target in seen:
                raise Fatal("error", f"redirect loop at {target}", status)
            seen.add(target)
            redirects.append(target)
            current = target

    def _get(self, url: str, headers: dict[str, str], allow_private: bool, max_bytes: int,
             check: Callable[[requests.Response], None] | None = None) -> tuple[int, str | None, Body]:
        """One HTTP GET after the host's delay; returns (status, redirect location or None, body)."""
        self._wait_for_host(url_host(url))
        opts = self.options
        return transport.get(self.session, url, headers, allow_private, max_bytes, check=check, clock=self._clock,
                             timeout=(opts.connect_timeout, opts.read_timeout), deadline=opts.deadline)

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

    def _robots_get(self, url: str, allow_private: bool) -> tuple[int, str | None, bytes]:
        """One guarded GET of a robots.txt URL, for `Robots`."""
        guard.check_host(url, allow_private, self._resolver)
        status, location, body = self._get(url, {"Accept": ROBOTS_ACCEPT}, allow_private, ROBOTS_MAX_BYTES)
        return status, location, body.data

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        self._sleep(self._backoff(attempt, retry_after))


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


def redact(text: str | None) -> str:
    """An error message fit for logs: any URL in it redacted (`redact_url`)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text or "")


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
