-- Quarantined rows, newest first: what failed and where the raw page is (content_hash -> pages).
-- params: table_name=
SELECT table_name, row_key, failed_checks, url, content_hash IS NOT NULL AND content_hash IN (SELECT content_hash FROM pages) AS raw_stored,
       left(run_id, 8) AS run, strftime(quarantined_at, '%Y-%m-%d %H:%M') AS quarantined
FROM quarantine
WHERE $table_name = '' OR table_name = $table_name
ORDER BY quarantined_at DESC, table_name, row_key;
