// Package sandbox is a fake Alipay open platform on loopback serving a
// scenario.Scenario in Alipay's real formats: gateway.do form requests
// verified with the merchant's application key (RSA2 over the sorted
// parameters), answers signed over the raw xxx_response text with the
// sandbox's "Alipay" key, trade / refund / agreement queries, refund
// (idempotent on out_request_no), close and unsign, bill download URLs
// serving zips with GBK file names and GBK 业务明细 / 账务明细 CSV (footer
// totals computed from the rows), and signed form-encoded notifications.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Fixed identifiers of the sandbox merchant.
const (
	AppID = "2021000122600001"
	PID   = "2088621000000001" // seller_id / 账号 prefix
)

// BillFault makes the next bills wrong on purpose, for tests.
type BillFault int

const (
	FaultNone          BillFault = iota
	FaultTotalMismatch           // #交易合计 states one fen more 商家实收 than the rows
	FaultNotZip                  // the download is not a zip
	FaultSummaryFile             // 业务明细(汇总).csv counts one trade more than the detail
	FaultNoBill                  // the download URL query answers isp.bill_not_exist (no bill for the day)
)

// Options configure a sandbox.
type Options struct {
	// Now is the sandbox clock (today's bill, refund times); default time.Now.
	Now func() time.Time
	// NotifyNow, when set, is the notify_time of rendered notifications.
	NotifyNow func() time.Time
	// UnsignedNotExist: alipay.user.agreement.query answers a terminated
	// agreement with USER_AGREEMENT_NOT_EXIST (as Alipay may, [I]) instead
	// of a record with status STOP.
	UnsignedNotExist bool
	// EmptyFields: notifications carry their empty optional fields
	// (passback_params=, refund_fee=0.00 on a payment …) and are signed as
	// the docs say, over every parameter but sign and sign_type, empty ones
	// included.
	EmptyFields bool
	// AlipayFunded: the scenario's promotions are Alipay's (支付宝优惠, not
	// 商家优惠): the buyer pays less, the merchant still receives the order
	// amount (商家实收, and the fund bill's income).
	AlipayFunded bool
}

// Sandbox is a running fake Alipay.
type Sandbox struct {
	srv       *httptest.Server
	sc        *scenario.Scenario
	now       func() time.Time
	notifyNow func() time.Time
	opts      Options

	scenario.TamperHook

	mu    sync.Mutex
	calls []string
	files map[string][]byte // fileId → zip
	fault BillFault
}

type keySet struct {
	merchant, alipay *rsa.PrivateKey
	merchantPEM      []byte
	alipayPubPEM     []byte
}

var (
	keysOnce sync.Once
	keys     *keySet
	keysErr  error
)

// loadKeys generates the key pairs once per process (slow).
func loadKeys() (*keySet, error) {
	keysOnce.Do(func() {
		ks := &keySet{}
		if ks.merchant, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if ks.alipay, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if ks.merchantPEM, keysErr = sign.MarshalRSAPrivateKeyPEM(ks.merchant); keysErr != nil {
			return
		}
		if ks.alipayPubPEM, keysErr = sign.MarshalRSAPublicKeyPEM(&ks.alipay.PublicKey); keysErr != nil {
			return
		}
		keys = ks
	})
	return keys, keysErr
}

