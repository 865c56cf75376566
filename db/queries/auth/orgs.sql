-- name: OrgInsert :one
INSERT INTO auth.orgs (id, name, slug, created_at) VALUES (@id, @name, @slug, @now)
RETURNING id, name, slug, created_at;

-- name: OrgGet :one
SELECT id, name, slug, created_at FROM auth.orgs WHERE id = @id;

-- name: OrgGetBySlug :one
SELECT id, name, slug, created_at FROM auth.orgs WHERE slug = @slug;
