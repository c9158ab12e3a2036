"""robots.txt: one answer per origin (scheme+host+port) for a Fetcher's lifetime.

* 2xx is parsed, 4xx means "no robots.txt" (allow all), 5xx or unreachable means disallow all
  (conservative; outcome ``robots``, error says the robots.txt is unavailable). A host that never
  answers at all gives its pages outcome ``error`` (tried again next run), not a refusal.
* A robots.txt over `ROBOTS_MAX_BYTES` allows all (Google uses what fits; we allow all).
* ``Crawl-delay`` raises the host delay, capped at `MAX_CRAWL_DELAY`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from wirehouse.tasks.fetch_errors import Fatal, Retriable, one_line
from wirehouse.urls import InvalidURL, normalize_url, url_host

ROBOTS_AGENT = "wirehouse"  # token matched against robots.txt User-agent lines
ROBOTS_ACCEPT = "text/plain,*/*;q=0.1"
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads at most 500 KiB of robots.txt
MAX_CRAWL_DELAY = 30.0  # a huge Crawl-delay would stall a worker for the whole run


@dataclass(frozen=True)
class HostDown:
    """robots.txt got no HTTP answer at all: the host is down or unreachable."""

    error: str


class Robots:
    """The robots.txt answers of one Fetcher, loaded once per origin (even with concurrent callers).

    Args:
        get: one guarded GET of a robots.txt URL: (status, redirect location or None, body); raises
            `Fatal` or `Retriable` like the fetcher's own requests.
        pause: called with (attempt, Retry-After or None) before another try.
        set_crawl_delay: called with (host, seconds) for a ``Crawl-delay``.
        retries: tries after the first.
        max_redirects: redirects followed.
    """

    def __init__(self, get: Callable[[str, bool], tuple[int, str | None, bytes]],
                 pause: Callable[[int, float | None], None], set_crawl_delay: Callable[[str, float], None],
                 retries: int, max_redirects: int) -> None:
        self._get = get
        self._pause = pause
        self._set_crawl_delay = set_crawl_delay
        self._retries = max(0, retries)
        self._max_redirects = max_redirects
        self._lock = threading.Lock()
        self._rules: dict[str, RobotFileParser | str | HostDown] = {}  # origin -> parser or failure
        self._locks: dict[str, threading.Lock] = {}

    def check(self, url: str, allow_private: bool) -> None:
        """Raise `Fatal` (outcome robots, or error for a host that is down) unless robots.txt allows ``url``."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one robots.txt fetch per origin, even with concurrent callers
            if origin not in self._rules:
                self._rules[origin] = self._load(origin, allow_private)
        rules = self._rules[origin]
        if isinstance(rules, HostDown):
            raise Fatal("error", rules.error)
        if isinstance(rules, str):
            raise Fatal("robots", rules)
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise Fatal("robots", f"disallowed by {origin}/robots.txt")

    def _load(self, origin: str, allow_private: bool) -> RobotFileParser | str | HostDown:
        """Fetch and parse robots.txt; a string means "unavailable, disallow everything", `HostDown`
        that the host never answered (its pages are errors, tried again next run, not refusals)."""
        robots_url = origin + "/robots.txt"
        parser = RobotFileParser(robots_url)
        current, seen, attempts = robots_url, {robots_url}, 0
        while True:
            try:
                status, location, data = self._get(current, allow_private)
            except Retriable as exc:
                attempts += 1
                if attempts > self._retries:
                    if exc.status is None:
                        suffix = f" after {attempts} attempts" if attempts > 1 else ""
                        return HostDown(one_line(f"host unreachable: robots.txt: {exc.error}{suffix}"))
                    return one_line(f"robots.txt unavailable ({exc.error})")
                self._pause(attempts, exc.retry_after)
                continue
            except Fatal as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    parser.allow_all = True  # no robots.txt: everything is allowed
                    return parser
                if exc.outcome == "too_large":  # Google's rule: use what fits; we allow all
                    parser.allow_all = True
                    return parser
                return one_line(f"robots.txt unavailable ({exc.error})")
            if location is None:
                break
            try:
                current = normalize_url(location, base=current)
            except InvalidURL:
                return one_line(f"robots.txt unavailable (redirect to {location})")
            if current in seen or len(seen) > self._max_redirects:
                return "robots.txt unavailable (redirect loop)"
            seen.add(current)
        if status == 304:
            parser.allow_all = True
            return parser
        parser.parse(data.decode("utf-8", errors="replace").splitlines())
        parser.modified()  # can_fetch refuses everything until last_checked is set
        delay = parser.crawl_delay(ROBOTS_AGENT)
        if delay:
            try:
                crawl_delay = min(float(delay), MAX_CRAWL_DELAY)
            except ValueError:
                crawl_delay = 0.0
            self._set_crawl_delay(url_host(origin), crawl_delay)
        return parser
