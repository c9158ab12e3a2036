-- Extraction health per source and run: how many pages went to extraction and how many came out
-- empty, without a title or without a date. A share that jumps against the source's earlier runs
-- usually means the site changed its layout (warehouse/queries/source_health.sql flags it).
CREATE TABLE source_health (
    run_id         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    measured_at    TIMESTAMPTZ NOT NULL,
    pages          INTEGER NOT NULL,   -- fetched bodies that went to extraction (not 304s or same content)
    empty          INTEGER NOT NULL,   -- no article found in the page, or extraction failed
    missing_title  INTEGER NOT NULL,   -- quarantined for a missing title
    missing_date   INTEGER NOT NULL,   -- loaded without a publication date
    PRIMARY KEY (run_id, source)
);
