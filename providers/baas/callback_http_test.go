package baas_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/baas/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestCallbacksThroughIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const account = "mc-web"
		sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{EventEnvelope: true})
		paid, refunds := plant(sb.Scenario(), testDay)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), baas.Name, account, c, nil)
		fire := func(cb scenario.Callback) (int, string) {
			t.Helper()
			st, body := in.Fire(t, account, cb)
			return st, string(body)
		}
		var valid []scenario.Callback
		for _, p := range paid[:3] {
			cb, err := sb.PaymentCallback(p)
			if err != nil {
				t.Fatal(err)
			}
			valid = append(valid, cb)
		}
		// the order record after its first partial refund (34.56: the
		// second taken out of the scenario while it is rendered), then after
		// its second (35.00 in all): each state books its increment
		sc := sb.Scenario()
		sc.Lock()
		all := sc.Refunds
		sc.Refunds = []scenario.Refund{all[0], all[1], all[3]}
		sc.Unlock()
		first, err := sb.RefundCallback(refunds[1])
		sc.Lock()
		sc.Refunds = all
		sc.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		second, err := sb.RefundCallback(refunds[2])
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, first, second)
		for _, cb := range valid {
			for i := 0; i < 3; i++ { // MinCloud retries: stored once
				if st, body := fire(cb); st != http.StatusOK || body != `{"status":"ok"}` {
					t.Fatalf("callback %s attempt %d: %d %s", cb.EventID, i+1, st, body)
				}
			}
		}
		got := map[string]payrecon.LedgerEntry{}
		err = db.LedgerEntries(context.Background(), account, testDay.Add(-3).Start(), testDay.Add(3).Start(), func(e payrecon.LedgerEntry) error {
			if _, dup := got[e.EventKey]; dup {
				t.Errorf("event key %s stored twice", e.EventKey)
			}
			got[e.EventKey] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{
			"payment:" + paid[0].ProviderTxnNo + ":success":       paid[0].Amount,
			"payment:" + paid[1].ProviderTxnNo + ":success":       paid[1].Amount,
			"payment:" + paid[2].ProviderTxnNo + ":success":       paid[2].Amount,
			"refund:" + paid[2].MerchantOrderNo + "/3456:success": 3456,
			"refund:" + paid[2].MerchantOrderNo + "/3500:success": 44,
		}
		if len(got) != len(want) {
			t.Errorf("ledger %d entries, want %d", len(got), len(want))
		}
		for k, amt := range want {
			e, ok := got[k]
			if !ok || e.Amount != amt || e.Account != account || e.Provider != baas.Name || e.Source != "callback" {
				t.Errorf("%s: %+v, want amount %d", k, e, amt)
			}
		}
		if e := got["payment:"+paid[0].ProviderTxnNo+":success"]; !e.OccurredAt.Equal(paid[0].PaidAt) || e.MerchantOrderNo != paid[0].MerchantOrderNo {
			t.Errorf("payment entry %+v", e)
		}

		// rejections: forged (other secret), tampered, no signature, wrong key, not an order
		forged := valid[0]
		forged.Header = forged.Header.Clone()
		forged.Header.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte("forger-secret-0000000"), forged.Body))
		tampered := valid[1]
		tampered.Body = bytes.Replace(valid[1].Body, []byte(`"total_cost":0.01`), []byte(`"total_cost":9.01`), 1)
		if bytes.Equal(tampered.Body, valid[1].Body) {
			t.Fatalf("nothing to tamper in %s", valid[1].Body)
		}
		unsigned := valid[2]
		unsigned.Header = http.Header{"Content-Type": {"application/json"}}
		notOrder := scenario.Callback{Header: http.Header{}, Body: []byte(`{"event":{"data":{"status":"success"}}}`)}
		notOrder.Header.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte(sandbox.CallbackSecret), notOrder.Body))
		rejects := []struct {
			name   string
			cb     scenario.Callback
			status int
			reason string
		}{
			{"forged", forged, 401, "does not match"},
			{"tampered", tampered, 401, "does not match"},
			{"unsigned", unsigned, 401, "no X-Payrecon-Signature header"},
			{"notOrder", notOrder, 400, "trade_no"},
		}
		for _, r := range rejects {
			if st, body := fire(r.cb); st != r.status || strings.Contains(body, `"ok"`) {
				t.Errorf("%s: %d %s, want %d", r.name, st, body, r.status)
			}
		}
		var accepted, rejected []payrecon.RawCallback
		if err := db.Callbacks(context.Background(), account, func(cb payrecon.RawCallback) error {
			if cb.Accepted {
				accepted = append(accepted, cb)
			} else {
				rejected = append(rejected, cb)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(accepted) != len(valid) || len(rejected) != len(rejects) {
			t.Fatalf("stored %d accepted %d rejected, want %d and %d", len(accepted), len(rejected), len(valid), len(rejects))
		}
		for i, r := range rejects {
			if !strings.Contains(rejected[i].Reason, r.reason) || strings.Contains(rejected[i].Reason, sandbox.CallbackSecret) {
				t.Errorf("%s: stored reason %q, want %q", r.name, rejected[i].Reason, r.reason)
			}
		}
	})
}

// TestListFormWebhookThroughIntake: a trigger webhook whose record is
// serialised as the older list output is (total_cost "398.00" as a string,
// ISO times without a zone; baas.md: parse both) is accepted by the intake
// and books the amounts in fen at the stated times.
func TestListFormWebhookThroughIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const account = "mc-web"
		sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{StringAmounts: true, ISOTimes: true, ListFormWebhooks: true})
		paid, refunds := plant(sb.Scenario(), testDay)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), baas.Name, account, c, nil)
		p := paid[4] // 398.00 yuan
		pay, err := sb.PaymentCallback(p)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := sb.RefundCallback(refunds[2]) // paid[2] after its second partial refund: 35.00 in all
		if err != nil {
			t.Fatal(err)
		}
		paidISO := `"paid_at":"` + p.PaidAt.In(payrecon.Shanghai).Format("2006-01-02T15:04:05") + `"`
		if !bytes.Contains(pay.Body, []byte(`"total_cost":"398.00"`)) || !bytes.Contains(pay.Body, []byte(paidISO)) {
			t.Fatalf("the sandbox did not render the list form: %s", pay.Body)
		}
		if !bytes.Contains(ref.Body, []byte(`"refund_amount":"35.00"`)) {
			t.Fatalf("the sandbox did not render the list form: %s", ref.Body)
		}
		for _, cb := range []scenario.Callback{pay, ref} {
			if st, body := in.Fire(t, account, cb); st != http.StatusOK {
				t.Fatalf("callback %s: %d %s", cb.EventID, st, body)
			}
		}
		got := map[string]payrecon.LedgerEntry{}
		if err := db.LedgerEntries(context.Background(), account, testDay.Add(-3).Start(), testDay.Add(3).Start(), func(e payrecon.LedgerEntry) error {
			got[e.EventKey] = e
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if e := got["payment:"+p.ProviderTxnNo+":success"]; e.Amount != 39800 || !e.OccurredAt.Equal(p.PaidAt) || e.MerchantOrderNo != p.MerchantOrderNo {
			t.Errorf("payment entry %+v, want 39800 fen at %v", e, p.PaidAt)
		}
		if e := got["refund:"+paid[2].MerchantOrderNo+"/3500:success"]; e.Amount != 3500 || !e.OccurredAt.Equal(refunds[2].FinishedAt) {
			t.Errorf("refund entry %+v, want 3500 fen at %v", e, refunds[2].FinishedAt)
		}
	})
}
