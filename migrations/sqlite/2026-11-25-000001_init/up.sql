-- Airlock's first schema (SQLite). Kept in step with ../../postgres/2026-11-25-000001_init.
-- Times are Unix milliseconds (BIGINT) so both backends share one diesel schema.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    requested_by TEXT,
    risk_score BIGINT NOT NULL DEFAULT 0,
    max_severity TEXT NOT NULL DEFAULT 'none',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, version)
);
CREATE INDEX releases_status ON releases(status);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    upstream_url TEXT NOT NULL,
    requires_python TEXT,
    yanked TEXT,
    upload_time TEXT,
    metadata_sha256 TEXT,
    dist_kind TEXT NOT NULL DEFAULT 'unknown',
    inspected BOOLEAN NOT NULL DEFAULT FALSE,
    max_severity TEXT NOT NULL DEFAULT 'none',
    core_metadata TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (release_id, filename)
);
CREATE INDEX files_sha256 ON files(sha256);

CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    file_id BIGINT NOT NULL REFERENCES files(id),
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    path TEXT,
    line BIGINT,
    message TEXT NOT NULL,
    snippet TEXT
);
CREATE INDEX findings_file ON findings(file_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL,
    comment TEXT NOT NULL,
    sha256s TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX decisions_release ON decisions(release_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after BIGINT NOT NULL,
    leased_by TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE UNIQUE INDEX jobs_dedup ON jobs(dedup_key) WHERE state IN ('queued', 'running');
