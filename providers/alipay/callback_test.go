package alipay_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// The official notification example (fact file B8; the fields of gopay's
// TestVerifySignWithCert): the sign string is every parameter but sign and
// sign_type, sorted, k=v joined with &, decoded values.
func TestSignContent_OfficialExample(t *testing.T) {
	v := url.Values{}
	for _, kv := range [][2]string{
		{"sign", "xxx"}, {"sign_type", "RSA2"}, {"total_amount", "2.00"}, {"buyer_id", "2088102116773037"}, {"body", "大乐透2.1"},
		{"trade_no", "2016071921001003030200089909"}, {"refund_fee", "0.00"}, {"notify_time", "2016-07-19 14:10:49"}, {"subject", "大乐透2.1"},
		{"charset", "utf-8"}, {"notify_type", "trade_status_sync"}, {"out_trade_no", "0719141034-6418"}, {"gmt_close", "2016-07-19 14:10:46"},
		{"gmt_payment", "2016-07-19 14:10:47"}, {"trade_status", "TRADE_SUCCESS"}, {"version", "1.0"}, {"gmt_create", "2016-07-19 14:10:44"},
		{"app_id", "2015102700040153"}, {"seller_id", "2088102119685838"}, {"notify_id", "4a91b7a78a503640467525113fb7d8bg8e"},
	} {
		v.Set(kv[0], kv[1])
	}
	got := alipay.SignContent(v, "sign_type")
	if !strings.HasPrefix(got, "app_id=2015102700040153&body=大乐透2.1&buyer_id=2088102116773037&charset=utf-8&gmt_close=2016-07-19 14:10:46&") ||
		!strings.HasSuffix(got, "&trade_status=TRADE_SUCCESS&version=1.0") || strings.Contains(got, "sign") {
		t.Fatalf("sign string %q", got)
	}
	// The example's signature is fake (gopay says it cannot verify): it must be rejected.
	pub := testKey(t).alipay
	if _, err := alipay.VerifyNotification(&pub.PublicKey, []byte(v.Encode())); !errors.Is(err, payrecon.ErrSignatureInvalid) {
		t.Fatalf("fake signature: %v", err)
	}
}

type keys struct{ merchant, alipay *rsa.PrivateKey }

var (
	keyOnce sync.Once
	keyPair keys
)

