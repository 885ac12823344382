ALTER TABLE index_misses DROP COLUMN requester;
ALTER TABLE releases DROP COLUMN possible_typosquat_of;
