-- +goose Up
-- The transactional outbox: a module writes its event here in the same
-- transaction as its change, so the event exists if and only if the change
-- committed. The relay (worker role `outbox`) claims rows, produces them to
-- Kafka and deletes them in the claiming transaction. See docs/events.md.
CREATE TABLE platform.outbox (
    -- lane = fnv32a(event_key) mod 64. One relay transaction at a time owns
    -- a lane (platform.outbox_lanes, FOR UPDATE SKIP LOCKED) and drains it
    -- in seq order, which keeps the order of one key's events while several
    -- relays share the work.
    lane       smallint NOT NULL CHECK (lane BETWEEN 0 AND 63),
    -- seq orders a lane. It is taken from a sequence at INSERT, inside the
    -- writing transaction, so two transactions that serialise on the same
    -- aggregate row get increasing seqs in commit order, whatever the
    -- clocks of the API replicas say. The sequence must keep CACHE 1:
    -- a per-session cache would hand a later transaction a lower number.
    seq        bigint GENERATED ALWAYS AS IDENTITY (CACHE 1),
    id         uuid NOT NULL,             -- the event id (UUIDv7)
    topic      text NOT NULL,             -- pvara.<type>
    event_key  text NOT NULL,             -- Kafka key: the aggregate id
    payload    bytea NOT NULL,            -- the JSON envelope
    -- record headers as a flat JSON object of strings; json, not jsonb:
    -- nothing queries it, and the relay reads it back byte for byte.
    headers    json NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (lane, seq)
);
-- A queue table: rows live for milliseconds. Keep autovacuum eager so dead
-- rows and index entries do not slow the polls (an unvacuumed outbox made
-- empty polls ~2 ms, see TRAPS.md).
ALTER TABLE platform.outbox SET (
    autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0);
GRANT SELECT, INSERT, DELETE ON platform.outbox TO pvara_app;

-- One row per lane. A relay transaction locks the lanes it drains with
-- SELECT ... FOR UPDATE SKIP LOCKED; the lock ends with the transaction,
-- after the batch was acknowledged by Kafka and deleted.
CREATE TABLE platform.outbox_lanes (
    lane smallint PRIMARY KEY CHECK (lane BETWEEN 0 AND 63)
);
INSERT INTO platform.outbox_lanes (lane) SELECT g FROM generate_series(0, 63) AS g;
-- UPDATE is the privilege SELECT ... FOR UPDATE needs; nothing updates it.
GRANT SELECT, UPDATE ON platform.outbox_lanes TO pvara_app;

-- +goose Down
DROP TABLE IF EXISTS platform.outbox_lanes;
DROP TABLE IF EXISTS platform.outbox;
