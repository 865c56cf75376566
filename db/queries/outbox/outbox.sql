-- name: OutboxInsert :exec
INSERT INTO platform.outbox (id, topic, event_key, lane, payload, headers)
VALUES (@id, @topic, @event_key, @lane, @payload, @headers);
