"""Trying a source before adding it (`wirehouse try`): discovery, fetch and the whole transform
(extract, validate, annotate) on a few pages, in memory. Nothing is written: the warehouse is never
opened, nothing is staged, no Prefect flow runs (the stage cores are called as plain Python).

`try_url` takes one URL and works out what it is (an article, a feed, a sitemap or a listing page)
from what the server sends, then tries it as a one-URL source; `try_source` tries a source of a
sources file as it stands. Both return a `Trial`: what would land and what would be refused, and why.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pandas as pd

from wirehouse.flows.transform import transform_rows
from wirehouse.tasks.discover import discover, looks_like_article, parse_listing
from wirehouse.tasks.fetch import FetchOptions, FetchRequest, FetchResult, Fetcher
from wirehouse.tasks.rows import extracted_article_id, fetch_log_rows
from wirehouse.config import DEFAULT_HOST_DELAY, ConfigError, Source, SourcesConfig, load_sources
from wirehouse.urls import InvalidURL, normalize_url, url_host

TRY_SOURCE = "try"
DEFAULT_PAGES = 5
TRY_RETRIES = 1           # a URL tried by hand: one retry of a transient failure, not three with backoff
KINDS = ("article", "feed", "sitemap", "listing")
TEXT_LINES = 3            # first lines of text shown per article
LINE_CHARS = 160
MAX_ENTITIES = 8
MAX_EVENTS = 5
_XML_SUFFIXES = (".xml", ".xml.gz", ".gz", ".rss", ".rdf", ".atom")
_XML_WORDS = re.compile(r"(^|/)(feeds?|rss|atom|sitemap[\w-]*)(/|\.|$)")   # /feed/, /rss, /sitemap-news.xml
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.S | re.I)


class TrialError(ValueError):
    """The input cannot be tried (an unknown source, a URL that does not answer): one line."""


@dataclass
class TriedPage:
    """One candidate URL and what the stages made of it."""

    url: str
    disposition: str             # article / quarantined / skipped / error (as fetch_log would say)
    outcome: str                 # the fetch's outcome
    reason: str | None = None
    title: str | None = None
    published: str | None = None
    words: int | None = None
    language: str | None = None
    lines: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    note: str | None = None      # a republished copy, a decoding note

    def category(self) -> str:
        """landed, or the kind of refusal: robots, blocked, too_large, not_html, invalid_url,
        not an article, duplicate, quarantined, fetch error, extract error."""
        if self.disposition == "article":
            return "landed"
        if self.disposition == "quarantined":
            return "quarantined"
        if self.outcome not in ("ok", "error"):
            return self.outcome
        if self.disposition == "skipped":
            return "duplicate" if (self.reason or "").startswith("duplicate") else (self.reason or "skipped")
        return "extract error" if self.outcome == "ok" else "fetch error"


@dataclass
class Trial:
    """What a try found: the entry points' fetches, the candidates, and each page tried."""

    target: str
    kind: str                    # article / feed / sitemap / listing (a URL), or "source"
    discovery: list[dict] = field(default_factory=list)   # kind, url, outcome, reason
    candidates: int = 0
    pages: list[TriedPage] = field(default_factory=list)
    capped: int = 0              # sitemap URLs the cap left out
    counts: dict[str, int] = field(default_factory=dict)   # rows that would land, per table
    refused_rows: dict[str, int] = field(default_factory=dict)   # "table: check" -> rows quarantined

    def tally(self) -> dict[str, int]:
        """Pages per what became of them: landed, or why not (robots, not an article, duplicate,
        quarantined, a fetch error, too large ...)."""
        out: dict[str, int] = {}
        for page in self.pages:
            key = page.category()
            out[key] = out.get(key, 0) + 1
        return out


