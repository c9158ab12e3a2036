"""Fault injection for the crash tests: kill this process (SIGKILL, no cleanup) at a named point.

``WIREHOUSE_FAULT_KILL_AT=point:n`` kills the process the n-th time it passes ``point`` (n defaults
to 1). Points: ``fetched`` (a batch's pages downloaded), ``staged`` (a batch transformed and staged,
not loaded), ``loading`` (inside a batch's load transaction, before commit), ``loaded`` (a batch
committed). Unset, `point` does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

KILL_ENV = "WIREHOUSE_FAULT_KILL_AT"

_passed: Counter = Counter()
_lock = threading.Lock()


def point(name: str) -> None:
    """Mark that the run passed ``name``; dies here when ``WIREHOUSE_FAULT_KILL_AT`` says so."""
    target = os.environ.get(KILL_ENV)
    if not target:
        return
    wanted, _, nth = target.partition(":")
    with _lock:
        _passed[name] += 1
        hit = wanted == name and _passed[name] == int(nth or 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
