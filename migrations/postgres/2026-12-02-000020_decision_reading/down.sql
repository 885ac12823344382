ALTER TABLE decisions DROP COLUMN policy;
ALTER TABLE decisions DROP COLUMN criteria;
ALTER TABLE decisions DROP COLUMN audit_lines;
ALTER TABLE decisions DROP COLUMN audit_base_release_id;
ALTER TABLE decisions DROP COLUMN audit_base;
