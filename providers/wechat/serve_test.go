package wechat_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestServeCallbacks fires the sandbox's notifications at the real intake
// handler over HTTP, backed by a real store (SQLite, and MySQL when
// PAYRECON_TEST_MYSQL_DSN is set).
func TestServeCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sc := billScenario()
		sb, c := MustSandbox(t, sc)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), wechat.Name, "wx", c, fixedNow)
		fire := func(cb scenario.Callback) (int, []byte) { t.Helper(); return in.Fire(t, "wx", cb) }
		ctx := context.Background()

		// Valid payment and refund notifications land once each, also when retried.
		pay, err := sb.PaymentCallback(sc.Payments[0])
		if err != nil {
			t.Fatal(err)
		}
		ref, err := sb.RefundCallback(sc.Refunds[0])
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			for _, cb := range []scenario.Callback{pay, ref} {
				if status, body := fire(cb); status != http.StatusNoContent || len(body) != 0 {
					t.Fatalf("attempt %d: %d %s", i+1, status, body)
				}
			}
		}
		// A re-rendered payment notification (new nonce, same id and event) is a duplicate too.
		again, _ := sb.PaymentCallback(sc.Payments[0])
		if status, _ := fire(again); status != http.StatusNoContent {
			t.Fatalf("re-rendered: %d", status)
		}
		for key, want := range map[string]payrecon.Kind{"payment:4200000001:success": payrecon.KindPayment, "refund:5030000001:success": payrecon.KindRefund} {
			e, err := db.LedgerEntryByKey(ctx, "wx", key)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if e.Kind != want || e.Provider != "wechat" || e.ProviderTxnNo != "4200000001" || e.MerchantOrderNo != "O1" || e.CallbackID == 0 {
				t.Fatalf("%s: %+v", key, e)
			}
		}
		var entries int
		if err := db.LedgerEntries(ctx, "wx", testDay.Start(), testDay.End(), func(payrecon.LedgerEntry) error { entries++; return nil }); err != nil {
			t.Fatal(err)
		}
		if entries != 2 {
			t.Fatalf("%d ledger entries, want 2", entries)
		}

		// Each forgery is answered 400 {"code":"FAIL"} and stored as rejected with its reason.
		p2 := sc.Payments[1]
		good, _ := sb.PaymentCallback(p2)
		resign := func(body []byte) scenario.Callback {
			h := sb.SignHeaders(body, fixedNow())
			h.Set("Content-Type", "application/json")
			return scenario.Callback{Header: h, Body: body}
		}
		var n wechat.Notification
		if err := json.Unmarshal(good.Body, &n); err != nil {
			t.Fatal(err)
		}
		ct, _ := base64.StdEncoding.DecodeString(n.Resource.Ciphertext)
		ct[0] ^= 1
		n.Resource.Ciphertext = base64.StdEncoding.EncodeToString(ct)
		tamperedCT, _ := json.Marshal(n)

		cases := []struct {
			name   string
			cb     scenario.Callback
			reason string
		}{
			{"WrongSignature", withHeader(good, "Wechatpay-Signature", forgedSignature(t, good)), "Wechatpay-Signature does not verify"},
			{"WrongSerial", withHeader(good, "Wechatpay-Serial", "5157F09EFDC096DE15EBE81A47057A7200000000"), "unknown Wechatpay-Serial"},
			{"StaleTimestamp", must(sb.PaymentCallbackWith(p2, sandbox.NotifyOptions{At: fixedNow().Add(-10 * time.Minute), ID: "stale-1"})), "off the time of receipt"},
			{"TamperedBody", scenario.Callback{Header: good.Header, Body: bytes.Replace(good.Body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付成功 "`), 1)}, "Wechatpay-Signature does not verify"},
			{"TamperedCiphertextResigned", resign(tamperedCT), "does not decrypt"},
			{"WrongAPIv3Key", must(sb.PaymentCallbackWith(p2, sandbox.NotifyOptions{APIv3Key: []byte("ffffffffffffffffffffffffffffffff"), ID: "wrongkey-1"})), "does not decrypt"},
		}
		for _, tc := range cases {
			status, body := fire(tc.cb)
			if status != http.StatusBadRequest || !bytes.Contains(body, []byte(`"code":"FAIL"`)) {
				t.Fatalf("%s: %d %s", tc.name, status, body)
			}
		}
		var rejected []payrecon.RawCallback
		accepted := 0
		if err := db.Callbacks(ctx, "wx", func(cb payrecon.RawCallback) error {
			if cb.Accepted {
				accepted++
			} else {
				rejected = append(rejected, cb)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if accepted != 2 {
			t.Fatalf("%d accepted callbacks stored, want 2 (retries are not stored again)", accepted)
		}
		if len(rejected) != len(cases) {
			t.Fatalf("%d rejected callbacks stored, want %d", len(rejected), len(cases))
		}
		for i, tc := range cases {
			if !strings.Contains(rejected[i].Reason, tc.reason) || !bytes.Equal(rejected[i].Body, tc.cb.Body) {
				t.Errorf("%s: stored reason %q, want it to say %q", tc.name, rejected[i].Reason, tc.reason)
			}
			if strings.Contains(rejected[i].Reason, string(sb.APIv3Key())) {
				t.Errorf("%s: reason reveals the APIv3 key", tc.name)
			}
		}
		// None of the forgeries reached the ledger.
		if _, err := db.LedgerEntryByKey(ctx, "wx", "payment:4200000002:success"); err == nil {
			t.Fatal("a rejected notification landed in the ledger")
		}
		// The genuine one still lands afterwards.
		if status, _ := fire(good); status != http.StatusNoContent {
			t.Fatalf("genuine after forgeries: %d", status)
		}
		if _, err := db.LedgerEntryByKey(ctx, "wx", "payment:4200000002:success"); err != nil {
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

func withHeader(cb scenario.Callback, k, v string) scenario.Callback {
	h := cb.Header.Clone()
	h.Set(k, v)
	return scenario.Callback{Header: h, Body: cb.Body, EventID: cb.EventID}
}

// forgedSignature is a well-formed signature that belongs to another
// message (the platform key's signature over a different body).
func forgedSignature(t *testing.T, cb scenario.Callback) string {
	t.Helper()
	sb := sandbox.New(nil, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	return sb.SignHeaders(append([]byte("x"), cb.Body...), fixedNow()).Get("Wechatpay-Signature")
}

// TestImportCallbacks imports captured notifications through intake's
// Import: one captured a day ago verifies against its recorded receipt
// time; the same without received_at is stale and rejected.
func TestImportCallbacks(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	sc := billScenario()
	sb, c := MustSandbox(t, sc)
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{"wx": {Provider: wechat.Name, Verifier: c}},
		Store:    db, Logger: storetest.Logger(t), Now: fixedNow,
	})
	dayAgo := fixedNow().Add(-24 * time.Hour)
	old, err := sb.PaymentCallbackWith(sc.Payments[0], sandbox.NotifyOptions{At: dayAgo})
	if err != nil {
		t.Fatal(err)
	}
	line := func(cb scenario.Callback, receivedAt string) string {
		b, _ := json.Marshal(map[string]any{"headers": cb.Header, "body": string(cb.Body), "received_at": receivedAt})
		return string(b) + "\n"
	}
	in := line(old, dayAgo.Add(3*time.Second).Format(time.RFC3339)) + line(old, "")
	res, err := h.Import(context.Background(), "wx", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Rejected != 1 || !strings.Contains(strings.Join(res.Rejection, ";"), "off the time of receipt") {
		t.Fatalf("import %+v", res)
	}
	e, err := db.LedgerEntryByKey(context.Background(), "wx", "payment:4200000001:success")
	if err != nil || e.Amount != 12345 {
		t.Fatalf("%+v %v", e, err)
	}
}
