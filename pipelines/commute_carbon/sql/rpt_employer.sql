-- One employer's row.
SELECT * FROM employers WHERE employer_id = $employer_id
