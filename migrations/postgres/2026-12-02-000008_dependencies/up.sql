-- Dependency sets (issue #11). Kept in step with ../../sqlite/2026-12-02-000008_dependencies.
-- A release requested with its dependencies has them resolved once its
-- files are mirrored; `extras` is the union of the extras asked of it
-- (comma-separated, normalized), and `dependencies_at` says when its
-- edges were last written (NULL: not yet).
ALTER TABLE releases ADD COLUMN with_dependencies BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE releases ADD COLUMN extras TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN dependencies_at BIGINT;
-- One row per requirement of a release: what it asked (`requirement`, as
-- written), on which targets it applies (comma-separated labels), whether
-- it is needed at runtime or to build the sdist, and the release chosen
-- for it, or why none could be (`problem`). The release page draws the
-- closure from these rows instead of resolving again.
CREATE TABLE dependency_edges (
    id BIGSERIAL PRIMARY KEY,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    kind TEXT NOT NULL,
    requirement TEXT NOT NULL,
    project TEXT NOT NULL,
    targets TEXT NOT NULL,
    chosen_release_id BIGINT REFERENCES releases(id),
    problem TEXT
);
CREATE INDEX dependency_edges_release ON dependency_edges(release_id);
CREATE INDEX dependency_edges_chosen ON dependency_edges(chosen_release_id);
