-- Lockfile imports (issue #11). Kept in step with ../../sqlite/2026-12-02-000009_imports.
-- One imported requirements.txt or pylock.toml, and how it was asked for.
CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    requested_by TEXT,
    resolve_unpinned BOOLEAN NOT NULL,
    with_dependencies BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
-- Each requirement of an import (or each line that could not be read), in
-- file order: what it said, what became of it (`checking` until a worker
-- has checked its hashes against the upstream, then `requested`,
-- `already_approved`, `refused`, `failed` or `skipped`) and why, and the
-- release it requested.
CREATE TABLE import_lines (
    id BIGSERIAL PRIMARY KEY,
    import_id BIGINT NOT NULL REFERENCES imports(id),
    position BIGINT NOT NULL,
    source TEXT NOT NULL,
    line BIGINT NOT NULL,
    text TEXT NOT NULL,
    project TEXT,
    version TEXT,
    specifier TEXT,
    extras TEXT NOT NULL,
    marker TEXT,
    hashes TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    release_id BIGINT REFERENCES releases(id),
    updated_at BIGINT NOT NULL
);
CREATE INDEX import_lines_import ON import_lines(import_id, position);
