-- Where events happen: places with GeoNames coordinates, the number of events and the usual kind.
SELECT location, location_country_code AS country, location_geonames_id AS geonames_id,
       any_value(latitude) AS latitude, any_value(longitude) AS longitude,
       count(*) AS events, mode(root_name) AS usual_kind, min(event_date) AS first, max(event_date) AS last
FROM event_details
WHERE latitude IS NOT NULL AND longitude IS NOT NULL
GROUP BY location, location_country_code, location_geonames_id
ORDER BY events DESC, location;
