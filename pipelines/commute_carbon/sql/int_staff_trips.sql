-- Every trip of a staff card, narrowed to what commute detection needs: the card's number
-- (staff_cards), times as whole seconds of local wall-clock time, districts as codes
-- (district_codes), and the distance of the leg: MRT and light rail along the lines
-- (rail_distances: transfers at R10/O5, the light-rail loop the shorter way round); bus, TRA
-- and bike as recorded on the trip. From $since to before $until (a month's commutes stand on
-- its own trips: pipelines/commute_carbon/detect.py).
SELECT
    t.trip_id,
    c.card_no,
    t.mode,
    epoch_us(t.tap_in_at) // 1000000 AS tap_in_s,
    epoch_us(t.tap_out_at) // 1000000 AS tap_out_s,
    o.code AS origin_district,
    d.code AS destination_district,
    coalesce(r.km, t.distance_km) AS km
FROM trips t
JOIN staff_cards c ON c.card_id = t.card_id
LEFT JOIN district_codes o ON o.district_id = t.origin_district_id
LEFT JOIN district_codes d ON d.district_id = t.destination_district_id
LEFT JOIN rail_distances r
    ON r.origin_station_id = t.origin_station_id AND r.destination_station_id = t.destination_station_id
WHERE t.tap_in_at >= CAST($since AS TIMESTAMP) AND t.tap_in_at < CAST($until AS TIMESTAMP)
