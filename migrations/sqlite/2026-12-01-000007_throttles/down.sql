DROP TABLE upstream_absent;
DROP TABLE index_misses;
DROP TABLE login_failures;
