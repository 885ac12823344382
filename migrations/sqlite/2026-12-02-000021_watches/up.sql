-- Watched projects (issue #13): new upstream releases matching the
-- specifier are requested for review. Kept in step with ../../postgres/2026-12-02-000021_watches.
CREATE TABLE watches (
    -- PEP 503-normalized project name.
    project TEXT PRIMARY KEY,
    -- A PEP 440 specifier set ('' allows every version).
    specifier TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    -- Releases to request on the first sync, newest first (then 0).
    backfill BIGINT NOT NULL,
    -- The newest version listed upstream at the first sync: only versions
    -- above it are new (NULL until the first sync).
    baseline TEXT,
    -- Conditional-request validators from the last full answer.
    etag TEXT,
    last_modified TEXT,
    -- The upstream's last-serial header from the last full answer, where sent.
    last_serial TEXT,
    last_checked_at BIGINT,
    next_check_at BIGINT NOT NULL,
    -- changed, unchanged, or the error of the last check.
    last_outcome TEXT,
    newest_upstream TEXT,
    -- The final versions the upstream lists that the specifier allows (a
    -- JSON list), for "how far behind".
    upstream_versions TEXT,
    -- The earliest release held back by the cooldown, and when it is due.
    cooldown_version TEXT,
    cooldown_until BIGINT
);
CREATE INDEX watches_next_check ON watches (next_check_at);
