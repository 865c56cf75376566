#!/usr/bin/env bash
# scripts/test.sh — what `make test` (and so CI's .ci/run) runs.
#
#   1. prerequisites: Go; PostgreSQL >= 15 server programs and redis-server
#      (installed from Debian's packages when missing and we are root on
#      Debian; otherwise it says exactly what to install and exits 1)
#   2. services: a PostgreSQL superuser URL and a Redis URL for the tests,
#      exported as PVARA_TEST_DATABASE_URL and PVARA_TEST_REDIS_URL: the given
#      ones, else the usual local servers (5432, 6379) when they answer and are
#      usable, else private servers this script starts (on the usual ports when
#      free, else on free ones) and stops when it ends
#   3. static checks: gofmt, go vet, sqlc output up to date
#   4. go test -race ./...
#   5. smoke: the built binary through migrate, serve, /readyz, SIGTERM
#
# Knobs (environment):
#   PVARA_TEST_DATABASE_URL   use this PostgreSQL (a superuser URL) as is
#   PVARA_TEST_REDIS_URL      use this Redis as is
#   PVARA_TEST_FORCE_PRIVATE  1: start private servers on free ports even when
#                             the usual ones answer (tests the fresh-machine path)
#   PVARA_TEST_STATE_DIR      where private servers keep their data
#                             (default /tmp/pvara-test-<uid>-<checkout hash>)
#   GO_TEST_FLAGS             extra flags for go test (e.g. -run TestX)
#   GO_TEST_TIMEOUT           per-package go test timeout (default 10m)
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SQLC_VERSION=v1.31.1
PG_MIN_MAJOR=15
FORCE_PRIVATE=${PVARA_TEST_FORCE_PRIVATE:-0}
GO_TEST_TIMEOUT=${GO_TEST_TIMEOUT:-10m}
STATE_DIR=${PVARA_TEST_STATE_DIR:-/tmp/pvara-test-$(id -u)-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)}
T0=$SECONDS

if [[ -t 1 ]]; then B=$'\033[1m' R=$'\033[31m' N=$'\033[0m'; else B= R= N=; fi
step() { printf '\n%s==> %s%s  (%ds)\n' "$B" "$*" "$N" "$((SECONDS - T0))"; }
info() { printf '    %s\n' "$*"; }
die() {
	printf '\n%smake test: %s%s\n' "$R" "$1" "$N" >&2
	shift
	for line in "$@"; do printf '  %s\n' "$line" >&2; done
	exit 1
}

# ---------------------------------------------------------------------------
# Cleanup: stop the private servers this run started, whatever happens.
CLEANUPS=()
cleanup() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[i]}" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

