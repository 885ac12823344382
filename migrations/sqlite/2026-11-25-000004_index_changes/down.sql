DROP TRIGGER release_yanks_delete_index_change;
DROP TRIGGER release_yanks_update_index_change;
DROP TRIGGER release_yanks_insert_index_change;
DROP TRIGGER decisions_index_change;
DROP TRIGGER files_index_change;
DROP TRIGGER releases_index_change;
DROP TABLE release_yanks;
DROP TABLE index_changes;
