"""Row shaping: a run's fetches and extracted pages -> the rows of ``pages``, ``articles``,
``fetch_log`` and ``url_state`` (plain Python and pandas; the load transaction is `warehouse.load`).

Every URL the run considered gets exactly one fetch_log row whose ``disposition`` says how it ended:
article, not_modified, quarantined, skipped (with a reason) or error; discovery fetches say discovery.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import datetime

import pandas as pd

from wirehouse.schemas.batches import KnownUrl, prefer_canonical
from wirehouse.schemas.models import plausible_date
from wirehouse.tasks.fetch import FetchRequest, FetchResult, content_hash
from wirehouse.urls import article_id as make_article_id

_REFUSALS = {"blocked", "robots", "too_large", "not_html", "invalid_url"}
_WORDS = re.compile(r"\w+")
MIN_PROSE_WORDS = 8


def text_hash(text: str) -> str:
    """Hash of a story's prose: its lines of at least `MIN_PROSE_WORDS` words, case-folded, punctuation
    dropped. Datelines, bylines and captions differ between templates; the story's sentences do not."""
    lines = [" ".join(_WORDS.findall(line.casefold())) for line in text.splitlines()]
    prose = [line for line in lines if line.count(" ") + 1 >= MIN_PROSE_WORDS] or [" ".join(lines)]
    return hashlib.sha256("\n".join(prose).encode("utf-8")).hexdigest()


def raw_page_row(page: dict) -> dict:
    """One content-addressed raw page (gzip) from a fetched page's url, final_url, content_type,
    encoding, body, fetched_at and content_hash (hashed from the body when missing)."""
    body = page["body"]
    return {
        "content_hash": page.get("content_hash") or content_hash(body),
        "url": page["url"],
        "final_url": page.get("final_url") or page["url"],
        "content_type": page.get("content_type"),
        "encoding": page.get("encoding"),
        "bytes": len(body),
        "raw_gz": gzip.compress(body, compresslevel=6, mtime=0),
        "fetched_at": page.get("fetched_at"),
    }


