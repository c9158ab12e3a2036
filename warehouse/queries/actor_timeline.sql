-- One actor's timeline: every event where it is actor 1 or actor 2 (name, country or IGO code).
-- params: actor=Russia
SELECT event_date, date_precision AS prec, cameo_code, root_name,
       CASE WHEN $actor IN (actor1, actor1_country_code, actor1_igo_code) THEN 'actor1' ELSE 'actor2' END AS as_role,
       actor1, actor2, location, trigger, title
FROM event_details
WHERE $actor IN (actor1, actor1_country_code, actor1_igo_code, actor2, actor2_country_code, actor2_igo_code)
ORDER BY event_date, event_id;