def try_url(url: str, pages: int = DEFAULT_PAGES, *, kind: str | None = None, allow_private: bool = False,
            host_delay: float = DEFAULT_HOST_DELAY, contact_url: str | None = None) -> Trial:
    """Try one URL: an article, a feed, a sitemap or a listing page (``kind``, else detected from
    the answer: XML rooted in urlset/sitemapindex is a sitemap, in rss/feed/RDF a feed; an HTML page
    is an article when its URL looks like one or it links to no articles, else a listing).

    Raises:
        TrialError: not an http(s) URL, or it cannot be fetched (unreachable, refused, robots.txt).
    """
    try:
        url = normalize_url(url)
    except InvalidURL as exc:
        raise TrialError(f"{url!r}: not an http(s) URL ({exc.reason})") from None
    if kind is not None and kind not in KINDS:
        raise TrialError(f"unknown kind {kind!r} ({', '.join(KINDS)})")
    # Interactive: a failed fetch is retried once, not three times with backoff.
    options = FetchOptions(retries=TRY_RETRIES, host_delay=host_delay)
    fetcher = Fetcher(replace(options, contact_url=contact_url) if contact_url else options)
    fetcher.set_host_delay(url_host(url), host_delay)
    try:
        probe = _probe(fetcher, url, kind, allow_private)
        kind = kind or _detect(probe)
        lists = {"article": "urls", "feed": "feeds", "sitemap": "sitemaps", "listing": "pages"}[kind]
        source = Source(name=TRY_SOURCE, allow_private_network=allow_private, host_delay=host_delay,
                        **{lists: (url,)})
        return _trial(SourcesConfig(sources=(source,)), _Remembering(fetcher, probe), pages, url, kind)
    finally:
        fetcher.close()


def try_source(sources_file: str, name: str, pages: int = DEFAULT_PAGES, contact_url: str | None = None) -> Trial:
    """Try a source of a sources file as it stands (its fetch settings, delay and address rules).

    Raises:
        TrialError: the file is unusable, or names no such source.
    """
    config = source_config(sources_file, name)
    source = config.sources[0]
    settings = {**config.fetch, "host_delay": source.host_delay, **({"contact_url": contact_url} if contact_url else {})}
    fetcher = Fetcher(FetchOptions(**settings))
    for url in (*source.feeds, *source.sitemaps, *source.pages, *source.urls):
        fetcher.set_host_delay(url_host(url), source.host_delay)
    try:
        return _trial(config, fetcher, pages, name, "source")
    finally:
        fetcher.close()


def source_config(sources_file: str, name: str) -> SourcesConfig:
    """The sources file cut to the one source ``name`` (raises `TrialError`)."""
    try:
        config = load_sources(sources_file)
    except ConfigError as exc:
        raise TrialError(str(exc)) from None
    names = [s.name for s in config.sources]
    if name not in names:
        raise TrialError(f"{sources_file}: no source named {name!r} (sources: {', '.join(names)})")
    return replace(config, sources=(config.by_name(name),))


# ---------------------------------------------------------------- the stages, in memory


