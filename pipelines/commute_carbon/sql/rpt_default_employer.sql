-- The employer a carbon report shows when none is named: the first in the carbon programme.
SELECT min(employer_id) AS employer_id FROM employers WHERE in_carbon_programme
