"""Extract stage: clean article text and metadata from fetched HTML with trafilatura and htmldate.

Nothing here touches the network: trafilatura and htmldate only ever see HTML strings or trees.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import htmldate
import lxml.html
import py3langid
import trafilatura
from lxml import etree

from wirehouse.schemas.models import EARLIEST_PLAUSIBLE_DATE, latest_plausible_date
from wirehouse import stopping
from wirehouse.urls import normalize_url, redact_url, same_site, try_normalize

logger = logging.getLogger(__name__)

EXTRACTOR_NAME = "trafilatura"
SETTINGS_VERSION = "wh2"  # bump when ExtractOptions defaults or extraction change, so re-extractions are traceable
EXTRACTOR_VERSION = f"{trafilatura.__version__}+{SETTINGS_VERSION}"
# htmldate's output: the page's own offset is kept (%z is empty when the page gives none).
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Where a date is looked for when the page states no plausible one: 2099 or 1800 is kept (and
# flagged); beyond these it is a typo, not a claim.
ANY_DATES = (date(1000, 1, 1), date(9999, 12, 31))
MIN_LANGID_CHARS = 40
_WORDS = re.compile(r"\w+")
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")
# Containers that are never the article, recognised by a class/id token starting with one of
# these words (donation boxes, newsletters, related posts, cookie banners, footers). Measured on
# the Zyte benchmark: broader lists (share, social, comment, sidebar) cost F1 there.
BOILERPLATE_PREFIXES = ("donat", "newsletter", "related", "cookie", "byline", "dateline")
BOILERPLATE_TOKENS = frozenset({"foot", "footer"})
_KEEP_TAGS = frozenset({"html", "body", "article", "main"})
_TOKEN_SPLIT = re.compile(r"[\s_-]+")
MAX_PRUNED_PARAGRAPHS = 3  # a wrapper holding more paragraphs than this may hold the article itself
# libxml2's HTML parser stops at 256 open elements and drops the rest of the page. A deeper page is
# flattened first: below WRAPPER_DEPTH meaningless wrappers (div, span ...) are dropped, below
# MAX_DEPTH every tag; the text always stays.
WRAPPER_DEPTH = 150
MAX_DEPTH = 230
_WRAPPER_TAGS = frozenset({"div", "span", "section", "font", "center", "small", "big", "b", "i", "u", "em", "strong"})
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                        "source", "track", "wbr"})


@dataclass(frozen=True)
class ExtractOptions:
    """How trafilatura is run. Defaults chosen on the Zyte benchmark (bench/extraction.py)."""

    fast: bool = True                  # no readability/jusText fallback: measured both faster and better here
    favor_precision: bool = False
    favor_recall: bool = False
    include_comments: bool = False     # reader comments are not the article
    include_tables: bool = True
    min_text_chars: int = 200          # below this the page is not an article (stub, hub, error page)
    extensive_date_search: bool = False  # no guessing dates from free text or related-post links
    prune_boilerplate: bool = True     # drop donation/newsletter/related/cookie/footer containers first


DEFAULT_OPTIONS = ExtractOptions()


def extract_text(html: str, url: str | None = None, options: ExtractOptions = DEFAULT_OPTIONS) -> str:
    """The clean body text only (what the benchmark scores); empty when nothing is found."""
    tree = _parse(html)
    if tree is None:
        return ""
    if options.prune_boilerplate:
        _prune_boilerplate(tree)
    return trafilatura.extract(tree, url=url, with_metadata=False, **_trafilatura_settings(options)) or ""


def extract_article(html: str, url: str, options: ExtractOptions = DEFAULT_OPTIONS) -> dict | None:
    """Extract one article.

    Args:
        html: the decoded page.
        url: the normalized URL it was fetched from.
        options: extraction settings.

    Returns:
        None when the page holds no article text; else a dict with title, author, published_at
        (the page's local calendar day, or None), published_ts (the instant in UTC when the page
        gives a time with its offset, else None), date_source, site_name, language, categories,
        tags, image, description, text, canonical_url (same-site rel=canonical, else ``url``),
        extractor, extractor_version and word_count.
    """
    tree = _parse(html)
    if tree is None:
        return None
    canonical = _canonical(tree, url)
    html_lang = _html_lang(tree)
    published, instant = _published(tree, options)
    if options.prune_boilerplate:
        _prune_boilerplate(tree)
    document = trafilatura.bare_extraction(tree, url=url, with_metadata=True, **_trafilatura_settings(options))
    if document is None:
        return None
    meta = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    text = (meta.get("text") or "").strip()
    if len(text) < options.min_text_chars:
        return None
    site_name = _clean(meta.get("sitename"))
    return {
        "title": _strip_site_suffix(_clean(meta.get("title")) or "", site_name),
        "author": _clean(meta.get("author")),
        "published_at": published,
        "published_ts": instant,
        "date_source": "htmldate" if published else None,
        "site_name": site_name,
        "language": _language(text, html_lang),
        "categories": _split_list(meta.get("categories")),
        "tags": _split_list(meta.get("tags")),
        "image": _clean(meta.get("image")),
        "description": _clean(meta.get("description")),
        "text": text,
        "canonical_url": canonical,
        "extractor": EXTRACTOR_NAME,
        "extractor_version": EXTRACTOR_VERSION,
        "word_count": len(_WORDS.findall(text)),
    }


def extract_batch(pages: list[dict], options: ExtractOptions = DEFAULT_OPTIONS) -> list[dict]:
    """Extract many pages; a bad page yields an error row, never an exception.

    Args:
        pages: dicts with at least ``url`` and ``html``; other keys pass through.
        options: extraction settings.

    Returns:
        One dict per page: the input keys but ``html``, the extracted fields, ``is_article`` and
        ``extract_error``.
    """
    out = []
    for page in pages:
        stopping.check()   # a stopped run (in-process) is not kept waiting for the rest of the chunk
        row = {k: v for k, v in page.items() if k != "html"}
        try:
            extracted = extract_article(page.get("html") or "", page["url"], options)
        except Exception as exc:  # noqa: BLE001 - one page's failure must not sink the batch
            _raise_if_no_room(exc)
            logger.warning("extract failed for %s: %s", redact_url(str(page.get("url"))), exc)
            row.update(is_article=False, extract_error=f"{type(exc).__name__}: {exc}"[:300])
        else:
            row.update(extracted or {})
            row.update(is_article=extracted is not None, extract_error=None)
        out.append(row)
    return out


# ---------------------------------------------------------------- helpers


def _raise_if_no_room(exc: Exception) -> None:
    """A full temporary folder (py3langid unpacks its model there) is no fault of the page: as page
    errors, the run would complete with every page failed and no article. It fails the run instead."""
    import tempfile

    from wirehouse.errors import storage_error

    full = storage_error(exc, f"a temporary file in {tempfile.gettempdir()}", option="TMPDIR")
    if full is not None:
        raise full from exc


def _trafilatura_settings(options: ExtractOptions) -> dict:
    return {
        "fast": options.fast,
        "favor_precision": options.favor_precision,
        "favor_recall": options.favor_recall,
        "include_comments": options.include_comments,
        "include_tables": options.include_tables,
    }


def _parse(html: str):
    # Stray NULs (the fetcher lets a few through) would become U+FFFD in the text.
    html = html.replace("\x00", "") if html else html
    if not html or not html.strip():
        return None
    tree, too_deep = _lxml_parse(html)
    if too_deep:
        flattener = _Flattener()
        try:
            flattened = flattener.flatten(html)
        except Exception as exc:  # noqa: BLE001 - keep what libxml2 read
            logger.warning("markup nested too deep and not flattened (%s): extracting what the parser kept", exc)
        else:
            logger.info("markup nested %d deep: flattened to %d levels before extraction", flattener.deepest, MAX_DEPTH)
            tree, _ = _lxml_parse(flattened)
    return tree if tree is not None and len(tree) else None


def _lxml_parse(html: str):
    """(tree or None, whether the parser gave up on the nesting depth)."""
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        # lxml refuses str input that carries an encoding declaration; bytes are safe.
        tree = lxml.html.fromstring(html.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        tree = None
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" and "depth" in e.message for e in parser.error_log)
    return tree, too_deep


class _Flattener(HTMLParser):
    """Re-emits HTML with tags dropped below `WRAPPER_DEPTH` (wrappers) and `MAX_DEPTH` (all), so
    libxml2 reads the whole page. Text, entities and the tags above those depths pass unchanged."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.open: list[str] = []        # tags emitted and not yet closed
        self.open_count: Counter = Counter()
        self.dropped: Counter = Counter()  # tags dropped and not yet closed
        self.deepest = 0

    def flatten(self, html: str) -> str:
        self.feed(html)
        self.close()
        return "".join(self.out)

    def handle_starttag(self, tag: str, attrs) -> None:
        depth = len(self.open)
        if tag in _VOID_TAGS:
            if depth < MAX_DEPTH:
                self.out.append(self.get_starttag_text() or "")
            return
        self.deepest = max(self.deepest, depth + sum(self.dropped.values()) + 1)
        if depth >= MAX_DEPTH or (depth >= WRAPPER_DEPTH and tag in _WRAPPER_TAGS):
            self.dropped[tag] += 1
            return
        self.open.append(tag)
        self.open_count[tag] += 1
        self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if len(self.open) < MAX_DEPTH:
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self.dropped[tag]:   # the innermost element of that name was a dropped one
            self.dropped[tag] -= 1
        elif self.open_count[tag]:
            while True:         # unclosed elements inside it end with it, as in a browser
                closed = self.open.pop()
                self.open_count[closed] -= 1
                if closed == tag:
                    break
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")


