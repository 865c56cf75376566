package httpx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
)

// Cursors encodes keyset-pagination cursors: opaque to clients, and
// tamper-evident (HMAC-SHA256 over the list's name and the position). A
// cursor edited, forged, or taken from another list fails to decode with
// apperr.ErrBadCursor (400), never a 500 or a wrong page.
type Cursors struct {
	key []byte
}

// NewCursors returns a codec keyed by secret; every replica must share it.
func NewCursors(secret []byte) (*Cursors, error) {
	if len(secret) < 16 {
		return nil, errors.New("cursor secret must be at least 16 bytes")
	}
	return &Cursors{key: append([]byte(nil), secret...)}, nil
}

var b64 = base64.RawURLEncoding

func (c *Cursors) mac(list string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(list))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// Encode returns the cursor for position v (any JSON value) in list.
func (c *Cursors) Encode(list string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(c.mac(list, payload)), nil
}

// Decode reads a cursor of list into v. An empty cursor is not an error and
// leaves v alone (the first page).
func (c *Cursors) Decode(list, cursor string, v any) error {
	if cursor == "" {
		return nil
	}
	p, s, ok := strings.Cut(cursor, ".")
	if !ok || len(cursor) > 2048 {
		return apperr.ErrBadCursor
	}
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, c.mac(list, payload)) {
		return apperr.ErrBadCursor
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return apperr.ErrBadCursor
	}
	return nil
}

// Page is the list envelope every list endpoint answers with.
type Page[T any] struct {
	Items      []T     `json:"items" nullable:"false"`
	NextCursor *string `json:"next_cursor" doc:"Pass as ?cursor= for the next page; null on the last page."`
}

// PageParams are the list query parameters every list endpoint takes.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"25" doc:"Items per page (1–100)."`
	Cursor string `query:"cursor" maxLength:"2048" doc:"The next_cursor of the previous page."`
}
