-- Every member with an integer customer key (> 0) and what a merchant profile shows about them.
-- Unregistered cards are their own customers, keyed < 0 in merchant_paid, with no demographics.
SELECT
    CAST(row_number() OVER (ORDER BY m.member_id) AS INTEGER) AS customer,
    m.member_id,
    m.account_id,
    m.gender,
    m.birth_year,
    d.name_en AS district
FROM members m
LEFT JOIN districts d ON d.district_id = m.home_district_id
