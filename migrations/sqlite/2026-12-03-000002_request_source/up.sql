-- How each release was asked for: request (a person: dashboard, API, CLI),
-- import (a requirements or lock file), miss (an installer asked the index
-- for it), watch (a watched project's new release) or dependency (resolved
-- from another release). Releases from before this column are marked from
-- the system requester names those paths used. Kept in step with
-- ../../postgres/2026-12-01-174312_request_source.
ALTER TABLE releases ADD COLUMN request_source TEXT NOT NULL DEFAULT 'request';
UPDATE releases SET request_source = 'miss' WHERE requested_by = 'index miss';
UPDATE releases SET request_source = 'watch' WHERE requested_by = 'watch';
