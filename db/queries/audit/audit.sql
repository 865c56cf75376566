-- name: AuditInsert :exec
INSERT INTO platform.audit_log (id, occurred_at, org_id, actor_id, actor_role, action, resource, resource_id, ip, request_id, details)
VALUES (@id, @occurred_at, @org_id, @actor_id, @actor_role, @action, @resource, @resource_id, @ip, @request_id, @details);
