-- One employer's commute_days rows for the months first..last (YYYY-MM).
SELECT * FROM commute_days
WHERE employer_id = $employer_id AND strftime(month, '%Y-%m') BETWEEN $first AND $last
ORDER BY ALL
