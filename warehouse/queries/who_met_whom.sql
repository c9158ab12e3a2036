-- Who met whom in a period: consultations (CAMEO 04: meetings, visits, hosting, negotiations)
-- between two linked actors (entities, not bare phrases), with how often, when first and last, and where.
-- params: start=1900-01-01 end=2100-12-31
SELECT least(actor1, actor2) AS party_a, greatest(actor1, actor2) AS party_b,
       count(*) AS meetings, min(event_date) AS first, max(event_date) AS last,
       string_agg(DISTINCT location, ', ') AS places,
       string_agg(DISTINCT cameo_code, ', ') AS codes
FROM event_details
WHERE cameo_root = '04' AND actor1_entity_id IS NOT NULL AND actor2_entity_id IS NOT NULL AND actor1 <> actor2
  AND event_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
GROUP BY ALL
ORDER BY meetings DESC, last DESC, party_a, party_b;
