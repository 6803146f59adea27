-- The months (YYYY-MM) the merchant marts hold. Distinct first: formatting every row's month
-- would cost a quarter of a second a report at the operator's size.
SELECT strftime(month, '%Y-%m') AS month FROM (SELECT DISTINCT month FROM merchant_month) ORDER BY month
