// Package sandbox is a fake of QQ Wallet's merchant API on loopback: the
// real paths and XML shapes, request signatures (MD5 or HMAC-SHA256 with the
// sandbox's own API key) verified, answers signed, the daily statement
// rendered from the scenario with a correct summary, refunds applied
// idempotently, and signed notifications rendered for the tests.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Test credentials (never production ones).
const (
	MchID        = "1900000109"
	AppID        = "1104606123"
	APIKey       = "qqpaysandboxkey0123456789ABCDEFG"
	OpUserID     = "1900000109001"
	OpUserPasswd = "e10adc3949ba59abbe56e057f20f883e" // md5("123456")
)

// Options tune the sandbox.
type Options struct {
	// Now is the sandbox's clock for applied refunds (default time.Now).
	Now func() time.Time
	// SignType is the scheme of the merchant config and of the answers (MD5 default).
	SignType string
	// GBK renders statements in GB18030 instead of UTF-8.
	GBK bool
	// LongTimes prints statement times as yyyy-MM-dd HH:mm:ss instead of the
	// sample's yyyy/M/d H:mm.
	LongTimes bool
	// NumericRefundStatus answers refund_status_$n with the older numeric
	// codes (4 success, 3 fail, 8 processing) instead of strings.
	NumericRefundStatus bool
	// BOM prefixes statements with a UTF-8 byte-order mark.
	BOM bool
}

// Sandbox is a running fake QQ Wallet.
type Sandbox struct {
	srv  *httptest.Server
	sc   *scenario.Scenario
	opts Options

	scenario.TamperHook

	mu      sync.Mutex
	calls   []string
	refunds int
}

var _ scenario.Sandbox = (*Sandbox)(nil)

// New starts a sandbox serving sc.
func New(sc *scenario.Scenario, opts Options) *Sandbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SignType == "" {
		opts.SignType = qqpay.SignMD5
	}
	s := &Sandbox{sc: sc, opts: opts}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL implements scenario.Sandbox.
func (s *Sandbox) URL() string { return s.srv.URL }

// ProviderName implements scenario.Sandbox.
func (s *Sandbox) ProviderName() string { return qqpay.Name }

// Scenario implements scenario.Sandbox.
func (s *Sandbox) Scenario() *scenario.Scenario { return s.sc }

// Close implements scenario.Sandbox.
func (s *Sandbox) Close() { s.srv.Close() }

// Calls implements scenario.Sandbox.
func (s *Sandbox) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// MerchantConfig returns a Config for this sandbox (operator set, no client
// certificate: the sandbox speaks plain HTTP).
func (s *Sandbox) MerchantConfig() qqpay.Config {
	return qqpay.Config{
		Account:      "test",
		MchID:        MchID,
		AppID:        AppID,
		APIKey:       payrecon.NewSecret(APIKey),
		SignType:     s.opts.SignType,
		OpUserID:     OpUserID,
		OpUserPasswd: payrecon.NewSecret(OpUserPasswd),
		BaseURL:      s.srv.URL,
		Timeout:      10 * time.Second,
	}
}

// fail is an unsigned communication-level error answer.
func fail(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(qqpay.EncodeXML(map[string]string{"return_code": "FAIL", "return_msg": msg, "retcode": "-1", "retmsg": msg}))
}

// reply signs and writes a SUCCESS answer carrying fields.
func (s *Sandbox) reply(w http.ResponseWriter, fields map[string]string) {
	m := map[string]string{"return_code": "SUCCESS", "return_msg": "OK", "retcode": "0", "retmsg": "ok",
		"mch_id": MchID, "nonce_str": nonce(fields), "result_code": "SUCCESS"}
	for k, v := range fields {
		m[k] = v
	}
	if s.opts.SignType == qqpay.SignHMACSHA256 {
		m["sign_type"] = qqpay.SignHMACSHA256
	}
	m["sign"] = qqpay.Sign(m, APIKey, s.opts.SignType)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(qqpay.EncodeXML(m))
}

// bizFail is a signed business error (result_code FAIL).
func (s *Sandbox) bizFail(w http.ResponseWriter, code, des string) {
	s.reply(w, map[string]string{"result_code": "FAIL", "err_code": code, "err_code_des": des})
}

