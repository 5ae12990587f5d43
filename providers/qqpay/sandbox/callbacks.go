package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/scenario"
)

// ErrNoAgreements: QQ Wallet has no recurring-debit agreements.
var ErrNoAgreements = errors.New("qqpay sandbox: QQ Wallet has no agreement notifications")

// deterministic nonce, so that a re-rendered notification is byte-identical
func cbNonce(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return strings.ToUpper(hex.EncodeToString(h[:16]))
}

// SignCallback signs fields with key (the sandbox's own for valid
// callbacks; tests pass another to forge one) and renders the XML.
func SignCallback(fields map[string]string, key, signType string) scenario.Callback {
	m := map[string]string{}
	for k, v := range fields {
		m[k] = v
	}
	delete(m, "sign")
	if strings.EqualFold(signType, qqpay.SignHMACSHA256) {
		m["sign_type"] = qqpay.SignHMACSHA256
	}
	m["sign"] = qqpay.Sign(m, key, signType)
	h := http.Header{}
	h.Set("Content-Type", "text/xml; charset=utf-8")
	return scenario.Callback{Header: h, Body: qqpay.EncodeXML(m)}
}

// PaymentFields are a payment notification's fields (unsigned).
func PaymentFields(p scenario.Payment) map[string]string {
	state := "SUCCESS"
	if p.Status != payrecon.StatusSuccess {
		state = tradeState(p.Status)
	}
	f := map[string]string{
		"appid": AppID, "mch_id": MchID, "nonce_str": cbNonce("pay", p.ProviderTxnNo, state),
		"trade_type": "NATIVE", "trade_state": state, "bank_type": "BALANCE", "fee_type": "CNY",
		"total_fee": strconv.FormatInt(p.Amount, 10), "transaction_id": p.ProviderTxnNo,
		"out_trade_no": p.MerchantOrderNo, "attach": p.Payload, "openid": p.OpenID,
	}
	if p.Status == payrecon.StatusSuccess {
		f["cash_fee"] = strconv.FormatInt(p.PayerAmount, 10)
		f["coupon_fee"] = strconv.FormatInt(p.PromotionAmount, 10)
		f["time_end"] = apiTime(p.PaidAt)
	}
	return f
}

// RefundFields are a refund notification's fields (unsigned) [I: QQ
// documents none; the WeChat-v2 plain shape].
func RefundFields(r scenario.Refund) map[string]string {
	st := "SUCCESS"
	switch r.Status {
	case payrecon.StatusFailed:
		st = "FAIL"
	case payrecon.StatusPending:
		st = "PROCESSING"
	}
	f := map[string]string{
		"appid": AppID, "mch_id": MchID, "nonce_str": cbNonce("refund", r.ProviderRefundNo, st),
		"transaction_id": r.ProviderTxnNo, "out_trade_no": r.MerchantOrderNo,
		"out_refund_no": r.MerchantRefundNo, "refund_id": r.ProviderRefundNo,
		"refund_fee": strconv.FormatInt(r.Amount, 10), "cash_refund_fee": strconv.FormatInt(r.PayerAmount, 10),
		"refund_status": st, "fee_type": "CNY",
	}
	if !r.FinishedAt.IsZero() {
		f["success_time"] = r.FinishedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
	}
	return f
}

// PaymentCallback implements scenario.Sandbox.
func (s *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	f := PaymentFields(p)
	cb := SignCallback(f, APIKey, s.opts.SignType)
	cb.EventID = "payment:" + p.ProviderTxnNo + ":" + f["trade_state"]
	return cb, nil
}

// RefundCallback implements scenario.Sandbox.
func (s *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	f := RefundFields(r)
	cb := SignCallback(f, APIKey, s.opts.SignType)
	cb.EventID = "refund:" + r.ProviderRefundNo + ":" + f["refund_status"]
	return cb, nil
}

// AgreementCallback implements scenario.Sandbox: QQ Wallet has none.
func (s *Sandbox) AgreementCallback(scenario.Agreement) (scenario.Callback, error) {
	return scenario.Callback{}, ErrNoAgreements
}
