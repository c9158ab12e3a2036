-- After a replay: the replayed pages' rows still in quarantine, by reason.
-- params: run_id= table_name=
SELECT CASE WHEN run_id = $run_id THEN failed_checks ELSE 'not made again by the current code' END AS reason,
       count(*) AS rows
FROM quarantine
WHERE content_hash IN (SELECT content_hash FROM _replayed)
  AND ($table_name = '' OR table_name = $table_name)
GROUP BY ALL;
