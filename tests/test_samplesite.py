"""The bundled sample site as served on loopback: placeholders, validators, traps."""

import gzip
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

EXPECTED = json.loads((Path(__file__).resolve().parents[1] / "samples" / "expected.json").read_text(encoding="utf-8"))


def get(base, path, headers=None):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_shape_of_the_site():
    assert len({a["publisher"] for a in EXPECTED["articles"]}) == 3
    assert len(EXPECTED["articles"]) >= 42
    assert {"tracking_duplicates", "canonical_pair", "dead_link", "non_article", "cp1252", "no_date", "too_large", "republished"} <= set(EXPECTED["traps"])


def test_publishers_on_distinct_hosts_with_placeholders_filled(sample_site):
    assert len({urlsplit(b).netloc for b in sample_site.base_urls.values()}) == 3
    response, body = get(sample_site.base_urls["meridian"], "/feed.xml")
    assert response.status == 200 and response.getheader("Content-Type") == "application/rss+xml"
    assert b"{{BASE" not in body and sample_site.base_urls["meridian"].encode() in body


def test_conditional_get(sample_site):
    article = EXPECTED["articles"][0]
    base = sample_site.base_urls[article["publisher"]]
    response, _ = get(base, article["path"])
    etag = response.getheader("ETag")
    again, body = get(base, article["path"], {"If-None-Match": etag})
    assert again.status == 304 and body == b""


def test_traps_served(sample_site):
    t = EXPECTED["traps"]
    response, body = get(sample_site.base_urls["meridian"], t["too_large"]["path"])
    assert response.getheader("Content-Encoding") == "gzip" and len(gzip.decompress(body)) > 6_000_000
    response, body = get(sample_site.base_urls["baltic-desk"], t["cp1252"]["path"])
    assert response.getheader("Content-Type") == "text/html"
    assert "’".encode("cp1252") in body and b'charset="windows-1252"' in body
    response, _ = get(sample_site.base_urls["horizon-brief"], t["dead_link"]["path"])
    assert response.status == 404
    response, _ = get(sample_site.base_urls["baltic-desk"], t["redirect"]["from"])
    assert response.status == 301 and response.getheader("Location") == t["redirect"]["to"]
