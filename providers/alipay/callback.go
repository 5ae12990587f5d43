package alipay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// Notification types payrecon turns into ledger entries.
const (
	NotifyTradeStatusSync = "trade_status_sync"
	NotifyDutUserSign     = "dut_user_sign"
	NotifyDutUserUnsign   = "dut_user_unsign"
)

// NotifyTradeStatuses are the trade_status words of trade_status_sync
// (TRADE_CLOSED here is a trade closed unpaid; a refund's TRADE_CLOSED is
// read as a refund before this applies).
var NotifyTradeStatuses = payrecon.StatusMap{
	"TRADE_SUCCESS": payrecon.StatusSuccess, "TRADE_FINISHED": payrecon.StatusSuccess,
	"WAIT_BUYER_PAY": payrecon.StatusNotPaid, "TRADE_CLOSED": payrecon.StatusClosed,
}

// ErrCallbackFormat is wrapped when an authentic notification cannot be
// read (missing numbers, bad amounts or times, another app or seller).
var ErrCallbackFormat = errors.New("unreadable alipay notification")

// maxCallback bounds a notification body.
const maxCallback = 1 << 20

// CallbackContentType is the media type Alipay posts notifications with.
const CallbackContentType = "application/x-www-form-urlencoded"

// ReplySuccess is the exact body Alipay wants for an accepted notification;
// anything else makes it retry (4m, 10m, 10m, 1h, 2h, 6h, 15h).
const ReplySuccess = "success"

// VerifyNotification parses a form-encoded notification body strictly
// (package strict: no repeated parameter, valid percent-encoding, text
// valid in the charset the body's charset parameter declares, UTF-8 by
// default; such failures wrap ErrCallbackFormat) and verifies
// its sign with pub over every received parameter except sign and
// sign_type, sorted, joined k=v&… (decoded values). The certificate mode's
// alipay_cert_sn is part of what Alipay signs by its documentation; some
// SDKs drop it, so when the first check fails and the field is present it
// is tried without it too. sign_type RSA2 (or absent) is SHA256withRSA,
// RSA is SHA1withRSA. Failures wrap payrecon.ErrSignatureInvalid.
func VerifyNotification(pub *rsa.PublicKey, body []byte) (url.Values, error) {
	return verifyNotification(pub, body, "")
}

// verifyNotification is VerifyNotification with the Content-Type's charset.
func verifyNotification(pub *rsa.PublicKey, body []byte, charset string) (url.Values, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", payrecon.ErrSignatureInvalid)
	}
	if len(body) > maxCallback {
		return nil, fmt.Errorf("%w: body of %d bytes", ErrCallbackFormat, len(body))
	}
	v, err := strict.ParseForm(body, charset, "charset")
	if err != nil {
		// authentic but not strictly readable, or tampered: a byte
		// changed in a percent-escape can make invalid text, and that is
		// a forgery first
		if verifySign(pub, lenientForm(body)) != nil {
			return nil, fmt.Errorf("%w: sign does not verify with alipay_public_key (and %w)", payrecon.ErrSignatureInvalid, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrCallbackFormat, err)
	}
	if err := verifySign(pub, v); err != nil {
		return nil, err
	}
	return v, nil
}

// lenientForm reads a form body as a lenient reader would: pairs that do
// not decode are left out, the last of repeated parameters wins.
func lenientForm(body []byte) url.Values {
	v := url.Values{}
	for _, pair := range strings.Split(string(body), "&") {
		k, val, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(val)
		if err1 == nil && err2 == nil && dk != "" {
			v.Set(dk, dv)
		}
	}
	return v
}

