-- ProcessedEventInsert records that a consumer group applied an event; it
-- affects no row when the group already did (a redelivery).
-- name: ProcessedEventInsert :execrows
INSERT INTO platform.processed_events (consumer_group, event_id)
VALUES (@consumer_group, @event_id)
ON CONFLICT DO NOTHING;

-- name: ProcessedEventsPurge :execrows
DELETE FROM platform.processed_events p
WHERE (p.consumer_group, p.event_id) IN (
    SELECT d.consumer_group, d.event_id FROM platform.processed_events d
    WHERE d.processed_at < @before
    LIMIT @max_rows::int
);

-- ProcessedEventsInsert records a batch of events in one statement and
-- returns the ids that were new to the group; the others were applied
-- before (redeliveries). An id twice in the batch is returned once.
-- name: ProcessedEventsInsert :many
INSERT INTO platform.processed_events (consumer_group, event_id)
SELECT @consumer_group::text, unnest(@event_ids::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id;
