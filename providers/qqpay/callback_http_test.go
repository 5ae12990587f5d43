package qqpay_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestCallbacksThroughIntake fires the sandbox's notifications at the real
// intake handler over HTTP, backed by a real store (SQLite, and MySQL when
// PAYRECON_TEST_MYSQL_DSN is set): valid ones land once also when sent three
// times; forged, tampered, wrong-key, wrong-merchant and unreadable ones are
// refused with their reason stored.
func TestCallbacksThroughIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sc := billScenario()
		sb, c := mustSandbox(t, sc, sandbox.Options{})
		const account = "qq"
		in := providertest.ServeIntake(t, db, storetest.Logger(t), qqpay.Name, account, c, fixedNow)
		fire := func(cb scenario.Callback) (int, string) {
			t.Helper()
			status, body := in.Fire(t, account, cb)
			return status, string(body)
		}

		pay, _ := sb.PaymentCallback(sc.Payments[1])
		ref, _ := sb.RefundCallback(sc.Refunds[0])
		failed := sc.Payments[0]
		failed.MerchantOrderNo, failed.ProviderTxnNo, failed.Status = "M-FAIL", "T-FAIL", payrecon.StatusFailed
		failedCB, _ := sb.PaymentCallback(failed)
		for i := 0; i < 3; i++ {
			for _, cb := range []scenario.Callback{pay, ref, failedCB} {
				if status, body := fire(cb); status != http.StatusOK || body != string(qqpay.ReplySuccess) {
					t.Fatalf("attempt %d: %d %s", i+1, status, body)
				}
			}
		}
		entries := map[string]payrecon.LedgerEntry{}
		err := db.LedgerEntries(context.Background(), account, testDay.Add(-1).Start(), testDay.Add(2).Start(), func(e payrecon.LedgerEntry) error {
			if _, dup := entries[e.EventKey]; dup {
				t.Errorf("event %s stored twice", e.EventKey)
			}
			entries[e.EventKey] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p, r := sc.Payments[1], sc.Refunds[0]
		if len(entries) != 2 {
			t.Fatalf("ledger holds %d entries, want 2: %v", len(entries), entries)
		}
		if e, ok := entries["payment:"+p.ProviderTxnNo+":success"]; !ok || e.Amount != p.Amount || e.PayerAmount != p.PayerAmount ||
			e.PromotionAmount != p.PromotionAmount || !e.OccurredAt.Equal(p.PaidAt) || e.MerchantOrderNo != p.MerchantOrderNo || e.Provider != qqpay.Name || e.Account != account {
			t.Errorf("payment entry %+v", e)
		}
		if e, ok := entries["refund:"+r.ProviderRefundNo+":success"]; !ok || e.Amount != r.Amount || e.MerchantRefundNo != r.MerchantRefundNo ||
			e.ProviderTxnNo != r.ProviderTxnNo || !e.OccurredAt.Equal(r.FinishedAt) {
			t.Errorf("refund entry %+v", e)
		}

		// rejections
		forged := sandbox.SignCallback(sandbox.PaymentFields(sc.Payments[0]), "not-the-api-key-0123456789abcdef", qqpay.SignMD5)
		tampered := pay
		tampered.Body = bytes.Replace(pay.Body, []byte("<total_fee>123456<"), []byte("<total_fee>923456<"), 1)
		if bytes.Equal(tampered.Body, pay.Body) {
			t.Fatalf("nothing tampered in %s", pay.Body)
		}
		other := sandbox.PaymentFields(sc.Payments[0])
		other["mch_id"] = "1999999999"
		otherMerchant := sandbox.SignCallback(other, sandbox.APIKey, qqpay.SignMD5)
		unsigned := pay
		unsigned.Body = bytes.Replace(pay.Body, []byte("<sign>"), []byte("<signx>"), 1)
		unsigned.Body = bytes.Replace(unsigned.Body, []byte("</sign>"), []byte("</signx>"), 1)
		badType := sandbox.PaymentFields(sc.Payments[0])
		badType["sign_type"] = "RSA"
		badTypeCB := sandbox.SignCallback(badType, sandbox.APIKey, qqpay.SignMD5)
		notXML := scenario.Callback{Header: http.Header{"Content-Type": {"text/xml"}}, Body: []byte(`{"trade_state":"SUCCESS"}`)}
		rejects := []struct {
			name   string
			cb     scenario.Callback
			reason string
		}{
			{"forged", forged, "sign does not verify"},
			{"tampered", tampered, "sign does not verify"},
			{"otherMerchant", otherMerchant, "is not this account's"},
			{"unsigned", unsigned, "no sign"},
			{"badSignType", badTypeCB, "unsupported sign_type"},
			{"notXML", notXML, "syntax"},
		}
		for _, rj := range rejects {
			status, body := fire(rj.cb)
			if status != http.StatusBadRequest || !strings.Contains(body, "<return_code>FAIL</return_code>") {
				t.Errorf("%s: answered %d %s", rj.name, status, body)
			}
		}
		var accepted, rejected []payrecon.RawCallback
		err = db.Callbacks(context.Background(), account, func(cb payrecon.RawCallback) error {
			if cb.Accepted {
				accepted = append(accepted, cb)
			} else {
				rejected = append(rejected, cb)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(accepted) != 3 {
			t.Errorf("%d accepted callbacks stored, want 3 (payment, refund, failed payment once each)", len(accepted))
		}
		if len(rejected) != len(rejects) {
			t.Fatalf("%d rejected callbacks stored, want %d", len(rejected), len(rejects))
		}
		for i, rj := range rejects {
			if !strings.Contains(rejected[i].Reason, rj.reason) || strings.Contains(rejected[i].Reason, sandbox.APIKey) {
				t.Errorf("%s: stored reason %q, want it to say %q", rj.name, rejected[i].Reason, rj.reason)
			}
		}
	})
}

// TestCallbackHMAC: a notification signed with HMAC-SHA256 (its sign_type
// says so) verifies; the same fields MD5-signed under an HMAC account too.
func TestCallbackHMAC(t *testing.T) {
	sc := billScenario()
	sb, c := mustSandbox(t, sc, sandbox.Options{SignType: qqpay.SignHMACSHA256})
	cb, _ := sb.PaymentCallback(sc.Payments[0])
	if !bytes.Contains(cb.Body, []byte("<sign_type>HMAC-SHA256</sign_type>")) {
		t.Fatalf("not an HMAC callback: %s", cb.Body)
	}
	req := payrecon.CallbackRequest{Account: "qq", Header: cb.Header, Body: cb.Body, ReceivedAt: time.Now()}
	vc, err := c.VerifyCallback(req)
	if err != nil || len(vc.Entries) != 1 || vc.EventID != cb.EventID {
		t.Fatalf("%+v %v", vc, err)
	}
	md5 := sandbox.SignCallback(sandbox.PaymentFields(sc.Payments[0]), sandbox.APIKey, qqpay.SignMD5)
	req.Body = md5.Body
	if _, err := c.VerifyCallback(req); err == nil {
		t.Fatal("an HMAC account accepted an MD5 notification without sign_type")
	}
}
