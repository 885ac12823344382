ALTER TABLE files DROP COLUMN upstream_removed_at;
