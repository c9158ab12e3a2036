-- 008: the publication instant beside the publication day; implausible dates kept and flagged.
-- published_at stays the page's LOCAL calendar day, so saved queries and views keep working.
-- published_ts is the instant, in UTC, when the page gives a time with its offset
-- ("2021-08-13T23:30:00-05:00": published_at 2021-08-13, published_ts 2021-08-14 04:30 UTC). It is
-- NULL when the page gives only a day, or a time without an offset: no instant can be placed then.
-- published_at_plausible is false for a date outside schemas/models.py's plausible_date (before
-- EARLIEST_PLAUSIBLE_DATE or after tomorrow, UTC): such a date (2099, 1800) is kept, not nulled. NULL: no date.
ALTER TABLE articles ADD COLUMN published_ts TIMESTAMPTZ;
ALTER TABLE articles ADD COLUMN published_at_plausible BOOLEAN;
-- Dates loaded before passed the same range check at extraction.
UPDATE articles SET published_at_plausible = true WHERE published_at IS NOT NULL;