func nonce(map[string]string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, "read error")
		return
	}
	m, err := qqpay.DecodeXML(body)
	if err != nil {
		fail(w, "XML格式错误")
		return
	}
	if m["mch_id"] != MchID {
		fail(w, "商户号错误")
		return
	}
	if m["nonce_str"] == "" {
		fail(w, "缺少参数nonce_str")
		return
	}
	if !qqpay.Verify(m, APIKey, qqpay.SignMD5) {
		fail(w, "签名错误")
		return
	}
	switch r.URL.Path {
	case qqpay.PathOrderQuery:
		s.orderQuery(w, m)
	case qqpay.PathRefundQuery:
		s.refundQuery(w, m)
	case qqpay.PathRefund:
		s.refund(w, m)
	case qqpay.PathCloseOrder:
		s.closeOrder(w, m)
	case qqpay.PathStatement:
		s.statement(w, m)
	default:
		http.NotFound(w, r)
	}
}

func tradeState(st payrecon.Status) string {
	switch st {
	case payrecon.StatusSuccess:
		return "SUCCESS"
	case payrecon.StatusPending:
		return "USERPAYING"
	case payrecon.StatusFailed:
		return "PAYERROR"
	case payrecon.StatusClosed:
		return "CLOSED"
	}
	return "NOTPAY"
}

func apiTime(t time.Time) string { return t.In(payrecon.Shanghai).Format("20060102150405") }

func (s *Sandbox) orderQuery(w http.ResponseWriter, m map[string]string) {
	if m["transaction_id"] == "" && m["out_trade_no"] == "" {
		s.bizFail(w, "PARAM_ERROR", "缺少订单号")
		return
	}
	p, ok := s.sc.FindPayment(m["out_trade_no"], m["transaction_id"])
	if !ok {
		s.bizFail(w, "ORDERNOTEXIST", "订单不存在")
		return
	}
	f := map[string]string{
		"trade_state": tradeState(p.Status), "trade_type": "NATIVE", "bank_type": "BALANCE", "fee_type": "CNY",
		"total_fee": strconv.FormatInt(p.Amount, 10), "out_trade_no": p.MerchantOrderNo, "attach": p.Payload, "openid": p.OpenID,
	}
	if p.Status == payrecon.StatusSuccess {
		f["transaction_id"] = p.ProviderTxnNo
		f["cash_fee"] = strconv.FormatInt(p.PayerAmount, 10)
		f["coupon_fee"] = strconv.FormatInt(p.PromotionAmount, 10)
		f["time_end"] = apiTime(p.PaidAt)
	} else {
		f["transaction_id"] = p.ProviderTxnNo
	}
	s.reply(w, f)
}

func (s *Sandbox) refundStatus(st payrecon.Status) string {
	if s.opts.NumericRefundStatus {
		switch st {
		case payrecon.StatusSuccess:
			return "4"
		case payrecon.StatusFailed:
			return "3"
		}
		return "8"
	}
	switch st {
	case payrecon.StatusSuccess:
		return "SUCCESS"
	case payrecon.StatusFailed:
		return "FAIL"
	case payrecon.StatusClosed:
		return "REFUNDCLOSE"
	}
	return "PROCESSING"
}

func (s *Sandbox) refundQuery(w http.ResponseWriter, m map[string]string) {
	var list []scenario.Refund
	switch {
	case m["refund_id"] != "" || m["out_refund_no"] != "":
		no := m["out_refund_no"]
		if m["refund_id"] != "" {
			no = ""
		}
		if r, ok := s.sc.FindRefund(no, m["refund_id"]); ok {
			list = append(list, r)
		}
	case m["transaction_id"] != "" || m["out_trade_no"] != "":
		p, ok := s.sc.FindPayment(m["out_trade_no"], m["transaction_id"])
		if ok {
			s.sc.RLock()
			for _, r := range s.sc.Refunds {
				if r.ProviderTxnNo == p.ProviderTxnNo || (r.ProviderTxnNo == "" && r.MerchantOrderNo == p.MerchantOrderNo) {
					list = append(list, r)
				}
			}
			s.sc.RUnlock()
		}
	default:
		s.bizFail(w, "PARAM_ERROR", "缺少退款单号或订单号")
		return
	}
	if len(list) == 0 {
		s.bizFail(w, "REFUNDNOTEXIST", "退款单不存在")
		return
	}
	f := map[string]string{"refund_count": strconv.Itoa(len(list)), "transaction_id": list[0].ProviderTxnNo, "out_trade_no": list[0].MerchantOrderNo}
	if p, ok := s.sc.FindPayment(list[0].MerchantOrderNo, list[0].ProviderTxnNo); ok {
		f["total_fee"] = strconv.FormatInt(p.Amount, 10)
	}
	for i, r := range list {
		n := "_" + strconv.Itoa(i)
		f["out_refund_no"+n] = r.MerchantRefundNo
		f["refund_id"+n] = r.ProviderRefundNo
		f["refund_channel"+n] = "ORIGINAL"
		f["refund_fee"+n] = strconv.FormatInt(r.Amount, 10)
		f["cash_refund_fee"+n] = strconv.FormatInt(r.PayerAmount, 10)
		f["coupon_refund_fee"+n] = strconv.FormatInt(r.Amount-r.PayerAmount, 10)
		f["refund_status"+n] = s.refundStatus(r.Status)
		f["refund_recv_accout"+n] = "支付用户的QQ钱包余额"
	}
	s.reply(w, f)
}

