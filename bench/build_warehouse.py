"""Build warehouses with a given checkout's `wirehouse`, to compare two checkouts' rows
(bench/compare_warehouses.py).

Usage: python bench/build_warehouse.py CHECKOUT OUT_PREFIX [--only sample|zyte] [--zyte DIR] [--force]

Writes OUT_PREFIX-sample.duckdb and OUT_PREFIX-zyte.duckdb (and a .log of each run beside them):
- sample: `CHECKOUT/.venv/bin/wirehouse demo --db ... --port SAMPLE_PORT`, the bundled sample site
  exactly as `wirehouse demo` serves and ingests it (the checkout's own samples/).
- zyte: the pages of DIR (default ../shared/benchmarks/zyte-article-extraction) served on loopback by
  this script, as bench/e2e.py does, read in place (nothing copied), and one
  `wirehouse ingest --sources` whose sources file lists their URLs (allow_private_network, host_delay 0).

Both servers listen on FIXED ports: URLs, and so article ids, contain the port, and two builds must
see the same URLs. ETags are sha256 of the body (not Python's per-process hash), for the same reason.
The environment is the Makefile's Prefect one, without inherited WIREHOUSE_* settings or PREFECT_API_URL,
and with WIREHOUSE_LOCAL_SERVER=0: every run starts its own temporary Prefect server.
Needs only the standard library (any python3): it imports nothing from the checkout, so it builds with
checkouts older than wirehouse.loopback too (hence its own small page server).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZYTE = ROOT.parent / "shared" / "benchmarks" / "zyte-article-extraction"
SAMPLE_PORT = 18765   # not the demo's 8765: someone's `make demo` may hold that one
ZYTE_PORT = 18766
ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "flows,tasks,warehouse,wirehouse,trafilatura,htmldate,courlan,justext,urllib3,charset_normalizer",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "WIREHOUSE_LOCAL_SERVER": "0",
}


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREHOUSE_") and k != "PREFECT_API_URL"}
    env.update(ENV)
    return env


def zyte_pages(folder: Path) -> dict[str, bytes]:
    """URL path -> page bytes (gunzipped), one per page of the folder, named by the page's id."""
    source = folder / "html" if (folder / "html").is_dir() else folder
    pages = {}
    for path in sorted(p for p in source.iterdir() if p.name.endswith((".html", ".html.gz", ".htm"))):
        raw = path.read_bytes()
        pages[f"/{path.name.split('.')[0]}.html"] = gzip.decompress(raw) if path.name.endswith(".gz") else raw
    return pages


class Site:
    """The pages on 127.0.0.1:port, with robots.txt allowing all and sha256 ETags (304 on a match)."""

    def __init__(self, pages: dict[str, bytes], port: int):
        served = dict(pages)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                path = self.path.split("?")[0]
                body = b"User-agent: *\nAllow: /\n" if path == "/robots.txt" else served.get(path)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:20]
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain" if path == "/robots.txt" else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run(cmd: list[str], checkout: Path, log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.call(cmd, cwd=checkout, env=environment(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise SystemExit(f"error: {' '.join(cmd[:2])} exited {code} after {seconds:.0f} s: {tail[0][:300]} (log: {log})")
    return seconds


def build_sample(wirehouse: str, checkout: Path, db: Path, port: int) -> float:
    return run([wirehouse, "demo", "--db", str(db), "--port", str(port)], checkout, db.with_suffix(".log"))


def build_zyte(wirehouse: str, checkout: Path, db: Path, folder: Path, port: int) -> float:
    pages = zyte_pages(folder)
    if not pages:
        raise SystemExit(f"error: no HTML pages in {folder}")
    try:
        site = Site(pages, port)
    except OSError as exc:
        raise SystemExit(f"error: cannot serve the Zyte pages on 127.0.0.1:{port}: {exc.strerror or exc}; try --zyte-port")
    sources = db.with_suffix(".sources.toml")
    urls = ",\n  ".join(json.dumps(site.base + path) for path in pages)
    sources.write_text(
        f'[[sources]]\nname = "zyte"\nallow_private_network = true\nhost_delay = 0.0\nmax_pages = {len(pages) + 10}\n'
        f"urls = [\n  {urls}\n]\n",
        encoding="utf-8",
    )
    with site:
        return run([wirehouse, "ingest", "--sources", str(sources), "--db", str(db),
                    "--summary-json", str(db.with_suffix(".summary.json"))], checkout, db.with_suffix(".log"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a wirehouse checkout with .venv (make install)")
    parser.add_argument("out_prefix", help="e.g. /tmp/rows/before: writes /tmp/rows/before-sample.duckdb, -zyte.duckdb")
    parser.add_argument("--only", choices=("sample", "zyte"))
    parser.add_argument("--zyte", type=Path, default=DEFAULT_ZYTE, help=f"the Zyte benchmark folder (default {DEFAULT_ZYTE})")
    parser.add_argument("--sample-port", type=int, default=SAMPLE_PORT)
    parser.add_argument("--zyte-port", type=int, default=ZYTE_PORT)
    parser.add_argument("--force", action="store_true", help="replace existing warehouse files")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    wirehouse = checkout / ".venv" / "bin" / "wirehouse"
    if not os.access(wirehouse, os.X_OK):
        print(f"error: {wirehouse} missing: run `make install` in {checkout}", file=sys.stderr)
        return 2
    if args.only != "sample" and not args.zyte.is_dir():
        print(f"error: {args.zyte} is not a folder", file=sys.stderr)
        return 2
    out = Path(args.out_prefix).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    which = [args.only] if args.only else ["sample", "zyte"]
    for name in which:
        db = out.parent / f"{out.name}-{name}.duckdb"
        # The warehouse and what wirehouse keeps beside it: a leftover staging folder's batches would be
        # loaded into the new build, so it goes too.
        for stale in (db, Path(f"{db}.wal"), Path(f"{db}.lock"), Path(f"{db}.staging")):
            if stale.exists():
                if not args.force:
                    print(f"error: {stale} exists (use --force to replace it)", file=sys.stderr)
                    return 2
                if stale.is_dir():
                    shutil.rmtree(stale)
                else:
                    stale.unlink()
        if name == "sample":
            seconds = build_sample(str(wirehouse), checkout, db, args.sample_port)
        else:
            seconds = build_zyte(str(wirehouse), checkout, db, args.zyte, args.zyte_port)
        print(f"{name}: {db} in {seconds:.1f} s ({checkout})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
