import pytest

from wirehouse.urls import InvalidURL, article_id, normalize_url, same_site, try_normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HTTP://Example.ORG:80/a/b?b=2&a=1#top", "http://example.org/a/b?a=1&b=2"),
        ("https://example.org:443", "https://example.org/"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("https://ex.org/p?utm_source=rss&utm_medium=feed&id=7", "https://ex.org/p?id=7"),
        ("https://ex.org/p?fbclid=abc&gclid=x&mc_cid=1&mc_eid=2", "https://ex.org/p"),
        ("https://ex.org/a//b/./c/../d", "https://ex.org/a/b/d"),
        ("https://ex.org/caf%C3%A9", "https://ex.org/caf%C3%A9"),
        ("https://ex.org/café", "https://ex.org/caf%C3%A9"),
    ],
)
def test_normalize(raw, expected):
    assert normalize_url(raw) == expected


def test_relative_resolved_against_base():
    assert normalize_url("../x.html?utm_campaign=z", "https://Ex.org/a/b/") == "https://ex.org/a/x.html"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("ftp://ex.org/f", "unsupported scheme"), ("mailto:a@b.c", "unsupported scheme"),
        ("javascript:void(0)", "unsupported scheme"), ("file:///etc/passwd", "unsupported scheme"),
        ("http://", "invalid URL"), ("not a url", "invalid URL"), ("http://ex ample.com/", "invalid URL"),
        ("http://ex%20ample.com/2026/01/x", "invalid URL"), ("http://[::1/", "invalid URL"),
    ],
)
def test_rejects_non_http_and_malformed_hosts(bad, reason):
    with pytest.raises(InvalidURL) as info:
        normalize_url(bad)
    assert info.value.reason == reason
    assert try_normalize(bad) is None


@pytest.mark.parametrize("host", ["a_b.ex.org", "xn--r8jz45g.jp", "例え.jp", "127.0.0.1", "[::1]", "EX.org."])
def test_unusual_but_valid_hosts_are_kept(host):
    assert normalize_url(f"http://{host}/x").startswith("http://")


def test_article_id_stable_and_distinct():
    a = article_id("https://ex.org/a")
    assert a == article_id("https://ex.org/a")
    assert a != article_id("https://ex.org/b")
    assert len(a) == 16 and int(a, 16) >= 0


def test_same_site_ignores_www():
    assert same_site("https://www.ex.org/a", "https://ex.org/b")
    assert not same_site("https://ex.org/a", "https://other.org/a")


def test_query_bare_keys_and_encoding_kept():
    assert normalize_url("https://ex.org/a?amp&b=x%20y&utm_term=z") == "https://ex.org/a?amp&b=x%20y"
    assert normalize_url("https://ex.org/a?q=a%26b") == "https://ex.org/a?q=a%26b"


def test_redact_url_hides_userinfo_and_secret_params():
    from wirehouse.urls import redact_url

    url = "https://alice:s3cret@news.example.org/a?id=7&api_key=K123&Signature=abc&page=2&access_token=T9"
    redacted = redact_url(url)
    assert redacted == "https://***@news.example.org/a?id=7&api_key=***&Signature=***&page=2&access_token=***"
    for secret in ("alice", "s3cret", "K123", "abc", "T9"):
        assert secret not in redacted
    assert redact_url("https://x.org/2026/05/story?id=1") == "https://x.org/2026/05/story?id=1"
