#!/usr/bin/env bash
# bench-load.sh: the applications load harness end to end (make bench-load;
# docs/benchmarks.md, "Applications (load harness)").
#
#   1. a fresh database $LOAD_DB on the local PostgreSQL, migrated;
#   2. the data set (pvara-load seed: 200,000 jobs, 200,000 candidates,
#      1,000,000 applications, half in one organisation);
#   3. for each scenario, a fresh `pvara serve` on $LOAD_PORT against it
#      (its own process) and pvara-load run: open loop at the scenario's
#      target rate, then closed loop with $LOAD_CLOSED workers; each table
#      is printed and appended to $LOAD_OUT;
#   4. pgbench with the submission transaction's SQL (LOAD_PGBENCH=1).
#
# Every size and rate is an environment variable, so a smoke run is quick:
#   LOAD_JOBS=5000 LOAD_OPEN=200 LOAD_CANDIDATES=5000 LOAD_APPLICATIONS=20000 \
#     LOAD_DURATION=3s make bench-load
# LOAD_RESEED=0 reuses the database seeded by the previous run (its keys are
# kept in $LOAD_STATE). LOAD_PGBENCH=1 (the default) also runs pgbench with
# the submission's SQL (scripts/pgbench/submit.sql), closed loop with
# $LOAD_PGBENCH_CLIENTS clients, for the comparison with the submit
# scenario (LOAD_PGBENCH_SCRIPTS: submit_key.sql, the same transaction as
# the scenario's, with its Idempotency-Key, and submit.sql, without).
# LOAD_DURATION is in seconds ("10s"). LOAD_RUN_ARGS are extra flags of
# pvara-load run (e.g. "-accept-encoding identity"). Run on a quiet machine;
# the generator shares it.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${LOAD_DB:=pvara_load}"
: "${LOAD_PG:=postgres://postgres@127.0.0.1:5432}"
: "${LOAD_REDIS:=redis://127.0.0.1:6379/0}"
: "${LOAD_PORT:=18080}"
: "${LOAD_ADMIN_PORT:=19090}"
: "${LOAD_STATE:=.pvara-load}"
: "${LOAD_RESEED:=1}"
: "${LOAD_JOBS:=200000}"
: "${LOAD_OPEN:=3000}"
: "${LOAD_ORGS:=50}"
: "${LOAD_CANDIDATES:=200000}"
: "${LOAD_APPLICATIONS:=1000000}"
# Candidates kept free of applications, for the submit scenario.
: "${LOAD_RESERVE:=$((LOAD_CANDIDATES / 10 < 20000 ? LOAD_CANDIDATES / 10 : 20000))}"
: "${LOAD_SCENARIOS:=login,jobs,jobs_q,submit,search_small,search_large,search_text}"
: "${LOAD_RATES:=}"
: "${LOAD_CLOSED:=32}"
: "${LOAD_DURATION:=10s}"
: "${LOAD_OUT:=$LOAD_STATE/results.md}"
: "${LOAD_PGBENCH:=1}"
# The server's GOGC, as deploy/k8s/api.yaml sets it.
: "${LOAD_GOGC:=400}"
# The server's pool (database.max_conns) and write admission budget, sized
# for a PostgreSQL on two cores: with 32 connections the backends contend
# (P99 of the submission's SQL at 600/s: 136–224 ms with 32 pgbench clients,
# 15–21 ms with 8; docs/benchmarks.md, "Connections"). pgbench gets as many.
: "${LOAD_DB_CONNS:=8}"
: "${LOAD_PGBENCH_CLIENTS:=$LOAD_DB_CONNS}"
: "${LOAD_RUN_ARGS:=}"
# The pgbench scripts (scripts/pgbench/), in turn: with and without a key.
: "${LOAD_PGBENCH_SCRIPTS:=submit_key.sql,submit.sql}"
# VACUUM (ANALYZE) the database before each scenario and before pgbench:
# "auto" does it when the server runs without autovacuum (this machine's CI
# configuration turns it off), so that every run starts from the state
# autovacuum keeps in production: visibility maps set, statistics fresh,
# GIN pending lists merged. Without it, each run leaves the next more dead
# weight (docs/benchmarks.md, "Autovacuum"). 1: always, 0: never.
: "${LOAD_VACUUM:=auto}"

mkdir -p "$LOAD_STATE/bin"
go build -o "$LOAD_STATE/bin/pvara" ./cmd/pvara
go build -o "$LOAD_STATE/bin/pvara-load" ./cmd/pvara-load
DB_URL="$LOAD_PG/$LOAD_DB?sslmode=disable"

# The server's secrets: made once, kept with the seeded data (the seed
# encrypts CNICs with the field keys).
if [[ ! -f $LOAD_STATE/keys.env || $LOAD_RESEED == 1 ]]; then
	{
		echo "PVARA_CRYPTO_FIELD_KEYS=load1:$(head -c 32 /dev/urandom | base64 -w0)"
		echo "PVARA_CRYPTO_BLIND_INDEX_KEY=$(head -c 32 /dev/urandom | base64 -w0)"
		echo "PVARA_HTTP_CURSOR_SECRET=$(head -c 32 /dev/urandom | base64 -w0)"
		echo "PVARA_AUTH_SIGNING_KEYS=load1:$(head -c 32 /dev/urandom | base64 -w0)"
	} >"$LOAD_STATE/keys.env"
