package huawei_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

const ackSuccess = `{"resultCode":"000000","resultDesc":"Success."}`

var cbDay = payrecon.MustDay("2026-11-12")

func at(d payrecon.Day, h, m int) time.Time {
	return d.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// cbFixture is a sandbox with two keys (rotated once), a client for the
// direct merchant and the intake handler over a real store.
type cbFixture struct {
	sb      *sandbox.Sandbox
	client  *huawei.Client
	db      *store.DB
	in      *providertest.Intake
	account string
}

func newCBFixture(t *testing.T, db *store.DB) *cbFixture {
	t.Helper()
	sb := mustSandbox(t, sandbox.Options{})
	if err := sb.RotateKey(); err != nil {
		t.Fatal(err)
	}
	f := &cbFixture{sb: sb, db: db, account: "hw-direct"}
	f.client = mustClient(t, sb, huawei.ModelDirect)
	f.in = providertest.ServeIntake(t, db, storetest.Logger(t), huawei.Name, f.account, f.client, nil)
	return f
}

func (f *cbFixture) fire(t *testing.T, account string, cb scenario.Callback) (int, string) {
	t.Helper()
	status, body := f.in.Fire(t, account, cb)
	return status, string(body)
}

func (f *cbFixture) stored(t *testing.T, account string) (accepted, rejected []payrecon.RawCallback) {
	t.Helper()
	err := f.db.Callbacks(context.Background(), account, func(cb payrecon.RawCallback) error {
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
	return accepted, rejected
}

func (f *cbFixture) ledger(t *testing.T) map[string]payrecon.LedgerEntry {
	t.Helper()
	out := map[string]payrecon.LedgerEntry{}
	err := f.db.LedgerEntries(context.Background(), f.account, cbDay.Add(-30).Start(), cbDay.Add(30).Start(), func(e payrecon.LedgerEntry) error {
		if _, dup := out[e.EventKey]; dup {
			t.Errorf("event key %s stored twice", e.EventKey)
		}
		out[e.EventKey] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fields decodes a rendered callback body (numbers kept literal).
func fields(t *testing.T, cb scenario.Callback) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(cb.Body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCallbacksThroughIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newCBFixture(t, db)
		pay := scenario.Payment{MerchantOrderNo: "CB-ORDER-1", ProviderTxnNo: "420020261112000001", Status: payrecon.StatusSuccess,
			Amount: 12345, PayerAmount: 12000, PromotionAmount: 345, PaidAt: at(cbDay, 10, 1), CreatedAt: at(cbDay, 10, 0)}
		ref := scenario.Refund{MerchantRefundNo: "CB-REFUND-1", ProviderRefundNo: "510020261112000001", MerchantOrderNo: pay.MerchantOrderNo,
			ProviderTxnNo: pay.ProviderTxnNo, Status: payrecon.StatusSuccess, Amount: 2345, PayerAmount: 2345, FinishedAt: at(cbDay, 11, 0)}
		signed := scenario.Agreement{AgreementNo: "700020261112000001", MerchantAgreeNo: "CB-C-1", PlanID: "P1", Status: payrecon.StatusSigned, SignedAt: at(cbDay, 9, 0)}
		unsigned := scenario.Agreement{AgreementNo: "700020261112000002", MerchantAgreeNo: "CB-C-2", PlanID: "P1", Status: payrecon.StatusUnsigned,
			SignedAt: at(cbDay.Add(-3), 9, 0), TerminatedAt: at(cbDay, 12, 0), ChangeMode: "USER_UNSIGN"}

		var valid []scenario.Callback
		for _, mk := range []func() (scenario.Callback, error){
			func() (scenario.Callback, error) { return f.sb.PaymentCallback(pay) },
			func() (scenario.Callback, error) { return f.sb.RefundCallback(ref) },
			func() (scenario.Callback, error) { return f.sb.AgreementCallback(signed) },
			func() (scenario.Callback, error) { return f.sb.AgreementCallback(unsigned) },
		} {
			cb, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			valid = append(valid, cb)
		}
		// a callback signed with the older key under its own certNo still verifies (rotation)
		certs := f.sb.CertNos()
		oldPay := pay
		oldPay.MerchantOrderNo, oldPay.ProviderTxnNo = "CB-ORDER-OLDKEY", "420020261112000009"
		cbNew, err := f.sb.PaymentCallback(oldPay)
		if err != nil {
			t.Fatal(err)
		}
		oldKey, err := f.sb.SignCallbackCert(certs[0], certs[0], fields(t, cbNew))
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, oldKey)

		for _, cb := range valid {
			// delivered, then re-sent twice more (Huawei retries): stored once
			acked, posts, err := f.sb.Deliver(context.Background(), f.in.Client(), f.in.URL(f.account), cb, 3, 2)
			if !acked || posts != 3 || err != nil {
				t.Fatalf("callback %s: acked %v after %d posts: %v", cb.EventID, acked, posts, err)
			}
			if status, body := f.fire(t, f.account, cb); status != http.StatusOK || body != ackSuccess {
				t.Fatalf("callback %s: %d %s", cb.EventID, status, body)
			}
		}
		got := f.ledger(t)
		want := map[string]func(e payrecon.LedgerEntry) bool{
			"payment:" + pay.ProviderTxnNo + ":success": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindPayment && e.Amount == 12345 && e.PayerAmount == 12000 && e.PromotionAmount == 345 &&
					e.MerchantOrderNo == pay.MerchantOrderNo && e.OccurredAt.Equal(pay.PaidAt)
			},
			"refund:" + ref.ProviderRefundNo + ":success": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindRefund && e.Amount == 2345 && e.MerchantRefundNo == ref.MerchantRefundNo &&
					e.MerchantOrderNo == "" && e.ProviderTxnNo == "" && e.OccurredAt.Equal(ref.FinishedAt)
			},
			"agreement:" + signed.AgreementNo + ":signed": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindAgreement && e.Status == payrecon.StatusSigned && e.MerchantAgreeNo == "CB-C-1" && e.OccurredAt.Equal(signed.SignedAt)
			},
			"agreement:" + unsigned.AgreementNo + ":unsigned": func(e payrecon.LedgerEntry) bool {
				return e.Kind == payrecon.KindAgreement && e.Status == payrecon.StatusUnsigned && e.OccurredAt.Equal(unsigned.TerminatedAt)
			},
			"payment:" + oldPay.ProviderTxnNo + ":success": func(e payrecon.LedgerEntry) bool { return e.Amount == 12345 },
		}
		if len(got) != len(want) {
			t.Errorf("ledger holds %d entries, want %d: %v", len(got), len(want), keysOf(got))
		}
		for k, ok := range want {
			e, found := got[k]
			if !found {
				t.Errorf("ledger lacks %s", k)
				continue
			}
			if !ok(e) {
				t.Errorf("ledger entry %s wrong: %+v", k, e)
			}
			if e.Account != f.account || e.Provider != huawei.Name || e.Source != "callback" {
				t.Errorf("entry %s: account %q provider %q source %q", k, e.Account, e.Provider, e.Source)
			}
		}
		accepted, rejected := f.stored(t, f.account)
		if len(accepted) != len(valid) || len(rejected) != 0 {
			t.Errorf("stored %d accepted, %d rejected; want %d and 0", len(accepted), len(rejected), len(valid))
		}

		// ---- rejections ----
		otherKey, err := sign.GenerateSM2Key()
		if err != nil {
			t.Fatal(err)
		}
		base := fields(t, valid[0])
		base["callbackId"] = "REJECT-BASE"
		forgedBody, err := sandbox.SignWith(otherKey, f.sb.CertNo(), base) // right certNo, wrong key
		if err != nil {
			t.Fatal(err)
		}
		tampered := fields(t, valid[0])
		tamperedBody := bytes.Replace(valid[0].Body, []byte(`"totalAmount":12345`), []byte(`"totalAmount":99345`), 1)
		if bytes.Equal(tamperedBody, valid[0].Body) {
			t.Fatalf("tamper found nothing to change in %s (fields %v)", valid[0].Body, tampered)
		}
		wrongCert, err := f.sb.SignCallbackCert(certs[0], certs[1], fields(t, valid[1])) // new key, old key's certNo
		if err != nil {
			t.Fatal(err)
		}
		unknownCert, err := f.sb.SignCallbackCert("999999999", certs[1], fields(t, valid[2]))
		if err != nil {
			t.Fatal(err)
		}
		enc := fields(t, valid[0])
		enc["dataType"], enc["callbackId"] = "encrypt", "ENC-1"
		encrypted, err := f.sb.SignCallback(enc)
		if err != nil {
			t.Fatal(err)
		}
		otherMerchant := fields(t, valid[0])
		otherMerchant["mercNo"], otherMerchant["callbackId"] = "109999999999", "OTHER-MERC"
		otherMerc, err := f.sb.SignCallback(otherMerchant)
		if err != nil {
			t.Fatal(err)
		}
		hdr := http.Header{"Content-Type": {"application/json"}}
		rejects := []struct {
			name   string
			cb     scenario.Callback
			status int
			reason string
		}{
			{"forged", scenario.Callback{Header: hdr, Body: forgedBody}, 400, "signature"},
			{"tampered", scenario.Callback{Header: hdr, Body: tamperedBody}, 400, "signature"},
			{"wrongCertNo", wrongCert, 400, "signature"},
			{"unknownCertNo", unknownCert, 400, "unknown certNo"},
			{"encrypted", encrypted, 400, "encrypted callbacks need a decryption key"},
			{"otherMerchant", otherMerc, 400, "is not this account's"},
			{"notJSON", scenario.Callback{Header: hdr, Body: []byte("mercOrderNo=1&sign=x")}, 400, "syntax: body"},
		}
		for _, r := range rejects {
			status, body := f.fire(t, f.account, r.cb)
			if status != r.status || strings.Contains(body, `"000000"`) {
				t.Errorf("%s: answered %d %s, want %d and a failure code", r.name, status, body, r.status)
			}
		}
		// unknown account: 404 and stored as rejected under the given name
		if status, _ := f.fire(t, "hw-nosuch", valid[0]); status != http.StatusNotFound {
			t.Errorf("unknown account: status %d, want 404", status)
		}
		_, rejected = f.stored(t, f.account)
		if len(rejected) != len(rejects) {
			t.Errorf("stored %d rejected callbacks, want %d", len(rejected), len(rejects))
		}
		for i, r := range rejects {
			if i < len(rejected) && !strings.Contains(rejected[i].Reason, r.reason) {
				t.Errorf("%s: stored reason %q, want it to mention %q", r.name, rejected[i].Reason, r.reason)
			}
		}
		_, unknownRejected := f.stored(t, "hw-nosuch")
		if len(unknownRejected) != 1 || !strings.Contains(unknownRejected[0].Reason, "unknown account") {
			t.Errorf("unknown account: stored %+v", unknownRejected)
		}
		if n := len(f.ledger(t)); n != len(want) {
			t.Errorf("rejections changed the ledger: %d entries, want %d", n, len(want))
		}
	})
}

