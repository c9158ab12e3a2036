-- Republished stories: every article whose text equals an earlier article's points at the earliest one
-- (earliest published, then first seen, then smallest id, so the choice is stable across reruns).
-- An implausible date (1800, 2099: kept and flagged) counts as no date: it must not make a copy the original.
UPDATE articles
SET duplicate_of = d.first_id
FROM (
    SELECT text_hash,
           arg_min(article_id, (coalesce(if(published_at_plausible, published_at, NULL), DATE '9999-12-31'),
                               first_seen_at, article_id)) AS first_id
    FROM articles
    GROUP BY text_hash
    HAVING count(*) > 1
) AS d
WHERE articles.text_hash = d.text_hash
  AND articles.article_id <> d.first_id
  AND articles.duplicate_of IS DISTINCT FROM d.first_id;
