DROP INDEX decisions_created;
DROP TABLE audit_sizes;
ALTER TABLE api_tokens DROP COLUMN revoked_at;
ALTER TABLE users DROP COLUMN disabled;
