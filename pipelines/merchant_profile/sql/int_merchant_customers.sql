-- Every member with an integer customer key (> 0) and what a merchant profile shows about them.
-- Unregistered cards are their own customers, keyed < 0 in merchant_payers, with no
-- demographics. A key is the member ID's number plus one (the gate holds IDs to M and eight
-- digits), so a member keeps it in every snapshot and an extension's new months join the
-- parent's.
SELECT
    CAST(substr(m.member_id, 2) AS INTEGER) + 1 AS customer,
    m.member_id,
    m.account_id,
    m.gender,
    m.birth_year,
    d.name_en AS district
FROM members m
LEFT JOIN districts d ON d.district_id = m.home_district_id
