-- The entities most mentioned in the articles one run added or changed.
-- params: run_id=
SELECT en.name, en.type, coalesce(en.country_code, en.igo_code) AS code, count(*) AS mentions,
       count(DISTINCT m.article_id) AS articles
FROM mentions m
JOIN articles a USING (article_id)
JOIN entities en USING (entity_id)
WHERE a.run_id = $run_id
GROUP BY ALL
ORDER BY mentions DESC, en.name
LIMIT 15;
