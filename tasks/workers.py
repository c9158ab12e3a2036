"""CPU-bound stages (extraction, annotation) in worker processes, one pool per run, sized to the cores.

Threads cannot run trafilatura or spaCy in parallel (the GIL); processes can. A pool is worth it
only for a big enough run: each worker starts a fresh interpreter and loads spaCy (about 2 s, in
parallel, while the run fetches). Small runs stay in-process.

Settings (environment):
    WIREHOUSE_WORKERS: worker processes; 0 keeps everything in-process. Default: the CPU count.
    WIREHOUSE_POOL_MIN_ITEMS: the fewest pages for which a pool is started. Default 100.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator

logger = logging.getLogger(__name__)

WORKERS_ENV = "WIREHOUSE_WORKERS"
MIN_ITEMS_ENV = "WIREHOUSE_POOL_MIN_ITEMS"
DEFAULT_MIN_ITEMS = 100

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def planned_workers(items: int) -> int:
    """How many worker processes a run of `items` pages gets (0: in-process)."""
    try:
        workers = int(os.environ.get(WORKERS_ENV, os.cpu_count() or 1))
        min_items = int(os.environ.get(MIN_ITEMS_ENV, DEFAULT_MIN_ITEMS))
    except ValueError:
        logger.warning("%s and %s must be integers; running in-process", WORKERS_ENV, MIN_ITEMS_ENV)
        return 0
    if workers < 2 or items < min_items:
        return 0
    return workers


def _warm() -> None:
    """Worker initializer: import the stages' libraries and load the model once per process."""
    import trafilatura  # noqa: F401

    from tasks.annotate import load_pipeline

    load_pipeline()


def _ready() -> int:
    return os.getpid()


@contextlib.contextmanager
def pool_scope(enabled: bool = True) -> Iterator[Callable[[int], int]]:
    """A scope in which a process pool may be started (unless not ``enabled``), and is always shut
    down at the end.

    Yields:
        ``ensure(items) -> workers``: starts the pool the first time it is called with enough
        work (`planned_workers`); returns the number of worker processes (0: in-process). The
        workers start loading at once, so their start overlaps whatever the caller does next.
    """
    global _pool
    started: list[tuple[ProcessPoolExecutor, int]] = []

    def ensure(items: int) -> int:
        global _pool
        if started:
            return started[0][1]
        workers = planned_workers(items) if enabled else 0
        if workers == 0:
            return 0
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm)
        for _ in range(workers):
            pool.submit(_ready)   # start every worker now, not at the first chunk
        started.append((pool, workers))
        with _pool_lock:
            _pool = pool
        return workers

    try:
        yield ensure
    finally:
        with _pool_lock:
            _pool = None
        for pool, _ in started:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def pool_for(items: int) -> Iterator[int]:
    """Run the enclosed stages with a process pool when `items` is big enough.

    Yields:
        The number of worker processes (0: in-process).
    """
    with pool_scope() as ensure:
        yield ensure(items)


def active() -> bool:
    return _pool is not None


def run(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker process when a pool is active, else here.

    A broken pool (a worker killed, out of memory) does not lose the chunk: it is done here.
    """
    pool = _pool
    if pool is None:
        return fn(*args)
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        logger.warning("worker pool broken; running %s in-process", getattr(fn, "__name__", fn))
        return fn(*args)
