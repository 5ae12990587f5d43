package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// Notification is the v3 notification envelope (the callback body).
type Notification struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	EventType    string   `json:"event_type"`
	ResourceType string   `json:"resource_type"`
	Summary      string   `json:"summary"`
	Resource     Resource `json:"resource"`
}

// Resource is the encrypted part of a notification.
type Resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// Event types payrecon turns into ledger entries.
const (
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	EventRefundSuccess      = "REFUND.SUCCESS"
	EventRefundAbnormal     = "REFUND.ABNORMAL"
	EventRefundClosed       = "REFUND.CLOSED"
)

// ErrCallbackFormat is wrapped when an authentic-looking callback cannot be
// read (bad JSON, missing fields, unknown algorithm).
var ErrCallbackFormat = errors.New("unreadable wechat notification")

// maxCallback bounds a callback body.
const maxCallback = 1 << 20

// CallbackContentType is the media type WeChat Pay posts notifications with.
const CallbackContentType = "application/json"

// Documented JSON types (wechat.md; API v3 notification and resource
// objects): amounts are integer fen, everything else read here strings.
var (
	envelopeSchema = strict.Schema{
		"id": strict.String, "create_time": strict.String, "event_type": strict.String,
		"resource_type": strict.String, "summary": strict.String, "resource": strict.Object,
		"resource.original_type": strict.String, "resource.algorithm": strict.String,
		"resource.ciphertext": strict.String, "resource.associated_data": strict.String, "resource.nonce": strict.String,
	}
	transactionSchema = schemaOf(
		[]string{"appid", "mchid", "sp_appid", "sp_mchid", "sub_appid", "sub_mchid", "out_trade_no", "transaction_id",
			"trade_type", "trade_state", "trade_state_desc", "bank_type", "attach", "success_time", "payer", "payer.openid",
			"amount.currency", "amount.payer_currency", "promotion_detail[].coupon_id", "promotion_detail[].currency"},
		[]string{"amount.total", "amount.payer_total", "promotion_detail[].amount", "promotion_detail[].wechatpay_contribute",
			"promotion_detail[].merchant_contribute", "promotion_detail[].other_contribute"})
	refundSchema = schemaOf(
		[]string{"mchid", "sp_mchid", "sub_mchid", "refund_id", "out_refund_no", "transaction_id", "out_trade_no",
			"refund_status", "success_time", "user_received_account", "amount.currency"},
		[]string{"amount.total", "amount.refund", "amount.payer_total", "amount.payer_refund",
			"amount.settlement_total", "amount.settlement_refund", "amount.discount_refund"})
	plaintextSchemas = map[string]strict.Schema{
		EventTransactionSuccess: transactionSchema,
		EventRefundSuccess:      refundSchema, EventRefundAbnormal: refundSchema, EventRefundClosed: refundSchema,
	}
)

func schemaOf(strs, ints []string) strict.Schema {
	s := strict.Schema{"amount": strict.Object, "promotion_detail": strict.Array}
	for _, f := range strs {
		s[f] = strict.String
	}
	s["payer"] = strict.Object
	for _, f := range ints {
		s[f] = strict.Integer
	}
	return s
}

// DecodeNotification parses a notification body and decrypts its resource
// with the APIv3 key (AEAD_AES_256_GCM; 16- or 32-byte keys). Both the body
// and the decrypted plaintext are decoded strictly (package strict: no
// duplicate key at any depth, UTF-8, documented types), and such failures
// wrap ErrCallbackFormat. It does not check the signature: VerifyCallback
// does that first. A resource that does
// not decrypt (wrong key, tampered ciphertext, nonce or associated data)
// wraps payrecon.ErrSignatureInvalid; anything unreadable wraps
// ErrCallbackFormat.
func DecodeNotification(body, apiv3Key []byte) (Notification, []byte, error) {
	var n Notification
	if len(body) > maxCallback {
		return n, nil, fmt.Errorf("%w: body of %d bytes", ErrCallbackFormat, len(body))
	}
	if err := strict.DecodeJSON(body, envelopeSchema, &n); err != nil {
		return n, nil, fmt.Errorf("%w: body: %w", ErrCallbackFormat, err)
	}
	if n.ID == "" || n.EventType == "" {
		return n, nil, fmt.Errorf("%w: id or event_type missing", ErrCallbackFormat)
	}
	if n.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return n, nil, fmt.Errorf("%w: resource algorithm %q, want AEAD_AES_256_GCM", ErrCallbackFormat, n.Resource.Algorithm)
	}
	pt, err := sign.DecryptAESGCM(apiv3Key, n.Resource.Nonce, n.Resource.AssociatedData, n.Resource.Ciphertext)
	if err != nil {
		return n, nil, fmt.Errorf("%w: resource does not decrypt with apiv3_key (wrong key or tampered ciphertext): %v", payrecon.ErrSignatureInvalid, err)
	}
	if err := strict.CheckJSON(pt, plaintextSchemas[n.EventType]); err != nil {
		return n, nil, fmt.Errorf("%w: resource plaintext: %w", ErrCallbackFormat, err)
	}
	return n, pt, nil
}

