ALTER TABLE files DROP COLUMN risk_score;
ALTER TABLE files DROP COLUMN capabilities;
