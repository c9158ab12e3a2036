-- Who did what to whom, when and where: the latest dated events, GDELT style.
SELECT event_date, date_precision AS prec, cameo_code AS cameo, plover_type,
       coalesce(actor1_name, actor1_text) || coalesce(' (' || coalesce(actor1_country_code, actor1_igo_code) || ')', '') AS actor1,
       coalesce(actor2_name, actor2_text) || coalesce(' (' || coalesce(actor2_country_code, actor2_igo_code) || ')', '') AS actor2,
       location_name AS location,
       trigger
FROM events
WHERE date_precision IS NOT NULL
ORDER BY event_date DESC, event_id
LIMIT 20;
