-- Articles per source per publication day.
SELECT source, CAST(published_at AS DATE) AS day, count(*) AS articles
FROM articles
GROUP BY ALL
ORDER BY day DESC NULLS LAST, source;