fi
set -a
# shellcheck disable=SC1091
source "$LOAD_STATE/keys.env"
set +a

if [[ $LOAD_RESEED == 1 ]]; then
	psql "$LOAD_PG/postgres" -qc "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" -c "CREATE DATABASE $LOAD_DB"
	PVARA_DATABASE_URL=$DB_URL "$LOAD_STATE/bin/pvara" migrate up
	"$LOAD_STATE/bin/pvara-load" seed -db "$DB_URL" -jobs "$LOAD_JOBS" -open "$LOAD_OPEN" -orgs "$LOAD_ORGS" \
		-candidates "$LOAD_CANDIDATES" -reserve "$LOAD_RESERVE" -applications "$LOAD_APPLICATIONS"
	psql "$DB_URL" -qc "VACUUM ANALYZE"
fi

# The server: rate limits raised far above the offered load (the limiter
# still runs, one Redis round trip per request, as in production), logs at
# warn, GOGC as deploy/k8s/api.yaml sets it (LOAD_GOGC, default 400),
# synchronous_commit as configured on the server (on by default). A
# fresh server per scenario: an overloaded run leaves queues and sockets
# behind that would weigh on the next one.
SERVER=
start_server() {
	GOGC=$LOAD_GOGC PVARA_DATABASE_MAX_CONNS=${PVARA_DATABASE_MAX_CONNS:-$LOAD_DB_CONNS} \
		PVARA_HTTP_WRITES_IN_FLIGHT=${PVARA_HTTP_WRITES_IN_FLIGHT:-$((2 * LOAD_DB_CONNS))} PVARA_DATABASE_URL=$DB_URL PVARA_REDIS_URL=$LOAD_REDIS PVARA_LOG_LEVEL=warn PVARA_LOG_FORMAT=json \
		PVARA_HTTP_ADDR=127.0.0.1:$LOAD_PORT PVARA_ADMIN_ADDR=127.0.0.1:$LOAD_ADMIN_PORT \
		PVARA_RATELIMIT_REQUESTS=10000000 PVARA_RATELIMIT_AUTH_REQUESTS=10000000 \
		"$LOAD_STATE/bin/pvara" serve >>"$LOAD_STATE/serve.log" 2>&1 &
	SERVER=$!
	for _ in $(seq 1 100); do
		curl -fs "http://127.0.0.1:$LOAD_ADMIN_PORT/readyz" >/dev/null && return 0
		sleep 0.2
	done
	tail -20 "$LOAD_STATE/serve.log"
	return 1
}
stop_server() {
	[[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
	SERVER=
}
trap stop_server EXIT

if [[ $LOAD_VACUUM == auto ]]; then
	LOAD_VACUUM=0
	if [[ $(psql "$DB_URL" -Atc "SHOW autovacuum") == off ]]; then
		echo "the server runs without autovacuum: VACUUM (ANALYZE) before each run, as autovacuum would keep it (LOAD_VACUUM=0 to skip)"
		LOAD_VACUUM=1
	fi
fi
vacuum() {
	[[ $LOAD_VACUUM == 1 ]] || return 0
	local t0=$SECONDS
	psql "$DB_URL" -qc "VACUUM (ANALYZE)"
	echo "VACUUM (ANALYZE) before $1: $((SECONDS - t0)) s" | tee -a "$LOAD_OUT"
}

echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOAD_OUT"
for scenario in ${LOAD_SCENARIOS//,/ }; do
	vacuum "$scenario"
	start_server
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg) before $scenario" | tee -a "$LOAD_OUT"
	"$LOAD_STATE/bin/pvara-load" run -target "http://127.0.0.1:$LOAD_PORT" -orgs "$LOAD_ORGS" -reserve "$LOAD_RESERVE" \
		-scenarios "$scenario" -rates "$LOAD_RATES" -closed "$LOAD_CLOSED" -duration "$LOAD_DURATION" \
		-markdown "$LOAD_OUT" $LOAD_RUN_ARGS
	stop_server
done

if [[ $LOAD_PGBENCH == 1 ]]; then
	# scripts/pgbench/submit_key.sql is the submission's SQL round trip for
	# round trip with an Idempotency-Key, as the submit scenario sends it
	# (the transaction's two pipelines); submit.sql the same without a key.
	# submit_setup.sql adds their 10,000 candidates and their job.
	psql "$DB_URL" -q -f scripts/pgbench/submit_setup.sql
	for script in ${LOAD_PGBENCH_SCRIPTS//,/ }; do
		vacuum "pgbench $script"
		echo "pgbench: the submission's SQL ($script), closed loop, $LOAD_PGBENCH_CLIENTS clients, ${LOAD_DURATION}, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOAD_OUT"
		pgbench -n -M prepared -c "$LOAD_PGBENCH_CLIENTS" -j 2 -T "${LOAD_DURATION%s}" -f "scripts/pgbench/$script" "$DB_URL" 2>&1 |
			grep -E "^(number of transactions|latency|tps|number of failed)" | tee -a "$LOAD_OUT"
	done
fi
