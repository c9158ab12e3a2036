-- Each source's latest run, from fetch_log, with the problem worth a look (NULL: none).
WITH latest AS (
    SELECT source, arg_max(run_id, fetched_at) AS run_id FROM fetch_log GROUP BY source
), last_log AS (
    SELECT f.* FROM fetch_log f JOIN latest USING (source, run_id)
), per_source AS (
    SELECT source,
           max(fetched_at) AS last_fetch,
           count(*) FILTER (kind = 'page') AS pages,
           count(*) FILTER (kind = 'page' AND disposition = 'article') AS articles,
           count(*) FILTER (kind = 'page' AND disposition = 'not_modified') AS not_modified,
           count(*) FILTER (disposition = 'quarantined') AS quarantined,
           count(*) FILTER (kind = 'page' AND disposition = 'error') AS errors,
           count(*) FILTER (kind <> 'page' AND (outcome <> 'ok' OR reason LIKE 'refused%' OR reason LIKE 'no entries%'))
               AS failed_entry_points
    FROM last_log
    GROUP BY source
)
SELECT source, strftime(last_fetch, '%Y-%m-%d %H:%M') AS last_fetch, pages, articles, not_modified,
       quarantined, errors, failed_entry_points,
       CASE
           WHEN failed_entry_points > 0 THEN 'a feed, sitemap or listing failed'
           WHEN pages = 0 THEN 'no pages discovered'
           WHEN errors * 2 >= pages THEN 'most pages failed'
           WHEN articles + not_modified = 0 THEN 'no articles extracted'
           WHEN quarantined > 0 THEN 'rows quarantined'
       END AS problem
FROM per_source
ORDER BY problem IS NULL, source;
