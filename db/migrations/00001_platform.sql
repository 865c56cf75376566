-- +goose Up
-- The platform schema holds shared machinery that is free of domain words:
-- the partition registry (here), and later the outbox, processed events and the
-- audit log.

-- pvara_app is the role the application runs as. It owns nothing, so
-- row-level security (with FORCE) applies to it; production logins are
-- members of it, and `database.role` makes a privileged login SET ROLE to it.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pvara_app') THEN
        CREATE ROLE pvara_app NOLOGIN;
    END IF;
END
$$;
-- +goose StatementEnd

CREATE SCHEMA IF NOT EXISTS platform;
GRANT USAGE ON SCHEMA platform TO pvara_app;

-- Every monthly range-partitioned table registers here (in the migration that
-- creates it); the partition manager keeps each one months_ahead months ahead.
CREATE TABLE platform.partitioned_tables (
    schema_name  text NOT NULL,
    table_name   text NOT NULL,
    -- per-table override of partitions.months_ahead; NULL uses the setting.
    months_ahead int CHECK (months_ahead BETWEEN 1 AND 24),
    PRIMARY KEY (schema_name, table_name)
);
GRANT SELECT ON platform.partitioned_tables TO pvara_app;

-- ensure_monthly_partitions creates the monthly partitions of a registered
-- table from the month of from_ts through months_ahead months later, each
-- named <table>_pYYYYMM covering [first of month, first of next month). It
-- runs as its owner (SECURITY DEFINER) so the maintenance role, which runs as
-- pvara_app, may call it without owning the table. Concurrent callers are
-- serialised per table by a transaction-scoped advisory lock, so two
-- replicas running it at once both succeed. It returns how many partitions it
-- created.
-- +goose StatementBegin
CREATE FUNCTION platform.ensure_monthly_partitions(p_schema text, p_table text, from_ts timestamptz, months_ahead int)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m         date;
    last_m    date;
    part_name text;
    created   int := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM platform.partitioned_tables WHERE schema_name = p_schema AND table_name = p_table) THEN
        RAISE EXCEPTION 'table %.% is not registered in platform.partitioned_tables', p_schema, p_table;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pvara.partitions'), hashtext(p_schema || '.' || p_table));
    m := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    last_m := (m + make_interval(months => months_ahead))::date;
    WHILE m <= last_m LOOP
        part_name := p_table || '_p' || to_char(m, 'YYYYMM');
        IF NOT EXISTS (
            SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = p_schema AND c.relname = part_name
        ) THEN
            EXECUTE format(
                'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                p_schema, part_name, p_schema, p_table,
                (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION platform.ensure_monthly_partitions(text, text, timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.ensure_monthly_partitions(text, text, timestamptz, int) TO pvara_app;

-- partition_horizon reports, per registered table, the upper bound of its
-- newest partition, so the manager can export how far ahead each table is.
-- +goose StatementBegin
CREATE FUNCTION platform.partition_horizon()
RETURNS TABLE (schema_name text, table_name text, upper_bound timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.schema_name, t.table_name,
           max((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz)
    FROM platform.partitioned_tables t
    JOIN pg_namespace pn ON pn.nspname = t.schema_name
    JOIN pg_class p ON p.relnamespace = pn.oid AND p.relname = t.table_name
    LEFT JOIN pg_inherits i ON i.inhparent = p.oid
    LEFT JOIN pg_class c ON c.oid = i.inhrelid
    GROUP BY t.schema_name, t.table_name
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION platform.partition_horizon() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.partition_horizon() TO pvara_app;

-- +goose Down
DROP FUNCTION IF EXISTS platform.partition_horizon();
DROP FUNCTION IF EXISTS platform.ensure_monthly_partitions(text, text, timestamptz, int);
DROP TABLE IF EXISTS platform.partitioned_tables;
DROP SCHEMA IF EXISTS platform;
