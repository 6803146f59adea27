-- Retail purchases of registered members, with the payer: the events a campaign's effect is
-- measured on. Anonymous cards have no member and drop out.
SELECT
    p.purchase_id,
    CAST(p.purchased_at AS DATE) AS day,
    p.merchant_id,
    p.amount,
    coalesce(c.member_id, m.member_id) AS member_id
FROM purchases p
LEFT JOIN cards c ON c.card_id = p.card_id
LEFT JOIN members m ON m.account_id = p.account_id
WHERE coalesce(c.member_id, m.member_id) IS NOT NULL
