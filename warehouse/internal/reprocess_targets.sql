-- Articles an older extractor or annotator made, with their stored raw page (NULL raw_gz: not stored).
-- params: extractor_version= annotator_version=
SELECT a.article_id, a.content_hash, a.url, a.final_url, a.source, p.encoding, p.content_type, p.fetched_at, p.raw_gz
FROM articles a
LEFT JOIN pages p USING (content_hash)
WHERE a.extractor_version <> $extractor_version OR a.annotator_version IS DISTINCT FROM $annotator_version
ORDER BY a.updated_at, a.article_id;
