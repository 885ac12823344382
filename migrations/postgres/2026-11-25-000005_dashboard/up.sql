-- The auditor's dashboard (issue #5). Kept in step with ../../sqlite/2026-11-25-000005_dashboard.
-- Users can be disabled (never deleted: decisions and the audit log name them).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- API tokens are revoked, not deleted, so the admin page can show when.
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
-- Lines an auditor must read for a release against a base release (0: no
-- base, every text line). Archives are immutable, so a row never goes stale.
CREATE TABLE audit_sizes (
    release_id BIGINT NOT NULL REFERENCES releases(id),
    base_release_id BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    files_added BIGINT NOT NULL,
    files_removed BIGINT NOT NULL,
    files_changed BIGINT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (release_id, base_release_id)
);
CREATE INDEX decisions_created ON decisions(created_at);
