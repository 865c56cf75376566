// Command pvara-load is the load harness of the whole API: it seeds a
// realistic data set fast (COPY) and drives a running `pvara serve` over
// real HTTP, open loop at fixed rates and closed loop for the maximum
// throughput, printing per endpoint the achieved rate, P50/P95/P99/max
// latency and the errors by status. docs/benchmarks.md ("Applications (load
// harness)") holds the results and the exact commands; `make bench-load`
// runs the whole thing.
//
//	pvara-load seed -db postgres://postgres@127.0.0.1:5432/pvara_load
//	pvara-load run -target http://127.0.0.1:18080 -duration 10s
//	pvara-load run -scenarios submit -closed 16,32,64
//	pvara-load explain -db postgres://postgres@127.0.0.1:5432/pvara_load
//
// It only talks to the addresses it is given; run it against a local
// server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

const usage = `usage: pvara-load seed|run|explain [flags]
  seed     writes the data set into a migrated database (pvara-load seed -h)
  run      drives a running server and prints a table per endpoint (pvara-load run -h)
  explain  prints EXPLAIN ANALYZE timings of staff search on the seeded database (pvara-load explain -h)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(ctx, os.Args[2:])
	case "run":
		err = run(ctx, os.Args[2:])
	case "explain":
		err = explain(ctx, os.Args[2:], os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pvara-load:", err)
		os.Exit(1)
	}
}
