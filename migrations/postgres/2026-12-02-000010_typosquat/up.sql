-- Name protection (issue #11). Kept in step with ../../sqlite/2026-12-02-000010_typosquat.
-- The popular or approved project a newly requested name is a small edit
-- away from, shown to the requester and the auditor ("possible typosquat").
ALTER TABLE releases ADD COLUMN possible_typosquat_of TEXT;
-- Who set off an index miss when the index needs API tokens: the token's
-- user (the client column stays the address, which the throttle keys on).
ALTER TABLE index_misses ADD COLUMN requester TEXT;