is_root() { [[ $(id -u) -eq 0 ]]; }
# have CMD: an executable CMD is on PATH.
have() { local p; p=$(type -P "$1" 2>/dev/null) && [[ -x $p && -f $p ]]; }
is_debian() { [[ -f /etc/debian_version ]] && command -v apt-get >/dev/null; }

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port START: the first port from START on that nothing listens on.
free_port() {
	local p
	for ((p = $1; p < $1 + 500; p++)); do
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ---------------------------------------------------------------------------
# 1. Prerequisites
step "prerequisites"

if ! have go; then
	if [[ -x /usr/local/go/bin/go ]]; then
		export PATH=/usr/local/go/bin:$PATH
	else
		die "Go is not installed." \
			"Install Go $(sed -n 's/^go //p' go.mod) or newer (see go.mod), put it on PATH, and run make test again."
	fi
fi
info "$(go version)"
export PATH=$PATH:$(go env GOPATH)/bin

# pg_bindir: the directory of the newest PostgreSQL >= 15 server programs.
pg_bindir() {
	local d best= best_major=0 major
	local -a dirs
	IFS=: read -r -a dirs <<<"$PATH"
	dirs+=(/usr/lib/postgresql/*/bin /usr/pgsql-*/bin /opt/homebrew/opt/postgresql@*/bin /usr/local/opt/postgresql@*/bin)
	for d in "${dirs[@]}"; do
		[[ -x $d/initdb && -x $d/postgres && -x $d/pg_ctl ]] || continue
		d=$(dirname "$(readlink -f "$d/initdb")")
		major=$("$d/postgres" --version 2>/dev/null | sed -n 's/.*(PostgreSQL) \([0-9]*\).*/\1/p')
		[[ -n $major ]] || continue
		if ((major >= PG_MIN_MAJOR && major > best_major)); then best=$d best_major=$major; fi
	done
	[[ -n $best ]] && echo "$best"
}

# find_missing: the Debian packages this machine lacks.
find_missing() {
	missing=()
	if [[ -z ${PVARA_TEST_DATABASE_URL:-} ]] && ! pg_bindir >/dev/null; then missing+=(postgresql); fi
	if [[ -z ${PVARA_TEST_REDIS_URL:-} ]] && ! have redis-server; then missing+=(redis-server); fi
	sqlc_bin=
	local c
	for c in "$(go env GOPATH)/bin/sqlc" /root/go/bin/sqlc "$STATE_DIR/bin/sqlc" "$(type -P sqlc || true)"; do
		if [[ -n $c && -x $c ]] && [[ $("$c" version 2>/dev/null) == "$SQLC_VERSION" ]]; then
			sqlc_bin=$c
			break
		fi
	done
	# sqlc is built from source with cgo: it needs a C compiler.
	if [[ -z $sqlc_bin ]] && ! have gcc; then missing+=(gcc libc6-dev); fi
	return 0
}
find_missing

if ((${#missing[@]})); then
	if is_root && is_debian; then
		info "installing from Debian's packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
		find_missing
		((${#missing[@]} == 0)) || die "installed the packages, but still cannot find: ${missing[*]}" \
			"PostgreSQL server programs are looked for on PATH and in /usr/lib/postgresql/*/bin."
	else
		why="not root"
		is_root && why="not a Debian/Ubuntu machine"
		die "missing: ${missing[*]} (and this script installs only as root on Debian/Ubuntu; here: $why)." \
			"Install them, then run make test again:" \
			"  Debian/Ubuntu:  sudo apt-get install ${missing[*]}" \
			"  Fedora/RHEL:    sudo dnf install postgresql-server redis gcc" \
			"  macOS:          brew install postgresql@16 redis" \
			"Or point the tests at servers you already run:" \
			"  PVARA_TEST_DATABASE_URL=postgres://USER@HOST:PORT/postgres  (a superuser)" \
			"  PVARA_TEST_REDIS_URL=redis://HOST:PORT/0"
	fi
fi

# ---------------------------------------------------------------------------
# 2. Services
step "services"
mkdir -p "$STATE_DIR"
chmod 755 "$STATE_DIR"

psql_bin() {
	local d
	d=$(pg_bindir) && [[ -x $d/psql ]] && { echo "$d/psql"; return; }
	type -P psql
}

# pg_usable URL: a superuser can connect.
pg_usable() {
	local psql
	psql=$(psql_bin) || return 1
	[[ $(PGCONNECT_TIMEOUT=3 "$psql" "$1" -XAtqc "SELECT rolsuper FROM pg_roles WHERE rolname = current_user" 2>/dev/null) == t ]]
}

# as_pg CMD...: run a PostgreSQL program, as the postgres (or nobody)
# account when we are root (PostgreSQL refuses to run as root).
PG_USER=
if is_root; then
	if id postgres >/dev/null 2>&1; then PG_USER=postgres; else PG_USER=nobody; fi
fi
as_pg() {
	# From /, which every account may enter (the checkout may not be).
	(
		cd /
		if [[ -z $PG_USER ]]; then
			"$@"
		elif have runuser; then
			runuser -u "$PG_USER" -- "$@"
		else
			su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
		fi
	)
}

start_private_postgres() {
	local bindir data port
	bindir=$(pg_bindir) || die "no PostgreSQL $PG_MIN_MAJOR+ server programs found" "Debian/Ubuntu: sudo apt-get install postgresql"
	data=$STATE_DIR/postgres
	mkdir -p "$data"
	[[ -n $PG_USER ]] && chown "$PG_USER": "$data"
	if [[ ! -f $data/data/PG_VERSION ]]; then
		info "creating a private PostgreSQL cluster in $data (first run)"
		rm -rf "$data/data"
		as_pg "$bindir/initdb" -D "$data/data" -U postgres -A trust -E UTF8 --no-locale --no-instructions >"$data/initdb.log" 2>&1 ||
			die "initdb failed; see $data/initdb.log" "$(tail -5 "$data/initdb.log")"
		# Test data is thrown away: durability buys nothing here.
		as_pg tee -a "$data/data/postgresql.conf" >/dev/null <<-'EOF'
			# make test's private server
			listen_addresses = '127.0.0.1'
			max_connections = 300
			shared_buffers = 128MB
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			timezone = 'UTC'
		EOF
		printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_pg tee "$data/data/pg_hba.conf" >/dev/null
	fi
	mkdir -p "$data/run"
	[[ -n $PG_USER ]] && chown "$PG_USER": "$data/run"
	# A server left by a run that was killed is reused, then stopped at the end.
	if as_pg "$bindir/pg_ctl" -D "$data/data" status >/dev/null 2>&1; then
		port=$(sed -n 4p "$data/data/postmaster.pid")
		info "reusing the private PostgreSQL left running on port $port"
	else
		if [[ $FORCE_PRIVATE != 1 ]] && ! port_in_use 5432; then port=5432; else port=$(free_port 55432); fi
		as_pg "$bindir/pg_ctl" -D "$data/data" -l "$data/postgres.log" -w -t 60 \
			-o "-p $port -k $data/run -c listen_addresses=127.0.0.1" start >/dev/null ||
			die "the private PostgreSQL did not start; its log says:" "$(tail -15 "$data/postgres.log")"
	fi
	CLEANUPS+=("as_pg '$bindir/pg_ctl' -D '$data/data' -m fast -w stop >/dev/null")
	PVARA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	info "started a private PostgreSQL on 127.0.0.1:$port (stopped when make test ends)"
}

if [[ -n ${PVARA_TEST_DATABASE_URL:-} ]]; then
	pg_usable "$PVARA_TEST_DATABASE_URL" ||
		die "PVARA_TEST_DATABASE_URL does not answer as a superuser." "Check the URL, or unset it to let make test start a server."
	info "PostgreSQL: PVARA_TEST_DATABASE_URL as given"
elif [[ $FORCE_PRIVATE != 1 ]] && pg_usable "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; then
	PVARA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	info "PostgreSQL: the local server on 127.0.0.1:5432"
else
	if [[ $FORCE_PRIVATE != 1 ]] && port_in_use 5432; then
		info "something on 127.0.0.1:5432 does not let postgres in without a password; using a private server"
	fi
	start_private_postgres
fi
export PVARA_TEST_DATABASE_URL

# redis_ping HOST PORT: answers PONG.
redis_ping() {
	local reply
	exec 3<>"/dev/tcp/$1/$2" 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 3 reply <&3 || reply=
	exec 3<&- 3>&-
	[[ $reply == "+PONG"* ]]
}

# redis_writable HOST PORT: accepts a write (a Redis that answers PING but
# refuses writes, e.g. MISCONF after a failed RDB save, would fail every test).
redis_writable() {
	local reply
	exec 3<>"/dev/tcp/$1/$2" 2>/dev/null || return 1
	printf 'SET pvara:test:probe 1 EX 10\r\n' >&3
	IFS= read -r -t 3 reply <&3 || reply=
	exec 3<&- 3>&-
	[[ $reply == "+OK"* ]]
}

start_private_redis() {
	local data port
	data=$STATE_DIR/redis
	mkdir -p "$data"
	if [[ $FORCE_PRIVATE != 1 ]] && ! port_in_use 6379; then port=6379; else port=$(free_port 56379); fi
	redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
		--dir "$data" --pidfile "$data/redis.pid" --logfile "$data/redis.log" >/dev/null ||
		die "redis-server did not start; see $data/redis.log"
	for _ in $(seq 1 100); do redis_ping 127.0.0.1 "$port" && break; sleep 0.05; done
	redis_ping 127.0.0.1 "$port" || die "the private redis-server does not answer; its log says:" "$(tail -10 "$data/redis.log")"
	CLEANUPS+=("kill \$(cat '$data/redis.pid') 2>/dev/null")
	PVARA_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
	info "started a private redis-server on 127.0.0.1:$port (stopped when make test ends)"
}

if [[ -n ${PVARA_TEST_REDIS_URL:-} ]]; then
	info "Redis: PVARA_TEST_REDIS_URL as given"
elif [[ $FORCE_PRIVATE != 1 ]] && redis_ping 127.0.0.1 6379 && redis_writable 127.0.0.1 6379; then
	PVARA_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
	info "Redis: the local server on 127.0.0.1:6379"
else
	if redis_ping 127.0.0.1 6379; then
		info "the Redis on 127.0.0.1:6379 answers but refuses writes (see its log); using a private one instead"
	fi
	start_private_redis
fi
export PVARA_TEST_REDIS_URL

# ---------------------------------------------------------------------------
# 3. Static checks
step "gofmt"
unformatted=$(gofmt -l . 2>&1 || true)
[[ -z $unformatted ]] || die "these files are not gofmt-formatted (run gofmt -w on them):" $unformatted

step "go vet"
go vet ./...
go vet -tags smoke ./cmd/pvara

step "generated code is up to date (sqlc $SQLC_VERSION)"
if [[ -z $sqlc_bin ]]; then
	info "building sqlc $SQLC_VERSION into $STATE_DIR/bin (once; about a minute)"
	GOBIN=$STATE_DIR/bin CGO_ENABLED=1 go install "github.com/sqlc-dev/sqlc/cmd/sqlc@$SQLC_VERSION"
	sqlc_bin=$STATE_DIR/bin/sqlc
fi
mapfile -t gen_dirs < <(sed -n 's/^[[:space:]]*out:[[:space:]]*//p' sqlc.yaml)
snapshot() {
	local d
	for d in "${gen_dirs[@]}"; do
		[[ -d $d ]] && find "$d" -type f -print0 | sort -z | xargs -0 -r sha256sum
	done
	return 0
}
before=$(snapshot)
"$sqlc_bin" generate
after=$(snapshot)
if [[ $before != "$after" ]]; then
	die "sqlc output is stale: run \`make generate\` and commit the result. Changed:" \
		"$(git status --porcelain -- "${gen_dirs[@]}")"
fi
if [[ ${CI:-} == true ]] && [[ -n $(git status --porcelain -- "${gen_dirs[@]}") ]]; then
	die "generated code differs from the commit:" "$(git status --porcelain -- "${gen_dirs[@]}")"
fi
info "sqlc output matches db/queries and db/migrations (the OpenAPI copy is checked by go test)"

# ---------------------------------------------------------------------------
# 4. Tests
step "go test -race ./..."
# -p 2: two packages at once on two cores; -count=1: always really run (the
# services are outside what go test's cache can see).
# shellcheck disable=SC2086
go test -race -p 2 -count=1 -timeout "$GO_TEST_TIMEOUT" ${GO_TEST_FLAGS:-} ./...

# ---------------------------------------------------------------------------
# 5. Smoke test of the release binary
step "smoke: build pvara, migrate, serve, /readyz, SIGTERM"
# Built with the toolchain's default settings, so it reuses what go vet
# compiled; `make build` (static, -trimpath) differs only in flags, and a
# cold cache would spend minutes compiling everything again for it.
go build -ldflags "-X main.version=smoke -X main.commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	-o "$STATE_DIR/bin/pvara-smoke" ./cmd/pvara
if ! PVARA_TEST_BINARY=$STATE_DIR/bin/pvara-smoke \
	go test -tags smoke -run '^TestSmokeBinary$' -count=1 -v ./cmd/pvara; then
	die "the smoke test failed (output above)"
fi

step "make test passed in $((SECONDS - T0))s"
