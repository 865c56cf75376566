package main

import (
	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/screening"
)

// screeningApplications is screening's ApplicationSource, served by the
// applications module in process.
func (a *app) screeningApplications() screening.ApplicationSource {
	return adapters.ScreeningApplications{Apps: a.applications}
}
