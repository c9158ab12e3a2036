"""Progress of an ingest run in the terminal: a rich progress bar on a TTY, plain lines otherwise.

The flow reports through `flows.artifacts.progress_listeners` (discovery: the pages to go; each
transformed chunk of 25 pages and each loaded batch: how many are done); these listeners turn that
into output on stderr. A stop (`wirehouse.stopping`) ends the bar at once, so the one line the
command prints then is not drawn over.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from wirehouse import stopping

# (pages done, pages total, batches loaded, batches total, pages loaded)
Listener = Callable[[int, int, int, int, int], None]


@contextlib.contextmanager
def terminal_progress(stream: TextIO | None = None, force_terminal: bool | None = None) -> Iterator[Listener]:
    """A listener that draws the run's progress on ``stream`` (default stderr).

    Args:
        stream: where to write.
        force_terminal: draw the bar even when ``stream`` is not a TTY (tests); None: decide by the stream.

    Yields:
        The listener to register with the flow.
    """
    stream = stream or sys.stderr
    tty = force_terminal if force_terminal is not None else stream.isatty()
    if not tty:
        last = {"done": 0, "batches": 0}

        def plain(done: int, total: int, batches_done: int, batches: int, loaded: int) -> None:
            # A line per loaded batch and per transformed chunk: log-friendly, no control characters.
            if batches_done > last["batches"]:
                print(f"wirehouse: {loaded}/{total} pages loaded (batch {batches_done}/{batches})", file=stream, flush=True)
            elif done > last["done"]:
                print(f"wirehouse: {done}/{total} pages transformed ({loaded} loaded)", file=stream, flush=True)
            last.update(done=done, batches=batches_done)
        yield plain
        return
    console = Console(file=stream, force_terminal=True)
    bar = Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("pages · {task.fields[loaded]} loaded · batch {task.fields[batch]}"),
                   TimeElapsedColumn(), console=console, transient=False)
    with bar:
        task = bar.add_task("ingest", total=None, batch="-", loaded=0)
        forget = stopping.on_stop(bar.stop)

        def draw(done: int, total: int, batches_done: int, batches: int, loaded: int) -> None:
            bar.update(task, completed=done, total=total, batch=f"{batches_done}/{batches}", loaded=loaded)

        try:
            yield draw
        finally:
            forget()
