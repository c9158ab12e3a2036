"""Serve the bundled sample news site on loopback: one server per publisher, each on its own address.

`python -m wirehouse.samplesite [--port N]` serves it until interrupted.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PUBLISHERS = ("meridian", "baltic-desk", "horizon-brief")
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
SITE_DIR = SAMPLES_DIR / "site"
SOURCES_TEMPLATE = SAMPLES_DIR / "sources.demo.toml"
# A fixed Last-Modified keeps validators stable across clones (file mtimes are not).
LAST_MODIFIED = email.utils.format_datetime(datetime(2026, 10, 31, 12, 0, tzinfo=timezone.utc), usegmt=True)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".rdf": "application/rdf+xml",
    ".txt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
}
FEED_TYPES = {"feed.xml": "application/rss+xml", "atom.xml": "application/atom+xml"}


def _substitute(data: bytes, bases: dict[str, str]) -> bytes:
    for slug, base in bases.items():
        data = data.replace(b"{{BASE:%s}}" % slug.encode(), base.encode())
    return data


class _Handler(BaseHTTPRequestHandler):
    server_version = "SampleNews/1.0"
    root: Path
    bases: dict[str, str]
    headers_map: dict
    redirects: dict
    site: "SampleSite"

    def log_message(self, format, *args):  # noqa: A002 - quiet: the pipeline logs what matters
        pass

    def do_HEAD(self):  # noqa: N802
        self._serve(head=True)

    def do_GET(self):  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        self.site.requests.append((time.monotonic(), self.command, path))
        if path in self.redirects:
            self.send_response(301)
            self.send_header("Location", self.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        file = self._resolve(path)
        gzipped = False
        if file is None:
            candidate = self._resolve(path + ".gz", exact=True)
            if candidate is None:
                return self._send_plain(404, b"not found")
            file, gzipped = candidate, True
        data = file.read_bytes()
        if not gzipped:
            data = _substitute(data, self.bases)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
        if self.site.conditional and (
            self.headers.get("If-None-Match") == etag
            or (self.headers.get("If-None-Match") is None and self.headers.get("If-Modified-Since") == LAST_MODIFIED)
        ):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        name = file.name[:-3] if gzipped else file.name
        content_type = FEED_TYPES.get(name) or TYPES.get(Path(name).suffix, "application/octet-stream")
        for key, value in self.headers_map.get(path, {}).items():
            if key.lower() == "content-type":
                content_type = value
            else:
                self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _resolve(self, path: str, exact: bool = False) -> Path | None:
        target = (self.root / path.lstrip("/")).resolve()
        if self.root not in target.parents and target != self.root:
            return None
        if not exact and target.is_dir():
            target = target / "index.html"
        if target.is_file() and not target.name.startswith("_") and (exact or not target.name.endswith(".gz")):
            return target
        return None

    def _send_plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SampleSite:
    """The sample publishers, each served on its own loopback address (127.0.0.1, .2, .3).

    Args:
        port: the port for every publisher (0: the OS picks one each).
        site_dir: the folder with one document root per publisher.
    """

    def __init__(self, port: int = 0, site_dir: Path = SITE_DIR) -> None:
        self.port = port
        self.site_dir = site_dir
        self.base_urls: dict[str, str] = {}
        # False: every GET gets a full 200, as from servers that ignore conditional requests.
        self.conditional = True
        self.requests: list[tuple[float, str, str]] = []   # (monotonic time, method, path) of every request
        self._servers: list[ThreadingHTTPServer] = []

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> dict[str, str]:
        """Bind and serve every publisher; returns slug -> base URL. Raises OSError when a port is taken."""
        handlers = []
        try:
            for index, slug in enumerate(PUBLISHERS):
                server = self._bind(index)
                self._servers.append(server)
                host, port = server.server_address[:2]
                self.base_urls[slug] = f"http://{host}:{port}"
                handlers.append((server, slug))
        except OSError:
            self.stop()
            raise
        for server, slug in handlers:
            root = (self.site_dir / slug).resolve()
            server.RequestHandlerClass = type(
                f"Handler_{slug}",
                (_Handler,),
                {
                    "root": root,
                    "bases": self.base_urls,
                    "headers_map": _load_json(root / "_headers.json"),
                    "redirects": _load_json(root / "_redirects.json"),
                    "site": self,
                },
            )
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return dict(self.base_urls)

    def _bind(self, index: int) -> ThreadingHTTPServer:
        # Distinct loopback hosts make the publishers distinct sites; fall back to ports on 127.0.0.1.
        try:
            server = ThreadingHTTPServer((f"127.0.0.{index + 1}", self.port), _Handler)
        except OSError:
            if index == 0:
                raise
            server = ThreadingHTTPServer(("127.0.0.1", self.port + index if self.port else 0), _Handler)
        server.daemon_threads = True
        return server

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def render_sources(self, template: Path = SOURCES_TEMPLATE) -> str:
        """The demo sources file with this site's base URLs filled in."""
        return _substitute(template.read_bytes(), self.base_urls).decode("utf-8")


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the wirehouse sample news site on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with SampleSite(args.port) as site:
        for slug, base in site.base_urls.items():
            print(f"{slug}: {base}/")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
