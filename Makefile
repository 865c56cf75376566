# PVARA backend. The two commands: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
SQLC_VERSION := v1.31.1
# SQLC runs sqlc; `make test` passes an installed binary of the same version.
SQLC ?= $(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
BIN ?= bin/pvara
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)
# ARGS are passed to `pvara dev`: make run ARGS=--reset
ARGS ?=

.PHONY: run test build generate clean bench-load

# run builds pvara and runs everything locally (`pvara dev`): a private
# PostgreSQL, an in-process Kafka broker, Redis or a stand-in, the API and
# every worker. Ctrl-C stops it all; data stays in ./.pvara.
run: build
	"$(abspath $(BIN))" dev $(ARGS)

# test installs and starts what is missing, then runs every check CI runs
# (scripts/test.sh says what and how).
test:
	./scripts/test.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pvara

# generate regenerates the sqlc code, docs/openapi.json and the configuration table of
# docs/operations.md.
generate:
	$(SQLC) generate
	$(GO) test ./cmd/pvara -run TestOpenAPIDocument -count=1 -update
	$(GO) test ./cmd/pvara -run TestConfigKeysDoc -count=1 -update-config-doc

# bench-load runs the load harness end to end: a fresh database, the seed
# (1,000,000 applications), pvara serve, every scenario (scripts/bench-load.sh
# lists the LOAD_* variables; docs/benchmarks.md has the results).
bench-load:
	./scripts/bench-load.sh

clean:
	rm -rf bin
