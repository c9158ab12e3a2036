"""Transform stage: a chunk of fetched pages -> validated warehouse rows, staged as Parquet.

One call does everything CPU-bound for its pages (extract, validate articles, annotate, validate
entities, mentions and events) so a chunk crosses to a worker process (or a Dask worker) once,
and only small facts come back: which page became which article. The rows themselves go to the
staging folder for the single writer (`warehouse.staging`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from wirehouse.tasks.annotate import annotate_batch
from wirehouse.tasks.extract import extract_batch
from wirehouse.tasks.rows import article_rows, raw_page_row
from wirehouse.flows.memory import release_freed
from wirehouse.tasks.nlp_model import ANNOTATOR_VERSION
from wirehouse.schemas.batches import STAGED_HASH
from wirehouse.tasks.validate import validate_frame
from wirehouse.warehouse import staging
from wirehouse import stopping

logger = logging.getLogger(__name__)

# What the flow keeps of each page: enough for fetch_log and url_state, never the text.
PAGE_FACTS = ("url", "final_url", "canonical_url", "is_article", "extract_error")


@dataclass
class TransformedChunk:
    """What a transformed chunk reports back; its rows are in ``staged``."""

    staged: str
    pages: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class TransformedRows:
    """What the stages made of a chunk of pages: the extract stage's rows (one per page) and the
    validated frames (pages, articles, entities, mentions, events; quarantine or None)."""

    extracted: list[dict]
    frames: dict[str, pd.DataFrame | None]


def transform_rows(pages: list[dict], run_id: str, now: datetime) -> TransformedRows:
    """Extract, annotate and validate a chunk of pages, in memory (nothing is written).

    Args:
        pages: fetched pages: url, final_url, source, body, encoding (the fetcher's choice),
            content_hash, content_type, fetched_at.
        run_id: the ingest run (recorded on rows and quarantine entries).
        now: the run's timestamp for first_seen_at / updated_at.

    Returns:
        `TransformedRows`.
    """
    # Decoded here, not in the flow: a fetched batch waiting in the flow holds only bytes.
    extracted = extract_batch([
        {**{k: v for k, v in p.items() if k != "body"}, "html": p["body"].decode(p.get("encoding") or "utf-8", errors="replace")}
        for p in pages
    ])
    articles = validate_frame(article_rows(extracted, run_id, now), "articles", "article_id", run_id)
    stopping.check()   # in-process, a stop between the two long steps is not kept waiting
    named = annotate_batch(articles.valid)
    articles.valid["annotator_version"] = ANNOTATOR_VERSION   # what made its mentions and events (reprocess)
    if not articles.valid.empty:   # how much of each text was annotated; NA: not annotated (language)
        articles.valid["annotated_chars"] = articles.valid["article_id"].map(named.annotated_chars).astype("Int64")
    entities = validate_frame(named.entities, "entities", "entity_id", run_id)
    mentions, events = named.mentions, named.events
    if entities.failed_keys:   # nothing may point at an entity that was not loaded
        mentions = mentions[~mentions["entity_id"].isin(entities.failed_keys)]
        for column in ("actor1_entity_id", "actor2_entity_id", "location_entity_id"):
            events = events[~events[column].isin(entities.failed_keys)]
    if not mentions.empty:
        mentions = mentions.assign(_key=mentions["article_id"] + ":" + mentions["start_char"].astype(str))
    mentions = validate_frame(mentions, "mentions", "_key", run_id)
    events = validate_frame(events, "events", "event_id", run_id)

    copy_of = dict(zip(articles.valid["article_id"], articles.valid["content_hash"])) if not articles.valid.empty else {}
    quarantine = [q for q in (articles.quarantine, entities.quarantine, mentions.quarantine, events.quarantine) if not q.empty]
    frames = {
        "pages": pd.DataFrame([raw_page_row(p) for p in pages]),
        "articles": articles.valid,
        "entities": entities.valid,
        "mentions": _tag_copy(mentions.valid.drop(columns="_key", errors="ignore"), copy_of),
        "events": _tag_copy(events.valid, copy_of),
        "quarantine": pd.concat(quarantine, ignore_index=True) if quarantine else None,
    }
    return TransformedRows(extracted, frames)


def transform_pages(pages: list[dict], run_id: str, now: datetime, run_folder: str) -> TransformedChunk:
    """Extract, annotate and validate a chunk of pages (`transform_rows`) and stage the rows as Parquet.

    Args:
        pages: fetched pages (see `transform_rows`).
        run_id: the ingest run (recorded on rows and quarantine entries).
        now: the run's timestamp for first_seen_at / updated_at.
        run_folder: the run's staging folder.

    Returns:
        `TransformedChunk`: the chunk folder and per-page facts.
    """
    done = transform_rows(pages, run_id, now)
    folder = staging.write_chunk(run_folder, done.frames)
    release_freed()   # a worker lives for the whole run: give each chunk's memory back
    return TransformedChunk(
        staged=folder,
        pages=[{k: row.get(k) for k in PAGE_FACTS} for row in done.extracted],
        counts={name: 0 if frame is None else len(frame) for name, frame in done.frames.items()},
    )


def _tag_copy(frame: pd.DataFrame, copy_of: dict[str, str]) -> pd.DataFrame:
    """Mark rows with their article copy's content hash: when an article reaches the load from
    two URLs (an alias and its canonical page), only the kept copy's mentions and events load."""
    if frame.empty:
        return frame
    return frame.assign(**{STAGED_HASH: frame["article_id"].map(copy_of)})


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(pages: list[dict], run_id: str, now: datetime, run_folder: str) -> TransformedChunk | None:
    """Prefect task: transform a chunk (in a worker process when the run has a pool); None when a
    stop abandoned it (not a failure: no traceback in the run's logs)."""
    from wirehouse.flows import workers

    try:
        return workers.run(transform_pages, pages, run_id, now, run_folder)
    except stopping.RunStopped:   # the chunk is abandoned; the flow stops at its next checkpoint
        return None
