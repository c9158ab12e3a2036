-- Articles per source: how many, the date range they cover, how many are republished copies.
SELECT source,
       count(*)                                   AS articles,
       min(published_at)                          AS earliest,
       max(published_at)                          AS latest,
       count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS republished
FROM articles
GROUP BY source
ORDER BY articles DESC, source;
