-- name: OutboxInsert :exec
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
VALUES (@id, @topic, @event_key, @lane, @payload, @headers);

-- OutboxClaim is the relay's claim, in one statement: lock up to max_lanes
-- lanes that have rows and that no other relay transaction holds (SKIP
-- LOCKED), starting at a rotating offset so concurrent claimers spread over
-- the lanes; then delete up to per_lane of the oldest rows of each claimed
-- lane and return them. The lane locks and the deletes are undone if the
-- transaction rolls back (produce failed, process died), so the rows come
-- back for the next claim. Rows of a claimed lane are read without SKIP
-- LOCKED on purpose: skipping one would reorder the lane.
-- name: OutboxClaim :many
WITH claimed AS (
    SELECT l.lane FROM platform.outbox_lanes l
    WHERE EXISTS (SELECT 1 FROM platform.outbox o WHERE o.lane = l.lane)
    ORDER BY (l.lane + @rotate::int) % 64
    LIMIT @max_lanes::int
    FOR UPDATE SKIP LOCKED
)
DELETE FROM platform.outbox o
USING (
    SELECT c.lane, b.seq FROM claimed c
    CROSS JOIN LATERAL (
        SELECT i.seq FROM platform.outbox i WHERE i.lane = c.lane ORDER BY i.seq LIMIT @per_lane::int
    ) b
) victim
WHERE o.lane = victim.lane AND o.seq = victim.seq
RETURNING o.lane, o.seq, o.id, o.topic, o.event_key, o.payload, o.headers, o.created_at;

-- OutboxStats measures the backlog; the age is computed by the database so
-- the relay's clock does not matter.
-- name: OutboxStats :one
SELECT count(*)::bigint AS backlog,
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM platform.outbox;