func testKey(t *testing.T) keys {
	t.Helper()
	keyOnce.Do(func() {
		keyPair.merchant, _ = rsa.GenerateKey(rand.Reader, 2048)
		keyPair.alipay, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	return keyPair
}

func testClient(t *testing.T) *alipay.Client {
	t.Helper()
	k := testKey(t)
	priv, _ := sign.MarshalRSAPrivateKeyPEM(k.merchant)
	pub, _ := sign.MarshalRSAPublicKeyPEM(&k.alipay.PublicKey)
	// Nothing listens on port 1: a refund notification's amount query fails
	// at once (the refund amounts are tested against the sandbox).
	c, err := alipay.New(alipay.Config{AppID: "2021000000000001", SellerID: "2088000000000001", PrivateKey: payrecon.NewSecret(string(priv)), AlipayPublicKey: payrecon.NewSecret(string(pub)),
		BaseURL: "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// notify renders a notification signed by key over a sign string built here
// independently of the package (sorted keys, k=v, &).
func notify(t *testing.T, key *rsa.PrivateKey, fields map[string]string) []byte {
	t.Helper()
	content := sign.SortJoinFields(fields)
	sig, err := sign.SignSHA256RSA(key, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for k, s := range fields {
		v.Set(k, s)
	}
	v.Set("sign", sig)
	v.Set("sign_type", "RSA2")
	return []byte(v.Encode())
}

func paymentFields() map[string]string {
	return map[string]string{
		"notify_time": "2026-11-02 13:14:21", "notify_type": "trade_status_sync", "notify_id": "2026110200222131421001550000000001",
		"app_id": "2021000000000001", "charset": "utf-8", "version": "1.0", "trade_no": "2026110222001400000000000001",
		"out_trade_no": "O1", "buyer_id": "2088102100000001", "seller_id": "2088000000000001", "trade_status": "TRADE_SUCCESS",
		"total_amount": "1234.56", "receipt_amount": "1224.56", "buyer_pay_amount": "1224.56", "gmt_create": "2026-11-02 13:14:15",
		"gmt_payment": "2026-11-02 13:14:20", "subject": "测试 & 商品", "fund_bill_list": `[{"amount":"1224.56","fundChannel":"ALIPAYACCOUNT"}]`,
	}
}

func TestVerifyCallback(t *testing.T) {
	c, k := testClient(t), testKey(t)
	at := time.Date(2026, 11, 2, 23, 0, 0, 0, payrecon.Shanghai)
	req := func(body []byte) payrecon.CallbackRequest {
		return payrecon.CallbackRequest{Account: "ali", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: body, ReceivedAt: at}
	}
	got, err := c.VerifyCallback(req(notify(t, k.alipay, paymentFields())))
	if err != nil {
		t.Fatal(err)
	}
	e := got.Entries[0]
	if got.EventID != "2026110200222131421001550000000001" || got.Type != "trade_status_sync" || len(got.Entries) != 1 ||
		e.EventKey != "payment:2026110222001400000000000001:success" || e.Amount != 123456 || e.PayerAmount != 122456 || e.PromotionAmount != 1000 ||
		e.MerchantOrderNo != "O1" || !e.OccurredAt.Equal(sh("2026-11-02 13:14:20")) || e.Account != "ali" || !e.ReceivedAt.Equal(at) {
		t.Fatalf("%+v %+v", got, e)
	}
	if r := c.Reply(nil); r.Status != 200 || string(r.Body) != "success" {
		t.Fatalf("reply %+v", r)
	}

	refund := paymentFields()
	refund["notify_id"], refund["out_biz_no"], refund["refund_fee"], refund["gmt_refund"] = "n2", "R1", "34.56", "2026-11-02 17:00:00.123"
	// refund_fee is the trade's cumulative refund: without the refund query's
	// own amount nothing is booked, and Alipay is asked to retry.
	got, err = c.VerifyCallback(req(notify(t, k.alipay, refund)))
	if !errors.Is(err, payrecon.ErrTransient) || len(got.Entries) != 0 {
		t.Fatalf("refund without its amount query: %+v %v", got, err)
	}
	if r := c.Reply(err); r.Status != http.StatusInternalServerError || string(r.Body) != "failure" {
		t.Fatalf("reply %+v", r)
	}
	wait := paymentFields()
	wait["trade_status"] = "WAIT_BUYER_PAY"
	if got, err := c.VerifyCallback(req(notify(t, k.alipay, wait))); err != nil || len(got.Entries) != 0 {
		t.Fatalf("wait buyer pay %+v %v", got, err)
	}
	sign := map[string]string{"notify_type": "dut_user_sign", "notify_id": "n3", "notify_time": "2026-11-02 08:00:01", "app_id": "2021000000000001",
		"agreement_no": "20265102000000000001", "external_agreement_no": "C1", "status": "NORMAL", "sign_time": "2026-11-02 08:00:00"}
	got, err = c.VerifyCallback(req(notify(t, k.alipay, sign)))
	if err != nil || got.Entries[0].EventKey != "agreement:20265102000000000001:signed" || got.Entries[0].MerchantAgreeNo != "C1" {
		t.Fatalf("sign %+v %v", got, err)
	}

	// The field set of a real dut_user_unsign notification (published in a
	// public repository, its signature not verifiable here): re-signed with
	// the test key, it books the unsign at unsign_time.
	unsign := map[string]string{"charset": "UTF-8", "notify_time": "2021-04-25 13:21:38", "unsign_time": "2021-04-25 13:21:38", "alipay_user_id": "2088112811111403",
		"external_agreement_no": "SN202104251121441327164428238554", "version": "1.0", "notify_id": "2021042500222132138017361420359661", "notify_type": "dut_user_unsign",
		"agreement_no": "20215225715271617440", "auth_app_id": "2021000000000001", "personal_product_code": "GENERAL_WITHHOLDING_P", "app_id": "2021000000000001",
		"alipay_logon_id": "156******06", "status": "UNSIGN", "sign_scene": "INDUSTRY|GAME_CHARGE"}
	got, err = c.VerifyCallback(req(notify(t, k.alipay, unsign)))
	if err != nil || got.Type != "dut_user_unsign" || got.Entries[0].EventKey != "agreement:20215225715271617440:unsigned" || got.Entries[0].Status != payrecon.StatusUnsigned ||
		got.Entries[0].MerchantAgreeNo != "SN202104251121441327164428238554" || !got.Entries[0].OccurredAt.Equal(sh("2021-04-25 13:21:38")) {
		t.Fatalf("unsign %+v %v", got, err)
	}

	for name, tc := range map[string]struct {
		body []byte
		want error
		say  string
	}{
		"WrongKey":    {notify(t, k.merchant, paymentFields()), payrecon.ErrSignatureInvalid, "does not verify"},
		"Tampered":    {[]byte(strings.Replace(string(notify(t, k.alipay, paymentFields())), "total_amount=1234.56", "total_amount=1234.57", 1)), payrecon.ErrSignatureInvalid, "does not verify"},
		"FieldAdded":  {append(notify(t, k.alipay, paymentFields()), "&refund_fee=1.00"...), payrecon.ErrSignatureInvalid, "does not verify"},
		"Unsigned":    {[]byte("notify_id=1&trade_no=2"), payrecon.ErrSignatureInvalid, "no sign"},
		"Empty":       {nil, payrecon.ErrSignatureInvalid, "empty"},
		"Duplicate":   {append(notify(t, k.alipay, paymentFields()), "&trade_no=1"...), payrecon.ErrSignatureInvalid, "repeated_param: trade_no"},
		"OtherSeller": {notify(t, k.alipay, with(paymentFields(), "seller_id", "2088999999999999")), alipay.ErrCallbackFormat, "seller_id 2088999999999999"},
		"OtherApp":    {notify(t, k.alipay, with(paymentFields(), "app_id", "2021999999999999")), alipay.ErrCallbackFormat, "app_id 2021999999999999"},
		"FloatAmount": {notify(t, k.alipay, with(paymentFields(), "total_amount", "1234.567")), alipay.ErrCallbackFormat, "total_amount"},
		"NoPayTime":   {notify(t, k.alipay, with(paymentFields(), "gmt_payment", "")), alipay.ErrCallbackFormat, "gmt_payment"},
		"SignTypeSM2": {[]byte(strings.Replace(string(notify(t, k.alipay, paymentFields())), "sign_type=RSA2", "sign_type=SM2", 1)), payrecon.ErrSignatureInvalid, "sign_type"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.VerifyCallback(req(tc.body))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.say)
			}
			if r := c.Reply(err); r.Status != http.StatusBadRequest || string(r.Body) == "success" {
				t.Fatalf("reply %+v", r)
			}
		})
	}
}

func with(m map[string]string, k, v string) map[string]string {
	m[k] = v
	if v == "" {
		delete(m, k)
	}
	return m
}
