"""How fast a signal stops a real ingest: seconds from the signal to the process's exit.

Serves the bundled sample site on loopback (each publisher at a polite 1 request/s, batches of 10
pages), starts `wirehouse ingest`, sends the signal as soon as the first batch is loaded (while the
next one downloads and transforms), and times the exit. Prints one line per case.

    python bench/stop.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from wirehouse.samplesite import SampleSite  # noqa: E402

WIREHOUSE = str(Path(sys.executable).parent / "wirehouse")
CASES = (("SIGTERM", "in-process"), ("SIGINT", "in-process"), ("SIGHUP", "in-process"), ("SIGTERM", "2 workers"))


def one(site: SampleSite, signame: str, mode: str) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory(prefix="wirehouse-stop-") as tmp:
        sources = Path(tmp) / "sources.toml"
        sources.write_text(site.render_sources().replace("host_delay = 0.0", "host_delay = 1.0"), encoding="utf-8")
        env = dict(os.environ, WIREHOUSE_LOCAL_SERVER="0", WIREHOUSE_BATCH_PAGES="10", WIREHOUSE_POOL_MIN_ITEMS="1",
                   WIREHOUSE_WORKERS="2" if mode == "2 workers" else "0")
        env.pop("PREFECT_API_URL", None)
        proc = subprocess.Popen([WIREHOUSE, "ingest", "--sources", str(sources), "--db", str(Path(tmp) / "w.duckdb")],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first = ""
        for line in proc.stderr:   # a line per transformed chunk, then per loaded batch
            first += line
            if "pages loaded" in line:
                break
        else:
            proc.kill()
            raise SystemExit(f"the run did not load a first batch: {first}{proc.stderr.read()}")
        started = time.monotonic()
        proc.send_signal(getattr(signal, signame))
        try:
            rest = proc.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)   # where is it stuck? (faulthandler, all threads)
            time.sleep(2)
            proc.kill()
            raise SystemExit(f"{signame} {mode}: no exit 60 s after the signal\n{proc.communicate()[1][-6000:]}")
        return time.monotonic() - started, proc.returncode, rest.strip().splitlines()[-1] if rest.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with SampleSite(port=0) as site:
        for signame, mode in CASES:
            runs = [one(site, signame, mode) for _ in range(args.repeat)]
            seconds = [r[0] for r in runs]
            print(f"{signame:8} {mode:11} exit {runs[0][1]:>3}  signal to exit: median {statistics.median(seconds):.2f} s, "
                  f"max {max(seconds):.2f} s over {len(runs)} runs  | {runs[0][2]}")


if __name__ == "__main__":
    main()
