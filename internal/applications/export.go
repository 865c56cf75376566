package applications

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// ExportHeader is the header row of the CSV export.
var ExportHeader = []string{"application_id", "receipt_number", "submitted_at", "status", "candidate_name",
	"cnic_masked", "gender", "date_of_birth", "domicile_province", "domicile_district", "skills", "ai_score",
	"eligible", "model_version", "updated_at"}

// PrepareExport checks that p may export job id's applications (staff of
// the job's organisation, SearchRoles) and writes the audit entry of the
// export. It runs before the response starts, so a refusal is still a
// proper error response; the rows follow with WriteExport.
func (s *Search) PrepareExport(ctx context.Context, p authz.Principal, id uuid.UUID) error {
	if err := s.checkJob(ctx, p, id); err != nil {
		return err
	}
	ip := ""
	if a := httpx.ClientIP(ctx); a.IsValid() {
		ip = a.String()
	}
	// A PII read: audited in its own committed transaction before the
	// first row leaves, so an export cut short is still on record.
	return postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		return audit.RecordTx(ctx, tx, audit.Entry{
			OrgID: p.OrgID, ActorID: p.UserID, ActorRole: string(p.Role), Action: "applications.exported",
			Resource: "job", ResourceID: id.String(), IP: ip, Details: map[string]any{"format": "csv"},
			OccurredAt: s.now(),
		})
	})
}

// WriteExport writes job id's applications to w as CSV, oldest first, in
// one read-only transaction, row by row as PostgreSQL sends them: memory
// stays constant whatever the number of rows. Call PrepareExport first. It
// returns the number of data rows written.
func (s *Search) WriteExport(ctx context.Context, p authz.Principal, id uuid.UUID, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(ExportHeader); err != nil {
		return 0, err
	}
	n := 0
	record := make([]string, len(ExportHeader))
	err := postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		return db.New(tx).ApplicationExportRowsEach(ctx, p.OrgID, id, func(r *db.ApplicationExportRowsRow) error {
			exportRecord(record, r)
			n++
			return cw.Write(record)
		})
	})
	if err != nil {
		return n, postgres.Translate(err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func exportRecord(rec []string, r *db.ApplicationExportRowsRow) {
	score, eligible, model := "", "", ""
	if r.ScoreKey >= 0 {
		score = strconv.FormatFloat(float64(r.ScoreKey)/100, 'f', 2, 64)
	}
	if r.Eligible != nil {
		eligible = strconv.FormatBool(*r.Eligible)
	}
	if r.ModelVersion != nil {
		model = *r.ModelVersion
	}
	rec[0] = r.ID.String()
	rec[1] = cell(r.ReceiptNumber)
	rec[2] = r.CreatedAt.UTC().Format(time.RFC3339)
	rec[3] = r.Status
	rec[4] = cell(r.CandidateName)
	rec[5] = r.CnicMasked
	rec[6] = r.Gender
	rec[7] = r.DateOfBirth.Format(time.DateOnly)
	rec[8] = r.DomicileProvince
	rec[9] = cell(r.DomicileDistrict)
	rec[10] = cell(strings.Join(r.Skills, "; "))
	rec[11] = score
	rec[12] = eligible
	rec[13] = cell(model)
	rec[14] = r.UpdatedAt.UTC().Format(time.RFC3339)
}

// cell defuses CSV formula injection (OWASP): a spreadsheet runs a cell
// that starts with = + - @ (or a tab or carriage return, which some strip
// first) as a formula, so such a cell gets a leading apostrophe and is
// shown as text. Only text a candidate typed goes through it.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