func keysOf(m map[string]payrecon.LedgerEntry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A callback captured without its headers (a body from a log) imports: it
// is given the media type Huawei sends (the client's declared
// CallbackMediaType) and verified as always; a Content-Type captured with
// it is kept, so a wrong one is still refused.
func TestImportBodyWithoutHeaders(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	f := newCBFixture(t, db)
	pay := scenario.Payment{MerchantOrderNo: "IMP1", ProviderTxnNo: "420020261112000901", Status: payrecon.StatusSuccess,
		Amount: 1234, PayerAmount: 1234, CreatedAt: at(cbDay, 9, 0), PaidAt: at(cbDay, 9, 1)}
	cb, err := f.sb.PaymentCallback(pay)
	if err != nil {
		t.Fatal(err)
	}
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{f.account: {Provider: huawei.Name, Verifier: f.client}},
		Store:    db, Logger: storetest.Logger(t),
	})
	line := func(headers http.Header) string {
		b, _ := json.Marshal(map[string]any{"headers": headers, "body": string(cb.Body)})
		return string(b) + "\n"
	}
	res, err := h.Import(context.Background(), f.account, strings.NewReader(line(nil)+line(http.Header{"Content-Type": {"text/plain"}})))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Rejected != 1 || !strings.Contains(strings.Join(res.Rejection, ";"), "line 2") {
		t.Fatalf("import %+v: want the bare body accepted and the text/plain one refused", res)
	}
	if e, ok := f.ledger(t)[payrecon.EventKey(payrecon.KindPayment, pay.ProviderTxnNo, payrecon.StatusSuccess)]; !ok || e.Amount != 1234 {
		t.Fatalf("ledger %v", keysOf(f.ledger(t)))
	}
}