// New starts a sandbox serving sc (nil: an empty scenario) on 127.0.0.1.
// It panics only when key generation fails.
func New(sc *scenario.Scenario, opts Options) *Sandbox {
	if _, err := loadKeys(); err != nil {
		panic(err)
	}
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{sc: sc, now: opts.Now, notifyNow: opts.NotifyNow, opts: opts, files: map[string][]byte{}}
	if s.notifyNow == nil {
		s.notifyNow = s.now
	}
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL implements scenario.Sandbox: the base URL (gateway at URL()+/gateway.do).
func (s *Sandbox) URL() string { return s.srv.URL }

// ProviderName implements scenario.Sandbox.
func (s *Sandbox) ProviderName() string { return alipay.Name }

// Scenario implements scenario.Sandbox.
func (s *Sandbox) Scenario() *scenario.Scenario { return s.sc }

// Close implements scenario.Sandbox.
func (s *Sandbox) Close() { s.srv.Close() }

// Calls implements scenario.Sandbox: "POST /gateway.do alipay.trade.query", "GET /dwbillcenter/…".
func (s *Sandbox) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// SetBillFault makes the following bills faulty.
func (s *Sandbox) SetBillFault(f BillFault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// MerchantConfig is a client configuration matching the sandbox.
func (s *Sandbox) MerchantConfig() alipay.Config {
	return alipay.Config{
		Account:         "sandbox",
		AppID:           AppID,
		SellerID:        PID,
		PrivateKey:      payrecon.NewSecret(string(keys.merchantPEM)),
		AlipayPublicKey: payrecon.NewSecret(string(keys.alipayPubPEM)),
		BaseURL:         s.srv.URL,
	}
}

// AlipayPrivateKey is the key the sandbox signs answers and notifications
// with (tests forge with other keys).
func (s *Sandbox) AlipayPrivateKey() *rsa.PrivateKey { return keys.alipay }

func (s *Sandbox) record(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+alipay.GatewayPath, s.gateway)
	mux.HandleFunc("GET /dwbillcenter/downloadBillFile.resource", s.downloadBill)
	return mux
}

// answer writes {"<method>_response":RAW,"sign":"…"} with RAW the JSON of
// v (no HTML escaping, as Alipay prints) signed as is.
func (s *Sandbox) answer(w http.ResponseWriter, method string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	raw := bytes.TrimRight(buf.Bytes(), "\n")
	sig, err := sign.SignSHA256RSA(keys.alipay, raw)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // what Alipay sends
	fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, alipay.ResponseKey(method), raw, sig)
}

