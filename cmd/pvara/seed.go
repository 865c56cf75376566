package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/pvara-gov/pvara/internal/platform/authz"
)

// wireDevSeed registers the demo data of `pvara dev`: the demo organisation
// and its accounts (auth), then a few jobs of that organisation (jobs). Both
// are idempotent, so every start prints the same credentials.
func (a *app) wireDevSeed() {
	a.devSeeds = append(a.devSeeds, func(ctx context.Context) error {
		demo, err := a.auth.SeedDemo(ctx)
		if err != nil {
			return err
		}
		var recruiter = demo.OrgID
		for _, acc := range demo.Accounts {
			if acc.Role == string(authz.RoleRecruiter) {
				recruiter = acc.ID
			}
		}
		if err := a.seedJobs(ctx, demo.OrgID, recruiter); err != nil {
			return err
		}
		if err := a.seedApplications(ctx, demo.OrgID, demo.Accounts); err != nil {
			return err
		}
		if a.devOut != nil {
			fmt.Fprintf(a.devOut, "\nDemo organisation %q (%s); demo accounts (dev only, public passwords):\n", demo.OrgSlug, demo.OrgID)
			tw := tabwriter.NewWriter(a.devOut, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  ROLE\tE-MAIL\tPASSWORD")
			for _, acc := range demo.Accounts {
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", acc.Role, acc.Email, acc.Password)
			}
			_ = tw.Flush()
		}
		return nil
	})
}
