package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/audit/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// ProblemKind says how the chain was found broken.
type ProblemKind string

// Problem kinds.
const (
	// Altered: an entry's contents, or a link, no longer match their hash
	// (or a link differs from an anchor recorded earlier).
	Altered ProblemKind = "altered"
	// Removed: an entry row, or a link, is gone.
	Removed ProblemKind = "removed"
	// Inserted: a link was spliced into the chain, or an entry sits in the
	// log below the sealed horizon that no link names.
	Inserted ProblemKind = "inserted"
	// Reordered: an entry or a link sits at another position than the one
	// it was sealed at.
	Reordered ProblemKind = "reordered"
	// Truncated: an anchor names a seq the chain no longer reaches.
	Truncated ProblemKind = "truncated"
)

// Problem is the first bad entry Verify found.
type Problem struct {
	Kind ProblemKind
	// Seq is the chain position (0 for an entry that is in no link).
	Seq int64
	// EntryID is the entry concerned (uuid.Nil when its link is gone and
	// the id with it).
	EntryID uuid.UUID
	Detail  string
}

func (p *Problem) Error() string {
	id := "unknown"
	if p.EntryID != uuid.Nil {
		id = p.EntryID.String()
	}
	where := "seq " + strconv.FormatInt(p.Seq, 10)
	if p.Seq == 0 {
		where = "no seq"
	}
	return fmt.Sprintf("entry %s (%s) %s: %s", id, where, p.Kind, p.Detail)
}

// Anchor is a (seq, hash) pair recorded outside the database (the sealer
// logs one every minute). A hash chain alone cannot show that its tail was
// cut off or that the whole chain was recomputed by someone with write
// access; checking it against anchors can.
type Anchor struct {
	Seq  int64
	Hash []byte
}

// ParseAnchor reads "SEQ:HEXHASH".
func ParseAnchor(s string) (Anchor, error) {
	seqS, hashS, ok := strings.Cut(strings.TrimSpace(s), ":")
	seq, err := strconv.ParseInt(seqS, 10, 64)
	if !ok || err != nil || seq < 1 {
		return Anchor{}, fmt.Errorf("anchor %q: expected SEQ:HASH with SEQ a positive number", s)
	}
	h, err := hex.DecodeString(hashS)
	if err != nil || len(h) != HashSize {
		return Anchor{}, fmt.Errorf("anchor %q: expected a %d-byte hex hash after the colon", s, HashSize)
	}
	return Anchor{Seq: seq, Hash: h}, nil
}

// Report is the outcome of Verify.
type Report struct {
	// Sealed is the number of links walked.
	Sealed int64
	// Pending is the number of committed entries the sealer has not linked
	// yet (normal: they are moments old).
	Pending int64
	// HeadSeq and HeadHash are the newest link; record them as an anchor.
	HeadSeq  int64
	HeadHash []byte
	// Problem is the first bad entry, nil when the chain is intact.
	Problem *Problem
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return r.Problem == nil }

// VerifyOptions configures Verify.
type VerifyOptions struct {
	Anchors []Anchor
	// PageSize is the number of links read per query (default 5000).
	PageSize int
}

