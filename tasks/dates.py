"""Resolve the date expressions of news text against the article's publication date.

"August 10" in a piece published 2021-08-13 is 2021-08-10 (day); "In July" is 2021-07 (month);
"last week", weekdays, "earlier this year", "two days ago" likewise. A report in the past tense
never resolves to a date after publication; the future tense looks forward; when the tense is
unknown the nearest candidate wins.

Any publication year 1..9999 anchors; a result outside that range (what `datetime.date` holds)
resolves to None, never to a wrong date and never to an exception: "3,300 years ago" is no year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

PAST, FUTURE, UNKNOWN = "past", "future", "unknown"

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "several": 3, "a few": 3, "few": 3,
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_PATTERNS = [
    ("iso", re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})-(?P<day>\d{2})\b")),
    ("mdy", re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I)),
    ("dmy", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I)),
    ("md", re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?!\s*(?:,\s*)?(?:19|20)\d{{2}})", re.I)),
    ("dm", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b", re.I)),
    ("my", re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", re.I)),
    ("m", re.compile(rf"\b(?:early|mid|mid-|late|end of|beginning of|in|since|during|until|by)?\s*-?{_MONTH}\b", re.I)),
    ("y", re.compile(rf"\b{_YEAR}\b")),
]
_RELATIVE = [
    (re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I), ("day", 0)),
    (re.compile(r"\b(?:yesterday|last night)\b", re.I), ("day", -1)),
    (re.compile(r"\btomorrow\b", re.I), ("day", 1)),
    (re.compile(r"\blast week(?:end)?\b|\bprevious week\b|\bweek before\b", re.I), ("week", -1)),
    (re.compile(r"\bthis week(?:end)?\b|\bearlier this week\b", re.I), ("week", 0)),
    (re.compile(r"\bnext week(?:end)?\b", re.I), ("week", 1)),
    (re.compile(r"\blast month\b|\bprevious month\b", re.I), ("month", -1)),
    (re.compile(r"\bthis month\b|\bearlier this month\b", re.I), ("month", 0)),
    (re.compile(r"\bnext month\b", re.I), ("month", 1)),
    (re.compile(r"\blast year\b|\bprevious year\b", re.I), ("year", -1)),
    (re.compile(r"\b(?:this|earlier this|later this) year\b", re.I), ("year", 0)),
    (re.compile(r"\bnext year\b", re.I), ("year", 1)),
]
# The count is a whole number: "3,300" (or "3 300", "3'300") is read in full, never as its last
# group ("300"), and "1.5 years" is no whole count at all.
_AGO = re.compile(
    r"(?<![\d.,'’])(?<!\d\s)\b"
    r"(?P<n>\d{1,3}(?:(?P<sep>[,'’]|\s)\d{3})(?:(?P=sep)\d{3})*(?![\d.,])|\d+(?![\d.,])|"
    r"a few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|few)\s+"
    r"(?P<unit>day|week|month|year)s?\s+ago\b",
    re.I,
)
MAX_COUNT_DIGITS = 7   # 9,999,999 days is beyond any date: longer counts are out of range unread
_WEEKDAY = re.compile(r"\b(?P<rel>last|next|this|on|)\s*(?P<weekday>" + "|".join(WEEKDAYS) + r")\b", re.I)


@dataclass(frozen=True)
class ResolvedDate:
    date: date
    precision: str      # day / week / month / year (schemas.models.DATE_PRECISIONS)
    text: str           # the expression it came from


def resolve(expression: str, published: date | None, tense: str = UNKNOWN) -> ResolvedDate | None:
    """The date an expression means, read against the publication date.

    Args:
        expression: a date phrase ("on August 10", "In July", "last week", "Tuesday").
        published: the article's publication date (any year 1..9999); without it only dates
            with a year resolve.
        tense: PAST, FUTURE or UNKNOWN, from the verb the date belongs to.

    Returns:
        A `ResolvedDate` (month and year precision give the first day of the period), or None:
        no date read, or one outside years 1..9999 (see `out_of_range`).
    """
    found = _resolve(expression, published, tense)
    return found if isinstance(found, ResolvedDate) else None


def out_of_range(expression: str, published: date | None, tense: str = UNKNOWN) -> bool:
    """Whether the expression names a date that lies outside years 1..9999 ("3,300 years ago").

    Args:
        expression, published, tense: as for `resolve`.

    Returns:
        True when `resolve` gives None because the date it reads is out of range.
    """
    return _resolve(expression, published, tense) is _OUT_OF_RANGE


def _resolve(expression: str, published: date | None, tense: str):
    """`resolve`, with `_OUT_OF_RANGE` where the date read is beyond years 1..9999."""
    text = expression.strip()
    if not text:
        return None
    for kind, pattern in _PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        found = _from_match(kind, match, published, tense)
        if found is _INVALID:
            return None   # "February 30" is no date, not "February"
        if found is not None:
            return _resolved(found, text)
    if published is None:
        return None
    for pattern, (unit, step) in _RELATIVE:
        if pattern.search(text):
            return _resolved(_shift(published, unit, step), text)
    match = _AGO.search(text)
    if match:
        n = match.group("n").lower()
        if n[:1].isdigit():
            n = re.sub(r"[,'’\s]", "", n)
            if len(n) > MAX_COUNT_DIGITS:
                return _OUT_OF_RANGE
        count = int(n) if n.isdigit() else NUMBER_WORDS.get(n, 1)
        return _resolved(_shift(published, match.group("unit").lower(), -count), text)
    match = _WEEKDAY.search(text)
    if match:
        day = _weekday(published, WEEKDAYS[match.group("weekday").lower()], match.group("rel").lower(), tense)
        return _resolved((day, "day") if day is not _OUT_OF_RANGE else day, text)
    return None


def _resolved(found, text: str):
    return ResolvedDate(found[0], found[1], text) if isinstance(found, tuple) else found


def _from_match(kind: str, match: re.Match, published: date | None, tense: str) -> tuple[date, str] | None:
    groups = match.groupdict()
    month = groups.get("month")
    if month is not None:
        month = int(month) if month.isdigit() else MONTHS.get(month.lower().rstrip("."))
        if month is None or not 1 <= month <= 12:
            return None
    year = int(groups["year"]) if groups.get("year") else None
    day = int(groups["day"]) if groups.get("day") else None
    try:
        if kind in {"iso", "mdy", "dmy"}:
            return date(year, month, day), "day"
        if kind == "my":
            return date(year, month, 1), "month"
        if kind == "y":
            return date(year, 1, 1), "year"
        if published is None:
            return None
        if kind in {"md", "dm"}:
            found = _nearest_year(published, tense, lambda y: date(y, month, day))
            return (found, "day") if found is not _OUT_OF_RANGE else found
        if kind == "m":
            found = _nearest_year(published, tense, lambda y: date(y, month, 1), month_level=True)
            return (found, "month") if found is not _OUT_OF_RANGE else found
    except ValueError:   # 31 June, 30 February
        return _INVALID
    return None


_INVALID = object()        # no such date: "February 30"
_OUT_OF_RANGE = object()   # a date, but before year 1 or after 9999


def _nearest_year(published: date, tense: str, make, month_level: bool = False):
    """Place a yearless date: on or before publication (past), on or after (future), else nearest.

    `_OUT_OF_RANGE` when the year it belongs to is ("December 20", past, published in year 1).
    """
    # At the ends of the range the neighbouring year does not exist: decide 400 years (one full
    # Gregorian cycle: the same leap years) inside the range, then move the answer back.
    cycle = 400 if published.year == date.min.year else -400 if published.year == date.max.year else 0
    anchor = published.replace(year=published.year + cycle)
    if month_level:
        anchor = anchor.replace(day=1)
    candidates = []
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            candidates.append(make(year))
        except ValueError:   # 29 February in a common year
            continue
    if not candidates:
        raise ValueError("no such date")
    before = [c for c in candidates if c <= anchor]
    after = [c for c in candidates if c >= anchor]
    if tense == PAST and before:
        found = max(before)
    elif tense == FUTURE and after:
        found = min(after)
    else:
        found = min(candidates, key=lambda c: (abs((c - anchor).days), c > anchor))
    if not date.min.year <= found.year - cycle <= date.max.year:
        return _OUT_OF_RANGE
    return found.replace(year=found.year - cycle)


def _shift(published: date, unit: str, step: int):
    """`published` moved by `step` units, as (date, precision); `_OUT_OF_RANGE` past year 1 or 9999."""
    try:
        if unit == "day":
            return published + timedelta(days=step), "day"
        if unit == "week":
            start = published - timedelta(days=published.weekday())   # weeks start on Monday
            return start + timedelta(weeks=step), "week"
        if unit == "month":
            index = published.year * 12 + published.month - 1 + step
            return date(index // 12, index % 12 + 1, 1), "month"
        return date(published.year + step, 1, 1), "year"
    except (OverflowError, ValueError):   # before year 1 or after 9999
        return _OUT_OF_RANGE


def _weekday(published: date, weekday: int, rel: str, tense: str):
    back = (published.weekday() - weekday) % 7
    try:
        if rel == "next" or (tense == FUTURE and rel != "last"):
            ahead = (weekday - published.weekday()) % 7 or 7
            return published + timedelta(days=ahead)
        if rel == "last" and back == 0:
            back = 7
        return published - timedelta(days=back)
    except OverflowError:   # before year 1 or after 9999
        return _OUT_OF_RANGE
