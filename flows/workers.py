"""CPU-bound stages (extraction, annotation) in worker processes, one pool per run, sized to the cores.

Threads cannot run trafilatura or spaCy in parallel (the GIL); processes can. A pool is worth it
only for a big enough run: each worker starts a fresh interpreter and loads spaCy (about 2 s, in
parallel, while the run fetches). Small runs stay in-process.

Settings (`wirehouse.settings`): ``workers`` (WIREHOUSE_WORKERS; 0 keeps everything in-process) and
``pool_min_items`` (WIREHOUSE_POOL_MIN_ITEMS: the fewest pages for which a pool is started).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator

from wirehouse import stopping
from wirehouse.settings import SettingsError, settings

logger = logging.getLogger(__name__)


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def planned_workers(items: int) -> int:
    """How many worker processes a run of `items` pages gets (0: in-process)."""
    try:
        now = settings()
    except SettingsError as exc:
        logger.warning("%s; running in-process", exc)
        return 0
    if now.workers < 2 or items < now.pool_min_items:
        return 0
    return now.workers


PARENT_POLL_SECONDS = 0.5


def _warm(parent: int) -> None:
    """Worker initializer: tie the worker's life to the run's process, then import the stages'
    libraries and load the model once per process."""
    # Ctrl-C and a closed terminal reach the whole process group: the run decides what its
    # workers do (it shuts them down), so they print no KeyboardInterrupt of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="wirehouse-parent-watch", daemon=True).start()
    import trafilatura  # noqa: F401

    from wirehouse.tasks.nlp_model import load_pipeline

    load_pipeline()


def _exit_with_parent(parent: int) -> None:
    """A worker whose run died (SIGKILL included: no cleanup ran there) exits too, instead of
    living on under PID 1 with its loaded model."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


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
    removers: list[Callable[[], None]] = []

    def ensure(items: int) -> int:
        global _pool
        if started:
            return started[0][1]
        workers = planned_workers(items) if enabled else 0
        if workers == 0:
            return 0
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_warm, initargs=(os.getpid(),))
        for _ in range(workers):
            pool.submit(_ready)   # start every worker now, not at the first chunk
        started.append((pool, workers))
        removers.append(stopping.on_stop(lambda: _kill(pool)))
        with _pool_lock:
            _pool = pool
        return workers

    try:
        yield ensure
    finally:
        with _pool_lock:
            _pool = None
        for remove in removers:
            remove()
        for pool, _ in started:
            if stopping.requested():
                _kill(pool)
            else:
                pool.shutdown(wait=True, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    """End a pool at once (a stop): its chunks are abandoned, their batch is not loaded."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(2)


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
    except CancelledError:   # the pool was ended by a stop while this chunk waited in it
        stopping.check()
        raise
    except RuntimeError as exc:   # BrokenProcessPool, or "cannot schedule new futures after shutdown"
        stopping.check()   # the pool was ended by a stop, not broken: nothing is redone here
        if not isinstance(exc, BrokenProcessPool):
            raise
        logger.warning("worker pool broken; running %s in-process", getattr(fn, "__name__", fn))
        return fn(*args)
