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
    "tasks": logging.INFO, "warehouse": logging.INFO, "wirehouse": logging.INFO,
    "trafilatura": logging.WARNING, "htmldate": logging.WARNING, "courlan": logging.WARNING,
    "justext": logging.WARNING, "urllib3": logging.ERROR, "charset_normalizer": logging.WARNING,
}
EXTRA_LOGGERS = ",".join(LEVELS)


def prefect_environment() -> None:
    """Before prefect is imported: name the extra loggers; records from threads outside a run are dropped quietly."""
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", EXTRA_LOGGERS)
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def set_levels() -> None:
    """Give the libraries their levels (at the start of a flow run, in whatever process runs it)."""
    for name, level in LEVELS.items():
        logging.getLogger(name).setLevel(level)
