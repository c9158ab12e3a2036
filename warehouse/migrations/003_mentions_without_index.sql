-- Mentions are the biggest table (tens per article) and are only ever replaced per article, never
-- updated: their PRIMARY KEY index made every insert 3x slower (bench/load.py: 1M rows 1.8 s -> 0.55 s
-- without it). The loader keeps (article_id, start_char, end_char) unique with an anti-join instead
-- (warehouse/loader.py: LOADER_KEYED_TABLES).
CREATE TABLE mentions_keyless (
    article_id     VARCHAR NOT NULL,
    entity_id      VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,          -- the surface form in the article text
    start_char     INTEGER NOT NULL,
    end_char       INTEGER NOT NULL,
    label          VARCHAR NOT NULL,
    sentence       INTEGER,
    sentence_start INTEGER,                   -- the mention's sentence: text[sentence_start:sentence_end]
    sentence_end   INTEGER
);
INSERT INTO mentions_keyless
SELECT article_id, entity_id, text, start_char, end_char, label, sentence, sentence_start, sentence_end FROM mentions;
DROP TABLE mentions;
ALTER TABLE mentions_keyless RENAME TO mentions;
