-- Who paid: every card and wallet account with its customer (the member's integer key from
-- merchant_customers; an unregistered card is a customer of its own, keyed < 0 by its number,
-- K and nine digits, plus one) and the customer's seed, a hash of the member's (or the
-- unregistered card's) own ID (the lower 32 bits of its MD5), from which a release's
-- pseudo-random choice of units is drawn.
SELECT
    c.card_id AS payer_id,
    coalesce(m.customer, -(CAST(substr(c.card_id, 2) AS INTEGER) + 1)) AS customer,
    CAST(md5_number_lower(coalesce(c.member_id, c.card_id)) % 4294967296 AS BIGINT) AS seed
FROM cards c
LEFT JOIN merchant_customers m USING (member_id)
UNION ALL
SELECT account_id, customer, CAST(md5_number_lower(member_id) % 4294967296 AS BIGINT) FROM merchant_customers
