// Package apperr is the error vocabulary modules use to say what went wrong
// without knowing about HTTP: a kind (not found, conflict, invalid, ...), a
// stable machine code and a message that is safe to show a user. The HTTP
// layer turns them into problem+json; anything that is not an *Error is an
// internal error whose text is never shown.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; each kind has one HTTP status.
type Kind uint8

// Kinds of application errors.
const (
	KindInternal             Kind = iota // 500: a bug or an unexpected failure
	KindBadRequest                       // 400: the request cannot be read
	KindUnauthenticated                  // 401: no or bad credentials
	KindForbidden                        // 403: the role may not do this
	KindNotFound                         // 404: absent, or not the caller's to see
	KindConflict                         // 409: the state does not allow it
	KindPreconditionFailed               // 412: stale If-Match
	KindTooLarge                         // 413
	KindUnsupportedMedia                 // 415
	KindInvalid                          // 422: a field is wrong
	KindPreconditionRequired             // 428: If-Match missing
	KindTooManyRequests                  // 429
	KindUnavailable                      // 503: draining or a dependency is down
)

// FieldError names one invalid input and why.
type FieldError struct {
	// Location is where the value was, e.g. "body.criteria.min_education" or
	// "query.limit".
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Error is an application error. Two *Error values match with errors.Is when
// their codes are equal, so a sentinel can be returned with extra detail:
//
//	return ErrJobNotOpen.WithDetail("the job closed at ...")
//	errors.Is(err, ErrJobNotOpen) // true
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	// RetryAfter, when set, becomes a Retry-After header.
	RetryAfter time.Duration
	cause      error
}

// New returns an application error.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap exposes the internal cause (for logs, never for responses).
func (e *Error) Unwrap() error { return e.cause }

// Is matches another *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDetail returns a copy with another message.
func (e *Error) WithDetail(message string) *Error {
	c := *e
	c.Message = message
	return &c
}

// WithCause returns a copy that wraps an internal cause for the logs.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// WithRetryAfter returns a copy with a Retry-After hint.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// Invalid returns a validation error (422) naming each bad field.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: "one or more fields are invalid", Fields: fields}
}

// Field is shorthand for a FieldError.
func Field(location, message string) FieldError {
	return FieldError{Location: location, Message: message}
}

// Validator collects field errors; Err returns nil when there were none.
type Validator struct{ fields []FieldError }

// Check records message at location unless ok.
func (v *Validator) Check(ok bool, location, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Location: location, Message: message})
	}
}

// Add records a field error.
func (v *Validator) Add(location, message string) {
	v.fields = append(v.fields, FieldError{Location: location, Message: message})
}

// Err returns the collected errors as one 422 error, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(v.fields...)
}

// Common errors shared by every module.
var (
	ErrNotFound             = New(KindNotFound, "not_found", "the resource does not exist")
	ErrUnauthenticated      = New(KindUnauthenticated, "unauthenticated", "authentication is required")
	ErrForbidden            = New(KindForbidden, "forbidden", "your role may not do this")
	ErrPreconditionFailed   = New(KindPreconditionFailed, "precondition_failed", "the resource has changed; reload it and try again")
	ErrPreconditionRequired = New(KindPreconditionRequired, "precondition_required", "an If-Match header with the resource's ETag is required")
	ErrUnavailable          = New(KindUnavailable, "unavailable", "the service is temporarily unavailable; try again shortly")
	ErrBadCursor            = New(KindBadRequest, "invalid_cursor", "the cursor is not valid for this list")
)

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
