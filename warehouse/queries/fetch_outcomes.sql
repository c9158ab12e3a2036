-- How the latest run ended for every URL it considered.
SELECT kind, outcome, disposition, coalesce(reason, '') AS reason, count(*) AS urls
FROM fetch_log
WHERE run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)
GROUP BY ALL
ORDER BY kind, urls DESC;
