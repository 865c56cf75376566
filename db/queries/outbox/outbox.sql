-- name: OutboxInsert :exec
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
VALUES (@id, @topic, @event_key, @lane, @payload, @headers);

-- OutboxClaim is the relay's claim, in one statement: lock up to max_lanes
-- lanes that have rows and that no other relay transaction holds (SKIP
-- LOCKED), starting at a rotating offset so concurrent claimers spread over
-- the lanes; then delete the oldest per_lane rows of each claimed lane and
-- return them. The lane locks and the deletes are undone if the transaction
-- rolls back (produce failed, process died), so the rows come back for the
-- next claim. Rows of a claimed lane are read without SKIP LOCKED on
-- purpose: skipping one would reorder the lane.
--
-- The delete is written as "seq up to the per_lane-th seq of the lane" so
-- the plan is a range scan of the primary key per lane; joining on a list
-- of (lane, seq) made the planner hash the whole table (84 ms per batch at
-- a 100k backlog). Rows in the range that the statement's snapshot cannot
-- see (a transaction still open) are not touched: they are claimed later.
-- name: OutboxClaim :many
WITH claimed AS (
    SELECT l.lane FROM platform.outbox_lanes l
    WHERE EXISTS (SELECT 1 FROM platform.outbox o WHERE o.lane = l.lane)
    ORDER BY (l.lane + @rotate::int) % 64
    LIMIT @max_lanes::int
    FOR UPDATE SKIP LOCKED
), upto AS (
    SELECT c.lane, (
        SELECT max(s.seq) FROM (
            SELECT i.seq FROM platform.outbox i WHERE i.lane = c.lane ORDER BY i.seq LIMIT @per_lane::int
        ) s
    ) AS seq
    FROM claimed c
)
DELETE FROM platform.outbox o
USING upto
WHERE o.lane = upto.lane AND o.seq <= upto.seq
RETURNING o.lane, o.seq, o.id, o.topic, o.event_key, o.payload, o.headers, o.created_at;

-- OutboxStats measures the backlog; the age is computed by the database so
-- the relay's clock does not matter.
-- name: OutboxStats :one
SELECT count(*)::bigint AS backlog,
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM platform.outbox;

-- name: OutboxInsertBatch :exec
-- Many events in one statement, in the order given (seq follows it). The
-- arrays are unnested in the select list, which zips arrays of equal length.
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
SELECT unnest(@ids::uuid[]), unnest(@topics::text[]), unnest(@event_keys::text[]), unnest(@lanes::smallint[]),
       unnest(@payloads::bytea[]), unnest(@headers::json[]);
