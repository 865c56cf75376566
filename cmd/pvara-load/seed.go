package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/applications/appsload"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
)

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dbURL := fs.String("db", os.Getenv("PVARA_LOAD_DB"), "owner (superuser) URL of a freshly migrated database (PVARA_LOAD_DB)")
	var cfg appsload.Config
	fs.IntVar(&cfg.Jobs, "jobs", 200_000, "jobs in total")
	fs.IntVar(&cfg.Open, "open", 3_000, "of which published and open now")
	fs.IntVar(&cfg.Orgs, "orgs", 50, "organisations (organisation 0 is the large one)")
	fs.IntVar(&cfg.StaffPerOrg, "staff", 4, "recruiters per organisation")
	fs.IntVar(&cfg.Candidates, "candidates", 200_000, "candidates with complete profiles")
	fs.IntVar(&cfg.Reserve, "reserve", 0, "candidates kept free of applications for the submit scenario (0: a tenth, at most 20,000)")
	fs.IntVar(&cfg.Applications, "applications", 1_000_000, "applications")
	fs.Float64Var(&cfg.LargeShare, "large-share", 0.5, "share of the applications that go to the large organisation")
	fs.IntVar(&cfg.Months, "months", 6, "months of history the applications spread over")
	argonMem := fs.Uint("argon2-memory-kib", 19*1024, "argon2id memory of the shared password hash (the server's auth.argon2_memory_kib)")
	argonIter := fs.Uint("argon2-iterations", 2, "argon2id iterations (auth.argon2_iterations)")
	_ = fs.Parse(args)
	if *dbURL == "" {
		return fmt.Errorf("-db (or PVARA_LOAD_DB) is required")
	}
	// The server's field keys, from the same environment the server reads,
	// so seeded CNICs decrypt there.
	keys, err := fieldcrypt.ParseKeys(os.Getenv("PVARA_CRYPTO_FIELD_KEYS"))
	if err != nil {
		return fmt.Errorf("PVARA_CRYPTO_FIELD_KEYS (the server's field keys): %w", err)
	}
	blind, err := fieldcrypt.DecodeBase64(os.Getenv("PVARA_CRYPTO_BLIND_INDEX_KEY"))
	if err != nil {
		return fmt.Errorf("PVARA_CRYPTO_BLIND_INDEX_KEY (the server's blind-index key): %w", err)
	}
	if cfg.Cipher, err = fieldcrypt.New(keys, blind); err != nil {
		return err
	}
	if cfg.PasswordHash, err = argon2id.CreateHash(appsload.Password, &argon2id.Params{Memory: uint32(*argonMem),
		Iterations: uint32(*argonIter), Parallelism: 1, SaltLength: 16, KeyLength: 32}); err != nil {
		return err
	}
	cfg.Log = func(format string, a ...any) { fmt.Printf("  "+format+"\n", a...) }
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := appsload.Seed(ctx, pool, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d organisations (%d staff), %d candidates, %d jobs, %d applications (%d in the large organisation) over %d monthly partitions in %v\n",
		len(res.OrgIDs), res.Staff, res.Candidates, res.Jobs, res.Applications, res.ByOrg[0], res.Partitions, res.Took.Round(time.Second))
	fmt.Printf("every account's password: %q\n", appsload.Password)
	return nil
}
