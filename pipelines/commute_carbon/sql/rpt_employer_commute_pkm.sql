-- One employer's commute_pkm rows for the months first..last (YYYY-MM).
SELECT * FROM commute_pkm
WHERE employer_id = $employer_id AND strftime(month, '%Y-%m') BETWEEN $first AND $last
ORDER BY ALL