// verifySign checks v's sign over its other parameters.
func verifySign(pub *rsa.PublicKey, v url.Values) error {
	sig := v.Get("sign")
	if sig == "" {
		return fmt.Errorf("%w: no sign parameter", payrecon.ErrSignatureInvalid)
	}
	st := v.Get("sign_type")
	if st != "" && st != SignTypeRSA2 && st != SignTypeRSA {
		return fmt.Errorf("%w: unsupported sign_type %q", payrecon.ErrSignatureInvalid, st)
	}
	// The documented content keeps empty parameters; the request-signing
	// rule (empty ones dropped) is tried too, as some signers apply it to
	// notifications; alipay_cert_sn may or may not be covered.
	var err error
	for _, drop := range [][]string{nil, {"alipay_cert_sn"}} {
		if drop != nil && !v.Has("alipay_cert_sn") {
			break
		}
		if err = VerifyRSA(pub, st, []byte(NotifySignContent(v, drop...)), sig); err == nil {
			break
		}
		if err = VerifyRSA(pub, st, []byte(SignContent(v, append([]string{"sign_type"}, drop...)...)), sig); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w: sign does not verify with alipay_public_key", payrecon.ErrSignatureInvalid)
	}
	return nil
}

// VerifyCallback implements payrecon.CallbackVerifier: it verifies the
// notification (see VerifyNotification), refuses one for another app_id or
// seller_id, and turns it into ledger entries:
//
//   - trade_status_sync with TRADE_SUCCESS / TRADE_FINISHED and no refund
//     fields: a payment (EventKey payment:<trade_no>:success);
//   - trade_status_sync with refund fields (out_biz_no, refund_fee,
//     gmt_refund; TRADE_SUCCESS after a partial, TRADE_CLOSED after a full
//     refund): a refund (EventKey refund:<out_biz_no>:success). Alipay has
//     no refund number of its own, and refund_fee is the trade's total
//     refunded so far, not this refund's amount: the refund's own amount is
//     read with alipay.trade.fastpay.refund.query for its out_request_no
//     (see refundOwnAmount), so that VerifyCallback asks Alipay once per
//     refund notification;
//   - dut_user_sign / dut_user_unsign: an agreement
//     (agreement:<agreement_no>:signed|unsigned).
//
// Other authentic notifications (WAIT_BUYER_PAY, TRADE_CLOSED without a
// refund, unknown types) are acknowledged with no entries. EventID is the
// notify_id.
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	charset, err := strict.ContentType(req.Header, CallbackContentType)
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback: %w: %w", ErrCallbackFormat, err)
	}
	v, err := verifyNotification(c.pub, req.Body, charset)
	if err != nil {
		// The notify_id it claims, unverified, for the audit record only.
		claimed, _ := url.ParseQuery(string(req.Body))
		return payrecon.VerifiedCallback{}, payrecon.WithEventID(claimed.Get("notify_id"), fmt.Errorf("alipay callback: %w", err))
	}
	id, typ := v.Get("notify_id"), v.Get("notify_type")
	if id == "" {
		return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback: %w: no notify_id", ErrCallbackFormat)
	}
	if app := v.Get("app_id"); app != "" && app != c.cfg.AppID && v.Get("auth_app_id") != c.cfg.AppID {
		return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback %s: %w: for app_id %s, this account is %s", id, ErrCallbackFormat, app, c.cfg.AppID)
	}
	if s := v.Get("seller_id"); s != "" && c.cfg.SellerID != "" && s != c.cfg.SellerID {
		return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback %s: %w: for seller_id %s, this account is %s", id, ErrCallbackFormat, s, c.cfg.SellerID)
	}
	entries, err := notificationEntries(v)
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback %s %s: %w", id, typ, err)
	}
	for i := range entries {
		entries[i].Account = req.Account
		entries[i].ReceivedAt = req.ReceivedAt
		if entries[i].Kind == payrecon.KindRefund {
			if err := c.refundOwnAmount(&entries[i]); err != nil {
				return payrecon.VerifiedCallback{}, fmt.Errorf("alipay callback %s %s: %w", id, typ, err)
			}
		}
	}
	return payrecon.VerifiedCallback{EventID: id, Type: typ, Entries: entries}, nil
}

