"""Date resolution against the publication date: examples and properties."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.dates import FUTURE, PAST, UNKNOWN, resolve

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
