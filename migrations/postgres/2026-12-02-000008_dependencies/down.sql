DROP TABLE dependency_edges;
ALTER TABLE releases DROP COLUMN dependencies_at;
ALTER TABLE releases DROP COLUMN extras;
ALTER TABLE releases DROP COLUMN with_dependencies;