// VerifyCallback implements payrecon.CallbackVerifier: it verifies the
// Wechatpay-Signature over timestamp\nnonce\nbody\n with the platform key
// named by Wechatpay-Serial (an unknown serial is rejected), rejects a
// Wechatpay-Timestamp more than TimestampSkew from req.ReceivedAt (intake
// stamps it from its clock; an import gives the original receipt time, so a
// captured callback verifies later as it did live; zero means the client's
// Now), decrypts the resource and
// turns TRANSACTION.SUCCESS into a payment entry and REFUND.SUCCESS /
// ABNORMAL / CLOSED into a refund entry (success / failed / closed). Other
// authentic event types are acknowledged with no entries. EventID is the
// notification id.
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	at := req.ReceivedAt
	if at.IsZero() {
		at = c.now()
	}
	charset, err := strict.ContentType(req.Header, CallbackContentType)
	if err == nil {
		err = strict.UTF8Charset(charset)
	}
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("wechat callback: %w: %w", ErrCallbackFormat, err)
	}
	if err := c.verifySigned(req.Header, req.Body, at); err != nil {
		// The notification id it claims, unverified, for the audit record only.
		var claimed struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(req.Body, &claimed)
		return payrecon.VerifiedCallback{}, payrecon.WithEventID(claimed.ID, fmt.Errorf("wechat callback: %w", err))
	}
	return c.decodeCallback(req)
}

// decodeCallback is VerifyCallback after the signature check.
func (c *Client) decodeCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	n, pt, err := DecodeNotification(req.Body, c.apiv3Key)
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("wechat callback: %w", err)
	}
	entries, err := c.entries(n, pt)
	if err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("wechat callback %s %s: %w", n.ID, n.EventType, err)
	}
	for i := range entries {
		entries[i].Account = req.Account
		entries[i].ReceivedAt = req.ReceivedAt
	}
	return payrecon.VerifiedCallback{EventID: n.ID, Type: n.EventType, Entries: entries}, nil
}

