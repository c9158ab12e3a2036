"""End to end: `wirehouse ingest` on a folder of HTML pages served on loopback, against a naive serial
loop over the same pages (trafilatura.extract + the spaCy model, nothing else), in one run.

Usage: python bench/e2e.py CORPUS_DIR [--copies N] [--skip-rerun]

CORPUS_DIR holds HTML pages (*.html or *.html.gz), directly or in an html/ folder, for example
../shared/benchmarks/zyte-article-extraction. With --copies N every page is served N times under
distinct URLs with a distinct first paragraph, to make a bigger corpus from a small one.

Prints: wall seconds of both, the ratio ingest/naive (target <= 0.7), the rerun's share of the first
run (target <= 0.1), per-stage seconds of the ingest run, and peak RSS of the ingest process.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")


def load_pages(folder: Path, copies: int) -> dict[str, bytes]:
    """URL path -> page bytes; copies get a distinct marker paragraph so their text differs."""
    source = folder / "html" if (folder / "html").is_dir() else folder
    files = sorted(p for p in source.iterdir() if p.name.endswith((".html", ".html.gz", ".htm")))
    pages = {}
    for path in files:
        raw = path.read_bytes()
        html = gzip.decompress(raw) if path.name.endswith(".gz") else raw
        stem = path.name.split(".")[0]
        for copy in range(copies):
            body = html
            if copy:   # a distinct first paragraph right after <body ...>: distinct text, distinct hash
                marker = f"<p>Copy {copy} of page {stem}: a distinct opening line for the benchmark corpus.</p>".encode()
                match = re.search(rb"<body[^>]*>", html, re.I)
                at = match.end() if match else 0
                body = html[:at] + marker + html[at:]
            pages[f"/{stem}-{copy}.html"] = body
    return pages


def _site(pages: dict[str, bytes]):
    """The pages on a loopback server (wirehouse.loopback), with robots.txt and ETags for reruns."""
    from wirehouse.loopback import LoopbackServer

    def serve(exchange) -> None:
        if exchange.route_path == "/robots.txt":
            exchange.send(200, b"User-agent: *\nAllow: /\n", ctype="text/plain")
            return
        body = pages.get(exchange.route_path)
        if body is None:
            exchange.send(404, b"not found")
            return
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if exchange.headers.get("If-None-Match") == etag:
            exchange.send(304, ctype=None, headers={"ETag": etag})
            return
        exchange.send(200, body, headers={"ETag": etag})

    return LoopbackServer({"/*": serve}, name="e2e")


_TICKS = os.sysconf("SC_CLK_TCK")
_CPU: dict[int, float] = {}     # last seen CPU seconds (user + system) per process
_ROLES: dict[int, str] = {}


def _tree_rss_mb(root: int) -> dict[str, float]:
    """Resident memory of a process and each of its descendants (from /proc), in MB, by role."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * resource.getpagesize()
        _CPU[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICKS
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    out: dict[str, float] = {}
    for pid in tree:
        role = _ROLES.setdefault(pid, _role(pid, root))
        out[role] = out.get(role, 0.0) + rss.get(pid, 0) / 1e6
        out["pss"] = out.get("pss", 0.0) + _pss(pid) / 1e6
    return out


def _pss(pid: int) -> int:
    """Proportional set size: shared pages (libraries, copy-on-write) split among the processes using them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "cli"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "uvicorn" in cmd or "prefect.server" in cmd or "server start" in cmd:
        return "prefect server"
    if "multiprocessing" in cmd:
        return "workers"
    return "other"


def _total(sample: dict[str, float]) -> float:
    return sum(mb for role, mb in sample.items() if role != "pss")


def run_ingest(sources: Path, db: Path, summary: Path) -> tuple[float, dict, dict[str, float], dict[str, float]]:
    """Run `wirehouse ingest`; returns wall seconds, the run summary and the peak RSS of the whole
    process tree (the CLI, its worker processes, Prefect's temporary server), sampled every 0.25 s."""
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_TASKS_DEFAULT_NO_CACHE="true", DO_NOT_TRACK="1")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(db), "--summary-json", str(summary)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    peak: dict[str, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.25):
            now = _tree_rss_mb(proc.pid)
            if _total(now) > _total(peak):
                peak = now

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {stderr.strip()[-500:]}")
    cpu: dict[str, float] = {}
    for pid, role in _ROLES.items():
        cpu[role] = cpu.get(role, 0.0) + _CPU.get(pid, 0.0)
    _ROLES.clear()
    _CPU.clear()
    return seconds, json.loads(summary.read_text()), peak, cpu


def naive(pages: dict[str, bytes]) -> float:
    """The floor: a serial loop that only extracts and runs the model."""
    import spacy
    import trafilatura

    from wirehouse.tasks.nlp_model import SPACY_MODEL

    started = time.perf_counter()
    nlp = spacy.load(SPACY_MODEL)
    for body in pages.values():
        text = trafilatura.extract(body.decode("utf-8", errors="replace"))
        if text:
            nlp(text)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--skip-rerun", action="store_true")
    parser.add_argument("--skip-naive", action="store_true", help="time ingest only (memory runs)")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    pages = load_pages(args.corpus, args.copies)
    if not pages:
        print(f"error: no HTML pages in {args.corpus}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wh-e2e-") as tmp, _site(pages) as site:
        tmp = Path(tmp)
        sources = tmp / "sources.toml"
        urls = ",\n  ".join(json.dumps(site.base + path) for path in pages)
        sources.write_text(
            f'[[sources]]\nname = "corpus"\nallow_private_network = true\nhost_delay = 0\nmax_pages = {len(pages) + 10}\n'
            f"urls = [\n  {urls}\n]\n",
            encoding="utf-8",
        )
        db = tmp / "w.duckdb"
        first_seconds, first, peak_rss_mb, cpu = run_ingest(sources, db, tmp / "s1.json")
        rerun = None
        if not args.skip_rerun:
            rerun = run_ingest(sources, db, tmp / "s2.json")[:2]
        naive_seconds = None if args.skip_naive else naive(pages)
    totals = first["totals"]
    print(f"corpus: {len(pages)} pages from {args.corpus} (x{args.copies}); {os.cpu_count()} CPUs")
    print(f"  ingest   {first_seconds:7.1f} s  ({totals.get('new', 0)} new articles)")
    print(f"           peak RSS of the process tree {_total(peak_rss_mb):.0f} MB: "
          + ", ".join(f"{role} {mb:.0f}" for role, mb in sorted(peak_rss_mb.items()) if role != "pss")
          + f" (PSS, shared pages counted once: {peak_rss_mb.get('pss', 0):.0f} MB)")
    print("           stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in first.get("stage_seconds", {}).items()))
    print("           CPU seconds (sampled every 0.25 s): " + ", ".join(f"{role} {sec:.1f}" for role, sec in sorted(cpu.items())))
    inside = sum(first.get("stage_seconds", {}).values())
    print(f"           outside the stages (imports, Prefect start, flow and task runs): {first_seconds - inside:.1f} s")
    if naive_seconds is not None:
        print(f"  naive    {naive_seconds:7.1f} s  (serial trafilatura.extract + spaCy, in this process)")
        print(f"  ratio ingest/naive: {first_seconds / naive_seconds:.2f}  (target <= 0.7)")
    if rerun is not None:
        print(f"  rerun    {rerun[0]:7.1f} s  = {rerun[0] / first_seconds:.2f} of the first run (target <= 0.10); "
              f"not modified {rerun[1]['totals'].get('not_modified', 0)}")
        print("           stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in rerun[1].get("stage_seconds", {}).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
