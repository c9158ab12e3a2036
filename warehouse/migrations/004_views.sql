-- Views for the common joins, so analysts need not repeat them. Views store only their SQL:
-- they follow the tables through later migrations.

-- CAMEO's 20 root codes and their names (tasks/cameo.py: ROOT_NAMES).
CREATE OR REPLACE VIEW cameo_roots AS
SELECT * FROM (VALUES
    ('01', 'Make public statement'), ('02', 'Appeal'), ('03', 'Express intent to cooperate'), ('04', 'Consult'),
    ('05', 'Engage in diplomatic cooperation'), ('06', 'Engage in material cooperation'), ('07', 'Provide aid'),
    ('08', 'Yield'), ('09', 'Investigate'), ('10', 'Demand'), ('11', 'Disapprove'), ('12', 'Reject'),
    ('13', 'Threaten'), ('14', 'Protest'), ('15', 'Exhibit force posture'), ('16', 'Reduce relations'),
    ('17', 'Coerce'), ('18', 'Assault'), ('19', 'Fight'), ('20', 'Use unconventional mass violence')
) AS roots(cameo_root, root_name);

-- Each event with its actors' and place's names, types and codes, the place's coordinates, and its article.
CREATE OR REPLACE VIEW event_details AS
SELECT e.event_id, e.event_date, e.date_precision, e.date_text,
       e.cameo_code, e.cameo_root, r.root_name, e.plover_type, e.quad_class, e.goldstein, e.confidence,
       coalesce(e.actor1_name, e.actor1_text) AS actor1, a1.type AS actor1_type,
       e.actor1_country_code, e.actor1_igo_code, e.actor1_entity_id,
       coalesce(e.actor2_name, e.actor2_text) AS actor2, a2.type AS actor2_type,
       e.actor2_country_code, e.actor2_igo_code, e.actor2_entity_id,
       e.location_name AS location, e.location_country_code, e.location_geonames_id, e.location_entity_id,
       place.latitude, place.longitude,
       e.trigger, e.sentence, e.article_id, ar.title, ar.url, ar.source, ar.published_at
FROM events e
LEFT JOIN cameo_roots r USING (cameo_root)
LEFT JOIN entities a1 ON a1.entity_id = e.actor1_entity_id
LEFT JOIN entities a2 ON a2.entity_id = e.actor2_entity_id
LEFT JOIN entities place ON place.entity_id = e.location_entity_id
LEFT JOIN articles ar ON ar.article_id = e.article_id;

-- Each mention with its entity's linked identity and its article's source and date.
CREATE OR REPLACE VIEW entity_mentions AS
SELECT m.article_id, m.entity_id, m.text, m.start_char, m.end_char, m.label, m.sentence,
       en.name, en.type, en.country_code, en.geonames_id, en.igo_code, en.latitude, en.longitude,
       ar.source, ar.published_at, ar.title, ar.url
FROM mentions m
JOIN entities en USING (entity_id)
JOIN articles ar USING (article_id);