def _trial(config: SourcesConfig, fetcher, pages: int, target: str, kind: str) -> Trial:
    if pages < 1:
        raise TrialError("--pages must be at least 1")
    run_id = f"try-{uuid.uuid4()}"
    discovery = discover(config, fetcher)   # no known URLs: a try never reads the warehouse
    candidates = discovery.candidates[:pages]
    requests = [FetchRequest(url=c.url, source=c.source, kind="page", allow_private=c.allow_private) for c in candidates]
    results = fetcher.fetch_many(requests) if requests else []
    fetched = [
        {"url": r.url, "final_url": r.final_url, "source": r.source, "body": r.body, "encoding": r.encoding,
         "content_hash": r.content_hash, "content_type": r.content_type, "fetched_at": r.fetched_at}
        for r in results if r.outcome == "ok" and r.body is not None
    ]
    done = transform_rows(fetched, run_id, datetime.now(timezone.utc)) if fetched else None
    frames = done.frames if done else {}
    extracted = done.extracted if done else []
    articles = _frame(frames, "articles")
    quarantine = _frame(frames, "quarantine")
    valid_ids = set(articles["article_id"]) if not articles.empty else set()
    held = quarantine[quarantine["table_name"] == "articles"] if not quarantine.empty else quarantine
    quarantined = dict(zip(held["row_key"], held["failed_checks"])) if not held.empty else {}
    log = fetch_log_rows(run_id, discovery.fetches + results, extracted, valid_ids, set(quarantined))

    trial = Trial(target=target, kind=kind, candidates=len(discovery.candidates), capped=sum(discovery.capped.values()))
    for row in log[log["kind"] != "page"].itertuples() if not log.empty else []:
        trial.discovery.append({"kind": row.kind, "url": row.url, "outcome": row.outcome, "reason": _why(row)})
    pages_log = log[log["kind"] == "page"] if not log.empty else log
    tried = {c.url for c in candidates}
    skipped_links = [r for r in pages_log.itertuples() if r.url not in tried]
    for row in skipped_links:   # links discovery refused unsent (not http(s) URLs)
        trial.discovery.append({"kind": "link", "url": row.url, "outcome": row.outcome, "reason": _text(row.reason)})
    by_url = {row.url: row for row in pages_log.itertuples()} if not pages_log.empty else {}
    facts = {e["url"]: e for e in extracted}
    kept_at = dict(zip(articles["article_id"], articles["url"])) if not articles.empty else {}
    first_text = {}
    if not articles.empty:
        for row in articles.itertuples():
            first_text.setdefault(row.text_hash, row.url)
    for candidate in candidates:
        row = by_url[candidate.url]
        page = TriedPage(url=candidate.url, disposition=row.disposition, outcome=row.outcome, reason=_why(row))
        fact = facts.get(candidate.url)
        article_id = extracted_article_id(fact) if fact is not None and fact.get("is_article") else None
        if page.disposition == "quarantined" and article_id in quarantined:
            page.reason = f"failed checks: {quarantined[article_id]}"
        if page.disposition == "article" and article_id is not None:
            if kept_at.get(article_id) != candidate.url:   # one article, two URLs: one row lands
                page.disposition, page.reason = "skipped", f"duplicate: the same article as {kept_at.get(article_id)}"
            else:
                _describe(page, articles[articles["article_id"] == article_id].iloc[0], frames, first_text)
        trial.pages.append(page)
    trial.counts = {name: len(_frame(frames, name)) for name in ("articles", "entities", "mentions", "events")}
    for q in quarantine.itertuples() if not quarantine.empty else []:
        key = f"{q.table_name}: {q.failed_checks}"
        trial.refused_rows[key] = trial.refused_rows.get(key, 0) + 1
    return trial


def _describe(page: TriedPage, article, frames: dict, first_text: dict) -> None:
    """Fill a landed page's title, date, words, first lines, entities and events."""
    page.title = article["title"] or None
    page.published = None if pd.isna(article["published_at"]) else str(pd.Timestamp(article["published_at"]).date())
    if not pd.isna(article["published_ts"]):
        page.published = pd.Timestamp(article["published_ts"]).strftime("%Y-%m-%d %H:%M UTC")
    page.words = int(article["word_count"])
    page.language = article["language"]
    lines = [line.strip() for line in str(article["text"]).splitlines() if line.strip()]
    page.lines = [line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 3] + "..." for line in lines[:TEXT_LINES]]
    original = first_text.get(article["text_hash"])
    if original and original != page.url:
        page.note = f"republished copy of {original} (same text): lands with duplicate_of set"
    article_id = article["article_id"]
    mentions = _frame(frames, "mentions")
    entities = _frame(frames, "entities")
    if not mentions.empty and not entities.empty:
        mine = mentions[mentions["article_id"] == article_id]
        ranked = mine["entity_id"].value_counts(sort=True)   # most mentioned first; ties in order of appearance
        info = entities.set_index("entity_id")
        for entity_id, count in list(ranked.items())[:MAX_ENTITIES]:
            if entity_id not in info.index:
                continue
            e = info.loc[entity_id]
            extra = ", ".join(str(v) for v in (e["type"], e.get("country_code")) if isinstance(v, str) and v)
            page.entities.append(f"{e['name']} ({extra})" + (f" x{count}" if count > 1 else ""))
    events = _frame(frames, "events")
    if not events.empty:
        for ev in events[events["article_id"] == article_id].head(MAX_EVENTS).itertuples():
            actor1 = _first(ev.actor1_name, ev.actor1_text, ev.actor1_igo_code, ev.actor1_country_code)
            actor2 = _first(ev.actor2_name, ev.actor2_text, ev.actor2_igo_code, ev.actor2_country_code)
            if ev.actor2_implied:
                actor2 += " (implied)"
            when = "" if pd.isna(ev.event_date) else f" {pd.Timestamp(ev.event_date).date()}"
            where = f" at {ev.location_name}" if isinstance(ev.location_name, str) and ev.location_name else ""
            label = f"{ev.cameo_code}" + (f" {ev.plover_type}" if isinstance(ev.plover_type, str) else "")
            page.events.append(f"{label}: {actor1} -> {actor2} ({ev.trigger!r}){when}{where}")


