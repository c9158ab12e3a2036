"""One HTTP exchange of the fetcher: a GET with the size cap, the deadline and the peer check.

Its failures are sorted for the fetcher's retry loop: connection errors, timeouts, 429 and
500/502/503/504 are `Retriable` (with the server's ``Retry-After``); everything else is `Fatal`.
Redirects are not followed here: the fetcher checks every hop like the first URL.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import requests
import urllib3.exceptions
import urllib3.response
from requests.adapters import HTTPAdapter

from wirehouse.tasks import guard
from wirehouse.tasks.decoding import parse_content_type
from wirehouse.tasks.fetch_errors import Fatal, Retriable, one_line, short_exc
from wirehouse import stopping

CHUNK_SIZE = 64 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class Body:
    status: int
    final_url: str
    content_type: str | None  # media type only, lowercased
    charset: str | None  # from the Content-Type header
    data: bytes
    etag: str | None
    last_modified: str | None
    redirects: list[str]


def make_session(agent: str, workers: int) -> requests.Session:
    """The session every worker thread shares; never reconfigured after this."""
    session = requests.Session()
    session.trust_env = False  # env proxies would bypass the address guard; .netrc would leak creds
    session.headers["User-Agent"] = agent
    # Retries are ours; pool sized so each worker keeps its host's connection alive.
    adapter = HTTPAdapter(max_retries=0, pool_connections=max(10, workers * 2), pool_maxsize=2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def get(session: requests.Session, url: str, headers: dict[str, str], allow_private: bool, max_bytes: int, *,
        timeout: tuple[float, float], deadline: float, clock: Callable[[], float],
        check: Callable[[requests.Response], None] | None = None) -> tuple[int, str | None, Body]:
    """One HTTP GET, redirects not followed.

    Args:
        session: the fetcher's session.
        url: what to get (already through the address guard).
        headers: request headers.
        allow_private: the source's ``allow_private_network``, for the peer check.
        max_bytes: cap on the decompressed body.
        timeout: (connect, read) seconds.
        deadline: seconds for the whole response, body included.
        clock: monotonic clock.
        check: called with a 2xx response before its body is read (may raise `Fatal`).

    Returns:
        (status, redirect location or None, body).

    Raises:
        Fatal: an answer or failure retrying will not change.
        Retriable: one worth another try.
    """
    started = clock()
    try:
        resp = session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=timeout)
    except requests.exceptions.SSLError as exc:
        raise Fatal("error", one_line(f"TLS error: {exc}")) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise Retriable(one_line(f"{type(exc).__name__}: {short_exc(exc)}")) from None
    except requests.exceptions.RequestException as exc:
        raise Fatal("error", one_line(f"{type(exc).__name__}: {exc}")) from None
    with resp:
        if not session.proxies:   # else the peer is the proxy, not the site
            guard.check_peer(resp, url, allow_private)
        status = resp.status_code
        if status in REDIRECT_STATUSES:
            location = resp.headers.get("Location")
            if not location:
                raise Fatal("error", f"HTTP {status} without a Location header", status)
            return status, location, Body(status, url, None, None, b"", None, None, [])
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise Retriable(f"HTTP {status}", status, retry_after)
        if status == 304:
            return status, None, Body(status, url, None, None, b"", resp.headers.get("ETag"),
                                      resp.headers.get("Last-Modified"), [])
        if not 200 <= status < 300:
            raise Fatal("error", f"HTTP {status}" + (f" {resp.reason}" if resp.reason else ""), status)
        media_type, charset = parse_content_type(resp.headers.get("Content-Type"))
        if check is not None:
            try:
                check(resp)
            except Fatal as exc:
                exc.status = status
                raise
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise Fatal("too_large", f"Content-Length {int(length)} exceeds {max_bytes} bytes", status)
        data = read_capped(resp, status, max_bytes, started, deadline, clock)
        return status, None, Body(status, url, media_type, charset, data, resp.headers.get("ETag"),
                                  resp.headers.get("Last-Modified"), [])


def read_capped(resp: requests.Response, status: int, max_bytes: int, started: float, deadline: float,
                clock: Callable[[], float]) -> bytes:
    """Read the decompressed body in chunks, enforcing the size cap and the deadline (seconds
    from ``started``, on ``clock``)."""
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
                raise Fatal("too_large", f"body exceeds {max_bytes} bytes (decompressed)", status)
            parts.append(chunk)
            if stopping.requested():   # an in-flight download is abandoned, not finished
                raise Fatal("error", "download abandoned: the run was stopped", status)
            if clock() - started > deadline:
                # Fatal on purpose: a server this slow is slow again, and each retry would hold
                # the host's worker for another full deadline.
                raise Fatal("error", f"deadline of {deadline:g}s exceeded while reading the body", status)
    # read1 raises urllib3's exceptions, iter_content wraps them in requests' ones.
    except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError) as exc:
        raise Fatal("error", one_line(f"cannot decode the body: {short_exc(exc)}"), status) from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise Retriable(one_line(f"{type(exc).__name__} while reading the body: {short_exc(exc)}"), status) from None
    return b"".join(parts)


def parse_retry_after(value: str | None) -> float | None:
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
