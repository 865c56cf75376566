package postgres

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// RegisterUUID teaches a connection's type map to encode github.com/google/uuid
// values as the [16]byte they are. Without it pgx finds no plan for the named
// array type and falls back to its driver.Valuer (the text form), building and
// discarding a formatted error for every uuid parameter on the way: about a
// tenth of the client CPU of a write with a handful of ids (measured on the
// application submission). The same holds for a non-nil *uuid.UUID (a
// nullable column: the audit log's org and actor), which the pointer
// wrapper of pgx leaves to driver.Valuer too; a nil one is NULL before any
// plan is looked at. Open registers it on every connection.
func RegisterUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapUUID}, m.TryWrapEncodePlanFuncs...)
}

func tryWrapUUID(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	switch u := value.(type) {
	case uuid.UUID:
		return &uuidPlan{}, [16]byte(u), true
	case *uuid.UUID:
		if u != nil {
			return &uuidPtrPlan{}, [16]byte(*u), true
		}
	}
	return nil, nil, false
}

type uuidPlan struct{ next pgtype.EncodePlan }

func (p *uuidPlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidPlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode([16]byte(value.(uuid.UUID)), buf)
}

type uuidPtrPlan struct{ next pgtype.EncodePlan }

func (p *uuidPtrPlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidPtrPlan) Encode(value any, buf []byte) ([]byte, error) {
	u := value.(*uuid.UUID)
	if u == nil {
		return nil, nil
	}
	return p.next.Encode([16]byte(*u), buf)
}
