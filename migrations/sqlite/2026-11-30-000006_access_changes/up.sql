-- Index access changes on the change feed (SQLite). Kept in step with ../../postgres/2026-11-30-000006_access_changes.
-- A row with an empty project (no project has an empty name) tells every
-- server process that tokens or users changed: it forgets the index tokens
-- it verified, so a revoked token or a disabled user stops reading the
-- index within a poll interval, on every node.
CREATE TRIGGER api_tokens_revoke_access_change AFTER UPDATE OF revoked_at ON api_tokens
BEGIN
    INSERT INTO index_changes (project, at) VALUES ('', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER api_tokens_delete_access_change AFTER DELETE ON api_tokens
BEGIN
    INSERT INTO index_changes (project, at) VALUES ('', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER users_access_change AFTER UPDATE OF disabled, role ON users
BEGIN
    INSERT INTO index_changes (project, at) VALUES ('', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
