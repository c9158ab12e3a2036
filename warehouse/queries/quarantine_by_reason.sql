-- Quarantined rows by table and failed check, with the latest example.
SELECT table_name, failed_checks, count(*) AS rows, max(quarantined_at) AS latest,
       arg_max(coalesce(url, row_key), quarantined_at) AS example
FROM quarantine
GROUP BY ALL
ORDER BY rows DESC, table_name;
