-- The auditor's desk (issue #14): a verdict on a finding (acknowledged or
-- false positive) with a comment, and suppressions of a rule for a
-- project. Kept in step with ../../sqlite/2026-12-01-174213_finding_reviews.

-- Verdicts are append-only (the latest for a finding is the one shown) and
-- keyed by what they cite, not by the finding's row: a later version whose
-- finding cites the same code (same rule, same path inside the package,
-- same line text) shows the verdict as carried over.
CREATE TABLE finding_reviews (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    release_id BIGINT NOT NULL REFERENCES releases(id),
    rule TEXT NOT NULL,
    -- The path inside the package (an sdist's top folder removed); '' for the archive.
    place TEXT NOT NULL,
    -- The cited line's text, or the finding's message when it cites no line.
    cited TEXT NOT NULL,
    -- acknowledged | false_positive
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL,
    user_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX finding_reviews_project ON finding_reviews(project_id, rule);
CREATE FUNCTION finding_reviews_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'finding_reviews is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER finding_reviews_no_change BEFORE UPDATE OR DELETE ON finding_reviews
FOR EACH ROW EXECUTE FUNCTION finding_reviews_append_only();

-- A rule not counted for a project: its findings show collapsed with the
-- reason and leave the release's max severity and risk score.
CREATE TABLE suppressions (
    id BIGSERIAL PRIMARY KEY,
    -- PEP 503-normalized project name.
    project TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project, rule)
);
