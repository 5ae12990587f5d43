package huawei_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func verify(t *testing.T, c *huawei.Client, cb scenario.Callback) (payrecon.VerifiedCallback, error) {
	t.Helper()
	return c.VerifyCallback(payrecon.CallbackRequest{Account: "hw-direct", Header: cb.Header, Body: cb.Body, ReceivedAt: at(cbDay, 23, 0)})
}

// The 签约结果回调通知 sample prints appId as a number: a signed callback
// with a numeric appId verifies; a fraction or a boolean is still refused.
func TestCallbackNumericAppID(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	c := mustClient(t, sb, huawei.ModelDirect)
	signed, err := sb.AgreementCallback(scenario.Agreement{AgreementNo: "700020261112000011", MerchantAgreeNo: "C-11", Status: payrecon.StatusSigned, SignedAt: at(cbDay, 9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	f := fields(t, signed)
	f["appId"] = json.Number("5765880207853123457")
	cb, err := sb.SignCallback(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cb.Body), `"appId":5765880207853123457`) {
		t.Fatalf("appId not rendered as a number: %s", cb.Body)
	}
	vc, err := verify(t, c, cb)
	if err != nil || len(vc.Entries) != 1 || vc.Entries[0].AgreementNo != "700020261112000011" {
		t.Fatalf("numeric appId: %+v, %v", vc, err)
	}
	for _, v := range []any{json.Number("1.5"), true} {
		f["appId"] = v
		bad, err := sb.SignCallback(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify(t, c, bad); err == nil || !strings.Contains(err.Error(), "appId") {
			t.Errorf("appId %v: %v", v, err)
		}
	}
}

// A withhold payment callback that names its contract is a payment: the
// payment shape (orderStatus) is checked before contractId.
func TestCallbackPaymentWithContractID(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	c := mustClient(t, sb, huawei.ModelDirect)
	pay := scenario.Payment{MerchantOrderNo: "WH-1", ProviderTxnNo: "420020261112000021", Status: payrecon.StatusSuccess,
		Amount: 990, PayerAmount: 990, PaidAt: at(cbDay, 8, 0)}
	plain, err := sb.PaymentCallback(pay)
	if err != nil {
		t.Fatal(err)
	}
	f := fields(t, plain)
	f["contractId"] = "700020261112000021"
	cb, err := sb.SignCallback(f)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := verify(t, c, cb)
	if err != nil {
		t.Fatal(err)
	}
	if vc.Type != huawei.CallbackPayment || len(vc.Entries) != 1 {
		t.Fatalf("withhold payment with contractId: type %q, %+v", vc.Type, vc.Entries)
	}
	e := vc.Entries[0]
	if e.Kind != payrecon.KindPayment || e.EventKey != payrecon.EventKey(payrecon.KindPayment, pay.ProviderTxnNo, payrecon.StatusSuccess) ||
		e.Amount != 990 || e.MerchantOrderNo != "WH-1" || e.Status != payrecon.StatusSuccess {
		t.Errorf("entry %+v", e)
	}
}

// Sign and unsign callbacks as the official samples print them, without
// changeMode: nothing else tells them apart, so each is kept under a key
// of its own (its callbackId) and neither is folded into the other; a
// retry is still stored once. With changeMode, the mode decides.
func TestCallbackWithoutChangeMode(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	sb := mustSandbox(t, sandbox.Options{OmitChangeMode: true})
	c := mustClient(t, sb, huawei.ModelDirect)
	in := providertest.ServeIntake(t, db, storetest.Logger(t), huawei.Name, "hw-direct", c, nil)
	ag := scenario.Agreement{AgreementNo: "700020261112000031", MerchantAgreeNo: "C-31", PlanID: "P1", Status: payrecon.StatusSigned, SignedAt: at(cbDay, 9, 0)}
	sign, err := sb.AgreementCallback(ag)
	if err != nil {
		t.Fatal(err)
	}
	ag.Status, ag.TerminatedAt = payrecon.StatusUnsigned, at(cbDay, 15, 0)
	unsign, err := sb.AgreementCallback(ag)
	if err != nil {
		t.Fatal(err)
	}
	for _, cb := range []scenario.Callback{sign, unsign} {
		if strings.Contains(string(cb.Body), "changeMode") {
			t.Fatalf("sandbox rendered changeMode: %s", cb.Body)
		}
		vc, err := verify(t, c, cb)
		if err != nil || vc.Type != huawei.CallbackContract || len(vc.Entries) != 1 {
			t.Fatalf("callback %s: %+v, %v", cb.EventID, vc, err)
		}
		for i := 0; i < 2; i++ { // delivered, then retried
			if status, body := in.Fire(t, "hw-direct", cb); status != http.StatusOK || string(body) != ackSuccess {
				t.Fatalf("callback %s: %d %s", cb.EventID, status, body)
			}
		}
	}
	var got []payrecon.LedgerEntry
	if err := db.LedgerEntries(t.Context(), "hw-direct", cbDay.Start(), cbDay.End(), func(e payrecon.LedgerEntry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventKey == got[1].EventKey {
		t.Fatalf("ledger %+v: want the sign and the unsign under two keys", got)
	}
	for i, cb := range []scenario.Callback{sign, unsign} {
		e := got[i]
		if e.Kind != payrecon.KindAgreement || e.AgreementNo != ag.AgreementNo || !strings.HasSuffix(e.EventKey, cb.EventID) ||
			!strings.HasPrefix(e.EventKey, "agreement:"+ag.AgreementNo+":") {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if !got[1].OccurredAt.Equal(at(cbDay, 15, 0)) {
		t.Errorf("unsign entry at %s", got[1].OccurredAt)
	}

	// with changeMode (USER_SIGN / *_UNSIGN) the mode decides, keys as ever
	sbm := mustSandbox(t, sandbox.Options{})
	cm := mustClient(t, sbm, huawei.ModelDirect)
	for _, tc := range []struct {
		mode string
		st   payrecon.Status
		typ  string
	}{{"USER_UNSIGN", payrecon.StatusUnsigned, huawei.CallbackUnsign}, {"MERC_API_UNSIGN", payrecon.StatusUnsigned, huawei.CallbackUnsign},
		{"PLATFORM_UNSIGN", payrecon.StatusUnsigned, huawei.CallbackUnsign}, {"USER_SIGN", payrecon.StatusSigned, huawei.CallbackSign}} {
		f := fields(t, unsign)
		f["changeMode"] = tc.mode
		cb, err := sbm.SignCallback(f)
		if err != nil {
			t.Fatal(err)
		}
		vc, err := verify(t, cm, cb)
		if err != nil || vc.Type != tc.typ || len(vc.Entries) != 1 || vc.Entries[0].Status != tc.st ||
			vc.Entries[0].EventKey != payrecon.EventKey(payrecon.KindAgreement, ag.AgreementNo, tc.st) {
			t.Errorf("changeMode %s: %+v, %v", tc.mode, vc, err)
		}
	}
}
