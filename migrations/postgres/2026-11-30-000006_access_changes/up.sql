-- Index access changes on the change feed (PostgreSQL). Kept in step with ../../sqlite/2026-11-30-000006_access_changes.
-- A row with an empty project (no project has an empty name) tells every
-- server process that tokens or users changed: it forgets the index tokens
-- it verified, so a revoked token or a disabled user stops reading the
-- index within a poll interval, on every node.
CREATE FUNCTION airlock_access_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO index_changes (project, at) VALUES ('', (extract(epoch from clock_timestamp()) * 1000)::bigint);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER api_tokens_revoke_access_change AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION airlock_access_change();
CREATE TRIGGER api_tokens_delete_access_change AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION airlock_access_change();
CREATE TRIGGER users_access_change AFTER UPDATE OF disabled, role ON users
    FOR EACH ROW EXECUTE FUNCTION airlock_access_change();
