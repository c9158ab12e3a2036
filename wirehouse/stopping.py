"""Stopping a run on SIGINT, SIGTERM or SIGHUP: quickly, cleanly, with nothing half loaded.

A signal sets one process-wide flag. The stages look at it where stopping is cheap: the fetcher
before each download, between reads and in its waits; the flow between batches and while it waits
for a stage; the worker pool is shut down at once. A load transaction under way is let finish (a
batch is committed whole or not at all). The run is marked ``interrupted`` at once, by a watchdog
thread, and the command exits with 128 + the signal number.

When the command line runs the flow (`arm_hard_exit`), the watchdog also ends the process if the
flow has not unwound within `GRACE_SECONDS` (plus any load transaction still under way): a download
stuck in a socket read or a chunk of in-process annotation is abandoned, not waited for. Before it
does, it runs what the run registered with `before_hard_exit` (the ingest flow: set its flow run
Cancelled in Prefect), each for at most 2 s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Callable, Iterator

logger = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 4.0   # within the 5 s promised: the run unwinds by itself, else the watchdog ends it

_requested = threading.Event()
_signal: list[int] = []
_lock = threading.Lock()
_on_stop: list[Callable[[], None]] = []   # run at the first signal, in the watchdog thread
_hard_exit: list[Callable[[], None]] = []  # armed by the CLI: last words before os._exit
_before_exit: list[Callable[[], None]] = []   # a run's own last steps before the watchdog ends the process
_transactions = 0
_runs = 0   # runs under way in this process: only they get a grace period to unwind
_idle = threading.Condition(_lock)
_notes: list[str] = []   # what the stop did, for the one line the command prints


class RunStopped(Exception):
    """Raised at a checkpoint once a stop was requested."""


def requested() -> bool:
    """Has a stop been requested?"""
    return _requested.is_set()


def signal_number() -> int | None:
    """The signal that asked for the stop (None: none, or asked for in code)."""
    return _signal[0] if _signal else None


def exit_code() -> int:
    """128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + (signal_number() or signal.SIGINT)


def signal_name() -> str:
    number = signal_number()
    return signal.Signals(number).name if number else "a stop request"


def note(text: str) -> None:
    """Add what a stop step did to the line the command prints ("run X marked interrupted")."""
    with _lock:
        if text not in _notes:
            _notes.append(text)


def summary() -> str:
    """The one line: what stopped the run, and what the stop did."""
    with _lock:
        return "; ".join([f"stopped by {signal_name()}", *_notes])


def check() -> None:
    """A checkpoint: raise `RunStopped` when a stop was requested."""
    if _requested.is_set():
        raise RunStopped(f"stopped by {signal_name()}")


def sleep(seconds: float) -> None:
    """`time.sleep` that returns early when a stop is requested."""
    if seconds > 0:
        _requested.wait(seconds)


def wait_for(future, poll: float = 0.2):
    """A future's result, or `RunStopped` as soon as a stop is requested (the future is abandoned)."""
    inner = getattr(future, "wrapped_future", None)
    if inner is not None:
        while not inner.done():
            check()
            _requested.wait(poll)
    check()
    return future.result()


def on_stop(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` (once, in the watchdog thread) when a stop is requested; returns a remover."""
    with _lock:
        _on_stop.append(callback)
        if _requested.is_set():
            threading.Thread(target=_run_callback, args=(callback,), daemon=True).start()

    def remove() -> None:
        with _lock, contextlib.suppress(ValueError):
            _on_stop.remove(callback)

    return remove


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Mark a load transaction: the watchdog lets it finish before ending the process."""
    global _transactions
    with _lock:
        _transactions += 1
    try:
        yield
    finally:
        with _lock:
            _transactions -= 1
            _idle.notify_all()


@contextlib.contextmanager
def run_scope() -> Iterator[None]:
    """Mark a run under way: a stop gives it `GRACE_SECONDS` to unwind by itself. Outside any run
    (start-up, waiting for the Prefect server) the command ends at once."""
    global _runs
    with _lock:
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            _idle.notify_all()


def request(signum: int | None = None) -> None:
    """Ask the run to stop (what the signal handler does). The second and later requests add nothing."""
    with _lock:
        if _requested.is_set():
            return
        if signum is not None:
            _signal.append(signum)
        _requested.set()
        callbacks = list(_on_stop)
    threading.Thread(target=_watchdog, args=(callbacks,), name="wirehouse-stop", daemon=True).start()


_pipe: list[int] = []   # [read end, write end] of the signal relay, made once


def _handler(signum, _frame) -> None:
    # A signal handler runs in the main thread between two bytecodes, possibly while that thread
    # holds the very lock `request` needs (it may be inside `_requested.wait`): taking it here would
    # deadlock. So the handler only writes the signal's number to a pipe; the relay thread does the rest.
    try:
        os.write(_pipe[1], bytes([signum]))
    except (OSError, IndexError):
        pass


def _relay(read_end: int) -> None:
    while True:
        try:
            data = os.read(read_end, 16)
        except OSError:
            return
        if not data:
            return
        for signum in data:
            request(signum)


def _start_relay() -> None:
    with _lock:
        if _pipe:
            return
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)   # a full pipe drops a signal rather than blocking the handler
        _pipe.extend((read_end, write_end))
    threading.Thread(target=_relay, args=(read_end,), name="wirehouse-signals", daemon=True).start()


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP request a stop instead of raising wherever the
    main thread happens to be (in the main thread only; elsewhere it does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _start_relay()
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def before_hard_exit(callback: Callable[[], None], timeout: float = 2.0) -> Callable[[], None]:
    """Run ``callback`` (at most ``timeout`` seconds) if the watchdog ends the process, before the
    CLI's last words: what a run must still tell others (its Prefect state) when it is not let unwind.
    Returns a remover."""
    def bounded() -> None:
        worker = threading.Thread(target=_run_callback, args=(callback,), name="wirehouse-before-exit", daemon=True)
        worker.start()
        worker.join(timeout)

    with _lock:
        _before_exit.append(bounded)

    def remove() -> None:
        with _lock, contextlib.suppress(ValueError):
            _before_exit.remove(bounded)

    return remove


def arm_hard_exit(last_words: Callable[[], None]) -> None:
    """Let the watchdog end the process (after ``last_words``) if the run does not unwind in time.
    For the command line only: a served run's process belongs to Prefect's runner."""
    if last_words not in _hard_exit:
        _hard_exit.append(last_words)


def _run_callback(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception as exc:  # noqa: BLE001 - a failing stop step must not stop the others
        logger.warning("while stopping: %s: %s", type(exc).__name__, exc)


def _watchdog(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        _run_callback(callback)
    if not _hard_exit:
        return
    deadline = time.monotonic() + GRACE_SECONDS
    with _lock:
        if _runs:   # a run unwinds by itself, and its command exits; this is only the backstop
            while True:
                left = deadline - time.monotonic()
                if left <= 0 and _transactions == 0:
                    break
                _idle.wait(max(left, 0.2))
        steps = list(_before_exit)
    for step in steps:
        step()
    for last_words in _hard_exit:
        _run_callback(last_words)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(exit_code())
