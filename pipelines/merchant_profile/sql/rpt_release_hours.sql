-- The hour rows of the customers a release counts at each of its units ($counted).
SELECT h.*
FROM merchant_customer_hours h
SEMI JOIN query_table($counted) c ON c.unit = h.unit AND c.customer = h.customer AND c.month = h.month
