DROP TABLE suppressions;
DROP TABLE finding_reviews;
DROP FUNCTION finding_reviews_append_only();
