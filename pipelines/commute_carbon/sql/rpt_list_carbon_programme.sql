-- The batch list @carbon_programme: employers that subscribe to the carbon report.
SELECT employer_id FROM employers WHERE in_carbon_programme ORDER BY employer_id
