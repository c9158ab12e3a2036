"""Load stage: shape a run's results into warehouse rows and write them in one transaction.

Every URL the run considered gets exactly one fetch_log row whose ``disposition`` says how it ended:
article, not_modified, quarantined, skipped (with a reason) or error; discovery fetches say discovery.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.models import plausible_date
from tasks.fetch import FetchRequest, FetchResult, content_hash
from warehouse import analyst, duckdb_adapter, staging
from wirehouse import stopping
from wirehouse.urls import article_id as make_article_id

logger = logging.getLogger(__name__)

ENTITY_FILL_COLUMNS = ("country_code", "geonames_id", "latitude", "longitude", "igo_code", "sector", "role")
ARTICLE_UPDATE_COLUMNS = (
    "url", "canonical_url", "final_url", "source", "title", "author", "published_at", "published_ts",
    "published_at_plausible", "language", "site_name",
    "description", "categories", "tags", "image", "text", "word_count", "text_hash", "content_hash",
    "extractor", "extractor_version", "annotator_version", "annotated_chars", "updated_at", "run_id",
)
URL_STATE_COLUMNS = (
    "source", "etag", "last_modified", "content_hash", "article_id", "last_status", "last_outcome", "last_fetched_at",
)
SUMMARY_COLUMNS = ("discovered", "fetched", "new", "updated", "not_modified", "quarantined", "skipped", "errors")
_REFUSALS = {"blocked", "robots", "too_large", "not_html", "invalid_url"}
_WORDS = re.compile(r"\w+")
MIN_PROSE_WORDS = 8
STAGED_HASH = "_content_hash"   # staged mentions/events: the content hash of their article's copy


@dataclass
class RunBatch:
    """Everything one run writes."""

    run_id: str
    pages: pd.DataFrame
    articles: pd.DataFrame
    entities: pd.DataFrame
    mentions: pd.DataFrame
    events: pd.DataFrame
    fetch_log: pd.DataFrame
    url_state: pd.DataFrame
    quarantine: pd.DataFrame
    discovered: dict[str, int] = field(default_factory=dict)
    redo: bool = False   # reprocess/replay: the same page made again by newer code replaces what is stored

    def article_keys(self) -> tuple[set[str], set[str]]:
        """(article ids this batch loads, article ids it quarantines)."""
        valid = set(self.articles["article_id"]) if not self.articles.empty else set()
        held = self.quarantine
        quarantined = set(held.loc[held["table_name"] == "articles", "row_key"]) if not held.empty else set()
        return valid, quarantined


@dataclass
class LoadReport:
    """What landed, per source and in total."""

    per_source: dict[str, dict[str, int]]
    table_counts: dict[str, int]
    inserted: dict[str, int]

    def totals(self) -> dict[str, int]:
        return totals_of(self.per_source)


def totals_of(per_source: dict[str, dict[str, int]]) -> dict[str, int]:
    """The run's totals: every summary column summed over the sources."""
    out = Counter()
    for row in per_source.values():
        out.update(row)
    return {k: out.get(k, 0) for k in SUMMARY_COLUMNS}


# ---------------------------------------------------------------- shaping rows


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


def page_rows(results: list[FetchResult]) -> pd.DataFrame:
    """Content-addressed raw pages (gzip) for every successful page fetch."""
    rows = {}
    for r in results:
        if r.outcome == "ok" and r.body is not None and r.kind == "page":
            digest = r.content_hash
            if digest not in rows:
                rows[digest] = raw_page_row(vars(r))
    frame = pd.DataFrame(list(rows.values()))
    if not frame.empty:
        frame["bytes"] = frame["bytes"].astype("int64")
    return frame


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
    return _prefer_canonical(frame)


