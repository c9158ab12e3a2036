"""Serve the bundled sample news site on loopback: one server per publisher, each on its own address.

`python -m wirehouse.samplesite [--port N] [--write-sources FILE]` serves it until interrupted, and
writes a sources file pointing at it (to put the sample site behind `wirehouse serve`).
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from wirehouse.loopback import Exchange, LoopbackServer

SERVER_NAME = "SampleNews/1.0"
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
        self._servers: list[LoopbackServer] = []

    @property
    def requests(self) -> list[tuple[float, str, str]]:
        """(monotonic time, method, path) of every request to any publisher, in arrival order."""
        return sorted((r.time, r.method, r.path) for server in self._servers for r in list(server.requests))

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> dict[str, str]:
        """Bind and serve every publisher; returns slug -> base URL. Raises OSError when a port is taken."""
        try:
            for index, slug in enumerate(PUBLISHERS):
                server = self._bind(index, _Publisher(self, (self.site_dir / slug).resolve()).serve)
                self._servers.append(server)
                self.base_urls[slug] = server.base
        except OSError:
            self.stop()
            raise
        for server in self._servers:
            server.start()
        return dict(self.base_urls)

    def _bind(self, index: int, serve) -> LoopbackServer:
        # Distinct loopback hosts make the publishers distinct sites; fall back to ports on 127.0.0.1.
        routes = {"/*": serve}
        try:
            return LoopbackServer(routes, f"127.0.0.{index + 1}", self.port, name=SERVER_NAME)
        except OSError:
            if index == 0:
                raise
            return LoopbackServer(routes, "127.0.0.1", self.port + index if self.port else 0, name=SERVER_NAME)

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()

    def render_sources(self, template: Path = SOURCES_TEMPLATE) -> str:
        """The demo sources file with this site's base URLs filled in."""
        return _substitute(template.read_bytes(), self.base_urls).decode("utf-8")


class _Publisher:
    """One publisher's document root, served as files: placeholders filled, validators, redirects."""

    def __init__(self, site: SampleSite, root: Path) -> None:
        self.site = site
        self.root = root
        self.headers_map = _load_json(root / "_headers.json")
        self.redirects = _load_json(root / "_redirects.json")

    def serve(self, ex: Exchange) -> None:
        path = ex.route_path
        if path in self.redirects:
            return ex.send(301, b"", None, {"Location": self.redirects[path]})
        file = self._resolve(path)
        gzipped = False
        if file is None:
            candidate = self._resolve(path + ".gz", exact=True)
            if candidate is None:
                return ex.send(404, b"not found", "text/plain")
            file, gzipped = candidate, True
        data = file.read_bytes()
        if not gzipped:
            data = _substitute(data, self.site.base_urls)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
        if self.site.conditional and (
            ex.headers.get("If-None-Match") == etag
            or (ex.headers.get("If-None-Match") is None and ex.headers.get("If-Modified-Since") == LAST_MODIFIED)
        ):
            return ex.begin(304, None, headers={"ETag": etag})
        name = file.name[:-3] if gzipped else file.name
        content_type = FEED_TYPES.get(name) or TYPES.get(Path(name).suffix, "application/octet-stream")
        headers = {}
        for key, value in self.headers_map.get(path, {}).items():
            if key.lower() == "content-type":
                content_type = value
            else:
                headers[key] = value
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        headers |= {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        ex.send(200, data, content_type, headers)

    def _resolve(self, path: str, exact: bool = False) -> Path | None:
        target = (self.root / path.lstrip("/")).resolve()
        if self.root not in target.parents and target != self.root:
            return None
        if not exact and target.is_dir():
            target = target / "index.html"
        if target.is_file() and not target.name.startswith("_") and (exact or not target.name.endswith(".gz")):
            return target
        return None


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the wirehouse sample news site on loopback.")
    parser.add_argument("--port", type=int, default=8765, help="the first publisher's port (the others follow it)")
    parser.add_argument("--write-sources", metavar="FILE", type=Path,
                        help="also write a sources file for these addresses (for `wirehouse serve --sources FILE`)")
    args = parser.parse_args()
    with SampleSite(args.port) as site:
        for slug, base in site.base_urls.items():
            print(f"{slug}: {base}/")
        if args.write_sources:
            partial = args.write_sources.with_name(args.write_sources.name + ".part")
            partial.write_text(site.render_sources(), encoding="utf-8")
            partial.replace(args.write_sources)   # whole or absent: a reader never sees half a file
            print(f"sources written to {args.write_sources}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
