package payrecon

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Callbacks: a provider's notification as received, what a verifier makes of it, and the raw store kept for
// audit.

// CallbackRequest is a raw callback as received: everything a verifier may
// need, nothing parsed.
type CallbackRequest struct {
	Account    string
	Header     http.Header
	Body       []byte
	RemoteAddr string
	ReceivedAt time.Time
}

// VerifiedCallback is what a verifier makes of an authentic callback.
type VerifiedCallback struct {
	// EventID is the provider's idempotency id for the notification
	// (Huawei callbackId, WeChat notification id).
	EventID string
	Type    string        // provider's event type, e.g. "payment", "refund", "sign", "unsign", "TRANSACTION.SUCCESS"
	Entries []LedgerEntry // what enters the ledger; may be empty (e.g. a failed payment)
}

// CallbackReply is the provider-specific acknowledgement.
type CallbackReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// CallbackVerifier checks a callback with the provider's real scheme.
//
// VerifyCallback returns an error wrapping ErrSignatureInvalid for a
// forged or tampered callback, and another error for one it cannot read;
// the error text is the reason stored with the rejected callback and must
// not contain secrets. When it rejects a callback whose event id it has
// read, it may say so (the id is stored with the rejected callback, so a
// tampered callback reusing a real id can be traced to it): either return
// a VerifiedCallback with EventID alongside the error, or wrap the error
// with WithEventID. It must be safe for concurrent use.
// Reply renders the acknowledgement for a result: err == nil is success.
type CallbackVerifier interface {
	VerifyCallback(req CallbackRequest) (VerifiedCallback, error)
	Reply(err error) CallbackReply
}

// CallbackMediaTyper is the optional capability through which a verifier
// declares the media type its provider sends callbacks with (the
// Content-Type a live callback must carry). An imported callback captured
// without its headers is given it.
type CallbackMediaTyper interface {
	CallbackMediaType() string
}

// callbackError carries the event id a verifier read from a callback it
// rejected.
type callbackError struct {
	eventID string
	err     error
}

func (e *callbackError) Error() string { return e.err.Error() }

func (e *callbackError) Unwrap() error { return e.err }

// WithEventID marks err (a verifier's rejection) with the event id read
// from the rejected callback; the text of err is unchanged, errors.Is and
// errors.As see through it. A nil err stays nil; an empty id returns err.
func WithEventID(eventID string, err error) error {
	if err == nil || eventID == "" {
		return err
	}
	return &callbackError{eventID: eventID, err: err}
}

// EventIDOf returns the event id WithEventID put on err (the outermost
// one), or "".
func EventIDOf(err error) string {
	var ce *callbackError
	if errors.As(err, &ce) {
		return ce.eventID
	}
	return ""
}

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