def _prefer_canonical(articles: pd.DataFrame) -> pd.DataFrame:
    """One row per article_id: the copy fetched at its canonical URL, else the last one."""
    at_canonical = articles["url"] == articles["canonical_url"]
    articles = articles.assign(_at_canonical=at_canonical).sort_values("_at_canonical", kind="stable")
    return articles.drop_duplicates("article_id", keep="last").drop(columns="_at_canonical").reset_index(drop=True)


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
    known: dict[str, "KnownUrl"] | None = None,
) -> pd.DataFrame:
    """Crawl state of each page URL.

    A 304, or a 200 whose content is already loaded, keeps what the URL was known as (``known``,
    from `read_url_state`): its article, its content hash and validators the answer does not repeat.
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


# ---------------------------------------------------------------- warehouse I/O


@dataclass(frozen=True)
class KnownUrl:
    """What earlier runs learnt about a page URL that became an article."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None
    article_id: str


def read_url_state(db_path: str | Path, urls: list[str]) -> dict[str, KnownUrl]:
    """Crawl state of the URLs that became articles: validators for a conditional GET, and the
    content hash that lets an unchanged 200 skip extraction."""
    if not urls or not Path(db_path).exists():
        return {}
    con = duckdb_adapter.connect(db_path)
    try:
        duckdb_adapter.migrate(con)
        con.register("_wanted", pd.DataFrame({"url": urls}))
        rows = con.execute(
            "SELECT s.url, s.etag, s.last_modified, s.content_hash, s.article_id"
            " FROM url_state s JOIN _wanted w USING (url) WHERE s.article_id IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return {url: KnownUrl(etag, modified, digest, article) for url, etag, modified, digest, article in rows}


def staged_batch(
    run_id: str,
    folders: list[str],
    fetch_log: pd.DataFrame | None = None,
    url_state: pd.DataFrame | None = None,
    discovered: dict[str, int] | None = None,
) -> RunBatch:
    """A `RunBatch` from the Parquet chunks the transform stage staged, plus the flow's crawl rows.

    Chunks were validated on their own; across chunks an article reached from two URLs keeps the
    copy at its canonical URL (as `article_rows` does within a chunk), and only that copy's
    mentions and events; an entity keeps the first known value of each column.
    """
    staged = staging.read_chunks(folders)
    articles = staged.get("articles", pd.DataFrame())
    mentions = staged.get("mentions", pd.DataFrame())
    events = staged.get("events", pd.DataFrame())
    if not articles.empty:
        articles = _prefer_canonical(articles)
        kept = set(zip(articles["article_id"], articles["content_hash"]))
        mentions, events = (_kept_copies(frame, kept) for frame in (mentions, events))
    entities = staged.get("entities", pd.DataFrame())
    if not entities.empty:
        entities = entities.groupby("entity_id", as_index=False, sort=False).first()
    pages = staged.get("pages", pd.DataFrame())
    if not pages.empty:
        pages = pages.drop_duplicates("content_hash")
    return RunBatch(
        run_id=run_id, pages=pages, articles=articles, entities=entities, mentions=mentions, events=events,
        fetch_log=pd.DataFrame() if fetch_log is None else fetch_log,
        url_state=pd.DataFrame() if url_state is None else url_state,
        quarantine=staged.get("quarantine", pd.DataFrame()),
        discovered=dict(discovered or {}),
    )


def _kept_copies(frame: pd.DataFrame, kept: set[tuple[str, str]]) -> pd.DataFrame:
    if frame.empty or STAGED_HASH not in frame:
        return frame
    mask = [pair in kept for pair in zip(frame["article_id"], frame[STAGED_HASH])]
    return frame[mask].drop(columns=STAGED_HASH).reset_index(drop=True)


def load_batch(db_path: str | Path, batch: RunBatch, summary_extra: dict | None = None, finish: bool = True,
               in_transaction: Callable[[], None] | None = None) -> LoadReport:
    """Write a batch of a run's rows in one transaction; idempotent (reloading the same pages adds nothing).

    Args:
        db_path: the DuckDB file (created and migrated if needed).
        batch: the rows.
        summary_extra: more facts for the ``runs`` row.
        finish: the batch is the whole run: mark the run completed with its summary. A streaming
            run loads many batches and then calls `finish_run`.
        in_transaction: called inside the transaction, before commit (the flow's fault point).

    Returns:
        `LoadReport` with per-source counts (and table sizes when ``finish``).
    """
    con = duckdb_adapter.connect(db_path)
    try:
        duckdb_adapter.migrate(con)
        status = _article_status(con, batch.articles, batch.run_id)
        if batch.redo:
            status = {aid: "updated" if state == "unchanged" else state for aid, state in status.items()}
        articles = batch.articles
        if not articles.empty:
            # A stored copy fetched at its canonical URL is never replaced by a copy from an alias URL.
            articles = articles[[status.get(a) != "kept" for a in articles["article_id"]]]
        inserted: dict[str, int] = {}
        with stopping.transaction(), duckdb_adapter.transaction(con):   # a stop lets a load under way finish
            inserted["pages"], _ = duckdb_adapter.upsert(con, "pages", batch.pages)
            inserted["articles"], _ = duckdb_adapter.upsert(
                con, "articles", articles, update=ARTICLE_UPDATE_COLUMNS, changed_when=None if batch.redo else "content_hash"
            )
            if in_transaction is not None:   # a hook the caller hands in (the crash tests' fault point)
                in_transaction()
            changed = [aid for aid, state in status.items() if state in ("new", "updated", "merged")]
            if changed:
                # Mentions of a changed article are replaced, never appended to.
                con.register("_changed", pd.DataFrame({"article_id": changed}))
                con.execute("DELETE FROM mentions WHERE article_id IN (SELECT article_id FROM _changed)")
                con.execute("DELETE FROM events WHERE article_id IN (SELECT article_id FROM _changed)")
                con.unregister("_changed")
                mentions = batch.mentions[batch.mentions["article_id"].isin(changed)] if not batch.mentions.empty else batch.mentions
                events = batch.events[batch.events["article_id"].isin(changed)] if not batch.events.empty else batch.events
            else:
                mentions = batch.mentions.iloc[0:0]
                events = batch.events.iloc[0:0]
            # An entity keeps its first row; a later mention only fills what was unknown (a role).
            inserted["entities"], _ = duckdb_adapter.upsert(con, "entities", batch.entities, update=ENTITY_FILL_COLUMNS, fill_only=True)
            inserted["mentions"], _ = duckdb_adapter.upsert(con, "mentions", mentions)
            inserted["events"], _ = duckdb_adapter.upsert(con, "events", events)
            inserted["quarantine"], _ = duckdb_adapter.upsert(
                con, "quarantine", batch.quarantine, update=("failed_checks", "url", "content_hash", "row_json", "run_id", "quarantined_at")
            )
            duckdb_adapter.upsert(con, "url_state", batch.url_state, update=URL_STATE_COLUMNS)
            inserted["fetch_log"], _ = duckdb_adapter.upsert(con, "fetch_log", batch.fetch_log)
            con.execute(duckdb_adapter.read_query("mark_duplicates"))
            report = LoadReport(per_source=_per_source(batch, status), table_counts={}, inserted=inserted)
            if finish:
                _complete_run(con, batch.run_id, {"per_source": report.per_source, "totals": report.totals(), **(summary_extra or {})})
        if finish:
            report.table_counts = table_counts(con)
        return report
    finally:
        con.close()


def load_pending(db_path: str | Path) -> dict[str, int]:
    """Load the batches earlier runs had to set aside (a reader held the warehouse), oldest first.
    A batch that cannot be read is renamed ``*.unloadable`` and logged; its pages have no crawl
    state, so they are fetched again.

    Returns:
        Pages loaded per earlier run (empty when nothing waited).
    """
    carried: dict[str, int] = {}
    for folder in staging.pending_batches(db_path):
        try:
            chunks, crawl, meta = staging.read_pending(folder)
            batch = staged_batch(meta["run_id"], chunks, fetch_log=crawl.get("fetch_log"), url_state=crawl.get("url_state"),
                                 discovered=meta.get("discovered"))
        except staging.StagingError as exc:
            logger.error("%s; set aside as %s, its pages are fetched again", exc, staging.set_aside(folder).name)
            continue
        load_batch(db_path, batch, finish=False)
        staging.remove(folder)
        pages = int((batch.fetch_log["kind"] == "page").sum()) if not batch.fetch_log.empty else 0
        carried[meta["run_id"]] = carried.get(meta["run_id"], 0) + pages
        logger.warning("loaded %d pages run %s had staged while the warehouse was busy", pages, meta["run_id"])
    return carried


def finish_run(db_path: str | Path, run_id: str, summary: dict) -> dict[str, int]:
    """Mark a streaming run completed with its summary.

    Returns:
        The table sizes after the run (none when a reader held the warehouse past the wait: the
        end is then noted for the next run to write).
    """
    try:
        con = duckdb_adapter.connect(db_path)
    except duckdb_adapter.WarehouseBusy as exc:
        staging.note_run_state(db_path, run_id, "completed", summary)
        logger.warning("%s; the run's end is written by the next run", exc)
        return {}
    try:
        _complete_run(con, run_id, summary)
        if analyst.refresh_search_index(con):
            logger.info("full-text index rebuilt")
        return table_counts(con)
    finally:
        con.close()


def run_findings(db_path: str | Path, run_id: str) -> dict[str, pd.DataFrame]:
    """What a finished run found, for its Prefect artifacts.

    Returns:
        ``health`` (extraction health per source against its earlier runs, `source_health.sql`),
        ``entities`` and ``events`` (the top ones in the articles the run added or changed), and
        ``fetch_seconds`` (per source: the seconds its fetches took, retries and waits included).
    """
    try:
        con = duckdb_adapter.connect(db_path, read_only=True)
    except duckdb_adapter.WarehouseBusy as exc:   # a reader that outlasts the wait costs the artifacts, not the run
        logger.warning("%s; the run's findings are not published", exc)
        return {}
    try:
        return {
            name: con.execute(duckdb_adapter.read_query(query), {"run_id": run_id}).fetchdf()
            for name, query in (("health", "source_health"), ("entities", "run_top_entities"), ("events", "run_top_events"),
                                ("fetch_seconds", "run_fetch_seconds"))
        }
    finally:
        con.close()


def _complete_run(con, run_id: str, summary: dict) -> None:
    con.execute(
        "UPDATE runs SET summary = ?, finished_at = ?, status = 'completed' WHERE run_id = ?",
        [json.dumps(summary, default=str), datetime.now(timezone.utc), run_id],
    )
    con.execute(duckdb_adapter.read_query("measure_source_health"), {"run_id": run_id})


def start_run(db_path: str | Path, run_id: str, flow_run_id: str | None, sources_file: str) -> None:
    """Record a run as started (and migrate the warehouse: a bad file fails the run before any fetch).

    The caller holds the writer lock, so a run still marked running was killed: it becomes
    ``interrupted`` (its finished batches stay loaded; the next run fetches the rest).
    """
    con = duckdb_adapter.connect(db_path)
    try:
        duckdb_adapter.migrate(con)
        for path, noted in staging.noted_run_states(db_path):   # ends an earlier run could not write
            _write_end(con, noted["run_id"], noted["status"], noted.get("summary"),
                       datetime.fromtimestamp(noted.get("finished_at") or 0, timezone.utc))
            path.unlink(missing_ok=True)
        con.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' AND run_id <> ?",
            [datetime.now(timezone.utc), run_id],
        )
        con.execute(
            "INSERT INTO runs (run_id, flow_run_id, started_at, status, sources_file) VALUES (?, ?, ?, 'running', ?)"
            " ON CONFLICT (run_id) DO NOTHING",
            [run_id, flow_run_id, datetime.now(timezone.utc), sources_file],
        )
    finally:
        con.close()


