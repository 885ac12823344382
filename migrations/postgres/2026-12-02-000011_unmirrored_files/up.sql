-- Files a release lists upstream that Airlock left out, because they fit
-- none of the configured targets (issue #11). Kept in step with ../../sqlite/2026-12-02-000011_unmirrored_files.
-- A row leaves once its file is mirrored on request.
CREATE TABLE unmirrored_files (
    id BIGSERIAL PRIMARY KEY,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    filename TEXT NOT NULL,
    -- The upstream's PEP 700 size, when it gives one.
    size BIGINT,
    -- The upstream's sha256, when it gives one; adding the file checks it.
    sha256 TEXT,
    upstream_url TEXT NOT NULL,
    requires_python TEXT,
    reason TEXT NOT NULL,
    -- Who asked to add the file, and when; the error when adding it failed.
    requested_by TEXT,
    requested_at BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (release_id, filename)
);
-- An approval recorded while the release waits for another auditor
-- (four-eyes rule) is not in force: the index keeps serving what the last
-- approval in force covered. Matters once files are added to an approved
-- release: the first of two approvals must not serve the added file.
ALTER TABLE decisions ADD COLUMN in_force BOOLEAN NOT NULL DEFAULT TRUE;
