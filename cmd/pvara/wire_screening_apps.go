package main

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/screening"
)

// screeningApplications is screening's ApplicationSource. Until the
// applications module provides Submitted/SubmittedForJob it answers that
// the source is not wired (the worker retries and dead-letters).
func (a *app) screeningApplications() screening.ApplicationSource { return unwiredApplications{} }

type unwiredApplications struct{}

var errApplicationsUnwired = errors.New("screening: the applications source is not wired yet")

func (unwiredApplications) Submitted(context.Context, uuid.UUID) (screening.Application, error) {
	return screening.Application{}, errApplicationsUnwired
}

func (unwiredApplications) SubmittedForJob(context.Context, uuid.UUID, uuid.UUID, int) ([]screening.Application, error) {
	return nil, errApplicationsUnwired
}
