-- The audit log page filters by actor, action and time, newest first: one
-- index for each, so that a filtered page stays a short index walk when the
-- log holds millions of events. Kept in step with ../../postgres/2026-12-01-174213_audit_filters.
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);
