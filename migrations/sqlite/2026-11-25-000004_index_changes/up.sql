-- The simple index's change feed (SQLite). Kept in step with ../../postgres/2026-11-25-000004_index_changes.
-- Every server process caches rendered index pages and polls this table to
-- drop exactly the pages a change affects. Triggers write it, so no code path
-- that approves, revokes or yanks can forget to.
CREATE TABLE index_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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

CREATE TRIGGER releases_index_change AFTER UPDATE OF status ON releases
WHEN OLD.status IS NOT NEW.status AND (OLD.status = 'approved' OR NEW.status = 'approved')
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM projects WHERE id = NEW.project_id;
END;

CREATE TRIGGER files_index_change AFTER UPDATE OF yanked, metadata_sha256, sha256 ON files
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT p.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = NEW.release_id;
END;

CREATE TRIGGER decisions_index_change AFTER INSERT ON decisions
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT p.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = NEW.release_id;
END;

CREATE TRIGGER release_yanks_insert_index_change AFTER INSERT ON release_yanks
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT p.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = NEW.release_id;
END;

CREATE TRIGGER release_yanks_update_index_change AFTER UPDATE ON release_yanks
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT p.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = NEW.release_id;
END;

CREATE TRIGGER release_yanks_delete_index_change AFTER DELETE ON release_yanks
BEGIN
    INSERT INTO index_changes (project, at)
    SELECT p.name, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = OLD.release_id;
END;
