-- The most mentioned people, organisations and places, with how many articles name them.
SELECT e.type, e.name,
       count(*)                     AS mentions,
       count(DISTINCT m.article_id) AS articles
FROM mentions m
JOIN entities e USING (entity_id)
WHERE e.type IN ('PERSON', 'ORG', 'GPE', 'LOC')
GROUP BY e.type, e.name
ORDER BY mentions DESC, e.name
LIMIT 15;
