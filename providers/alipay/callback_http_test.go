package alipay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// smallScenario: two paid trades, a partial refund of the first, one
// signed agreement.
func smallScenario() *scenario.Scenario {
	at := func(h, m int) time.Time {
		return testDay.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	return &scenario.Scenario{
		Payments: []scenario.Payment{
			{MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001", Status: payrecon.StatusSuccess, Amount: 12345, PayerAmount: 12000, PromotionAmount: 345, Fee: 74, CreatedAt: at(9, 0), PaidAt: at(9, 1), Product: "商品 A", Payload: "p1"},
			{MerchantOrderNo: "O2", ProviderTxnNo: "2026110222001400000000000002", Status: payrecon.StatusSuccess, Amount: 100, PayerAmount: 100, CreatedAt: at(10, 0), PaidAt: at(10, 1), Product: "商品 B"},
		},
		Refunds: []scenario.Refund{
			{MerchantRefundNo: "R1", MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001", Status: payrecon.StatusSuccess, Amount: 2345, PayerAmount: 2345, Fee: -14, CreatedAt: at(12, 0), FinishedAt: at(12, 1)},
		},
		Agreements: []scenario.Agreement{{AgreementNo: "20265102000000000001", MerchantAgreeNo: "C1", Status: payrecon.StatusSigned, SignedAt: at(8, 0)}},
	}
}

// resign re-signs a notification body's fields (sign/sign_type removed,
// mut applied) with key.
func resign(t *testing.T, body []byte, key func() []byte, mut func(url.Values)) []byte {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	v.Del("sign")
	v.Del("sign_type")
	if mut != nil {
		mut(v)
	}
	k, err := sign.ParseRSAPrivateKey(key())
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.SignSHA256RSA(k, []byte(alipay.SignContent(v)))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", s)
	v.Set("sign_type", "RSA2")
	return []byte(v.Encode())
}

// TestServeCallbacks fires the sandbox's notifications at the real intake
// handler over HTTP, backed by a real store (SQLite, and MySQL when
// PAYRECON_TEST_MYSQL_DSN is set).
func TestServeCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sc := smallScenario()
		sb, c := MustSandbox(t, sc)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), alipay.Name, "ali", c, fixedNow)
		fire := func(cb scenario.Callback) (int, []byte) { t.Helper(); return in.Fire(t, "ali", cb) }
		ctx := context.Background()
		pay := must(sb.PaymentCallback(sc.Payments[0]))
		ref := must(sb.RefundCallback(sc.Refunds[0]))
		agr := must(sb.AgreementCallback(sc.Agreements[0]))
		for i := 0; i < 3; i++ { // Alipay retries until it reads exactly "success"
			for _, cb := range []scenario.Callback{pay, ref, agr} {
				if status, body := fire(cb); status != http.StatusOK || string(body) != "success" {
					t.Fatalf("attempt %d: %d %q", i+1, status, body)
				}
			}
		}
		for key, want := range map[string]int64{
			"payment:2026110222001400000000000001:success":   12345,
			"refund:2026110222001400000000000001/R1:success": 2345, // refunds are named by trade_no/out_request_no
			"agreement:20265102000000000001:signed":          0,
		} {
			e, err := db.LedgerEntryByKey(ctx, "ali", key)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if e.Amount != want || e.Provider != alipay.Name || e.CallbackID == 0 {
				t.Fatalf("%s: %+v", key, e)
			}
		}
		var entries int
		if err := db.LedgerEntries(ctx, "ali", testDay.Start(), testDay.End(), func(payrecon.LedgerEntry) error { entries++; return nil }); err != nil {
			t.Fatal(err)
		}
		if entries != 3 {
			t.Fatalf("%d ledger entries, want 3", entries)
		}

		good := must(sb.PaymentCallback(sc.Payments[1]))
		otherKey := func() []byte { return []byte(MustSandboxKeyOther(t)) }
		hdr := good.Header
		cases := []struct {
			name   string
			cb     scenario.Callback
			reason string
		}{
			{"WrongKey", scenario.Callback{Header: hdr, Body: resign(t, good.Body, otherKey, nil)}, "does not verify"},
			{"TamperedAmount", scenario.Callback{Header: hdr, Body: bytes.Replace(good.Body, []byte("total_amount=1.00"), []byte("total_amount=100.00"), 1)}, "does not verify"},
			{"SignOfAnother", scenario.Callback{Header: hdr, Body: swapSign(t, good.Body, pay.Body)}, "does not verify"},
			{"Unsigned", scenario.Callback{Header: hdr, Body: []byte(strings.SplitN(string(good.Body), "&sign=", 2)[0])}, "no sign"},
		}
		for _, tc := range cases {
			if bytes.Equal(tc.cb.Body, good.Body) {
				t.Fatalf("%s: forgery equals the original", tc.name)
			}
			if status, body := fire(tc.cb); status != http.StatusBadRequest || string(body) == "success" {
				t.Fatalf("%s: %d %q", tc.name, status, body)
			}
		}
		var rejected []payrecon.RawCallback
		accepted := 0
		if err := db.Callbacks(ctx, "ali", func(cb payrecon.RawCallback) error {
			if cb.Accepted {
				accepted++
			} else {
				rejected = append(rejected, cb)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if accepted != 3 || len(rejected) != len(cases) {
			t.Fatalf("%d accepted (want 3), %d rejected (want %d)", accepted, len(rejected), len(cases))
		}
		for i, tc := range cases {
			if !strings.Contains(rejected[i].Reason, tc.reason) || !bytes.Equal(rejected[i].Body, tc.cb.Body) {
				t.Errorf("%s: stored reason %q, want it to say %q", tc.name, rejected[i].Reason, tc.reason)
			}
		}
		if _, err := db.LedgerEntryByKey(ctx, "ali", "payment:2026110222001400000000000002:success"); err == nil {
			t.Fatal("a rejected notification landed in the ledger")
		}
		if status, _ := fire(good); status != http.StatusOK {
			t.Fatalf("genuine after forgeries: %d", status)
		}
		if _, err := db.LedgerEntryByKey(ctx, "ali", "payment:2026110222001400000000000002:success"); err != nil {
			t.Fatal(err)
		}
	})
}

func must(cb scenario.Callback, err error) scenario.Callback {
	if err != nil {
		panic(err)
	}
	return cb
}

// swapSign puts the sign of other on body.
func swapSign(t *testing.T, body, other []byte) []byte {
	t.Helper()
	v, _ := url.ParseQuery(string(body))
	o, _ := url.ParseQuery(string(other))
	v.Set("sign", o.Get("sign"))
	return []byte(v.Encode())
}

// MustSandboxKeyOther is a PEM private key that is not the sandbox's Alipay key.
func MustSandboxKeyOther(t *testing.T) string {
	t.Helper()
	b, err := sign.MarshalRSAPrivateKeyPEM(testKey(t).alipay)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRefundOwnAmount: a refund notification states the trade's cumulative
// refund_fee; the verifier books the refund's own amount from the refund
// query, refuses (for a retry) a refund the query does not yet report as
// REFUND_SUCCESS or does not know, and refuses a query amount above the
// cumulative one.
func TestRefundOwnAmount(t *testing.T) {
	sc := smallScenario()
	first := sc.Refunds[0]
	second := first
	second.MerchantRefundNo, second.Amount, second.PayerAmount = "R2", 1000, 1000
	second.CreatedAt, second.FinishedAt = first.FinishedAt.Add(time.Hour), first.FinishedAt.Add(time.Hour+time.Minute)
	pending := second
	pending.MerchantRefundNo, pending.Status = "R3", payrecon.StatusPending
	sc.Refunds = append(sc.Refunds, second, pending)
	sb, c := MustSandbox(t, sc)
	verify := func(cb scenario.Callback) (payrecon.VerifiedCallback, error) {
		return c.VerifyCallback(payrecon.CallbackRequest{Account: "ali", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()})
	}
	cb2 := must(sb.RefundCallback(second))
	if v, _ := url.ParseQuery(string(cb2.Body)); v.Get("refund_fee") != payrecon.FormatYuan(first.Amount+second.Amount) {
		t.Fatalf("sandbox refund_fee %q is not cumulative", v.Get("refund_fee"))
	}
	for _, r := range []scenario.Refund{second, first} { // out of order
		got, err := verify(must(sb.RefundCallback(r)))
		if err != nil || len(got.Entries) != 1 || got.Entries[0].Amount != r.Amount || got.Entries[0].PayerAmount != r.Amount || got.Entries[0].MerchantRefundNo != r.MerchantRefundNo {
			t.Fatalf("refund %s: %+v %v, want amount %d", r.MerchantRefundNo, got, err, r.Amount)
		}
	}
	// A notification for a refund the query does not report as done: retry.
	succeeded := pending
	succeeded.Status = payrecon.StatusSuccess
	if _, err := verify(must(sb.RefundCallback(succeeded))); !errors.Is(err, payrecon.ErrTransient) || c.Reply(err).Status != http.StatusInternalServerError {
		t.Fatalf("pending refund: %v", err)
	}
	unknown := second
	unknown.MerchantRefundNo = "R-UNKNOWN"
	if _, err := verify(must(sb.RefundCallback(unknown))); !errors.Is(err, payrecon.ErrTransient) {
		t.Fatalf("unknown refund: %v", err)
	}
	// A refund_fee below the refund's own amount is not believable.
	key := func() []byte {
		pem, err := sign.MarshalRSAPrivateKeyPEM(sb.AlipayPrivateKey())
		if err != nil {
			t.Fatal(err)
		}
		return pem
	}
	forged := resign(t, cb2.Body, key, func(v url.Values) { v.Set("refund_fee", "0.01") })
	if _, err := verify(scenario.Callback{Header: cb2.Header, Body: forged}); !errors.Is(err, alipay.ErrCallbackFormat) {
		t.Fatalf("refund_fee below the refund: %v", err)
	}
}
