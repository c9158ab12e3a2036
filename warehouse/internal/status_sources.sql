-- Each source: the articles the warehouse holds (in_warehouse), and what its latest run did: the
-- counts that run's summary gives (the figures its terminal summary and ingest-summary artifact
-- show; from fetch_log for a run that left no summary, where new and updated are unknown), and
-- the problem worth a look, a failed feed, sitemap or listing named with its URL and first error
-- (NULL: none). A failed entry point is the run's rule (`flows/outcome.py`): not fetched, refused
-- unparsed, or without entries.
WITH latest AS (
    SELECT source, arg_max(run_id, fetched_at) AS run_id, max(fetched_at) AS last_fetch FROM fetch_log GROUP BY source
), last_log AS (
    SELECT f.*,
           kind <> 'page' AND (outcome NOT IN ('ok', 'not_modified') OR reason LIKE 'refused%' OR reason LIKE 'no entries%')
               AS entry_failed
    FROM fetch_log f JOIN latest USING (source, run_id)
), logged AS (
    SELECT source,
           count(*) FILTER (kind = 'page') AS fetched,
           count(*) FILTER (kind = 'page' AND disposition = 'article') AS articles,
           count(*) FILTER (kind = 'page' AND disposition = 'not_modified') AS not_modified,
           count(*) FILTER (kind = 'page' AND disposition = 'quarantined') AS quarantined,
           count(*) FILTER (kind = 'page' AND disposition = 'skipped') AS skipped,
           count(*) FILTER (disposition = 'error') AS errors,   -- pages and entry points, as the summary counts
           count(*) FILTER (kind = 'page' AND disposition = 'error') AS page_errors,
           count(*) FILTER (entry_failed) AS failed_entry_points,
           arg_min(kind || ' ' || url || ': ' || coalesce(error, reason, outcome), fetched_at) FILTER (entry_failed)
               AS first_failure
    FROM last_log
    GROUP BY source
), summarised AS (
    SELECT l.source, r.status AS run_status,
           json_extract(r.summary, '$.per_source."' || replace(l.source, '"', '\"') || '"') AS counts
    FROM latest l LEFT JOIN runs r USING (run_id)
), held AS (
    SELECT source, count(*) AS articles FROM articles GROUP BY source
)
SELECT source, coalesce(h.articles, 0) AS in_warehouse,
       left(l.run_id, 8) AS run, strftime(l.last_fetch, '%Y-%m-%d %H:%M') AS last_fetch,
       CAST(s.counts ->> 'discovered' AS INTEGER) AS discovered,
       coalesce(CAST(s.counts ->> 'fetched' AS INTEGER), g.fetched) AS fetched,
       CAST(s.counts ->> 'new' AS INTEGER) AS new,
       CAST(s.counts ->> 'updated' AS INTEGER) AS updated,
       coalesce(CAST(s.counts ->> 'not_modified' AS INTEGER), g.not_modified) AS not_modified,
       coalesce(CAST(s.counts ->> 'quarantined' AS INTEGER), g.quarantined) AS quarantined,
       coalesce(CAST(s.counts ->> 'skipped' AS INTEGER), g.skipped) AS skipped,
       coalesce(CAST(s.counts ->> 'errors' AS INTEGER), g.errors) AS errors,
       CASE
           WHEN g.failed_entry_points > 0 THEN g.first_failure
               || CASE WHEN g.failed_entry_points > 1 THEN ' (and ' || (g.failed_entry_points - 1) || ' more)' ELSE '' END
           WHEN g.fetched = 0 THEN 'no pages discovered'
           WHEN g.page_errors * 2 >= g.fetched THEN 'most pages failed'
           WHEN g.articles + g.not_modified = 0 THEN 'no articles extracted'
           WHEN g.quarantined > 0 THEN 'rows quarantined'
       END AS problem
FROM latest l
JOIN logged g USING (source)
LEFT JOIN summarised s USING (source)
LEFT JOIN held h USING (source)
ORDER BY problem IS NULL, source;
