-- Coded events by PLOVER type and CAMEO root: how much cooperation and conflict the sources report.
SELECT plover_type,
       cameo_root,
       count(*)                         AS events,
       count(DISTINCT article_id)       AS articles,
       round(avg(goldstein), 1)         AS avg_goldstein
FROM events
GROUP BY ALL
ORDER BY events DESC, plover_type;
