-- Districts as an enum, so commute detection compares one-byte codes instead of strings.
CREATE OR REPLACE TYPE district AS ENUM (SELECT district_id FROM districts ORDER BY district_id)