// refundOwnAmount replaces the amount of a refund entry read from a
// notification — the trade's cumulative refund_fee — with the refund's own
// amount: refund_amount of alipay.trade.fastpay.refund.query for the
// entry's out_request_no.
//
// Differencing successive cumulative values instead would need the
// previous notification of the same trade, and is wrong whenever Alipay
// delivers them out of order (its retries run for 25 hours), loses one, or
// two refunds complete before either notifies. The query names the refund
// itself, so a retried, late or reordered notification books the same
// amount, and a lost one leaves only that refund missing.
//
// Until the query knows the refund as REFUND_SUCCESS the notification is
// refused with an error wrapping payrecon.ErrTransient (answered 500, so
// Alipay retries); a query amount that is not positive or exceeds the
// cumulative refund_fee wraps ErrCallbackFormat.
func (c *Client) refundOwnAmount(e *payrecon.LedgerEntry) error {
	cumulative := e.Amount
	timeout := c.cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := c.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: e.MerchantRefundNo, MerchantOrderNo: e.MerchantOrderNo, ProviderTxnNo: e.ProviderTxnNo})
	if err != nil {
		return fmt.Errorf("%w: refund %s: the refund query for its own amount failed: %w", payrecon.ErrTransient, e.MerchantRefundNo, err)
	}
	if r.Status != payrecon.StatusSuccess {
		return fmt.Errorf("%w: refund %s: the refund query says %s (%q), not yet REFUND_SUCCESS", payrecon.ErrTransient, e.MerchantRefundNo, r.Status, r.RawStatus)
	}
	if r.Amount <= 0 || r.Amount > cumulative {
		return fmt.Errorf("%w: refund %s: the refund query's refund_amount %s does not fit the notification's cumulative refund_fee %s",
			ErrCallbackFormat, e.MerchantRefundNo, payrecon.FormatYuan(r.Amount), payrecon.FormatYuan(cumulative))
	}
	e.Amount, e.PayerAmount = r.Amount, r.Amount
	return nil
}

// notifyTime parses yyyy-MM-dd HH:mm:ss[.SSS] in Asia/Shanghai.
func notifyTime(field, s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s %q is not yyyy-MM-dd HH:mm:ss", ErrCallbackFormat, field, s)
}

// yuanField parses a yuan parameter exactly; absent is zero when optional.
func yuanField(v url.Values, field string, required bool) (int64, error) {
	s := v.Get(field)
	if s == "" {
		if required {
			return 0, fmt.Errorf("%w: no %s", ErrCallbackFormat, field)
		}
		return 0, nil
	}
	a, err := payrecon.ParseYuan(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCallbackFormat, field, err)
	}
	return a, nil
}

func notificationEntries(v url.Values) ([]payrecon.LedgerEntry, error) {
	switch v.Get("notify_type") {
	case NotifyTradeStatusSync, "":
		return tradeEntries(v)
	case NotifyDutUserSign, NotifyDutUserUnsign:
		return agreementEntries(v)
	}
	return nil, nil
}

