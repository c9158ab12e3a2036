"""Tests for tasks/extract.py: markup too deep for libxml2."""

from __future__ import annotations

import pytest

from tasks.extract import MAX_DEPTH, _Flattener, _parse, extract_article

PROSE = "Officials met in Vilnius on Monday to discuss the border agreement and the new security talks. " * 5


def page(head: str = "", body: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><title>Talks in Vilnius</title>{head}</head><body>"
            f"{body or f'<article><h1>Talks</h1><p>{PROSE}</p><p>Second paragraph. {PROSE}</p></article>'}</body></html>")


# ---- deeply nested markup ---------------------------------------------------------------------------


def deep(levels: int) -> str:
    inner = f"<article><h1>Deep</h1><p>Inside the nesting. {PROSE}</p><p>Still inside &amp; deep. {PROSE}</p></article>"
    return page(body="<div class='x'>" * levels + inner + "</div>" * levels + "<footer><p>Footer after.</p></footer>")


@pytest.mark.parametrize("levels", [300, 50_000])
def test_article_inside_deep_nesting_is_extracted(levels):
    article = extract_article(deep(levels), "https://ex.org/2026/01/deep-story")
    assert article is not None, "libxml2 stops at 256 levels; the page must be flattened first"
    assert "Inside the nesting." in article["text"] and "Still inside & deep." in article["text"]


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

    with caplog.at_level(logging.INFO, logger="tasks.extract"):
        assert extract_article(deep(200), "https://ex.org/a") is not None
        assert not [r for r in caplog.records if "flattened" in r.getMessage()]
        extract_article(deep(1000), "https://ex.org/a")
    # html, body, 1000 divs, article, p
    assert any("markup nested 1004 deep" in r.getMessage() for r in caplog.records)
