-- Measure one run's extraction health per source (run by the loader when a run finishes).
INSERT OR REPLACE INTO source_health
WITH extracted AS (
    SELECT source, article_id, disposition, reason
    FROM fetch_log
    WHERE run_id = $run_id AND kind = 'page' AND outcome = 'ok'
      AND (disposition IN ('article', 'quarantined') OR reason = 'not an article' OR reason LIKE 'extract failed%')
), untitled AS (
    SELECT DISTINCT row_key AS article_id FROM quarantine
    WHERE run_id = $run_id AND table_name = 'articles' AND failed_checks LIKE '%title%'
)
SELECT $run_id, e.source, now(), count(*),
       count(*) FILTER (WHERE e.reason = 'not an article' OR e.reason LIKE 'extract failed%'),
       count(*) FILTER (WHERE e.disposition = 'quarantined' AND u.article_id IS NOT NULL),
       count(*) FILTER (WHERE e.disposition = 'article' AND a.article_id IS NOT NULL AND a.published_at IS NULL)
FROM extracted e
LEFT JOIN untitled u ON u.article_id = e.article_id
LEFT JOIN articles a ON a.article_id = e.article_id
GROUP BY e.source;
