-- The hour rows a release counts: of each customer it counts at each of its units and months
-- ($counted), at most $max_hours hours (those with most purchases, then the earliest in the
-- week), which bounds the hour cells one member can change.
SELECT * EXCLUDE (rank)
FROM (
    SELECT h.*, row_number() OVER (PARTITION BY h.unit, h.customer, h.month ORDER BY h.purchases DESC, h.dow, h.hour) AS rank
    FROM merchant_customer_hours h
    SEMI JOIN query_table($counted) c ON c.unit = h.unit AND c.customer = h.customer AND c.month = h.month
)
WHERE rank <= $max_hours
