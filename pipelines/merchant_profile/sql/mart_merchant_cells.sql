-- Every displayed distribution of every merchant unit and month, in long format (dimension,
-- value, distinct customers, transactions, NT$), for the privacy rules to act on:
--   visit_frequency  customers by visits in the month (1, 2, 3-4, 5+)
--   customer_type    new (first visit at the unit in this month), returning, or no history
--                    (the snapshot's first month, when nothing earlier is known)
--   age_band, gender, home_district, segment (RFM segment at the month end)
--                    unregistered cards count as 'unregistered'
--   hour_of_week     transactions by day of week (1 = Monday) and hour, e.g. '1-08'
--   cross_category   customers who also bought in a category somewhere other than this unit
--                    (a customer may count in several categories: not additive)
-- Each dimension is computed on the integer unit keys in its own step (merchant_customer_cells,
-- merchant_hour_cells, merchant_cross_cells), so each has the memory to itself; IDs come back here.
WITH cells AS (
    SELECT * FROM merchant_customer_cells
    UNION ALL
    SELECT * FROM merchant_hour_cells
    UNION ALL
    SELECT * FROM merchant_cross_cells
)
SELECT u.level, u.unit_id, c.month, c.dimension, c.value, c.customers, c.transactions, c.revenue_ntd
FROM cells c
JOIN merchant_units u USING (unit)
