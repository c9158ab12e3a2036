"""The one split of every dev set into a tuning half and a check half.

Rules are tuned on the tuning half only; the check half stands in for text nobody tuned for. The split
is by a hash of each item's stable key (a document's id or text), so it does not depend on the order
of the file, and an item stays in its half when the set grows.

    from halves import split
    tuning, check = split(records, key=lambda r: r["text"])
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
HALVES = ("tuning", "check")


def half_of(key: str) -> str:
    """"tuning" or "check" for an item's stable key."""
    return HALVES[hashlib.sha256(key.encode("utf-8")).digest()[0] & 1]


def split(items: Iterable[T], key: Callable[[T], str]) -> tuple[list[T], list[T]]:
    """The items in their halves (each in its original order).

    Args:
        items: the dev set's items (sentences, documents, articles).
        key: the item's stable key: its id where it has one, else its text.

    Returns:
        (tuning, check).
    """
    tuning: list[T] = []
    check: list[T] = []
    for item in items:
        (tuning if half_of(key(item)) == "tuning" else check).append(item)
    return tuning, check
