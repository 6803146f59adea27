-- Every displayed distribution of every merchant unit and month, in long format (dimension,
-- value, distinct customers, transactions, NT$); the dimensions are those of
-- merchant_customer_month and hour_of_week (customers by day of week, 1 = Monday, and hour,
-- e.g. '1-08'). Each dimension is computed on the integer unit keys in its own step
-- ($customer_cells, $hour_cells), so each has the memory to itself; IDs come back here.
WITH cells AS (
    SELECT * FROM query_table($customer_cells)
    UNION ALL
    SELECT * FROM query_table($hour_cells)
)
SELECT u.level, u.unit_id, c.month, c.dimension, c.value, c.customers, c.transactions, c.revenue_ntd
FROM cells c
JOIN merchant_units u USING (unit)