// ok is a code-10000 answer with fields.
func ok(fields map[string]any) map[string]any {
	out := map[string]any{"code": "10000", "msg": "Success"}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// bizErr is a code-40004 (业务处理失败) answer.
func bizErr(sub, subMsg string) map[string]any {
	return map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": sub, "sub_msg": subMsg}
}

// unsigned writes an unsigned error_response (what Alipay does for a bad
// request signature or app_id).
func unsigned(w http.ResponseWriter, code, msg, sub, subMsg string) {
	b, _ := json.Marshal(map[string]any{"error_response": map[string]string{"code": code, "msg": msg, "sub_code": sub, "sub_msg": subMsg}})
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.Write(b)
}

func (s *Sandbox) gateway(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		unsigned(w, "40001", "Missing Required Arguments", "isv.missing-method", err.Error())
		return
	}
	p := url.Values{}
	for k, vs := range r.Form {
		p[k] = vs[:1]
	}
	method := p.Get("method")
	s.record("POST " + alipay.GatewayPath + " " + method)
	switch {
	case p.Get("app_id") != AppID:
		unsigned(w, "40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
		return
	case p.Get("sign_type") != alipay.SignTypeRSA2 || p.Get("charset") != "utf-8" || p.Get("format") != "JSON" || p.Get("version") != "1.0":
		unsigned(w, "40002", "Invalid Arguments", "isv.invalid-signature-type", "sign_type/charset/format/version")
		return
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", p.Get("timestamp"), payrecon.Shanghai); err != nil {
		unsigned(w, "40002", "Invalid Arguments", "isv.invalid-timestamp", "timestamp")
		return
	}
	if err := sign.VerifySHA256RSA(&keys.merchant.PublicKey, []byte(alipay.SignContent(p)), p.Get("sign")); err != nil {
		unsigned(w, "40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
		return
	}
	biz := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader([]byte(p.Get("biz_content"))))
	dec.UseNumber()
	if err := dec.Decode(&biz); err != nil {
		s.answer(w, method, map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-parameter", "sub_msg": "biz_content"})
		return
	}
	str := func(k string) string {
		v, _ := biz[k].(string)
		return v
	}
	var out map[string]any
	switch method {
	case alipay.MethodTradeQuery:
		out = s.tradeQuery(str("out_trade_no"), str("trade_no"))
	case alipay.MethodRefundQuery:
		out = s.refundQuery(str("out_trade_no"), str("trade_no"), str("out_request_no"))
	case alipay.MethodRefund:
		out = s.refund(str("out_trade_no"), str("trade_no"), str("out_request_no"), str("refund_amount"), str("refund_reason"))
	case alipay.MethodTradeClose:
		out = s.close(str("out_trade_no"), str("trade_no"))
	case alipay.MethodAgreementQuery:
		out = s.agreementQuery(str("agreement_no"), str("external_agreement_no"), str("personal_product_code"))
	case alipay.MethodAgreementUnsign:
		out = s.unsign(str("agreement_no"), str("external_agreement_no"), str("personal_product_code"))
	case alipay.MethodBillDownloadURL:
		out = s.billURL(str("bill_type"), str("bill_date"))
	default:
		out = map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"}
	}
	s.answer(w, method, out)
}

func gatewayTime(t time.Time) string { return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05") }

// refundedBefore sums the successful refunds of a payment finished at or
// before until (zero: all).
func (s *Sandbox) refundedBefore(p scenario.Payment, until time.Time) int64 {
	s.sc.RLock()
	defer s.sc.RUnlock()
	var n int64
	for _, r := range s.sc.Refunds {
		if r.Status != payrecon.StatusSuccess || !(r.ProviderTxnNo == p.ProviderTxnNo || (r.ProviderTxnNo == "" && r.MerchantOrderNo == p.MerchantOrderNo)) {
			continue
		}
		if until.IsZero() || !r.FinishedAt.After(until) {
			n += r.Amount
		}
	}
	return n
}

func tradeStatus(st payrecon.Status, fullyRefunded bool) string {
	switch st {
	case payrecon.StatusSuccess:
		if fullyRefunded {
			return "TRADE_CLOSED"
		}
		return "TRADE_SUCCESS"
	case payrecon.StatusNotPaid, payrecon.StatusPending:
		return "WAIT_BUYER_PAY"
	}
	return "TRADE_CLOSED" // closed, failed
}

func (s *Sandbox) tradeQuery(outTradeNo, tradeNo string) map[string]any {
	p, found := s.sc.FindPayment(outTradeNo, tradeNo)
	if !found {
		return bizErr("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	out := map[string]any{
		"out_trade_no": p.MerchantOrderNo, "trade_status": tradeStatus(p.Status, p.Status == payrecon.StatusSuccess && s.refundedBefore(p, time.Time{}) >= p.Amount),
		"total_amount": payrecon.FormatYuan(p.Amount), "buyer_logon_id": "159****5620",
	}
	if p.Status == payrecon.StatusSuccess || p.Status == payrecon.StatusClosed {
		out["trade_no"] = p.ProviderTxnNo // Alipay numbers a trade once the buyer scanned it
	}
	if p.Status == payrecon.StatusSuccess {
		out["buyer_pay_amount"] = payrecon.FormatYuan(p.PayerAmount)
		out["receipt_amount"] = payrecon.FormatYuan(p.Amount - p.PromotionAmount)
		out["send_pay_date"] = gatewayTime(p.PaidAt)
		out["buyer_user_id"] = "2088102177846880"
		out["fund_bill_list"] = []map[string]string{{"fund_channel": "ALIPAYACCOUNT", "amount": payrecon.FormatYuan(p.PayerAmount)}}
	} else {
		out["buyer_pay_amount"], out["receipt_amount"] = "0.00", "0.00"
	}
	return ok(out)
}

// findRefund finds out_request_no among the refunds of the payment.
func (s *Sandbox) findRefund(p scenario.Payment, outRequestNo string) (scenario.Refund, bool) {
	s.sc.RLock()
	defer s.sc.RUnlock()
	for _, r := range s.sc.Refunds {
		if r.MerchantRefundNo == outRequestNo && (r.ProviderTxnNo == p.ProviderTxnNo || (r.ProviderTxnNo == "" && r.MerchantOrderNo == p.MerchantOrderNo)) {
			return r, true
		}
	}
	return scenario.Refund{}, false
}

func (s *Sandbox) refundQuery(outTradeNo, tradeNo, outRequestNo string) map[string]any {
	p, found := s.sc.FindPayment(outTradeNo, tradeNo)
	if !found {
		return bizErr("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	if outRequestNo == "" {
		return bizErr("ACQ.INVALID_PARAMETER", "out_request_no 不能为空")
	}
	out := map[string]any{"trade_no": p.ProviderTxnNo, "out_trade_no": p.MerchantOrderNo}
	r, found := s.findRefund(p, outRequestNo)
	if !found {
		return ok(out) // Alipay answers 10000 without the refund's fields
	}
	out["out_request_no"] = r.MerchantRefundNo
	out["total_amount"] = payrecon.FormatYuan(p.Amount)
	out["refund_amount"] = payrecon.FormatYuan(r.Amount)
	if r.Status == payrecon.StatusSuccess {
		out["refund_status"] = "REFUND_SUCCESS"
		out["gmt_refund_pay"] = gatewayTime(r.FinishedAt)
	}
	return ok(out)
}

func (s *Sandbox) refund(outTradeNo, tradeNo, outRequestNo, amount, reason string) map[string]any {
	p, found := s.sc.FindPayment(outTradeNo, tradeNo)
	if !found {
		return bizErr("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	if outRequestNo == "" {
		outRequestNo = p.MerchantOrderNo
	}
	fen, err := payrecon.ParseYuan(amount)
	if err != nil || fen <= 0 {
		return bizErr("ACQ.INVALID_PARAMETER", "refund_amount")
	}
	base := map[string]any{"trade_no": p.ProviderTxnNo, "out_trade_no": p.MerchantOrderNo, "buyer_logon_id": "159****5620"}
	if old, found := s.findRefund(p, outRequestNo); found {
		if old.Amount != fen {
			return bizErr("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致")
		}
		base["fund_change"] = "N"
		base["refund_fee"] = payrecon.FormatYuan(s.refundedBefore(p, time.Time{}))
		return ok(base)
	}
	if p.Status != payrecon.StatusSuccess {
		return bizErr("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	if s.refundedBefore(p, time.Time{})+fen > p.Amount {
		return bizErr("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	now := s.now()
	r, _ := s.sc.AddRefund(scenario.Refund{
		MerchantRefundNo: outRequestNo, MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
		Status: payrecon.StatusSuccess, Amount: fen, PayerAmount: fen, CreatedAt: now, FinishedAt: now, Reason: reason,
	})
	base["fund_change"] = "Y"
	base["refund_fee"] = payrecon.FormatYuan(s.refundedBefore(p, time.Time{}))
	base["gmt_refund_pay"] = gatewayTime(r.FinishedAt)
	return ok(base)
}

func (s *Sandbox) close(outTradeNo, tradeNo string) map[string]any {
	p, found := s.sc.FindPayment(outTradeNo, tradeNo)
	if !found {
		return bizErr("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	if p.Status != payrecon.StatusNotPaid && p.Status != payrecon.StatusPending {
		return bizErr("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	s.sc.SetPaymentStatus(p.MerchantOrderNo, p.ProviderTxnNo, payrecon.StatusClosed)
	return ok(map[string]any{"trade_no": p.ProviderTxnNo, "out_trade_no": p.MerchantOrderNo})
}

func (s *Sandbox) agreementQuery(no, extNo, product string) map[string]any {
	if product == "" {
		return bizErr("INVALID_PARAMETER", "personal_product_code 不能为空")
	}
	a, found := s.sc.FindAgreement(no, extNo)
	if !found || (a.Status != payrecon.StatusSigned && s.opts.UnsignedNotExist) {
		return bizErr("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	}
	out := map[string]any{
		"agreement_no": a.AgreementNo, "external_agreement_no": a.MerchantAgreeNo, "personal_product_code": product,
		"sign_scene": "INDUSTRY|DEFAULT_SCENE", "sign_time": gatewayTime(a.SignedAt), "valid_time": gatewayTime(a.SignedAt),
		"invalid_time": "2115-02-01 00:00:00", "principal_id": "2088101122675263", "status": "NORMAL",
	}
	if a.Status != payrecon.StatusSigned {
		out["status"] = "STOP"
		out["invalid_time"] = gatewayTime(a.TerminatedAt)
	}
	return ok(out)
}

func (s *Sandbox) unsign(no, extNo, product string) map[string]any {
	if product == "" {
		return bizErr("INVALID_PARAMETER", "personal_product_code 不能为空")
	}
	a, found := s.sc.FindAgreement(no, extNo)
	if !found || a.Status != payrecon.StatusSigned {
		return bizErr("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	}
	s.sc.SetAgreementStatus(a.AgreementNo, a.MerchantAgreeNo, payrecon.StatusUnsigned, s.now(), "MERCHANT_UNSIGN")
	return ok(nil)
}
