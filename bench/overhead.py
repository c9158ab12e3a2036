"""Prefect's orchestration overhead per article, as the ingest flow batches its tasks.

Usage: python bench/overhead.py [--tasks N]

Runs one flow (on a temporary Prefect server, as the CLI does) that maps N tasks doing nothing
but return their input, the way `ingest` maps its transform chunks, and times it against calling
the same function N times in the flow body. The difference per task, spread over the pages a task
carries (TRANSFORM_CHUNK pages per transform task, plus one fetch and one load task per
STREAM_BATCH pages), is the per-article overhead (target < 1 ms). The flow's own start and end and
the server start are printed apart: they are paid once per run, not per article.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=400)
    args = parser.parse_args(argv)
    if args.tasks < 10:
        print("error: --tasks must be at least 10", file=sys.stderr)
        return 2
    for key, value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                       "PREFECT_TASKS_DEFAULT_NO_CACHE": "true", "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
        os.environ.setdefault(key, value)
    from wirehouse.server import start_temporary

    started = time.perf_counter()
    server = start_temporary()
    try:
        from prefect import flow, task, unmapped
        from prefect.task_runners import ThreadPoolTaskRunner

        from wirehouse.flows.ingest import TASK_WORKERS
        from wirehouse.settings import TRANSFORM_CHUNK, Settings

        STREAM_BATCH = Settings().batch_pages

        server.wait_ready()
        server_seconds = time.perf_counter() - started

        def work(chunk: list[int], tag: str) -> int:
            return len(chunk) + len(tag)

        work_task = task(work, name="noop", persist_result=False)
        chunks = [[i] * TRANSFORM_CHUNK for i in range(args.tasks)]

        @flow(task_runner=ThreadPoolTaskRunner(max_workers=TASK_WORKERS))
        def mapped() -> float:
            t = time.perf_counter()
            total = sum(f.result() for f in work_task.map(chunks, tag=unmapped("x")))
            assert total == args.tasks * (TRANSFORM_CHUNK + 1)
            return time.perf_counter() - t

        @flow
        def plain() -> float:
            t = time.perf_counter()
            total = sum(work(c, "x") for c in chunks)
            assert total == args.tasks * (TRANSFORM_CHUNK + 1)
            return time.perf_counter() - t

        t = time.perf_counter()
        plain()
        empty_flow = time.perf_counter() - t
        t = time.perf_counter()
        in_tasks = mapped()
        mapped_flow = time.perf_counter() - t
    finally:
        server.stop()
    per_task = in_tasks / args.tasks
    tasks_per_article = 1 / TRANSFORM_CHUNK + 2 / STREAM_BATCH
    print(f"temporary Prefect server start: {server_seconds:.1f} s; a flow run's start and end: {empty_flow:.3f} s")
    print(f"{args.tasks} mapped tasks in one flow: {in_tasks:.3f} s = {per_task * 1000:.2f} ms per task")
    print(f"tasks per article: 1/{TRANSFORM_CHUNK} transform + 2/{STREAM_BATCH} fetch and load = {tasks_per_article:.3f}")
    print(f"Prefect overhead per article: {per_task * tasks_per_article * 1000:.2f} ms (target < 1 ms); "
          f"with the run's fixed start ({server_seconds + mapped_flow - in_tasks:.1f} s) spread over 2,000 articles: "
          f"{(per_task * tasks_per_article + (server_seconds + mapped_flow - in_tasks) / 2000) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
