import gzip

import pytest

from wirehouse.tasks.discover import UnsafeXML, looks_like_article, parse_feed, parse_listing, parse_sitemap

RSS2 = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>A</title><link>https://ex.org/2026/03/a-story.html?utm_source=rss&amp;utm_medium=feed</link></item>
<item><title>B</title><link>/2026/03/b-story.html</link></item>
<item><title>A again</title><link>https://EX.org/2026/03/a-story.html#comments</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>A</title><id>tag:ex.org,2026:1</id><link rel="alternate" href="https://ex.org/news/first-long-story"/></entry>
<entry><title>B</title><id>tag:ex.org,2026:2</id><link rel="enclosure" href="https://ex.org/img.jpg"/><link href="https://ex.org/news/second-story-here"/></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://ex.org/"><title>T</title><link>https://ex.org/</link></channel>
<item rdf:about="https://ex.org/briefs/one-brief-title"><title>One</title><link>https://ex.org/briefs/one-brief-title</link></item>
</rdf:RDF>"""


def test_rss2_links_normalized_and_deduplicated():
    assert parse_feed(RSS2, "https://ex.org/feed.xml") == [
        "https://ex.org/2026/03/a-story.html",
        "https://ex.org/2026/03/b-story.html",
    ]


def test_atom_prefers_alternate_link():
    assert parse_feed(ATOM, "https://ex.org/atom.xml") == [
        "https://ex.org/news/first-long-story",
        "https://ex.org/news/second-story-here",
    ]


def test_rss1():
    assert parse_feed(RDF, "https://ex.org/index.rdf") == ["https://ex.org/briefs/one-brief-title"]


ODD_LINKS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><link>javascript:alert(1)</link></item>
<item><link>file:///etc/passwd</link></item>
<item><link>http://ex ample.com/</link></item>
<item><link>/2026/03/b-story.html</link></item>
<item><title>no link at all</title></item>
</channel></rss>"""


def test_feed_links_that_are_not_http_urls_are_reported_not_dropped():
    rejected = []
    assert parse_feed(ODD_LINKS, "https://ex.org/feed.xml", rejected) == ["https://ex.org/2026/03/b-story.html"]
    assert [kind for kind, _ in rejected] == ["page"] * 3
    assert [link for _, link in rejected][0::2] == ["javascript:alert(1)", "http://ex ample.com/"]
    assert rejected[1][1].startswith("file:")
    assert parse_feed(ODD_LINKS, "https://ex.org/feed.xml") == ["https://ex.org/2026/03/b-story.html"]   # collector optional


def test_garbage_feed_gives_nothing():
    assert parse_feed(b"\x00\x01 not a feed", "https://ex.org/f") == []


INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://ex.org/sitemap-1.xml</loc></sitemap><sitemap><loc>https://ex.org/news-sitemap.xml</loc></sitemap>
</sitemapindex>"""
NEWS = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://ex.org/2026/05/x-story.html</loc><news:news><news:title>X</news:title></news:news></url>
<url><loc> https://ex.org/2026/05/y-story.html?utm_campaign=n </loc></url>
<url><loc>mailto:nobody@ex.org</loc></url>
</urlset>"""


def test_sitemap_index_and_news_sitemap():
    assert parse_sitemap(INDEX) == ([], ["https://ex.org/sitemap-1.xml", "https://ex.org/news-sitemap.xml"])
    pages, children = parse_sitemap(NEWS)
    assert pages == ["https://ex.org/2026/05/x-story.html", "https://ex.org/2026/05/y-story.html"]
    assert children == []


def test_sitemap_locs_that_are_not_http_urls_are_reported_with_their_kind():
    rejected = []
    parse_sitemap(NEWS, rejected)
    assert rejected == [("page", "mailto:nobody@ex.org")]
    index = INDEX.replace(b"https://ex.org/sitemap-1.xml", b"ftp://ex.org/sitemap-1.xml")
    rejected = []
    assert parse_sitemap(index, rejected) == ([], ["https://ex.org/news-sitemap.xml"])
    assert rejected == [("sitemap", "ftp://ex.org/sitemap-1.xml")]


