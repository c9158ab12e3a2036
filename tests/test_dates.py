"""Date resolution against the publication date: examples and properties."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirehouse.tasks.dates import FUTURE, PAST, UNKNOWN, out_of_range, resolve

PUBLISHED = date(2021, 8, 13)   # a Friday
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _r(text, tense=UNKNOWN, published=PUBLISHED):
    found = resolve(text, published, tense)
    return (found.date.isoformat(), found.precision) if found else None


def test_examples_from_a_brief_published_13_august_2021():
    assert _r("August 10", PAST) == ("2021-08-10", "day")
    assert _r("on August 11") == ("2021-08-11", "day")
    assert _r("In July", PAST) == ("2021-07-01", "month")
    assert _r("last week") == ("2021-08-02", "week")           # the week before, from its Monday
    assert _r("earlier this year") == ("2021-01-01", "year")
    assert _r("Tuesday", PAST) == ("2021-08-10", "day")
    assert _r("on Friday", PAST) == ("2021-08-13", "day")        # the day of publication
    assert _r("last Friday") == ("2021-08-06", "day")
    assert _r("next Monday") == ("2021-08-16", "day")
    assert _r("yesterday") == ("2021-08-12", "day")
    assert _r("two days ago") == ("2021-08-11", "day")
    assert _r("three weeks ago")[1] == "week"
    assert _r("last month") == ("2021-07-01", "month")
    assert _r("last year") == ("2020-01-01", "year")


def test_explicit_years_and_formats():
    assert _r("10 August 2021") == ("2021-08-10", "day")
    assert _r("Aug. 10, 2019") == ("2019-08-10", "day")
    assert _r("2020-02-29") == ("2020-02-29", "day")
    assert _r("March 2020") == ("2020-03-01", "month")
    assert _r("in 2019") == ("2019-01-01", "year")
    assert _r("the 10th of August") == ("2021-08-10", "day")


def test_year_is_chosen_by_tense():
    assert _r("December 20", PAST) == ("2020-12-20", "day")     # a past report: last December
    assert _r("December 20", FUTURE) == ("2021-12-20", "day")
    assert _r("September 2", UNKNOWN) == ("2021-09-02", "day")   # nearest
    assert _r("in January", FUTURE) == ("2022-01-01", "month")


def test_unresolvable():
    assert resolve("recently", PUBLISHED) is None
    assert resolve("August 10", None) is None                  # no anchor, no year
    assert _r("February 30") is None
    assert resolve("", PUBLISHED) is None


published_dates = st.dates(min_value=date(1995, 1, 1), max_value=date(2035, 12, 31))
past_expressions = st.one_of(
    st.builds(lambda m, d: f"{m} {d}", st.sampled_from(MONTHS), st.integers(1, 28)),
    st.builds(lambda d, m: f"on {d} {m}", st.integers(1, 28), st.sampled_from(MONTHS)),
    st.builds(lambda m: f"in {m}", st.sampled_from(MONTHS)),
    st.builds(lambda w: f"on {w}", st.sampled_from(WEEKDAYS)),
    st.builds(lambda w: f"last {w}", st.sampled_from(WEEKDAYS)),
    st.builds(lambda n, u: f"{n} {u} ago", st.integers(1, 30), st.sampled_from(["days", "weeks", "months", "years"])),
    st.sampled_from(["yesterday", "today", "last week", "earlier this week", "last month", "last year", "earlier this year"]),
)


@settings(max_examples=400, deadline=None)
@given(published_dates, past_expressions)
def test_a_past_report_is_never_dated_after_publication(published, expression):
    found = resolve(expression, published, PAST)
    assert found is not None
    assert found.date <= published
    assert found.precision in ("day", "week", "month", "year")


@settings(max_examples=300, deadline=None)
@given(published_dates, st.sampled_from(MONTHS), st.integers(1, 28))
def test_future_is_never_before_and_unknown_is_within_half_a_year(published, month, day):
    expression = f"{month} {day}"
    assert resolve(expression, published, FUTURE).date >= published
    nearest = resolve(expression, published, UNKNOWN).date
    assert abs((nearest - published).days) <= 184


@settings(max_examples=200, deadline=None)
@given(published_dates, st.sampled_from(WEEKDAYS))
def test_weekdays_fall_within_a_week(published, weekday):
    past = resolve(weekday, published, PAST).date
    assert published - timedelta(days=6) <= past <= published
    assert past.strftime("%A") == weekday
    future = resolve(f"next {weekday}", published, UNKNOWN).date
    assert published < future <= published + timedelta(days=7)


def test_counts_with_thousands_separators_are_read_whole():
    # "3,300" was read as its last group: "300 years ago", dated 1721 here.
    assert _r("3,300 years ago", PAST) is None                  # 1280 BC: no date, not a wrong one
    assert _r("some 3,300 years ago") is None
    assert _r("3 300 years ago") is None and _r("3’300 years ago") is None
    assert _r("1,200 years ago") == ("0821-01-01", "year")
    assert _r("2,000 days ago") == ((PUBLISHED - timedelta(days=2000)).isoformat(), "day")
    assert _r("1.5 years ago") is None                           # not a whole count: not "5 years ago"
    assert _r("300 years ago") == ("1721-01-01", "year")
    assert _r("9" * 5000 + " days ago") is None                  # beyond int() parsing: out of range unread
    assert out_of_range("3,300 years ago", PUBLISHED) and out_of_range("9" * 5000 + " days ago", PUBLISHED)
    assert not out_of_range("recently", PUBLISHED) and not out_of_range("300 years ago", PUBLISHED)


def test_any_publication_year_anchors_and_out_of_range_is_none():
    assert _r("last week", published=date(1, 1, 7)) is None      # the week before the first Monday
    assert _r("last week", published=date(1, 1, 8)) == ("0001-01-01", "week")
    assert _r("next year", published=date(9999, 12, 31)) is None
    assert _r("last year", published=date(9999, 12, 31)) == ("9998-01-01", "year")
    assert _r("tomorrow", published=date(9999, 12, 31)) is None
    assert _r("yesterday", published=date(1, 1, 1)) is None
    assert _r("next month", published=date(9999, 12, 1)) is None
    assert _r("next Monday", published=date(9999, 12, 31)) is None
    assert _r("December 20", PAST, published=date(1, 1, 1)) is None
    assert _r("December 20", FUTURE, published=date(1, 1, 1)) == ("0001-12-20", "day")
    assert _r("in January", UNKNOWN, published=date(9999, 12, 30)) is None   # nearest is in 10000
    assert _r("last week", published=date(1800, 5, 1)) == ("1800-04-21", "week")
    assert _r("two days ago", published=date(2099, 5, 1)) == ("2099-04-29", "day")


any_expressions = st.one_of(
    past_expressions,
    st.sampled_from(["tomorrow", "next week", "next month", "next year", "this week", "next Friday", "in December"]),
    st.builds(lambda m, d: f"{m} {d}", st.sampled_from(MONTHS), st.integers(1, 31)),
    st.builds(lambda n, u: f"{n:,} {u} ago", st.integers(0, 10**9), st.sampled_from(["days", "weeks", "months", "years"])),
)


@pytest.mark.slow   # 400 hypothesis examples: over 2 s
@settings(max_examples=400, deadline=None)
@given(st.dates(), any_expressions, st.sampled_from([PAST, FUTURE, UNKNOWN]))
def test_no_publication_date_makes_resolution_raise(published, expression, tense):
    found = resolve(expression, published, tense)
    assert found is None or date.min <= found.date <= date.max


@pytest.mark.slow   # 400 hypothesis examples: over 2 s
@settings(max_examples=400, deadline=None)
@given(st.dates(), st.integers(0, 10**8))
def test_days_ago_is_none_only_out_of_range(published, days):
    found = resolve(f"{days:,} days ago", published, PAST)
    if published.toordinal() - days >= 1:
        assert found is not None and found.date == published - timedelta(days=days)
    else:
        assert found is None and out_of_range(f"{days:,} days ago", published, PAST)
