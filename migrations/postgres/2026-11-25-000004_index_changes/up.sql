-- The simple index's change feed (PostgreSQL). Kept in step with ../../sqlite/2026-11-25-000004_index_changes.
-- Every server process caches rendered index pages and polls this table to
-- drop exactly the pages a change affects. Triggers write it, so no code path
-- that approves, revokes or yanks can forget to.
CREATE TABLE index_changes (
    id BIGSERIAL PRIMARY KEY,
    project TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- An auditor's yank (PEP 592) of a whole release, beside the upstream's own
-- per-file yanked flag.
CREATE TABLE release_yanks (
    release_id BIGINT PRIMARY KEY REFERENCES releases(id),
    reason TEXT NOT NULL,
    yanked_by TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE FUNCTION airlock_note_index_change(release BIGINT) RETURNS void AS $$
    INSERT INTO index_changes (project, at)
    SELECT p.name, (extract(epoch from clock_timestamp()) * 1000)::bigint
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = release;
$$ LANGUAGE sql;

CREATE FUNCTION airlock_releases_index_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM NEW.status AND (OLD.status = 'approved' OR NEW.status = 'approved') THEN
        PERFORM airlock_note_index_change(NEW.id);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION airlock_release_row_index_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM airlock_note_index_change(OLD.release_id);
        RETURN OLD;
    END IF;
    PERFORM airlock_note_index_change(NEW.release_id);
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER releases_index_change AFTER UPDATE OF status ON releases
FOR EACH ROW EXECUTE FUNCTION airlock_releases_index_change();
CREATE TRIGGER files_index_change AFTER UPDATE OF yanked, metadata_sha256, sha256 ON files
FOR EACH ROW EXECUTE FUNCTION airlock_release_row_index_change();
CREATE TRIGGER decisions_index_change AFTER INSERT ON decisions
FOR EACH ROW EXECUTE FUNCTION airlock_release_row_index_change();
CREATE TRIGGER release_yanks_index_change AFTER INSERT OR UPDATE OR DELETE ON release_yanks
FOR EACH ROW EXECUTE FUNCTION airlock_release_row_index_change();
