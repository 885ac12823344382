-- What a decision's author read (issue #13): the audit base (the approved
-- release the delta was read against; NULL with audit_base 'full' when the
-- whole release was read), the lines read, and the criteria the release
-- was judged for (safe-to-run, safe-to-deploy, or a configured name).
-- Decisions recorded before this have all four NULL: not recorded.
-- Kept in step with ../../postgres/2026-12-02-000020_decision_reading.
ALTER TABLE decisions ADD COLUMN audit_base TEXT;
ALTER TABLE decisions ADD COLUMN audit_base_release_id BIGINT;
ALTER TABLE decisions ADD COLUMN audit_lines BIGINT;
ALTER TABLE decisions ADD COLUMN criteria TEXT;
-- The policy that made the decision (NULL: a person did).
ALTER TABLE decisions ADD COLUMN policy TEXT;