def article_rows(extracted: list[dict], run_id: str, now: datetime) -> pd.DataFrame:
    """One row per extracted article, keyed by the hash of its canonical URL.

    Two URLs with one canonical (an article and its print view) become one row; the row found
    at its canonical URL wins.
    """
    rows = []
    for item in extracted:
        if not item.get("is_article") or item.get("extract_error"):
            continue
        canonical = item.get("canonical_url") or item["url"]
        text = item.get("text") or ""
        published = item.get("published_at")
        rows.append(
            {
                "article_id": make_article_id(canonical),
                "url": item["url"],
                "canonical_url": canonical,
                "final_url": item.get("final_url") or item["url"],
                "source": item["source"],
                "title": item.get("title") or "",
                "author": item.get("author"),
                "published_at": pd.Timestamp(published) if published else pd.NaT,
                "published_ts": pd.Timestamp(item["published_ts"]) if item.get("published_ts") else pd.NaT,
                # an implausible date (2099, 1800) is kept and flagged, not dropped
                "published_at_plausible": plausible_date(pd.Timestamp(published).date()) if published else None,
                "language": item.get("language"),
                "site_name": item.get("site_name"),
                "description": item.get("description"),
                "categories": list(item.get("categories") or []),
                "tags": list(item.get("tags") or []),
                "image": item.get("image"),
                "text": text,
                "word_count": int(item.get("word_count") or len(_WORDS.findall(text))),
                "text_hash": text_hash(text),
                "content_hash": item["content_hash"],
                "extractor": item.get("extractor") or "",
                "extractor_version": item.get("extractor_version") or "",
                "annotated_chars": None,   # filled by the transform stage once annotated
                "first_seen_at": now,
                "updated_at": now,
                "run_id": run_id,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["published_at"] = pd.to_datetime(frame["published_at"]).astype("datetime64[us]")
    frame["published_ts"] = pd.to_datetime(frame["published_ts"], utc=True).astype("datetime64[us, UTC]")
    frame["published_at_plausible"] = frame["published_at_plausible"].astype("boolean")
    frame["word_count"] = frame["word_count"].astype("int64")
    frame["annotated_chars"] = frame["annotated_chars"].astype("Int64")
    return prefer_canonical(frame)


def fetch_log_rows(
    run_id: str,
    results: list[FetchResult],
    extracted: list[dict],
    valid_ids: set[str],
    quarantined_ids: set[str],
    unchanged: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per fetch, with the disposition of each URL.

    Args:
        run_id: the run.
        results: discovery and page fetches.
        extracted: extract-stage rows (url, canonical_url, is_article, extract_error).
        valid_ids: article ids that passed validation.
        quarantined_ids: article ids whose row was quarantined.
        unchanged: URL -> article id of pages answered 200 with the content already loaded
            (not extracted again: not_modified, reason "same content").
    """
    by_url = {e["url"]: e for e in extracted}
    unchanged = unchanged or {}
    rows = []
    for r in results:
        digest = r.content_hash
        if r.kind == "page" and r.outcome == "ok" and r.url in unchanged:
            disposition, reason, article = "not_modified", "same content", unchanged[r.url]
        else:
            disposition, reason, article = _disposition(r, by_url.get(r.url), valid_ids, quarantined_ids)
        rows.append(
            {
                "run_id": run_id,
                "url": r.url,
                "source": r.source,
                "kind": r.kind,
                "status": r.status,
                "outcome": r.outcome,
                "disposition": disposition,
                "reason": reason,
                "error": r.error,
                "final_url": r.final_url,
                "article_id": article,
                "content_hash": digest,
                "bytes": int(r.bytes or 0),
                "elapsed_ms": float(r.elapsed or 0.0) * 1000.0,
                "attempts": int(r.attempts or 0),
                "fetched_at": r.fetched_at,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["status"] = frame["status"].astype("Int64")
        for column in ("bytes", "attempts"):
            frame[column] = frame[column].astype("int64")
    return frame


def extracted_article_id(row: dict) -> str:
    """The article a page belongs to: the hash of its (same-site) canonical URL."""
    return make_article_id(row.get("canonical_url") or row["url"])


def _disposition(result, extracted, valid_ids, quarantined_ids):
    if result.outcome == "error":
        return "error", None, None
    if result.outcome in _REFUSALS:
        return "skipped", result.note or result.outcome, None
    if result.outcome == "not_modified":
        return "not_modified", None, None
    if result.kind != "page":
        return "discovery", result.note, None
    if extracted is None:
        return "error", "not extracted", None
    if extracted.get("extract_error"):
        return "error", f"extract failed: {extracted['extract_error']}", None
    if not extracted.get("is_article"):
        return "skipped", "not an article", None
    article = extracted_article_id(extracted)
    # result.note: how the page was decoded, when not as it declared
    if article in valid_ids:
        return "article", result.note, article
    if article in quarantined_ids:
        return "quarantined", result.note, article
    return "error", "article lost between stages", None


def url_state_rows(
    requests: list[FetchRequest],
    results: list[FetchResult],
    extracted: list[dict],
    valid_ids: set[str],
    known: dict[str, KnownUrl] | None = None,
) -> pd.DataFrame:
    """Crawl state of each page URL.

    A 304, or a 200 whose content is already loaded, keeps what the URL was known as (``known``,
    from `warehouse.load.read_url_state`): its article, its content hash and validators the answer does not repeat.
    """
    by_url = {e["url"]: e for e in extracted if e.get("is_article")}
    known = known or {}
    rows = []
    for request, r in zip(requests, results):
        if r.outcome not in ("ok", "not_modified"):
            continue
        before = known.get(r.url)
        digest = r.content_hash
        if before is not None and (r.outcome == "not_modified" or digest == before.content_hash):
            article, digest = before.article_id, before.content_hash
        else:
            article = extracted_article_id(by_url[r.url]) if r.url in by_url else None
            article = article if article in valid_ids else None
        rows.append(
            {
                "url": request.url,
                "source": request.source,
                "etag": r.etag or request.etag,
                "last_modified": r.last_modified or request.last_modified,
                "content_hash": digest,
                "article_id": article,
                "last_status": r.status,
                "last_outcome": r.outcome,
                "last_fetched_at": r.fetched_at,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["last_status"] = frame["last_status"].astype("Int64")
    return frame

