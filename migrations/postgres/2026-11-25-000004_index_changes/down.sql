DROP TRIGGER release_yanks_index_change ON release_yanks;
DROP TRIGGER decisions_index_change ON decisions;
DROP TRIGGER files_index_change ON files;
DROP TRIGGER releases_index_change ON releases;
DROP FUNCTION airlock_release_row_index_change();
DROP FUNCTION airlock_releases_index_change();
DROP FUNCTION airlock_note_index_change(BIGINT);
DROP TABLE release_yanks;
DROP TABLE index_changes;
