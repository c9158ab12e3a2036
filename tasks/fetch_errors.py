"""How one step of a fetch fails: `Fatal` ends the fetch with an outcome, `Retriable` earns another try.

Raised by the fetcher's parts (`tasks.guard`, `tasks.robots`, `tasks.decoding`) and by its HTTP
client (`tasks.fetch`), which turns them into a `FetchResult`'s ``outcome`` and one-line ``error``.
"""

from __future__ import annotations


class Fatal(Exception):
    """Stop now with this outcome; retrying would not help."""

    def __init__(self, outcome: str, error: str, status: int | None = None, content_type: str | None = None) -> None:
        super().__init__(error)
        self.outcome, self.error, self.status, self.content_type = outcome, error, status, content_type
        self.final_url: str | None = None  # where it stopped, set by the redirect loop
        self.redirects: list[str] = []


class Retriable(Exception):
    """Worth another try after a backoff (or the server's Retry-After)."""

    def __init__(self, error: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.retry_after = error, status, retry_after


def one_line(text: str, limit: int = 300) -> str:
    """An error message on one line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_exc(exc: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 exception chain."""
    reason = exc
    for _ in range(5):
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) else None)
        if not isinstance(inner, BaseException):
            break
        reason = inner
    return str(reason) or type(reason).__name__
