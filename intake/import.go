package intake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/payrecon/payrecon"
)

// ImportLine is one captured callback in an import file (JSON lines):
//
//	{"headers":{"Content-Type":["application/json"]},"body":"<raw body>"}
//
// body_base64 may replace body for binary bodies; received_at (RFC 3339)
// optionally gives the original receive time (default: now). A line
// without a Content-Type header gets the one the account's provider
// declares (payrecon.CallbackMediaTyper); the signature is checked as
// always.
type ImportLine struct {
	Headers    http.Header `json:"headers"`
	Body       *string     `json:"body"`
	BodyBase64 *string     `json:"body_base64"`
	ReceivedAt string      `json:"received_at"`
	RemoteAddr string      `json:"remote_addr"`
}

// ImportResult counts what Import did.
type ImportResult struct {
	Accepted  int
	Duplicate int
	Rejected  int      // stored as rejected (reasons in Rejections)
	Invalid   int      // lines that are not a captured callback (errors returned)
	Rejection []string // "line N: reason", one per rejected callback
}

// Import reads captured callbacks for account from r, one JSON object per
// line (blank lines skipped), and takes each through the same verify-and-
// store path as a live callback (stored with source "import"). A line that
// is not valid JSON or has no body is reported in the returned error,
// naming its line, and the other lines go on; a store failure stops the
// import. Unknown accounts return ErrUnknownAccount before reading.
func (h *Handler) Import(ctx context.Context, account string, r io.Reader) (ImportResult, error) {
	var res ImportResult
	if _, ok := h.cfg.Accounts[account]; !ok {
		return res, fmt.Errorf("import: %w %q", ErrUnknownAccount, account)
	}
	br := bufio.NewReader(r)
	var errs []error
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return res, errors.Join(append(errs, err)...)
		}
		line, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			in, err := h.parseLine(account, line)
			if err != nil {
				res.Invalid++
				errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			} else {
				out := h.process(ctx, in)
				h.finished(in, out)
				switch out.outcome {
				case Accepted:
					res.Accepted++
				case Duplicate:
					res.Duplicate++
				case Rejected:
					res.Rejected++
					res.Rejection = append(res.Rejection, fmt.Sprintf("line %d: %s", n, out.reason))
				case Failed:
					return res, errors.Join(append(errs, fmt.Errorf("line %d: %s", n, out.reason))...)
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return res, errors.Join(append(errs, fmt.Errorf("line %d: read: %w", n, rerr))...)
		}
	}
	return res, errors.Join(errs...)
}

func (h *Handler) parseLine(account string, line []byte) (incoming, error) {
	var l ImportLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return incoming{}, fmt.Errorf("malformed JSON: %w", err)
	}
	var body []byte
	switch {
	case l.Body != nil && l.BodyBase64 != nil:
		return incoming{}, errors.New("both body and body_base64 are set")
	case l.Body != nil:
		body = []byte(*l.Body)
	case l.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*l.BodyBase64)
		if err != nil {
			return incoming{}, fmt.Errorf("body_base64: %w", err)
		}
		body = b
	default:
		return incoming{}, errors.New("body (or body_base64) is required")
	}
	at := h.now()
	if l.ReceivedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, l.ReceivedAt)
		if err != nil {
			return incoming{}, fmt.Errorf("received_at: %w", err)
		}
		at = t
	}
	header := http.Header{}
	for k, vs := range l.Headers {
		for _, v := range vs {
			header.Add(k, v) // canonical key, as net/http would give it
		}
	}
	if _, ok := header["Content-Type"]; !ok {
		// Captured without its headers (a body from a log): the provider's
		// declared media type, the one a live callback must carry.
		if mt, ok := h.cfg.Accounts[account].Verifier.(payrecon.CallbackMediaTyper); ok {
			header.Set("Content-Type", mt.CallbackMediaType())
		}
	}
	length := int64(len(body))
	tooBig := length > h.cfg.MaxBodyBytes
	if tooBig {
		body = body[:h.cfg.MaxBodyBytes]
	}
	return incoming{account: account, header: header, body: body, tooBig: tooBig, bodyLength: length,
		remoteAddr: l.RemoteAddr, receivedAt: at, source: "import"}, nil
}
