-- Entities named in the same articles: pairs by the number of articles that mention both.
-- params: min_articles=2
WITH per_article AS (
    SELECT DISTINCT article_id, entity_id, name, type FROM entity_mentions
)
SELECT a.name AS entity_a, a.type AS type_a, b.name AS entity_b, b.type AS type_b,
       count(*) AS articles
FROM per_article a
JOIN per_article b ON a.article_id = b.article_id AND a.entity_id < b.entity_id
GROUP BY ALL
HAVING count(*) >= CAST($min_articles AS INTEGER)
ORDER BY articles DESC, entity_a, entity_b
LIMIT 100;
