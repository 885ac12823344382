DROP TABLE import_lines;
DROP TABLE imports;
