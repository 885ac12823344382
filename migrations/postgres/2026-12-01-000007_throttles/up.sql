-- Throttles against hostile clients (issue #10). Kept in step with ../../sqlite/2026-12-01-000007_throttles.
-- Failed sign-ins, keyed by account (`user:NAME`) and by client address
-- (`addr:IP`): kept in the database so every server process sees them.
CREATE TABLE login_failures (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(key, at);
-- Index misses: which client asked for which project Airlock lacks, and
-- what Airlock did about it (requested, deduplicated, not on the upstream,
-- rate-limited, off). Deduplication and per-client limits read it.
CREATE TABLE index_misses (
    id BIGSERIAL PRIMARY KEY,
    project TEXT NOT NULL,
    client TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX index_misses_project_at ON index_misses(project, at);
CREATE INDEX index_misses_client_at ON index_misses(client, at);
-- Projects the upstream index answered "no such project" for, and when.
CREATE TABLE upstream_absent (
    project TEXT PRIMARY KEY NOT NULL,
    checked_at BIGINT NOT NULL
);
