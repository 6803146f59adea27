-- Each district's centre, for the nearby peer scope.
SELECT district_id, lon, lat FROM districts ORDER BY district_id
