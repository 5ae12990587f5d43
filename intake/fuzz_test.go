package intake_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
)

// memStore is a hand-written CallbackStore keeping callbacks in memory.
type memStore struct {
	accepted, rejected int
	events             map[string]bool
}

func (m *memStore) StoreCallback(_ context.Context, cb *payrecon.RawCallback, _ []payrecon.LedgerEntry) (bool, error) {
	if !cb.Accepted {
		m.rejected++
		return false, nil
	}
	if m.events[cb.EventID] {
		return true, nil
	}
	m.events[cb.EventID] = true
	m.accepted++
	return false, nil
}

// FuzzImport feeds arbitrary import files: Import never panics, every
// non-blank line is counted exactly once, and what it counts as accepted or
// rejected is what reached the store.
func FuzzImport(f *testing.F) {
	good, sig := testverifier.Callback(key, "evt-1", 1, "1.00")
	line, _ := json.Marshal(map[string]any{"headers": map[string][]string{testverifier.Header: {sig}}, "body": string(good)})
	f.Add(string(line) + "\n" + string(line))
	f.Add(`{"headers":{},"body_base64":"!!"}`)
	f.Add(`{"body":"{\"event_id\":\"x\"}"}` + "\n\n" + `not json`)
	f.Add(`{"headers":{"X-Test-Signature":["00"]},"body":"\u0000"}`)
	f.Fuzz(func(t *testing.T, file string) {
		st := &memStore{events: map[string]bool{}}
		h := newHandler(t, st, 256)
		res, _ := h.Import(ctx, "shop", strings.NewReader(file))
		lines := 0
		for _, l := range strings.Split(file, "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if n := res.Accepted + res.Duplicate + res.Rejected + res.Invalid; n != lines {
			t.Errorf("counted %d lines (%+v), file has %d", n, res, lines)
		}
		if res.Accepted != st.accepted || res.Rejected != st.rejected {
			t.Errorf("counts %+v, store saw %d accepted, %d rejected", res, st.accepted, st.rejected)
		}
	})
}
