-- Seconds each source's fetches took in one run (retries and server waits included).
-- params: run_id=
SELECT source, round(sum(elapsed_ms) / 1000, 1) AS seconds
FROM fetch_log
WHERE run_id = $run_id
GROUP BY source
ORDER BY source;
