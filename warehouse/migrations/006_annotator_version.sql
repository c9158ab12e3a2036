-- Which annotator (entity and event rules, spaCy model) made an article's mentions and events, so
-- `wirehouse reprocess` can redo only what an older extractor or annotator made. Articles loaded
-- before this column take their events' coder_version; those without events stay NULL (unknown: redone).
ALTER TABLE articles ADD COLUMN annotator_version VARCHAR;
UPDATE articles SET annotator_version = v.coder_version
FROM (SELECT article_id, max(coder_version) AS coder_version FROM events GROUP BY article_id) v
WHERE articles.article_id = v.article_id;
