-- The most mentioned people, organisations and places, linked: country (ISO 3166 alpha-3),
-- GeoNames id or IGO code, and how many articles name them.
SELECT e.type, e.name,
       coalesce(e.country_code, e.igo_code) AS code,
       e.geonames_id,
       count(*)                     AS mentions,
       count(DISTINCT m.article_id) AS articles
FROM mentions m
JOIN entities e USING (entity_id)
WHERE e.type IN ('PERSON', 'ORG', 'GPE', 'LOC')
GROUP BY ALL
ORDER BY mentions DESC, e.name
LIMIT 15;
