-- +goose Up
-- The transactional outbox: a module writes its event here in the same
-- transaction as its change, so the event exists if and only if the change
-- committed. The relay (worker role `outbox`) produces rows to Kafka and
-- deletes them.
CREATE TABLE platform.outbox (
    id         uuid PRIMARY KEY,          -- the event id (UUIDv7)
    topic      text NOT NULL,             -- pvara.<type>
    event_key  text NOT NULL,             -- Kafka key: the aggregate id
    -- lane = hash(event_key) mod 64: one relay at a time drains a lane, in id
    -- order, which keeps the order of one key's events.
    lane       smallint NOT NULL CHECK (lane BETWEEN 0 AND 63),
    payload    bytea NOT NULL,            -- the JSON envelope
    headers    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_lane_id_idx ON platform.outbox (lane, id);
-- A queue table: keep autovacuum eager so dead rows do not slow the polls.
ALTER TABLE platform.outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                                 autovacuum_vacuum_cost_delay = 0);
GRANT SELECT, INSERT, DELETE ON platform.outbox TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS platform.outbox;
