-- When a watched project's sync last found a mirrored file gone from the
-- upstream's listing (NULL while it is listed). The file stays served if
-- approved; pages mark it. Kept in step with ../../postgres/2026-12-02-000022_upstream_removed.
ALTER TABLE files ADD COLUMN upstream_removed_at BIGINT;
