package scenario

import (
	"sync"

	"github.com/payrecon/payrecon"
)

// BillFormat is what a test needs to know to plant a hostile bill in a
// provider's own format.
type BillFormat struct {
	// Archive is how the file is served: "zip", "gzip", or "" (as is).
	Archive string
	// Encoding of Plain: "utf-8" or "gbk".
	Encoding string
	// Quoting: a double quote at the start of a field opens a quoted field
	// (CSV). False where a quote is an ordinary character (WeChat Pay's
	// backtick values) and for JSON.
	Quoting bool
	// JSON: the bill is pages of JSON records (MinCloud's order list).
	JSON bool
	// Summary: the file states counts or totals (or numbers its rows) that
	// its lines must match, so a line taken out must fail the bill.
	Summary bool
}

// BillTamper is one bill file a sandbox is about to serve, handed to a
// test's tamper function.
type BillTamper struct {
	Day  payrecon.Day
	Kind payrecon.BillKind
	// Name is the file's name: the zip entry's, the name the provider gives
	// the download, or the page of a paged list.
	Name   string
	Format BillFormat
	// Plain is the file's bytes as encoded, before compression and before
	// the sandbox hashes it: replace it to tamper with the content while
	// the provider's own hash still matches (the parser is what is tested).
	Plain []byte
	// Archive, when the function sets it, rewrites the bytes served after
	// compression (the zip of all files, the gzip stream, or the plain body):
	// bombs, entry names, truncation.
	Archive func(served []byte) []byte
}

// BillTamperer is implemented by sandboxes that let a test tamper with the
// bills they serve.
type BillTamperer interface {
	// TamperBills makes the sandbox hand every bill file it serves from now
	// on to fn; nil stops tampering.
	TamperBills(fn func(t *BillTamper))
}

// TamperHook keeps a sandbox's tamper function; sandboxes embed it.
type TamperHook struct {
	mu sync.Mutex
	fn func(*BillTamper)
}

// TamperBills implements BillTamperer.
func (h *TamperHook) TamperBills(fn func(t *BillTamper)) {
	h.mu.Lock()
	h.fn = fn
	h.mu.Unlock()
}

// Tamper runs the tamper function (if any) on t and returns the plain
// bytes to serve and the archive rewrite (nil: none).
func (h *TamperHook) Tamper(t *BillTamper) ([]byte, func([]byte) []byte) {
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn == nil {
		return t.Plain, nil
	}
	fn(t)
	return t.Plain, t.Archive
}