def mark_interrupted(db_path: str | Path, run_id: str) -> None:
    """Mark a running run interrupted (a stop), never over a finished run."""
    _end_run(db_path, run_id, "interrupted", None, wait=3)


def fail_run(db_path: str | Path, run_id: str, error: str) -> None:
    """Mark a run failed with its error."""
    _end_run(db_path, run_id, "failed", {"error": error}, wait=5)


def _end_run(db_path: str | Path, run_id: str, status: str, summary: dict | None, wait: float) -> None:
    """Write a run's end into ``runs``; when the warehouse is busy (a reader) or broken, leave it
    noted beside the staging for the next run to write. Never raises: it reports another failure."""
    try:
        con = duckdb_adapter.connect(db_path, wait=wait, stoppable=False)
    except Exception as exc:  # noqa: BLE001 - reporting must not raise
        try:
            staging.note_run_state(db_path, run_id, status, summary)
            logger.warning("run %s: the warehouse is busy; its end (%s) is written by the next run (%s)", run_id, status, exc)
        except OSError as note_error:
            logger.warning("run %s: could not record its end (%s): %s", run_id, status, note_error)
        return
    try:
        _write_end(con, run_id, status, summary, datetime.now(timezone.utc))
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not mark run %s %s: %s", run_id, status, exc)
    finally:
        con.close()


