-- The most confident events in the articles one run added or changed: dated, with both actors first.
-- params: run_id=
SELECT d.event_date, d.cameo_code, d.root_name, d.actor1, d.actor2, d.location, d.trigger, d.title
FROM event_details d
JOIN articles a ON a.article_id = d.article_id
WHERE a.run_id = $run_id
ORDER BY (d.date_precision IS NOT NULL AND d.actor1 IS NOT NULL AND d.actor2 IS NOT NULL) DESC,
         d.confidence DESC, d.event_date DESC NULLS LAST, d.event_id
LIMIT 15;
