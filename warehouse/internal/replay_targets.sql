-- The raw pages behind quarantined rows (of one table, or all when table_name is ''), with the URL
-- and source of their latest fetch.
-- params: table_name=
WITH latest_fetch AS (
    SELECT content_hash, arg_max(url, fetched_at) AS url, arg_max(final_url, fetched_at) AS final_url,
           arg_max(source, fetched_at) AS source
    FROM fetch_log
    WHERE kind = 'page' AND content_hash IS NOT NULL
    GROUP BY content_hash
)
SELECT q.row_key, q.content_hash, coalesce(f.url, p.url) AS url, coalesce(f.final_url, p.final_url) AS final_url,
       coalesce(f.source, json_extract_string(q.row_json, '$.source')) AS source,
       p.encoding, p.content_type, p.fetched_at, p.raw_gz
FROM quarantine q
LEFT JOIN pages p USING (content_hash)
LEFT JOIN latest_fetch f USING (content_hash)
WHERE ($table_name = '' OR q.table_name = $table_name) AND q.content_hash IS NOT NULL
ORDER BY q.quarantined_at, q.row_key;
