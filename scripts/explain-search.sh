#!/usr/bin/env bash
# explain-search.sh DB_URL: EXPLAIN ANALYZE of staff search on a database
# seeded by pvara-load (docs/applications.md, "Plan settings"), as
# pvara_app in the scope of the large organisation (load-large) and of a
# small one (load-org-001). The statement is the one sqlc generated
# (ApplicationSearchRecent / Relevance), prepared as pgx prepares it; each
# case runs with a generic plan, a custom plan, and a custom plan with
# enable_sort off (what the service does without q). Prints execution and
# planning times and the top plan node of each.
set -euo pipefail
DB=${1:?usage: explain-search.sh DB_URL}
LARGE=$(psql "$DB" -Atc "SELECT id FROM auth.orgs WHERE slug = 'load-large'")
SMALL=$(psql "$DB" -Atc "SELECT id FROM auth.orgs WHERE slug = 'load-org-001'")
SQL=$(sed -n '/^const applicationSearchRecent = `/,/^`/p' internal/applications/internal/db/search.sql.go | sed '1d;$d' | grep -v '^-- name')
RSQL=$(sed -n '/^const applicationSearchRelevance = `/,/^`/p' internal/applications/internal/db/search.sql.go | sed '1d;$d' | grep -v '^-- name')

run() { # label org mode nosort statement-name args
	local label=$1 org=$2 mode=$3 nosort=$4 stmt=$5 args=$6
	psql "$DB" -X -q -At <<SQL | awk -v l="$label ($mode${nosort:+, enable_sort off})" '
		/Planning Time|Execution Time/ {t = t " " $0}
		NR == 1 {first = $0}
		END {gsub(/  +/, " ", first); printf "%-60s %s |%s\n", l, t, substr(first, 1, 70)}'
BEGIN;
SET LOCAL ROLE pvara_app;
SELECT set_config('app.scope', 'org', true), set_config('app.org_id', '$org', true) \\g /dev/null
SET LOCAL plan_cache_mode = $mode;
SET LOCAL jit = off;
${nosort:+SET LOCAL enable_sort = off;}
PREPARE recent(uuid, uuid, text, integer, integer, text, timestamptz, timestamptz, text, timestamptz, uuid, integer) AS $SQL;
PREPARE relevance(text, uuid, uuid, text, integer, integer, text, timestamptz, timestamptz, real, uuid, integer) AS $RSQL;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE $stmt($args) \\g /dev/null
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE $stmt($args);
ROLLBACK;
SQL
}

for org in "large:$LARGE" "small:$SMALL"; do
	name=${org%%:*} id=${org#*:}
	# The organisation's job with the most applications.
	JOB=$(psql "$DB" -Atc "SELECT job_id FROM applications.applications WHERE org_id = '$id' GROUP BY job_id ORDER BY count(*) DESC LIMIT 1")
	for mode in force_generic_plan force_custom_plan; do
		for nosort in "" 1; do
			[[ $mode == force_generic_plan && -n $nosort ]] && continue
			run "$name: newest first" "$id" $mode "$nosort" recent "'$id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 26"
			run "$name: status=submitted, newest first" "$id" $mode "$nosort" recent "'$id', NULL, 'submitted', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 26"
			run "$name: status=under_review, province=punjab, newest first" "$id" $mode "$nosort" recent "'$id', NULL, 'under_review', NULL, NULL, 'punjab', NULL, NULL, NULL, NULL, NULL, 26"
			run "$name: province=sindh, min_score=60, newest first" "$id" $mode "$nosort" recent "'$id', NULL, NULL, 6000, NULL, 'sindh', NULL, NULL, NULL, NULL, NULL, 26"
			run "$name: last 7 days, newest first" "$id" $mode "$nosort" recent "'$id', NULL, NULL, NULL, NULL, NULL, now() - interval '7 days', NULL, NULL, NULL, NULL, 26"
			run "$name: before 4 months ago, newest first" "$id" $mode "$nosort" recent "'$id', NULL, NULL, NULL, NULL, NULL, NULL, now() - interval '4 months', NULL, NULL, NULL, 26"
			run "$name: job_id (its largest job), newest first" "$id" $mode "$nosort" recent "'$id', '$JOB', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 26"
			[[ -z $nosort ]] && run "$name: q=ahmed, newest first" "$id" $mode "" recent "'$id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ahmed', NULL, NULL, 26"
		done
		run "$name: q=python, relevance" "$id" $mode "" relevance "'python', '$id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 26"
		run "$name: q=ahmed, relevance" "$id" $mode "" relevance "'ahmed', '$id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 26"
	done
done
