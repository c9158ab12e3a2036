-- 002: the intelligence layer. Entities are linked (ISO 3166 alpha-3, GeoNames, IGO codes, a
-- person's role), mentions keep their sentence's offsets, events become GDELT-style dyads.

ALTER TABLE entities ADD COLUMN latitude DOUBLE;
ALTER TABLE entities ADD COLUMN longitude DOUBLE;
ALTER TABLE entities ADD COLUMN igo_code VARCHAR;     -- UNO, NATO, CSTO ... for intergovernmental bodies
ALTER TABLE entities ADD COLUMN sector VARCHAR;       -- GOV, MIL, REB, IGO ... (CAMEO-style role)
ALTER TABLE entities ADD COLUMN role VARCHAR;         -- a person's office as written: "Defense Minister"

ALTER TABLE mentions ADD COLUMN sentence_start INTEGER;   -- the mention's sentence: text[sentence_start:sentence_end]
ALTER TABLE mentions ADD COLUMN sentence_end INTEGER;

-- 001's events table was never written to: it is replaced, not altered.
DROP TABLE IF EXISTS events;
CREATE TABLE events (
    event_id               VARCHAR PRIMARY KEY,  -- hash of article, sentence, trigger, code and dyad
    article_id             VARCHAR NOT NULL,
    sentence_index         INTEGER NOT NULL,
    sentence               VARCHAR NOT NULL,
    trigger                VARCHAR NOT NULL,     -- the words coded: "held talks", "threatened ... launch"
    trigger_start          INTEGER NOT NULL,     -- character offset in the article text
    event_date             DATE,                 -- the date the text gives, else the publication date
    date_precision         VARCHAR,              -- day / week / month / year; NULL: not stated (publication date)
    date_text              VARCHAR,              -- the expression resolved: "On August 11", "In July"
    cameo_code             VARCHAR NOT NULL,
    cameo_root             VARCHAR NOT NULL,
    plover_type            VARCHAR,              -- PLOVER 2 name; NULL for CAMEO 01 statements
    quad_class             INTEGER NOT NULL,     -- 1 verbal coop, 2 material coop, 3 verbal conflict, 4 material conflict
    goldstein              DOUBLE NOT NULL,
    confidence             DOUBLE NOT NULL,      -- 0..1 from the rules: actors coded, date and place stated
    actor1_entity_id       VARCHAR,
    actor1_text            VARCHAR,
    actor1_name            VARCHAR,
    actor1_country_code    VARCHAR,
    actor1_igo_code        VARCHAR,
    actor2_entity_id       VARCHAR,
    actor2_text            VARCHAR,
    actor2_name            VARCHAR,
    actor2_country_code    VARCHAR,
    actor2_igo_code        VARCHAR,
    location_entity_id     VARCHAR,
    location_name          VARCHAR,
    location_country_code  VARCHAR,
    location_geonames_id   BIGINT,
    coder_version          VARCHAR NOT NULL
);
