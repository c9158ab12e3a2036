-- The most active actors: events in which each is actor 1 (the one acting) or actor 2 (acted upon).
-- params: limit=15
WITH roles AS (
    SELECT actor1 AS actor, coalesce(actor1_country_code, actor1_igo_code) AS code, 1 AS as_actor1, 0 AS as_actor2
    FROM event_details WHERE actor1 IS NOT NULL AND actor1_entity_id IS NOT NULL
    UNION ALL
    SELECT actor2, coalesce(actor2_country_code, actor2_igo_code), 0, 1
    FROM event_details WHERE actor2 IS NOT NULL AND actor2_entity_id IS NOT NULL
)
SELECT actor, any_value(code) AS code, CAST(sum(as_actor1) AS INTEGER) AS as_actor1,
       CAST(sum(as_actor2) AS INTEGER) AS as_actor2, count(*) AS events
FROM roles
GROUP BY actor
ORDER BY events DESC, actor
LIMIT CAST($limit AS INTEGER);
