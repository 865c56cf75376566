-- name: AuditInsert :exec
INSERT INTO platform.audit_log (id, occurred_at, org_id, actor_id, actor_role, action, resource, resource_id, ip, request_id, details)
VALUES (@id, @occurred_at, @org_id, @actor_id, @actor_role, @action, @resource, @resource_id, @ip, @request_id, @details);

-- name: SealerTryLock :one
-- One sealer at a time, cluster-wide, for the rest of the transaction.
SELECT pg_try_advisory_xact_lock(@key::bigint) AS locked;

-- name: ChainHead :one
-- next_xid (the next transaction id to be assigned) minus watermark is how
-- many transactions' entries a seal round scans: large means a long-running
-- transaction somewhere holds the horizon back.
SELECT seq, hash, watermark, pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid
FROM platform.audit_chain ORDER BY seq DESC LIMIT 1;

-- name: AuditUnsealed :many
-- The committed entries not yet in the chain, in (tx_id, id) order from
-- (from_tx, from_id) on, with the snapshot horizon of this very statement:
-- every transaction with an id below it has ended, so no entry with tx_id
-- below it can still appear. The (tx_id, id) index lets a batch stop after
-- max_rows without looking at the rest of a backlog.
SELECT e.id, e.occurred_at, e.org_id, e.actor_id, e.actor_role, e.action, e.resource, e.resource_id,
       e.ip, e.request_id, e.details, e.tx_id,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon
FROM platform.audit_log e
WHERE (e.tx_id, e.id) >= (@from_tx::bigint, @from_id::uuid)
  AND NOT EXISTS (SELECT 1 FROM platform.audit_chain c WHERE c.entry_id = e.id)
ORDER BY e.tx_id, e.id
LIMIT @max_rows::int;

-- name: ChainInsert :copyfrom
INSERT INTO platform.audit_chain (seq, entry_id, entry_hash, prev_hash, hash, watermark)
VALUES (@seq, @entry_id, @entry_hash, @prev_hash, @hash, @watermark);

-- name: ChainPage :many
-- A page of the chain in seq order with the entry each link names (NULL
-- columns when the entry row is gone).
SELECT c.seq, c.entry_id, c.entry_hash, c.prev_hash, c.hash,
       e.id AS e_id, e.occurred_at, e.org_id, e.actor_id, e.actor_role, e.action, e.resource, e.resource_id,
       e.ip, e.request_id, e.details
FROM platform.audit_chain c
LEFT JOIN platform.audit_log e ON e.id = c.entry_id
WHERE c.seq > @after_seq::bigint
ORDER BY c.seq
LIMIT @max_rows::int;

-- name: ChainBySeq :one
SELECT seq, entry_id, hash FROM platform.audit_chain WHERE seq = @seq;

-- name: ChainByHash :one
-- Diagnosis only (no index on hash: it runs once, after a failure).
SELECT seq, entry_id FROM platform.audit_chain WHERE hash = @hash ORDER BY seq LIMIT 1;

-- name: ChainByEntryHash :one
-- Diagnosis only: which link sealed an entry with these contents.
SELECT seq, entry_id FROM platform.audit_chain WHERE entry_hash = @entry_hash ORDER BY seq LIMIT 1;

-- name: AuditFirstUnchained :one
-- An entry below the sealed horizon that no link names was put in the log
-- behind the sealer's back.
SELECT e.id, e.tx_id FROM platform.audit_log e
WHERE e.tx_id < @watermark::bigint
  AND NOT EXISTS (SELECT 1 FROM platform.audit_chain c WHERE c.entry_id = e.id)
ORDER BY e.id
LIMIT 1;

-- name: AuditCountPending :one
SELECT count(*)::bigint FROM platform.audit_log e
WHERE e.tx_id >= @watermark::bigint
  AND NOT EXISTS (SELECT 1 FROM platform.audit_chain c WHERE c.entry_id = e.id);
