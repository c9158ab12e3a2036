-- Dyads: pairs of linked actors and the events between them (either direction), with the mean
-- Goldstein score (-10 conflict .. +10 cooperation).
-- params: limit=60
SELECT least(actor1, actor2) AS actor_a, greatest(actor1, actor2) AS actor_b, count(*) AS events,
       round(avg(goldstein), 2) AS avg_goldstein, mode(root_name) AS usual_kind
FROM event_details
WHERE actor1_entity_id IS NOT NULL AND actor2_entity_id IS NOT NULL AND actor1 <> actor2
GROUP BY ALL
ORDER BY events DESC, actor_a, actor_b
LIMIT CAST($limit AS INTEGER);
