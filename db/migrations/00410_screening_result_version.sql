-- +goose Up
-- results.version counts the changes of a result row: every UPDATE bumps it
-- (a trigger, so no writer can forget). The Redis ranking stores the version
-- it holds for each member and applies an update only when it carries a
-- newer one, so two syncs racing to Redis (a re-screen's and a withdrawal's,
-- say) cannot leave the older state in place. Timestamps could not order
-- them: scored_at and status_at come from different processes' clocks.
ALTER TABLE screening.results ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- +goose StatementBegin
CREATE FUNCTION screening.results_bump_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER results_bump_version BEFORE UPDATE ON screening.results
    FOR EACH ROW EXECUTE FUNCTION screening.results_bump_version();

-- +goose Down
DROP TRIGGER IF EXISTS results_bump_version ON screening.results;
DROP FUNCTION IF EXISTS screening.results_bump_version();
ALTER TABLE screening.results DROP COLUMN IF EXISTS version;
