-- Full-text search without an index: Okapi BM25 (k1 = 1.2, b = 0.75) over title and text,
-- computed for every article at query time. Exact, but its cost grows with the warehouse.
-- params: query= limit=20
WITH terms AS (
    SELECT DISTINCT term FROM (SELECT unnest(regexp_split_to_array(lower($query), '[^\pL\pN]+')) AS term) WHERE term <> ''
), docs AS (
    SELECT article_id, regexp_split_to_array(lower(coalesce(title, '') || ' ' || coalesce(text, '')), '[^\pL\pN]+') AS tokens
    FROM articles
), corpus AS (
    SELECT count(*) AS n, avg(len(tokens)) AS avgdl FROM docs
), tf AS (
    SELECT d.article_id, len(d.tokens) AS dl, t.term, len(list_filter(d.tokens, lambda x: x = t.term)) AS f
    FROM docs d CROSS JOIN terms t
), df AS (
    SELECT term, count(*) FILTER (f > 0) AS df FROM tf GROUP BY term
), scored AS (
    SELECT tf.article_id, count(*) AS matched_terms,
           sum(ln(1 + (c.n - df.df + 0.5) / (df.df + 0.5)) * tf.f * 2.2 / (tf.f + 1.2 * (0.25 + 0.75 * tf.dl / c.avgdl))) AS score
    FROM tf JOIN df USING (term) CROSS JOIN corpus c
    WHERE tf.f > 0
    GROUP BY tf.article_id
)
SELECT s.article_id, round(s.score, 3) AS score, s.matched_terms, a.title, a.source,
       CAST(a.published_at AS DATE) AS published, a.url
FROM scored s JOIN articles a USING (article_id)
ORDER BY s.score DESC, a.published_at DESC NULLS LAST, s.article_id
LIMIT CAST($limit AS INTEGER);
