"""Which library logs reach a Prefect run's logs, and at what level.

Prefect ships records of the loggers named in ``PREFECT_LOGGING_EXTRA_LOGGERS`` to the run's logs
in the UI (it must be set before prefect is imported: the CLI, the Makefile and prefect.yaml do).
Our stages log at INFO (retries, discovery counts, quarantines); the extraction libraries are
chatty below WARNING, and urllib3 warns about what our fetcher already reports.
"""

from __future__ import annotations

import logging
import os

LEVELS = {
    "wirehouse": logging.INFO,   # every module of ours (wirehouse.flows, .tasks, .warehouse, ...)
    "trafilatura": logging.WARNING, "htmldate": logging.WARNING, "courlan": logging.WARNING,
    "justext": logging.WARNING, "urllib3": logging.ERROR, "charset_normalizer": logging.WARNING,
}
EXTRA_LOGGERS = ",".join(LEVELS)
# What every process of a run sets (the CLI here, the Makefile, prefect.yaml's workers): the extra
# loggers named; records from threads outside a run dropped quietly.
LOGGING_ENVIRONMENT = {
    "PREFECT_LOGGING_EXTRA_LOGGERS": EXTRA_LOGGERS,
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def prefect_environment() -> None:
    """Before prefect is imported: `LOGGING_ENVIRONMENT`, unless already set."""
    for name, value in LOGGING_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


CONSOLE_ENV = "WIREHOUSE_CONSOLE_LOGS"   # "0": these loggers go to the run logs only, not the terminal


def set_levels() -> None:
    """Give the libraries their levels (at the start of a flow run, in whatever process runs it).

    With ``WIREHOUSE_CONSOLE_LOGS=0`` (the CLI without ``--verbose``) their records still reach the
    run's logs in the UI, but not the terminal.
    """
    quiet = os.environ.get(CONSOLE_ENV) == "0"
    for name, level in LEVELS.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if quiet and logger.handlers:
            # Prefect gave it the API handler (the run's logs); the terminal is the root's console
            # handler, reached by propagation: stop there. Without Prefect's handler, leave it be.
            logger.propagate = False
            for handler in [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]:
                logger.removeHandler(handler)


class _NoStorageFailures(logging.Filter):
    """Keeps a task's failure on a full disk or a read-only folder off the terminal: its traceback and
    its "Finished in state Failed" line. The CLI says it in one line; the run's logs keep them all."""

    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        task = getattr(record, "task_run_id", None)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _no_room_or_permission(exc):
            if task:
                self._tasks.add(task)   # and the same task's lines that follow
            return False
        return task is None or task not in self._tasks


def _no_room_or_permission(exc: BaseException) -> bool:
    from wirehouse.errors import storage_error

    return storage_error(exc) is not None


def quiet_storage_failures() -> None:
    """Filter the terminal's handlers (the root logger's, where Prefect's console handler is) with
    `_NoStorageFailures`; call once Prefect has set up logging."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _NoStorageFailures) for f in handler.filters):
            handler.addFilter(_NoStorageFailures())
