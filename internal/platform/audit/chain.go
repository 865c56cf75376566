package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"time"

	"github.com/google/uuid"
)

// The chain's hashes. Both the sealer and Verify compute them from the row
// as PostgreSQL returns it, with this one encoder, so they cannot disagree.
//
//	entry_hash = SHA-256(canonical encoding of every stored field)
//	hash       = SHA-256("pvara.audit.link.v1" || prev_hash || seq (8 bytes, big-endian) || entry_hash)
//
// The canonical encoding is the domain string "pvara.audit.entry.v1" and
// then each field, in a fixed order, as a length (unsigned varint) followed
// by its bytes: id (16 bytes), occurred_at (Unix microseconds, 8 bytes
// big-endian), org_id and actor_id (16 bytes, or empty for NULL),
// actor_role, action, resource, resource_id, ip, request_id (UTF-8), and
// details as canonical JSON (keys sorted, no insignificant space, numbers
// as PostgreSQL printed them). Length prefixes make the encoding injective:
// no two different entries encode the same. Binding seq into the link hash
// makes a link valid at one position only. Changing any of this is a new
// version (v2 domain strings), never an edit.

const (
	entryDomain = "pvara.audit.entry.v1"
	linkDomain  = "pvara.audit.link.v1"
)

// HashSize is the size of every chain hash.
const HashSize = sha256.Size

// zeroHash is the prev_hash of the first link.
var zeroHash [HashSize]byte

// storedEntry is an entry as stored, the input of the hash.
type storedEntry struct {
	ID         uuid.UUID
	OccurredAt time.Time
	OrgID      *uuid.UUID
	ActorID    *uuid.UUID
	ActorRole  string
	Action     string
	Resource   string
	ResourceID string
	IP         string
	RequestID  string
	Details    json.RawMessage
}

func writeField(h hash.Hash, b []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	h.Write(b)
}

func optionalUUID(id *uuid.UUID) []byte {
	if id == nil {
		return nil
	}
	return id[:]
}

// entryHash is the hash of e's canonical encoding.
func entryHash(e *storedEntry) [HashSize]byte {
	h := sha256.New()
	writeField(h, []byte(entryDomain))
	writeField(h, e.ID[:])
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(e.OccurredAt.UnixMicro()))
	writeField(h, ts[:])
	writeField(h, optionalUUID(e.OrgID))
	writeField(h, optionalUUID(e.ActorID))
	writeField(h, []byte(e.ActorRole))
	writeField(h, []byte(e.Action))
	writeField(h, []byte(e.Resource))
	writeField(h, []byte(e.ResourceID))
	writeField(h, []byte(e.IP))
	writeField(h, []byte(e.RequestID))
	writeField(h, canonicalJSON(e.Details))
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// linkHash is the hash of link seq.
func linkHash(prev []byte, seq int64, entry []byte) [HashSize]byte {
	h := sha256.New()
	h.Write([]byte(linkDomain))
	h.Write(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	h.Write(s[:])
	h.Write(entry)
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// canonicalJSON re-encodes a JSON document with sorted keys and no
// insignificant space, keeping numbers' literal text, so the hash does not
// depend on how the driver or a server version formats jsonb. A document
// that does not parse (never the case for jsonb) is hashed as it is.
func canonicalJSON(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
