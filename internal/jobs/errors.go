package jobs

import "github.com/pvara-gov/pvara/internal/platform/apperr"

// Errors of the jobs module.
var (
	// ErrNotFound: no such job, or not one the caller may see (a draft of
	// another organisation looks exactly like a job that does not exist).
	ErrNotFound = apperr.New(apperr.KindNotFound, "job_not_found", "the job does not exist")
	// ErrInvalidTransition: the lifecycle does not allow the action from the
	// job's status (publishing a closed job, closing a draft).
	ErrInvalidTransition = apperr.New(apperr.KindConflict, "invalid_transition", "the job's status does not allow this")
	// ErrNotEditable: closed and archived jobs are not edited.
	ErrNotEditable = apperr.New(apperr.KindConflict, "job_not_editable", "a closed job cannot be edited")
	// ErrEmptyPatch: a PATCH with no fields.
	ErrEmptyPatch = apperr.Invalid(apperr.Field("body", "must change at least one field"))
)