// Huawei keys configured without a cert_no verify callbacks whatever certNo
// they name (certNo is optional in the docs and in the configuration): the
// rotated key signs, and it is not the first configured.
func TestCallbackKeysWithoutCertNo(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	if err := sb.RotateKey(); err != nil {
		t.Fatal(err)
	}
	pay := scenario.Payment{MerchantOrderNo: "KEY1", ProviderTxnNo: "420020261112000777", Status: payrecon.StatusSuccess,
		Amount: 500, PayerAmount: 500, CreatedAt: at(cbDay, 9, 0), PaidAt: at(cbDay, 9, 1)}
	cb, err := sb.PaymentCallback(pay)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sb.MerchantConfig(huawei.ModelDirect)
	blank := cfg
	blank.HuaweiPublicKeys = nil
	for _, k := range cfg.HuaweiPublicKeys {
		k.CertNo = ""
		blank.HuaweiPublicKeys = append(blank.HuaweiPublicKeys, k)
	}
	for _, tc := range []struct {
		name string
		cfg  huawei.Config
		cb   scenario.Callback
	}{
		{"keys with cert_no", cfg, cb},
		{"keys without cert_no, callback naming one", blank, cb},
	} {
		c, err := huawei.New(tc.cfg, nil, huawei.WithAccount("hw-direct"))
		if err != nil {
			t.Fatal(err)
		}
		vc, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "hw-direct", Header: tc.cb.Header, Body: tc.cb.Body, ReceivedAt: at(cbDay, 9, 2)})
		if err != nil || len(vc.Entries) != 1 || vc.Entries[0].Amount != 500 {
			t.Errorf("%s: %+v %v", tc.name, vc, err)
		}
	}
}
