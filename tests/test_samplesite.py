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


def test_the_standalone_site_writes_a_sources_file_that_points_at_it(tmp_path):
    """`python -m wirehouse.samplesite --write-sources FILE`: what the README gives to put the sample
    site behind `wirehouse serve`; the file names the running site's addresses, and they answer."""
    import socket
    import subprocess
    import sys
    import time
    import tomllib
    import urllib.request

    with socket.socket() as probe:   # a free port; the site takes it and the next ones
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sources = tmp_path / "sources.toml"
    proc = subprocess.Popen([sys.executable, "-m", "wirehouse.samplesite", "--port", str(port), "--write-sources", str(sources)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sources.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        config = tomllib.loads(sources.read_text(encoding="utf-8"))
        feed = config["sources"][0]["feeds"][0]
        assert "{{BASE:" not in feed and feed.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(feed, timeout=10) as response:
            assert response.status == 200 and b"<" in response.read(200)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
