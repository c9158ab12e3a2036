"""Fault injection for the crash and stop tests: at a named point of a run, do something to it.

``WIREHOUSE_FAULT_KILL_AT=point:n`` kills the process (SIGKILL, no cleanup) the n-th time it passes
``point`` (n defaults to 1). ``WIREHOUSE_FAULT_AT=point:n=action`` does ``action`` there instead:
``kill``, ``sigterm``, ``sigint`` or ``sighup`` (a real signal to this process), or ``lose-chunk``
(delete the batch's first staged chunk, as a tmp cleaner or a storage hiccup would), or ``pause``
(write ``<point>.reached`` in ``$WIREHOUSE_FAULT_DIR`` and wait there until ``<point>.go`` appears:
a test can then do something to the run at that very point).

Points: ``fetched`` (a batch's pages downloaded), ``staged`` (a batch transformed and staged, not
loaded), ``loading`` (inside a batch's load transaction, before commit), ``loaded`` (a batch
committed). Unset, `point` does nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections import Counter
from pathlib import Path

KILL_ENV = "WIREHOUSE_FAULT_KILL_AT"
FAULT_ENV = "WIREHOUSE_FAULT_AT"
DIR_ENV = "WIREHOUSE_FAULT_DIR"
_SIGNALS = {"kill": signal.SIGKILL, "sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sighup": signal.SIGHUP}

_passed: Counter = Counter()
_lock = threading.Lock()


def point(name: str, chunks: list[str] | None = None) -> None:
    """Mark that the run passed ``name``; the fault the environment names happens here.

    Args:
        name: the point.
        chunks: the batch's staged chunk folders (for ``lose-chunk``).
    """
    kill, fault = os.environ.get(KILL_ENV), os.environ.get(FAULT_ENV)
    if not kill and not fault:
        return
    with _lock:
        _passed[name] += 1
        passed = _passed[name]
    for target, default_action in ((kill, "kill"), (fault, None)):
        if not target:
            continue
        where, _, action = target.partition("=")
        wanted, _, nth = where.partition(":")
        if wanted == name and passed == int(nth or 1):
            _do(action or default_action or "kill", chunks or [], name)


def _do(action: str, chunks: list[str], name: str) -> None:
    if action == "pause":
        folder = Path(os.environ.get(DIR_ENV, "."))
        (folder / f"{name}.reached").touch()
        while not (folder / f"{name}.go").exists():
            time.sleep(0.05)
        return
    if action == "lose-chunk":
        if chunks:
            shutil.rmtree(chunks[0], ignore_errors=True)
        return
    os.kill(os.getpid(), _SIGNALS[action])
