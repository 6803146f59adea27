-- One unit's headline row for one month (customers, transactions, NT$, average ticket).
SELECT customers, transactions, revenue_ntd, average_ticket_ntd
FROM merchant_month
WHERE level = $level AND unit_id = $unit_id AND strftime(month, '%Y-%m') = $month
