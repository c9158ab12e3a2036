"""Tests for tasks/extract.py: markup too deep for libxml2, and publication dates with their offset."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from wirehouse.schemas.models import EARLIEST_PLAUSIBLE_DATE, plausible_date
from wirehouse.tasks.extract import MAX_DEPTH, _Flattener, _parse, extract_article

PROSE = "Officials met in Vilnius on Monday to discuss the border agreement and the new security talks. " * 5


def page(head: str = "", body: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><title>Talks in Vilnius</title>{head}</head><body>"
            f"{body or f'<article><h1>Talks</h1><p>{PROSE}</p><p>Second paragraph. {PROSE}</p></article>'}</body></html>")


# ---- deeply nested markup ---------------------------------------------------------------------------


def deep(levels: int) -> str:
    inner = f"<article><h1>Deep</h1><p>Inside the nesting. {PROSE}</p><p>Still inside &amp; deep. {PROSE}</p></article>"
    return page(body="<div class='x'>" * levels + inner + "</div>" * levels + "<footer><p>Footer after.</p></footer>")


@pytest.mark.parametrize("levels", [300, pytest.param(50_000, marks=pytest.mark.slow)])   # 50,000: about 3 s
def test_article_inside_deep_nesting_is_extracted(levels):
    article = extract_article(deep(levels), "https://ex.org/2026/01/deep-story")
    assert article is not None, "libxml2 stops at 256 levels; the page must be flattened first"
    assert "Inside the nesting." in article["text"] and "Still inside & deep." in article["text"]


@pytest.mark.slow   # 50,000 nested divs parsed: about 4 s
def test_flattening_keeps_text_and_bounds_depth():
    tree = _parse(deep(50_000))
    depth = max(sum(1 for _ in element.iterancestors()) for element in tree.iter())
    assert depth <= MAX_DEPTH
    assert "Footer after." in tree.text_content()   # what follows the deep block is read, too


def test_flattener_passes_shallow_markup_unchanged():
    html = "<!DOCTYPE html><html><body><p class=a>x &amp; y &#233;<br/><img src='i.png'></p><script>if (a<b) {}</script></body></html>"
    assert _Flattener().flatten(html) == html


def test_shallow_pages_are_not_flattened(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="wirehouse.tasks.extract"):
        assert extract_article(deep(200), "https://ex.org/a") is not None
        assert not [r for r in caplog.records if "flattened" in r.getMessage()]
        extract_article(deep(1000), "https://ex.org/a")
    # html, body, 1000 divs, article, p
    assert any("markup nested 1004 deep" in r.getMessage() for r in caplog.records)


# ---- publication dates --------------------------------------------------------------------------------


def dated(meta: str) -> dict:
    article = extract_article(page(head=meta), "https://ex.org/2026/01/talks-in-vilnius")
    assert article is not None
    return article


def test_time_with_offset_gives_local_day_and_utc_instant():
    article = dated('<meta property="article:published_time" content="2021-08-13T23:30:00-05:00">')
    assert article["published_at"] == date(2021, 8, 13)        # the day where it was published
    assert article["published_ts"] == datetime(2021, 8, 14, 4, 30, tzinfo=timezone.utc)


def test_json_ld_date_published_with_offset():
    article = dated('<script type="application/ld+json">{"@type": "NewsArticle", '
                    '"datePublished": "2021-08-13T23:30:00+02:00"}</script>')
    assert article["published_at"] == date(2021, 8, 13)
    assert article["published_ts"] == datetime(2021, 8, 13, 21, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("meta", ['<meta name="date" content="2021-08-13">',
                                  '<meta property="article:published_time" content="2021-08-13T23:30:00">'])
def test_a_day_or_a_time_without_offset_gives_no_instant(meta):
    article = dated(meta)
    assert article["published_at"] == date(2021, 8, 13) and article["published_ts"] is None


@pytest.mark.parametrize(("stamp", "day"), [("2099-05-01T10:00:00+00:00", date(2099, 5, 1)),
                                            ("1800-05-01T10:00:00+00:00", date(1800, 5, 1))])
def test_implausible_dates_are_kept(stamp, day):
    article = dated(f'<meta property="article:published_time" content="{stamp}">')
    assert article["published_at"] == day
    assert not plausible_date(day)


def test_a_plausible_date_wins_over_an_implausible_one():
    article = dated('<meta name="date" content="1800-05-01"><meta property="article:published_time" content="2021-08-13T10:00:00Z">')
    assert article["published_at"] == date(2021, 8, 13)


def test_plausible_range():
    assert plausible_date(EARLIEST_PLAUSIBLE_DATE) and plausible_date(datetime.now(timezone.utc).date())
    assert not plausible_date(date(1994, 12, 31)) and not plausible_date(date(2099, 1, 1))
