"""Progress of an ingest run in the terminal: a rich progress bar on a TTY, plain lines otherwise.

The flow reports through `flows.ingest.progress_listeners` (discovery: the pages to go; each batch
loaded: how many are done); these listeners turn that into output on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Listener = Callable[[int, int, int, int], None]   # (pages done, pages total, batches done, batches total)


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
        def plain(done: int, total: int, batches_done: int, batches: int) -> None:
            if batches_done:   # a line per loaded batch: log-friendly, no control characters
                print(f"wirehouse: {done}/{total} pages loaded (batch {batches_done}/{batches})", file=stream, flush=True)
        yield plain
        return
    console = Console(file=stream, force_terminal=True)
    with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("pages · batch {task.fields[batch]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("ingest", total=None, batch="-")

        def draw(done: int, total: int, batches_done: int, batches: int) -> None:
            bar.update(task, completed=done, total=total, batch=f"{batches_done}/{batches}")

        yield draw
