DROP TABLE advisory_matches;
DROP TABLE advisories;
