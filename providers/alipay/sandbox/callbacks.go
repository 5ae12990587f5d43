package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

// notifyID is stable per event, as Alipay keeps notify_id over retries.
func notifyID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:34]
}

// Notify signs fields (sign_type RSA2, all fields but sign and sign_type,
// sorted) with the sandbox's Alipay key and renders the form body.
func (s *Sandbox) Notify(fields map[string]string) (scenario.Callback, error) {
	v := url.Values{}
	for k, f := range fields {
		if f != "" || s.opts.EmptyFields {
			v.Set(k, f)
		}
	}
	content := alipay.SignContent(v)
	if s.opts.EmptyFields {
		if v.Get("notify_type") == alipay.NotifyTradeStatusSync && !v.Has("refund_fee") {
			v.Set("refund_fee", "0.00") // a payment's notification may state no refund as 0.00
		}
		v.Set("passback_params", "")
		content = alipay.NotifySignContent(v)
	}
	sig, err := sign.SignSHA256RSA(keys.alipay, []byte(content))
	if err != nil {
		return scenario.Callback{}, err
	}
	v.Set("sign", sig)
	v.Set("sign_type", alipay.SignTypeRSA2)
	return scenario.Callback{
		Header:  http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		Body:    []byte(v.Encode()),
		EventID: v.Get("notify_id"),
	}, nil
}

func (s *Sandbox) common(notifyType, id string) map[string]string {
	return map[string]string{
		"notify_time": gatewayTime(s.notifyNow()), "notify_type": notifyType, "notify_id": id,
		"app_id": AppID, "auth_app_id": AppID, "charset": "utf-8", "version": "1.0",
	}
}

func (s *Sandbox) trade(p scenario.Payment, id string) map[string]string {
	f := s.common(alipay.NotifyTradeStatusSync, id)
	for k, v := range map[string]string{
		"trade_no": p.ProviderTxnNo, "out_trade_no": p.MerchantOrderNo, "buyer_id": "2088102177846880", "buyer_logon_id": "159****5620",
		"seller_id": PID, "seller_email": "merchant@example.com", "total_amount": payrecon.FormatYuan(p.Amount),
		"receipt_amount": payrecon.FormatYuan(p.PayerAmount), "invoice_amount": payrecon.FormatYuan(p.PayerAmount),
		"buyer_pay_amount": payrecon.FormatYuan(p.PayerAmount), "point_amount": "0.00", "subject": p.Product, "body": p.Product,
		"gmt_create": gatewayTime(p.CreatedAt), "gmt_payment": gatewayTime(p.PaidAt), "passback_params": url.QueryEscape(p.Payload),
		"fund_bill_list": fmt.Sprintf(`[{"amount":"%s","fundChannel":"ALIPAYACCOUNT"}]`, payrecon.FormatYuan(p.PayerAmount)),
	} {
		f[k] = v
	}
	return f
}

// PaymentCallback implements scenario.Sandbox: trade_status_sync with
// TRADE_SUCCESS. Alipay sends no notification for an unpaid or failed
// trade by default, so only successful payments render.
func (s *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	if p.Status != payrecon.StatusSuccess {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox: no notification for a %s trade", p.Status)
	}
	f := s.trade(p, notifyID("pay", p.ProviderTxnNo))
	f["trade_status"] = "TRADE_SUCCESS"
	return s.Notify(f)
}

// RefundCallback implements scenario.Sandbox: trade_status_sync with
// out_biz_no, refund_fee (the trade's total refunded up to this refund) and
// gmt_refund; TRADE_CLOSED once fully refunded. Only successful refunds
// notify.
func (s *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	if r.Status != payrecon.StatusSuccess {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox: no notification for a %s refund", r.Status)
	}
	p, found := s.sc.FindPayment(r.MerchantOrderNo, r.ProviderTxnNo)
	if !found {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox: refund %s of an unknown trade", r.MerchantRefundNo)
	}
	f := s.trade(p, notifyID("refund", p.ProviderTxnNo, r.MerchantRefundNo))
	refunded := s.refundedBefore(p, r.FinishedAt)
	f["trade_status"] = "TRADE_SUCCESS"
	if refunded >= p.Amount {
		f["trade_status"] = "TRADE_CLOSED"
		f["gmt_close"] = gatewayTime(r.FinishedAt)
	}
	f["out_biz_no"] = r.MerchantRefundNo
	f["refund_fee"] = payrecon.FormatYuan(refunded)
	f["gmt_refund"] = r.FinishedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05.000")
	return s.Notify(f)
}

// AgreementCallback implements scenario.Sandbox: dut_user_sign (status
// NORMAL) or dut_user_unsign (status UNSIGN, unsign_time).
func (s *Sandbox) AgreementCallback(a scenario.Agreement) (scenario.Callback, error) {
	typ, status := alipay.NotifyDutUserSign, "NORMAL"
	if a.Status == payrecon.StatusUnsigned {
		typ, status = alipay.NotifyDutUserUnsign, "UNSIGN"
	}
	f := s.common(typ, notifyID(typ, a.AgreementNo))
	for k, v := range map[string]string{
		"agreement_no": a.AgreementNo, "external_agreement_no": a.MerchantAgreeNo, "status": status,
		"personal_product_code": alipay.DefaultPersonalProductCode, "sign_scene": "INDUSTRY|DEFAULT_SCENE",
		"alipay_user_id": "2088102177846880", "sign_time": gatewayTime(a.SignedAt), "valid_time": gatewayTime(a.SignedAt),
	} {
		f[k] = v
	}
	if a.Status == payrecon.StatusUnsigned {
		f["unsign_time"] = gatewayTime(a.TerminatedAt)
	}
	return s.Notify(f)
}