def test_gzipped_sitemap():
    assert parse_sitemap(gzip.compress(NEWS))[0][0] == "https://ex.org/2026/05/x-story.html"


LISTING = """<html><body>
<nav><a href="/2026/01/nav-linked-story.html">nav</a></nav>
<header><a href="/about/">About</a></header>
<main>
  <a href="/2026/03/baltic-air-policing.html?utm_source=home">Story</a>
  <a href="/analysis/sahel-junta-security-pact">Sahel</a>
  <a href="/tag/nato/">NATO tag</a>
  <a href="/author/jane-doe/">Jane</a>
  <a href="/files/report-2026-annual.pdf">PDF</a>
  <a href="https://other.org/2026/03/elsewhere.html">elsewhere</a>
  <a href="#top">top</a><a href="mailto:x@y.z">mail</a>
  <a href="/analysis/">self</a>
</main>
<footer><a href="/2026/02/footer-story.html">f</a></footer>
</body></html>"""


def test_listing_keeps_same_site_article_links_outside_nav():
    assert parse_listing(LISTING, "https://ex.org/analysis/") == [
        "https://ex.org/2026/03/baltic-air-policing.html",
        "https://ex.org/analysis/sahel-junta-security-pact",
    ]


def test_article_shapes():
    assert looks_like_article("https://ex.org/2026/03/x.html")
    assert looks_like_article("https://ex.org/briefs/russia-pursues-twin-track-policy")
    assert not looks_like_article("https://ex.org/")
    assert not looks_like_article("https://ex.org/contact/")
    assert not looks_like_article("https://ex.org/briefs/page/2/")
    assert not looks_like_article("https://ex.org/image-of-the-day.jpg")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
RSS_BODY = b'<rss version="2.0"><channel><title>&lol9;</title><item><link>https://ex.org/2026/01/a-b-c</link></item></channel></rss>'
URLSET_BODY = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://ex.org/2026/01/&lol9;</loc></url></urlset>'
XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
PARAMETER_ENTITY = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, XXE, PARAMETER_ENTITY], ids=["billion-laughs", "xxe", "parameter-entity"])
def test_entity_declarations_are_refused_in_feeds_and_sitemaps(prolog):
    with pytest.raises(UnsafeXML, match="declares entities"):
        parse_feed(prolog + RSS_BODY.replace(b"&lol9;", b"x"), "https://ex.org/f")
    with pytest.raises(UnsafeXML):
        parse_sitemap(prolog + URLSET_BODY)
    with pytest.raises(UnsafeXML):
        parse_sitemap(gzip.compress(prolog + URLSET_BODY))
    wide = (prolog + RSS_BODY).decode("utf-8").encode("utf-16")  # with a BOM, as UTF-16 feeds come
    with pytest.raises(UnsafeXML):
        parse_feed(wide, "https://ex.org/f")


def test_plain_doctype_and_entity_text_in_content_are_fine():
    rss091 = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
              b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
              b"<item><title>How &lt;!ENTITY&gt; works</title><link>https://ex.org/2026/01/xml-entities-explained</link>"
              b"</item></channel></rss>")
    assert parse_feed(rss091, "https://ex.org/f") == ["https://ex.org/2026/01/xml-entities-explained"]


@pytest.mark.slow   # 100,000 URLs: about 8 s
def test_sitemap_of_100k_urls_parses_in_full():
    urls = b"".join(b"<url><loc>https://ex.org/2026/01/story-number-%d</loc></url>" % i for i in range(100_000))
    body = gzip.compress(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + urls + b"</urlset>")
    pages, children = parse_sitemap(body)
    assert len(pages) == 100_000 and children == []