// TxBeginner opens a transaction with options (a pgxpool.Pool).
type TxBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Verify walks the whole chain in seq order, recomputing every hash, and
// reports the first entry that was altered, removed, inserted or
// reordered. It reads one consistent snapshot (a repeatable-read, read-only
// transaction), so it may run while writers and the sealer keep going. An
// error is returned only when the walk itself could not be done.
func Verify(ctx context.Context, pool TxBeginner, opts VerifyOptions) (rep Report, err error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 5000
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return rep, postgres.Translate(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := postgres.SystemScope().Apply(ctx, tx); err != nil {
		return rep, err
	}
	w := walker{q: db.New(tx), anchors: map[int64][]byte{}}
	for _, a := range opts.Anchors {
		w.anchors[a.Seq] = a.Hash
	}
	rep.Problem, err = w.walk(ctx, opts.PageSize)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	rep.Sealed, rep.HeadSeq, rep.HeadHash = w.seq, w.seq, w.prev
	if rep.Problem != nil {
		return rep, nil
	}
	for _, a := range opts.Anchors {
		if a.Seq > w.seq {
			rep.Problem = &Problem{Kind: Truncated, Seq: a.Seq, Detail: fmt.Sprintf(
				"an anchor names seq %d but the chain ends at seq %d: links were removed from its end", a.Seq, w.seq)}
			return rep, nil
		}
	}
	// Entries below the sealed horizon must all be in the chain.
	watermark := int64(0)
	head, err := w.q.ChainHead(ctx)
	switch {
	case err == nil:
		watermark = head.Watermark
	case !errors.Is(err, pgx.ErrNoRows):
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	stray, err := w.q.AuditFirstUnchained(ctx, watermark)
	switch {
	case err == nil:
		rep.Problem = &Problem{Kind: Inserted, EntryID: stray.ID, Detail: fmt.Sprintf(
			"the entry is in the log but in no link, and its transaction (%d) ended before the sealed horizon (%d): it was put in the log behind the sealer's back",
			stray.TxID, watermark)}
		return rep, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	if rep.Pending, err = w.q.AuditCountPending(ctx, watermark); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	return rep, nil
}

// walker holds the state of one walk: the last good link and the one
// before it.
type walker struct {
	q         *db.Queries
	anchors   map[int64][]byte
	seq       int64  // last good link
	prev      []byte // its hash
	prev2     []byte // the hash of the link before it
	prevEntry uuid.UUID
}

func (w *walker) walk(ctx context.Context, pageSize int) (*Problem, error) {
	w.prev = zeroHash[:]
	for {
		rows, err := w.q.ChainPage(ctx, w.seq, int32(pageSize))
		if err != nil {
			return nil, err
		}
		for i := range rows {
			p, err := w.check(ctx, &rows[i])
			if p != nil || err != nil {
				return p, err
			}
		}
		if len(rows) < pageSize {
			return nil, nil
		}
	}
}

// check verifies one link against the previous one; on success it becomes
// the previous one.
func (w *walker) check(ctx context.Context, r *db.ChainPageRow) (*Problem, error) {
	want := w.seq + 1
	if r.Seq != want {
		return &Problem{Kind: Removed, Seq: want, Detail: fmt.Sprintf(
			"links %d to %d are missing: the chain jumps from seq %d to seq %d (entry %s)", want, r.Seq-1, w.seq, r.Seq, r.EntryID)}, nil
	}
	if r.EID == nil {
		return &Problem{Kind: Removed, Seq: r.Seq, EntryID: r.EntryID, Detail: "the entry sealed at this position is no longer in the log"}, nil
	}
	if !bytes.Equal(r.PrevHash, w.prev) {
		return w.diagnoseLink(ctx, r)
	}
	eh := entryHash(&storedEntry{
		ID: *r.EID, OccurredAt: *r.OccurredAt, OrgID: r.OrgID, ActorID: r.ActorID, ActorRole: deref(r.ActorRole),
		Action: deref(r.Action), Resource: deref(r.Resource), ResourceID: deref(r.ResourceID), IP: deref(r.Ip),
		RequestID: deref(r.RequestID), Details: r.Details,
	})
	if !bytes.Equal(eh[:], r.EntryHash) {
		other, err := w.q.ChainByEntryHash(ctx, eh[:])
		switch {
		case err == nil && other.Seq != r.Seq:
			return &Problem{Kind: Reordered, Seq: r.Seq, EntryID: r.EntryID, Detail: fmt.Sprintf(
				"the entry now at seq %d was sealed at seq %d (entries were swapped)", r.Seq, other.Seq)}, nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return nil, err
		}
		return &Problem{Kind: Altered, Seq: r.Seq, EntryID: r.EntryID, Detail: "the entry's contents do not match the hash sealed for it"}, nil
	}
	h := linkHash(r.PrevHash, r.Seq, r.EntryHash)
	if !bytes.Equal(h[:], r.Hash) {
		return &Problem{Kind: Altered, Seq: r.Seq, EntryID: r.EntryID, Detail: "the link's hash does not match its contents (the link was edited)"}, nil
	}
	if a, ok := w.anchors[r.Seq]; ok && !bytes.Equal(a, r.Hash) {
		return &Problem{Kind: Altered, Seq: r.Seq, EntryID: r.EntryID, Detail: "the link's hash differs from the anchor recorded for this seq: the chain was recomputed from here or earlier"}, nil
	}
	w.prev2, w.prev, w.seq, w.prevEntry = w.prev, r.Hash, r.Seq, r.EntryID
	return nil, nil
}

// diagnoseLink explains a link whose prev_hash is not the hash of the link
// before it.
func (w *walker) diagnoseLink(ctx context.Context, r *db.ChainPageRow) (*Problem, error) {
	// It follows the link two back: the one in between was spliced in.
	if w.prev2 != nil && bytes.Equal(r.PrevHash, w.prev2) {
		return &Problem{Kind: Inserted, Seq: w.seq, EntryID: w.prevEntry, Detail: fmt.Sprintf(
			"this link was spliced in: the link after it (seq %d, entry %s) was sealed right after seq %d", r.Seq, r.EntryID, w.seq-1)}, nil
	}
	// It follows another link of the chain: links were moved.
	other, err := w.q.ChainByHash(ctx, r.PrevHash)
	switch {
	case err == nil:
		return &Problem{Kind: Reordered, Seq: r.Seq, EntryID: r.EntryID, Detail: fmt.Sprintf(
			"this link was sealed after the link now at seq %d, not after seq %d (links were moved)", other.Seq, w.seq)}, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, err
	}
	return &Problem{Kind: Removed, Seq: r.Seq, EntryID: r.EntryID, Detail: fmt.Sprintf(
		"the link this one was sealed after is gone (seq %d is not it, and no link is): an entry was removed and the links renumbered", w.seq)}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
