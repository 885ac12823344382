ALTER TABLE audit_sizes DROP COLUMN data_lines;
