package intake_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// limited declares provider limits the way a provider client does.
type limited struct{ testverifier.Verifier }

func (limited) Limits() payrecon.Limits {
	return payrecon.Limits{MerchantOrderNo: payrecon.IDRule{MaxLen: 20}}
}

// TestDomainValidation: an authentic callback whose entries break a domain
// rule is stored as rejected, naming the rule, and nothing enters the
// ledger — whatever the verifier let through.
func TestDomainValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := intake.New(intake.Config{
			Accounts: map[string]intake.Account{
				"shop": {Provider: "wechat", Verifier: limited{testverifier.Verifier{Key: key, Provider: "wechat"}},
					Policy: payrecon.Policy{MaxAmount: 100_000}},
			},
			Store: db, Logger: storetest.Logger(t), Now: func() time.Time { return now },
		})
		srv := httptest.NewServer(h)
		defer srv.Close()
		url := srv.URL + "/callbacks/wechat/shop"

		edit := func(event string, n int, amount string, f func(b *testverifier.Body)) ([]byte, string) {
			body, _ := testverifier.Callback(key, event, n, amount)
			var b testverifier.Body
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatal(err)
			}
			f(&b)
			out, _ := json.Marshal(b)
			return out, testverifier.Sign(key, out)
		}
		for _, tc := range []struct {
			name   string
			body   []byte
			sig    string
			reason string
		}{
			{"negative", nil, "", "amount_positive: amount -5.00"},
			{"above account max", nil, "", "amount_max: amount 1000.01"},
			{"unknown status", nil, "", `status: status "TRX_WEIRD"`},
			{"long order no", nil, "", "id_length: merchant_order_no"},
			{"one bad entry of two", nil, "", "entry 1: amount_positive"},
			{"future", nil, "", "time_window: occurred_at"},
		} {
			switch tc.name {
			case "negative":
				tc.body, tc.sig = testverifier.Callback(key, "e-neg", 1, "-5.00")
			case "above account max":
				tc.body, tc.sig = testverifier.Callback(key, "e-max", 1, "1000.01")
			case "unknown status":
				tc.body, tc.sig = edit("e-st", 1, "1.00", func(b *testverifier.Body) { b.Entries[0].Status = "TRX_WEIRD" })
			case "long order no":
				tc.body, tc.sig = edit("e-long", 1, "1.00", func(b *testverifier.Body) { b.Entries[0].Order = strings.Repeat("M", 200) })
			case "one bad entry of two":
				tc.body, tc.sig = edit("e-two", 2, "1.00", func(b *testverifier.Body) { b.Entries[1].Amount = "0.00" })
			case "future":
				tc.body, tc.sig = edit("e-fut", 1, "1.00", func(b *testverifier.Body) { b.Entries[0].OccurredAt = "2026-12-20T10:00:00+08:00" })
			}
			before := len(callbacks(t, db))
			got := post(t, url, tc.body, tc.sig)
			if got.status < 400 {
				t.Errorf("%s: answered %d %q, want a failure", tc.name, got.status, got.body)
			}
			added := callbacks(t, db)[before:]
			if len(added) != 1 || added[0].Accepted || !strings.Contains(added[0].Reason, tc.reason) {
				t.Errorf("%s: stored %+v, want one rejected with reason containing %q", tc.name, added, tc.reason)
			}
		}
		if es := entries(t, db, "shop"); len(es) != 0 {
			t.Fatalf("ledger got %d entries from refused callbacks: %+v", len(es), es)
		}
		// The same account still books a valid callback.
		good, sig := testverifier.Callback(key, "e-ok", 1, "1000.00")
		if got := post(t, url, good, sig); got.status != 200 {
			t.Fatalf("valid callback answered %d %q", got.status, got.body)
		}
		if es := entries(t, db, "shop"); len(es) != 1 || es[0].Amount != 100_000 {
			t.Fatalf("ledger after a valid callback: %+v", es)
		}
	})
}
