-- How many characters of an article's text the annotator read: entities and events come from
-- text[:annotated_chars] only (tasks/annotate.py MAX_TEXT_CHARS). NULL: not annotated (a language
-- without a model). Truncated articles: WHERE annotated_chars < length(text).
-- Articles annotated before this column were cut at 200,000 characters as well; they get the
-- figure that rule gave them (English or undetected language, an annotator version recorded).
ALTER TABLE articles ADD COLUMN annotated_chars INTEGER;
UPDATE articles SET annotated_chars = least(length(text), 200000)
WHERE annotator_version IS NOT NULL AND (language IS NULL OR language = 'en');
