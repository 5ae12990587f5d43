package payrecon

import (
	"context"
	"net/http"
	"time"
)

// RawCallback is a callback exactly as received, kept for audit whether it
// was accepted or rejected.
type RawCallback struct {
	ID         int64
	Account    string
	Provider   string
	EventID    string // provider's notification id; "" when it could not be read
	ReceivedAt time.Time
	Header     http.Header // stored as JSON; Authorization-like secrets are not in callbacks
	Body       []byte
	BodySHA256 string // of the body as received (even when Body is only a prefix of it)
	// BodyLength is the body's length as received; when it exceeds
	// len(Body) the stored Body is a prefix (rejected callbacks keep a
	// bounded prefix). 0 means len(Body).
	BodyLength int64
	Accepted   bool
	Reason     string // why it was rejected ("" when accepted)
	Source     string // "http" or "import"
}

// CallbackStore is the ledger's intake side.
//
// StoreCallback stores cb and, when cb.Accepted, entries, in one
// transaction. When an accepted callback with the same (Account, EventID)
// is already stored, or every entry's (Account, EventKey) already exists, it
// stores nothing and returns duplicate=true (providers retry). A rejected
// callback is always stored and never yields entries. It sets cb.ID.
type CallbackStore interface {
	StoreCallback(ctx context.Context, cb *RawCallback, entries []LedgerEntry) (duplicate bool, err error)
}

// LedgerReader reads the ledger.
//
// LedgerEntries streams the account's entries whose OccurredAt is in
// [from, to), ordered by id; fn's error stops it. LedgerEntry returns one
// entry by id or ErrNotFound.
type LedgerReader interface {
	LedgerEntries(ctx context.Context, account string, from, to time.Time, fn func(LedgerEntry) error) error
	LedgerEntry(ctx context.Context, id int64) (LedgerEntry, error)
}

// LedgerWriter is the repair side of the ledger. AddLedgerEntry is
// idempotent on (Account, EventKey) (duplicate=true, nothing written).
// SetLedgerStatus changes one entry's status and is a no-op when it already
// has it. Both are recorded with the actor in the ledger's own history.
type LedgerWriter interface {
	AddLedgerEntry(ctx context.Context, e LedgerEntry) (duplicate bool, err error)
	SetLedgerStatus(ctx context.Context, id int64, status Status, actor, reason string) error
}
