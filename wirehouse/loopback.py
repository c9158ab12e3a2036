"""A small threaded HTTP server on a loopback address that answers from a routing table and logs
every request: the sample site (`wirehouse.samplesite`) and the tests' fault servers are built on it.

    with LoopbackServer({"/ok": reply(200, b"<p>ok</p>"), "/chain/*": chain}) as server:
        requests.get(server.url("/ok"))
        server.counts["/ok"]            # 1

A route is a function of the `Exchange` (the request being answered). A key ending in "*" matches
every path that starts with what comes before it; an exact key wins over a prefix, a longer prefix
over a shorter one. A path no key matches gets 404 "unknown route".
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

HTML = "text/html; charset=utf-8"


class Request(NamedTuple):
    time: float        # time.monotonic() when the request line was read
    method: str
    target: str        # as sent: path and query
    path: str          # without query or fragment
    headers: dict[str, str]


class Exchange(BaseHTTPRequestHandler):
    """One request and its answer. Routes read `path`, `query`, `count` and `headers` and answer with
    `send` or `redirect`, or stream: `begin`, then write to `wfile`."""

    server: _Server
    route_path: str
    query: dict[str, list[str]]
    count: int           # this request is the count-th to its exact target (path and query)

    @property
    def closing(self) -> threading.Event:
        """Set when the server stops: a route that hangs or drips on purpose waits on it."""
        return self.server.owner.closing

    def log_message(self, format, *args):  # noqa: A002 - quiet: the server's own log is `requests`
        pass

    def version_string(self) -> str:
        return self.server.owner.name

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def begin(self, status: int, ctype: str | None = HTML, length: int | None = None,
              headers: Mapping[str, str] | None = None) -> None:
        """The status line and headers; the route then writes the body to `wfile` (without a length,
        the body ends when the connection closes: HTTP/1.0)."""
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send(self, status: int, body: bytes = b"", ctype: str | None = HTML,
             headers: Mapping[str, str] | None = None) -> None:
        """A whole answer with its Content-Length (the body is left out for HEAD)."""
        self.begin(status, ctype, len(body), headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, b"", headers={"Location": location})

    def _dispatch(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        self.route_path, self.query = parts.path, parse_qs(parts.query)
        self.count = owner._record(Request(time.monotonic(), self.command, self.path, parts.path, dict(self.headers)))
        try:
            owner.route(parts.path)(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (too large, past its deadline)


Route = Callable[[Exchange], None]


def reply(status: int, body: bytes = b"", ctype: str | None = HTML, headers: Mapping[str, str] | None = None) -> Route:
    """A route that always gives the same answer."""
    return lambda exchange: exchange.send(status, body, ctype, headers)


def _unknown(exchange: Exchange) -> None:
    exchange.send(404, b"unknown route")


class _Server(ThreadingHTTPServer):
    daemon_threads = True     # a handler that hangs on purpose must not keep the process alive
    owner: LoopbackServer


class LoopbackServer:
    """Binds at construction (`base` is known at once, OSError if the address is taken); serves from
    `start()` until `stop()`.

    Args:
        routes: path (or "prefix*") -> route.
        host: the loopback address (127.0.0.2 ... make distinct sites on one machine).
        port: 0 lets the OS pick a free one.
        name: the Server header.
    """

    def __init__(self, routes: Mapping[str, Route], host: str = "127.0.0.1", port: int = 0,
                 name: str = "loopback") -> None:
        self.name = name
        self._exact = {key: route for key, route in routes.items() if not key.endswith("*")}
        self._prefixes = sorted(((key[:-1], route) for key, route in routes.items() if key.endswith("*")),
                                key=lambda item: -len(item[0]))
        self.requests: list[Request] = []
        self.counts: Counter[str] = Counter()   # requests per exact target
        self.lock = threading.Lock()
        self.closing = threading.Event()        # set by stop(): routes that hang on purpose wait on it
        self._httpd = _Server((host, port), Exchange)
        self._httpd.owner = self
        self.host, self.port = self._httpd.server_address[:2]
        self.base = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str) -> Route:
        if path in self._exact:
            return self._exact[path]
        return next((route for prefix, route in self._prefixes if path.startswith(prefix)), _unknown)

    def targets(self, prefix: str = "") -> list[str]:
        """The targets requested so far, in arrival order, that start with ``prefix``."""
        with self.lock:
            return [r.target for r in self.requests if r.target.startswith(prefix)]

    def headers_of(self, target: str) -> dict[str, str]:
        """The headers of the last request to ``target``."""
        with self.lock:
            return next(r.headers for r in reversed(self.requests) if r.target == target)

    def _record(self, request: Request) -> int:
        with self.lock:
            self.requests.append(request)
            self.counts[request.target] += 1
            return self.counts[request.target]

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
