"""Build the bundled sample news site (samples/site/) and its ground truth (samples/expected.json).

Input: samples/articles.json (the briefs' text). Output is committed; rerun after editing the input:
    .venv/bin/python samples/build_site.py

Three fictional publishers with different templates and discovery surfaces, and the traps the
pipeline must survive (see TRAPS in expected.json). Absolute links are written as {{BASE:<slug>}};
wirehouse/samplesite.py substitutes each publisher's loopback base URL when serving.
"""

from __future__ import annotations

import gzip
import html
import json
import random
import shutil
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
NAMES = {"meridian": "Meridian Security Review", "baltic-desk": "The Baltic Desk", "horizon-brief": "Horizon Policy Brief"}
BOILERPLATE = [
    "Support Us", "Donate now", "Share on X", "Copy link", "Related posts", "Reader comments",
    "We use cookies", "All rights reserved", "Sign up for our newsletter",
]
COMMENTS = [
    ("Marta K.", "Useful overview, though I think the timeline understates how fast things moved after the summit."),
    ("J. Okafor", "Would like to see a follow-up on what this means for shipping insurance rates in the region."),
    ("anon_reader", "Great piece. Sharing this with my students for next week’s seminar."),
]
E = html.escape


def b(slug: str) -> str:
    return "{{BASE:%s}}" % slug


def human_date(d: date, style: str) -> str:
    if style == "us":
        return d.strftime("%B ") + str(d.day) + d.strftime(", %Y")
    if style == "eu":
        return f"{d.day} {d.strftime('%B %Y')}"
    return d.strftime("%d.%m.%Y")


def boilerplate_blocks(pub: str, related: list[dict]) -> dict[str, str]:
    rel = "".join(f'<li><a href="{E(a["path"])}">{E(a["title"])}</a></li>' for a in related)
    comments = "".join(f'<div class="comment"><b>{E(n)}</b><p>{E(t)}</p></div>' for n, t in COMMENTS)
    return {
        "cookie": '<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>',
        "share": '<div class="share-buttons"><a href="#">Share on X</a> <a href="#">Facebook</a> <a href="#">LinkedIn</a> <a href="#">Copy link</a></div>',
        "donate": f'<div class="donation-box"><h3>Support Us</h3><p>If content prepared by the {E(NAMES[pub])} team is useful for you, please support our work. Donations from readers keep our analysis free.</p><a class="btn" href="/donate/">Donate now</a></div>',
        "related": f'<section class="related-posts"><h3>Related posts</h3><ul>{rel}</ul></section>',
        "comments": f'<section class="comments"><h3>Reader comments</h3>{comments}<form><textarea></textarea><button>Post comment</button></form></section>',
        "newsletter": '<div class="newsletter">Sign up for our newsletter: <input type="email"> <button>Subscribe</button></div>',
    }


def body_html(a: dict) -> str:
    return "\n".join(f"<p>{E(p)}</p>" for p in a["paragraphs"])