def _prune_boilerplate(tree) -> None:
    """Remove donation boxes, newsletters, related posts, cookie banners and footers (see BOILERPLATE_PREFIXES)."""
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in _KEEP_TAGS:
            continue
        names = f"{element.get('class') or ''} {element.get('id') or ''}".strip()
        if not names:
            continue
        tokens = _TOKEN_SPLIT.split(names.lower())
        if any(t in BOILERPLATE_TOKENS or t.startswith(BOILERPLATE_PREFIXES) for t in tokens):
            if sum(1 for _ in element.iter("p")) <= MAX_PRUNED_PARAGRAPHS:
                doomed.append(element)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            element.drop_tree() if hasattr(element, "drop_tree") else parent.remove(element)


def _canonical(tree, url: str) -> str:
    """The page's rel=canonical when it is on the same site as ``url``; else ``url`` itself."""
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            candidate = try_normalize(link.get("href"), url)
            if candidate and same_site(candidate, url):
                return candidate
            break
    return normalize_url(url)


def _published(tree, options: ExtractOptions) -> tuple[date | None, datetime | None]:
    """The publication date as the page states it and, when it gives a time with its offset, the instant.

    A plausible date (`schemas.models.plausible_date`) is preferred; only when the page states none
    is an implausible one (2099, 1800) taken, to be kept and flagged downstream.

    Returns:
        (the page's local calendar day: "2021-08-13T23:30:00-05:00" is the 13th, the instant in UTC
        or None when the page gives only a day or a time without an offset).
    """
    for low, high in ((EARLIEST_PLAUSIBLE_DATE, latest_plausible_date()), ANY_DATES):
        found = htmldate.find_date(
            tree,
            original_date=True,
            extensive_search=options.extensive_date_search,
            outputformat=_STAMP_FORMAT,
            min_date=low.isoformat(),
            max_date=high.isoformat(),
        )
        if found:
            break
    else:
        return None, None
    try:
        stamp = datetime.fromisoformat(found)
    except ValueError:
        return None, None
    return stamp.date(), stamp.astimezone(timezone.utc) if stamp.tzinfo else None


def _html_lang(tree) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        code = lang.strip().lower().split("-")[0].split("_")[0]
        if re.fullmatch(r"[a-z]{2,3}", code):
            return code
    return None


def _language(text: str, html_lang: str | None) -> str | None:
    """py3langid on the text; the page's declared language for texts too short to tell."""
    if len(text) >= MIN_LANGID_CHARS:
        code, _ = py3langid.classify(text[:5000])
        return code
    return html_lang


def _strip_site_suffix(title: str, site_name: str | None) -> str:
    if not site_name:
        return title
    folded = site_name.casefold()
    for sep in _TITLE_SEPARATORS:
        head, found, tail = title.rpartition(sep)
        if found and head and tail.strip().casefold() == folded:
            return head.strip()
    return title


def _split_list(value) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def _clean(value) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
