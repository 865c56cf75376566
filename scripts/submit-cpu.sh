#!/usr/bin/env bash
# submit-cpu.sh: the CPU each process spends per application submission, which
# a shared, noisy machine disturbs far less than throughput or latency
# (docs/benchmarks.md, "Submission: where the CPU goes").
#
#   scripts/submit-cpu.sh endpoint    # pvara serve + the harness's submit scenario, closed loop
#   scripts/submit-cpu.sh pgbench     # pgbench with $CPU_SCRIPT (default scripts/pgbench/submit_key.sql)
#
# Over the database the load harness seeded (LOAD_DB, its keys in
# $LOAD_STATE/keys.env: run `make bench-load` once first). The CPU ticks of
# each process (the server, the generator, the PostgreSQL backends connected to
# LOAD_DB, redis-server) are read from /proc over the middle of the run and
# divided by the submissions committed meanwhile (new rows in
# applications.guards). Run as a user that can read the postgres processes'
# /proc/<pid>/stat (any user on most systems).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${LOAD_DB:=pvara_load}"
: "${LOAD_PG:=postgres://postgres@127.0.0.1:5432}"
: "${LOAD_REDIS:=redis://127.0.0.1:6379/0}"
: "${LOAD_PORT:=18080}"
: "${LOAD_ADMIN_PORT:=19090}"
: "${LOAD_STATE:=.pvara-load}"
: "${LOAD_ORGS:=50}"
: "${LOAD_RESERVE:=20000}"
: "${LOAD_GOGC:=400}"
: "${CPU_WORKERS:=32}"
: "${CPU_SECONDS:=16}"
: "${CPU_SCRIPT:=scripts/pgbench/submit_key.sql}"
MODE=${1:-endpoint}
DB_URL="$LOAD_PG/$LOAD_DB?sslmode=disable"
HZ=$(getconf CLK_TCK)

ticks() { if [[ -r /proc/$1/stat ]]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }
# backend_ticks: "pid:ticks" of every client backend connected to LOAD_DB
# (not autovacuum, which the inserts wake up on its own schedule).
backend_ticks() {
	local p
	for p in $(psql "$DB_URL" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$LOAD_DB' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"); do
		echo "$p:$(ticks "$p")"
	done
}
# backend_delta BEFORE AFTER: the ticks the backends present in both
# samples used in between (one that came or went, e.g. autovacuum, is left out).
backend_delta() {
	awk -F: 'NR == FNR { a[$1] = $2; next } ($1 in a) { s += $2 - a[$1] } END { print s + 0 }' "$1" "$2"
}
guards() { psql "$DB_URL" -Atc "SELECT count(*) FROM applications.guards"; }
REDIS=$(pgrep -x redis-server | head -1 || true)
TMP=$(mktemp -d)

# sample NAME PID...: writes the backends' ticks to $TMP/NAME and prints
# "<ticks of each pid> <redis> <guards> <time>".
sample() {
	local name=$1 out="" p
	shift
	backend_ticks >"$TMP/$name"
	for p in "$@"; do out+="$(ticks "$p") "; done
	echo "$out$(ticks "${REDIS:-0}") $(guards) $(date +%s.%N)"
}

case $MODE in
endpoint)
	mkdir -p "$LOAD_STATE/bin"
	go build -o "$LOAD_STATE/bin/pvara" ./cmd/pvara
	go build -o "$LOAD_STATE/bin/pvara-load" ./cmd/pvara-load
	set -a
	# shellcheck disable=SC1091
	source "$LOAD_STATE/keys.env"
	set +a
	GOGC=$LOAD_GOGC PVARA_DATABASE_URL=$DB_URL PVARA_REDIS_URL=$LOAD_REDIS PVARA_LOG_LEVEL=warn PVARA_LOG_FORMAT=json \
		PVARA_HTTP_ADDR=127.0.0.1:$LOAD_PORT PVARA_ADMIN_ADDR=127.0.0.1:$LOAD_ADMIN_PORT \
		PVARA_RATELIMIT_REQUESTS=10000000 PVARA_RATELIMIT_AUTH_REQUESTS=10000000 \
		"$LOAD_STATE/bin/pvara" serve >>"$LOAD_STATE/serve.log" 2>&1 &
	SRV=$!
	trap 'kill $SRV 2>/dev/null || true' EXIT
	for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$LOAD_ADMIN_PORT/readyz" >/dev/null && break; sleep 0.2; done
	"$LOAD_STATE/bin/pvara-load" run -target "http://127.0.0.1:$LOAD_PORT" -orgs "$LOAD_ORGS" -reserve "$LOAD_RESERVE" \
		-scenarios submit -rates submit=0 -closed "$CPU_WORKERS" -duration "${CPU_SECONDS}s" >"$LOAD_STATE/submit-cpu.out" 2>&1 &
	GEN=$!
	# The logins come first: wait until submissions flow.
	g0=$(guards)
	for _ in $(seq 1 600); do
		sleep 0.5
		(($(guards) - g0 > 300)) && break
		kill -0 $GEN 2>/dev/null || { cat "$LOAD_STATE/submit-cpu.out"; exit 1; }
	done
	sleep 2
	read -ra a <<<"$(sample a $SRV $GEN)"
	sleep $((CPU_SECONDS - 6))
	read -ra b <<<"$(sample b $SRV $GEN)"
	wait $GEN
	n=$((b[3] - a[3]))
	awk -v n=$n -v hz="$HZ" -v t="$(echo "${b[4]} - ${a[4]}" | bc)" -v s=$((b[0] - a[0])) -v g=$((b[1] - a[1])) \
		-v p="$(backend_delta "$TMP/a" "$TMP/b")" -v r=$((b[2] - a[2])) -v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
		f = 1e6 / hz / n
		printf "endpoint: %.0f submissions/s (%d in %.1f s), load average %s\n", n / t, n, t, l
		printf "CPU µs per submission: server %.0f, generator %.0f, PostgreSQL backends %.0f, redis %.0f, total %.0f\n", s * f, g * f, p * f, r * f, (s + g + p + r) * f
	}'
	;;
pgbench)
	psql "$DB_URL" -q -f scripts/pgbench/submit_setup.sql
	pgbench -n -M prepared -c "$CPU_WORKERS" -j 2 -T "$CPU_SECONDS" -f "$CPU_SCRIPT" "$DB_URL" >"$LOAD_STATE/pgbench-cpu.out" 2>&1 &
	PB=$!
	sleep 3
	read -ra a <<<"$(sample a)"
	sleep $((CPU_SECONDS - 6))
	read -ra b <<<"$(sample b)"
	wait $PB
	n=$((b[1] - a[1]))
	awk -v n=$n -v hz="$HZ" -v t="$(echo "${b[2]} - ${a[2]}" | bc)" -v p="$(backend_delta "$TMP/a" "$TMP/b")" -v s="$CPU_SCRIPT" \
		-v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
		printf "pgbench %s: %.0f transactions/s (%d in %.1f s), load average %s\n", s, n / t, n, t, l
		printf "CPU µs per transaction: PostgreSQL backends %.0f (pgbench itself not counted)\n", p * 1e6 / hz / n
	}'
	grep -E "^tps" "$LOAD_STATE/pgbench-cpu.out"
	;;
*)
	echo "usage: $0 endpoint|pgbench" >&2
	exit 2
	;;
esac