def page_meridian(a: dict, related: list[dict], canonical: str | None = None) -> str:
    bp = boilerplate_blocks("meridian", related)
    d = date.fromisoformat(a["date"])
    tags = "".join(f'<meta property="article:tag" content="{E(t)}">' for t in a["tags"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{E(a['title'])} | Meridian Security Review</title>
<meta property="og:site_name" content="Meridian Security Review">
<meta property="og:title" content="{E(a['title'])}">
<meta property="og:type" content="article">
<meta property="og:image" content="{b('meridian')}/img/{a['slug']}.jpg">
<meta name="author" content="{E(a['author'])}">
<meta property="article:published_time" content="{a['date']}T08:30:00+00:00">
<meta property="article:section" content="{E(a['section'])}">{tags}
<link rel="canonical" href="{canonical or b('meridian') + a['path']}">
</head><body>
{bp['cookie']}
<header class="site-header"><a class="logo" href="/">Meridian Security Review</a>
<nav class="main-nav"><a href="/analysis/">Analysis</a> <a href="/tag/nato/">NATO</a> <a href="/about/">About</a> <a href="/contact/">Contact</a> <a href="/donate/">Donate</a></nav></header>
<main><article class="post">
<div class="post-meta"><span class="category">{E(a['section'])}</span> · <span class="byline">By {E(a['author'])}</span> · <span class="date">{human_date(d, 'us')}</span></div>
<h1 class="post-title">{E(a['title'])}</h1>
{bp['share']}
<div class="post-body">
{body_html(a)}
</div>
<div class="post-tags">{''.join(f'<a rel="tag" href="/tag/{E(t.lower().replace(" ", "-"))}/">{E(t)}</a> ' for t in a['tags'])}</div>
{bp['share']}
</article>
{bp['donate']}
{bp['related']}
{bp['comments']}
</main>
<footer class="site-footer">{bp['newsletter']}<p>© {d.year} Meridian Security Review. All rights reserved.</p><a href="/privacy/">Privacy</a></footer>
</body></html>
"""


def page_baltic(a: dict, related: list[dict], charset: str = "utf-8") -> str:
    bp = boilerplate_blocks("baltic-desk", related)
    d = date.fromisoformat(a["date"])
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": a["title"],
        "datePublished": f"{a['date']}T06:00:00Z", "author": {"@type": "Person", "name": a["author"]},
        "publisher": {"@type": "Organization", "name": "The Baltic Desk"}, "articleSection": a["section"],
        "keywords": ", ".join(a["tags"]),
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}">
<title>{E(a['title'])} - The Baltic Desk</title>
<meta property="og:site_name" content="The Baltic Desk">
<link rel="canonical" href="{b('baltic-desk')}{a['path']}">
<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
</head><body class="bd">
<div id="top-bar"><ul class="menu"><li><a href="/">Home</a></li><li><a href="/news/">News</a></li><li><a href="/region/estonia/">Estonia</a></li><li><a href="/region/latvia/">Latvia</a></li><li><a href="/region/lithuania/">Lithuania</a></li></ul></div>
{bp['cookie']}
<div class="layout"><div class="content-col">
<div class="story-head"><h1>{E(a['title'])}</h1><p class="dateline">{human_date(d, 'eu')} — {E(a['author'])}</p></div>
<div class="story-text">
{body_html(a)}
</div>
{bp['share']}
{bp['comments']}
</div>
<div class="sidebar">{bp['donate']}{bp['related']}<div class="most-read"><h4>Most read</h4><ol><li>Weekly security digest</li><li>Energy markets roundup</li></ol></div></div></div>
<div class="bd-footer">{bp['newsletter']}<span>The Baltic Desk © {d.year}. All rights reserved.</span></div>
</body></html>
"""


def page_horizon(a: dict, related: list[dict], dated: bool = True, canonical: str | None = None) -> str:
    bp = boilerplate_blocks("horizon-brief", related)
    d = date.fromisoformat(a["date"]) if dated else None
    when = f'<time datetime="{a["date"]}">{human_date(d, "dot")}</time>' if d else ""
    year = d.year if d else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{E(a['title'])} · Horizon Policy Brief</title>
<meta property="og:site_name" content="Horizon Policy Brief">
<meta name="description" content="{E(a['paragraphs'][0][:150])}">
<link rel="canonical" href="{canonical or b('horizon-brief') + a['path']}">
</head><body>
<div class="hpb-wrap"><div class="hpb-nav"><a href="/">Horizon</a> | <a href="/briefs/">Briefs</a> | <a href="/programs/">Programs</a> | <a href="/experts/">Experts</a> | <a href="/donate/">Donate</a></div>
{bp['cookie']}
<div class="brief">
<div class="kicker">{E(a['section'])} Brief</div>
<h1 class="brief-title">{E(a['title'])}</h1>
<div class="by">{E(a['author'])} {when}</div>
{bp['share']}
<section class="brief-body">
{body_html(a)}
</section>
</div>
{bp['related']}
{bp['donate']}
{bp['comments']}
<div class="hpb-foot">{bp['newsletter']}<p>Horizon Policy Brief {year}. All rights reserved. Texts may be quoted with attribution.</p></div></div>
</body></html>
"""


def _cp1252_safe(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def rfc822(d: str) -> str:
    return date.fromisoformat(d).strftime("%a, %d %b %Y 08:30:00 +0000")


def build(articles_file: Path = HERE / "articles.json") -> dict:
    articles = json.loads(articles_file.read_text(encoding="utf-8"))
    rng = random.Random(7)
    by_pub: dict[str, list[dict]] = {p: [] for p in NAMES}
    for a in sorted(articles, key=lambda x: x["date"]):
        a = dict(a)
        if a["publisher"] == "meridian":
            a["path"] = f"/{a['date'][:4]}/{a['date'][5:7]}/{a['slug']}.html"
        elif a["publisher"] == "baltic-desk":
            a["path"] = f"/news/{a['slug']}.html"
        else:
            a["path"] = f"/briefs/{a['slug']}.html"
        by_pub[a["publisher"]].append(a)
    if SITE.exists():
        shutil.rmtree(SITE)
    expected = {"articles": [], "not_articles": [], "boilerplate": BOILERPLATE, "traps": {}}

    def related_for(pub, a):
        others = [x for x in by_pub[pub] if x is not a]
        return rng.sample(others, 3)

    def record(a, **extra):
        entry = {
            "publisher": a["publisher"], "path": a["path"], "title": a["title"], "published": a["date"],
            "author": a["author"], "alt_paths": [], "body_snippets": [a["paragraphs"][0][:120], a["paragraphs"][-1][-120:]],
            "republished_from": None,
        }
        if "gold" in a:   # hand-coded entities and events the annotation stage must reproduce
            entry["gold"] = a["gold"]
        entry.update(extra)
        expected["articles"].append(entry)
        return entry

    # ---- meridian: RSS 2.0 + listing page; print-view canonical pair; non-article; huge page
    root = SITE / "meridian"
    mer = by_pub["meridian"]
    entries = {}
    for a in mer:
        write(root / a["path"].lstrip("/"), page_meridian(a, related_for("meridian", a)))
        entries[a["slug"]] = record(a)
    pair = mer[2]
    print_path = f"/print/{pair['slug']}.html"
    write(root / print_path.lstrip("/"), page_meridian(pair, [], canonical=b("meridian") + pair["path"]))
    entries[pair["slug"]]["alt_paths"].append(print_path)
    tracked = mer[0]
    entries[tracked["slug"]]["alt_paths"] += [tracked["path"] + "?utm_source=rss&utm_medium=feed", tracked["path"] + "?fbclid=IwAR0sample"]
    calendar = "/2026/06/events-calendar-june-briefings.html"
    write(root / calendar.lstrip("/"), """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Events calendar | Meridian Security Review</title></head>
<body><nav><a href="/">Home</a></nav><main><h1>Events calendar</h1><ul><li>June 4: Briefing</li><li>June 18: Webinar</li></ul>
<p>Register below.</p></main><footer>© 2026 Meridian Security Review</footer></body></html>""")
    huge_a = {"slug": "annual-reader-debate-full-thread", "title": "Annual Reader Debate: The Full Thread", "date": "2026-09-30",
              "author": "Editors", "section": "Security", "tags": ["Debate"],
              "paragraphs": ["Our readers debated the year in security in the thread below."]}
    huge_path = "/2026/09/annual-reader-debate-full-thread.html"
    huge_a["path"] = huge_path
    filler = "".join(f'<div class="comment"><b>reader{i}</b><p>{"I think the alliance must invest more in air defence and logistics. " * 8}</p></div>\n' for i in range(12000))
    huge_html = page_meridian(huge_a, []).replace("</main>", filler + "</main>")
    write(root / (huge_path.lstrip("/") + ".gz"), gzip.compress(huge_html.encode("utf-8"), compresslevel=9, mtime=0))
    items = []
    for a in mer[:10] + [huge_a]:
        link = b("meridian") + a["path"] + ("?utm_source=rss&utm_medium=feed" if a is tracked else "")
        items.append(f"<item><title>{E(a['title'])}</title><link>{E(link)}</link><pubDate>{rfc822(a['date'])}</pubDate><guid>{b('meridian')}{a['path']}</guid></item>")
    write(root / "feed.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Meridian Security Review</title><link>{b('meridian')}/</link><description>Analysis</description>
{chr(10).join(items)}
</channel></rss>
""")
    links = [f'<li><a href="{a["path"]}">{E(a["title"])}</a></li>' for a in mer]
    links.append(f'<li><a href="{tracked["path"]}?fbclid=IwAR0sample">{E(tracked["title"])} (shared)</a></li>')
    links.append(f'<li><a href="{print_path}">{E(pair["title"])} (print view)</a></li>')
    links.append(f'<li><a href="{calendar}">Events calendar</a></li>')
    write(root / "analysis/index.html", f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Analysis | Meridian Security Review</title></head>
<body><nav><a href="/">Home</a> <a href="/about/">About</a></nav><main><h1>Analysis</h1><ul>{''.join(links)}</ul>
<p><a href="/tag/nato/">More on NATO</a> · <a href="/about/">About us</a></p></main></body></html>""")
    write(root / "about/index.html", "<html><body><h1>About</h1><p>Meridian Security Review is a fictional publisher.</p></body></html>")
    write(root / "robots.txt", "User-agent: *\nDisallow: /wp-admin/\n")
    expected["not_articles"] += [
        {"publisher": "meridian", "path": calendar, "why": "non-article"},
        {"publisher": "meridian", "path": huge_path, "why": "too large"},
    ]
    expected["traps"].update(
        tracking_duplicates={"publisher": "meridian", "path": tracked["path"], "variants": entries[tracked["slug"]]["alt_paths"]},
        canonical_pair={"publisher": "meridian", "path": pair["path"], "duplicate": print_path},
        non_article={"publisher": "meridian", "path": calendar},
        too_large={"publisher": "meridian", "path": huge_path},
    )

    # ---- baltic-desk: Atom + sitemap index (plain + news sitemap); cp1252 page; redirect
    root = SITE / "baltic-desk"
    bal = by_pub["baltic-desk"]
    # The cp1252 trap: a story whose prose has cp1252-only characters (’ “ ” –) and nothing outside cp1252.
    cp = next(a for a in bal[4:] if "’" in "".join(a["paragraphs"]) and _cp1252_safe(" ".join(a["paragraphs"]) + a["title"]))
    headers = {}
    for a in bal:
        if a is cp:
            write(root / a["path"].lstrip("/"), page_baltic(a, related_for("baltic-desk", a), charset="windows-1252").encode("cp1252", errors="xmlcharrefreplace"))
            headers[a["path"]] = {"Content-Type": "text/html"}
        else:
            write(root / a["path"].lstrip("/"), page_baltic(a, related_for("baltic-desk", a)))
        record(a)
    write(root / "_headers.json", json.dumps(headers, indent=1))
    moved = bal[6]
    old_path = f"/old/{moved['slug']}.html"
    write(root / "_redirects.json", json.dumps({old_path: moved["path"]}, indent=1))
    next(e for e in expected["articles"] if e["path"] == moved["path"])["alt_paths"].append(old_path)
    atom = "".join(
        f"<entry><title>{E(a['title'])}</title><id>tag:baltic-desk,{a['date']}:{a['slug']}</id><updated>{a['date']}T06:00:00Z</updated>"
        f"<link rel=\"alternate\" href=\"{b('baltic-desk')}{a['path']}\"/><author><name>{E(a['author'])}</name></author></entry>\n"
        for a in bal[:7]
    )
    write(root / "atom.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>The Baltic Desk</title><id>{b('baltic-desk')}/</id><updated>2026-10-31T00:00:00Z</updated>
{atom}</feed>
""")
    posts = [a for a in bal[:10] if a is not moved]
    urls = "".join(f"<url><loc>{b('baltic-desk')}{a['path']}</loc><lastmod>{a['date']}</lastmod></url>\n" for a in posts)
    urls += f"<url><loc>{b('baltic-desk')}{old_path}</loc></url>\n"
    write(root / "sitemap-posts.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}</urlset>
""")
    news = "".join(
        f"<url><loc>{b('baltic-desk')}{a['path']}</loc><news:news><news:publication><news:name>The Baltic Desk</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{a['date']}</news:publication_date><news:title>{E(a['title'])}</news:title></news:news></url>\n"
        for a in bal[8:]
    )
    write(root / "news-sitemap.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{news}</urlset>
""")
    write(root / "sitemap_index.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{b('baltic-desk')}/sitemap-posts.xml</loc></sitemap>
<sitemap><loc>{b('baltic-desk')}/news-sitemap.xml</loc></sitemap>
</sitemapindex>
""")
    write(root / "robots.txt", f"User-agent: *\nDisallow: /search\nSitemap: {b('baltic-desk')}/sitemap_index.xml\n")
    expected["traps"].update(
        cp1252={"publisher": "baltic-desk", "path": cp["path"]},
        redirect={"publisher": "baltic-desk", "from": old_path, "to": moved["path"]},
    )

    # ---- horizon-brief: RSS 1.0 + two listing pages; no-date page; dead link; robots; republished story
    root = SITE / "horizon-brief"
    hor = by_pub["horizon-brief"]
    undated = hor[5]
    for a in hor:
        write(root / a["path"].lstrip("/"), page_horizon(a, related_for("horizon-brief", a), dated=a is not undated))
        record(a, published=None if a is undated else a["date"])
    source = bal[3]
    # Republished two days after the original, as syndication goes.
    repub_date = date.fromordinal(date.fromisoformat(source["date"]).toordinal() + 2).isoformat()
    repub = dict(source, publisher="horizon-brief", slug="republished-" + source["slug"], date=repub_date)
    repub["path"] = f"/briefs/{repub['slug']}.html"
    write(root / repub["path"].lstrip("/"), page_horizon(repub, related_for("horizon-brief", hor[0]), canonical=b("baltic-desk") + source["path"]))
    record(repub, republished_from={"publisher": "baltic-desk", "path": source["path"]})
    dead = "/briefs/withdrawn-brief-on-sahel-mission.html"
    private = "/private/members-only-briefing-notes.html"
    write(root / private.lstrip("/"), page_horizon(dict(hor[0], path=private), []))
    listed = hor + [repub]
    half = len(listed) // 2
    for page, chunk in (("briefs/index.html", listed[:half]), ("briefs/page/2/index.html", listed[half:])):
        extra = f'<li><a href="{dead}">Withdrawn: Sahel mission brief</a></li><li><a href="{private}">Members-only notes</a></li>' if page.startswith("briefs/index") else ""
        lis = "".join(f'<li><a href="{a["path"]}">{E(a["title"])}</a></li>' for a in chunk)
        write(root / page, f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Briefs · Horizon Policy Brief</title></head>
<body><div class="hpb-nav"><a href="/">Horizon</a></div><main><h1>Briefs</h1><ul>{lis}{extra}</ul>
<a href="/briefs/page/2/">Older briefs</a></main></body></html>""")
    rdf_items = "".join(
        f'<item rdf:about="{b("horizon-brief")}{a["path"]}"><title>{E(a["title"])}</title><link>{b("horizon-brief")}{a["path"]}</link></item>\n'
        for a in hor[:6]
    )
    write(root / "index.rdf", f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="{b('horizon-brief')}/"><title>Horizon Policy Brief</title><link>{b('horizon-brief')}/</link><description>Briefs</description></channel>
{rdf_items}</rdf:RDF>
""")
    write(root / "robots.txt", "User-agent: *\nDisallow: /private/\n")
    expected["not_articles"] += [
        {"publisher": "horizon-brief", "path": dead, "why": "dead link"},
        {"publisher": "horizon-brief", "path": private, "why": "robots"},
    ]
    expected["traps"].update(
        no_date={"publisher": "horizon-brief", "path": undated["path"]},
        dead_link={"publisher": "horizon-brief", "path": dead},
        robots={"publisher": "horizon-brief", "path": private},
        republished={"publisher": "horizon-brief", "path": repub["path"], "original": {"publisher": "baltic-desk", "path": source["path"]}},
    )
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return expected


if __name__ == "__main__":
    import sys

    result = build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "articles.json")
    print(f"{len(result['articles'])} articles, {len(result['not_articles'])} non-articles, traps: {', '.join(result['traps'])}")
