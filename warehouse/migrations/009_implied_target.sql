-- 009: an event's target may be implied, not named. With no target in the sentence the coder
-- (wh-annotate-3) takes the country where the event happened ("protested in Kirkuk": Iraq), else
-- the actor's own ("workers stopped work": domestic), as the PLOVER and ICEWS gold standards code
-- such events. actor2_implied is true for those; false for a named target, or no target at all.
-- Events coded before this column never implied a target: false.
ALTER TABLE events ADD COLUMN actor2_implied BOOLEAN DEFAULT false;
UPDATE events SET actor2_implied = false WHERE actor2_implied IS NULL;

-- event_details (004) with the new column beside actor 2's codes.
CREATE OR REPLACE VIEW event_details AS
SELECT e.event_id, e.event_date, e.date_precision, e.date_text,
       e.cameo_code, e.cameo_root, r.root_name, e.plover_type, e.quad_class, e.goldstein, e.confidence,
       coalesce(e.actor1_name, e.actor1_text) AS actor1, a1.type AS actor1_type,
       e.actor1_country_code, e.actor1_igo_code, e.actor1_entity_id,
       coalesce(e.actor2_name, e.actor2_text) AS actor2, a2.type AS actor2_type,
       e.actor2_country_code, e.actor2_igo_code, e.actor2_entity_id, e.actor2_implied,
       e.location_name AS location, e.location_country_code, e.location_geonames_id, e.location_entity_id,
       place.latitude, place.longitude,
       e.trigger, e.sentence, e.article_id, ar.title, ar.url, ar.source, ar.published_at
FROM events e
LEFT JOIN cameo_roots r USING (cameo_root)
LEFT JOIN entities a1 ON a1.entity_id = e.actor1_entity_id
LEFT JOIN entities a2 ON a2.entity_id = e.actor2_entity_id
LEFT JOIN entities place ON place.entity_id = e.location_entity_id
LEFT JOIN articles ar ON ar.article_id = e.article_id;
