-- Staff cards and their employers, numbered 1..n so that sorting by card is an integer sort.
SELECT CAST(row_number() OVER (ORDER BY card_id) AS INTEGER) AS card_no, card_id, employer_id
FROM cards
WHERE card_type = 'staff'
ORDER BY card_no
