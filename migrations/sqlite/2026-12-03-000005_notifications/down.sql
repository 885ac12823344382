DROP TABLE notification_reads;
DROP TABLE webhook_deliveries;
DROP TABLE notifications;
