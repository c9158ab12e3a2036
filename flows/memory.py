"""Give freed memory back to the operating system between batches.

A long run allocates and frees a batch's worth of pages, Parquet buffers and DuckDB results again and
again. glibc keeps freed heap pages in per-thread arenas and Arrow's jemalloc pool keeps its own, so
a process's resident memory would creep up with the run although nothing stays referenced. Arrow is
switched to the system allocator and the heap is trimmed after each batch; both are no-ops where
unavailable (other platforms).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

_libc = None


def use_system_allocator_for_arrow() -> None:
    """Route Arrow's allocations through malloc, so `release_freed` can return them too."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except Exception as exc:  # noqa: BLE001 - an optimisation, never a failure
        logger.debug("arrow system allocator unavailable: %s", exc)


def release_freed() -> bool:
    """Return freed heap memory to the OS (glibc ``malloc_trim``); False where there is none."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    if not _libc or not hasattr(_libc, "malloc_trim"):
        return False
    return bool(_libc.malloc_trim(0))