def _frame(frames: dict, name: str) -> pd.DataFrame:
    frame = frames.get(name)
    return frame if frame is not None else pd.DataFrame()


def _first(*values) -> str:
    """The first of an actor's names that is there, else "?"."""
    return next((v for v in values if isinstance(v, str) and v), "?")


def _why(row) -> str | None:
    """A fetch_log row's reason, or its error when the reason only repeats the outcome."""
    reason, error = _text(row.reason), _text(row.error)
    if error and (not reason or reason == row.outcome):
        return error
    return reason


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


# ---------------------------------------------------------------- what a URL is


def _probe(fetcher: Fetcher, url: str, kind: str | None, allow_private: bool) -> FetchResult:
    """Fetch the URL once, as ``kind`` or as what it looks like (XML by its suffix, else HTML), and
    as the other family when the server says it is not that (raises `TrialError` when it fails)."""
    if kind is not None:
        order = ["page" if kind == "article" else kind]
    else:
        path = urlsplit(url).path.lower()
        xml_like = path.endswith(_XML_SUFFIXES) or bool(_XML_WORDS.search(path))
        order = ["sitemap", "page"] if xml_like else ["page", "sitemap"]
    result = None
    for fetch_kind in order:
        result = fetcher.fetch(FetchRequest(url=url, source=TRY_SOURCE, kind=fetch_kind, allow_private=allow_private))
        if result.outcome != "not_html":
            break
    if result is None or result.outcome != "ok":
        why = result.error or result.note or result.outcome if result else "not fetched"
        hint = "; a private address: add --allow-private-network" if result and result.outcome == "blocked" else ""
        raise TrialError(f"cannot fetch {url}: {result.outcome if result else 'error'}: {why}{hint}")
    return result


def _detect(probe: FetchResult) -> str:
    root = _root_tag(probe.body or b"")
    if root in ("urlset", "sitemapindex"):
        return "sitemap"
    if root in ("rss", "feed", "rdf"):
        return "feed"
    if probe.kind == "sitemap":
        raise TrialError(f"{probe.url}: XML, but neither a feed nor a sitemap (root element {root or 'none'!r})")
    if looks_like_article(probe.url):
        return "article"
    links = parse_listing(probe.text or (probe.body or b"").decode(probe.encoding or "utf-8", "replace"),
                          probe.final_url or probe.url)
    return "listing" if links else "article"


def _root_tag(body: bytes) -> str | None:
    """The local name of an XML document's root element, lowercased (None: none found)."""
    head = body[:65536].lstrip(b"\xef\xbb\xbf")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    position = 0
    while True:
        item = _PROLOG_ITEM.match(head, position)
        if not item:
            break
        position = item.end()
    found = _ROOT_TAG.match(head[position:].lstrip())
    if not found:
        return None
    return found.group(1).decode("ascii", "replace").rsplit(":", 1)[-1].lower()


class _Remembering:
    """The fetcher, but the URL already fetched to tell what it is is answered from that fetch once
    (under the kind now asked for), not requested again."""

    def __init__(self, fetcher: Fetcher, probe: FetchResult) -> None:
        self._fetcher = fetcher
        self._probe: FetchResult | None = probe

    def _take(self, request: FetchRequest) -> FetchResult | None:
        probe = self._probe
        if probe is None or request.url != probe.url:
            return None
        self._probe = None
        return replace(probe, kind=request.kind, source=request.source, note=None)

    def fetch(self, request: FetchRequest) -> FetchResult:
        return self._take(request) or self._fetcher.fetch(request)

    def fetch_many(self, requests: list[FetchRequest]) -> list[FetchResult]:
        answered = [self._take(r) for r in requests]
        rest = [r for r, done in zip(requests, answered) if done is None]
        fetched = iter(self._fetcher.fetch_many(rest) if rest else [])
        return [done if done is not None else next(fetched) for done in answered]