func tradeEntries(v url.Values) ([]payrecon.LedgerEntry, error) {
	tradeNo, outTradeNo, status := v.Get("trade_no"), v.Get("out_trade_no"), v.Get("trade_status")
	if tradeNo == "" || outTradeNo == "" {
		return nil, fmt.Errorf("%w: no trade_no or out_trade_no", ErrCallbackFormat)
	}
	// A payment's notification may state refund_fee=0.00: only a refund
	// number, a refund time or a refunded amount make it a refund's.
	refundFee, _ := payrecon.ParseYuanPadded(v.Get("refund_fee"))
	isRefund := v.Get("out_biz_no") != "" || refundFee > 0 || v.Get("gmt_refund") != ""
	if isRefund && (status == "TRADE_SUCCESS" || status == "TRADE_CLOSED" || status == "TRADE_FINISHED") {
		refundNo := v.Get("out_biz_no")
		if refundNo == "" {
			refundNo = outTradeNo // a refund without out_request_no is numbered by out_trade_no
		}
		// refund_fee is cumulative over the trade's refunds: the entry
		// carries it until VerifyCallback puts the refund's own amount.
		amt, err := yuanField(v, "refund_fee", true)
		if err != nil {
			return nil, err
		}
		at, err := notifyTime("gmt_refund", v.Get("gmt_refund"))
		if err != nil {
			return nil, err
		}
		return []payrecon.LedgerEntry{{
			Provider: Name, EventKey: payrecon.EventKey(payrecon.KindRefund, RefundKey(tradeNo, refundNo), payrecon.StatusSuccess), Kind: payrecon.KindRefund, Status: payrecon.StatusSuccess,
			MerchantOrderNo: outTradeNo, ProviderTxnNo: tradeNo, MerchantRefundNo: refundNo, ProviderRefundNo: RefundKey(tradeNo, refundNo),
			Amount: amt, PayerAmount: amt, Currency: "CNY", OccurredAt: at, Source: "callback",
		}}, nil
	}
	st, err := NotifyTradeStatuses.Map("trade_status", status)
	if err != nil {
		return nil, err // undocumented: the domain's status rule, naming the value
	}
	if st != payrecon.StatusSuccess {
		return nil, nil // unpaid: nothing to book
	}
	total, err := yuanField(v, "total_amount", true)
	if err != nil {
		return nil, err
	}
	payer := total
	if v.Get("buyer_pay_amount") != "" {
		if payer, err = yuanField(v, "buyer_pay_amount", false); err != nil {
			return nil, err
		}
	}
	at, err := notifyTime("gmt_payment", v.Get("gmt_payment"))
	if err != nil {
		return nil, err
	}
	return []payrecon.LedgerEntry{{
		Provider: Name, EventKey: payrecon.EventKey(payrecon.KindPayment, tradeNo, st), Kind: payrecon.KindPayment, Status: st,
		MerchantOrderNo: outTradeNo, ProviderTxnNo: tradeNo, Amount: total, PayerAmount: payer, PromotionAmount: total - payer,
		Currency: "CNY", OccurredAt: at, Source: "callback",
	}}, nil
}

// agreementEntries reads a 代扣 sign / unsign notification: agreement_no,
// external_agreement_no, status (NORMAL on sign; UNSIGN / STOP on unsign
// [I]), sign_time, and for unsign unsign_time or invalid_time (falling back
// to notify_time).
func agreementEntries(v url.Values) ([]payrecon.LedgerEntry, error) {
	no := v.Get("agreement_no")
	if no == "" {
		return nil, fmt.Errorf("%w: no agreement_no", ErrCallbackFormat)
	}
	st, field := payrecon.StatusSigned, "sign_time"
	if v.Get("notify_type") == NotifyDutUserUnsign || (v.Get("status") != "" && v.Get("status") != "NORMAL") {
		st, field = payrecon.StatusUnsigned, "unsign_time"
		for _, f := range []string{"unsign_time", "invalid_time", "notify_time"} {
			if v.Get(f) != "" {
				field = f
				break
			}
		}
	}
	at, err := notifyTime(field, v.Get(field))
	if err != nil {
		return nil, err
	}
	return []payrecon.LedgerEntry{{
		Provider: Name, EventKey: payrecon.EventKey(payrecon.KindAgreement, no, st), Kind: payrecon.KindAgreement, Status: st,
		AgreementNo: no, MerchantAgreeNo: v.Get("external_agreement_no"), OccurredAt: at, Source: "callback",
	}}, nil
}

// Reply implements payrecon.CallbackVerifier: an accepted notification is
// answered 200 with exactly "success" (Alipay retries anything else); a
// rejected one (bad signature, unreadable, failing the domain validation) 400 and any other failure (e.g. the store) 500, both with
// "failure", so that Alipay retries.
func (c *Client) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(ReplySuccess)}
	}
	status := http.StatusInternalServerError
	if errors.Is(err, payrecon.ErrSignatureInvalid) || errors.Is(err, ErrCallbackFormat) || errors.As(err, new(*payrecon.ValidationError)) {
		status = http.StatusBadRequest
	}
	return payrecon.CallbackReply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte("failure")}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentType }
