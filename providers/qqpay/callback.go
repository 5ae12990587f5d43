package qqpay

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// CallbackContentTypes are the media types QQ Wallet's XML notifications
// are accepted with.
var CallbackContentTypes = []string{"text/xml", "application/xml"}

// Acknowledgements. QQ Wallet retries until it reads return_code SUCCESS.
var (
	ReplySuccess = []byte("<xml><return_code>SUCCESS</return_code></xml>")
	replyFail    = "<xml><return_code>FAIL</return_code><return_msg>%s</return_msg></xml>"
)

// VerifyCallback implements payrecon.CallbackVerifier. The body is the
// notification's XML; its sign is checked over every other field with the
// api_key (MD5, or the notification's own sign_type), and mch_id must be
// this account's.
//
// Payment notifications carry trade_state, total_fee, cash_fee,
// transaction_id, out_trade_no and time_end. QQ Wallet documents no refund
// notification; a notification that carries out_refund_no / refund_id is
// read as one [I] (the WeChat-v2 plain refund shape: refund_status,
// refund_fee, success_time or refund_success_time), so that a merchant
// whose refunds are notified is covered. Neither carries a notification id:
// EventID is kind:number:state, stable across QQ's retries.
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	vc, err := c.verifyCallback(req)
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("qqpay callback: %w", err)
	}
	return vc, nil
}

func (c *Client) verifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	if len(req.Body) == 0 {
		return payrecon.VerifiedCallback{}, errors.New("empty body")
	}
	charset, err := strict.ContentType(req.Header, CallbackContentTypes...)
	if err == nil {
		err = strict.UTF8Charset(charset)
	}
	if err != nil {
		return payrecon.VerifiedCallback{}, err
	}
	m, err := DecodeXML(req.Body)
	if err != nil {
		return payrecon.VerifiedCallback{}, err
	}
	if m["sign"] == "" {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: no sign", payrecon.ErrSignatureInvalid)
	}
	if st := m["sign_type"]; st != "" && !strings.EqualFold(st, SignMD5) && !strings.EqualFold(st, SignHMACSHA256) {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: unsupported sign_type %q", payrecon.ErrSignatureInvalid, st)
	}
	if !Verify(m, c.cfg.APIKey.Reveal(), c.cfg.SignType) {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: sign does not verify with the account's api_key", payrecon.ErrSignatureInvalid)
	}
	if m["mch_id"] != c.cfg.MchID {
		return payrecon.VerifiedCallback{}, fmt.Errorf("mch_id %q is not this account's (%s)", m["mch_id"], c.cfg.MchID)
	}
	if c.cfg.SubMchID != "" && m["sub_mch_id"] != "" && m["sub_mch_id"] != c.cfg.SubMchID {
		return payrecon.VerifiedCallback{}, fmt.Errorf("sub_mch_id %q is not this account's (%s)", m["sub_mch_id"], c.cfg.SubMchID)
	}
	if strings.EqualFold(m["return_code"], "FAIL") {
		return payrecon.VerifiedCallback{}, fmt.Errorf("notification says return_code FAIL: %s", clip(m["return_msg"]))
	}
	if m["out_refund_no"] != "" || m["refund_id"] != "" {
		return c.refundCallback(req, m)
	}
	return c.paymentCallback(req, m)
}

func (c *Client) entry(req payrecon.CallbackRequest) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{Account: req.Account, Provider: Name, Source: "callback", ReceivedAt: req.ReceivedAt}
}

func (c *Client) paymentCallback(req payrecon.CallbackRequest, m map[string]string) (payrecon.VerifiedCallback, error) {
	txn, state := m["transaction_id"], strings.ToUpper(m["trade_state"])
	if txn == "" || m["out_trade_no"] == "" {
		return payrecon.VerifiedCallback{}, errors.New("payment notification lacks transaction_id or out_trade_no")
	}
	if state == "" {
		// [I] some clones send result_code only; SUCCESS means paid
		state = strings.ToUpper(m["result_code"])
	}
	if state == "" {
		return payrecon.VerifiedCallback{}, errors.New("payment notification lacks trade_state")
	}
	vc := payrecon.VerifiedCallback{EventID: "payment:" + txn + ":" + state, Type: "payment"}
	st, err := TradeStatuses.Map("trade_state", payrecon.StatusWord(state))
	if err != nil {
		return vc, err
	}
	if st != payrecon.StatusSuccess {
		return vc, nil // nothing moved (PAYERROR, CLOSED …): acknowledged, no ledger entry
	}
	e := c.entry(req)
	e.Kind, e.Status = payrecon.KindPayment, st
	e.EventKey = payrecon.EventKey(payrecon.KindPayment, txn, st)
	e.MerchantOrderNo, e.ProviderTxnNo = m["out_trade_no"], txn
	e.Currency = currency(m["fee_type"])
	if e.Amount, err = signedFen(m, "total_fee"); err != nil {
		return vc, err
	}
	cash, err := fen(m, "cash_fee")
	if err != nil {
		return vc, err
	}
	coupon, err := couponFee(m)
	if err != nil {
		return vc, err
	}
	e.PayerAmount, e.PromotionAmount = payerPromo(e.Amount, cash, coupon, m["cash_fee"] != "")
	if e.OccurredAt, err = apiTime(m["time_end"]); err != nil {
		return vc, fmt.Errorf("time_end: %w", err)
	}
	if e.OccurredAt.IsZero() {
		return vc, errors.New("payment notification lacks time_end")
	}
	vc.Entries = []payrecon.LedgerEntry{e}
	return vc, nil
}

func (c *Client) refundCallback(req payrecon.CallbackRequest, m map[string]string) (payrecon.VerifiedCallback, error) {
	no := m["refund_id"]
	if no == "" {
		no = m["out_refund_no"]
	}
	state := strings.ToUpper(m["refund_status"])
	if state == "" {
		return payrecon.VerifiedCallback{}, errors.New("refund notification lacks refund_status")
	}
	st, err := RefundStatuses.Map("refund_status", payrecon.StatusWord(state))
	if err != nil {
		return payrecon.VerifiedCallback{}, err
	}
	vc := payrecon.VerifiedCallback{EventID: "refund:" + no + ":" + state, Type: "refund"}
	e := c.entry(req)
	e.Kind, e.Status = payrecon.KindRefund, st
	e.EventKey = payrecon.EventKey(payrecon.KindRefund, no, st)
	e.MerchantRefundNo, e.ProviderRefundNo = m["out_refund_no"], m["refund_id"]
	e.MerchantOrderNo, e.ProviderTxnNo = m["out_trade_no"], m["transaction_id"]
	e.Currency = currency(m["fee_type"])
	if e.Amount, err = signedFen(m, "refund_fee"); err != nil {
		return vc, err
	}
	e.PayerAmount = e.Amount
	if m["cash_refund_fee"] != "" {
		if e.PayerAmount, err = fen(m, "cash_refund_fee"); err != nil {
			return vc, err
		}
	}
	ts := m["success_time"]
	if ts == "" {
		ts = m["refund_success_time"]
	}
	if e.OccurredAt, err = apiTime(ts); err != nil {
		return vc, fmt.Errorf("success_time: %w", err)
	}
	if e.OccurredAt.IsZero() {
		if st == payrecon.StatusSuccess {
			return vc, errors.New("successful refund notification lacks success_time")
		}
		e.OccurredAt = req.ReceivedAt
	}
	vc.Entries = []payrecon.LedgerEntry{e}
	return vc, nil
}

// signedFen reads a whole-fen amount keeping its sign: whether a callback's
// amount may be zero or negative is the domain validation's rule
// (amount_positive), which names it.
func signedFen(m map[string]string, field string) (int64, error) {
	s := strings.TrimSpace(m[field])
	if neg, ok := strings.CutPrefix(s, "-"); ok {
		v, err := fen(map[string]string{field: neg}, field)
		return -v, err
	}
	return fen(m, field)
}

// Reply implements payrecon.CallbackVerifier: the exact success bytes QQ
// Wallet expects, or a FAIL answer.
func (c *Client) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8", Body: ReplySuccess}
	}
	// return_code FAIL makes QQ Wallet retry; the status tells a refused
	// notification (400) from a failure on payrecon's side (500).
	status, msg := http.StatusBadRequest, "invalid notification"
	switch {
	case errors.Is(err, payrecon.ErrSignatureInvalid):
		msg = "sign error"
	case errors.Is(err, payrecon.ErrTransient):
		status, msg = http.StatusInternalServerError, "temporary failure"
	}
	return payrecon.CallbackReply{Status: status, ContentType: "text/xml; charset=utf-8", Body: fmt.Appendf(nil, replyFail, msg)}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentTypes[0] }
