-- Advisories (issue #13): OSV records for the PyPI ecosystem, one row per
-- advisory and affected project, and the releases each one matched.
-- Kept in step with ../../postgres/2026-12-01-173413_advisories.
CREATE TABLE advisories (
    id INTEGER PRIMARY KEY,
    -- The OSV id (GHSA-…, PYSEC-…, MAL-…).
    osv_id TEXT NOT NULL,
    -- PEP 503-normalized project name of one affected package.
    project TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- critical, high, medium, low, or unknown.
    severity TEXT NOT NULL,
    -- An OSV MAL- record: the package is malicious, not merely vulnerable.
    malicious BOOLEAN NOT NULL,
    -- This package's ranges and versions, as a JSON object.
    affected TEXT NOT NULL,
    -- Fixed versions named by the ranges (a JSON list), for the pages.
    fixed TEXT NOT NULL,
    modified TEXT,
    -- Where the record was imported from (a path or URL).
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX advisories_osv_project ON advisories (osv_id, project);
CREATE INDEX advisories_project ON advisories (project);
-- One advisory matched one release (approved or pending) at `matched_at`,
-- and what the match did (flagged, blocked, rejected, revoked).
CREATE TABLE advisory_matches (
    id INTEGER PRIMARY KEY,
    osv_id TEXT NOT NULL,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    matched_at BIGINT NOT NULL,
    action TEXT NOT NULL
);
CREATE UNIQUE INDEX advisory_matches_pair ON advisory_matches (osv_id, release_id);
CREATE INDEX advisory_matches_release ON advisory_matches (release_id);
