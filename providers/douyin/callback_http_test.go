package douyin_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var cbDay = payrecon.MustDay("2026-11-12")

func at(d payrecon.Day, h, m int) time.Time {
	return d.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func TestCallbacksThroughIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const account = "dy-main"
		sb := mustSandbox(t, sandbox.Options{})
		client := sandboxClient(t, sb, account)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), douyin.Name, account, client, nil)
		fire := func(cb scenario.Callback) (int, string) {
			t.Helper()
			status, body := in.Fire(t, account, cb)
			return status, string(body)
		}

		pay := scenario.Payment{MerchantOrderNo: "CB-ORDER-1", ProviderTxnNo: "N7020261112000001", Status: payrecon.StatusSuccess,
			Amount: 12345, PayerAmount: 12345, PaidAt: at(cbDay, 10, 1), CreatedAt: at(cbDay, 10, 0)}
		ref := scenario.Refund{MerchantRefundNo: "CB-REFUND-1", ProviderRefundNo: "R7020261112000001", MerchantOrderNo: pay.MerchantOrderNo,
			ProviderTxnNo: pay.ProviderTxnNo, Status: payrecon.StatusSuccess, Amount: 2345, FinishedAt: at(cbDay, 11, 0), CreatedAt: at(cbDay, 10, 59)}
		pending := ref
		pending.Status, pending.FinishedAt = payrecon.StatusPending, time.Time{}
		var valid []scenario.Callback
		for _, mk := range []func() (scenario.Callback, error){
			func() (scenario.Callback, error) { return sb.PaymentCallback(pay) },
			func() (scenario.Callback, error) { return sb.RefundCallback(pending) },
			func() (scenario.Callback, error) { return sb.RefundCallback(ref) },
		} {
			cb, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			valid = append(valid, cb)
		}
		for _, cb := range valid {
			// the platform retries until it reads err_no 0: three posts of the
			// same body, and one re-signed with a new nonce
			for i := 0; i < 3; i++ {
				if status, body := fire(cb); status != http.StatusOK || body != douyin.ReplySuccess {
					t.Fatalf("callback %s post %d: %d %s", cb.EventID, i+1, status, body)
				}
			}
		}
		again, err := sb.PaymentCallback(pay)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again.Body, valid[0].Body) {
			t.Fatal("re-rendered callback has the same nonce")
		}
		if status, body := fire(again); status != http.StatusOK || body != douyin.ReplySuccess {
			t.Fatalf("re-signed retry: %d %s", status, body)
		}

		ledger := map[string]payrecon.LedgerEntry{}
		err = db.LedgerEntries(context.Background(), account, cbDay.Add(-3).Start(), cbDay.Add(3).Start(), func(e payrecon.LedgerEntry) error {
			if _, dup := ledger[e.EventKey]; dup {
				t.Errorf("event key %s stored twice", e.EventKey)
			}
			ledger[e.EventKey] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]func(payrecon.LedgerEntry) bool{
			"payment:" + pay.ProviderTxnNo + ":success": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindPayment && e.Amount == 12345 && e.MerchantOrderNo == pay.MerchantOrderNo && e.OccurredAt.Equal(pay.PaidAt)
			},
			"refund:" + ref.ProviderRefundNo + ":pending": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindRefund && e.Status == payrecon.StatusPending && e.Amount == 2345
			},
			"refund:" + ref.ProviderRefundNo + ":success": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindRefund && e.Status == payrecon.StatusSuccess && e.Amount == 2345 && e.MerchantRefundNo == ref.MerchantRefundNo &&
					e.ProviderTxnNo == pay.ProviderTxnNo && e.OccurredAt.Equal(ref.FinishedAt)
			},
		}
		if len(ledger) != len(want) {
			t.Errorf("ledger holds %d entries, want %d", len(ledger), len(want))
		}
		for k, ok := range want {
			e, found := ledger[k]
			if !found {
				t.Errorf("ledger lacks %s", k)
				continue
			}
			if !ok(e) || e.Account != account || e.Provider != douyin.Name || e.Source != "callback" {
				t.Errorf("ledger entry %s wrong: %+v", k, e)
			}
		}
		stored := func() (acc, rej []payrecon.RawCallback) {
			err := db.Callbacks(context.Background(), account, func(cb payrecon.RawCallback) error {
				if cb.Accepted {
					acc = append(acc, cb)
				} else {
					rej = append(rej, cb)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return acc, rej
		}
		if acc, rej := stored(); len(acc) != len(valid) || len(rej) != 0 {
			t.Errorf("stored %d accepted, %d rejected; want %d and 0", len(acc), len(rej), len(valid))
		}

		// ---- rejections ----
		hdr := http.Header{"Content-Type": {"application/json"}}
		forged, err := sandbox.Render("not-the-token", pay.PaidAt.Unix(), "1", douyin.TypePayment, map[string]any{"appid": sandbox.AppID, "cp_orderno": "X", "order_id": "N-FORGED", "total_amount": 1, "status": "SUCCESS"})
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Replace(valid[0].Body, []byte(`12345`), []byte(`99345`), 1)
		if bytes.Equal(tampered, valid[0].Body) {
			t.Fatal("nothing to tamper")
		}
		// another account's token: the same shape, signed with another sandbox's token
		other := mustSandbox(t, sandbox.Options{})
		wrongKey, err := other.PaymentCallback(pay)
		if err != nil {
			t.Fatal(err)
		}
		retyped := bytes.Replace(valid[2].Body, []byte(`"type":"refund"`), []byte(`"type":"payment"`), 1)
		rejects := []struct {
			name, reason string
			body         []byte
		}{
			{"forged", "msg_signature", forged},
			{"tampered", "msg_signature", tampered},
			{"wrongToken", "msg_signature", wrongKey.Body},
			{"retyped", "does not match its signed msg", retyped},
			{"notJSON", "syntax", []byte("timestamp=1&msg=x")},
		}
		for _, r := range rejects {
			status, body := fire(scenario.Callback{Header: hdr, Body: r.body})
			if status/100 == 2 || strings.Contains(body, `"err_no":0`) {
				t.Errorf("%s: answered %d %s", r.name, status, body)
			}
		}
		_, rej := stored()
		if len(rej) != len(rejects) {
			t.Fatalf("stored %d rejected, want %d", len(rej), len(rejects))
		}
		for i, r := range rejects {
			if !strings.Contains(rej[i].Reason, r.reason) {
				t.Errorf("%s: stored reason %q, want it to mention %q", r.name, rej[i].Reason, r.reason)
			}
			if strings.Contains(rej[i].Reason, sb.Token()) {
				t.Errorf("%s: reason leaks the token", r.name)
			}
		}
	})
}