// entries turns a decrypted notification into ledger entries (Account and
// ReceivedAt are left to the caller).
func (c *Client) entries(n Notification, pt []byte) ([]payrecon.LedgerEntry, error) {
	created := rfc3339(n.CreateTime)
	switch n.EventType {
	case EventTransactionSuccess:
		var t Transaction
		if err := json.Unmarshal(pt, &t); err != nil {
			return nil, fmt.Errorf("%w: transaction plaintext: %v", ErrCallbackFormat, err)
		}
		if err := c.checkMerchant(t.MchID, t.SpMchID, t.SubMchID, false); err != nil {
			return nil, err
		}
		if t.TransactionID == "" || t.OutTradeNo == "" {
			return nil, fmt.Errorf("%w: transaction without transaction_id or out_trade_no", ErrCallbackFormat)
		}
		st, err := TradeStates.Map("trade_state", t.TradeState)
		if err != nil {
			return nil, err // undocumented: the domain's status rule, naming the value
		}
		if t.TradeState != "SUCCESS" {
			return nil, fmt.Errorf("%w: TRANSACTION.SUCCESS with trade_state %q", ErrCallbackFormat, t.TradeState)
		}
		o := t.order()
		at := o.PaidAt
		if at.IsZero() {
			at = created
		}
		if at.IsZero() {
			return nil, fmt.Errorf("%w: transaction without success_time or create_time", ErrCallbackFormat)
		}
		return []payrecon.LedgerEntry{{
			Provider:        Name,
			EventKey:        payrecon.EventKey(payrecon.KindPayment, t.TransactionID, st),
			Kind:            payrecon.KindPayment,
			Status:          st,
			MerchantOrderNo: t.OutTradeNo,
			ProviderTxnNo:   t.TransactionID,
			Amount:          o.Amount,
			PayerAmount:     o.PayerAmount,
			PromotionAmount: o.PromotionAmount,
			Currency:        o.Currency,
			OccurredAt:      at,
			Source:          "callback",
		}}, nil
	case EventRefundSuccess, EventRefundAbnormal, EventRefundClosed:
		var r RefundObject
		if err := json.Unmarshal(pt, &r); err != nil {
			return nil, fmt.Errorf("%w: refund plaintext: %v", ErrCallbackFormat, err)
		}
		// A partner refund notification names its sub-merchant: one for
		// another sub-merchant, or naming none, is not this account's.
		if err := c.checkMerchant(r.MchID, r.SpMchID, r.SubMchID, true); err != nil {
			return nil, err
		}
		if r.RefundID == "" || r.OutRefundNo == "" || r.TransactionID == "" || r.OutTradeNo == "" {
			return nil, fmt.Errorf("%w: refund without refund_id, out_refund_no, transaction_id or out_trade_no", ErrCallbackFormat)
		}
		st := map[string]payrecon.Status{
			EventRefundSuccess:  payrecon.StatusSuccess,
			EventRefundAbnormal: payrecon.StatusFailed,
			EventRefundClosed:   payrecon.StatusClosed,
		}[n.EventType]
		if r.RefundStatus != "" && RefundStatus(r.RefundStatus) != st {
			return nil, fmt.Errorf("%w: %s with refund_status %q", ErrCallbackFormat, n.EventType, r.RefundStatus)
		}
		at := rfc3339(r.SuccessTime)
		if at.IsZero() {
			at = created
		}
		if at.IsZero() {
			return nil, fmt.Errorf("%w: refund without success_time or create_time", ErrCallbackFormat)
		}
		return []payrecon.LedgerEntry{{
			Provider:         Name,
			EventKey:         payrecon.EventKey(payrecon.KindRefund, r.RefundID, st),
			Kind:             payrecon.KindRefund,
			Status:           st,
			MerchantOrderNo:  r.OutTradeNo,
			ProviderTxnNo:    r.TransactionID,
			MerchantRefundNo: r.OutRefundNo,
			ProviderRefundNo: r.RefundID,
			Amount:           r.Amount.Refund,
			PayerAmount:      r.Amount.PayerRefund,
			PromotionAmount:  r.Amount.Refund - r.Amount.PayerRefund,
			Currency:         "CNY",
			OccurredAt:       at,
			Source:           "callback",
		}}, nil
	}
	return nil, nil
}

// checkMerchant rejects a notification addressed to another merchant: in
// partner mode sp_mchid and sub_mchid, when given, must be this account's
// service provider and sub-merchant; needSub also refuses a notification
// naming no sub-merchant.
func (c *Client) checkMerchant(mchid, spMchID, subMchID string, needSub bool) error {
	if c.partner() {
		if spMchID != "" && spMchID != c.cfg.MchID || subMchID != "" && subMchID != c.cfg.SubMchID {
			return fmt.Errorf("%w: notification for merchant %s/%s, this account is %s/%s", ErrCallbackFormat, spMchID, subMchID, c.cfg.MchID, c.cfg.SubMchID)
		}
		if needSub && subMchID == "" {
			return fmt.Errorf("%w: notification names no sub_mchid, this account is sub-merchant %s of %s", ErrCallbackFormat, c.cfg.SubMchID, c.cfg.MchID)
		}
		return nil
	}
	if mchid != "" && mchid != c.cfg.MchID {
		return fmt.Errorf("%w: notification for merchant %s, this account is %s", ErrCallbackFormat, mchid, c.cfg.MchID)
	}
	return nil
}

// Reply implements payrecon.CallbackVerifier: success is 204 with no body;
// a rejected callback (bad signature, unreadable, failing the domain
// validation) is 400 and any other failure (e.g. the store) 500, so
// that WeChat Pay retries, both with {"code":"FAIL","message":…}.
func (c *Client) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: http.StatusNoContent}
	}
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, payrecon.ErrSignatureInvalid):
		status, msg = http.StatusBadRequest, "signature invalid"
	case errors.Is(err, ErrCallbackFormat), errors.As(err, new(*payrecon.ValidationError)):
		status, msg = http.StatusBadRequest, "bad notification"
	}
	body, _ := json.Marshal(map[string]string{"code": "FAIL", "message": msg})
	return payrecon.CallbackReply{Status: status, ContentType: "application/json", Body: body}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentType }
