"""The load transaction: a batch of a run's rows written in one transaction, idempotently.

Also what the load reads back: the staged Parquet chunks made into one batch (`staged_batch`), the
crawl state of known URLs (`read_url_state`), and the batches an earlier run set aside
(`load_pending`). The rows themselves are shaped by the stages (`tasks.rows`, `flows.transform`);
the run's row in ``runs`` is the ledger's (`warehouse.runs`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Callable

import pandas as pd

from wirehouse.schemas.batches import STAGED_HASH, SUMMARY_COLUMNS, KnownUrl, LoadReport, RunBatch, prefer_canonical
from wirehouse.warehouse import duckdb_adapter, staging
from wirehouse.warehouse.runs import complete_run, table_counts
from wirehouse import stopping

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
    copy at its canonical URL (as `tasks.rows.article_rows` does within a chunk), and only that copy's
    mentions and events; an entity keeps the first known value of each column.
    """
    staged = staging.read_chunks(folders)
    articles = staged.get("articles", pd.DataFrame())
    mentions = staged.get("mentions", pd.DataFrame())
    events = staged.get("events", pd.DataFrame())
    if not articles.empty:
        articles = prefer_canonical(articles)
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
            run loads many batches and then calls `warehouse.runs.finish_run`.
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
            con.execute(duckdb_adapter.internal_sql("mark_duplicates"))
            report = LoadReport(per_source=_per_source(batch, status), table_counts={}, inserted=inserted)
            if finish:
                complete_run(con, batch.run_id, {"per_source": report.per_source, "totals": report.totals(), **(summary_extra or {})})
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

