-- The last ingest runs: when, how long, and what each brought. The seconds are the run summary's
-- (the figure its terminal summary and ingest-summary artifact show; else end minus start).
SELECT left(run_id, 8) AS run, status,
       strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
       coalesce(CAST(summary ->> '$.seconds' AS DOUBLE), round(epoch(finished_at) - epoch(started_at), 1)) AS seconds,
       CAST(summary ->> '$.totals.fetched' AS INTEGER) AS fetched,
       CAST(summary ->> '$.totals.new' AS INTEGER) AS new,
       CAST(summary ->> '$.totals.updated' AS INTEGER) AS updated,
       CAST(summary ->> '$.totals.not_modified' AS INTEGER) AS not_modified,
       CAST(summary ->> '$.totals.quarantined' AS INTEGER) AS quarantined,
       CAST(summary ->> '$.totals.errors' AS INTEGER) AS errors
FROM runs
ORDER BY started_at DESC
LIMIT 10;
