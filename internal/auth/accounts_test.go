package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
)

func TestRegisterLoginAndMe(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, req{method: "POST", path: "/v1/auth/register", body: map[string]any{
		"email": "  Ali.Khan@Example.GOV.pk ", "password": goodPassword, "full_name": " Ali Khan ",
		"cnic": "3520212345671", "phone": "+92 300 1234567",
	}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	u := r.json(t)
	require.Equal(t, "ali.khan@example.gov.pk", u["email"], "e-mail stored normalised")
	require.Equal(t, "Ali Khan", u["full_name"])
	require.Equal(t, "candidate", u["role"])
	require.Nil(t, u["org_id"])
	require.Equal(t, "35202-*******-1", u["cnic_masked"])
	require.NotContains(t, string(r.body), "1234567", "no full CNIC or phone in the registration answer")

	// The CNIC and phone are stored encrypted, never in clear.
	var cnicEnc, phoneEnc []byte
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), `SELECT cnic_enc, phone_enc FROM auth.users WHERE email = 'ali.khan@example.gov.pk'`).Scan(&cnicEnc, &phoneEnc))
	require.NotContains(t, string(cnicEnc), "3520212345671")
	require.NotContains(t, string(phoneEnc), "3001234567")

	// Login with the address written differently.
	pair := e.login(t, "ALI.KHAN@example.gov.pk", goodPassword)
	require.Equal(t, "Bearer", pair.TokenType)
	require.Equal(t, 900, pair.ExpiresIn)

	me := e.do(t, req{method: "GET", path: "/v1/me", token: pair.AccessToken})
	require.Equal(t, http.StatusOK, me.StatusCode, "%s", me.body)
	m := me.json(t)
	require.Equal(t, u["id"], m["id"])
	require.Equal(t, "35202-*******-1", m["cnic_masked"])
	require.Equal(t, "35202-1234567-1", m["cnic"], "the owner sees the full CNIC")
	require.Equal(t, "+923001234567", m["phone"])

	// Anonymous and garbage tokens.
	require.Equal(t, http.StatusUnauthorized, e.do(t, req{method: "GET", path: "/v1/me"}).StatusCode)
	bad := e.do(t, req{method: "GET", path: "/v1/me", token: "garbage"})
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode)
	require.Equal(t, "invalid_token", bad.code(t))

	// The event carries no PII in clear.
	var payload string
	require.NoError(t, e.db.Owner.QueryRow(context.Background(),
		`SELECT convert_from(payload, 'UTF8') FROM platform.outbox WHERE topic = 'pvara.auth.user_registered'`).Scan(&payload))
	require.Contains(t, payload, `"email_domain":"example.gov.pk"`)
	require.Contains(t, payload, `"role":"candidate"`)
	for _, pii := range []string{"ali.khan", "Ali Khan", "3520212345671", "35202-1234567-1", "1234567"} {
		require.NotContains(t, payload, pii)
	}
	// Audit: registration and login, no PII in them either.
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.user_registered'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.login_succeeded'`))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE details::text LIKE '%1234567%' OR details::text LIKE '%ali.khan%'`))
}