func (s *Sandbox) refund(w http.ResponseWriter, m map[string]string) {
	if m["op_user_id"] != OpUserID || m["op_user_passwd"] != OpUserPasswd {
		s.bizFail(w, "OPUSER_ERROR", "操作员帐号或密码错误")
		return
	}
	amount, err := strconv.ParseInt(m["refund_fee"], 10, 64)
	if err != nil || amount <= 0 || m["out_refund_no"] == "" {
		s.bizFail(w, "PARAM_ERROR", "refund_fee 或 out_refund_no 错误")
		return
	}
	p, ok := s.sc.FindPayment(m["out_trade_no"], m["transaction_id"])
	if !ok {
		s.bizFail(w, "ORDERNOTEXIST", "订单不存在")
		return
	}
	if p.Status != payrecon.StatusSuccess {
		s.bizFail(w, "TRADE_STATE_ERROR", "订单状态错误")
		return
	}
	if old, ok := s.sc.FindRefund(m["out_refund_no"], ""); ok {
		if old.Amount != amount || old.ProviderTxnNo != p.ProviderTxnNo {
			s.bizFail(w, "PARAM_ERROR", "同一退款单号参数不一致")
			return
		}
		s.refundAnswer(w, old)
		return
	}
	var refunded int64
	s.sc.RLock()
	for _, r := range s.sc.Refunds {
		if r.ProviderTxnNo == p.ProviderTxnNo && r.Status != payrecon.StatusFailed && r.Status != payrecon.StatusClosed {
			refunded += r.Amount
		}
	}
	s.sc.RUnlock()
	if refunded+amount > p.Amount {
		s.bizFail(w, "REFUND_FEE_INVALID", "退款金额大于可退金额")
		return
	}
	s.mu.Lock()
	s.refunds++
	seq := s.refunds
	s.mu.Unlock()
	now := s.opts.Now().Truncate(time.Second)
	r, _ := s.sc.AddRefund(scenario.Refund{
		MerchantRefundNo: m["out_refund_no"],
		ProviderRefundNo: fmt.Sprintf("1121%s%s%06d", MchID, now.In(payrecon.Shanghai).Format("060102"), seq),
		MerchantOrderNo:  p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
		Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount,
		CreatedAt: now, FinishedAt: now, Reason: "apply refund",
	})
	s.refundAnswer(w, r)
}

func (s *Sandbox) refundAnswer(w http.ResponseWriter, r scenario.Refund) {
	s.reply(w, map[string]string{
		"transaction_id": r.ProviderTxnNo, "out_trade_no": r.MerchantOrderNo,
		"out_refund_no": r.MerchantRefundNo, "refund_id": r.ProviderRefundNo,
		"refund_channel": "ORIGINAL", "refund_fee": strconv.FormatInt(r.Amount, 10),
	})
}

func (s *Sandbox) closeOrder(w http.ResponseWriter, m map[string]string) {
	p, ok := s.sc.FindPayment(m["out_trade_no"], "")
	if !ok || m["out_trade_no"] == "" {
		s.bizFail(w, "ORDERNOTEXIST", "订单不存在")
		return
	}
	switch p.Status {
	case payrecon.StatusSuccess:
		s.bizFail(w, "ORDERPAID", "订单已支付")
		return
	case payrecon.StatusClosed:
		s.bizFail(w, "ORDERCLOSED", "订单已关闭")
		return
	}
	s.sc.SetPaymentStatus(p.MerchantOrderNo, "", payrecon.StatusClosed)
	s.reply(w, map[string]string{"out_trade_no": p.MerchantOrderNo})
}

func (s *Sandbox) statement(w http.ResponseWriter, m map[string]string) {
	day, err := time.ParseInLocation("20060102", m["bill_date"], payrecon.Shanghai)
	if err != nil {
		fail(w, "bill_date格式错误")
		return
	}
	d := payrecon.DayOf(day)
	if !s.sc.Ready(d) {
		fail(w, "Bill Creating: 对账单未生成")
		return
	}
	var b bytes.Buffer
	s.RenderStatement(&b, d)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.opts.GBK {
		w.Header().Set("Content-Type", "text/plain; charset=gbk")
	}
	s.serveTampered(w, d, b.Bytes())
}
