-- Events per day by CAMEO root (dated events only: those whose text states when).
-- params: start=1900-01-01 end=2100-12-31
SELECT event_date AS day, cameo_root, root_name, count(*) AS events,
       round(avg(goldstein), 2) AS avg_goldstein
FROM event_details
WHERE date_precision IS NOT NULL
  AND event_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
GROUP BY ALL
ORDER BY day, cameo_root;