def _write_end(con, run_id: str, status: str, summary: dict | None, finished_at: datetime) -> None:
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, summary = coalesce(?, summary) WHERE run_id = ? AND status = 'running'",
        [status, finished_at, None if summary is None else json.dumps(summary, default=str), run_id],
    )


def table_counts(con) -> dict[str, int]:
    return {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "entities", "mentions", "events", "pages", "fetch_log", "quarantine")
    }


def _article_status(con, articles: pd.DataFrame, run_id: str | None = None) -> dict[str, str]:
    """Per incoming article, before the upsert: new, updated, unchanged, kept (an alias copy never
    replaces a canonical row) or merged (another copy of an article this run already loaded)."""
    if articles.empty:
        return {}
    con.register("_incoming_status", articles[["article_id", "content_hash", "url", "canonical_url"]])
    rows = con.execute(
        "SELECT i.article_id, a.article_id IS NULL AS is_new, a.content_hash IS DISTINCT FROM i.content_hash AS changed,"
        " i.url <> i.canonical_url AND a.url = a.canonical_url AS alias_over_canonical,"
        " a.run_id IS NOT DISTINCT FROM ? AS this_run"
        " FROM _incoming_status i LEFT JOIN articles a USING (article_id)",
        [run_id],
    ).fetchall()
    con.unregister("_incoming_status")
    out = {}
    for aid, is_new, changed, alias, this_run in rows:
        if is_new:
            out[aid] = "new"
        elif alias:
            out[aid] = "kept"
        elif not changed:
            out[aid] = "unchanged"
        else:
            out[aid] = "merged" if this_run else "updated"
    return out


