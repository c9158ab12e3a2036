-- 001: the warehouse tables. Keys are natural (hashes of canonical forms) so reruns upsert, never append.
-- No foreign keys: DuckDB upserts on referenced rows fail with them.

CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    flow_run_id   VARCHAR,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL,          -- running / completed / failed
    sources_file  VARCHAR,
    summary       JSON
);

-- Raw pages, content-addressed and compressed: re-extraction never needs a refetch.
CREATE TABLE IF NOT EXISTS pages (
    content_hash  VARCHAR PRIMARY KEY,       -- sha256 of the raw (decompressed) body
    url           VARCHAR NOT NULL,
    final_url     VARCHAR NOT NULL,
    content_type  VARCHAR,
    encoding      VARCHAR,
    bytes         BIGINT NOT NULL,
    raw_gz        BLOB NOT NULL,             -- gzip of the raw body bytes
    fetched_at    TIMESTAMPTZ NOT NULL
);

-- Per-URL crawl state: conditional GET validators and where the URL led last time.
CREATE TABLE IF NOT EXISTS url_state (
    url            VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,
    etag           VARCHAR,
    last_modified  VARCHAR,
    content_hash   VARCHAR,
    article_id     VARCHAR,
    last_status    INTEGER,
    last_outcome   VARCHAR,
    last_fetched_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS articles (
    article_id        VARCHAR PRIMARY KEY,   -- hash of canonical_url
    url               VARCHAR NOT NULL,      -- normalized URL as discovered
    canonical_url     VARCHAR NOT NULL,      -- same-site rel=canonical, else url
    final_url         VARCHAR,               -- after redirects
    source            VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    author            VARCHAR,
    published_at      DATE,
    language          VARCHAR,
    site_name         VARCHAR,
    description       VARCHAR,
    categories        VARCHAR[],
    tags              VARCHAR[],
    image             VARCHAR,
    text              VARCHAR NOT NULL,
    word_count        INTEGER NOT NULL,
    text_hash         VARCHAR NOT NULL,      -- sha256 of the whitespace-normalized text
    duplicate_of      VARCHAR,               -- earliest article with the same text (republished stories)
    content_hash      VARCHAR NOT NULL,      -- pointer into pages
    extractor         VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    run_id            VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS entities (
    entity_id     VARCHAR PRIMARY KEY,       -- hash of type + normalized name
    name          VARCHAR NOT NULL,
    type          VARCHAR NOT NULL,          -- PERSON / ORG / GPE / LOC / NORP / FAC / EVENT ...
    country_code  VARCHAR,                   -- ISO 3166-1 alpha-3 (linking: issue 3)
    geonames_id   BIGINT,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS mentions (
    article_id    VARCHAR NOT NULL,
    entity_id     VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,          -- the surface form in the article text
    start_char    INTEGER NOT NULL,
    end_char      INTEGER NOT NULL,
    label         VARCHAR NOT NULL,
    sentence      INTEGER,
    PRIMARY KEY (article_id, start_char, end_char)
);

CREATE TABLE IF NOT EXISTS events (
    event_id            VARCHAR PRIMARY KEY,
    article_id          VARCHAR NOT NULL,
    event_date          DATE,
    date_precision      VARCHAR,             -- day / month / year
    cameo_code          VARCHAR,
    plover_type         VARCHAR,
    actor1_entity_id    VARCHAR,
    actor2_entity_id    VARCHAR,
    location_entity_id  VARCHAR,
    sentence            VARCHAR NOT NULL
);

-- One row per URL a run considered, refusals included. disposition says how the URL ended.
CREATE TABLE IF NOT EXISTS fetch_log (
    run_id        VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,          -- page / feed / sitemap / listing
    status        INTEGER,
    outcome       VARCHAR NOT NULL,          -- ok / not_modified / error / blocked / robots / too_large / not_html
    disposition   VARCHAR NOT NULL,          -- article / not_modified / quarantined / skipped / error / discovery
    reason        VARCHAR,
    error         VARCHAR,
    final_url     VARCHAR,
    article_id    VARCHAR,
    content_hash  VARCHAR,
    bytes         BIGINT NOT NULL,
    elapsed_ms    DOUBLE NOT NULL,
    attempts      INTEGER NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, url, kind)
);

-- Rows that failed their contract: kept with the reason and a pointer to the raw page.
CREATE TABLE IF NOT EXISTS quarantine (
    table_name     VARCHAR NOT NULL,
    row_key        VARCHAR NOT NULL,
    url            VARCHAR,
    failed_checks  VARCHAR NOT NULL,
    content_hash   VARCHAR,                  -- pointer into pages
    row_json       JSON,
    run_id         VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, row_key)
);
