-- +goose Up
-- Consumer dedupe: a consumer group records the id of each event it applied
-- in the same transaction as the effect, so a redelivered event (Kafka is
-- at least once) finds its key and is skipped. Rows older than
-- consumer.processed_retention (default 30 days, well beyond the 7 days
-- Kafka keeps a topic) are purged by the maintenance role.
CREATE TABLE platform.processed_events (
    consumer_group text NOT NULL,
    event_id       uuid NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX processed_events_processed_at_idx ON platform.processed_events (processed_at);
ALTER TABLE platform.processed_events SET (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0);
GRANT SELECT, INSERT, DELETE ON platform.processed_events TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS platform.processed_events;
