-- Audit sizes count code and data apart: `lines` is code to read, `data_lines`
-- translations, documentation, images and plain text to look over.
ALTER TABLE audit_sizes ADD COLUMN data_lines BIGINT NOT NULL DEFAULT 0;
