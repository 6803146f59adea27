-- Every value each distribution can take, whether or not anyone is in it this month: noise is
-- added to empty cells too, so that a cell's presence says nothing. Home districts and RFM
-- segments come from the snapshot's districts and the rfm mart's segments.
SELECT 'home_district' AS dimension, name_en AS value FROM districts
UNION SELECT 'home_district', v FROM (VALUES ('unknown'), ('unregistered')) t(v)
UNION SELECT DISTINCT 'segment', segment FROM rfm
UNION SELECT 'segment', v FROM (VALUES ('not scored'), ('unregistered')) t(v)
ORDER BY dimension, value