def _per_source(batch: RunBatch, status: dict[str, str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUMMARY_COLUMNS, 0))
    for name, count in batch.discovered.items():
        out[name]["discovered"] = count
    if not batch.fetch_log.empty:
        pages = batch.fetch_log[batch.fetch_log["kind"] == "page"]
        for row in pages.itertuples():
            counts = out[row.source]
            counts["fetched"] += 1
            if row.disposition == "not_modified":
                counts["not_modified"] += 1
            elif row.disposition == "quarantined":
                counts["quarantined"] += 1
            elif row.disposition == "skipped":
                counts["skipped"] += 1
            elif row.disposition == "error":
                counts["errors"] += 1
        errors = batch.fetch_log[(batch.fetch_log["kind"] != "page") & (batch.fetch_log["disposition"] == "error")]
        for row in errors.itertuples():
            out[row.source]["errors"] += 1
    if not batch.articles.empty:
        for row in batch.articles[["article_id", "source"]].itertuples():
            state = status.get(row.article_id)
            if state in ("new", "updated"):
                out[row.source][state] += 1
    return {k: dict(v) for k, v in out.items()}


@dataclass
class Busy:
    """A load that did not happen: another process held the warehouse past the wait."""

    message: str


@task(name="load", cache_policy=NO_CACHE)
def load_task(db_path: str, batch: RunBatch, summary_extra: dict | None = None,
              finish: bool = True, in_transaction: Callable[[], None] | None = None) -> LoadReport | Busy | None:
    """Prefect task: `load_batch`. No task retries: the connection already outwaits readers
    (`duckdb_adapter.reader_wait_seconds`).

    Returns:
        The report; `Busy` when a reader outlasted the wait (nothing written; the flow keeps the
        batch); None when a stop came while it waited (nothing written).
    """
    try:
        return load_batch(db_path, batch, summary_extra, finish, in_transaction)
    except stopping.RunStopped:
        return None
    except duckdb_adapter.WarehouseBusy as exc:   # the flow's to handle: not a task failure with a traceback
        return Busy(str(exc))
