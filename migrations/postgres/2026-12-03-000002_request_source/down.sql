ALTER TABLE releases DROP COLUMN request_source;
