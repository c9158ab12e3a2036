-- One run's extraction health per source against the source's five runs before, with a flag when
-- a share rose by 0.3 or more (on at least 5 pages each side): a layout change is likely.
-- (run_id empty: the latest run measured.)
-- params: run_id=
WITH current AS (
    SELECT * FROM source_health
    WHERE run_id = coalesce(nullif($run_id, ''), (SELECT arg_max(run_id, measured_at) FROM source_health))
), earlier AS (
    SELECT source, sum(pages) AS pages, sum(empty) AS empty, sum(missing_title) AS missing_title,
           sum(missing_date) AS missing_date
    FROM (
        SELECT h.*, row_number() OVER (PARTITION BY h.source ORDER BY h.measured_at DESC) AS recent
        FROM source_health h JOIN current c USING (source)
        WHERE h.run_id <> c.run_id AND h.pages > 0 AND h.measured_at < c.measured_at
    )
    WHERE recent <= 5
    GROUP BY source
), shares AS (
    SELECT c.source, c.pages,
           round(c.empty / nullif(c.pages, 0), 3) AS empty_share,
           round(e.empty / nullif(e.pages, 0), 3) AS empty_before,
           round(c.missing_title / nullif(c.pages, 0), 3) AS no_title_share,
           round(e.missing_title / nullif(e.pages, 0), 3) AS no_title_before,
           round(c.missing_date / nullif(c.pages, 0), 3) AS no_date_share,
           round(e.missing_date / nullif(e.pages, 0), 3) AS no_date_before,
           c.pages >= 5 AND coalesce(e.pages, 0) >= 5 AS comparable
    FROM current c LEFT JOIN earlier e USING (source)
)
SELECT source, pages, empty_share, empty_before, no_title_share, no_title_before, no_date_share, no_date_before,
       CASE WHEN comparable THEN nullif(concat_ws(', ',
           CASE WHEN empty_share - empty_before >= 0.3 THEN 'empty pages' END,
           CASE WHEN no_title_share - no_title_before >= 0.3 THEN 'missing titles' END,
           CASE WHEN no_date_share - no_date_before >= 0.3 THEN 'missing dates' END), '')
       END AS layout_change_likely
FROM shares
ORDER BY layout_change_likely IS NULL, source;
