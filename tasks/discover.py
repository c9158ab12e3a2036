"""Discover stage: turn each source's feeds, sitemaps, listing pages and URLs into candidate article URLs.

The parsers are pure functions over fetched bytes; `discover` drives them with a `tasks.fetch.Fetcher`,
so every feed, sitemap and listing page it requests is a fetch result the run logs.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import feedparser
import lxml.etree as etree
import lxml.html
from prefect import task
from prefect.cache_policies import NO_CACHE

from wirehouse.tasks.decoding import GZIP_MAGIC, MAX_SITEMAP_BYTES, gunzip_capped
from wirehouse.tasks.fetch import FetchRequest, FetchResult, Fetcher, redact
from wirehouse.config import DEFAULT_MAX_SITEMAP_URLS, Source, SourcesConfig
from wirehouse.urls import redact_url, same_site, try_normalize

logger = logging.getLogger(__name__)

MAX_SITEMAP_DEPTH = 3            # index -> index -> sitemap is the deepest real sites go
MAX_CHILD_SITEMAPS = 50          # per source and run
MAX_SKIPPED_LINKS = 1000         # unfetchable links logged per source and run: junk must not flood fetch_log
# The prolog ends where the root element starts; entity declarations can only live before it.
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
# Path segments that mark hub pages, not articles.
NON_ARTICLE_SEGMENTS = frozenset(
    {
        "tag", "tags", "category", "categories", "topic", "topics", "author", "authors", "page", "search",
        "about", "about-us", "contact", "contact-us", "subscribe", "newsletter", "donate", "support",
        "privacy", "privacy-policy", "terms", "cookies", "login", "register", "account", "feed", "rss",
        "wp-admin", "wp-content", "wp-json", "cdn-cgi", "events", "jobs", "careers", "shop", "archive",
        "archives", "staff", "team", "people", "comments", "share", "print-edition",
    }
)
NON_ARTICLE_EXTENSIONS = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".pdf", ".zip", ".mp3", ".mp4", ".xml", ".rss",
    ".css", ".js", ".json", ".ico", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
)
_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/|$)|/(19|20)\d{2}-\d{2}-\d{2}")
_SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+){2,}")
_BOILERPLATE_CONTAINERS = ("nav", "header", "footer")


@dataclass(frozen=True)
class Candidate:
    """A URL that may be an article, with where it was found."""

    url: str
    source: str
    via: str                 # feed / sitemap / listing / urls
    found_on: str | None
    allow_private: bool


@dataclass
class Discovery:
    """What discovery produced: candidates, and the fetches it made (for fetch_log), including the
    refusals of links that are not http(s) URLs (outcome invalid_url: never sent)."""

    candidates: list[Candidate] = field(default_factory=list)
    fetches: list[FetchResult] = field(default_factory=list)
    per_source: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)   # source -> sitemap URLs the cap left out (the oldest)


@dataclass(frozen=True)
class SitemapEntry:
    """A ``<loc>`` of a sitemap with its date: ``<news:publication_date>``, else ``<lastmod>``
    (None: the sitemap gives none, or none that reads as a W3C date)."""

    url: str
    date: datetime | None = None


# A lookup of the URLs earlier runs made articles of (the flow asks the warehouse); discovery never
# reads the warehouse itself.
KnownLookup = Callable[[list[str]], Collection[str]]


class UnsafeXML(ValueError):
    """A feed or sitemap declares XML entities: refused whole, never parsed."""


# ---------------------------------------------------------------- pure parsers


def check_xml_safe(body: bytes) -> None:
    """Refuse XML that declares entities before any parser sees it.

    Feeds and sitemaps never need entity declarations; with them come the billion-laughs bomb
    and external entities (local files, internal URLs). Like defusedxml's ``forbid_entities``, the
    whole document is refused; a plain ``<!DOCTYPE rss PUBLIC ...>`` line is fine.

    Raises:
        UnsafeXML: the document's prolog declares an entity.
    """
    head = body
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        codec = "utf-16" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le" if body[0] == 0x3C else "utf-16-be")
        head = body.decode(codec, errors="replace").encode("utf-8")
    root = _ROOT_START.search(head)
    prolog = head[: root.start()] if root else head
    if _ENTITY_DECL.search(prolog):
        raise UnsafeXML("refused: the XML declares entities (billion laughs or external entity)")


def parse_feed(body: bytes, base_url: str, rejected: list[tuple[str, str]] | None = None) -> list[str]:
    """Article links of an RSS 0.9x/1.0/2.0 or Atom feed, normalized, in feed order.

    Args:
        body: the feed document.
        base_url: the feed's URL, to resolve relative links.
        rejected: when given, gets ("page", link) for each link that is not a fetchable http(s)
            URL (javascript:, file:, a malformed host), so the run can log it as skipped.

    Returns:
        Normalized http(s) URLs (invalid ones left out).

    Raises:
        UnsafeXML: the feed declares XML entities.
    """
    check_xml_safe(body)
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    links: list[str] = []
    for entry in parsed.entries:
        href = entry.get("link")
        if not href:
            alternates = [l.get("href") for l in entry.get("links", []) if l.get("rel", "alternate") == "alternate"]
            href = next((h for h in alternates if h), None)
        if not href and str(entry.get("id", "")).startswith("http"):
            href = entry.get("id")
        url = try_normalize(href, base_url) if href else None
        if url:
            links.append(url)
        elif href and href.strip() and rejected is not None:
            rejected.append(("page", href.strip()))   # feedparser already resolved it against the feed
    return list(dict.fromkeys(links))


def parse_sitemap(body: bytes, rejected: list[tuple[str, str]] | None = None) -> tuple[list[str], list[str]]:
    """Page URLs and child sitemap URLs of a sitemap, sitemap index or news sitemap.

    Args:
        body: the document, gzip-compressed or not.
        rejected: when given, gets (kind, loc) for each ``<loc>`` that is not a fetchable http(s)
            URL; kind is "page" or "sitemap".

    Returns:
        (page URLs, child sitemap URLs), normalized, newest first (`newest_first`).

    Raises:
        UnsafeXML: the sitemap declares XML entities.
        BadGzip: the sitemap starts like gzip but does not decompress.
    """
    pages, children = parse_sitemap_entries(body, rejected)
    return [e.url for e in newest_first(pages)], [e.url for e in newest_first(children)]


def parse_sitemap_entries(body: bytes, rejected: list[tuple[str, str]] | None = None) -> tuple[list[SitemapEntry], list[SitemapEntry]]:
    """`parse_sitemap` with each URL's date, in document order (the first of a repeated URL kept).

    A page's date is its ``<news:publication_date>`` (news sitemaps), else its ``<lastmod>``; a child
    sitemap's is its ``<lastmod>``.
    """
    if body.startswith(GZIP_MAGIC):   # beyond the protocol's limit: what fits is parsed
        body, _ = gunzip_capped(body, MAX_SITEMAP_BYTES)
    check_xml_safe(body)
    pages: dict[str, SitemapEntry] = {}
    children: dict[str, SitemapEntry] = {}
    try:
        for _, element in etree.iterparse(
            io.BytesIO(body), events=("end",), recover=True, resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False,
        ):
            tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if tag not in ("url", "sitemap"):
                continue
            locs, lastmod, published = [], None, None
            for child in element.iter():
                name = etree.QName(child).localname if isinstance(child.tag, str) else ""
                if name == "loc" and child.getparent() is element:
                    locs.append((child.text or "").strip())
                elif name == "lastmod" and child.getparent() is element:
                    lastmod = child.text
                elif name == "publication_date":
                    published = child.text
            when = parse_w3c_date(published) or parse_w3c_date(lastmod)
            into = pages if tag == "url" else children
            for loc in locs:
                url = try_normalize(loc)
                if url:
                    into.setdefault(url, SitemapEntry(url, when))
                elif loc and rejected is not None:
                    rejected.append(("page" if tag == "url" else "sitemap", loc))
            element.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        logger.warning("sitemap parse error: %s", exc)
    return list(pages.values()), list(children.values())


_W3C_PARTIAL = re.compile(r"\s*(\d{4})(?:-(\d{2}))?\s*$")


def parse_w3c_date(value: str | None) -> datetime | None:
    """A sitemap date (W3C Datetime: ``2026-05-01``, ``2026-05-01T10:30:00+02:00``, ``...Z``, ``2026-05``,
    ``2026``) as an aware UTC datetime; a time without offset is read as UTC; None when it does not read."""
    if not value or not value.strip():
        return None
    text = value.strip()
    partial = _W3C_PARTIAL.fullmatch(text)
    try:
        if partial:
            parsed = datetime(int(partial.group(1)), int(partial.group(2) or 1), 1)
        else:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def newest_first(entries: list[SitemapEntry]) -> list[SitemapEntry]:
    """Dated entries newest first (a tie keeps document order), then the undated in document order."""
    dated = sorted((e for e in entries if e.date is not None), key=lambda e: e.date, reverse=True)
    return dated + [e for e in entries if e.date is None]


def parse_listing(html: str, page_url: str) -> list[str]:
    """Same-site, article-like links on a listing page, outside nav/header/footer.

    Args:
        html: the listing page.
        page_url: its URL, to resolve links and decide what is same-site.

    Returns:
        Normalized candidate article URLs in page order.
    """
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    this_page = try_normalize(page_url)
    links: list[str] = []
    for anchor in tree.iter("a"):
        href = anchor.get("href")
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        if any(anc.tag in _BOILERPLATE_CONTAINERS for anc in anchor.iterancestors()):
            continue
        url = try_normalize(href, page_url)
        if not url or url == this_page or not same_site(url, page_url):
            continue
        if looks_like_article(url):
            links.append(url)
    return list(dict.fromkeys(links))


def looks_like_article(url: str) -> bool:
    """A URL shape test: a dated path or a multi-word slug, and no hub segment or file extension."""
    path = urlsplit(url).path.lower()
    if path in ("", "/") or path.endswith(NON_ARTICLE_EXTENSIONS):
        return False
    segments = [s for s in path.split("/") if s]
    if any(s in NON_ARTICLE_SEGMENTS for s in segments):
        return False
    if _DATE_IN_PATH.search(path):
        return True
    last = segments[-1].rsplit(".", 1)[0] if segments else ""
    return bool(_SLUG.fullmatch(last))


# ---------------------------------------------------------------- driver


def discover(config: SourcesConfig, fetcher: Fetcher, max_sitemap_urls: int = DEFAULT_MAX_SITEMAP_URLS,
             known: KnownLookup | None = None) -> Discovery:
    """Fetch every source's feeds, sitemaps and listing pages and collect candidate URLs.

    Requests go out in batches (all sources' entry points at once, then each level of
    sitemap children), so hosts are fetched in parallel and politeness is the fetcher's.

    Sitemaps are read newest first (`newest_first`: by ``<news:publication_date>`` or ``<lastmod>``,
    the undated after the dated, in document order), child sitemaps too. The cap of
    ``max_sitemap_urls`` per source is applied over all its sitemaps together, and to the URLs
    earlier runs did not make articles of (``known``) first: the known ones only fill the room the
    new ones leave. What the cap left out is counted in `Discovery.capped`, logged, and said in
    each sitemap's fetch_log reason.

    Args:
        config: the sources.
        fetcher: the run's fetcher.
        max_sitemap_urls: cap on page URLs taken from one source's sitemaps.
        known: which of the given URLs earlier runs made articles of; None: none are.

    Returns:
        `Discovery` with candidates (deduplicated across sources, capped per source) and fetches.
    """
    result = Discovery()
    found: dict[str, list[Candidate]] = {s.name: [] for s in config.sources}
    by_name = {s.name: s for s in config.sources}
    requests: list[FetchRequest] = []
    for source in config.sources:
        allow = source.allow_private_network
        requests += [FetchRequest(url=u, source=source.name, kind="feed", allow_private=allow) for u in source.feeds]
        requests += [FetchRequest(url=u, source=source.name, kind="sitemap", allow_private=allow) for u in source.sitemaps]
        requests += [FetchRequest(url=u, source=source.name, kind="listing", allow_private=allow) for u in source.pages]
        found[source.name] += [Candidate(u, source.name, "urls", None, allow) for u in source.urls]

    unfetchable: dict[str, dict[tuple[str, str], None]] = {s.name: {} for s in config.sources}  # (kind, link), in order
    pools = {s.name: _SitemapPool(max_sitemap_urls) for s in config.sources}
    children_taken: dict[str, int] = {s.name: 0 for s in config.sources}
    seen_sitemaps: set[str] = set()
    depth = 0
    while requests:
        results = fetcher.fetch_many(requests)
        result.fetches += results
        next_requests: list[FetchRequest] = []
        for request, fetched in zip(requests, results):
            source = by_name[request.source]
            if fetched.outcome != "ok" or fetched.body is None:
                logger.warning("%s %s %s: %s %s", source.name, request.kind, redact_url(request.url), fetched.outcome,
                               redact(fetched.error or ""))
                continue
            base = fetched.final_url or request.url
            children: list[str] = []
            rejected: list[tuple[str, str]] = []
            urls: list[str] = []
            try:
                if request.kind == "feed":
                    urls = parse_feed(fetched.body, base, rejected)
                    fetched.note = f"{len(urls)} links" if urls or rejected else "no entries: empty or not a feed"
                elif request.kind == "listing":
                    urls = parse_listing(fetched.text or "", base)
                    fetched.note = f"{len(urls)} article links"
                else:
                    seen_sitemaps.add(request.url)
                    entries, child_entries = parse_sitemap_entries(fetched.body, rejected)
                    children = [e.url for e in newest_first(child_entries)]
                    fetched.note = f"{len(entries)} page URLs, {len(children)} child sitemaps"
                    pools[source.name].add(fetched, newest_first(entries), known)
            except UnsafeXML as exc:
                fetched.note = str(exc)
                logger.warning("%s %s %s: %s", source.name, request.kind, redact_url(request.url), exc)
                continue
            if rejected:
                fetched.note += f"; {len(rejected)} links skipped (not http(s) URLs)"
                unfetchable[source.name].update(dict.fromkeys(rejected))
            if depth + 1 < MAX_SITEMAP_DEPTH:
                for child in children:
                    if child in seen_sitemaps or children_taken[source.name] >= MAX_CHILD_SITEMAPS:
                        continue
                    seen_sitemaps.add(child)
                    children_taken[source.name] += 1
                    next_requests.append(
                        FetchRequest(url=child, source=source.name, kind="sitemap", allow_private=source.allow_private_network)
                    )
            found[source.name] += [
                Candidate(u, source.name, request.kind, request.url, source.allow_private_network) for u in urls
            ]
        requests = next_requests
        depth += 1

    for source in config.sources:
        taken, left_out = pools[source.name].take()
        found[source.name] += [Candidate(u, source.name, "sitemap", on, source.allow_private_network) for u, on in taken]
        if left_out:
            result.capped[source.name] = left_out
            logger.info("%s: sitemap cap %d reached: the newest taken, %d older sitemap URLs left out",
                        source.name, max_sitemap_urls, left_out)

    seen: set[str] = set()
    for source in config.sources:
        kept = 0
        for candidate in found[source.name]:
            if candidate.url in seen:
                continue
            if kept >= source.max_pages:
                logger.info("%s: max_pages=%d reached; later URLs wait for the next run", source.name, source.max_pages)
                break
            seen.add(candidate.url)
            result.candidates.append(candidate)
            kept += 1
        skipped = _refuse_unfetchable(fetcher, source, list(unfetchable[source.name]), seen)
        result.fetches += skipped
        result.per_source[source.name] = kept + sum(1 for r in skipped if r.kind == "page")
        logger.info("%s: %d candidate URLs%s", source.name, kept, f", {len(skipped)} links skipped" if skipped else "")
    return result


class _SitemapPool:
    """One source's sitemap URLs across all its sitemaps, for the cap: the URLs earlier runs did not
    make articles of first, newest first, then the known ones, newest first.

    Each sitemap keeps at most ``cap`` new and ``cap`` known URLs here (the newest: nothing past them
    can make the cut), so a source's memory is bounded by its sitemaps, not by their sizes.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._new: list[tuple[tuple, str, FetchResult]] = []
        self._known: list[tuple[tuple, str, FetchResult]] = []
        self._order = 0
        self._seen: set[str] = set()
        self._dropped: dict[int, int] = {}      # id(fetch) -> URLs past its own cap
        self._fetches: dict[int, FetchResult] = {}

    def add(self, fetched: FetchResult, entries: list[SitemapEntry], known: KnownLookup | None) -> None:
        fresh = [e for e in entries if e.url not in self._seen]
        self._seen.update(e.url for e in fresh)
        already = set(known([e.url for e in fresh])) if known and fresh else set()
        if already:
            fetched.note += f"; {len(already)} already known"
        self._fetches[id(fetched)] = fetched
        new = [e for e in fresh if e.url not in already]
        old = [e for e in fresh if e.url in already]
        dropped = max(len(new) - self.cap, 0) + max(len(old) - self.cap, 0)
        if dropped:
            self._dropped[id(fetched)] = dropped
        for into, part in ((self._new, new[: self.cap]), (self._known, old[: self.cap])):
            for entry in part:
                # newest first; the undated after every dated one, in the order they were read
                key = (0, -entry.date.timestamp(), self._order) if entry.date else (1, 0.0, self._order)
                into.append((key, entry.url, fetched))
                self._order += 1

    def take(self) -> tuple[list[tuple[str, str]], int]:
        """(url, sitemap it was found on) of the URLs within the cap, and how many the cap left out;
        each sitemap's fetch_log reason says how many of its URLs were left out."""
        ranked = sorted(self._new, key=lambda item: item[0]) + sorted(self._known, key=lambda item: item[0])
        kept, rest = ranked[: self.cap], ranked[self.cap :]
        out = dict(self._dropped)
        for _, _, fetched in rest:
            out[id(fetched)] = out.get(id(fetched), 0) + 1
        taken: dict[int, int] = {}
        for _, _, fetched in kept:
            taken[id(fetched)] = taken.get(id(fetched), 0) + 1
        for key, count in out.items():
            self._fetches[key].note += (f"; {taken.get(key, 0)} taken, {count} left out by the cap"
                                        f" ({self.cap} per source and run, the newest taken)")
        return [(url, fetched.url) for _, url, fetched in kept], sum(out.values())


def _refuse_unfetchable(fetcher: Fetcher, source: Source, links: list[tuple[str, str]], seen: set[str]) -> list[FetchResult]:
    """A fetch_log row for each link that is no http(s) URL: the fetcher refuses it unsent
    (outcome invalid_url) and says why ("unsupported scheme", "invalid URL")."""
    fresh: dict[str, str] = {}   # link -> kind; fetch_log has one row per URL and kind, a link one
    for kind, link in links:
        if link not in seen:
            fresh.setdefault(link, kind)
    if len(fresh) > MAX_SKIPPED_LINKS:
        logger.info("%s: %d more unfetchable links not logged", source.name, len(fresh) - MAX_SKIPPED_LINKS)
    out = []
    for link, kind in list(fresh.items())[:MAX_SKIPPED_LINKS]:
        seen.add(link)
        out.append(fetcher.fetch(FetchRequest(url=link, source=source.name, kind=kind, allow_private=source.allow_private_network)))
    return out


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(config: SourcesConfig, fetcher: Fetcher, known: KnownLookup | None = None) -> Discovery:
    return discover(config, fetcher, known=known)
