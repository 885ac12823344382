DROP TABLE suppressions;
DROP TABLE finding_reviews;