func TestRegisterValidationAndConflicts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	reg := func(body map[string]any) resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/register", body: body})
	}
	ok := reg(map[string]any{"email": "a@example.pk", "password": goodPassword, "full_name": "A", "cnic": "35202-1234567-1"})
	require.Equal(t, http.StatusCreated, ok.StatusCode, "%s", ok.body)

	r := reg(map[string]any{"email": "A@EXAMPLE.PK", "password": goodPassword, "full_name": "B", "cnic": "35202-7654321-1"})
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Equal(t, "email_taken", r.code(t))

	// The same CNIC written as 13 digits.
	r = reg(map[string]any{"email": "b@example.pk", "password": goodPassword, "full_name": "B", "cnic": "3520212345671"})
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Equal(t, "cnic_taken", r.code(t))

	for name, tc := range map[string]struct {
		body     map[string]any
		code     string
		location string
	}{
		"short password":   {map[string]any{"email": "c@example.pk", "password": "short pass", "full_name": "C", "cnic": "35202-1111111-1"}, "weak_password", "body.password"},
		"common password":  {map[string]any{"email": "c@example.pk", "password": "pakistanzindabad123", "full_name": "C", "cnic": "35202-1111111-1"}, "weak_password", "body.password"},
		"password = email": {map[string]any{"email": "longaddress12345@example.pk", "password": "longaddress12345@example.pk", "full_name": "C", "cnic": "35202-1111111-1"}, "weak_password", "body.password"},
		"bad cnic":         {map[string]any{"email": "c@example.pk", "password": goodPassword, "full_name": "C", "cnic": "35202-111111-1"}, "validation_failed", "body.cnic"},
		"bad email":        {map[string]any{"email": "not-an-email", "password": goodPassword, "full_name": "C", "cnic": "35202-1111111-1"}, "validation_failed", "body.email"},
		"bad phone":        {map[string]any{"email": "c@example.pk", "password": goodPassword, "full_name": "C", "cnic": "35202-1111111-1", "phone": "call me"}, "validation_failed", "body.phone"},
		"missing cnic":     {map[string]any{"email": "c@example.pk", "password": goodPassword, "full_name": "C"}, "validation_failed", ""},
	} {
		r := reg(tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, "%s: %s", name, r.body)
		require.Equal(t, tc.code, r.code(t), name)
		if tc.location != "" {
			require.Contains(t, string(r.body), tc.location, name)
		}
		// A rejected value is never echoed (it may be a password or CNIC).
		if pw, _ := tc.body["password"].(string); pw != goodPassword {
			require.NotContains(t, string(r.body), pw, name)
		}
	}

	// A 64-character passphrase (and longer) is allowed; role and org in
	// the body are not honoured.
	long := strings.Repeat("long passphrase ", 8)
	r = reg(map[string]any{"email": "d@example.pk", "password": long, "full_name": "D", "cnic": "35202-2222222-2", "role": "platform_admin", "org_id": "0190c0de-0000-7000-8000-000000000000"})
	if r.StatusCode == http.StatusCreated {
		require.Equal(t, "candidate", r.json(t)["role"])
		require.Nil(t, r.json(t)["org_id"])
	} else {
		require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, "%s", r.body)
	}
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users WHERE role <> 'candidate'`))
}

// TestRegistrationRaces: concurrent registrations of one person make one
// account, whatever the interleaving: the unique indexes decide.
func TestRegistrationRaces(t *testing.T) {
	t.Parallel()
	e := setup(t)
	race := func(body func(i int) map[string]any) (created, conflicts int, codes map[string]int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes = map[string]int{}
		for i := range 20 {
			wg.Go(func() {
				r := e.do(t, req{method: "POST", path: "/v1/auth/register", body: body(i)})
				mu.Lock()
				defer mu.Unlock()
				switch r.StatusCode {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
					conflicts++
					codes[r.code(t)]++
				default:
					t.Errorf("unexpected %d: %s", r.StatusCode, r.body)
				}
			})
		}
		wg.Wait()
		return
	}
	created, conflicts, codes := race(func(i int) map[string]any {
		return map[string]any{"email": e.email("race"), "password": goodPassword, "full_name": "Same Person", "cnic": "42101-5555555-5"}
	})
	require.Equal(t, 1, created)
	require.Equal(t, 19, conflicts)
	require.Equal(t, map[string]int{"cnic_taken": 19}, codes)

	created, conflicts, codes = race(func(i int) map[string]any {
		return map[string]any{"email": "same@example.pk", "password": goodPassword, "full_name": "Same Address", "cnic": e.cnic()}
	})
	require.Equal(t, 1, created)
	require.Equal(t, 19, conflicts)
	require.Equal(t, map[string]int{"email_taken": 19}, codes)
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM auth.users`))
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM platform.outbox WHERE topic = 'pvara.auth.user_registered'`), "one event per account, none for the losers")
}

func TestOrgsAndStaff(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := e.world(t)

	// Slugs are unique.
	r := e.do(t, req{method: "POST", path: "/v1/orgs", token: w.padmin.AccessToken, body: map[string]any{"name": "X", "slug": "dup"}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	r = e.do(t, req{method: "POST", path: "/v1/orgs", token: w.padmin.AccessToken, body: map[string]any{"name": "Y", "slug": "dup"}})
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Equal(t, "slug_taken", r.code(t))
	r = e.do(t, req{method: "POST", path: "/v1/orgs", token: w.padmin.AccessToken, body: map[string]any{"name": "Y", "slug": "Bad Slug"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode)

	// Staff belong to the path's organisation with the body's role.
	me := e.do(t, req{method: "GET", path: "/v1/me", token: w.recruiterA.AccessToken}).json(t)
	require.Equal(t, "recruiter", me["role"])
	require.Equal(t, w.orgA.String(), me["org_id"])
	require.Nil(t, me["cnic_masked"])

	// The body cannot pick another role.
	for _, role := range []string{"candidate", "platform_admin", "client"} {
		r := e.do(t, req{method: "POST", path: "/v1/orgs/" + w.orgA.String() + "/staff", token: w.adminA.AccessToken,
			body: map[string]any{"email": e.email("x"), "full_name": "X", "role": role, "password": goodPassword}})
		require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, role)
	}
	// A platform admin creating staff in an organisation that does not exist.
	r = e.do(t, req{method: "POST", path: "/v1/orgs/0190c0de-0000-7000-8000-000000000000/staff", token: w.padmin.AccessToken,
		body: map[string]any{"email": e.email("x"), "full_name": "X", "role": "recruiter", "password": goodPassword}})
	require.Equal(t, http.StatusNotFound, r.StatusCode, "%s", r.body)

	// Listing, paginated.
	r = e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgA.String() + "/staff?limit=2", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	var page struct {
		Items      []auth.User `json:"items"`
		NextCursor *string     `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	cursorA := *page.NextCursor
	r = e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgA.String() + "/staff?limit=2&cursor=" + cursorA, token: w.adminA.AccessToken})
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Len(t, page.Items, 1, "org A has an admin, a recruiter and an interviewer")
	for _, u := range page.Items {
		require.Equal(t, w.orgA, *u.OrgID)
	}
	// A cursor of org A's list is refused on org B's.
	r = e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgB.String() + "/staff?cursor=" + cursorA, token: w.adminB.AccessToken})
	require.Equal(t, http.StatusBadRequest, r.StatusCode)

	// Organisations are public.
	r = e.do(t, req{method: "GET", path: "/v1/orgs/" + w.orgA.String()})
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.org_created' AND resource_id = $1`, w.orgA.String()))
}
