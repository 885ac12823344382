ALTER TABLE decisions DROP COLUMN in_force;
DROP TABLE unmirrored_files;
