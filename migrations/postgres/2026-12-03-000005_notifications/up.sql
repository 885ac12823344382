-- Notifications (issue #13): the outbox. An event is written in the same
-- transaction as what it reports; the dashboard inbox lists them, and a
-- worker task delivers each to the webhook at least once, with retries.
-- Kept in step with ../../sqlite/2026-12-01-173423_notifications.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    -- Random, sent as the webhook's event id (receivers dedupe on it).
    event_id TEXT NOT NULL UNIQUE,
    -- review.waiting, base.revoked, advisory.matched, policy.decision,
    -- job.failed, name.reserved.
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- The event's data, a JSON object.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- One webhook delivery per event: pending until delivered or failed for good.
CREATE TABLE webhook_deliveries (
    notification_id BIGINT PRIMARY KEY REFERENCES notifications(id),
    -- pending, delivered, failed.
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    last_attempt_at BIGINT,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
-- How far each user has read the inbox (events with a larger id are unread).
CREATE TABLE notification_reads (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    last_read_id BIGINT NOT NULL
);
